/* store.c - RocksDB-backed state store (see store.h).
 *
 * Every column family that already exists in the DB is opened (a DB reopened by a newer build
 * with extra families still opens); "default" and "offsets" are always present. The caller's
 * families are addressed by their index in cf_names (with no cf_names, index 0 is "default").
 *
 * Offsets live in the "offsets" family under key "<topic>\0<partition, 4 bytes big-endian>",
 * value = next offset to read as 8 bytes big-endian.
 *
 * A batch is independent of any store (arena_batch_new takes none), so it records operations
 * in a compact log and arena_store_write() replays them into a rocksdb_writebatch_t bound to the
 * store's column-family handles: one atomic RocksDB write per batch. */
#include "arena/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <rocksdb/c.h>

#include "arena/log.h"
#include "arena/util.h"

#define STORE_CF_DEFAULT "default"
#define STORE_CF_OFFSETS "offsets"
#define STORE_OFFSET_KEY_MAX 512

struct arena_store {
    char *path;
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
    rocksdb_writeoptions_t *wopts_sync;
    char **cf_names;                      /* every family opened (owned) */
    rocksdb_column_family_handle_t **cfh; /* parallel to cf_names */
    size_t n_cfh;
    size_t *user_cf; /* caller index -> cfh index */
    size_t n_user;
    size_t offsets_cf; /* cfh index of "offsets" */
};

enum batch_op {
    BATCH_PUT = 1,
    BATCH_DELETE = 2,
    BATCH_OFFSET = 3,
};

struct arena_batch {
    struct arena_buf log; /* records: op(1) cf(int32) klen(u32) key vlen(u32) val */
    size_t count;
};

struct arena_store_iter {
    rocksdb_iterator_t *it;
    char *prefix;
    size_t prefix_len;
};

/* ---- helpers ---- */

static arena_err_t store_rocks_err(char **errptr, char *errstr, size_t errstr_size,
                                   const char *what)
{
    /* copy RocksDB's error string and free it at once */
    arena_err_set(errstr, errstr_size, ARENA_ERR_STORE, "%s: %s", what,
                  *errptr ? *errptr : "unknown rocksdb error");
    rocksdb_free(*errptr);
    *errptr = NULL;
    return ARENA_ERR_STORE;
}

static size_t offset_key(char *out, size_t out_size, const char *topic, int32_t partition)
{
    size_t tl = strlen(topic);
    if (tl + 5 > out_size) {
        tl = out_size - 5; /* topic names are <= 249 chars in Kafka; never reached */
    }
    memcpy(out, topic, tl);
    out[tl] = '\0';
    uint32_t p = (uint32_t)partition;
    out[tl + 1] = (char)(p >> 24);
    out[tl + 2] = (char)(p >> 16);
    out[tl + 3] = (char)(p >> 8);
    out[tl + 4] = (char)p;
    return tl + 5;
}

static void be64_put(unsigned char out[8], int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(u & 0xff);
        u >>= 8;
    }
}

static int64_t be64_get(const unsigned char in[8])
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) {
        u = (u << 8) | in[i];
    }
    return (int64_t)u;
}

/* cfh for a caller index, or NULL */
static rocksdb_column_family_handle_t *store_cf(struct arena_store *s, int cf)
{
    if (!s || cf < 0 || (size_t)cf >= s->n_user) {
        return NULL;
    }
    return s->cfh[s->user_cf[cf]];
}

static ssize_t name_index(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return (ssize_t)i;
        }
    }
    return -1;
}

/* ---- open / close ---- */

static rocksdb_options_t *store_options(int compression)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    rocksdb_options_increase_parallelism(o, 2);
    rocksdb_options_set_max_open_files(o, 256);
    rocksdb_options_set_keep_log_file_num(o, 4);
    rocksdb_options_set_compression(o, compression);
    return o;
}

