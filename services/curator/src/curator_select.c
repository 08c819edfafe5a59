/* curator_select.c - training examples from one prompt's battles (rules in curator_select.h). */
#include "curator_select.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"

#define GAP_EPS 1e-9

const char *curator_example_kind_name(enum curator_example_kind kind)
{
    switch (kind) {
    case CURATOR_EXAMPLE_SFT:
        return "sft";
    case CURATOR_EXAMPLE_DPO:
        return "dpo";
    case CURATOR_EXAMPLE_RM:
        return "rm";
    }
    return "?";
}

void curator_examples_init(struct curator_examples *ex)
{
    ex->v = NULL;
    ex->n = 0;
    ex->cap = 0;
}

static void example_fini(struct curator_example *e)
{
    free(e->prompt_id);
    for (size_t i = 0; i < e->n_prompt; i++) {
        free(e->prompt[i].role);
        free(e->prompt[i].content);
    }
    free(e->prompt);
    free(e->chosen_model);
    free(e->chosen_content);
    free(e->rejected_model);
    free(e->rejected_content);
    for (size_t i = 0; i < e->n_battle_ids; i++) {
        free(e->battle_ids[i]);
    }
    free(e->battle_ids);
}

void curator_examples_fini(struct curator_examples *ex)
{
    if (!ex) {
        return;
    }
    for (size_t i = 0; i < ex->n; i++) {
        example_fini(&ex->v[i]);
    }
    free(ex->v);
    curator_examples_init(ex);
}

static const char *str(const char *s)
{
    return s ? s : "";
}

static bool usable(const Arena__V1__BattleResult *b)
{
    return b && (b->outcome == ARENA__V1__OUTCOME__OUTCOME_MODEL_A ||
                 b->outcome == ARENA__V1__OUTCOME__OUTCOME_MODEL_B ||
                 b->outcome == ARENA__V1__OUTCOME__OUTCOME_TIE);
}

static const char *answer(const Arena__V1__Response *r)
{
    return r ? str(r->content) : "";
}

/* side 0 = model_a, 1 = model_b */
struct side {
    const char *model;
    const char *content;
    double score;
};

static struct side side_of(const Arena__V1__BattleResult *b, int s)
{
    struct side r;
    if (s == 0) {
        r.model = str(b->model_a);
        r.content = answer(b->response_a);
        r.score = b->score_a;
    } else {
        r.model = str(b->model_b);
        r.content = answer(b->response_b);
        r.score = b->score_b;
    }
    return r;
}

/* 0 / 1 when model plays side a / b in b, -1 otherwise */
static int side_index(const Arena__V1__BattleResult *b, const char *model)
{
    if (strcmp(str(b->model_a), model) == 0) {
        return 0;
    }
    if (strcmp(str(b->model_b), model) == 0) {
        return 1;
    }
    return -1;
}

static struct curator_example *push(struct curator_examples *out, enum curator_example_kind kind,
                                    const Arena__V1__BattleResult *b, struct side chosen,
                                    struct side rejected)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 8;
        out->v = arena_xrealloc(out->v, out->cap * sizeof(*out->v));
    }
    struct curator_example *e = &out->v[out->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->prompt_id = arena_xstrdup(str(b->prompt_id));
    e->round = b->round;
    e->n_prompt = b->n_messages;
    e->prompt = arena_xcalloc(b->n_messages ? b->n_messages : 1, sizeof(*e->prompt));
    for (size_t i = 0; i < b->n_messages; i++) {
        const Arena__V1__ChatMessage *m = b->messages[i];
        e->prompt[i].role = arena_xstrdup(m ? str(m->role) : "");
        e->prompt[i].content = arena_xstrdup(m ? str(m->content) : "");
    }
    e->chosen_model = arena_xstrdup(chosen.model);
    e->chosen_content = arena_xstrdup(chosen.content);
    e->chosen_score = chosen.score;
    e->rejected_model = arena_xstrdup(rejected.model);
    e->rejected_content = arena_xstrdup(rejected.content);
    e->rejected_score = rejected.score;
    e->gap = chosen.score - rejected.score;
    e->n_battle_ids = 1;
    e->battle_ids = arena_xmalloc(sizeof(char *));
    e->battle_ids[0] = arena_xstrdup(str(b->battle_id));
    return e;
}

