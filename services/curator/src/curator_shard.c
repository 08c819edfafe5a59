/* curator_shard.c - TRL rows and atomic shard files (formats in curator_shard.h). */
#include "curator_shard.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zstd.h>

#include "arena/util.h"

#define ROW_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
#define ZSTD_LEVEL 3

/* Copy of s with every invalid UTF-8 sequence replaced by U+FFFD (jansson rejects them). */
static char *utf8_clean(const char *s)
{
    size_t n = strlen(s);
    struct arena_buf b;
    arena_buf_init(&b);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = 0;
        unsigned int cp = 0;
        if (c < 0x80) {
            len = 1;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        }
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) {
            unsigned char cc = (unsigned char)s[i + k];
            if ((cc & 0xC0) != 0x80) {
                ok = false;
            }
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (ok && len > 1) {
            static const unsigned int min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
            if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                ok = false;
            }
        }
        if (ok) {
            arena_buf_append(&b, s + i, len);
            i += len;
        } else {
            arena_buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    return arena_buf_steal(&b, NULL);
}

static json_t *jstr(const char *s)
{
    char *c = utf8_clean(s ? s : "");
    json_t *j = json_string(c);
    free(c);
    return j;
}

static json_t *jreal(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *msg(const char *role, const char *content)
{
    json_t *o = json_object();
    json_object_set_new(o, "role", jstr(role));
    json_object_set_new(o, "content", jstr(content));
    return o;
}

static json_t *prompt_msgs(const struct curator_example *ex)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ex->n_prompt; i++) {
        json_array_append_new(a, msg(ex->prompt[i].role, ex->prompt[i].content));
    }
    return a;
}

/* [{"role":"assistant","content":content}] */
static json_t *answer_msgs(const char *content)
{
    json_t *a = json_array();
    json_array_append_new(a, msg("assistant", content));
    return a;
}

static json_t *str_array(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, jstr(v[i]));
    }
    return a;
}

/* The keys every row ends with; only the names of the two sides differ by format: an SFT row
 * has the winning model and the target, a preference row the chosen and the rejected one. */
struct row_keys {
    const char *chosen_model, *chosen_score, *rejected_model, *rejected_score;
};

static const struct row_keys sft_keys = {"model", "score", "target_model", "target_score"};
static const struct row_keys pref_keys = {"chosen_model", "chosen_rating", "rejected_model",
                                          "rejected_rating"};

/* Appends prompt_id, round, the two sides, gap and battle_ids to o, then dumps it (consumed). */
static char *row_finish(json_t *o, const struct curator_example *ex, const struct row_keys *k)
{
    json_object_set_new(o, "prompt_id", jstr(ex->prompt_id));
    json_object_set_new(o, "round", json_integer(ex->round));
    json_object_set_new(o, k->chosen_model, jstr(ex->chosen_model));
    json_object_set_new(o, k->chosen_score, jreal(ex->chosen_score));
    json_object_set_new(o, k->rejected_model, jstr(ex->rejected_model));
    json_object_set_new(o, k->rejected_score, jreal(ex->rejected_score));
    json_object_set_new(o, "gap", jreal(ex->gap));
    json_object_set_new(o, "battle_ids", str_array(ex->battle_ids, ex->n_battle_ids));
    char *s = json_dumps(o, ROW_FLAGS);
    json_decref(o);
    if (!s) {
        abort(); /* only on out-of-memory */
    }
    return s;
}

char *curator_row_sft(const struct curator_example *ex)
{
    json_t *o = json_object();
    json_t *msgs = prompt_msgs(ex);
    json_array_append_new(msgs, msg("assistant", ex->chosen_content));
    json_object_set_new(o, "messages", msgs);
    return row_finish(o, ex, &sft_keys);
}

char *curator_row_pref(const struct curator_example *ex)
{
    json_t *o = json_object();
    json_object_set_new(o, "prompt", prompt_msgs(ex));
    json_object_set_new(o, "chosen", answer_msgs(ex->chosen_content));
    json_object_set_new(o, "rejected", answer_msgs(ex->rejected_content));
    return row_finish(o, ex, &pref_keys);
}

char *curator_row(const struct curator_example *ex)
{
    return ex->kind == CURATOR_EXAMPLE_SFT ? curator_row_sft(ex) : curator_row_pref(ex);
}

static const char *kind_name(Arena__V1__ShardKind k)
{
    switch (k) {
    case ARENA__V1__SHARD_KIND__SHARD_KIND_SFT:
        return "sft";
    case ARENA__V1__SHARD_KIND__SHARD_KIND_DPO:
        return "dpo";
    case ARENA__V1__SHARD_KIND__SHARD_KIND_RM:
        return "rm";
    default:
        return "unspecified";
    }
}

char *curator_manifest_to_json(const Arena__V1__ShardManifest *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "shard_id", jstr(m->shard_id));
    json_object_set_new(o, "round", json_integer(m->round));
    json_object_set_new(o, "kind", json_string(kind_name(m->kind)));
    json_object_set_new(o, "path", jstr(m->path));
    json_object_set_new(o, "sha256", jstr(m->sha256));
    json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
    json_object_set_new(o, "rows", json_integer((json_int_t)m->rows));
    json_object_set_new(o, "format", jstr(m->format));
    json_object_set_new(o, "compression", jstr(m->compression));
    json_object_set_new(o, "target_model", jstr(m->target_model));
    json_object_set_new(o, "min_gap", jreal(m->min_gap));
    json_object_set_new(o, "partition", json_integer(m->partition));
    json_object_set_new(o, "seq", json_integer(m->seq));
    json_object_set_new(o, "created_at_ms", json_integer((json_int_t)m->created_at_ms));
    json_object_set_new(o, "prompt_ids", str_array(m->prompt_ids, m->n_prompt_ids));
    json_object_set_new(o, "battle_ids", str_array(m->battle_ids, m->n_battle_ids));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!s) {
        abort();
    }
    return s;
}

