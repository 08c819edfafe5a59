/* sampler_evalset.c - diverse / hard / mix eval set selection (see sampler_evalset.h). */
#include "sampler_evalset.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"

static const char *const kind_names[] = {"diverse", "hard", "mix"};

const char *sampler_evalset_kind_name(enum sampler_evalset_kind k)
{
    return (unsigned)k < 3 ? kind_names[k] : "unknown";
}

arena_err_t sampler_evalset_kind_parse(const char *s, enum sampler_evalset_kind *out)
{
    for (int i = 0; i < 3; i++) {
        if (s != NULL && strcmp(s, kind_names[i]) == 0) {
            *out = (enum sampler_evalset_kind)i;
            return ARENA_ERR_OK;
        }
    }
    return ARENA_ERR_INVALID;
}

static uint64_t next_rand(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return arena_mix64(*s);
}

/* Members of each cluster in input order: order[] holds indices grouped by cluster id
 * (ascending), members of group c are order[start[c] .. start[c+1]). */
struct groups {
    size_t *order;
    size_t *start;
    size_t n_groups;
};

/* (cluster, index) pairs sort without a context pointer (qsort has none in C11) */
struct ck {
    int cluster;
    size_t idx;
};

static int cmp_ck(const void *a, const void *b)
{
    const struct ck *x = a, *y = b;
    if (x->cluster != y->cluster) {
        return x->cluster < y->cluster ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void groups_build(struct groups *g, const struct sampler_evalset_item *items, size_t n)
{
    struct ck *k = arena_xmalloc((n ? n : 1) * sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        k[i].cluster = items[i].cluster;
        k[i].idx = i;
    }
    qsort(k, n, sizeof(*k), cmp_ck);
    g->order = arena_xmalloc((n ? n : 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        g->order[i] = k[i].idx;
    }
    free(k);
    g->start = arena_xmalloc((n + 1) * sizeof(size_t));
    g->n_groups = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || items[g->order[i]].cluster != items[g->order[i - 1]].cluster) {
            g->start[g->n_groups++] = i;
        }
    }
    g->start[g->n_groups] = n;
}

static void groups_fini(struct groups *g)
{
    free(g->order);
    free(g->start);
}

/* Take m random members of each group (partial Fisher-Yates over a copy). */
static size_t sample_per_group(const struct groups *g, int m, uint64_t *rs, size_t *out)
{
    size_t n_out = 0;
    for (size_t c = 0; c < g->n_groups; c++) {
        size_t b = g->start[c], e = g->start[c + 1], sz = e - b;
        size_t take = (size_t)m < sz ? (size_t)m : sz;
        size_t *tmp = arena_xmalloc(sz * sizeof(size_t));
        memcpy(tmp, g->order + b, sz * sizeof(size_t));
        for (size_t i = 0; i < take; i++) {
            size_t j = i + (size_t)(next_rand(rs) % (sz - i));
            size_t t = tmp[i];
            tmp[i] = tmp[j];
            tmp[j] = t;
            out[n_out++] = tmp[i];
        }
        free(tmp);
    }
    return n_out;
}

struct scored {
    size_t idx;
    double score;
};

static int cmp_scored(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;
    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The hard candidates (ascending input order, for deterministic ties): hard_per_cluster random
 * members of each cluster, or every item. */
static size_t hard_candidates(size_t n, const struct sampler_evalset_opts *o,
                              const struct groups *g, uint64_t *rs, size_t *cand)
{
    if (o->hard_per_cluster <= 0) {
        for (size_t i = 0; i < n; i++) {
            cand[i] = i;
        }
        return n;
    }
    size_t nc = sample_per_group(g, o->hard_per_cluster, rs, cand);
    for (size_t i = 1; i < nc; i++) {
        size_t v = cand[i], j = i;
        while (j > 0 && cand[j - 1] > v) {
            cand[j] = cand[j - 1];
            j--;
        }
        cand[j] = v;
    }
    return nc;
}

static size_t select_hard(const struct sampler_evalset_item *items, const size_t *cand, size_t nc,
                          int hard_n, size_t *out)
{
    struct scored *sc = arena_xmalloc((nc ? nc : 1) * sizeof(*sc));
    size_t ns = 0;
    for (size_t i = 0; i < nc; i++) {
        const struct sampler_evalset_item *it = &items[cand[i]];
        if (!it->has_difficulty) {
            continue; /* unscorable: not a candidate */
        }
        sc[ns].idx = cand[i];
        sc[ns].score = it->difficulty;
        ns++;
    }
    qsort(sc, ns, sizeof(*sc), cmp_scored);
    size_t take = (size_t)hard_n < ns ? (size_t)hard_n : ns;
    for (size_t i = 0; i < take; i++) {
        out[i] = sc[i].idx;
    }
    free(sc);
    return take;
}

static arena_err_t check_opts(const struct sampler_evalset_opts *o, char *errstr,
                              size_t errstr_size)
{
    if (o == NULL) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "evalset: no options");
    }
    if ((o->kind == SAMPLER_EVALSET_DIVERSE || o->kind == SAMPLER_EVALSET_MIX) &&
        o->per_cluster < 1) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "evalset: per_cluster must be >= 1 for %s",
                             sampler_evalset_kind_name(o->kind));
    }
    if ((o->kind == SAMPLER_EVALSET_HARD || o->kind == SAMPLER_EVALSET_MIX) && o->hard_n < 1) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "evalset: hard_n must be >= 1 for %s",
                             sampler_evalset_kind_name(o->kind));
    }
    return ARENA_ERR_OK;
}

