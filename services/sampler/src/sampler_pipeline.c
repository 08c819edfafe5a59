/* sampler_pipeline.c - streaming data pipeline (see sampler_pipeline.h for the rules). */
#include "sampler_pipeline.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "arena/err.h"
#include "arena/log.h"
#include "arena/prompt_id.h"
#include "arena/util.h"
#include "sampler_embed.h"
#include "sampler_ingest.h"
#include "sampler_minhash.h"
#include "sampler_pool.h"
#include "sampler_u64map.h"

typedef char sampler_id[33];

/* prompts prepared ahead of the sequential commit by offer_batch */
#define PL_CHUNK 1024
/* float slack of the pruning bounds of the embedding rule (similarities are ~1e-6 exact) */
#define PL_MARGIN 1e-4f
/* the bound B of the unverified suffix (see embed_score) as a share of the threshold: a larger
 * suffix skips more postings, but lets more evals need an exact check (acc + B >= threshold);
 * on the bench's data 0.5 skips ~22% of the postings and verifies almost none */
#define PL_SUFFIX_SHARE 0.5f

/* What the embedding rule needs of one dim, in one place (one cache line per dim visited). */
struct pl_dim {
    uint32_t off, len; /* postings of a rare dim */
    float lo, step;    /* weight = lo + q * step (quantised postings) */
    float maxw;        /* largest |weight| in the postings */
    int32_t common;    /* row of common_w, -1 = rare */
    uint32_t pad[2];
};

struct pl_hit {
    uint32_t e; /* eval index */
    float s;    /* cosine >= decontam_threshold */
};

/* Per-thread scratch of the prepare step. */
struct pl_scratch {
    struct sampler_tfidf_scratch *ts;
    float *acc; /* n_eval, zero between calls */
    uint32_t *touched;
    size_t eval_cap;
    float *cand_s; /* dim, zero between calls: the candidate's weights on its rare dims */
    size_t dim_cap;
    uint32_t *cidx; /* candidate's rare dims with postings */
    float *cval;
    uint8_t *cbucket; /* log2 of the posting length */
    size_t ccap;
    uint32_t *cc_idx; /* candidate's common rows */
    float *cc_val;
    struct pl_hit *hits;
    size_t n_hits, hits_cap;
};

/* One candidate between prepare (any thread) and commit (the owner, in offer order). */
struct pl_item {
    const char *id;
    const char *text;
    char *norm;
    enum sampler_decision early; /* EMPTY / MIN_LENGTH, else ACCEPT = go on */
    bool have_sig;
    bool embedded; /* hits computed (built-in TF-IDF) */
    int64_t eval_lsh;
    int64_t lsh_best; /* best match among the prompts accepted before the chunk */
    double lsh_sim;
    uint64_t ikey, pkey;
    uint32_t *sig;
    uint64_t *keys;
    struct pl_hit *hits;
    size_t n_hits, hits_cap;
    atomic_int ready;
};

struct sampler_pipeline {
    struct sampler_pipeline_opts o;
    struct sampler_minhasher *mh;
    /* prepare/commit: items[PL_CHUNK] of the current batch chunk, items[PL_CHUNK] for offer */
    struct pl_item *items;
    uint32_t *item_sigs;
    uint64_t *item_keys;
    struct pl_scratch main_sc;
    struct pl_scratch *wsc; /* per pool worker */
    struct sampler_pool *pool;
    int pool_failed;
    atomic_size_t next;   /* next item of the chunk to prepare */
    atomic_int next_band; /* next band of the main LSH to merge the chunk's accepts into */
    uint32_t merge_first, merge_n;
    size_t chunk_n;
    /* training pool (accepted) */
    sampler_id *ids;
    size_t n, cap;
    struct sampler_u64map exact;
    struct sampler_u64map prefix;
    struct sampler_lsh *lsh;  /* item i = accepted i (when minhash_dedup); read-only while a
                                 chunk is prepared: the chunk's accepted prompts go to dlsh */
    struct sampler_lsh *dlsh; /* item i = accepted lsh_count(lsh) + i, merged after the chunk */
    uint64_t *dkeys;          /* band keys of the dlsh items */
    /* eval items */
    sampler_id *eval_ids;
    char **eval_texts;
    size_t n_eval, cap_eval;
    struct sampler_u64map eval_map;
    struct sampler_lsh *eval_lsh; /* item i = eval i */
    /* embedding decontamination */
    struct sampler_embedder *emb;
    bool own_emb;
    size_t n_indexed; /* eval items in the inverted index; < n_eval -> rebuild */
    uint32_t dim;
    struct pl_dim *dims; /* dim + 1 */
    /* postings of the rare dims: (eval << post_wbits) | quantised weight, 4 bytes each (the
     * scan is memory-bound); weight ~= lo + q * step of the dim, error <= step / 2.
     * Quantisation only loosens the pruning bound: every eval that may reach the threshold is
     * scored exactly from ev_idx/ev_w */
    uint32_t *post;
    int post_wbits;
    /* dims held by many eval items ("common") are not traversed through postings: their
     * contribution is bounded by Cauchy-Schwarz and computed exactly only when the bound could
     * reach the threshold */
    uint32_t *ev_off; /* n_eval + 1: each eval's rare entries, for verification */
    uint32_t *ev_idx;
    float *ev_w;
    float *common_w;    /* n_common * n_eval */
    float *common_norm; /* n_eval: norm of each eval vector restricted to common dims */
    float *topk;        /* n_eval * k, descending */
    int *topk_n;
    size_t n_common;
    uint64_t embed_errors;
    uint64_t counts[SAMPLER_DECISION__COUNT];
};

