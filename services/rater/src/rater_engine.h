/* rater_engine.h - the WizardArena rating engine: a battle log (models interned, battles
 * aggregated into (pair, outcome, weight) cells), Bradley-Terry maximum likelihood (FastChat's
 * compute_mle_elo), online Elo (FastChat's compute_elo), bootstrap confidence intervals and
 * ranks. Pure computation: no I/O, no logging.
 *
 * Thread-safety: objects are not thread-safe; distinct objects may be used from distinct
 * threads. rater_compute() only reads `b` and spawns its own worker threads for the bootstrap.
 * Ownership: model names passed in are copied; a rater_table owns its rows and their names
 * (release with rater_table_fini()). */
#ifndef RATER_ENGINE_H
#define RATER_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"

enum rater_outcome { RATER_A_WINS = 0, RATER_B_WINS = 1, RATER_TIE = 2 };

/* battle log + aggregated pair counts, models interned */
struct rater_battles;

struct rater_battles *rater_battles_new(void);
void rater_battles_destroy(struct rater_battles *b);
/* Record one battle. A battle of a model against itself, a NULL/empty name, an outcome out of
 * range or a weight that is not finite and > 0 is not recorded: it is counted in
 * rater_battles_rejected() (callers that parse outside input validate first and report). */
void rater_battles_add(struct rater_battles *b, const char *model_a, const char *model_b,
                       enum rater_outcome o, double weight);
/* Number of battles recorded (each call that was accepted counts one, whatever its weight). */
size_t rater_battles_count(const struct rater_battles *b);
size_t rater_battles_rejected(const struct rater_battles *b);
/* Number of distinct models and their names (interned, in order of first appearance; the
 * pointer stays valid until the object is destroyed). */
size_t rater_battles_models(const struct rater_battles *b);
const char *rater_battles_model_name(const struct rater_battles *b, size_t i);
/* Index of a model or -1 when never seen. */
long rater_battles_model_index(const struct rater_battles *b, const char *model);
/* Weight-free battle counts between two models, from model_a's side: wins of a, wins of b, ties.
 * Zeros when the pair never met or a model is unknown. */
void rater_battles_pair_counts(const struct rater_battles *b, const char *model_a,
                               const char *model_b, uint64_t *a_wins, uint64_t *b_wins,
                               uint64_t *ties);

struct rater_opts {
    const char *method; /* "bt" | "elo" */
    int bootstrap;      /* rounds; 0 = no CI (ci_low = ci_high = rating) */
    uint64_t seed;
    int threads;
    const char *anchor_model; /* NULL: centre the ratings on elo_init (mean = 1000) */
    double anchor_rating;
    double elo_k, elo_scale, elo_base, elo_init;
    /* added fields (defaults set by rater_opts_default) */
    int rating_median; /* 1: report the median of the bootstrap ratings (paper) instead of the
                          full-data MLE (0, default) */
    double l2;         /* BT ridge penalty on the log-strengths (natural-log units); default 1e-6 */
    double tol_elo;    /* BT convergence: max rating change per iteration, default 1e-6 */
};
/* bt, 100, 42, 2, none, K=4, 400, 10, 1000 */
void rater_opts_default(struct rater_opts *o);

struct rater_row {
    char *model;
    double rating, ci_low, ci_high;
    uint32_t rank;
    uint64_t games, wins, losses, ties;
};
struct rater_table {
    struct rater_row *rows; /* sorted by rating desc (ties broken by model name) */
    size_t n;
    uint64_t battles;
    /* added fields */
    uint32_t components; /* connected components of the comparison graph (1 = connected) */
    uint32_t iterations; /* iterations of the full-data BT fit (0 for elo) */
};

/* Ratings of every model seen. ARENA_ERR_INVALID for bad options (unknown method, anchor model
 * absent, bootstrap < 0, ...); an empty battle log yields an empty table. */
arena_err_t rater_compute(const struct rater_battles *b, const struct rater_opts *o,
                          struct rater_table *out, char *errstr, size_t errstr_size);
void rater_table_fini(struct rater_table *t);
/* Row of a model or NULL. */
const struct rater_row *rater_table_find(const struct rater_table *t, const char *model);

/* Bradley-Terry probability that a model rated ra beats one rated rb (scale/base as opts). */
double rater_expected(double ra, double rb, double scale, double base);

/* online Elo for live display (FastChat compute_elo: K, scale, base, init; tie = 0.5) */
struct rater_elo;
struct rater_elo *rater_elo_new(double k, double scale, double base, double init);
void rater_elo_update(struct rater_elo *e, const char *a, const char *b, enum rater_outcome o);
/* rating of a model; init when never seen */
double rater_elo_rating(const struct rater_elo *e, const char *model);
size_t rater_elo_models(const struct rater_elo *e);
const char *rater_elo_model_name(const struct rater_elo *e, size_t i);
void rater_elo_destroy(struct rater_elo *e);

#endif
