/* sampler_embed.c - hashed n-gram TF-IDF and OpenAI-compatible embeddings (sampler_embed.h). */
#include "sampler_embed.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena/log.h"
#include "arena/util.h"

enum backend { BACKEND_TFIDF, BACKEND_OPENAI };

/* Growable scratch of one n-gram counting pass (the embedder's own, or a thread's). */
struct tfidf_buf {
    /* the text's distinct dims in first-seen order with their counts; a small open-addressing
     * table (slot = touched index + 1, all zero between calls) sized to the text finds them, so
     * counting stays in L1 instead of scattering into a dim-sized array */
    uint32_t *touched;
    float *count;
    uint32_t *where; /* touched index -> its slot */
    size_t touched_cap;
    uint32_t *slots;
    size_t slots_cap; /* power of two */
    char *canon;
    size_t canon_cap;
};

struct sampler_tfidf_scratch {
    struct tfidf_buf b;
    uint32_t *idx;
    float *val;
    size_t out_cap;
};

struct sampler_embedder {
    enum backend kind;
    uint32_t dim;
    /* tfidf */
    int bits, nmin, nmax;
    double max_df;
    uint32_t *df;
    uint64_t ndocs;
    float *idf;
    int idf_dirty;
    struct tfidf_buf buf; /* scratch of the owning thread */
    float tf_table[64];   /* 1 + ln(k) */
    /* openai */
    char *url;
    char *model;
    char *api_key;
    int batch;
    long timeout_ms;
    CURL *curl;
};

/* ---- vectors ---- */

void sampler_vec_fini(struct sampler_vec *v)
{
    if (v == NULL) {
        return;
    }
    free(v->idx);
    free(v->val);
    memset(v, 0, sizeof(*v));
}

float sampler_vec_dot(const struct sampler_vec *a, const struct sampler_vec *b)
{
    double s = 0.0;
    if (a->idx == NULL && b->idx == NULL) {
        uint32_t n = a->nnz < b->nnz ? a->nnz : b->nnz;
        for (uint32_t i = 0; i < n; i++) {
            s += (double)a->val[i] * b->val[i];
        }
    } else if (a->idx == NULL || b->idx == NULL) {
        const struct sampler_vec *sp = a->idx ? a : b;
        const struct sampler_vec *de = a->idx ? b : a;
        for (uint32_t i = 0; i < sp->nnz; i++) {
            if (sp->idx[i] < de->nnz) {
                s += (double)sp->val[i] * de->val[sp->idx[i]];
            }
        }
    } else {
        uint32_t i = 0, j = 0;
        while (i < a->nnz && j < b->nnz) {
            if (a->idx[i] == b->idx[j]) {
                s += (double)a->val[i++] * b->val[j++];
            } else if (a->idx[i] < b->idx[j]) {
                i++;
            } else {
                j++;
            }
        }
    }
    return (float)s;
}

void sampler_vec_to_dense(const struct sampler_vec *v, float *out)
{
    if (v->idx == NULL) {
        memcpy(out, v->val, (size_t)v->nnz * sizeof(float));
        return;
    }
    memset(out, 0, (size_t)v->dim * sizeof(float));
    for (uint32_t i = 0; i < v->nnz; i++) {
        out[v->idx[i]] = v->val[i];
    }
}

void sampler_vec_normalise(struct sampler_vec *v)
{
    double s = 0.0;
    for (uint32_t i = 0; i < v->nnz; i++) {
        s += (double)v->val[i] * v->val[i];
    }
    if (s <= 0.0) {
        return;
    }
    float inv = (float)(1.0 / sqrt(s));
    for (uint32_t i = 0; i < v->nnz; i++) {
        v->val[i] *= inv;
    }
}

/* ---- TF-IDF ---- */