/* The random draws of a selection, in the order select() makes them: the diverse picks (not
 * hard) into div, then the hard candidates (not diverse) into cand. Both hold n entries. */
static void plan(const struct sampler_evalset_item *items, size_t n,
                 const struct sampler_evalset_opts *o, size_t *div, size_t *n_div, size_t *cand,
                 size_t *n_cand)
{
    struct groups g;
    groups_build(&g, items, n);
    uint64_t rs = o->seed ^ 0x6576616c736574ULL;
    *n_div = o->kind != SAMPLER_EVALSET_HARD ? sample_per_group(&g, o->per_cluster, &rs, div) : 0;
    *n_cand = o->kind != SAMPLER_EVALSET_DIVERSE ? hard_candidates(n, o, &g, &rs, cand) : 0;
    groups_fini(&g);
}

arena_err_t sampler_evalset_hard_candidates(const struct sampler_evalset_item *items, size_t n,
                                            const struct sampler_evalset_opts *o, size_t **out,
                                            size_t *out_n, char *errstr, size_t errstr_size)
{
    *out = NULL;
    *out_n = 0;
    arena_err_t err = check_opts(o, errstr, errstr_size);
    if (err != ARENA_ERR_OK) {
        return err;
    }
    size_t *div = arena_xmalloc((n + 1) * sizeof(size_t));
    size_t *cand = arena_xmalloc((n + 1) * sizeof(size_t));
    size_t nd, nc;
    plan(items, n, o, div, &nd, cand, &nc);
    free(div);
    *out = cand;
    *out_n = nc;
    return ARENA_ERR_OK;
}

arena_err_t sampler_evalset_select(const struct sampler_evalset_item *items, size_t n,
                                   const struct sampler_evalset_opts *o, size_t **out,
                                   size_t *out_n, char *errstr, size_t errstr_size)
{
    *out = NULL;
    *out_n = 0;
    arena_err_t err = check_opts(o, errstr, errstr_size);
    if (err != ARENA_ERR_OK) {
        return err;
    }
    size_t *sel = arena_xmalloc((2 * n + 1) * sizeof(size_t));
    size_t *cand = arena_xmalloc((n + 1) * sizeof(size_t));
    size_t ns, nc;
    plan(items, n, o, sel, &ns, cand, &nc);
    if (o->kind != SAMPLER_EVALSET_DIVERSE) {
        size_t *hard = arena_xmalloc((n + 1) * sizeof(size_t));
        size_t nh = select_hard(items, cand, nc, o->hard_n, hard);
        bool *taken = arena_xcalloc(n + 1, sizeof(bool));
        for (size_t i = 0; i < ns; i++) {
            taken[sel[i]] = true;
        }
        for (size_t i = 0; i < nh; i++) {
            if (!taken[hard[i]]) {
                taken[hard[i]] = true;
                sel[ns++] = hard[i];
            }
        }
        free(taken);
        free(hard);
    }
    free(cand);
    *out = sel;
    *out_n = ns;
    return ARENA_ERR_OK;
}

arena_err_t sampler_evalset_write_jsonl(FILE *f, const struct sampler_evalset_item *items,
                                        const size_t *sel, size_t n_sel, const char *eval_set,
                                        char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < n_sel; i++) {
        const struct sampler_evalset_item *it = &items[sel[i]];
        json_t *o = json_object();
        json_object_set_new(o, "prompt_id", json_string(it->prompt_id ? it->prompt_id : ""));
        if (it->text != NULL) {
            json_object_set_new(o, "prompt", json_string(it->text));
        }
        json_object_set_new(o, "cluster", json_integer(it->cluster));
        if (it->has_difficulty) {
            json_object_set_new(o, "difficulty", json_real(it->difficulty));
            if (it->difficulty_by != NULL) {
                json_object_set_new(o, "difficulty_model", json_string(it->difficulty_by));
            }
        }
        json_object_set_new(o, "eval_set", json_string(eval_set ? eval_set : ""));
        char *line = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (line == NULL || fprintf(f, "%s\n", line) < 0) {
            free(line);
            return arena_err_set(errstr, errstr_size, ARENA_ERR_IO,
                                 "evalset: cannot write item %zu", i);
        }
        free(line);
    }
    if (fflush(f) != 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "evalset: flush failed");
    }
    return ARENA_ERR_OK;
}