static void select_sft(const Arena__V1__BattleResult *const *battles, size_t n, const char *target,
                       double min_gap, struct curator_examples *out)
{
    const Arena__V1__BattleResult *best = NULL;
    struct side best_w = {0}, best_t = {0};
    for (size_t i = 0; i < n; i++) {
        const Arena__V1__BattleResult *b = battles[i];
        if (!usable(b)) {
            continue;
        }
        int ts = side_index(b, target);
        if (ts < 0 || strcmp(str(b->model_a), str(b->model_b)) == 0) {
            continue;
        }
        Arena__V1__Outcome lost =
            ts == 0 ? ARENA__V1__OUTCOME__OUTCOME_MODEL_B : ARENA__V1__OUTCOME__OUTCOME_MODEL_A;
        if (b->outcome != lost) {
            continue;
        }
        struct side w = side_of(b, 1 - ts), t = side_of(b, ts);
        double gap = w.score - t.score;
        if (gap < min_gap - GAP_EPS) {
            continue;
        }
        bool better = false;
        if (!best || w.score > best_w.score) {
            better = true;
        } else if (w.score == best_w.score) {
            double best_gap = best_w.score - best_t.score;
            int c = strcmp(w.model, best_w.model);
            if (gap > best_gap) {
                better = true;
            } else if (gap == best_gap &&
                       (c < 0 || (c == 0 && strcmp(str(b->battle_id), str(best->battle_id)) < 0))) {
                better = true;
            }
        }
        if (better) {
            best = b;
            best_w = w;
            best_t = t;
        }
    }
    if (best) {
        push(out, CURATOR_EXAMPLE_SFT, best, best_w, best_t);
    }
}

struct model_mean {
    const char *model;
    double sum;
    size_t count;
};

static double mean_of(const struct model_mean *m)
{
    return m->sum / (double)m->count;
}

static void select_dpo(const Arena__V1__BattleResult *const *battles, size_t n, const char *target,
                       double min_gap, struct curator_examples *out)
{
    struct model_mean *mm = arena_xcalloc(2 * n + 1, sizeof(*mm));
    size_t nm = 0;
    for (size_t i = 0; i < n; i++) {
        const Arena__V1__BattleResult *b = battles[i];
        if (!usable(b)) {
            continue;
        }
        for (int s = 0; s < 2; s++) {
            struct side sd = side_of(b, s);
            size_t k;
            for (k = 0; k < nm && strcmp(mm[k].model, sd.model) != 0; k++) {
            }
            if (k == nm) {
                mm[nm++].model = sd.model;
            }
            mm[k].sum += sd.score;
            mm[k].count++;
        }
    }
    if (nm < 2) {
        free(mm);
        return;
    }
    size_t ci = 0;
    for (size_t k = 1; k < nm; k++) {
        double d = mean_of(&mm[k]) - mean_of(&mm[ci]);
        if (d > 0 || (d == 0 && strcmp(mm[k].model, mm[ci].model) < 0)) {
            ci = k;
        }
    }
    size_t ri = nm;
    for (size_t k = 0; k < nm; k++) {
        if (k != ci && target && strcmp(mm[k].model, target) == 0) {
            ri = k;
        }
    }
    if (ri == nm) {
        for (size_t k = 0; k < nm; k++) {
            if (k == ci) {
                continue;
            }
            if (ri == nm) {
                ri = k;
                continue;
            }
            double d = mean_of(&mm[k]) - mean_of(&mm[ri]);
            if (d < 0 || (d == 0 && strcmp(mm[k].model, mm[ri].model) < 0)) {
                ri = k;
            }
        }
    }
    const char *chosen = mm[ci].model, *rejected = mm[ri].model;
    const Arena__V1__BattleResult *direct = NULL;
    for (size_t i = 0; i < n; i++) {
        const Arena__V1__BattleResult *b = battles[i];
        if (!usable(b)) {
            continue;
        }
        int cs = side_index(b, chosen), rs = side_index(b, rejected);
        if (cs < 0 || rs < 0 || cs == rs) {
            continue;
        }
        if (!direct || strcmp(str(b->battle_id), str(direct->battle_id)) < 0) {
            direct = b;
        }
    }
    if (direct) {
        int cs = side_index(direct, chosen);
        struct side c = side_of(direct, cs), r = side_of(direct, 1 - cs);
        if (c.score - r.score >= min_gap - GAP_EPS) {
            push(out, CURATOR_EXAMPLE_DPO, direct, c, r);
        }
    }
    free(mm);
}

