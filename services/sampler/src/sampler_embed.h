/* sampler_embed.h - text embeddings behind one interface, two backends:
 *  - "tfidf": built-in hashed character n-gram TF-IDF (n = ngram_min..ngram_max over the
 *    lower-cased, whitespace-collapsed text, hashed into 2^dim_bits dims, sublinear tf
 *    1 + ln(tf), idf = ln((1 + N) / (1 + df)) + 1 from the documents observed/fitted (idf = 1
 *    before any), n-grams with df > max_df * N dropped, L2-normalised). Sparse vectors. No
 *    server.
 *  - "openai": POST {base_url}/embeddings {"model","input":[...]} (OpenAI-compatible), batched,
 *    Bearer key from the environment variable api_key_env (may be empty). Dense vectors,
 *    L2-normalised on arrival.
 * Vectors returned belong to the caller (sampler_vec_fini). An embedder is not thread-safe. */
#ifndef SAMPLER_EMBED_H
#define SAMPLER_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"

/* Sparse when idx != NULL (nnz entries, idx ascending), dense otherwise (nnz == dim). */
struct sampler_vec {
    uint32_t dim;
    uint32_t nnz;
    uint32_t *idx;
    float *val;
};

void sampler_vec_fini(struct sampler_vec *v);
float sampler_vec_dot(const struct sampler_vec *a, const struct sampler_vec *b);
/* out must hold v->dim floats. */
void sampler_vec_to_dense(const struct sampler_vec *v, float *out);
void sampler_vec_normalise(struct sampler_vec *v);

struct sampler_embedder;

struct sampler_tfidf_opts {
    int dim_bits;  /* 12..20; default 16 */
    int ngram_min; /* default 3 */
    int ngram_max; /* default 5 */
    double max_df; /* n-grams in more than this share of the observed documents are ignored
                      (stop-grams, as sklearn's max_df); 0 = 1.0 = keep all */
};

struct sampler_embedder *sampler_embed_tfidf_new(const struct sampler_tfidf_opts *o, char *errstr,
                                                 size_t errstr_size);
/* Add documents to the document frequencies (streamed idf). */
void sampler_embed_tfidf_observe(struct sampler_embedder *e, const char *text);
/* Forget the document frequencies, then observe texts (fitted idf). */
void sampler_embed_tfidf_fit(struct sampler_embedder *e, const char *const *texts, size_t n);

struct sampler_openai_embed_opts {
    const char *base_url;    /* e.g. http://127.0.0.1:8000/v1 */
    const char *model;       /* model name sent */
    const char *api_key_env; /* NULL/"" = no Authorization header */
    int batch;               /* inputs per request; default 64 */
    long timeout_ms;         /* per request; default 30000 */
};

struct sampler_embedder *sampler_embed_openai_new(const struct sampler_openai_embed_opts *o,
                                                  char *errstr, size_t errstr_size);

/* Embed n texts into out[0..n-1] (caller-allocated array; each vec filled). On error nothing
 * is left allocated in out. ARENA_ERR_HTTP/BACKEND/PARSE with a message for the openai one. */
arena_err_t sampler_embed(struct sampler_embedder *e, const char *const *texts, size_t n,
                          struct sampler_vec *out, char *errstr, size_t errstr_size);
/* One text; same as sampler_embed with n = 1, except that a TF-IDF vector's idx are left
 * unsorted when !sorted (faster; sampler_vec_dot then needs the other operand dense or use
 * the pipeline's inverted index). */
arena_err_t sampler_embed_one(struct sampler_embedder *e, const char *text, bool sorted,
                              struct sampler_vec *out, char *errstr, size_t errstr_size);
/* Thread-safe TF-IDF embedding for worker threads. sampler_embed_tfidf_freeze() computes the
 * idf after the last observe/fit (call it on the owning thread); then any number of threads may
 * call sampler_embed_tfidf_r() concurrently on the same embedder, each with its own scratch, as
 * long as nothing observes/fits meanwhile. The vector (idx unsorted, L2-normalised, the same
 * values as sampler_embed_one(sorted = false)) lives in the scratch until its next use. */
struct sampler_tfidf_scratch;

void sampler_embed_tfidf_freeze(struct sampler_embedder *e);
/* NULL when e is not a TF-IDF embedder. */
struct sampler_tfidf_scratch *sampler_tfidf_scratch_new(const struct sampler_embedder *e);
void sampler_tfidf_scratch_destroy(struct sampler_tfidf_scratch *s);
/* Returns nnz; *idx and *val point into s. */
uint32_t sampler_embed_tfidf_r(const struct sampler_embedder *e, struct sampler_tfidf_scratch *s,
                               const char *text, const uint32_t **idx, const float **val);
bool sampler_embedder_is_tfidf(const struct sampler_embedder *e);
const char *sampler_embedder_name(const struct sampler_embedder *e); /* "tfidf" | "openai" */
/* Dimension (openai: 0 until the first successful call). */
uint32_t sampler_embedder_dim(const struct sampler_embedder *e);
void sampler_embedder_destroy(struct sampler_embedder *e);

#endif
