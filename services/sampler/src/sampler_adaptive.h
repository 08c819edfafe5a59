/* sampler_adaptive.h - adaptive matchmaking: which pairs battle on one prompt, given the latest
 * ratings from the rater's ZeroMQ feed (sampler.mode: adaptive).
 *
 * Pairs whose 95% confidence intervals overlap most are the ones a battle can still tell apart,
 * so they are favoured: weight(pair) = overlap length / union length of the two CIs (0..1),
 * floored at opts.floor so separated pairs are still re-checked now and then. A pair with a
 * model the snapshot does not know, or with fewer than opts.min_games games, is "unrated" and
 * comes before every rated pair (the fleet bootstraps on it). k pairs are drawn without
 * replacement by weighted reservoir sampling (Efraimidis-Spirakis: key = u^(1/w), the k largest
 * keys win) where u is a seeded hash of (prompt_id, pair): the choice is a pure function of
 * (prompt_id, candidate pairs, snapshot, opts), so a restart re-issues the same battles.
 * Without a snapshot (no rating received yet) every candidate pair is chosen.
 *
 * Pure: no I/O, no globals. Thread-safe for distinct snapshots. Model names are borrowed from
 * the caller (candidate pairs) or owned by the snapshot (sampler_ratings_fini frees them). */
#ifndef SAMPLER_ADAPTIVE_H
#define SAMPLER_ADAPTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"
#include "sampler_match.h"

struct sampler_rating {
    char *model; /* owned */
    double rating, ci_low, ci_high;
    uint64_t games;
};

/* One rater publication, as received on the feed. */
struct sampler_ratings {
    struct sampler_rating *rows; /* owned */
    size_t n;
    uint64_t battles;      /* battles the leaderboard counts */
    int64_t updated_at_ms; /* when the rater computed it */
};

struct sampler_adaptive_opts {
    size_t pairs;       /* pairs per prompt; 0 = number of distinct models - 1 */
    uint64_t min_games; /* a model with fewer games counts as unrated */
    double floor;       /* smallest weight of a rated pair (> 0) */
    uint64_t seed;      /* hash seed */
};

void sampler_adaptive_opts_default(struct sampler_adaptive_opts *o);

void sampler_ratings_init(struct sampler_ratings *r);
void sampler_ratings_fini(struct sampler_ratings *r);
/* Parse a feed body: the rater's leaderboard JSON ({"battles","updated_at_ms","models":[{"model",
 * "rating","ci_low","ci_high","games",...}]}; other fields ignored). On error out is left empty
 * and errstr names the problem (e.g. "models[2].ci_low: expected a number"). */
arena_err_t sampler_ratings_parse(const char *json, size_t len, struct sampler_ratings *out,
                                  char *errstr, size_t errstr_size);
/* The row of model, or NULL. */
const struct sampler_rating *sampler_ratings_find(const struct sampler_ratings *r,
                                                  const char *model);

/* CI overlap / union of two intervals, in [0, 1] (identical degenerate intervals -> 1). */
double sampler_adaptive_overlap(double lo_a, double hi_a, double lo_b, double hi_b);
/* Weight of a pair under the snapshot; a negative value means unrated (maximal priority). */
double sampler_adaptive_weight(const struct sampler_ratings *snap, const char *a, const char *b,
                               const struct sampler_adaptive_opts *o);
/* Pairs per prompt for n_models distinct models and n_cands candidate pairs. */
size_t sampler_adaptive_count(const struct sampler_adaptive_opts *o, size_t n_models,
                              size_t n_cands);

/* Choose the pairs of one prompt among cands (n_cands); writes at most cap pairs into out (in
 * candidate order) and returns how many. snap == NULL or empty -> every candidate. */
size_t sampler_adaptive_choose(const char *prompt_id, const struct sampler_pair *cands,
                               size_t n_cands, size_t n_models, const struct sampler_ratings *snap,
                               const struct sampler_adaptive_opts *o, struct sampler_pair *out,
                               size_t cap);

#endif
