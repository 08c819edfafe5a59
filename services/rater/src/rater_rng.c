/* rater_rng.c - xoshiro256** and an exact binomial sampler (see rater_rng.h). */
#include "rater_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rater_rng_seed(struct rater_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&x);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rater_rng_next(struct rater_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rater_rng_uniform(struct rater_rng *r)
{
    return (double)((rater_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

uint64_t rater_rng_below(struct rater_rng *r, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)rater_rng_next(r) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            m = (unsigned __int128)rater_rng_next(r) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* log(k!) - Stirling's series without its tail, i.e. the tail itself, exact for k <= 9 */
static double stirling_tail(double k)
{
    static const double tail[] = {0.0810614667953272,  0.0413406959554092, 0.0276779256849983,
                                  0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                                  0.0118967099458917,  0.0104112652619720, 0.00925546218271273,
                                  0.00833056343336287};
    if (k <= 9) {
        return tail[(int)k];
    }
    double kp1sq = (k + 1) * (k + 1);
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1);
}

/* waiting-time inversion: sum of geometric gaps; expected n*p + 1 iterations */
static uint64_t binomial_inversion(struct rater_rng *r, uint64_t n, double p)
{
    double lq = log1p(-p);
    double sum = 0;
    uint64_t k = 0;
    for (;;) {
        sum += ceil(log(rater_rng_uniform(r)) / lq);
        if (sum > (double)n) {
            return k;
        }
        k++;
    }
}

/* W. Hormann, "The generation of binomial random variates" (1993), algorithm BTRS; p <= 0.5
 * and n*p >= 10 */
static uint64_t binomial_btrs(struct rater_rng *r, uint64_t nn, double p)
{
    double n = (double)nn;
    double spq = sqrt(n * p * (1 - p));
    double b = 1.15 + 2.53 * spq;
    double a = -0.0873 + 0.0248 * b + 0.01 * p;
    double c = n * p + 0.5;
    double v_r = 0.92 - 4.2 / b;
    double rr = p / (1 - p);
    double alpha = (2.83 + 5.1 / b) * spq;
    double m = floor((n + 1) * p);
    for (;;) {
        double u = rater_rng_uniform(r) - 0.5;
        double v = rater_rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + c);
        if (k < 0 || k > n) {
            continue;
        }
        if (us >= 0.07 && v <= v_r) {
            return (uint64_t)k;
        }
        v = log(v * alpha / (a / (us * us) + b));
        double ub = (m + 0.5) * log((m + 1) / (rr * (n - m + 1))) +
                    (n + 1) * log((n - m + 1) / (n - k + 1)) +
                    (k + 0.5) * log(rr * (n - k + 1) / (k + 1)) + stirling_tail(m) +
                    stirling_tail(n - m) - stirling_tail(k) - stirling_tail(n - k);
        if (v <= ub) {
            return (uint64_t)k;
        }
    }
}

uint64_t rater_rng_binomial(struct rater_rng *r, uint64_t n, double p)
{
    if (n == 0 || !(p > 0)) {
        return 0;
    }
    if (p >= 1) {
        return n;
    }
    if (p > 0.5) {
        return n - rater_rng_binomial(r, n, 1 - p);
    }
    if ((double)n * p < 10) {
        return binomial_inversion(r, n, p);
    }
    return binomial_btrs(r, n, p);
}
