/* judge_combine.h - combines the two position orders of one battle into an outcome.
 * Pure functions, thread-safe.
 *
 * ab = the order with model_a shown first; ba = the order with model_b shown first (so
 * ba->score_first is model_b's score). Per model: score_a = (ab.first + ba.second) / 2,
 * score_b = (ab.second + ba.first) / 2.
 * Policies:
 *   AVERAGE  tie when |score_a - score_b| < tie_margin (or equal), else the higher score wins.
 *   STRICT   the model both orders prefer wins; tie otherwise. An order prefers a side when its
 *            two scores differ by at least tie_margin (and are not equal).
 * Weight: 1, except five-label verdicts where both orders give a strong verdict ("A>>B"-type)
 * for the same model and that model wins: 3 (Arena-Hard counts a strong verdict 3 times).
 * disagree: the two orders prefer opposite models (both non-tie), the position-bias signal.
 * first/second_position_mean: mean score of the answer shown first / second over both orders
 * (a first_position_mean persistently above second_position_mean is position bias). */
#ifndef JUDGE_COMBINE_H
#define JUDGE_COMBINE_H

#include <stdbool.h>

#include "arena/err.h"
#include "arena/v1/battle.pb-c.h"
#include "judge_parse.h"
#include "judge_template.h"

enum judge_combine_policy {
    JUDGE_COMBINE_AVERAGE = 0,
    JUDGE_COMBINE_STRICT = 1,
};

struct judge_combine_opts {
    enum judge_combine_policy policy;
    double tie_margin; /* score units; e.g. 0.5 */
    enum judge_kind kind;
};

struct judge_combined {
    Arena__V1__Outcome outcome; /* MODEL_A | MODEL_B | TIE */
    double score_a;
    double score_b;
    double weight;
    bool disagree;
    double first_position_mean;
    double second_position_mean;
};

void judge_combine(const struct judge_combine_opts *o, const struct judge_verdict *ab,
                   const struct judge_verdict *ba, struct judge_combined *out);

/* (ab.score_first + ba.score_first) / 2 and (ab.score_second + ba.score_second) / 2 */
double judge_first_position_mean(const struct judge_verdict *ab, const struct judge_verdict *ba);
double judge_second_position_mean(const struct judge_verdict *ab, const struct judge_verdict *ba);

/* "average" | "strict" */
const char *judge_combine_policy_name(enum judge_combine_policy p);
/* ARENA_ERR_OK or ARENA_ERR_INVALID for an unknown name */
arena_err_t judge_combine_policy_parse(const char *name, enum judge_combine_policy *out);

#endif