struct sampler_embedder *sampler_embed_tfidf_new(const struct sampler_tfidf_opts *o, char *errstr,
                                                 size_t errstr_size)
{
    int bits = o && o->dim_bits ? o->dim_bits : 16;
    int nmin = o && o->ngram_min ? o->ngram_min : 3;
    int nmax = o && o->ngram_max ? o->ngram_max : 5;
    if (bits < 8 || bits > 24) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                      "tfidf: dim_bits %d out of range 8..24", bits);
        return NULL;
    }
    if (nmin < 1 || nmax < nmin || nmax > 16) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                      "tfidf: n-gram range %d..%d invalid (1 <= min <= max <= 16)", nmin, nmax);
        return NULL;
    }
    struct sampler_embedder *e = arena_xcalloc(1, sizeof(*e));
    e->kind = BACKEND_TFIDF;
    e->bits = bits;
    e->nmin = nmin;
    e->nmax = nmax;
    e->max_df = o && o->max_df > 0.0 && o->max_df < 1.0 ? o->max_df : 1.0;
    e->dim = 1u << bits;
    e->df = arena_xcalloc(e->dim, sizeof(uint32_t));
    e->idf = arena_xmalloc(e->dim * sizeof(float));
    for (int i = 1; i < 64; i++) {
        e->tf_table[i] = 1.0f + logf((float)i);
    }
    e->idf_dirty = 1;
    return e;
}

/* arena_mix64 (splitmix64 finaliser), inlined in the n-gram loop: the same dims */
static inline uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Room for `grams` n-grams: at most that many distinct dims, the table at most half full. */
static void tfidf_buf_fit(struct tfidf_buf *b, size_t grams)
{
    if (grams > b->touched_cap) {
        b->touched_cap = grams > 1024 ? grams : 1024;
        free(b->touched);
        free(b->count);
        free(b->where);
        b->touched = arena_xmalloc(b->touched_cap * sizeof(uint32_t));
        b->count = arena_xmalloc(b->touched_cap * sizeof(float));
        b->where = arena_xmalloc(b->touched_cap * sizeof(uint32_t));
    }
    if (b->slots_cap < 2 * grams || b->slots_cap == 0) {
        size_t cap = 2048;
        while (cap < 2 * grams) {
            cap *= 2;
        }
        free(b->slots);
        b->slots_cap = cap;
        b->slots = arena_xcalloc(cap, sizeof(uint32_t));
    }
}

/* Count hashed n-grams of the canonical text into b->touched/b->count (distinct dims in
 * first-seen order); returns their number. */
static size_t tfidf_count(const struct sampler_embedder *e, struct tfidf_buf *b, const char *text)
{
    size_t nt = 0;
    size_t len = strlen(text);
    if (len + 1 > b->canon_cap) {
        b->canon_cap = len + 1 > 4096 ? len + 1 : 4096;
        free(b->canon);
        b->canon = arena_xmalloc(b->canon_cap);
    }
    char *c = b->canon;
    size_t n = 0;
    int space = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f') {
            space = n > 0;
            continue;
        }
        if (ch >= 'A' && ch <= 'Z') {
            ch = (unsigned char)(ch - 'A' + 'a');
        }
        if (space) {
            c[n++] = ' ';
            space = 0;
        }
        c[n++] = (char)ch;
    }
    int shift = 64 - e->bits;
    size_t grams = n * (size_t)(e->nmax - e->nmin + 1) + 1;
    tfidf_buf_fit(b, grams < e->dim ? grams : e->dim);
    uint32_t *slots = b->slots;
    size_t mask = b->slots_cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (int j = 0; j < e->nmax && i + (size_t)j < n; j++) {
            h ^= (unsigned char)c[i + (size_t)j];
            h *= 0x100000001b3ULL;
            if (j + 1 >= e->nmin || (i == 0 && i + (size_t)j + 1 == n)) {
                uint32_t d = (uint32_t)(mix64(h + (uint64_t)j) >> shift);
                size_t k = d & mask;
                while (slots[k] != 0 && b->touched[slots[k] - 1] != d) {
                    k = (k + 1) & mask;
                }
                if (slots[k] == 0) {
                    b->touched[nt] = d;
                    b->count[nt] = 0.0f;
                    b->where[nt] = (uint32_t)k;
                    slots[k] = (uint32_t)++nt;
                }
                b->count[slots[k] - 1] += 1.0f;
            }
        }
    }
    for (size_t t = 0; t < nt; t++) {
        slots[b->where[t]] = 0;
    }
    return nt;
}

/* 1 + ln(tf) (sublinear tf); a table for the usual small counts */
static float tf_weight(const struct sampler_embedder *e, float count)
{
    return count < 64.0f ? e->tf_table[(int)count] : 1.0f + logf(count);
}

