/* Unit tests: combining the two position orders (judge_combine.c). */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "judge_combine.h"

static struct judge_verdict sv(double first, double second)
{
    struct judge_verdict v;
    memset(&v, 0, sizeof(v));
    v.score_first = first;
    v.score_second = second;
    return v;
}

static struct judge_verdict lv(enum judge_kind kind, const char *label)
{
    struct judge_verdict v;
    char out[32];
    snprintf(out, sizeof(out), "[[%s]]", label);
    assert_int_equal(judge_parse(kind, out, &v), ARENA_ERR_OK);
    return v;
}

static void test_average(void **state)
{
    (void)state;
    struct judge_combine_opts o = {JUDGE_COMBINE_AVERAGE, 0.5, JUDGE_KIND_SCORES};
    struct judge_combined c;
    /* AB: a=8 b=6; BA (b first): b=7 a=7 -> a=7.5 b=6.5 */
    struct judge_verdict ab = sv(8, 6), ba = sv(7, 7);
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_A);
    ASSERT_NEAR(c.score_a, 7.5, 1e-12);
    ASSERT_NEAR(c.score_b, 6.5, 1e-12);
    ASSERT_NEAR(c.weight, 1, 0);
    assert_false(c.disagree);
    ASSERT_NEAR(c.first_position_mean, 7.5, 1e-12);
    ASSERT_NEAR(c.second_position_mean, 6.5, 1e-12);

    /* gap 0.25 < tie_margin 0.5 -> tie; with margin 0.25 exactly -> decisive */
    ab = sv(7, 6.5);
    ba = sv(7, 7);
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_TIE);
    o.tie_margin = 0.25;
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_A);
    /* equal scores are a tie even with margin 0 */
    o.tie_margin = 0;
    ab = sv(6, 6);
    ba = sv(6, 6);
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_TIE);

    /* position bias: both orders prefer the first position -> disagree, averaged winner b */
    o.tie_margin = 0.5;
    ab = sv(8, 6); /* a first: a preferred */
    ba = sv(9, 5); /* b first: b preferred */
    judge_combine(&o, &ab, &ba, &c);
    assert_true(c.disagree);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_B);
    ASSERT_NEAR(c.score_a, 6.5, 1e-12);
    ASSERT_NEAR(c.score_b, 7.5, 1e-12);
    ASSERT_NEAR(c.first_position_mean, 8.5, 1e-12);
    ASSERT_NEAR(c.second_position_mean, 5.5, 1e-12);
    ASSERT_NEAR(judge_first_position_mean(&ab, &ba), 8.5, 1e-12);
    ASSERT_NEAR(judge_second_position_mean(&ab, &ba), 5.5, 1e-12);
}

static void test_strict(void **state)
{
    (void)state;
    struct judge_combine_opts o = {JUDGE_COMBINE_STRICT, 0.5, JUDGE_KIND_SCORES};
    struct judge_combined c;
    struct judge_verdict ab = sv(8, 6), ba = sv(9, 5);
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_TIE); /* orders disagree */
    assert_true(c.disagree);
    ab = sv(8, 6);
    ba = sv(5, 9); /* b first, a (second) preferred: both orders prefer a */
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_A);
    assert_false(c.disagree);
    ab = sv(8, 6);
    ba = sv(6, 6); /* second order has no preference: strict -> tie, not a disagreement */
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_TIE);
    assert_false(c.disagree);
    /* average with the same verdicts gives model_a */
    o.policy = JUDGE_COMBINE_AVERAGE;
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_A);
}

static void test_five_label_weight(void **state)
{
    (void)state;
    struct judge_combine_opts o = {JUDGE_COMBINE_AVERAGE, 0.5, JUDGE_KIND_FIVE_LABEL};
    struct judge_combined c;
    /* model_a strongly better in both orders: AB A>>B, BA B>>A */
    struct judge_verdict ab = lv(JUDGE_KIND_FIVE_LABEL, "A>>B");
    struct judge_verdict ba = lv(JUDGE_KIND_FIVE_LABEL, "B>>A");
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_A);
    ASSERT_NEAR(c.weight, 3, 0);
    ASSERT_NEAR(c.score_a, 9, 1e-12);
    ASSERT_NEAR(c.score_b, 3, 1e-12);
    /* strong in one order only */
    ba = lv(JUDGE_KIND_FIVE_LABEL, "B>A");
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_A);
    ASSERT_NEAR(c.weight, 1, 0);
    ASSERT_NEAR(c.score_a, 8, 1e-12);
    ASSERT_NEAR(c.score_b, 3.5, 1e-12);
    /* strong for model_b in both orders */
    ab = lv(JUDGE_KIND_FIVE_LABEL, "B>>A");
    ba = lv(JUDGE_KIND_FIVE_LABEL, "A>>B");
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_B);
    ASSERT_NEAR(c.weight, 3, 0);
    /* strong for the first position in both orders = pure position bias: tie, weight 1 */
    ab = lv(JUDGE_KIND_FIVE_LABEL, "A>>B");
    ba = lv(JUDGE_KIND_FIVE_LABEL, "A>>B");
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_TIE);
    ASSERT_NEAR(c.weight, 1, 0);
    assert_true(c.disagree);
    /* strong weights only apply to five-label templates */
    o.kind = JUDGE_KIND_SCORES;
    ab = sv(9, 3);
    ba = sv(3, 9);
    strcpy(ab.label, "A>>B");
    strcpy(ba.label, "B>>A");
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_NEAR(c.weight, 1, 0);
}

static void test_three_label(void **state)
{
    (void)state;
    struct judge_combine_opts o = {JUDGE_COMBINE_AVERAGE, 0.5, JUDGE_KIND_THREE_LABEL};
    struct judge_combined c;
    struct judge_verdict ab = lv(JUDGE_KIND_THREE_LABEL, "A");
    struct judge_verdict ba = lv(JUDGE_KIND_THREE_LABEL, "C");
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_A);
    ASSERT_NEAR(c.score_a, 6.25, 1e-12);
    ASSERT_NEAR(c.score_b, 4.75, 1e-12);
    o.policy = JUDGE_COMBINE_STRICT;
    judge_combine(&o, &ab, &ba, &c);
    ASSERT_EQ_INT(c.outcome, ARENA__V1__OUTCOME__OUTCOME_TIE);
}

static void test_policy_names(void **state)
{
    (void)state;
    enum judge_combine_policy p = JUDGE_COMBINE_AVERAGE;
    ASSERT_EQ_INT(judge_combine_policy_parse("strict", &p), ARENA_ERR_OK);
    ASSERT_EQ_INT(p, JUDGE_COMBINE_STRICT);
    ASSERT_EQ_STR(judge_combine_policy_name(p), "strict");
    ASSERT_EQ_INT(judge_combine_policy_parse("average", &p), ARENA_ERR_OK);
    ASSERT_EQ_STR(judge_combine_policy_name(p), "average");
    ASSERT_EQ_INT(judge_combine_policy_parse("mean", &p), ARENA_ERR_INVALID);
    ASSERT_EQ_INT(judge_combine_policy_parse(NULL, &p), ARENA_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_average),           cmocka_unit_test(test_strict),
        cmocka_unit_test(test_five_label_weight), cmocka_unit_test(test_three_label),
        cmocka_unit_test(test_policy_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