static rocksdb_t *store_try_open(struct arena_store *s, int compression, char **errptr)
{
    rocksdb_options_destroy(s->opts);
    s->opts = store_options(compression);
    const rocksdb_options_t **cf_opts = arena_xcalloc(s->n_cfh, sizeof(*cf_opts));
    for (size_t i = 0; i < s->n_cfh; i++) {
        cf_opts[i] = s->opts;
    }
    rocksdb_t *db = rocksdb_open_column_families(
        s->opts, s->path, (int)s->n_cfh, (const char *const *)s->cf_names, cf_opts, s->cfh, errptr);
    free(cf_opts);
    return db;
}

struct arena_store *arena_store_open(const char *path, const char *const *cf_names, size_t n_cf,
                                     char *errstr, size_t errstr_size)
{
    if (!path || !*path) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "store: empty path");
        return NULL;
    }
    for (size_t i = 0; i < n_cf; i++) {
        if (!cf_names || !cf_names[i] || !*cf_names[i]) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                          "store %s: column family %zu has no name", path, i);
            return NULL;
        }
    }

    struct arena_store *s = arena_xcalloc(1, sizeof(*s));
    s->path = arena_xstrdup(path);

    /* every family that exists on disk, then ours */
    size_t cap = n_cf + 2;
    size_t n_exist = 0;
    char *err = NULL;
    rocksdb_options_t *lopts = rocksdb_options_create();
    char **exist = rocksdb_list_column_families(lopts, path, &n_exist, &err);
    rocksdb_options_destroy(lopts);
    if (err) {
        /* a new DB has no CURRENT file yet: not an error here; open() reports real problems */
        rocksdb_free(err);
        err = NULL;
        if (exist) {
            rocksdb_list_column_families_destroy(exist, n_exist); /* RocksDB's empty array */
        }
        exist = NULL;
        n_exist = 0;
    }
    cap += n_exist;
    s->cf_names = arena_xcalloc(cap, sizeof(char *));
    s->cf_names[s->n_cfh++] = arena_xstrdup(STORE_CF_DEFAULT);
    s->cf_names[s->n_cfh++] = arena_xstrdup(STORE_CF_OFFSETS);
    for (size_t i = 0; i < n_exist; i++) {
        if (name_index(s->cf_names, s->n_cfh, exist[i]) < 0) {
            s->cf_names[s->n_cfh++] = arena_xstrdup(exist[i]);
        }
    }
    if (exist) {
        rocksdb_list_column_families_destroy(exist, n_exist);
    }
    for (size_t i = 0; i < n_cf; i++) {
        if (name_index(s->cf_names, s->n_cfh, cf_names[i]) < 0) {
            s->cf_names[s->n_cfh++] = arena_xstrdup(cf_names[i]);
        }
    }
    s->cfh = arena_xcalloc(s->n_cfh, sizeof(*s->cfh));

    s->db = store_try_open(s, rocksdb_lz4_compression, &err);
    if (!s->db && err && strstr(err, "ompression")) {
        ARENA_WARN("event=store_lz4_unavailable path=\"%s\" err=\"%s\"", path, err);
        rocksdb_free(err);
        err = NULL;
        s->db = store_try_open(s, rocksdb_no_compression, &err);
    }
    if (!s->db) {
        char what[512];
        snprintf(what, sizeof(what), "store: cannot open %s", path);
        store_rocks_err(&err, errstr, errstr_size, what);
        memset(s->cfh, 0, s->n_cfh * sizeof(*s->cfh));
        arena_store_close(s);
        return NULL;
    }

    s->n_user = n_cf > 0 ? n_cf : 1;
    s->user_cf = arena_xcalloc(s->n_user, sizeof(size_t));
    for (size_t i = 0; i < n_cf; i++) {
        s->user_cf[i] = (size_t)name_index(s->cf_names, s->n_cfh, cf_names[i]);
    }
    /* n_cf == 0: index 0 is "default" (calloc'd 0) */
    s->offsets_cf = (size_t)name_index(s->cf_names, s->n_cfh, STORE_CF_OFFSETS);

    s->ropts = rocksdb_readoptions_create();
    s->wopts = rocksdb_writeoptions_create();
    s->wopts_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wopts_sync, 1);
    ARENA_DEBUG("event=store_open path=\"%s\" column_families=%zu", path, s->n_cfh);
    return s;
}

