/* rater_engine.c - Bradley-Terry MLE (Newton on the aggregated pair matrix), online Elo,
 * multinomial bootstrap with pthreads. See rater_engine.h and services/rater/README.md. */
#include "rater_engine.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"
#include "rater_rng.h"

/* ------------------------------------------------------------------ interning */

struct rater_intern {
    char **names;
    uint32_t n, cap;
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t nslots;   /* power of two */
};

static uint64_t intern_hash(const char *s)
{
    return arena_hash64(s, strlen(s), 0x726174657273ULL);
}

static void intern_fini(struct rater_intern *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        free(t->names[i]);
    }
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static long intern_find(const struct rater_intern *t, const char *s)
{
    if (t->nslots == 0) {
        return -1;
    }
    size_t mask = t->nslots - 1;
    for (size_t h = intern_hash(s) & mask;; h = (h + 1) & mask) {
        uint32_t v = t->slots[h];
        if (v == 0) {
            return -1;
        }
        if (strcmp(t->names[v - 1], s) == 0) {
            return (long)(v - 1);
        }
    }
}

static void intern_rehash(struct rater_intern *t, size_t nslots)
{
    free(t->slots);
    t->slots = arena_xcalloc(nslots, sizeof(*t->slots));
    t->nslots = nslots;
    size_t mask = nslots - 1;
    for (uint32_t i = 0; i < t->n; i++) {
        size_t h = intern_hash(t->names[i]) & mask;
        while (t->slots[h] != 0) {
            h = (h + 1) & mask;
        }
        t->slots[h] = i + 1;
    }
}

static uint32_t intern_add(struct rater_intern *t, const char *s)
{
    long f = intern_find(t, s);
    if (f >= 0) {
        return (uint32_t)f;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->names = arena_xrealloc(t->names, sizeof(char *) * t->cap);
    }
    uint32_t idx = t->n++;
    t->names[idx] = arena_xstrdup(s);
    if ((size_t)t->n * 2 > t->nslots) {
        intern_rehash(t, t->nslots ? t->nslots * 2 : 32); /* inserts idx too */
        return idx;
    }
    size_t mask = t->nslots - 1;
    size_t h = intern_hash(s) & mask;
    while (t->slots[h] != 0) {
        h = (h + 1) & mask;
    }
    t->slots[h] = idx + 1;
    return idx;
}

/* ------------------------------------------------------------------ battle log */

/* One aggregation cell: battles between a < b (interned indices) with one outcome (from a's
 * side) and one weight. */
struct rater_cell {
    uint32_t a, b;
    uint32_t o;
    double w;
    uint64_t count;
};

#define LOG_SWAPPED 0x80000000u

struct rater_battles {
    struct rater_intern models;
    struct rater_cell *cells;
    size_t ncells, capcells;
    uint32_t *cslots; /* cell index + 1 */
    size_t ncslots;
    uint32_t *log; /* cell index | LOG_SWAPPED when recorded as (b, a) */
    size_t nlog, caplog;
    size_t rejected;
};

struct rater_battles *rater_battles_new(void)
{
    return arena_xcalloc(1, sizeof(struct rater_battles));
}

void rater_battles_destroy(struct rater_battles *b)
{
    if (!b) {
        return;
    }
    intern_fini(&b->models);
    free(b->cells);
    free(b->cslots);
    free(b->log);
    free(b);
}

static uint64_t cell_hash(uint32_t a, uint32_t bb, uint32_t o, double w)
{
    uint64_t wb;
    memcpy(&wb, &w, sizeof(wb));
    uint64_t h = arena_mix64(((uint64_t)a << 32) ^ bb);
    h = arena_mix64(h ^ ((uint64_t)o << 40) ^ 0x51ed27f1ULL);
    return arena_mix64(h ^ wb);
}

static void cells_rehash(struct rater_battles *b, size_t nslots)
{
    free(b->cslots);
    b->cslots = arena_xcalloc(nslots, sizeof(*b->cslots));
    b->ncslots = nslots;
    size_t mask = nslots - 1;
    for (size_t i = 0; i < b->ncells; i++) {
        const struct rater_cell *c = &b->cells[i];
        size_t h = cell_hash(c->a, c->b, c->o, c->w) & mask;
        while (b->cslots[h] != 0) {
            h = (h + 1) & mask;
        }
        b->cslots[h] = (uint32_t)i + 1;
    }
}

static uint32_t cell_get(struct rater_battles *b, uint32_t a, uint32_t bb, uint32_t o, double w)
{
    if ((b->ncells + 1) * 2 > b->ncslots) {
        cells_rehash(b, b->ncslots ? b->ncslots * 2 : 64);
    }
    size_t mask = b->ncslots - 1;
    size_t h = cell_hash(a, bb, o, w) & mask;
    for (;; h = (h + 1) & mask) {
        uint32_t v = b->cslots[h];
        if (v == 0) {
            break;
        }
        const struct rater_cell *c = &b->cells[v - 1];
        if (c->a == a && c->b == bb && c->o == o && c->w == w) {
            return v - 1;
        }
    }
    if (b->ncells == b->capcells) {
        b->capcells = b->capcells ? b->capcells * 2 : 64;
        b->cells = arena_xrealloc(b->cells, b->capcells * sizeof(*b->cells));
    }
    uint32_t idx = (uint32_t)b->ncells++;
    b->cells[idx] = (struct rater_cell){.a = a, .b = bb, .o = o, .w = w, .count = 0};
    b->cslots[h] = idx + 1;
    return idx;
}