static const char *const decision_names[SAMPLER_DECISION__COUNT] = {
    "accepted",   "empty",       "min_length", "exact_dup",
    "prefix_dup", "minhash_dup", "decontam",   "language",
};

const char *sampler_decision_name(enum sampler_decision d)
{
    return (unsigned)d < SAMPLER_DECISION__COUNT ? decision_names[d] : "unknown";
}

void sampler_pipeline_opts_default(struct sampler_pipeline_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->min_length = 10;
    o->prefix_dedup = true;
    o->prefix_tokens = 10;
    o->minhash_dedup = true;
    o->shingle = 5;
    o->permutations = 128;
    o->bands = 32;
    o->jaccard_threshold = 0.6;
    o->decontam = true;
    o->decontam_top_k = 5;
    o->decontam_threshold = 0.4;
    o->seed = 0;
    o->threads = 2;
}

struct sampler_pipeline *sampler_pipeline_new(const struct sampler_pipeline_opts *o, char *errstr,
                                              size_t n)
{
    struct sampler_pipeline_opts d;
    if (o == NULL) {
        sampler_pipeline_opts_default(&d);
        o = &d;
    }
    if (o->prefix_dedup && o->prefix_tokens < 1) {
        arena_err_set(errstr, n, ARENA_ERR_INVALID, "pipeline: prefix_tokens must be >= 1");
        return NULL;
    }
    if (o->jaccard_threshold <= 0.0 || o->jaccard_threshold > 1.0) {
        arena_err_set(errstr, n, ARENA_ERR_INVALID, "pipeline: jaccard_threshold %g not in (0, 1]",
                      o->jaccard_threshold);
        return NULL;
    }
    if (o->decontam &&
        (o->decontam_top_k < 1 || o->decontam_threshold <= 0.0 || o->decontam_threshold > 1.0)) {
        arena_err_set(errstr, n, ARENA_ERR_INVALID,
                      "pipeline: decontam_top_k must be >= 1 and decontam_threshold in (0, 1]");
        return NULL;
    }
    struct sampler_pipeline *p = arena_xcalloc(1, sizeof(*p));
    p->o = *o;
    struct sampler_minhash_opts mo = {
        .shingle = o->shingle, .permutations = o->permutations, .seed = o->seed};
    p->mh = sampler_minhasher_new(&mo, errstr, n);
    if (p->mh == NULL) {
        goto fail;
    }
    p->o.permutations = sampler_minhasher_permutations(p->mh);
    if (p->o.bands <= 0) {
        p->o.bands = 32;
    }
    p->lsh = sampler_lsh_new(p->o.permutations, p->o.bands, errstr, n);
    p->eval_lsh = p->lsh ? sampler_lsh_new(p->o.permutations, p->o.bands, errstr, n) : NULL;
    p->dlsh = p->eval_lsh ? sampler_lsh_new(p->o.permutations, p->o.bands, errstr, n) : NULL;
    if (p->dlsh == NULL) {
        goto fail;
    }
    if (p->o.threads < 1) {
        p->o.threads = 1;
    }
    if (p->o.threads > 16) {
        p->o.threads = 16;
    }
    size_t nitems = 2 * PL_CHUNK;
    p->items = arena_xcalloc(nitems, sizeof(*p->items));
    p->item_sigs = arena_xmalloc(nitems * (size_t)p->o.permutations * sizeof(uint32_t));
    p->item_keys = arena_xmalloc(nitems * (size_t)p->o.bands * sizeof(uint64_t));
    p->dkeys = arena_xmalloc(nitems * (size_t)p->o.bands * sizeof(uint64_t));
    for (size_t i = 0; i < nitems; i++) {
        p->items[i].sig = p->item_sigs + i * (size_t)p->o.permutations;
        p->items[i].keys = p->item_keys + i * (size_t)p->o.bands;
        atomic_init(&p->items[i].ready, 0);
    }
    atomic_init(&p->next, 0);
    atomic_init(&p->next_band, 0);
    sampler_u64map_init(&p->exact);
    sampler_u64map_init(&p->prefix);
    sampler_u64map_init(&p->eval_map);
    if (o->embedder != NULL) {
        p->emb = o->embedder;
    } else if (o->decontam) {
        struct sampler_tfidf_opts to = {
            .dim_bits = 16, .ngram_min = 3, .ngram_max = 5, .max_df = 0.1};
        p->emb = sampler_embed_tfidf_new(&to, errstr, n);
        p->own_emb = true;
        if (p->emb == NULL) {
            goto fail;
        }
    }
    return p;
fail:
    sampler_pipeline_destroy(p);
    return NULL;
}

static uint64_t id_key(const char *id)
{
    return arena_hash64(id, strlen(id), 0x1d);
}

static void copy_id(char dst[33], const char *id)
{
    size_t l = strlen(id);
    if (l > 32) {
        l = 32;
    }
    memcpy(dst, id, l);
    dst[l] = '\0';
}