static bool owned(const char *s)
{
    return s && s != protobuf_c_empty_string;
}

static void set_field(char **field, const char *value)
{
    if (owned(*field)) {
        free(*field);
    }
    *field = arena_xstrdup(value);
}

void curator_manifest_fini(Arena__V1__ShardManifest *m)
{
    if (!m) {
        return;
    }
    char **fields[] = {&m->shard_id, &m->path,        &m->sha256,
                       &m->format,   &m->compression, &m->target_model};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (owned(*fields[i])) {
            free(*fields[i]);
        }
    }
    for (size_t i = 0; i < m->n_prompt_ids; i++) {
        if (owned(m->prompt_ids[i])) {
            free(m->prompt_ids[i]);
        }
    }
    free(m->prompt_ids);
    for (size_t i = 0; i < m->n_battle_ids; i++) {
        if (owned(m->battle_ids[i])) {
            free(m->battle_ids[i]);
        }
    }
    free(m->battle_ids);
    Arena__V1__ShardManifest init = ARENA__V1__SHARD_MANIFEST__INIT;
    *m = init;
}

static bool valid_shard_id(const char *id)
{
    if (!id || !*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 200) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

arena_err_t curator_shard_write(const char *dir, const char *shard_id, const char *const *rows,
                                size_t n_rows, const char *compression,
                                Arena__V1__ShardManifest *manifest_out, char *errstr,
                                size_t errstr_size)
{
    if (!dir || !*dir) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "shard dir is empty");
    }
    if (!valid_shard_id(shard_id)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "bad shard id '%s' (allowed: letters, digits, '-', '_', '.')",
                             shard_id ? shard_id : "(null)");
    }
    if (!compression) {
        compression = "";
    }
    bool zstd = strcmp(compression, "zstd") == 0;
    if (!zstd && *compression) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "unknown shard compression '%s' (\"\" or \"zstd\")", compression);
    }
    struct arena_buf b;
    arena_buf_init(&b);
    for (size_t i = 0; i < n_rows; i++) {
        if (!rows[i] || strpbrk(rows[i], "\r\n")) {
            arena_buf_fini(&b);
            return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "shard %s: row %zu %s",
                                 shard_id, i, rows[i] ? "contains a line break" : "is NULL");
        }
        arena_buf_puts(&b, rows[i]);
        arena_buf_puts(&b, "\n");
    }
    size_t len = 0;
    char *data = arena_buf_steal(&b, &len);
    char *file_data = data;
    size_t file_len = len;
    char *packed = NULL;
    char *rel = NULL, *path = NULL, *mpath = NULL, *mjson = NULL;
    arena_err_t err = ARENA_ERR_OK;
    if (zstd) {
        size_t cap = ZSTD_compressBound(len);
        packed = arena_xmalloc(cap ? cap : 1);
        size_t r = ZSTD_compress(packed, cap, data, len, ZSTD_LEVEL);
        if (ZSTD_isError(r)) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_LIMIT, "shard %s: zstd: %s",
                                shard_id, ZSTD_getErrorName(r));
            goto out;
        }
        file_data = packed;
        file_len = r;
    }
    if ((err = (arena_err_t)arena_mkdirs(dir, errstr, errstr_size)) != ARENA_ERR_OK) {
        goto out;
    }
    rel = arena_xasprintf("%s.jsonl%s", shard_id, zstd ? ".zst" : "");
    path = arena_xasprintf("%s/%s", dir, rel);
    if ((err = (arena_err_t)arena_write_file_atomic(path, file_data, file_len, errstr,
                                                    errstr_size)) != ARENA_ERR_OK) {
        goto out;
    }
    char hex[65];
    arena_sha256_hex(file_data, file_len, hex);
    set_field(&manifest_out->shard_id, shard_id);
    set_field(&manifest_out->path, rel);
    set_field(&manifest_out->sha256, hex);
    set_field(&manifest_out->compression, compression);
    if (!manifest_out->format || !*manifest_out->format) {
        set_field(&manifest_out->format, manifest_out->kind == ARENA__V1__SHARD_KIND__SHARD_KIND_SFT
                                             ? "trl-messages"
                                             : "trl-preference");
    }
    manifest_out->bytes = file_len;
    manifest_out->rows = n_rows;
    mjson = curator_manifest_to_json(manifest_out);
    mpath = arena_xasprintf("%s/%s.manifest.json", dir, shard_id);
    size_t mlen = strlen(mjson);
    char *mdata = arena_xmalloc(mlen + 2);
    memcpy(mdata, mjson, mlen);
    mdata[mlen] = '\n';
    err = (arena_err_t)arena_write_file_atomic(mpath, mdata, mlen + 1, errstr, errstr_size);
    free(mdata);
out:
    free(data);
    free(packed);
    free(rel);
    free(path);
    free(mpath);
    free(mjson);
    return err;
}
