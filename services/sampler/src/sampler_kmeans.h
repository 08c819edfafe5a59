/* sampler_kmeans.h - k-means with k-means++ seeding, deterministic for a seed (same clusters in
 * the same order): points are dense rows of dim floats; with SAMPLER_KMEANS_COSINE rows and
 * centroids are L2-normalised (spherical k-means, distance 1 - cos). Lloyd iterations stop when
 * no centroid moves more than tol (squared euclidean) or after max_iter. An empty cluster is
 * re-seeded with the point farthest from its centroid. Pure; thread-safe on distinct results. */
#ifndef SAMPLER_KMEANS_H
#define SAMPLER_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"

enum sampler_kmeans_metric {
    SAMPLER_KMEANS_EUCLIDEAN,
    SAMPLER_KMEANS_COSINE,
};

struct sampler_kmeans_opts {
    int k;
    int max_iter; /* default 100 */
    double tol;   /* default 1e-6 */
    uint64_t seed;
    enum sampler_kmeans_metric metric;
};

struct sampler_kmeans_result {
    int k;
    int dim;
    float *centroids; /* k * dim */
    int *assign;      /* n: cluster of each point */
    size_t *sizes;    /* k */
    size_t n;
    int iterations;
    double inertia; /* sum of distances of points to their centroid */
};

/* x: n * dim row-major (not modified). ARENA_ERR_INVALID when k < 1, k > n, dim < 1. */
arena_err_t sampler_kmeans_fit(const float *x, size_t n, int dim,
                               const struct sampler_kmeans_opts *o,
                               struct sampler_kmeans_result *out, char *errstr, size_t errstr_size);
void sampler_kmeans_result_fini(struct sampler_kmeans_result *r);

#endif