void sampler_pipeline_add_eval(struct sampler_pipeline *p, const char *prompt_id, const char *text)
{
    if (prompt_id == NULL || text == NULL) {
        return;
    }
    if (!sampler_u64map_put(&p->eval_map, id_key(prompt_id), (uint32_t)p->n_eval)) {
        return;
    }
    if (p->n_eval == p->cap_eval) {
        p->cap_eval = p->cap_eval ? p->cap_eval * 2 : 256;
        p->eval_ids = arena_xrealloc(p->eval_ids, p->cap_eval * sizeof(*p->eval_ids));
        p->eval_texts = arena_xrealloc(p->eval_texts, p->cap_eval * sizeof(*p->eval_texts));
    }
    copy_id(p->eval_ids[p->n_eval], prompt_id);
    p->eval_texts[p->n_eval] = arena_xstrdup(text);
    p->n_eval++;
    uint32_t *sig = arena_xmalloc((size_t)p->o.permutations * sizeof(uint32_t));
    sampler_minhash_sig(p->mh, text, strlen(text), sig);
    sampler_lsh_add(p->eval_lsh, sig);
    free(sig);
}

static void index_free(struct sampler_pipeline *p)
{
    free(p->post);
    free(p->dims);
    p->dims = NULL;
    free(p->common_w);
    free(p->common_norm);
    free(p->ev_off);
    free(p->ev_idx);
    free(p->ev_w);
    p->ev_off = NULL;
    p->ev_idx = NULL;
    p->ev_w = NULL;
    p->post = NULL;
    p->common_w = NULL;
    p->common_norm = NULL;
}

/* (Re)build the inverted index of the eval embeddings; keeps the top-k lists of items already
 * indexed (the rule is streaming). Returns false when the embedder failed. */
static bool index_build(struct sampler_pipeline *p)
{
    if (p->own_emb) {
        sampler_embed_tfidf_fit(p->emb, (const char *const *)p->eval_texts, p->n_eval);
    }
    struct sampler_vec *v = arena_xcalloc(p->n_eval, sizeof(*v));
    char err[512];
    if (sampler_embed(p->emb, (const char *const *)p->eval_texts, p->n_eval, v, err, sizeof(err)) !=
        ARENA_ERR_OK) {
        free(v);
        p->embed_errors++;
        ARENA_WARN("event=decontam_embed_failed evals=%zu error=\"%s\"", p->n_eval, err);
        return false;
    }
    uint32_t dim = 0;
    for (size_t i = 0; i < p->n_eval; i++) {
        dim = v[i].dim > dim ? v[i].dim : dim;
    }
    index_free(p);
    p->dim = dim;
    uint32_t *post_off = arena_xcalloc((size_t)dim + 1, sizeof(uint32_t));
    size_t total = 0;
    for (size_t i = 0; i < p->n_eval; i++) {
        for (uint32_t j = 0; j < v[i].nnz; j++) {
            post_off[(v[i].idx ? v[i].idx[j] : j) + 1]++;
        }
        total += v[i].nnz;
    }
    for (uint32_t d = 0; d < dim; d++) {
        post_off[d + 1] += post_off[d];
    }
    uint32_t cutoff = (uint32_t)(p->n_eval / 8 > 64 ? p->n_eval / 8 : 64);
    int32_t *common_idx = arena_xmalloc(((size_t)dim + 1) * sizeof(int32_t));
    size_t n_common = 0;
    for (uint32_t d = 0; d < dim; d++) {
        bool common = post_off[d + 1] - post_off[d] > cutoff;
        common_idx[d] = common ? (int32_t)n_common++ : -1;
    }
    p->n_common = n_common;
    p->common_w = arena_xcalloc((n_common ? n_common : 1) * p->n_eval, sizeof(float));
    p->common_norm = arena_xcalloc(p->n_eval, sizeof(float));
    /* rare dims keep postings; rebuild offsets for them only */
    memset(post_off, 0, ((size_t)dim + 1) * sizeof(uint32_t));
    total = 0;
    for (size_t i = 0; i < p->n_eval; i++) {
        for (uint32_t j = 0; j < v[i].nnz; j++) {
            uint32_t d = v[i].idx ? v[i].idx[j] : j;
            if (common_idx[d] < 0) {
                post_off[d + 1]++;
                total++;
            }
        }
    }
    for (uint32_t d = 0; d < dim; d++) {
        post_off[d + 1] += post_off[d];
    }
    p->post = arena_xmalloc((total ? total : 1) * sizeof(uint32_t));
    float *post_lo = arena_xcalloc((size_t)dim + 1, sizeof(float));
    float *post_step = arena_xcalloc((size_t)dim + 1, sizeof(float));
    float *hi = arena_xcalloc((size_t)dim + 1, sizeof(float));
    uint8_t *seen = arena_xcalloc((size_t)dim + 1, 1);
    float *maxw = arena_xcalloc((size_t)dim + 1, sizeof(float));
    p->ev_off = arena_xmalloc((p->n_eval + 1) * sizeof(uint32_t));
    p->ev_idx = arena_xmalloc((total ? total : 1) * sizeof(uint32_t));
    p->ev_w = arena_xmalloc((total ? total : 1) * sizeof(float));
    uint32_t *fill = arena_xmalloc(((size_t)dim + 1) * sizeof(uint32_t));
    memcpy(fill, post_off, ((size_t)dim + 1) * sizeof(uint32_t));
    uint32_t ne = 0;
    for (size_t i = 0; i < p->n_eval; i++) {
        double cn = 0.0;
        p->ev_off[i] = ne;
        for (uint32_t j = 0; j < v[i].nnz; j++) {
            uint32_t d = v[i].idx ? v[i].idx[j] : j;
            float w = v[i].val[j];
            if (common_idx[d] >= 0) {
                p->common_w[(size_t)common_idx[d] * p->n_eval + i] = w;
                cn += (double)w * w;
            } else {
                maxw[d] = fabsf(w) > maxw[d] ? fabsf(w) : maxw[d];
                if (!seen[d] || w < post_lo[d]) {
                    post_lo[d] = w;
                }
                if (!seen[d] || w > hi[d]) {
                    hi[d] = w;
                }
                seen[d] = 1;
                p->ev_idx[ne] = d;
                p->ev_w[ne++] = w;
            }
        }
        p->common_norm[i] = (float)sqrt(cn);
        sampler_vec_fini(&v[i]);
    }
    p->ev_off[p->n_eval] = ne;
    /* the eval index takes the bits it needs, the weight the rest, at most 20 bits (so that the
     * float arithmetic below is off by < 1/16 of a step: the error stays <= 0.5625 step) */
    int ebits = 1;
    while (ebits < 32 && ((size_t)1 << ebits) < p->n_eval) {
        ebits++;
    }
    p->post_wbits = 32 - ebits < 20 ? 32 - ebits : 20;
    uint32_t wmax = p->post_wbits > 0 ? (uint32_t)((1ull << p->post_wbits) - 1) : 0;
    for (uint32_t d = 0; d < dim; d++) {
        post_step[d] = wmax > 0 ? (hi[d] - post_lo[d]) / (float)wmax : 0.0f;
    }
    for (size_t i = 0; i < p->n_eval; i++) {
        for (uint32_t q = p->ev_off[i]; q < p->ev_off[i + 1]; q++) {
            uint32_t d = p->ev_idx[q];
            float step = post_step[d];
            float fq = step > 0.0f ? rintf((p->ev_w[q] - post_lo[d]) / step) : 0.0f;
            uint32_t wq = fq <= 0.0f ? 0 : fq >= (float)wmax ? wmax : (uint32_t)fq;
            p->post[fill[d]++] = p->post_wbits < 32 ? ((uint32_t)i << p->post_wbits) | wq : 0;
        }
    }
    p->dims = arena_xmalloc(((size_t)dim + 1) * sizeof(*p->dims));
    for (uint32_t d = 0; d <= dim; d++) {
        struct pl_dim *pd = &p->dims[d];
        memset(pd, 0, sizeof(*pd));
        if (d < dim) {
            pd->off = post_off[d];
            pd->len = post_off[d + 1] - post_off[d];
            pd->lo = post_lo[d];
            pd->step = post_step[d];
            pd->maxw = maxw[d];
            pd->common = common_idx[d];
        }
    }
    free(post_off);
    free(common_idx);
    free(maxw);
    free(post_lo);
    free(post_step);
    free(hi);
    free(seen);
    free(fill);
    free(v);
    size_t k = (size_t)p->o.decontam_top_k;
    p->topk = arena_xrealloc(p->topk, p->n_eval * k * sizeof(float));
    p->topk_n = arena_xrealloc(p->topk_n, p->n_eval * sizeof(int));
    for (size_t i = p->n_indexed; i < p->n_eval; i++) {
        p->topk_n[i] = 0;
    }
    p->n_indexed = p->n_eval;
    if (p->own_emb) {
        sampler_embed_tfidf_freeze(p->emb);
    }
    return true;
}