void rater_battles_add(struct rater_battles *b, const char *model_a, const char *model_b,
                       enum rater_outcome o, double weight)
{
    if (!b) {
        return;
    }
    if (!model_a || !model_b || !*model_a || !*model_b || strcmp(model_a, model_b) == 0 ||
        (o != RATER_A_WINS && o != RATER_B_WINS && o != RATER_TIE) || !isfinite(weight) ||
        !(weight > 0) || b->ncells >= LOG_SWAPPED - 1) {
        b->rejected++;
        return;
    }
    uint32_t ia = intern_add(&b->models, model_a);
    uint32_t ib = intern_add(&b->models, model_b);
    uint32_t flag = 0;
    if (ia > ib) {
        uint32_t t = ia;
        ia = ib;
        ib = t;
        if (o == RATER_A_WINS) {
            o = RATER_B_WINS;
        } else if (o == RATER_B_WINS) {
            o = RATER_A_WINS;
        }
        flag = LOG_SWAPPED;
    }
    uint32_t ci = cell_get(b, ia, ib, (uint32_t)o, weight);
    b->cells[ci].count++;
    if (b->nlog == b->caplog) {
        b->caplog = b->caplog ? b->caplog * 2 : 1024;
        b->log = arena_xrealloc(b->log, b->caplog * sizeof(*b->log));
    }
    b->log[b->nlog++] = ci | flag;
}

size_t rater_battles_count(const struct rater_battles *b)
{
    return b ? b->nlog : 0;
}

size_t rater_battles_rejected(const struct rater_battles *b)
{
    return b ? b->rejected : 0;
}

size_t rater_battles_models(const struct rater_battles *b)
{
    return b ? b->models.n : 0;
}

const char *rater_battles_model_name(const struct rater_battles *b, size_t i)
{
    return (b && i < b->models.n) ? b->models.names[i] : NULL;
}

long rater_battles_model_index(const struct rater_battles *b, const char *model)
{
    return (b && model) ? intern_find(&b->models, model) : -1;
}

void rater_battles_pair_counts(const struct rater_battles *b, const char *model_a,
                               const char *model_b, uint64_t *a_wins, uint64_t *b_wins,
                               uint64_t *ties)
{
    *a_wins = *b_wins = *ties = 0;
    long ia = rater_battles_model_index(b, model_a), ib = rater_battles_model_index(b, model_b);
    if (ia < 0 || ib < 0 || ia == ib) {
        return;
    }
    bool swapped = ia > ib;
    uint32_t lo = (uint32_t)(swapped ? ib : ia), hi = (uint32_t)(swapped ? ia : ib);
    for (size_t i = 0; i < b->ncells; i++) {
        const struct rater_cell *c = &b->cells[i];
        if (c->a != lo || c->b != hi) {
            continue;
        }
        if (c->o == RATER_TIE) {
            *ties += c->count;
        } else if ((c->o == RATER_A_WINS) != swapped) {
            *a_wins += c->count;
        } else {
            *b_wins += c->count;
        }
    }
}

/* ------------------------------------------------------------------ options */

void rater_opts_default(struct rater_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->method = "bt";
    o->bootstrap = 100;
    o->seed = 42;
    o->threads = 2;
    o->anchor_model = NULL;
    o->anchor_rating = 0;
    o->elo_k = 4;
    o->elo_scale = 400;
    o->elo_base = 10;
    o->elo_init = 1000;
    o->rating_median = 0;
    o->l2 = 1e-6;
    o->tol_elo = 1e-6;
}

double rater_expected(double ra, double rb, double scale, double base)
{
    return 1.0 / (1.0 + pow(base, (rb - ra) / scale));
}

/* ------------------------------------------------------------------ Bradley-Terry */

/* The fit problem: pairs (i < j) with weighted win totals wij (i over j) and wji; a tie adds
 * half its weight to each side (FastChat duplicates the data with ties as one win each way). */
struct bt_problem {
    size_t p, np;
    const uint32_t *pi, *pj;
    double l2;
    double tol_nat;
    int max_iter;
};

struct bt_work {
    double *M; /* p*p */
    double *g, *d, *tn;
};

static void bt_work_init(struct bt_work *w, size_t p)
{
    w->M = arena_xmalloc(sizeof(double) * p * p);
    w->g = arena_xmalloc(sizeof(double) * p);
    w->d = arena_xmalloc(sizeof(double) * p);
    w->tn = arena_xmalloc(sizeof(double) * p);
}