void sampler_embed_tfidf_observe(struct sampler_embedder *e, const char *text)
{
    if (e == NULL || e->kind != BACKEND_TFIDF || text == NULL) {
        return;
    }
    size_t nt = tfidf_count(e, &e->buf, text);
    for (size_t i = 0; i < nt; i++) {
        e->df[e->buf.touched[i]]++;
    }
    e->ndocs++;
    e->idf_dirty = 1;
}

void sampler_embed_tfidf_fit(struct sampler_embedder *e, const char *const *texts, size_t n)
{
    if (e == NULL || e->kind != BACKEND_TFIDF) {
        return;
    }
    memset(e->df, 0, e->dim * sizeof(uint32_t));
    e->ndocs = 0;
    for (size_t i = 0; i < n; i++) {
        sampler_embed_tfidf_observe(e, texts[i]);
    }
    e->idf_dirty = 1;
}

static void tfidf_refresh(struct sampler_embedder *e)
{
    if (!e->idf_dirty) {
        return;
    }
    double max_docs = e->max_df * (double)e->ndocs;
    for (uint32_t d = 0; d < e->dim; d++) {
        if (e->ndocs == 0) {
            e->idf[d] = 1.0f;
        } else if (e->max_df < 1.0 && (double)e->df[d] > max_docs) {
            e->idf[d] = 0.0f; /* stop-gram */
        } else {
            e->idf[d] = (float)(log((1.0 + (double)e->ndocs) / (1.0 + (double)e->df[d])) + 1.0);
        }
    }
    e->idf_dirty = 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* touched (and count with it) in ascending dim order */
static void tfidf_sort(struct tfidf_buf *b, size_t nt)
{
    uint64_t *pair = arena_xmalloc((nt ? nt : 1) * sizeof(uint64_t));
    float *cnt = arena_xmalloc((nt ? nt : 1) * sizeof(float));
    for (size_t i = 0; i < nt; i++) {
        pair[i] = (uint64_t)b->touched[i] << 32 | i;
        cnt[i] = b->count[i];
    }
    qsort(pair, nt, sizeof(uint64_t), cmp_u64);
    for (size_t i = 0; i < nt; i++) {
        b->touched[i] = (uint32_t)(pair[i] >> 32);
        b->count[i] = cnt[(uint32_t)pair[i]];
    }
    free(pair);
    free(cnt);
}

/* Weights of the counted n-grams into idx/val (in touched order), normalised. */
static uint32_t tfidf_weights(const struct sampler_embedder *e, struct tfidf_buf *b, size_t nt,
                              uint32_t *idx, float *val)
{
    size_t o = 0;
    for (size_t i = 0; i < nt && i < 16; i++) {
        __builtin_prefetch(&e->idf[b->touched[i]]);
    }
    for (size_t i = 0; i < nt; i++) {
        uint32_t d = b->touched[i];
        if (i + 16 < nt) {
            __builtin_prefetch(&e->idf[b->touched[i + 16]]);
        }
        if (e->idf[d] > 0.0f) {
            idx[o] = d;
            val[o++] = tf_weight(e, b->count[i]) * e->idf[d];
        }
    }
    struct sampler_vec v = {.dim = e->dim, .nnz = (uint32_t)o, .idx = idx, .val = val};
    sampler_vec_normalise(&v);
    return (uint32_t)o;
}

static void tfidf_embed(struct sampler_embedder *e, const char *text, bool sorted,
                        struct sampler_vec *out)
{
    tfidf_refresh(e);
    size_t nt = tfidf_count(e, &e->buf, text);
    if (sorted) {
        tfidf_sort(&e->buf, nt);
    }
    out->dim = e->dim;
    out->idx = arena_xmalloc((nt ? nt : 1) * sizeof(uint32_t));
    out->val = arena_xmalloc((nt ? nt : 1) * sizeof(float));
    out->nnz = tfidf_weights(e, &e->buf, nt, out->idx, out->val);
}

void sampler_embed_tfidf_freeze(struct sampler_embedder *e)
{
    if (e != NULL && e->kind == BACKEND_TFIDF) {
        tfidf_refresh(e);
    }
}

struct sampler_tfidf_scratch *sampler_tfidf_scratch_new(const struct sampler_embedder *e)
{
    if (e == NULL || e->kind != BACKEND_TFIDF) {
        return NULL;
    }
    struct sampler_tfidf_scratch *s = arena_xcalloc(1, sizeof(*s));
    return s;
}

void sampler_tfidf_scratch_destroy(struct sampler_tfidf_scratch *s)
{
    if (s == NULL) {
        return;
    }
    free(s->b.touched);
    free(s->b.count);
    free(s->b.where);
    free(s->b.slots);
    free(s->b.canon);
    free(s->idx);
    free(s->val);
    free(s);
}

uint32_t sampler_embed_tfidf_r(const struct sampler_embedder *e, struct sampler_tfidf_scratch *s,
                               const char *text, const uint32_t **idx, const float **val)
{
    size_t nt = tfidf_count(e, &s->b, text ? text : "");
    if (nt > s->out_cap) {
        s->out_cap = nt > 1024 ? nt : 1024;
        free(s->idx);
        free(s->val);
        s->idx = arena_xmalloc(s->out_cap * sizeof(uint32_t));
        s->val = arena_xmalloc(s->out_cap * sizeof(float));
    }
    uint32_t nnz = tfidf_weights(e, &s->b, nt, s->idx, s->val);
    *idx = s->idx;
    *val = s->val;
    return nnz;
}

bool sampler_embedder_is_tfidf(const struct sampler_embedder *e)
{
    return e != NULL && e->kind == BACKEND_TFIDF;
}

/* ---- OpenAI-compatible ---- */

struct sampler_embedder *sampler_embed_openai_new(const struct sampler_openai_embed_opts *o,
                                                  char *errstr, size_t errstr_size)
{
    if (o == NULL || o->base_url == NULL || o->base_url[0] == '\0') {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "openai embeddings: base_url unset");
        return NULL;
    }
    if (o->model == NULL || o->model[0] == '\0') {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "openai embeddings: model unset");
        return NULL;
    }
    const char *key = NULL;
    if (o->api_key_env != NULL && o->api_key_env[0] != '\0') {
        key = getenv(o->api_key_env);
        if (key == NULL || key[0] == '\0') {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "openai embeddings: environment variable %s is not set", o->api_key_env);
            return NULL;
        }
    }
    struct sampler_embedder *e = arena_xcalloc(1, sizeof(*e));
    e->kind = BACKEND_OPENAI;
    size_t bl = strlen(o->base_url);
    while (bl > 0 && o->base_url[bl - 1] == '/') {
        bl--;
    }
    e->url = arena_xasprintf("%.*s/embeddings", (int)bl, o->base_url);
    e->model = arena_xstrdup(o->model);
    e->api_key = arena_xstrdup(key);
    if (key != NULL) {
        arena_log_add_secret(key);
    }
    e->batch = o->batch > 0 ? o->batch : 64;
    e->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    e->curl = curl_easy_init();
    if (e->curl == NULL) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_HTTP, "openai embeddings: curl init failed");
        sampler_embedder_destroy(e);
        return NULL;
    }
    return e;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    arena_buf_append(ud, ptr, size * nmemb);
    return size * nmemb;
}