/* ---- scratch of one thread ---- */

static void scratch_fit(const struct sampler_pipeline *p, struct pl_scratch *sc)
{
    if (sc->eval_cap < p->n_eval) {
        free(sc->acc);
        free(sc->touched);
        sc->eval_cap = p->n_eval;
        sc->acc = arena_xcalloc(sc->eval_cap, sizeof(float));
        sc->touched = arena_xmalloc(sc->eval_cap * sizeof(uint32_t));
    }
    if (sc->dim_cap < p->dim) {
        free(sc->cand_s);
        sc->dim_cap = p->dim;
        sc->cand_s = arena_xcalloc(sc->dim_cap, sizeof(float));
    }
    if (sc->ts == NULL && p->own_emb) {
        sc->ts = sampler_tfidf_scratch_new(p->emb);
    }
}

static void scratch_fini(struct pl_scratch *sc)
{
    sampler_tfidf_scratch_destroy(sc->ts);
    free(sc->acc);
    free(sc->touched);
    free(sc->cand_s);
    free(sc->cidx);
    free(sc->cval);
    free(sc->cbucket);
    free(sc->cc_idx);
    free(sc->cc_val);
    free(sc->hits);
    memset(sc, 0, sizeof(*sc));
}

static void hit_push(struct pl_hit **v, size_t *n, size_t *cap, uint32_t e, float s)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = arena_xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[*n].e = e;
    (*v)[*n].s = s;
    (*n)++;
}

/* Similarities of one candidate embedding to the eval items: sc->hits = every eval e with
 * cos >= decontam_threshold. Pure given the index (any thread, own scratch).
 * Pruning (exact): the candidate's rare dims with the longest postings form a suffix S whose
 * contribution to any eval's cosine is bounded by B = min(||c_S||, sum |c_d| maxw_d) <
 * threshold; only the other dims' postings are traversed (an eval reached by none of them scores
 * at most B). The traversed postings hold quantised weights (error bounded per posting); an
 * eval whose approximate score plus B, that error bound and its common-dims bound can reach the
 * threshold is scored exactly from its own entries, so hits and their scores do not depend on
 * the quantisation. */