void arena_store_close(struct arena_store *s)
{
    if (!s) {
        return;
    }
    if (s->cfh) {
        for (size_t i = 0; i < s->n_cfh; i++) {
            if (s->cfh[i]) {
                rocksdb_column_family_handle_destroy(s->cfh[i]);
            }
        }
    }
    if (s->db) {
        rocksdb_close(s->db);
    }
    if (s->opts) {
        rocksdb_options_destroy(s->opts);
    }
    if (s->ropts) {
        rocksdb_readoptions_destroy(s->ropts);
    }
    if (s->wopts) {
        rocksdb_writeoptions_destroy(s->wopts);
    }
    if (s->wopts_sync) {
        rocksdb_writeoptions_destroy(s->wopts_sync);
    }
    if (s->cf_names) {
        for (size_t i = 0; i < s->n_cfh; i++) {
            free(s->cf_names[i]);
        }
        free(s->cf_names);
    }
    free(s->cfh);
    free(s->user_cf);
    free(s->path);
    free(s);
}

/* ---- single-key operations ---- */

arena_err_t arena_store_get(struct arena_store *s, int cf, const void *key, size_t key_len,
                            char **val, size_t *val_len)
{
    rocksdb_column_family_handle_t *h = store_cf(s, cf);
    if (!h || !val || (!key && key_len)) {
        return ARENA_ERR_INVALID;
    }
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, h, key, key_len, &vl, &err);
    if (err) {
        char es[512];
        store_rocks_err(&err, es, sizeof(es), "get");
        ARENA_ERROR("event=store_get_failed path=\"%s\" err=\"%s\"", s->path, es);
        return ARENA_ERR_STORE;
    }
    if (!v) {
        return ARENA_ERR_NOT_FOUND;
    }
    char *out = arena_xmalloc(vl + 1);
    memcpy(out, v, vl);
    out[vl] = '\0';
    rocksdb_free(v);
    *val = out;
    if (val_len) {
        *val_len = vl;
    }
    return ARENA_ERR_OK;
}

bool arena_store_exists(struct arena_store *s, int cf, const void *key, size_t key_len)
{
    char *v = NULL;
    if (arena_store_get(s, cf, key, key_len, &v, NULL) != ARENA_ERR_OK) {
        return false;
    }
    free(v);
    return true;
}

arena_err_t arena_store_put(struct arena_store *s, int cf, const void *key, size_t key_len,
                            const void *val, size_t val_len)
{
    rocksdb_column_family_handle_t *h = store_cf(s, cf);
    if (!h || (!key && key_len) || (!val && val_len)) {
        return ARENA_ERR_INVALID;
    }
    char *err = NULL;
    rocksdb_put_cf(s->db, s->wopts, h, key, key_len, val ? val : "", val_len, &err);
    if (err) {
        char es[512];
        store_rocks_err(&err, es, sizeof(es), "put");
        ARENA_ERROR("event=store_put_failed path=\"%s\" err=\"%s\"", s->path, es);
        return ARENA_ERR_STORE;
    }
    return ARENA_ERR_OK;
}

arena_err_t arena_store_delete(struct arena_store *s, int cf, const void *key, size_t key_len)
{
    rocksdb_column_family_handle_t *h = store_cf(s, cf);
    if (!h || (!key && key_len)) {
        return ARENA_ERR_INVALID;
    }
    char *err = NULL;
    rocksdb_delete_cf(s->db, s->wopts, h, key, key_len, &err);
    if (err) {
        char es[512];
        store_rocks_err(&err, es, sizeof(es), "delete");
        ARENA_ERROR("event=store_delete_failed path=\"%s\" err=\"%s\"", s->path, es);
        return ARENA_ERR_STORE;
    }
    return ARENA_ERR_OK;
}