static void bt_work_fini(struct bt_work *w)
{
    free(w->M);
    free(w->g);
    free(w->d);
    free(w->tn);
}

static double log_add_exp(double x, double y)
{
    double m = x > y ? x : y;
    return m + log1p(exp(-fabs(x - y)));
}

static double bt_objective(const struct bt_problem *pr, const double *wij, const double *wji,
                           const double *th)
{
    double f = 0;
    for (size_t k = 0; k < pr->np; k++) {
        double n = wij[k] + wji[k];
        if (n <= 0) {
            continue;
        }
        double ti = th[pr->pi[k]], tj = th[pr->pj[k]];
        f += wij[k] * ti + wji[k] * tj - n * log_add_exp(ti, tj);
    }
    double r = 0;
    for (size_t i = 0; i < pr->p; i++) {
        r += th[i] * th[i];
    }
    return f - 0.5 * pr->l2 * r;
}

/* In-place Cholesky of the symmetric positive definite M (lower), then solve M x = g into x.
 * Returns false when M is not positive definite. */
static bool chol_solve(double *M, size_t p, const double *g, double *x)
{
    for (size_t j = 0; j < p; j++) {
        double *rj = M + j * p;
        double s = rj[j];
        for (size_t k = 0; k < j; k++) {
            s -= rj[k] * rj[k];
        }
        if (!(s > 0)) {
            return false;
        }
        double l = sqrt(s);
        rj[j] = l;
        double inv = 1.0 / l;
        for (size_t i = j + 1; i < p; i++) {
            double *ri = M + i * p;
            double t = ri[j];
            for (size_t k = 0; k < j; k++) {
                t -= ri[k] * rj[k];
            }
            ri[j] = t * inv;
        }
    }
    for (size_t i = 0; i < p; i++) {
        const double *ri = M + i * p;
        double t = g[i];
        for (size_t k = 0; k < i; k++) {
            t -= ri[k] * x[k];
        }
        x[i] = t / ri[i];
    }
    for (size_t i = p; i-- > 0;) {
        double t = x[i];
        for (size_t k = i + 1; k < p; k++) {
            t -= M[k * p + i] * x[k];
        }
        x[i] = t / M[i * p + i];
    }
    return true;
}

/* Damped Newton ascent on the penalised log-likelihood from the warm start in th. The constant
 * direction (all strengths shifted together) is a gauge: a rank-one term c*11' is added to the
 * negated Hessian so the system stays well conditioned without changing the step (the
 * gradient is orthogonal to 1 up to the tiny ridge term). Returns the iteration count. */
static int bt_fit(const struct bt_problem *pr, const double *wij, const double *wji, double *th,
                  struct bt_work *w)
{
    size_t p = pr->p;
    if (p < 2) {
        if (p == 1) {
            th[0] = 0;
        }
        return 0;
    }
    double f = bt_objective(pr, wij, wji, th);
    int it;
    for (it = 1; it <= pr->max_iter; it++) {
        memset(w->M, 0, sizeof(double) * p * p);
        for (size_t i = 0; i < p; i++) {
            w->g[i] = -pr->l2 * th[i];
        }
        for (size_t k = 0; k < pr->np; k++) {
            double n = wij[k] + wji[k];
            if (n <= 0) {
                continue;
            }
            uint32_t i = pr->pi[k], j = pr->pj[k];
            double pij = 1.0 / (1.0 + exp(th[j] - th[i]));
            double r = wij[k] - n * pij;
            w->g[i] += r;
            w->g[j] -= r;
            double h = n * pij * (1.0 - pij);
            w->M[i * p + i] += h;
            w->M[j * p + j] += h;
            w->M[i * p + j] -= h;
            w->M[j * p + i] -= h;
        }
        double tr = 0;
        for (size_t i = 0; i < p; i++) {
            w->M[i * p + i] += pr->l2;
            tr += w->M[i * p + i];
        }
        double c = (tr / (double)p) / (double)p;
        if (!(c > 0)) {
            c = 1.0 / (double)p;
        }
        for (size_t i = 0; i < p * p; i++) {
            w->M[i] += c;
        }
        if (!chol_solve(w->M, p, w->g, w->d)) {
            /* l2 = 0 with a disconnected graph: regularise this step only */
            memset(w->M, 0, sizeof(double) * p * p);
            for (size_t i = 0; i < p; i++) {
                w->M[i * p + i] = 1.0;
            }
            memcpy(w->d, w->g, sizeof(double) * p);
        }
        double t = 1.0, fn = f;
        bool accepted = false;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t i = 0; i < p; i++) {
                w->tn[i] = th[i] + t * w->d[i];
            }
            fn = bt_objective(pr, wij, wji, w->tn);
            if (fn >= f - 1e-13 * (fabs(f) + 1.0)) {
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if (!accepted) {
            break; /* at the precision limit */
        }
        double maxd = 0;
        for (size_t i = 0; i < p; i++) {
            double dd = fabs(w->tn[i] - th[i]);
            if (dd > maxd) {
                maxd = dd;
            }
            th[i] = w->tn[i];
        }
        f = fn;
        if (maxd < pr->tol_nat) {
            break;
        }
    }
    return it > pr->max_iter ? pr->max_iter : it;
}