static void embed_score(const struct sampler_pipeline *p, struct pl_scratch *sc,
                        const uint32_t *idx, const float *val, uint32_t nnz)
{
    sc->n_hits = 0;
    if (nnz > sc->ccap) {
        sc->ccap = nnz > 1024 ? nnz : 1024;
        free(sc->cidx);
        free(sc->cval);
        free(sc->cbucket);
        free(sc->cc_idx);
        free(sc->cc_val);
        sc->cidx = arena_xmalloc(sc->ccap * sizeof(uint32_t));
        sc->cval = arena_xmalloc(sc->ccap * sizeof(float));
        sc->cbucket = arena_xmalloc(sc->ccap);
        sc->cc_idx = arena_xmalloc(sc->ccap * sizeof(uint32_t));
        sc->cc_val = arena_xmalloc(sc->ccap * sizeof(float));
    }
    float thr = (float)p->o.decontam_threshold;
    float limit = thr * PL_SUFFIX_SHARE - PL_MARGIN;
    size_t ncc = 0, nr = 0;
    double cnorm2 = 0.0;
    double b_n2[33] = {0}, b_ms[33] = {0};
    /* the candidate's dims are random lines of the index: prefetch them all first (then their
     * posting lists below), so that the misses overlap */
    for (uint32_t j = 0; j < nnz; j++) {
        uint32_t d = idx ? idx[j] : j;
        if (d < p->dim) {
            __builtin_prefetch(&p->dims[d]);
        }
    }
    for (uint32_t j = 0; j < nnz; j++) {
        uint32_t d = idx ? idx[j] : j;
        if (d >= p->dim) {
            continue;
        }
        float x = val[j];
        const struct pl_dim *pd = &p->dims[d];
        if (pd->common >= 0) {
            sc->cc_idx[ncc] = (uint32_t)pd->common;
            sc->cc_val[ncc++] = x;
            cnorm2 += (double)x * x;
            continue;
        }
        uint32_t len = pd->len;
        if (len == 0) {
            continue;
        }
        int b = 31 - __builtin_clz(len);
        __builtin_prefetch(p->post + pd->off);
        sc->cidx[nr] = d;
        sc->cval[nr] = x;
        sc->cbucket[nr++] = (uint8_t)b;
        b_n2[b] += (double)x * x;
        b_ms[b] += (double)fabsf(x) * pd->maxw;
    }
    /* the suffix: whole buckets of the longest postings, then part of the next one */
    double n2 = 0.0, ms = 0.0;
    int cut = -1;
    for (int b = 31; b >= 0; b--) {
        double bn2 = n2 + b_n2[b], bms = ms + b_ms[b];
        if (fmin(sqrt(bn2), bms) < limit) {
            n2 = bn2;
            ms = bms;
        } else {
            cut = b;
            break;
        }
    }
    size_t ns = 0;
    /* postings to traverse: when they reach most evals anyway, accumulate without tracking the
     * evals touched (no branch per posting) and scan every eval afterwards */
    size_t total_p = 0;
    for (size_t j = 0; j < nr; j++) {
        if (sc->cbucket[j] <= cut) {
            total_p += p->dims[sc->cidx[j]].len;
        }
    }
    bool dense = p->n_common > 0 || total_p >= p->n_eval;
    int wbits = p->post_wbits;
    uint32_t wmask = wbits < 32 ? (uint32_t)((1ull << wbits) - 1) : UINT32_MAX;
    double qerr = 0.0; /* bound of the quantisation error of the traversed postings */
    for (size_t j = 0; j < nr; j++) {
        int b = sc->cbucket[j];
        const struct pl_dim *pd = &p->dims[sc->cidx[j]];
        float x = sc->cval[j];
        bool suffix = b > cut;
        if (b == cut) {
            double bn2 = n2 + (double)x * x, bms = ms + fabs((double)x) * pd->maxw;
            if (fmin(sqrt(bn2), bms) < limit) {
                n2 = bn2;
                ms = bms;
                suffix = true;
            }
        }
        if (suffix) {
            ns++;
            continue;
        }
        float xs = x * pd->step, xm = x * pd->lo;
        qerr += 0.5625 * fabs((double)xs);
        const uint32_t *pq = p->post + pd->off;
        uint32_t len = pd->len;
        float *acc = sc->acc;
        if (dense) {
            for (uint32_t q = 0; q < len; q++) {
                acc[pq[q] >> wbits] += xs * (float)(pq[q] & wmask) + xm;
            }
            continue;
        }
        for (uint32_t q = 0; q < len; q++) {
            uint32_t e = pq[q] >> wbits;
            if (acc[e] == 0.0f) {
                sc->touched[sc->n_hits++] = e; /* n_hits counts touched until the end */
            }
            acc[e] += xs * (float)(pq[q] & wmask) + xm;
            if (acc[e] == 0.0f) {
                acc[e] = 1e-30f; /* stays marked as touched */
            }
        }
    }
    size_t nt = sc->n_hits;
    sc->n_hits = 0;
    float bound_s = ns > 0 ? (float)fmin(sqrt(n2), ms) : 0.0f;
    float slack = bound_s + (float)qerr + PL_MARGIN;
    float cnorm = (float)sqrt(cnorm2);
    /* sparse mode: only the evals reached through postings can score >= threshold */
    bool all = dense, filled = false;
    size_t n_iter = all ? p->n_eval : nt;
    for (size_t t = 0; t < n_iter; t++) {
        uint32_t e = all ? (uint32_t)t : sc->touched[t];
        float s = sc->acc[e];
        sc->acc[e] = 0.0f;
        if (s + slack + cnorm * p->common_norm[e] < thr) {
            continue; /* even a perfect overlap on S and the common dims stays below */
        }
        /* exact score: the eval's rare entries against the candidate, then the common dims
         * (rare: the candidate's dense weights are filled at its first exact score) */
        if (!filled) {
            for (size_t j = 0; j < nr; j++) {
                sc->cand_s[sc->cidx[j]] = sc->cval[j];
            }
            filled = true;
        }
        s = 0.0f;
        for (uint32_t q = p->ev_off[e]; q < p->ev_off[e + 1]; q++) {
            s += sc->cand_s[p->ev_idx[q]] * p->ev_w[q];
        }
        for (size_t c = 0; c < ncc; c++) {
            s += sc->cc_val[c] * p->common_w[(size_t)sc->cc_idx[c] * p->n_eval + e];
        }
        if (s >= thr) {
            hit_push(&sc->hits, &sc->n_hits, &sc->hits_cap, e, s);
        }
    }
    for (size_t j = 0; j < nr && filled; j++) {
        sc->cand_s[sc->cidx[j]] = 0.0f;
    }
}

