/* sampler_pipeline.h - the paper's data pipeline for training candidates, streaming and
 * deterministic (the same sequence of calls gives the same decisions; the service rebuilds it
 * on restart by re-offering its stored prompts in order).
 * Stages, in this order (the first that fires names the decision):
 *   empty -> min_length (UTF-8 characters of the text) -> exact_dup (prompt_id already
 *   accepted) -> decontam (see below) -> prefix_dup (first prefix_tokens whitespace tokens,
 *   lower-cased, hashed) -> minhash_dup (MinHash-LSH, estimated Jaccard >= jaccard_threshold
 *   with an accepted candidate) -> language (hook) -> accepted (then indexed).
 * Decontamination against the eval items registered with sampler_pipeline_add_eval:
 *   (a) same prompt_id as an eval item; (b) MinHash estimated Jaccard >= jaccard_threshold with
 *   an eval item (paraphrase-level copies); (c) embedding rule: for every eval item e we keep the
 *   decontam_top_k highest cosine similarities among the candidates offered so far that reached
 *   decontam_threshold; a candidate c is contaminated when cos(c, e) >= decontam_threshold and
 *   it ranks within e's top-k (ties included: cos >= the k-th kept value or fewer than k kept).
 *   So exact and near-exact copies (cos ~ 1) are always dropped, and e's k nearest neighbours
 *   above the threshold are dropped, as in the paper's "top-5 matches of any benchmark item".
 *   Embeddings: opts.embedder (borrowed) or the built-in TF-IDF, whose idf is fitted on the eval
 *   texts (refitted lazily when eval items were added since the last offer), ignoring n-grams
 *   found in more than 10% of the eval items (stop-grams).
 * Register eval items before offering training candidates: accepted items are never revisited.
 * Not thread-safe (one owning thread; sampler_pipeline_offer_batch uses its own workers). */
#ifndef SAMPLER_PIPELINE_H
#define SAMPLER_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sampler_embedder;

struct sampler_pipeline_opts {
    int min_length; /* characters; the paper: 10 */
    bool prefix_dedup;
    int prefix_tokens; /* 10 */
    bool minhash_dedup;
    int shingle;              /* 5 characters (see sampler_minhash.h) */
    int permutations;         /* 128 */
    int bands;                /* 32 -> 4 rows per band */
    double jaccard_threshold; /* 0.6 (Arena-Hard: precision 1.0, near-dup recall 1.0) */
    bool decontam;
    int decontam_top_k;        /* 5 */
    double decontam_threshold; /* cosine, 0.4 with the TF-IDF embedding */
    uint64_t seed;
    int (*language_hook)(void *ctx, const char *text); /* 1 keep, 0 drop; NULL = keep */
    void *language_ctx;
    struct sampler_embedder
        *embedder; /* NULL = built-in TF-IDF (2^16 dims, 3-5 grams, max_df 0.1) */
    int threads;   /* sampler_pipeline_offer_batch: threads doing the per-prompt work, the caller
                      included (a pool of threads - 1 started at the first batch); default 2,
                      1 = everything on the caller */
};

/* Defaults above. */
void sampler_pipeline_opts_default(struct sampler_pipeline_opts *o);

enum sampler_decision {
    SAMPLER_ACCEPT,
    SAMPLER_DROP_EMPTY,
    SAMPLER_DROP_MIN_LENGTH,
    SAMPLER_DROP_EXACT_DUP,
    SAMPLER_DROP_PREFIX_DUP,
    SAMPLER_DROP_MINHASH_DUP,
    SAMPLER_DROP_DECONTAM,
    SAMPLER_DROP_LANGUAGE,
    SAMPLER_DECISION__COUNT
};

/* "accepted", "empty", "min_length", "exact_dup", "prefix_dup", "minhash_dup", "decontam",
 * "language" (metric label values of arena_prompts_total{stage}). */
const char *sampler_decision_name(enum sampler_decision d);

struct sampler_pipeline;

struct sampler_pipeline *sampler_pipeline_new(const struct sampler_pipeline_opts *o, char *errstr,
                                              size_t n);
/* Register an eval item (its text is indexed for decontamination and its near-copies never
 * enter training). Idempotent per prompt_id. */
void sampler_pipeline_add_eval(struct sampler_pipeline *p, const char *prompt_id, const char *text);
/* Decide for one training candidate AND, when accepted, index it (so later copies are dups).
 * match_out (may be NULL) receives the prompt_id it duplicates/contaminates ("" otherwise). */
enum sampler_decision sampler_pipeline_offer(struct sampler_pipeline *p, const char *prompt_id,
                                             const char *text, char match_out[33]);
/* The same decisions, matches and index updates as n calls of sampler_pipeline_offer() in
 * that order (deterministic whatever the threads), but the per-prompt work that does not depend
 * on earlier offers (normalisation, MinHash signature and band keys, eval MinHash lookup,
 * built-in TF-IDF embedding and its similarities to the eval items, prefix hash) runs on
 * opts.threads threads; only the index lookups/updates run in offer order on the caller.
 * decisions_out[n] and matches_out[n] (may be NULL) receive what offer would return. Call it
 * from the pipeline's owning thread, never concurrently with other calls on p; register eval
 * items between batches (as between offers). The language hook and an opts.embedder backend
 * are called on the caller's thread only. */
void sampler_pipeline_offer_batch(struct sampler_pipeline *p, const char *const *prompt_ids,
                                  const char *const *texts, size_t n,
                                  enum sampler_decision *decisions_out, char (*matches_out)[33]);
/* counts[SAMPLER_DECISION__COUNT] */
void sampler_pipeline_counts(const struct sampler_pipeline *p, uint64_t counts[]);
/* Errors of the embedding backend are logged and the embedding rule skipped for that offer;
 * this counts them. */
uint64_t sampler_pipeline_embed_errors(const struct sampler_pipeline *p);
void sampler_pipeline_destroy(struct sampler_pipeline *p);

#endif
