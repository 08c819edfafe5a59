/* rater_stats.h - leaderboard statistics beside the ratings: AlpacaEval's win rate against a
 * baseline and the consistency of a leaderboard with a reference one (Arena-Hard-Auto's
 * metrics). Pure computation, no I/O. Not thread-safe per object; no global state.
 * A rater_reference owns its rows and names (rater_reference_fini). */
#ifndef RATER_STATS_H
#define RATER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"
#include "rater_engine.h"

/* AlpacaEval head-to-head metrics (alpaca_eval.metrics.get_winrate) */
struct rater_winrate {
    double win_rate;          /* mean(p - 1) * 100 */
    double standard_error;    /* sample standard error (ddof = 1, pandas .sem()) * 100; NaN n<2 */
    double discrete_win_rate; /* (n_wins + n_draws / 2) / n_total * 100 */
    uint64_t n_wins;          /* p > 1.5 */
    uint64_t n_wins_base;     /* p < 1.5 */
    uint64_t n_draws;         /* p == 1.5 (or the legacy 0) */
    uint64_t n_total;         /* valid preferences */
    uint64_t n_dropped;       /* NaN or outside [1, 2]: dropped, as AlpacaEval does */
};

/* From AlpacaEval preferences: 1 = baseline wins, 2 = model wins, 1.5 = draw, 0 = legacy draw
 * (mapped to 1.5). NaN and values outside [1, 2] are dropped and counted in n_dropped. */
void rater_winrate_from_prefs(const double *prefs, size_t n, struct rater_winrate *out);
/* From battles of `model` against `baseline`: each battle is a preference of 2 (model won),
 * 1 (baseline won) or 1.5 (tie); weights are ignored. ARENA_ERR_NOT_FOUND when they never met. */
arena_err_t rater_winrate_vs_baseline(const struct rater_battles *b, const char *model,
                                      const char *baseline, struct rater_winrate *out, char *errstr,
                                      size_t errstr_size);

struct rater_ref_row {
    char *model;
    double rating;
    double ci_low, ci_high; /* NaN when the reference has no interval */
};
struct rater_reference {
    struct rater_ref_row *rows;
    size_t n;
};
void rater_reference_fini(struct rater_reference *r);

/* Consistency over the models present in both leaderboards (see README "Consistency"):
 * - spearman: Spearman rho of the ratings (average ranks for ties);
 * - kendall_tau_b: Kendall's tau-b;
 * - separability: fraction of our model pairs whose CIs do not overlap (Arena-Hard-Auto);
 * - agreement_ci (Arena-Hard-Auto "agreement with confidence interval"): over the pairs the
 *   reference separates with its CIs, +1 when we also separate them in the same order, -1 when
 *   we separate them in the opposite order, 0 when our CIs overlap; averaged. NaN when the
 *   reference has no CIs or separates no pair. */
struct rater_consistency {
    size_t n_common;
    size_t pairs; /* n_common * (n_common - 1) / 2 */
    double spearman, kendall_tau_b;
    double separability;
    double agreement_ci;
    size_t ref_separated; /* pairs the reference separates */
};
/* ARENA_ERR_INVALID when fewer than 2 models are common to both. */
arena_err_t rater_consistency_compute(const struct rater_table *t,
                                      const struct rater_reference *ref,
                                      struct rater_consistency *out, char *errstr,
                                      size_t errstr_size);

#endif