/* ------------------------------------------------------------------ compute */

struct compute_ctx {
    const struct rater_battles *b;
    const struct rater_opts *o;
    bool bt;
    size_t p;
    long anchor;
    /* BT */
    struct bt_problem pr;
    uint32_t *cell_pair; /* pair index of each cell */
    size_t *cell_order;  /* cells sorted by (a, b) */
    double *theta_full;
    /* bootstrap */
    int rounds;
    double *boot; /* rounds * p ratings, NaN = model absent from the resample */
    atomic_int next;
};

/* natural-log strengths -> ratings: centre (mean over present models) or anchor */
static void to_ratings(const struct compute_ctx *cx, const double *th, const bool *present,
                       double *out)
{
    const struct rater_opts *o = cx->o;
    double k = o->elo_scale / log(o->elo_base);
    double shift;
    if (cx->anchor >= 0) {
        shift = o->anchor_rating - k * th[cx->anchor];
    } else {
        double s = 0;
        size_t n = 0;
        for (size_t i = 0; i < cx->p; i++) {
            if (!present || present[i]) {
                s += th[i];
                n++;
            }
        }
        shift = o->elo_init - (n ? k * s / (double)n : 0);
    }
    for (size_t i = 0; i < cx->p; i++) {
        out[i] = (!present || present[i]) ? k * th[i] + shift : NAN;
    }
}

static void pair_totals(const struct compute_ctx *cx, const uint64_t *counts, double *wij,
                        double *wji, bool *present)
{
    const struct rater_battles *b = cx->b;
    memset(wij, 0, sizeof(double) * cx->pr.np);
    memset(wji, 0, sizeof(double) * cx->pr.np);
    if (present) {
        memset(present, 0, sizeof(bool) * cx->p);
    }
    for (size_t c = 0; c < b->ncells; c++) {
        uint64_t n = counts ? counts[c] : b->cells[c].count;
        if (n == 0) {
            continue;
        }
        const struct rater_cell *cell = &b->cells[c];
        double v = (double)n * cell->w;
        uint32_t k = cx->cell_pair[c];
        if (cell->o == RATER_A_WINS) {
            wij[k] += v;
        } else if (cell->o == RATER_B_WINS) {
            wji[k] += v;
        } else {
            wij[k] += 0.5 * v;
            wji[k] += 0.5 * v;
        }
        if (present) {
            present[cell->a] = present[cell->b] = true;
        }
    }
}

/* Online Elo over a sequence of log entries (FastChat compute_elo); the weight scales K. */
static void elo_run(const struct compute_ctx *cx, const uint32_t *entries, size_t n,
                    const size_t *idx, double *r)
{
    const struct rater_opts *o = cx->o;
    const struct rater_battles *b = cx->b;
    for (size_t i = 0; i < cx->p; i++) {
        r[i] = o->elo_init;
    }
    for (size_t t = 0; t < n; t++) {
        uint32_t e = entries[idx ? idx[t] : t];
        const struct rater_cell *c = &b->cells[e & ~LOG_SWAPPED];
        uint32_t ia = c->a, ib = c->b, oc = c->o;
        if (e & LOG_SWAPPED) {
            ia = c->b;
            ib = c->a;
            oc = oc == RATER_A_WINS ? RATER_B_WINS : oc == RATER_B_WINS ? RATER_A_WINS : oc;
        }
        double ra = r[ia], rb = r[ib];
        double ea = 1.0 / (1.0 + pow(o->elo_base, (rb - ra) / o->elo_scale));
        double eb = 1.0 / (1.0 + pow(o->elo_base, (ra - rb) / o->elo_scale));
        double sa = oc == RATER_A_WINS ? 1.0 : oc == RATER_B_WINS ? 0.0 : 0.5;
        double k = o->elo_k * c->w;
        r[ia] += k * (sa - ea);
        r[ib] += k * (1.0 - sa - eb);
    }
}

static void elo_shift(const struct compute_ctx *cx, double *r)
{
    if (cx->anchor >= 0) {
        double s = cx->o->anchor_rating - r[cx->anchor];
        for (size_t i = 0; i < cx->p; i++) {
            r[i] += s;
        }
    }
}

static uint64_t round_seed(uint64_t seed, int round)
{
    return arena_mix64(arena_mix64(seed ^ 0x626f6f7473747261ULL) + (uint64_t)round);
}

