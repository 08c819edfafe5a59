/* sampler_pipeline.c - streaming data pipeline (see sampler_pipeline.h for the rules). */
#include "sampler_pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena/err.h"
#include "arena/log.h"
#include "arena/prompt_id.h"
#include "arena/util.h"
#include "sampler_embed.h"
#include "sampler_ingest.h"
#include "sampler_minhash.h"
#include "sampler_u64map.h"

typedef char sampler_id[33];

struct sampler_pipeline {
    struct sampler_pipeline_opts o;
    struct sampler_minhasher *mh;
    uint32_t *sig; /* scratch */
    /* training pool (accepted) */
    sampler_id *ids;
    size_t n, cap;
    struct sampler_u64map exact;
    struct sampler_u64map prefix;
    struct sampler_lsh *lsh; /* item i = accepted i (when minhash_dedup) */
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
    uint32_t *post_off; /* dim + 1 */
    uint32_t *post_eval;
    float *post_w;
    /* dims held by many eval items ("common") are not traversed through postings: their
     * contribution is bounded by Cauchy-Schwarz and computed exactly only when the bound could
     * reach the threshold */
    int32_t *common_idx; /* dim -> row of common_w, -1 = rare */
    float *common_w;     /* n_common * n_eval */
    float *common_norm;  /* n_eval: norm of each eval vector restricted to common dims */
    uint32_t *cc_idx;    /* scratch: candidate's common rows */
    float *cc_val;
    float *topk; /* n_eval * k, descending */
    int *topk_n;
    float *acc;        /* n_eval scratch */
    uint32_t *touched; /* evals reached through postings (when there are no common dims) */
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
    if (p->eval_lsh == NULL) {
        goto fail;
    }
    p->sig = arena_xmalloc((size_t)p->o.permutations * sizeof(uint32_t));
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
    sampler_minhash_sig(p->mh, text, strlen(text), p->sig);
    sampler_lsh_add(p->eval_lsh, p->sig);
}

