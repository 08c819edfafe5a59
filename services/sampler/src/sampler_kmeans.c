/* sampler_kmeans.c - seeded k-means++ and Lloyd iterations (see sampler_kmeans.h). */
#include "sampler_kmeans.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"

static double sqdist(const float *a, const float *b, int dim)
{
    double s = 0.0;
    for (int i = 0; i < dim; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return s;
}

static void normalise(float *v, int dim)
{
    double s = 0.0;
    for (int i = 0; i < dim; i++) {
        s += (double)v[i] * v[i];
    }
    if (s > 0.0) {
        float inv = (float)(1.0 / sqrt(s));
        for (int i = 0; i < dim; i++) {
            v[i] *= inv;
        }
    }
}

/* uniform in [0, 1) */
static double urand(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return (double)(arena_mix64(*s) >> 11) * (1.0 / 9007199254740992.0);
}

/* distance used for assignment: squared euclidean; on unit vectors it is 2 - 2 cos */
static double point_cost(double sq, enum sampler_kmeans_metric m)
{
    return m == SAMPLER_KMEANS_COSINE ? sq / 2.0 : sq; /* = 1 - cos */
}

arena_err_t sampler_kmeans_fit(const float *x, size_t n, int dim,
                               const struct sampler_kmeans_opts *o,
                               struct sampler_kmeans_result *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    if (o == NULL || o->k < 1 || dim < 1 || n == 0 || (size_t)o->k > n) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "kmeans: need 1 <= k <= n and dim >= 1 (k=%d n=%zu dim=%d)",
                             o ? o->k : 0, n, dim);
    }
    int k = o->k;
    int max_iter = o->max_iter > 0 ? o->max_iter : 100;
    double tol = o->tol > 0 ? o->tol : 1e-6;
    size_t d = (size_t)dim;
    const float *pts = x;
    float *copy = NULL;
    if (o->metric == SAMPLER_KMEANS_COSINE) {
        copy = arena_xmalloc(n * d * sizeof(float));
        memcpy(copy, x, n * d * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            normalise(copy + i * d, dim);
        }
        pts = copy;
    }
    float *c = arena_xmalloc((size_t)k * d * sizeof(float));
    double *mind = arena_xmalloc(n * sizeof(double));
    uint64_t rs = o->seed ^ 0x6b6d65616e73ULL;

    /* k-means++ seeding */
    size_t first = (size_t)(urand(&rs) * (double)n);
    memcpy(c, pts + first * d, d * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        mind[i] = sqdist(pts + i * d, c, dim);
    }
    for (int j = 1; j < k; j++) {
        double total = 0.0;
        for (size_t i = 0; i < n; i++) {
            total += mind[i];
        }
        size_t pick = n - 1;
        if (total > 0.0) {
            double r = urand(&rs) * total, acc = 0.0;
            for (size_t i = 0; i < n; i++) {
                acc += mind[i];
                if (acc > r) {
                    pick = i;
                    break;
                }
            }
        } else {
            pick = (size_t)(urand(&rs) * (double)n); /* all points coincide with centres */
        }
        memcpy(c + (size_t)j * d, pts + pick * d, d * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            double s = sqdist(pts + i * d, c + (size_t)j * d, dim);
            if (s < mind[i]) {
                mind[i] = s;
            }
        }
    }

    int *assign = arena_xmalloc(n * sizeof(int));
    size_t *sizes = arena_xcalloc((size_t)k, sizeof(size_t));
    double *sum = arena_xmalloc((size_t)k * d * sizeof(double));
    int it = 0;
    for (it = 1; it <= max_iter; it++) {
        memset(sizes, 0, (size_t)k * sizeof(size_t));
        for (size_t i = 0; i < n; i++) {
            double best = DBL_MAX;
            int bj = 0;
            for (int j = 0; j < k; j++) {
                double s = sqdist(pts + i * d, c + (size_t)j * d, dim);
                if (s < best) {
                    best = s;
                    bj = j;
                }
            }
            assign[i] = bj;
            mind[i] = best;
            sizes[bj]++;
        }
        memset(sum, 0, (size_t)k * d * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            double *s = sum + (size_t)assign[i] * d;
            for (size_t q = 0; q < d; q++) {
                s[q] += pts[i * d + q];
            }
        }
        double moved = 0.0;
        for (int j = 0; j < k; j++) {
            float *cj = c + (size_t)j * d;
            if (sizes[j] == 0) {
                /* re-seed with the point farthest from its centre */
                size_t far = 0;
                for (size_t i = 1; i < n; i++) {
                    if (mind[i] > mind[far]) {
                        far = i;
                    }
                }
                moved += sqdist(cj, pts + far * d, dim);
                memcpy(cj, pts + far * d, d * sizeof(float));
                mind[far] = 0.0;
                continue;
            }
            double delta = 0.0;
            for (size_t q = 0; q < d; q++) {
                float v = (float)(sum[(size_t)j * d + q] / (double)sizes[j]);
                double df = (double)v - cj[q];
                delta += df * df;
                cj[q] = v;
            }
            if (o->metric == SAMPLER_KMEANS_COSINE) {
                normalise(cj, dim);
            }
            if (delta > moved) {
                moved = delta;
            }
        }
        if (moved <= tol) {
            break;
        }
    }
    if (it > max_iter) {
        it = max_iter;
    }
    /* final assignment and inertia */
    double inertia = 0.0;
    memset(sizes, 0, (size_t)k * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        double best = DBL_MAX;
        int bj = 0;
        for (int j = 0; j < k; j++) {
            double s = sqdist(pts + i * d, c + (size_t)j * d, dim);
            if (s < best) {
                best = s;
                bj = j;
            }
        }
        assign[i] = bj;
        sizes[bj]++;
        inertia += point_cost(best, o->metric);
    }
    free(sum);
    free(mind);
    free(copy);
    out->k = k;
    out->dim = dim;
    out->centroids = c;
    out->assign = assign;
    out->sizes = sizes;
    out->n = n;
    out->iterations = it;
    out->inertia = inertia;
    return ARENA_ERR_OK;
}

void sampler_kmeans_result_fini(struct sampler_kmeans_result *r)
{
    if (r == NULL) {
        return;
    }
    free(r->centroids);
    free(r->assign);
    free(r->sizes);
    memset(r, 0, sizeof(*r));
}