static void *boot_worker(void *arg)
{
    struct compute_ctx *cx = arg;
    const struct rater_battles *b = cx->b;
    size_t p = cx->p;
    struct bt_work w = {0};
    uint64_t *counts = NULL;
    double *wij = NULL, *wji = NULL, *th = NULL;
    bool *present = arena_xmalloc(sizeof(bool) * (p ? p : 1));
    size_t *idx = NULL;
    double *r = NULL;
    if (cx->bt) {
        bt_work_init(&w, p);
        counts = arena_xmalloc(sizeof(uint64_t) * (b->ncells ? b->ncells : 1));
        wij = arena_xmalloc(sizeof(double) * (cx->pr.np ? cx->pr.np : 1));
        wji = arena_xmalloc(sizeof(double) * (cx->pr.np ? cx->pr.np : 1));
        th = arena_xmalloc(sizeof(double) * p);
    } else {
        idx = arena_xmalloc(sizeof(size_t) * (b->nlog ? b->nlog : 1));
        r = arena_xmalloc(sizeof(double) * p);
    }
    for (;;) {
        int round = atomic_fetch_add(&cx->next, 1);
        if (round >= cx->rounds) {
            break;
        }
        struct rater_rng rng;
        rater_rng_seed(&rng, round_seed(cx->o->seed, round));
        double *out = cx->boot + (size_t)round * p;
        if (cx->bt) {
            /* resampling N battles with replacement == multinomial(N, count_c / N) over the
             * cells; drawn as sequential binomials in a fixed cell order */
            uint64_t left = b->nlog, mass = b->nlog;
            for (size_t c = 0; c < b->ncells; c++) {
                uint64_t cc = b->cells[c].count;
                uint64_t x;
                if (left == 0) {
                    x = 0;
                } else if (cc >= mass) {
                    x = left;
                } else {
                    x = rater_rng_binomial(&rng, left, (double)cc / (double)mass);
                }
                counts[c] = x;
                left -= x;
                mass -= cc;
            }
            pair_totals(cx, counts, wij, wji, present);
            memcpy(th, cx->theta_full, sizeof(double) * p);
            bt_fit(&cx->pr, wij, wji, th, &w);
            to_ratings(cx, th, present, out);
        } else {
            memset(present, 0, sizeof(bool) * p);
            for (size_t t = 0; t < b->nlog; t++) {
                idx[t] = (size_t)rater_rng_below(&rng, b->nlog);
                const struct rater_cell *c = &b->cells[b->log[idx[t]] & ~LOG_SWAPPED];
                present[c->a] = present[c->b] = true;
            }
            elo_run(cx, b->log, b->nlog, idx, r);
            elo_shift(cx, r);
            for (size_t i = 0; i < p; i++) {
                out[i] = present[i] ? r[i] : NAN;
            }
        }
    }
    if (cx->bt) {
        bt_work_fini(&w);
    }
    free(counts);
    free(wij);
    free(wji);
    free(th);
    free(present);
    free(idx);
    free(r);
    return NULL;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* numpy.percentile default ("linear") on a sorted array */
static double percentile_sorted(const double *v, size_t n, double q)
{
    if (n == 0) {
        return NAN;
    }
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n) {
        return v[n - 1];
    }
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

static int cmp_row(const void *x, const void *y)
{
    const struct rater_row *a = x, *b = y;
    if (a->rating != b->rating) {
        return a->rating > b->rating ? -1 : 1;
    }
    return strcmp(a->model, b->model);
}

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Build the pair list (sorted by (a, b)); cell_pair maps each cell to its pair. A two-pass
 * radix sort of the cell indices (by b, then stably by a). */
static void build_pairs(struct compute_ctx *cx, uint32_t **pi_out, uint32_t **pj_out)
{
    const struct rater_battles *b = cx->b;
    size_t n = b->ncells;
    size_t *ord = arena_xmalloc(sizeof(size_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        ord[i] = i;
    }
    size_t *tmp = arena_xmalloc(sizeof(size_t) * (n ? n : 1));
    size_t *cnt = arena_xcalloc(cx->p + 1, sizeof(size_t));
    for (int pass = 0; pass < 2; pass++) {
        memset(cnt, 0, sizeof(size_t) * (cx->p + 1));
        for (size_t i = 0; i < n; i++) {
            uint32_t key = pass == 0 ? b->cells[ord[i]].b : b->cells[ord[i]].a;
            cnt[key + 1]++;
        }
        for (size_t k = 0; k < cx->p; k++) {
            cnt[k + 1] += cnt[k];
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t key = pass == 0 ? b->cells[ord[i]].b : b->cells[ord[i]].a;
            tmp[cnt[key]++] = ord[i];
        }
        size_t *sw = ord;
        ord = tmp;
        tmp = sw;
    }
    free(tmp);
    free(cnt);
    uint32_t *pi = arena_xmalloc(sizeof(uint32_t) * (n ? n : 1));
    uint32_t *pj = arena_xmalloc(sizeof(uint32_t) * (n ? n : 1));
    size_t np = 0;
    for (size_t s = 0; s < n; s++) {
        const struct rater_cell *c = &b->cells[ord[s]];
        if (np == 0 || pi[np - 1] != c->a || pj[np - 1] != c->b) {
            pi[np] = c->a;
            pj[np] = c->b;
            np++;
        }
        cx->cell_pair[ord[s]] = (uint32_t)(np - 1);
    }
    cx->cell_order = ord;
    cx->pr.np = np;
    *pi_out = pi;
    *pj_out = pj;
}

/* ------------------------------------------------------------------ canonical order */

struct canon_cell {
    uint32_t a, b, o;
    double w;
    uint64_t count;
    size_t old;
    bool swapped;
};

struct canon_model {
    const char *name;
    uint32_t idx;
};

static int cmp_canon_model(const void *x, const void *y)
{
    return strcmp(((const struct canon_model *)x)->name, ((const struct canon_model *)y)->name);
}

static int cmp_canon_cell(const void *x, const void *y)
{
    const struct canon_cell *a = x, *b = y;
    if (a->a != b->a) {
        return a->a < b->a ? -1 : 1;
    }
    if (a->b != b->b) {
        return a->b < b->b ? -1 : 1;
    }
    if (a->o != b->o) {
        return a->o < b->o ? -1 : 1;
    }
    return (a->w > b->w) - (a->w < b->w);
}

/* A copy of b whose models are interned in name order and whose cells are in (a, b, outcome,
 * weight) order, so that rater_compute() (BT fit, bootstrap draws) depends only on the
 * multiset of battles, never on the order they arrived in (a replay after a crash, other
 * partition interleavings). The log keeps its order (online Elo is order-dependent). */
static struct rater_battles *canonical_copy(const struct rater_battles *b)
{
    size_t p = b->models.n;
    struct canon_model *ord = arena_xmalloc(sizeof(*ord) * (p ? p : 1));
    for (size_t i = 0; i < p; i++) {
        ord[i] = (struct canon_model){.name = b->models.names[i], .idx = (uint32_t)i};
    }
    qsort(ord, p, sizeof(*ord), cmp_canon_model);
    uint32_t *map = arena_xmalloc(sizeof(uint32_t) * (p ? p : 1));
    struct rater_battles *nb = rater_battles_new();
    for (size_t i = 0; i < p; i++) {
        map[ord[i].idx] = intern_add(&nb->models, ord[i].name);
    }
    size_t n = b->ncells;
    struct canon_cell *cc = arena_xmalloc(sizeof(*cc) * (n ? n : 1));
    for (size_t c = 0; c < n; c++) {
        const struct rater_cell *cell = &b->cells[c];
        uint32_t na = map[cell->a], nbb = map[cell->b], oc = cell->o;
        bool sw = na > nbb;
        if (sw) {
            uint32_t t = na;
            na = nbb;
            nbb = t;
            oc = oc == RATER_A_WINS ? RATER_B_WINS : oc == RATER_B_WINS ? RATER_A_WINS : oc;
        }
        cc[c] = (struct canon_cell){.a = na,
                                    .b = nbb,
                                    .o = oc,
                                    .w = cell->w,
                                    .count = cell->count,
                                    .old = c,
                                    .swapped = sw};
    }
    qsort(cc, n, sizeof(*cc), cmp_canon_cell);
    uint32_t *cmap = arena_xmalloc(sizeof(uint32_t) * (n ? n : 1));
    bool *cswap = arena_xmalloc(sizeof(bool) * (n ? n : 1));
    for (size_t k = 0; k < n; k++) {
        uint32_t ci = cell_get(nb, cc[k].a, cc[k].b, cc[k].o, cc[k].w);
        nb->cells[ci].count += cc[k].count;
        cmap[cc[k].old] = ci;
        cswap[cc[k].old] = cc[k].swapped;
    }
    nb->caplog = b->nlog ? b->nlog : 1;
    nb->log = arena_xmalloc(sizeof(uint32_t) * nb->caplog);
    for (size_t t = 0; t < b->nlog; t++) {
        uint32_t e = b->log[t];
        uint32_t old = e & ~LOG_SWAPPED;
        bool sw = ((e & LOG_SWAPPED) != 0) != cswap[old];
        nb->log[t] = cmap[old] | (sw ? LOG_SWAPPED : 0);
    }
    nb->nlog = b->nlog;
    nb->rejected = b->rejected;
    free(ord);
    free(map);
    free(cc);
    free(cmap);
    free(cswap);
    return nb;
}

static arena_err_t compute(const struct rater_battles *b, const struct rater_opts *o,
                           struct rater_table *out, char *errstr, size_t errstr_size);

arena_err_t rater_compute(const struct rater_battles *b, const struct rater_opts *o,
                          struct rater_table *out, char *errstr, size_t errstr_size)
{
    if (!b || !o || !out) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "rater_compute: NULL");
    }
    struct rater_battles *canon = canonical_copy(b);
    arena_err_t err = compute(canon, o, out, errstr, errstr_size);
    rater_battles_destroy(canon);
    return err;
}

