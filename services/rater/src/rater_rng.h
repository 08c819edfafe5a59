/* rater_rng.h - deterministic random numbers for the bootstrap: xoshiro256** seeded through
 * splitmix64, uniform doubles, unbiased bounded integers and an exact binomial sampler
 * (inversion for small means, Hormann's BTRS transformed rejection otherwise).
 * A generator is a caller-owned value; not thread-safe, use one per thread. */
#ifndef RATER_RNG_H
#define RATER_RNG_H

#include <stdint.h>

struct rater_rng {
    uint64_t s[4];
};

void rater_rng_seed(struct rater_rng *r, uint64_t seed);
uint64_t rater_rng_next(struct rater_rng *r);
/* uniform in (0, 1] */
double rater_rng_uniform(struct rater_rng *r);
/* uniform integer in [0, n) (Lemire's method, unbiased); n > 0 */
uint64_t rater_rng_below(struct rater_rng *r, uint64_t n);
/* Binomial(n, p) draw; p outside (0, 1) is clamped */
uint64_t rater_rng_binomial(struct rater_rng *r, uint64_t n, double p);

#endif
