/* sampler_adaptive.c - adaptive pair selection (see sampler_adaptive.h). */
#include "sampler_adaptive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/util.h"

void sampler_adaptive_opts_default(struct sampler_adaptive_opts *o)
{
    o->pairs = 0;
    o->min_games = 20;
    o->floor = 0.02;
    o->seed = 0x61646170u; /* "adap" */
}

void sampler_ratings_init(struct sampler_ratings *r)
{
    memset(r, 0, sizeof(*r));
}

void sampler_ratings_fini(struct sampler_ratings *r)
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

static bool get_number(json_t *row, const char *key, double *out)
{
    json_t *v = json_object_get(row, key);
    if (!json_is_number(v)) {
        return false;
    }
    *out = json_number_value(v);
    return isfinite(*out);
}

arena_err_t sampler_ratings_parse(const char *json, size_t len, struct sampler_ratings *out,
                                  char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    arena_err_t err = ARENA_ERR_OK;
    sampler_ratings_init(out);
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                             "ratings feed: invalid JSON at line %d column %d: %s", jerr.line,
                             jerr.column, jerr.text);
    }
    json_t *models = json_object_get(root, "models");
    if (!json_is_object(root) || !json_is_array(models)) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                            "ratings feed: expected an object with a \"models\" array");
        goto out;
    }
    json_t *battles = json_object_get(root, "battles");
    if (battles && !(json_is_integer(battles) && json_integer_value(battles) >= 0)) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                            "ratings feed: battles: expected an integer >= 0");
        goto out;
    }
    out->battles = battles ? (uint64_t)json_integer_value(battles) : 0;
    json_t *upd = json_object_get(root, "updated_at_ms");
    out->updated_at_ms = json_is_integer(upd) ? (int64_t)json_integer_value(upd) : 0;
    size_t n = json_array_size(models);
    out->rows = arena_xcalloc(n + 1, sizeof(*out->rows));
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(models, i);
        const char *name = json_string_value(json_object_get(row, "model"));
        struct sampler_rating *r = &out->rows[out->n];
        if (!json_is_object(row) || !name || !*name) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                "ratings feed: models[%zu].model: expected a non-empty string", i);
            goto out;
        }
        static const char *const keys[] = {"rating", "ci_low", "ci_high"};
        double *dst[] = {&r->rating, &r->ci_low, &r->ci_high};
        for (size_t k = 0; k < 3; k++) {
            if (!get_number(row, keys[k], dst[k])) {
                err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                    "ratings feed: models[%zu].%s: expected a finite number", i,
                                    keys[k]);
                goto out;
            }
        }
        if (r->ci_low > r->ci_high) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                "ratings feed: models[%zu]: ci_low %g > ci_high %g", i, r->ci_low,
                                r->ci_high);
            goto out;
        }
        json_t *games = json_object_get(row, "games");
        if (!json_is_integer(games) || json_integer_value(games) < 0) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                "ratings feed: models[%zu].games: expected an integer >= 0", i);
            goto out;
        }
        r->games = (uint64_t)json_integer_value(games);
        r->model = arena_xstrdup(name);
        out->n++;
    }
out:
    json_decref(root);
    if (err != ARENA_ERR_OK) {
        sampler_ratings_fini(out);
    }
    return err;
}

const struct sampler_rating *sampler_ratings_find(const struct sampler_ratings *r,
                                                  const char *model)
{
    for (size_t i = 0; r && i < r->n; i++) {
        if (!strcmp(r->rows[i].model, model)) {
            return &r->rows[i];
        }
    }
    return NULL;
}

double sampler_adaptive_overlap(double lo_a, double hi_a, double lo_b, double hi_b)
{
    double inter = fmin(hi_a, hi_b) - fmax(lo_a, lo_b);
    double uni = fmax(hi_a, hi_b) - fmin(lo_a, lo_b);
    if (!(uni > 0)) {
        return inter >= 0 ? 1.0 : 0.0; /* both degenerate: identical points overlap fully */
    }
    if (inter <= 0) {
        return 0.0;
    }
    return inter / uni;
}

double sampler_adaptive_weight(const struct sampler_ratings *snap, const char *a, const char *b,
                               const struct sampler_adaptive_opts *o)
{
    const struct sampler_rating *ra = sampler_ratings_find(snap, a);
    const struct sampler_rating *rb = sampler_ratings_find(snap, b);
    if (!ra || !rb || ra->games < o->min_games || rb->games < o->min_games) {
        return -1.0;
    }
    double w = sampler_adaptive_overlap(ra->ci_low, ra->ci_high, rb->ci_low, rb->ci_high);
    double fl = o->floor > 0 ? o->floor : 1e-6;
    return w > fl ? w : fl;
}

size_t sampler_adaptive_count(const struct sampler_adaptive_opts *o, size_t n_models,
                              size_t n_cands)
{
    size_t k = o->pairs > 0 ? o->pairs : (n_models > 1 ? n_models - 1 : 1);
    return k < n_cands ? k : n_cands;
}

struct cand {
    size_t idx;
    bool unrated;
    double key; /* log(u) / w: larger wins (u^(1/w) order) */
};

static int cand_cmp(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    if (a->unrated != b->unrated) {
        return a->unrated ? -1 : 1;
    }
    if (a->key != b->key) {
        return a->key > b->key ? -1 : 1;
    }
    return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

static int idx_cmp(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

/* A uniform draw in (0, 1) from (prompt_id, pair), independent of the pair's orientation. */
static double pair_uniform(const char *prompt_id, const char *a, const char *b, uint64_t seed)
{
    const char *lo = strcmp(a, b) <= 0 ? a : b, *hi = lo == a ? b : a;
    uint64_t h = arena_hash64(prompt_id, strlen(prompt_id), seed);
    h = arena_hash64(lo, strlen(lo), h ^ 0x9e3779b97f4a7c15ull);
    h = arena_hash64(hi, strlen(hi), arena_mix64(h));
    return ((double)(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

size_t sampler_adaptive_choose(const char *prompt_id, const struct sampler_pair *cands,
                               size_t n_cands, size_t n_models, const struct sampler_ratings *snap,
                               const struct sampler_adaptive_opts *o, struct sampler_pair *out,
                               size_t cap)
{
    size_t k = n_cands;
    if (snap && snap->n > 0) {
        k = sampler_adaptive_count(o, n_models, n_cands);
    }
    if (k > cap) {
        k = cap;
    }
    if (k == n_cands) {
        memcpy(out, cands, k * sizeof(*out));
        return k;
    }
    struct cand *c = arena_xcalloc(n_cands + 1, sizeof(*c));
    for (size_t i = 0; i < n_cands; i++) {
        double w = sampler_adaptive_weight(snap, cands[i].a, cands[i].b, o);
        double u = pair_uniform(prompt_id, cands[i].a, cands[i].b, o->seed);
        c[i].idx = i;
        c[i].unrated = w < 0;
        c[i].key = w < 0 ? u : log(u) / w;
    }
    qsort(c, n_cands, sizeof(*c), cand_cmp);
    qsort(c, k, sizeof(*c), idx_cmp); /* the chosen, back in candidate order */
    for (size_t i = 0; i < k; i++) {
        out[i] = cands[c[i].idx];
    }
    free(c);
    return k;
}