arena_err_t arena_store_get_offset(struct arena_store *s, const char *topic, int32_t partition,
                                   int64_t *next_offset)
{
    if (!s || !topic || !next_offset) {
        return ARENA_ERR_INVALID;
    }
    char k[STORE_OFFSET_KEY_MAX];
    size_t kl = offset_key(k, sizeof(k), topic, partition);
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cfh[s->offsets_cf], k, kl, &vl, &err);
    if (err) {
        char es[512];
        store_rocks_err(&err, es, sizeof(es), "get offset");
        ARENA_ERROR("event=store_get_offset_failed path=\"%s\" err=\"%s\"", s->path, es);
        return ARENA_ERR_STORE;
    }
    if (!v) {
        return ARENA_ERR_NOT_FOUND;
    }
    if (vl != 8) {
        ARENA_ERROR("event=store_bad_offset path=\"%s\" topic=%s partition=%d len=%zu", s->path,
                    topic, (int)partition, vl);
        rocksdb_free(v);
        return ARENA_ERR_STORE;
    }
    *next_offset = be64_get((const unsigned char *)v);
    rocksdb_free(v);
    return ARENA_ERR_OK;
}

/* ---- batches ---- */

struct arena_batch *arena_batch_new(void)
{
    struct arena_batch *b = arena_xcalloc(1, sizeof(*b));
    arena_buf_init(&b->log);
    return b;
}

static void batch_u32(struct arena_batch *b, uint32_t v)
{
    arena_buf_append(&b->log, &v, sizeof(v));
}

static void batch_record(struct arena_batch *b, enum batch_op op, int32_t cf, const void *key,
                         size_t key_len, const void *val, size_t val_len)
{
    unsigned char o = (unsigned char)op;
    arena_buf_append(&b->log, &o, 1);
    arena_buf_append(&b->log, &cf, sizeof(cf));
    batch_u32(b, (uint32_t)key_len);
    if (key_len) {
        arena_buf_append(&b->log, key, key_len);
    }
    batch_u32(b, (uint32_t)val_len);
    if (val_len) {
        arena_buf_append(&b->log, val, val_len);
    }
    b->count++;
}

void arena_batch_put(struct arena_batch *b, int cf, const void *key, size_t key_len,
                     const void *val, size_t val_len)
{
    if (!b) {
        return;
    }
    batch_record(b, BATCH_PUT, (int32_t)cf, key, key_len, val, val_len);
}

void arena_batch_delete(struct arena_batch *b, int cf, const void *key, size_t key_len)
{
    if (!b) {
        return;
    }
    batch_record(b, BATCH_DELETE, (int32_t)cf, key, key_len, NULL, 0);
}

void arena_batch_set_offset(struct arena_batch *b, const char *topic, int32_t partition,
                            int64_t next_offset)
{
    if (!b || !topic) {
        return;
    }
    char k[STORE_OFFSET_KEY_MAX];
    size_t kl = offset_key(k, sizeof(k), topic, partition);
    unsigned char v[8];
    be64_put(v, next_offset);
    batch_record(b, BATCH_OFFSET, -1, k, kl, v, sizeof(v));
}

size_t arena_batch_count(const struct arena_batch *b)
{
    return b ? b->count : 0;
}

void arena_batch_clear(struct arena_batch *b)
{
    if (!b) {
        return;
    }
    arena_buf_reset(&b->log);
    b->count = 0;
}

void arena_batch_destroy(struct arena_batch *b)
{
    if (!b) {
        return;
    }
    arena_buf_fini(&b->log);
    free(b);
}