/* The streaming top-k rule over the hits of one candidate (sequential, offer order); returns
 * the eval index it contaminates (highest cosine, ties -> lowest index) or -1. */
static int64_t topk_apply(struct sampler_pipeline *p, const struct pl_hit *hits, size_t n_hits)
{
    int64_t best = -1;
    float best_sim = 0.0f;
    int k = p->o.decontam_top_k;
    for (size_t h = 0; h < n_hits; h++) {
        uint32_t e = hits[h].e;
        float s = hits[h].s;
        float *list = p->topk + (size_t)e * (size_t)k;
        int n = p->topk_n[e];
        if (n == k && s < list[k - 1]) {
            continue; /* e already has k nearer neighbours */
        }
        /* insert, keep descending, k largest */
        int pos = n < k ? n : k - 1;
        while (pos > 0 && list[pos - 1] < s) {
            list[pos] = list[pos - 1];
            pos--;
        }
        list[pos] = s;
        if (n < k) {
            p->topk_n[e] = n + 1;
        }
        if (s > best_sim || (s == best_sim && (int64_t)e < best)) {
            best = e;
            best_sim = s;
        }
    }
    return best;
}

/* The embedding rule at commit time; returns the eval index or -1. */
static int64_t embed_decontam(struct sampler_pipeline *p, struct pl_item *it)
{
    if (p->emb == NULL || p->n_eval == 0) {
        return -1;
    }
    if (it->embedded) {
        return topk_apply(p, it->hits, it->n_hits);
    }
    /* a backend (not thread-safe, may fail): embedded here, in offer order */
    if (p->n_indexed < p->n_eval && !index_build(p)) {
        return -1;
    }
    struct sampler_vec v;
    char err[512];
    if (sampler_embed_one(p->emb, it->norm, false, &v, err, sizeof(err)) != ARENA_ERR_OK) {
        p->embed_errors++;
        ARENA_WARN("event=decontam_embed_failed error=\"%s\"", err);
        return -1;
    }
    scratch_fit(p, &p->main_sc);
    embed_score(p, &p->main_sc, v.idx, v.val, v.nnz);
    sampler_vec_fini(&v);
    return topk_apply(p, p->main_sc.hits, p->main_sc.n_hits);
}

static uint64_t prefix_key(const char *norm, int tokens)
{
    /* norm is whitespace-collapsed: tokens are separated by single spaces */
    uint64_t h = 0xcbf29ce484222325ULL;
    int t = 0;
    for (const char *s = norm; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == ' ' && ++t == tokens) {
            break;
        }
        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c - 'A' + 'a');
        }
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return arena_mix64(h);
}

/* The per-prompt work that depends on nothing offered before (any thread). */
static void prepare(const struct sampler_pipeline *p, struct pl_scratch *sc, struct pl_item *it)
{
    it->early = SAMPLER_ACCEPT;
    it->have_sig = false;
    it->embedded = false;
    it->eval_lsh = -1;
    it->lsh_best = -1;
    it->lsh_sim = 0.0;
    it->n_hits = 0;
    it->norm = arena_prompt_normalise(it->text ? it->text : "");
    if (it->norm[0] == '\0') {
        it->early = SAMPLER_DROP_EMPTY;
        return;
    }
    if (p->o.min_length > 0 && sampler_utf8_len(it->norm) < (size_t)p->o.min_length) {
        it->early = SAMPLER_DROP_MIN_LENGTH;
        return;
    }
    it->ikey = id_key(it->id);
    bool decontam = p->o.decontam && p->n_eval > 0;
    if (decontam || p->o.minhash_dedup) {
        sampler_minhash_sig(p->mh, it->norm, strlen(it->norm), it->sig);
        sampler_lsh_band_keys(p->eval_lsh, it->sig, it->keys);
        it->have_sig = true;
        if (p->o.minhash_dedup) {
            /* the main index is large (random DRAM reads): its buckets load meanwhile */
            sampler_lsh_prefetch(p->lsh, it->keys);
        }
    }
    if (decontam) {
        it->eval_lsh =
            sampler_lsh_query_ro(p->eval_lsh, it->sig, it->keys, p->o.jaccard_threshold, NULL);
        if (it->eval_lsh < 0 && p->own_emb && p->n_indexed == p->n_eval) {
            const uint32_t *idx;
            const float *val;
            uint32_t nnz = sampler_embed_tfidf_r(p->emb, sc->ts, it->norm, &idx, &val);
            embed_score(p, sc, idx, val, nnz);
            it->n_hits = 0;
            for (size_t h = 0; h < sc->n_hits; h++) {
                hit_push(&it->hits, &it->n_hits, &it->hits_cap, sc->hits[h].e, sc->hits[h].s);
            }
            it->embedded = true;
        }
    }
    if (p->o.prefix_dedup) {
        it->pkey = prefix_key(it->norm, p->o.prefix_tokens);
    }
    if (p->o.minhash_dedup) {
        it->lsh_best =
            sampler_lsh_query_ro(p->lsh, it->sig, it->keys, p->o.jaccard_threshold, &it->lsh_sim);
    }
}