static arena_err_t openai_batch(struct sampler_embedder *e, const char *const *texts, size_t n,
                                struct sampler_vec *out, char *errstr, size_t errstr_size)
{
    json_t *req = json_object();
    json_object_set_new(req, "model", json_string(e->model));
    json_t *in = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(in, json_string(texts[i] ? texts[i] : ""));
    }
    json_object_set_new(req, "input", in);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (body == NULL) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "openai embeddings: input is not valid UTF-8");
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char *auth = NULL;
    if (e->api_key != NULL) {
        auth = arena_xasprintf("Authorization: Bearer %s", e->api_key);
        h = curl_slist_append(h, auth);
    }
    struct arena_buf resp;
    arena_buf_init(&resp);
    CURL *c = e->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, e->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    free(auth);
    free(body);
    arena_err_t err = ARENA_ERR_OK;
    json_t *doc = NULL;
    size_t done = 0;
    if (cc != CURLE_OK) {
        err = arena_err_set(errstr, errstr_size,
                            cc == CURLE_OPERATION_TIMEDOUT ? ARENA_ERR_TIMEOUT : ARENA_ERR_HTTP,
                            "openai embeddings: %s: %s", e->url, curl_easy_strerror(cc));
        goto out;
    }
    if (status != 200) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_HTTP,
                            "openai embeddings: %s: HTTP %ld: %.200s", e->url, status,
                            resp.data ? resp.data : "");
        goto out;
    }
    json_error_t je;
    doc = json_loadb(resp.data ? resp.data : "", resp.len, 0, &je);
    const json_t *data = json_object_get(doc, "data");
    if (!json_is_array(data) || json_array_size(data) != n) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                            "openai embeddings: response has no 'data' array of %zu items", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
    }
    size_t k;
    json_t *item;
    json_array_foreach(data, k, item)
    {
        const json_t *ix = json_object_get(item, "index");
        size_t pos = json_is_integer(ix) ? (size_t)json_integer_value(ix) : k;
        const json_t *emb = json_object_get(item, "embedding");
        size_t d = json_array_size(emb);
        if (pos >= n || out[pos].val != NULL || !json_is_array(emb) || d == 0) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                "openai embeddings: data[%zu] has a bad index or embedding", k);
            goto out;
        }
        if (e->dim != 0 && d != e->dim) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_BACKEND,
                                "openai embeddings: dimension changed from %u to %zu", e->dim, d);
            goto out;
        }
        out[pos].dim = out[pos].nnz = (uint32_t)d;
        out[pos].val = arena_xmalloc(d * sizeof(float));
        done++;
        for (size_t j = 0; j < d; j++) {
            const json_t *x = json_array_get(emb, j);
            if (!json_is_number(x)) {
                err =
                    arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                  "openai embeddings: data[%zu].embedding[%zu] not a number", k, j);
                goto out;
            }
            out[pos].val[j] = (float)json_number_value(x);
        }
        sampler_vec_normalise(&out[pos]);
        e->dim = (uint32_t)d;
    }
