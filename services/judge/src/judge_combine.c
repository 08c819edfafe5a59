/* judge_combine.c - both position orders -> one outcome (rules in judge_combine.h). */
#include "judge_combine.h"

#include <math.h>
#include <string.h>

#include "arena/err.h"

double judge_first_position_mean(const struct judge_verdict *ab, const struct judge_verdict *ba)
{
    return (ab->score_first + ba->score_first) / 2.0;
}

double judge_second_position_mean(const struct judge_verdict *ab, const struct judge_verdict *ba)
{
    return (ab->score_second + ba->score_second) / 2.0;
}

void judge_combine(const struct judge_combine_opts *o, const struct judge_verdict *ab,
                   const struct judge_verdict *ba, struct judge_combined *out)
{
    memset(out, 0, sizeof(*out));
    out->score_a = (ab->score_first + ba->score_second) / 2.0;
    out->score_b = (ab->score_second + ba->score_first) / 2.0;
    out->first_position_mean = judge_first_position_mean(ab, ba);
    out->second_position_mean = judge_second_position_mean(ab, ba);

    /* per-model preference of each order: +1 model_a, -1 model_b, 0 none */
    int pref_ab = judge_verdict_pref(ab, o->tie_margin);
    int pref_ba = -judge_verdict_pref(ba, o->tie_margin);
    out->disagree = pref_ab != 0 && pref_ba != 0 && pref_ab != pref_ba;

    int winner = 0;
    if (o->policy == JUDGE_COMBINE_STRICT) {
        winner = pref_ab == pref_ba ? pref_ab : 0;
    } else {
        double d = out->score_a - out->score_b;
        winner = (d == 0 || fabs(d) < o->tie_margin) ? 0 : (d > 0 ? 1 : -1);
    }
    out->outcome = winner > 0   ? ARENA__V1__OUTCOME__OUTCOME_MODEL_A
                   : winner < 0 ? ARENA__V1__OUTCOME__OUTCOME_MODEL_B
                                : ARENA__V1__OUTCOME__OUTCOME_TIE;
    out->weight = 1.0;
    if (o->kind == JUDGE_KIND_FIVE_LABEL && winner != 0) {
        /* strong for model_a: "A>>B" in AB (model_a first) and "B>>A" in BA (model_a second) */
        const char *ab_strong = winner > 0 ? "A>>B" : "B>>A";
        const char *ba_strong = winner > 0 ? "B>>A" : "A>>B";
        if (strcmp(ab->label, ab_strong) == 0 && strcmp(ba->label, ba_strong) == 0) {
            out->weight = 3.0;
        }
    }
}

const char *judge_combine_policy_name(enum judge_combine_policy p)
{
    return p == JUDGE_COMBINE_STRICT ? "strict" : "average";
}

arena_err_t judge_combine_policy_parse(const char *name, enum judge_combine_policy *out)
{
    if (name && strcmp(name, "average") == 0) {
        *out = JUDGE_COMBINE_AVERAGE;
        return ARENA_ERR_OK;
    }
    if (name && strcmp(name, "strict") == 0) {
        *out = JUDGE_COMBINE_STRICT;
        return ARENA_ERR_OK;
    }
    return ARENA_ERR_INVALID;
}