static arena_err_t compute(const struct rater_battles *b, const struct rater_opts *o,
                           struct rater_table *out, char *errstr, size_t errstr_size)
{
    if (!b || !o || !out) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "rater_compute: NULL");
    }
    memset(out, 0, sizeof(*out));
    const char *method = o->method ? o->method : "bt";
    bool bt;
    if (strcmp(method, "bt") == 0) {
        bt = true;
    } else if (strcmp(method, "elo") == 0) {
        bt = false;
    } else {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "unknown rating method '%s' (expected bt or elo)", method);
    }
    if (o->bootstrap < 0 || o->bootstrap > 100000) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "bootstrap rounds %d out of range [0, 100000]", o->bootstrap);
    }
    if (o->threads < 0 || o->threads > 1024) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "threads %d out of range [0, 1024]", o->threads);
    }
    if (!(o->elo_scale > 0) || !isfinite(o->elo_scale) || !(o->elo_base > 1) ||
        !isfinite(o->elo_base) || !isfinite(o->elo_init) || !(o->elo_k >= 0) ||
        !isfinite(o->elo_k)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "bad Elo parameters (need scale > 0, base > 1, K >= 0, finite)");
    }
    if (bt && (!(o->l2 >= 0) || !isfinite(o->l2) || !(o->tol_elo > 0))) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "bad BT parameters (need l2 >= 0 and tol_elo > 0)");
    }
    long anchor = -1;
    if (o->anchor_model && *o->anchor_model) {
        if (!isfinite(o->anchor_rating)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                                 "anchor rating is not finite");
        }
        anchor = intern_find(&b->models, o->anchor_model);
        if (anchor < 0 && b->models.n > 0) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                                 "anchor model '%s' has no battles", o->anchor_model);
        }
    }
    size_t p = b->models.n;
    out->battles = b->nlog;
    if (p == 0) {
        return ARENA_ERR_OK;
    }

    struct compute_ctx cx;
    memset(&cx, 0, sizeof(cx));
    cx.b = b;
    cx.o = o;
    cx.bt = bt;
    cx.p = p;
    cx.anchor = anchor;
    double *full = arena_xmalloc(sizeof(double) * p);
    uint32_t *pi = NULL, *pj = NULL;

    /* per-model weight-free counts and connected components */
    out->rows = arena_xcalloc(p, sizeof(struct rater_row));
    out->n = p;
    uint32_t *parent = arena_xmalloc(sizeof(uint32_t) * p);
    for (size_t i = 0; i < p; i++) {
        parent[i] = (uint32_t)i;
        out->rows[i].model = arena_xstrdup(b->models.names[i]);
    }
    for (size_t c = 0; c < b->ncells; c++) {
        const struct rater_cell *cell = &b->cells[c];
        struct rater_row *ra = &out->rows[cell->a], *rb = &out->rows[cell->b];
        ra->games += cell->count;
        rb->games += cell->count;
        if (cell->o == RATER_A_WINS) {
            ra->wins += cell->count;
            rb->losses += cell->count;
        } else if (cell->o == RATER_B_WINS) {
            rb->wins += cell->count;
            ra->losses += cell->count;
        } else {
            ra->ties += cell->count;
            rb->ties += cell->count;
        }
        uint32_t x = uf_find(parent, cell->a), y = uf_find(parent, cell->b);
        if (x != y) {
            parent[x] = y;
        }
    }
    for (size_t i = 0; i < p; i++) {
        if (uf_find(parent, (uint32_t)i) == i) {
            out->components++;
        }
    }
    free(parent);

    if (bt) {
        cx.cell_pair = arena_xmalloc(sizeof(uint32_t) * (b->ncells ? b->ncells : 1));
        build_pairs(&cx, &pi, &pj);
        cx.pr.p = p;
        cx.pr.pi = pi;
        cx.pr.pj = pj;
        cx.pr.l2 = o->l2;
        cx.pr.tol_nat = o->tol_elo * log(o->elo_base) / o->elo_scale;
        cx.pr.max_iter = 500;
        double *wij = arena_xmalloc(sizeof(double) * (cx.pr.np ? cx.pr.np : 1));
        double *wji = arena_xmalloc(sizeof(double) * (cx.pr.np ? cx.pr.np : 1));
        cx.theta_full = arena_xcalloc(p, sizeof(double));
        struct bt_work w;
        bt_work_init(&w, p);
        pair_totals(&cx, NULL, wij, wji, NULL);
        out->iterations = (uint32_t)bt_fit(&cx.pr, wij, wji, cx.theta_full, &w);
        bt_work_fini(&w);
        free(wij);
        free(wji);
        /* centre the warm start so that bootstrap fits begin from the same gauge */
        double s = 0;
        for (size_t i = 0; i < p; i++) {
            s += cx.theta_full[i];
        }
        for (size_t i = 0; i < p; i++) {
            cx.theta_full[i] -= s / (double)p;
        }
        to_ratings(&cx, cx.theta_full, NULL, full);
    } else {
        elo_run(&cx, b->log, b->nlog, NULL, full);
        elo_shift(&cx, full);
    }

    if (o->bootstrap > 0) {
        cx.rounds = o->bootstrap;
        cx.boot = arena_xmalloc(sizeof(double) * (size_t)cx.rounds * p);
        atomic_init(&cx.next, 0);
        int nt = o->threads < 1 ? 1 : o->threads;
        if (nt > cx.rounds) {
            nt = cx.rounds;
        }
        pthread_t *tids = arena_xcalloc((size_t)nt, sizeof(pthread_t));
        int started = 0;
        for (int t = 1; t < nt; t++) {
            if (pthread_create(&tids[t], NULL, boot_worker, &cx) == 0) {
                started = t;
            } else {
                break;
            }
        }
        boot_worker(&cx);
        for (int t = 1; t <= started; t++) {
            pthread_join(tids[t], NULL);
        }
        free(tids);
        double *col = arena_xmalloc(sizeof(double) * (size_t)cx.rounds);
        for (size_t i = 0; i < p; i++) {
            size_t n = 0;
            for (int r = 0; r < cx.rounds; r++) {
                double v = cx.boot[(size_t)r * p + i];
                if (!isnan(v)) {
                    col[n++] = v;
                }
            }
            qsort(col, n, sizeof(double), cmp_double);
            struct rater_row *row = &out->rows[i];
            row->rating = (o->rating_median && n) ? percentile_sorted(col, n, 0.5) : full[i];
            row->ci_low = n ? percentile_sorted(col, n, 0.025) : row->rating;
            row->ci_high = n ? percentile_sorted(col, n, 0.975) : row->rating;
        }
        free(col);
        free(cx.boot);
    } else {
        for (size_t i = 0; i < p; i++) {
            out->rows[i].rating = out->rows[i].ci_low = out->rows[i].ci_high = full[i];
        }
    }
    for (size_t i = 0; i < p; i++) {
        uint32_t rank = 1;
        for (size_t j = 0; j < p; j++) {
            if (j != i && out->rows[j].ci_low > out->rows[i].ci_high) {
                rank++;
            }
        }
        out->rows[i].rank = rank;
    }
    qsort(out->rows, p, sizeof(struct rater_row), cmp_row);
    free(full);
    free(pi);
    free(pj);
    free(cx.cell_pair);
    free(cx.cell_order);
    free(cx.theta_full);
    return ARENA_ERR_OK;
}