arena_err_t arena_store_write(struct arena_store *s, struct arena_batch *b, bool sync, char *errstr,
                              size_t errstr_size)
{
    if (!s || !b) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "store write: no %s",
                             s ? "batch" : "store");
    }
    if (b->count == 0) {
        return ARENA_ERR_OK;
    }
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    const char *p = b->log.data;
    const char *end = b->log.data + b->log.len;
    size_t n = 0;
    while (p < end) {
        unsigned char op = (unsigned char)*p++;
        int32_t cf;
        uint32_t kl, vl;
        memcpy(&cf, p, sizeof(cf));
        p += sizeof(cf);
        memcpy(&kl, p, sizeof(kl));
        p += sizeof(kl);
        const char *key = p;
        p += kl;
        memcpy(&vl, p, sizeof(vl));
        p += sizeof(vl);
        const char *val = p;
        p += vl;
        rocksdb_column_family_handle_t *h =
            op == BATCH_OFFSET ? s->cfh[s->offsets_cf] : store_cf(s, cf);
        if (!h) {
            rocksdb_writebatch_destroy(wb);
            return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                                 "store write: operation %zu names column family %d, the store has "
                                 "%zu",
                                 n, (int)cf, s->n_user);
        }
        if (op == BATCH_DELETE) {
            rocksdb_writebatch_delete_cf(wb, h, key, kl);
        } else {
            rocksdb_writebatch_put_cf(wb, h, key, kl, val, vl);
        }
        n++;
    }
    char *err = NULL;
    rocksdb_write(s->db, sync ? s->wopts_sync : s->wopts, wb, &err);
    rocksdb_writebatch_destroy(wb);
    if (err) {
        return store_rocks_err(&err, errstr, errstr_size, "store write");
    }
    return ARENA_ERR_OK;
}

/* ---- iterators ---- */

struct arena_store_iter *arena_store_iter_new(struct arena_store *s, int cf, const void *prefix,
                                              size_t prefix_len)
{
    rocksdb_column_family_handle_t *h = store_cf(s, cf);
    if (!h) {
        return NULL;
    }
    struct arena_store_iter *it = arena_xcalloc(1, sizeof(*it));
    it->it = rocksdb_create_iterator_cf(s->db, s->ropts, h);
    if (prefix && prefix_len) {
        it->prefix = arena_xmalloc(prefix_len);
        memcpy(it->prefix, prefix, prefix_len);
        it->prefix_len = prefix_len;
        rocksdb_iter_seek(it->it, prefix, prefix_len);
    } else {
        rocksdb_iter_seek_to_first(it->it);
    }
    return it;
}

bool arena_store_iter_valid(struct arena_store_iter *it)
{
    if (!it || !rocksdb_iter_valid(it->it)) {
        return false;
    }
    if (it->prefix_len) {
        size_t kl = 0;
        const char *k = rocksdb_iter_key(it->it, &kl);
        if (kl < it->prefix_len || memcmp(k, it->prefix, it->prefix_len) != 0) {
            return false;
        }
    }
    return true;
}

void arena_store_iter_next(struct arena_store_iter *it)
{
    if (it && rocksdb_iter_valid(it->it)) {
        rocksdb_iter_next(it->it);
    }
}

const char *arena_store_iter_key(struct arena_store_iter *it, size_t *len)
{
    size_t l = 0;
    const char *k = it ? rocksdb_iter_key(it->it, &l) : NULL;
    if (len) {
        *len = l;
    }
    return k;
}

const char *arena_store_iter_value(struct arena_store_iter *it, size_t *len)
{
    size_t l = 0;
    const char *v = it ? rocksdb_iter_value(it->it, &l) : NULL;
    if (len) {
        *len = l;
    }
    return v;
}

void arena_store_iter_destroy(struct arena_store_iter *it)
{
    if (!it) {
        return;
    }
    if (it->it) {
        char *err = NULL;
        rocksdb_iter_get_error(it->it, &err);
        if (err) {
            ARENA_ERROR("event=store_iter_failed err=\"%s\"", err);
            rocksdb_free(err);
        }
        rocksdb_iter_destroy(it->it);
    }
    free(it->prefix);
    free(it);
}

/* ---- size ---- */

static uint64_t store_prop(struct arena_store *s, rocksdb_column_family_handle_t *h,
                           const char *name)
{
    char *v = rocksdb_property_value_cf(s->db, h, name);
    if (!v) {
        return 0;
    }
    uint64_t n = strtoull(v, NULL, 10);
    rocksdb_free(v);
    return n;
}

uint64_t arena_store_size(struct arena_store *s)
{
    if (!s) {
        return 0;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < s->n_cfh; i++) {
        total += store_prop(s, s->cfh[i], "rocksdb.total-sst-files-size");
        total += store_prop(s, s->cfh[i], "rocksdb.cur-size-all-mem-tables");
    }
    return total;
}