static void index_free(struct sampler_pipeline *p)
{
    free(p->post_off);
    free(p->post_eval);
    free(p->post_w);
    free(p->common_idx);
    free(p->common_w);
    free(p->common_norm);
    p->post_off = NULL;
    p->post_eval = NULL;
    p->post_w = NULL;
    p->common_idx = NULL;
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
    p->post_off = arena_xcalloc((size_t)dim + 1, sizeof(uint32_t));
    size_t total = 0;
    for (size_t i = 0; i < p->n_eval; i++) {
        for (uint32_t j = 0; j < v[i].nnz; j++) {
            p->post_off[(v[i].idx ? v[i].idx[j] : j) + 1]++;
        }
        total += v[i].nnz;
    }
    for (uint32_t d = 0; d < dim; d++) {
        p->post_off[d + 1] += p->post_off[d];
    }
    uint32_t cutoff = (uint32_t)(p->n_eval / 8 > 64 ? p->n_eval / 8 : 64);
    p->common_idx = arena_xmalloc(((size_t)dim + 1) * sizeof(int32_t));
    size_t n_common = 0;
    for (uint32_t d = 0; d < dim; d++) {
        bool common = p->post_off[d + 1] - p->post_off[d] > cutoff;
        p->common_idx[d] = common ? (int32_t)n_common++ : -1;
    }
    p->n_common = n_common;
    p->common_w = arena_xcalloc((n_common ? n_common : 1) * p->n_eval, sizeof(float));
    p->common_norm = arena_xcalloc(p->n_eval, sizeof(float));
    /* rare dims keep postings; rebuild offsets for them only */
    memset(p->post_off, 0, ((size_t)dim + 1) * sizeof(uint32_t));
    total = 0;
    for (size_t i = 0; i < p->n_eval; i++) {
        for (uint32_t j = 0; j < v[i].nnz; j++) {
            uint32_t d = v[i].idx ? v[i].idx[j] : j;
            if (p->common_idx[d] < 0) {
                p->post_off[d + 1]++;
                total++;
            }
        }
    }
    for (uint32_t d = 0; d < dim; d++) {
        p->post_off[d + 1] += p->post_off[d];
    }
    p->post_eval = arena_xmalloc((total ? total : 1) * sizeof(uint32_t));
    p->post_w = arena_xmalloc((total ? total : 1) * sizeof(float));
    uint32_t *fill = arena_xmalloc(((size_t)dim + 1) * sizeof(uint32_t));
    memcpy(fill, p->post_off, ((size_t)dim + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < p->n_eval; i++) {
        double cn = 0.0;
        for (uint32_t j = 0; j < v[i].nnz; j++) {
            uint32_t d = v[i].idx ? v[i].idx[j] : j;
            float w = v[i].val[j];
            if (p->common_idx[d] >= 0) {
                p->common_w[(size_t)p->common_idx[d] * p->n_eval + i] = w;
                cn += (double)w * w;
            } else {
                p->post_eval[fill[d]] = (uint32_t)i;
                p->post_w[fill[d]++] = w;
            }
        }
        p->common_norm[i] = (float)sqrt(cn);
        sampler_vec_fini(&v[i]);
    }
    free(fill);
    free(v);
    size_t k = (size_t)p->o.decontam_top_k;
    p->topk = arena_xrealloc(p->topk, p->n_eval * k * sizeof(float));
    p->topk_n = arena_xrealloc(p->topk_n, p->n_eval * sizeof(int));
    for (size_t i = p->n_indexed; i < p->n_eval; i++) {
        p->topk_n[i] = 0;
    }
    free(p->acc);
    free(p->touched);
    p->acc = arena_xcalloc(p->n_eval, sizeof(float));
    p->touched = arena_xmalloc(p->n_eval * sizeof(uint32_t));
    p->n_indexed = p->n_eval;
    return true;
}

/* The embedding rule; returns the eval index or -1. */
static int64_t embed_decontam(struct sampler_pipeline *p, const char *text)
{
    if (p->emb == NULL || p->n_eval == 0) {
        return -1;
    }
    if (p->n_indexed < p->n_eval && !index_build(p)) {
        return -1;
    }
    struct sampler_vec v;
    char err[512];
    if (sampler_embed_one(p->emb, text, false, &v, err, sizeof(err)) != ARENA_ERR_OK) {
        p->embed_errors++;
        ARENA_WARN("event=decontam_embed_failed error=\"%s\"", err);
        return -1;
    }
    p->cc_idx = arena_xrealloc(p->cc_idx, (v.nnz ? v.nnz : 1) * sizeof(uint32_t));
    p->cc_val = arena_xrealloc(p->cc_val, (v.nnz ? v.nnz : 1) * sizeof(float));
    size_t ncc = 0, nt = 0;
    double cnorm2 = 0.0;
    for (uint32_t j = 0; j < v.nnz; j++) {
        uint32_t d = v.idx ? v.idx[j] : j;
        if (d >= p->dim) {
            continue;
        }
        float x = v.val[j];
        if (p->common_idx[d] >= 0) {
            p->cc_idx[ncc] = (uint32_t)p->common_idx[d];
            p->cc_val[ncc++] = x;
            cnorm2 += (double)x * x;
            continue;
        }
        for (uint32_t q = p->post_off[d]; q < p->post_off[d + 1]; q++) {
            uint32_t e = p->post_eval[q];
            if (p->acc[e] == 0.0f) {
                p->touched[nt++] = e;
            }
            p->acc[e] += x * p->post_w[q];
            if (p->acc[e] == 0.0f) {
                p->acc[e] = 1e-30f; /* stays marked as touched */
            }
        }
    }
    sampler_vec_fini(&v);
    float cnorm = (float)sqrt(cnorm2);
    int64_t best = -1;
    float best_sim = 0.0f;
    int k = p->o.decontam_top_k;
    float thr = (float)p->o.decontam_threshold;
    /* without common dims only the evals reached through postings can score > 0 */
    bool all = p->n_common > 0;
    size_t n_iter = all ? p->n_eval : nt;
    for (size_t t = 0; t < n_iter; t++) {
        uint32_t e = all ? (uint32_t)t : p->touched[t];
        float s = p->acc[e];
        p->acc[e] = 0.0f;
        if (s + cnorm * p->common_norm[e] + 1e-6f < thr) {
            continue; /* even a perfect overlap on the common dims stays below */
        }
        for (size_t c = 0; c < ncc; c++) {
            s += p->cc_val[c] * p->common_w[(size_t)p->cc_idx[c] * p->n_eval + e];
        }
        if (s < thr) {
            continue;
        }
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

static enum sampler_decision decide(struct sampler_pipeline *p, const char *prompt_id,
                                    const char *text, char *match)
{
    match[0] = '\0';
    char *norm = arena_prompt_normalise(text ? text : "");
    enum sampler_decision d = SAMPLER_ACCEPT;
    uint32_t v;
    uint64_t pkey = 0;
    bool have_sig = false;
    uint64_t ikey = id_key(prompt_id);
    if (norm[0] == '\0') {
        d = SAMPLER_DROP_EMPTY;
        goto out;
    }
    if (p->o.min_length > 0 && sampler_utf8_len(norm) < (size_t)p->o.min_length) {
        d = SAMPLER_DROP_MIN_LENGTH;
        goto out;
    }
    if (sampler_u64map_get(&p->exact, ikey, &v) && strcmp(p->ids[v], prompt_id) == 0) {
        d = SAMPLER_DROP_EXACT_DUP;
        copy_id(match, p->ids[v]);
        goto out;
    }
    if (p->o.decontam && p->n_eval > 0) {
        if (sampler_u64map_get(&p->eval_map, ikey, &v) && strcmp(p->eval_ids[v], prompt_id) == 0) {
            d = SAMPLER_DROP_DECONTAM;
            copy_id(match, p->eval_ids[v]);
            goto out;
        }
        sampler_minhash_sig(p->mh, norm, strlen(norm), p->sig);
        have_sig = true;
        int64_t e = sampler_lsh_query(p->eval_lsh, p->sig, p->o.jaccard_threshold, NULL);
        if (e < 0) {
            e = embed_decontam(p, norm);
        }
        if (e >= 0) {
            d = SAMPLER_DROP_DECONTAM;
            copy_id(match, p->eval_ids[e]);
            goto out;
        }
    }
    if (p->o.prefix_dedup) {
        pkey = prefix_key(norm, p->o.prefix_tokens);
        if (sampler_u64map_get(&p->prefix, pkey, &v)) {
            d = SAMPLER_DROP_PREFIX_DUP;
            copy_id(match, p->ids[v]);
            goto out;
        }
    }
    if (p->o.minhash_dedup) {
        if (!have_sig) {
            sampler_minhash_sig(p->mh, norm, strlen(norm), p->sig);
        }
        int64_t it = sampler_lsh_query(p->lsh, p->sig, p->o.jaccard_threshold, NULL);
        if (it >= 0) {
            d = SAMPLER_DROP_MINHASH_DUP;
            copy_id(match, p->ids[it]);
            goto out;
        }
    }
    if (p->o.language_hook != NULL && p->o.language_hook(p->o.language_ctx, norm) == 0) {
        d = SAMPLER_DROP_LANGUAGE;
        goto out;
    }
    /* accepted: index it */
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->ids = arena_xrealloc(p->ids, p->cap * sizeof(*p->ids));
    }
    copy_id(p->ids[p->n], prompt_id);
    sampler_u64map_put(&p->exact, ikey, (uint32_t)p->n);
    if (p->o.prefix_dedup) {
        sampler_u64map_put(&p->prefix, pkey, (uint32_t)p->n);
    }
    if (p->o.minhash_dedup) {
        sampler_lsh_add(p->lsh, p->sig);
    }
    p->n++;
out:
    free(norm);
    return d;
}

enum sampler_decision sampler_pipeline_offer(struct sampler_pipeline *p, const char *prompt_id,
                                             const char *text, char match_out[33])
{
    char match[33];
    enum sampler_decision d = decide(p, prompt_id ? prompt_id : "", text, match);
    p->counts[d]++;
    if (match_out != NULL) {
        memcpy(match_out, match, 33);
    }
    return d;
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
    sampler_minhasher_destroy(p->mh);
    sampler_lsh_destroy(p->lsh);
    sampler_lsh_destroy(p->eval_lsh);
    free(p->sig);
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
    free(p->acc);
    free(p->touched);
    free(p->cc_idx);
    free(p->cc_val);
    free(p);
}