/* The decision in offer order: index lookups and updates (the owning thread). */
static enum sampler_decision commit(struct sampler_pipeline *p, struct pl_item *it, char *match)
{
    match[0] = '\0';
    const char *prompt_id = it->id;
    uint32_t v;
    if (it->early != SAMPLER_ACCEPT) {
        return it->early;
    }
    if (sampler_u64map_get(&p->exact, it->ikey, &v) && strcmp(p->ids[v], prompt_id) == 0) {
        copy_id(match, p->ids[v]);
        return SAMPLER_DROP_EXACT_DUP;
    }
    if (p->o.decontam && p->n_eval > 0) {
        if (sampler_u64map_get(&p->eval_map, it->ikey, &v) &&
            strcmp(p->eval_ids[v], prompt_id) == 0) {
            copy_id(match, p->eval_ids[v]);
            return SAMPLER_DROP_DECONTAM;
        }
        int64_t e = it->eval_lsh;
        if (e < 0) {
            e = embed_decontam(p, it);
        }
        if (e >= 0) {
            copy_id(match, p->eval_ids[e]);
            return SAMPLER_DROP_DECONTAM;
        }
    }
    if (p->o.prefix_dedup && sampler_u64map_get(&p->prefix, it->pkey, &v)) {
        copy_id(match, p->ids[v]);
        return SAMPLER_DROP_PREFIX_DUP;
    }
    if (p->o.minhash_dedup) {
        /* the prompts accepted before the chunk were searched by prepare; those of the chunk
         * (higher ids) win only with a higher similarity, as in one query over all */
        double dsim;
        int64_t item = it->lsh_best;
        int64_t d =
            sampler_lsh_query_keys(p->dlsh, it->sig, it->keys, p->o.jaccard_threshold, &dsim);
        if (d >= 0 && (item < 0 || dsim > it->lsh_sim)) {
            item = (int64_t)sampler_lsh_count(p->lsh) + d;
        }
        if (item >= 0) {
            copy_id(match, p->ids[item]);
            return SAMPLER_DROP_MINHASH_DUP;
        }
    }
    if (p->o.language_hook != NULL && p->o.language_hook(p->o.language_ctx, it->norm) == 0) {
        return SAMPLER_DROP_LANGUAGE;
    }
    /* accepted: index it */
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->ids = arena_xrealloc(p->ids, p->cap * sizeof(*p->ids));
    }
    copy_id(p->ids[p->n], prompt_id);
    sampler_u64map_put(&p->exact, it->ikey, (uint32_t)p->n);
    if (p->o.prefix_dedup) {
        sampler_u64map_put(&p->prefix, it->pkey, (uint32_t)p->n);
    }
    if (p->o.minhash_dedup) {
        size_t di = sampler_lsh_count(p->dlsh);
        memcpy(p->dkeys + di * (size_t)p->o.bands, it->keys, (size_t)p->o.bands * sizeof(uint64_t));
        sampler_lsh_add_keys(p->dlsh, it->sig, it->keys);
    }
    p->n++;
    return SAMPLER_ACCEPT;
}

/* Before preparing: the built-in embedding index is (re)built on the owning thread once eval
 * items were added, so that prepare only reads it. */
static void prep_begin(struct sampler_pipeline *p)
{
    if (p->own_emb && p->o.decontam && p->n_eval > 0 && p->n_indexed < p->n_eval) {
        index_build(p);
    }
    scratch_fit(p, &p->main_sc);
    for (int w = 0; p->wsc != NULL && w < sampler_pool_size(p->pool); w++) {
        scratch_fit(p, &p->wsc[w]);
    }
}

/* After a chunk (no prepare running): the chunk's accepted prompts join the main LSH. */
static void merge_bands(void *ctx, int worker)
{
    (void)worker;
    struct sampler_pipeline *p = ctx;
    for (;;) {
        int b = atomic_fetch_add_explicit(&p->next_band, 1, memory_order_relaxed);
        if (b >= p->o.bands) {
            return;
        }
        sampler_lsh_index_band(p->lsh, b, p->merge_first, p->merge_n, p->dkeys);
    }
}

/* The chunk's accepted prompts join the main LSH: their signatures are appended, then every
 * band indexes them, the bands shared out among the pool and the caller (each band's bucket
 * table is its own, and the inserts are random memory accesses: done serially this step left
 * the pool idle for ~15% of a run). */
static void merge_delta(struct sampler_pipeline *p)
{
    size_t nd = sampler_lsh_count(p->dlsh);
    if (nd == 0) {
        return;
    }
    p->merge_first = (uint32_t)sampler_lsh_count(p->lsh);
    p->merge_n = (uint32_t)nd;
    for (size_t i = 0; i < nd; i++) {
        sampler_lsh_append(p->lsh, sampler_lsh_sig(p->dlsh, (uint32_t)i));
    }
    atomic_store_explicit(&p->next_band, 0, memory_order_relaxed);
    bool par = p->pool != NULL && nd >= 16;
    if (par) {
        sampler_pool_run(p->pool, merge_bands, p);
    }
    merge_bands(p, -1);
    if (par) {
        sampler_pool_wait(p->pool);
    }
    sampler_lsh_clear(p->dlsh);
}