void rater_table_fini(struct rater_table *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].model);
    }
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

const struct rater_row *rater_table_find(const struct rater_table *t, const char *model)
{
    if (!t || !model) {
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->rows[i].model, model) == 0) {
            return &t->rows[i];
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ online Elo */

struct rater_elo {
    double k, scale, base, init;
    struct rater_intern models;
    double *r;
    size_t cap;
};

struct rater_elo *rater_elo_new(double k, double scale, double base, double init)
{
    struct rater_elo *e = arena_xcalloc(1, sizeof(*e));
    e->k = k;
    e->scale = scale > 0 ? scale : 400;
    e->base = base > 1 ? base : 10;
    e->init = init;
    return e;
}

static uint32_t elo_model(struct rater_elo *e, const char *m)
{
    uint32_t i = intern_add(&e->models, m);
    if (i >= e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 16;
        while (nc <= i) {
            nc *= 2;
        }
        e->r = arena_xrealloc(e->r, nc * sizeof(double));
        e->cap = nc;
    }
    return i;
}

void rater_elo_update(struct rater_elo *e, const char *a, const char *b, enum rater_outcome o)
{
    if (!e || !a || !b || !*a || !*b || strcmp(a, b) == 0 ||
        (o != RATER_A_WINS && o != RATER_B_WINS && o != RATER_TIE)) {
        return;
    }
    uint32_t before = e->models.n;
    uint32_t ia = elo_model(e, a);
    uint32_t ib = elo_model(e, b);
    for (uint32_t i = before; i < e->models.n; i++) {
        e->r[i] = e->init;
    }
    double ra = e->r[ia], rb = e->r[ib];
    double ea = 1.0 / (1.0 + pow(e->base, (rb - ra) / e->scale));
    double eb = 1.0 / (1.0 + pow(e->base, (ra - rb) / e->scale));
    double sa = o == RATER_A_WINS ? 1.0 : o == RATER_B_WINS ? 0.0 : 0.5;
    e->r[ia] += e->k * (sa - ea);
    e->r[ib] += e->k * (1.0 - sa - eb);
}

double rater_elo_rating(const struct rater_elo *e, const char *model)
{
    if (!e || !model) {
        return NAN;
    }
    long i = intern_find(&e->models, model);
    return i < 0 ? e->init : e->r[i];
}

size_t rater_elo_models(const struct rater_elo *e)
{
    return e ? e->models.n : 0;
}

const char *rater_elo_model_name(const struct rater_elo *e, size_t i)
{
    return (e && i < e->models.n) ? e->models.names[i] : NULL;
}

void rater_elo_destroy(struct rater_elo *e)
{
    if (!e) {
        return;
    }
    intern_fini(&e->models);
    free(e->r);
    free(e);
}