out:
    if (err != ARENA_ERR_OK && done > 0) {
        for (size_t i = 0; i < n; i++) {
            sampler_vec_fini(&out[i]);
        }
    }
    json_decref(doc);
    arena_buf_fini(&resp);
    return err;
}

/* ---- interface ---- */

arena_err_t sampler_embed_one(struct sampler_embedder *e, const char *text, bool sorted,
                              struct sampler_vec *out, char *errstr, size_t errstr_size)
{
    if (e->kind == BACKEND_TFIDF) {
        tfidf_embed(e, text ? text : "", sorted, out);
        return ARENA_ERR_OK;
    }
    return openai_batch(e, &text, 1, out, errstr, errstr_size);
}

arena_err_t sampler_embed(struct sampler_embedder *e, const char *const *texts, size_t n,
                          struct sampler_vec *out, char *errstr, size_t errstr_size)
{
    if (e->kind == BACKEND_TFIDF) {
        for (size_t i = 0; i < n; i++) {
            tfidf_embed(e, texts[i] ? texts[i] : "", true, &out[i]);
        }
        return ARENA_ERR_OK;
    }
    for (size_t i = 0; i < n; i += (size_t)e->batch) {
        size_t m = n - i < (size_t)e->batch ? n - i : (size_t)e->batch;
        arena_err_t err = openai_batch(e, texts + i, m, out + i, errstr, errstr_size);
        if (err != ARENA_ERR_OK) {
            for (size_t j = 0; j < i; j++) {
                sampler_vec_fini(&out[j]);
            }
            return err;
        }
    }
    return ARENA_ERR_OK;
}

const char *sampler_embedder_name(const struct sampler_embedder *e)
{
    return e->kind == BACKEND_TFIDF ? "tfidf" : "openai";
}

uint32_t sampler_embedder_dim(const struct sampler_embedder *e)
{
    return e->dim;
}

void sampler_embedder_destroy(struct sampler_embedder *e)
{
    if (e == NULL) {
        return;
    }
    free(e->df);
    free(e->idf);
    free(e->buf.touched);
    free(e->buf.count);
    free(e->buf.where);
    free(e->buf.slots);
    free(e->buf.canon);
    free(e->url);
    free(e->model);
    free(e->api_key);
    if (e->curl != NULL) {
        curl_easy_cleanup(e->curl);
    }
    free(e);
}
