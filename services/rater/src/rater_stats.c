/* rater_stats.c - AlpacaEval win rates and leaderboard consistency (see rater_stats.h). */
#include "rater_stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"

void rater_winrate_from_prefs(const double *prefs, size_t n, struct rater_winrate *out)
{
    memset(out, 0, sizeof(*out));
    /* two passes (mean, then squared deviations) as pandas does, for the same rounding */
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double p = prefs[i] == 0 ? 1.5 : prefs[i];
        if (!(p >= 1 && p <= 2)) {
            out->n_dropped++;
            continue;
        }
        out->n_total++;
        sum += p - 1;
        if (p == 1.5) {
            out->n_draws++;
        } else if (p > 1.5) {
            out->n_wins++;
        } else {
            out->n_wins_base++;
        }
    }
    if (out->n_total == 0) {
        out->win_rate = out->standard_error = out->discrete_win_rate = NAN;
        return;
    }
    double nt = (double)out->n_total;
    double mean = sum / nt;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double p = prefs[i] == 0 ? 1.5 : prefs[i];
        if (p >= 1 && p <= 2) {
            double d = (p - 1) - mean;
            ss += d * d;
        }
    }
    out->win_rate = mean * 100;
    out->standard_error = out->n_total > 1 ? sqrt(ss / (nt - 1)) / sqrt(nt) * 100 : NAN;
    out->discrete_win_rate = ((double)out->n_wins + (double)out->n_draws / 2) / nt * 100;
}

arena_err_t rater_winrate_vs_baseline(const struct rater_battles *b, const char *model,
                                      const char *baseline, struct rater_winrate *out, char *errstr,
                                      size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    uint64_t w, l, t;
    rater_battles_pair_counts(b, model, baseline, &w, &l, &t);
    uint64_t n = w + l + t;
    if (n == 0) {
        out->win_rate = out->standard_error = out->discrete_win_rate = NAN;
        return arena_err_set(errstr, errstr_size, ARENA_ERR_NOT_FOUND,
                             "no battles between '%s' and baseline '%s'", model, baseline);
    }
    double nt = (double)n;
    double mean = ((double)w + 0.5 * (double)t) / nt;
    double ss = (double)w * (1 - mean) * (1 - mean) + (double)l * mean * mean +
                (double)t * (0.5 - mean) * (0.5 - mean);
    out->n_wins = w;
    out->n_wins_base = l;
    out->n_draws = t;
    out->n_total = n;
    out->win_rate = mean * 100;
    out->standard_error = n > 1 ? sqrt(ss / (nt - 1)) / sqrt(nt) * 100 : NAN;
    out->discrete_win_rate = ((double)w + (double)t / 2) / nt * 100;
    return ARENA_ERR_OK;
}

void rater_reference_fini(struct rater_reference *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        free(r->rows[i].model);
    }
    free(r->rows);
    memset(r, 0, sizeof(*r));
}

struct rank_item {
    double v;
    size_t i;
};

static int cmp_rank_item(const void *x, const void *y)
{
    const struct rank_item *a = x, *b = y;
    if (a->v != b->v) {
        return a->v < b->v ? -1 : 1;
    }
    return (a->i > b->i) - (a->i < b->i);
}

/* average ranks (1-based), as scipy.stats.rankdata(method="average") */
static void average_ranks(const double *v, size_t n, double *rank)
{
    struct rank_item *it = arena_xmalloc(sizeof(*it) * n);
    for (size_t i = 0; i < n; i++) {
        it[i] = (struct rank_item){v[i], i};
    }
    qsort(it, n, sizeof(*it), cmp_rank_item);
    size_t s = 0;
    while (s < n) {
        size_t e = s + 1;
        while (e < n && it[e].v == it[s].v) {
            e++;
        }
        double r = ((double)s + 1 + (double)e) / 2;
        for (size_t k = s; k < e; k++) {
            rank[it[k].i] = r;
        }
        s = e;
    }
    free(it);
}

static double pearson(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx <= 0 || syy <= 0) {
        return NAN;
    }
    return sxy / sqrt(sxx * syy);
}

static int sgn(double d)
{
    return (d > 0) - (d < 0);
}

arena_err_t rater_consistency_compute(const struct rater_table *t,
                                      const struct rater_reference *ref,
                                      struct rater_consistency *out, char *errstr,
                                      size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    out->spearman = out->kendall_tau_b = out->separability = out->agreement_ci = NAN;
    size_t cap = ref->n < t->n ? ref->n : t->n;
    const struct rater_row **ours = arena_xmalloc(sizeof(*ours) * (cap ? cap : 1));
    const struct rater_ref_row **theirs = arena_xmalloc(sizeof(*theirs) * (cap ? cap : 1));
    size_t n = 0;
    for (size_t i = 0; i < ref->n && n < cap; i++) {
        const struct rater_row *r = rater_table_find(t, ref->rows[i].model);
        bool dup = false;
        for (size_t k = 0; k < n && r; k++) {
            dup = dup || theirs[k] == NULL || strcmp(theirs[k]->model, ref->rows[i].model) == 0;
        }
        if (r && !dup) {
            ours[n] = r;
            theirs[n] = &ref->rows[i];
            n++;
        }
    }
    out->n_common = n;
    if (n < 2) {
        free(ours);
        free(theirs);
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "only %zu model(s) in common with the reference (need 2)", n);
    }
    double *x = arena_xmalloc(sizeof(double) * n), *y = arena_xmalloc(sizeof(double) * n);
    double *rx = arena_xmalloc(sizeof(double) * n), *ry = arena_xmalloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) {
        x[i] = ours[i]->rating;
        y[i] = theirs[i]->rating;
    }
    average_ranks(x, n, rx);
    average_ranks(y, n, ry);
    out->spearman = pearson(rx, ry, n);

    /* tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)) */
    double conc = 0, n1 = 0, n2 = 0, n0 = (double)n * (double)(n - 1) / 2;
    size_t sep = 0, ref_sep = 0;
    double agree = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            int a = sgn(x[i] - x[j]), b = sgn(y[i] - y[j]);
            if (a == 0) {
                n1++;
            }
            if (b == 0) {
                n2++;
            }
            conc += (double)(a * b);
            /* CI separation: +1 when i is above j, -1 when below, 0 when they overlap */
            int os = ours[i]->ci_low > ours[j]->ci_high   ? 1
                     : ours[j]->ci_low > ours[i]->ci_high ? -1
                                                          : 0;
            if (os != 0) {
                sep++;
            }
            const struct rater_ref_row *ti = theirs[i], *tj = theirs[j];
            if (!isnan(ti->ci_low) && !isnan(ti->ci_high) && !isnan(tj->ci_low) &&
                !isnan(tj->ci_high)) {
                int rs = ti->ci_low > tj->ci_high ? 1 : tj->ci_low > ti->ci_high ? -1 : 0;
                if (rs != 0) {
                    ref_sep++;
                    agree += (double)(os * rs);
                }
            }
        }
    }
    double den = sqrt((n0 - n1) * (n0 - n2));
    out->kendall_tau_b = den > 0 ? conc / den : NAN;
    out->pairs = (size_t)n0;
    out->separability = (double)sep / n0;
    out->ref_separated = ref_sep;
    out->agreement_ci = ref_sep ? agree / (double)ref_sep : NAN;
    free(x);
    free(y);
    free(rx);
    free(ry);
    free(ours);
    free(theirs);
    return ARENA_ERR_OK;
}