static enum sampler_decision finish(struct sampler_pipeline *p, struct pl_item *it, char *match)
{
    enum sampler_decision d = commit(p, it, match);
    p->counts[d]++;
    free(it->norm);
    it->norm = NULL;
    return d;
}

enum sampler_decision sampler_pipeline_offer(struct sampler_pipeline *p, const char *prompt_id,
                                             const char *text, char match_out[33])
{
    char match[33];
    struct pl_item *it = &p->items[PL_CHUNK];
    prep_begin(p);
    it->id = prompt_id ? prompt_id : "";
    it->text = text;
    prepare(p, &p->main_sc, it);
    enum sampler_decision d = finish(p, it, match);
    merge_delta(p);
    if (match_out != NULL) {
        memcpy(match_out, match, 33);
    }
    return d;
}

static void prepare_worker(void *ctx, int worker)
{
    struct sampler_pipeline *p = ctx;
    for (;;) {
        size_t j = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (j >= p->chunk_n) {
            return;
        }
        prepare(p, &p->wsc[worker], &p->items[j]);
        atomic_store_explicit(&p->items[j].ready, 1, memory_order_release);
    }
}

static bool pool_ready(struct sampler_pipeline *p)
{
    if (p->pool != NULL) {
        return true;
    }
    if (p->o.threads < 2 || p->pool_failed) {
        return false;
    }
    char err[256];
    p->pool = sampler_pool_new(p->o.threads - 1, err, sizeof(err));
    if (p->pool == NULL) {
        p->pool_failed = 1;
        ARENA_WARN("event=pipeline_pool_failed error=\"%s\" fallback=caller_only", err);
        return false;
    }
    p->wsc = arena_xcalloc((size_t)sampler_pool_size(p->pool), sizeof(*p->wsc));
    return true;
}

void sampler_pipeline_offer_batch(struct sampler_pipeline *p, const char *const *prompt_ids,
                                  const char *const *texts, size_t n,
                                  enum sampler_decision *decisions_out, char (*matches_out)[33])
{
    for (size_t off = 0; off < n; off += PL_CHUNK) {
        size_t m = n - off < PL_CHUNK ? n - off : PL_CHUNK;
        bool par = m > 1 && pool_ready(p);
        prep_begin(p);
        for (size_t i = 0; i < m; i++) {
            struct pl_item *it = &p->items[i];
            it->id = prompt_ids[off + i] ? prompt_ids[off + i] : "";
            it->text = texts[off + i];
            atomic_store_explicit(&it->ready, 0, memory_order_relaxed);
        }
        p->chunk_n = m;
        atomic_store_explicit(&p->next, 0, memory_order_relaxed);
        if (par) {
            sampler_pool_run(p->pool, prepare_worker, p);
        }
        for (size_t c = 0; c < m; c++) {
            struct pl_item *it = &p->items[c];
            while (!atomic_load_explicit(&it->ready, memory_order_acquire)) {
                /* help: prepare the next unclaimed item, or wait for the worker on this one */
                size_t j = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
                if (j < m) {
                    prepare(p, &p->main_sc, &p->items[j]);
                    atomic_store_explicit(&p->items[j].ready, 1, memory_order_release);
                } else {
                    sched_yield();
                }
            }
            char match[33];
            enum sampler_decision d = finish(p, it, match);
            if (decisions_out != NULL) {
                decisions_out[off + c] = d;
            }
            if (matches_out != NULL) {
                memcpy(matches_out[off + c], match, 33);
            }
        }
        if (par) {
            sampler_pool_wait(p->pool);
        }
        merge_delta(p);
    }
}

void sampler_pipeline_counts(const struct sampler_pipeline *p, uint64_t counts[])
{
    memcpy(counts, p->counts, sizeof(p->counts));
}

uint64_t sampler_pipeline_embed_errors(const struct sampler_pipeline *p)
{
    return p->embed_errors;
}

void sampler_pipeline_destroy(struct sampler_pipeline *p)
{
    if (p == NULL) {
        return;
    }
    int nw = p->pool != NULL ? sampler_pool_size(p->pool) : 0;
    sampler_pool_destroy(p->pool);
    for (int w = 0; p->wsc != NULL && w < nw; w++) {
        scratch_fini(&p->wsc[w]);
    }
    free(p->wsc);
    scratch_fini(&p->main_sc);
    for (size_t i = 0; p->items != NULL && i < 2 * PL_CHUNK; i++) {
        free(p->items[i].norm);
        free(p->items[i].hits);
    }
    free(p->items);
    free(p->item_sigs);
    free(p->item_keys);
    sampler_minhasher_destroy(p->mh);
    sampler_lsh_destroy(p->lsh);
    sampler_lsh_destroy(p->eval_lsh);
    sampler_lsh_destroy(p->dlsh);
    free(p->dkeys);
    free(p->ids);
    sampler_u64map_fini(&p->exact);
    sampler_u64map_fini(&p->prefix);
    sampler_u64map_fini(&p->eval_map);
    for (size_t i = 0; i < p->n_eval; i++) {
        free(p->eval_texts[i]);
    }
    free(p->eval_ids);
    free(p->eval_texts);
    if (p->own_emb) {
        sampler_embedder_destroy(p->emb);
    }
    index_free(p);
    free(p->topk);
    free(p->topk_n);
    free(p);
}