static int cmp_battle_id(const void *x, const void *y)
{
    const Arena__V1__BattleResult *a = *(const Arena__V1__BattleResult *const *)x;
    const Arena__V1__BattleResult *b = *(const Arena__V1__BattleResult *const *)y;
    return strcmp(str(a->battle_id), str(b->battle_id));
}

static void select_rm(const Arena__V1__BattleResult *const *battles, size_t n,
                      struct curator_examples *out)
{
    const Arena__V1__BattleResult **sorted = arena_xcalloc(n ? n : 1, sizeof(*sorted));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const Arena__V1__BattleResult *b = battles[i];
        if (b && (b->outcome == ARENA__V1__OUTCOME__OUTCOME_MODEL_A ||
                  b->outcome == ARENA__V1__OUTCOME__OUTCOME_MODEL_B)) {
            sorted[m++] = b;
        }
    }
    qsort(sorted, m, sizeof(*sorted), cmp_battle_id);
    for (size_t i = 0; i < m; i++) {
        const Arena__V1__BattleResult *b = sorted[i];
        int ws = b->outcome == ARENA__V1__OUTCOME__OUTCOME_MODEL_A ? 0 : 1;
        push(out, CURATOR_EXAMPLE_RM, b, side_of(b, ws), side_of(b, 1 - ws));
    }
    free(sorted);
}

void curator_select(const Arena__V1__BattleResult *const *battles, size_t n,
                    const struct curator_policy *pol, struct curator_examples *out)
{
    for (size_t i = 0; i < n; i++) {
        if (battles[i] && battles[i]->eval) {
            return;
        }
    }
    const char *target = pol->target && *pol->target ? pol->target : NULL;
    for (size_t i = 0; i < n && !target; i++) {
        if (battles[i] && battles[i]->target_model && *battles[i]->target_model) {
            target = battles[i]->target_model;
        }
    }
    if (target && pol->sft_min_gap >= 0) {
        select_sft(battles, n, target, pol->sft_min_gap, out);
    }
    if (pol->dpo_min_gap >= 0) {
        select_dpo(battles, n, target, pol->dpo_min_gap, out);
    }
    if (pol->reward_pairs) {
        select_rm(battles, n, out);
    }
}

double curator_gap_for_round(const double *gaps, size_t n, double fallback, uint32_t round)
{
    if (n == 0 || !gaps) {
        return fallback;
    }
    size_t i = round == 0 ? 0 : (size_t)round - 1;
    return gaps[i < n ? i : n - 1];
}

arena_err_t curator_gaps_parse(const char *const *v, size_t n, const char *key, double **out,
                               char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (n == 0) {
        return ARENA_ERR_OK;
    }
    double *g = arena_xcalloc(n, sizeof(*g));
    for (size_t i = 0; i < n; i++) {
        char *end = NULL;
        g[i] = v[i] ? strtod(v[i], &end) : NAN;
        if (!v[i] || end == v[i] || *end || !isfinite(g[i]) || !(g[i] >= 0)) {
            free(g);
            return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                                 "%s: item %zu: expected a number >= 0, got '%s'", key, i + 1,
                                 v[i] ? v[i] : "(null)");
        }
    }
    *out = g;
    return ARENA_ERR_OK;
}
