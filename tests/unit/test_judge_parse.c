/* Unit tests: judge output parsing (judge_parse.c) on realistic and adversarial outputs. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "judge_parse.h"

static void expect_scores(const char *out, double a, double b)
{
    struct judge_verdict v;
    arena_err_t err = judge_parse(JUDGE_KIND_SCORES, out, &v);
    if (err != ARENA_ERR_OK) {
        fprintf(stderr, "unexpected parse error '%s' for output:\n%s\n", v.error, out);
    }
    ASSERT_EQ_INT(err, ARENA_ERR_OK);
    ASSERT_NEAR(v.score_first, a, 1e-9);
    ASSERT_NEAR(v.score_second, b, 1e-9);
    ASSERT_EQ_STR(v.label, "");
    ASSERT_EQ_STR(v.error, "");
}

static void expect_error(enum judge_kind kind, const char *out, const char *needle)
{
    struct judge_verdict v;
    arena_err_t err = judge_parse(kind, out, &v);
    if (err != ARENA_ERR_PARSE) {
        fprintf(stderr, "expected a parse error for output:\n%s\ngot %.2f %.2f '%s'\n", out,
                v.score_first, v.score_second, v.label);
    }
    ASSERT_EQ_INT(err, ARENA_ERR_PARSE);
    if (!strstr(v.error, needle)) {
        fprintf(stderr, "error '%s' does not mention '%s'\n", v.error, needle);
    }
    assert_non_null(strstr(v.error, needle));
}

static void expect_label(enum judge_kind kind, const char *out, const char *label, double a,
                         double b)
{
    struct judge_verdict v;
    arena_err_t err = judge_parse(kind, out, &v);
    if (err != ARENA_ERR_OK) {
        fprintf(stderr, "unexpected parse error '%s' for output:\n%s\n", v.error, out);
    }
    ASSERT_EQ_INT(err, ARENA_ERR_OK);
    ASSERT_EQ_STR(v.label, label);
    ASSERT_NEAR(v.score_first, a, 1e-9);
    ASSERT_NEAR(v.score_second, b, 1e-9);
}

static void test_scores_brackets(void **state)
{
    (void)state;
    expect_scores("[[8, 6]]\nAssistant A gives a correct, well-structured answer; Assistant B "
                  "misses the second part of the question.",
                  8, 6);
    expect_scores("[[8,6]]", 8, 6);
    expect_scores("[[8.5, 6]]\nBoth are fine.", 8.5, 6);
    expect_scores("  [[ 10 , 1 ]]  trailing text", 10, 1);
    expect_scores("[[7/10, 9/10]]", 7, 9);
    expect_scores("**[[3, 9]]**\n\nExplanation: ...", 3, 9);
    expect_scores("[9, 4]\nAssistant A is more complete.", 9, 4);
    /* CRLF */
    expect_scores("[[6, 7]]\r\nAssistant B is slightly better.\r\n", 6, 7);
    /* same pair repeated at the end: fine */
    expect_scores("[[8, 6]]\n...\nSo the final scores are [[8, 6]].", 8, 6);
    /* the first line (the requested format) wins over a pair quoted later */
    expect_scores("[[8, 6]]\nOne could argue for [[7, 7]] but the errors in B matter.", 8, 6);
    /* not on the first line: an explicit final line decides */
    expect_scores("Let me compare.\nA first guess would be [[5, 5]].\nFinal scores: [[6, 8]]", 6,
                  8);
    /* Unicode around the verdict */
    expect_scores("[[7, 9]]\n助手B的回答更准确，考虑了上下文。 — «ça va» ✓", 7, 9);
}

static void test_scores_labelled(void **state)
{
    (void)state;
    expect_scores("Score A: 8/10\nThe answer is accurate.\nScore B: 6/10\nIt misses edge cases.", 8,
                  6);
    expect_scores("Assistant A: 8\nAssistant B: 6", 8, 6);
    expect_scores("**Assistant A:** 8/10\n**Assistant B:** 5/10\n", 8, 5);
    expect_scores("Rating A: 8\nRating B: 3", 8, 3);
    expect_scores("### Assistant A\nScore: 7/10\nGood structure.\n\n### Assistant B\nScore: "
                  "4/10\nHallucinated a citation.",
                  7, 4);
    expect_scores("Assistant A's score is 9 and Assistant B's score is 2.", 9, 2);
    expect_scores("Assistant 1: 6\r\nAssistant 2: 8\r\n", 6, 8);
    expect_scores("Assistant A provides 3 examples, Assistant B provides 2.\nAssistant A: 7.5\n"
                  "Assistant B: 6.5",
                  7.5, 6.5);
    /* full-width colon and typographic apostrophe */
    expect_scores("Assistant A：8\nAssistant B’s score: 4", 8, 4);
    /* the last labelled score of a side wins (final summary after the discussion) */
    expect_scores("Assistant A: 6 at first sight.\nAfter checking the maths:\nAssistant A: 8\n"
                  "Assistant B: 5",
                  8, 5);
}

/* The three output styles of the simulated judge (common/src/llm_sim.c). */
static void test_sim_judge_styles(void **state)
{
    (void)state;
    expect_scores("[[10, 1]]\n(simulated judge) Assistant A's answer is clearly better: it is more "
                  "complete and more accurate.",
                  10, 1);
    expect_scores("Score A: 4/10\nScore B: 7/10\n(simulated judge) Assistant B's answer is "
                  "clearly better: it is more complete and more accurate.",
                  4, 7);
    expect_scores("Assistant A: 6\nAssistant B: 6\n\nExplanation: Both answers are of comparable "
                  "quality; neither is meaningfully better. (simulated judge)",
                  6, 6);
    expect_label(JUDGE_KIND_FIVE_LABEL,
                 "(simulated judge) Evaluating both answers against the prompt. Assistant A's "
                 "answer rates 3 out of 10 and Assistant B's answer rates 8 out of 10. Assistant "
                 "B's answer is clearly better: it is more complete and more accurate.\n\nMy "
                 "final verdict is: [[B>>A]]",
                 "B>>A", 3, 9);
    expect_label(JUDGE_KIND_THREE_LABEL,
                 "(simulated judge) Comparing the two responses for helpfulness, relevance and "
                 "accuracy: Assistant A rates 7 and Assistant B rates 5 out of 10. Assistant A's "
                 "answer is slightly better.\n\n[[A]]",
                 "A", 7, 4);
}

static void test_scores_out_of_ten(void **state)
{
    (void)state;
    expect_scores("I would give the first response 8/10 and the second 6/10.", 8, 6);
    expect_error(JUDGE_KIND_SCORES, "Scores: 8/10, 6/10 and maybe 7/10 for style.", "ambiguous");
    expect_error(JUDGE_KIND_SCORES, "The first one deserves 8/10.", "one score");
}

static void test_scores_errors(void **state)
{
    (void)state;
    expect_error(JUDGE_KIND_SCORES, "", "no scores");
    expect_error(JUDGE_KIND_SCORES, "Both answers are good, but A is a bit better.", "no scores");
    expect_error(JUDGE_KIND_SCORES, "Assistant A: 8\nAssistant B did not answer well.",
                 "missing score for Assistant B");
    expect_error(JUDGE_KIND_SCORES, "Score B: 4/10", "missing score for Assistant A");
    expect_error(JUDGE_KIND_SCORES, "[[0, 6]]", "out of range");
    expect_error(JUDGE_KIND_SCORES, "[[8, 11]]", "Assistant B out of range");
    expect_error(JUDGE_KIND_SCORES, "Assistant A: 12\nAssistant B: 6", "out of range");
    expect_error(JUDGE_KIND_SCORES, "Assistant A: -2\nAssistant B: 6", "out of range");
    expect_error(JUDGE_KIND_SCORES, "Some thoughts.\n[[8, 6]] or rather [[6, 8]]?", "ambiguous");
    /* a verdict of another template is not a score */
    expect_error(JUDGE_KIND_SCORES, "My final verdict is [[A>B]]", "no scores");
    /* 5-point scale is not accepted as 1-10 */
    expect_error(JUDGE_KIND_SCORES, "Assistant A: 4/5\nAssistant B: 2/5", "no scores");
}

static void test_five_label(void **state)
{
    (void)state;
    const char *k = "five";
    (void)k;
    expect_label(JUDGE_KIND_FIVE_LABEL,
                 "My own answer: ...\n\nAssistant A is correct and concise; Assistant B has an "
                 "error.\n\nMy final verdict is: [[A>>B]]",
                 "A>>B", 9, 3);
    expect_label(JUDGE_KIND_FIVE_LABEL,
                 "My final verdict is Assistant A is slightly better: [[A>B]]", "A>B", 7, 4);
    expect_label(JUDGE_KIND_FIVE_LABEL, "My final verdict is tie: [[A=B]]", "A=B", 5.5, 5.5);
    expect_label(JUDGE_KIND_FIVE_LABEL, "[[B>A]]", "B>A", 4, 7);
    expect_label(JUDGE_KIND_FIVE_LABEL, "**Final verdict: [[B>>A]]**\r\n", "B>>A", 3, 9);
    expect_label(JUDGE_KIND_FIVE_LABEL, "Verdict: [[ A<B ]]", "B>A", 4, 7);
    /* single brackets when no double-bracket verdict exists */
    expect_label(JUDGE_KIND_FIVE_LABEL, "My final verdict is [B>>A].", "B>>A", 3, 9);
    /* the same verdict twice is fine */
    expect_label(JUDGE_KIND_FIVE_LABEL, "[[A>B]]\n...\nMy final verdict is [[A>B]]", "A>B", 7, 4);
    /* verdict discussed in the explanation, explicit final verdict line decides */
    expect_label(JUDGE_KIND_FIVE_LABEL,
                 "This is not a [[A>>B]] case since B has merit.\nMy final verdict is: [[A>B]]",
                 "A>B", 7, 4);
    /* two different verdicts and no final line: ambiguous (Arena-Hard's rule) */
    expect_error(JUDGE_KIND_FIVE_LABEL, "[[A>B]] ... on reflection [[B>A]]", "ambiguous verdict");
    /* two different verdicts after the final verdict line: ambiguous */
    expect_error(JUDGE_KIND_FIVE_LABEL, "My final verdict is [[A>B]] or [[A=B]]",
                 "ambiguous verdict");
    expect_error(JUDGE_KIND_FIVE_LABEL, "Assistant A is better.", "no verdict");
    expect_error(JUDGE_KIND_FIVE_LABEL, "My final verdict is [[A>>>B]]", "not one of");
    expect_error(JUDGE_KIND_FIVE_LABEL, "[[8, 6]]", "no five-label verdict");
}

static void test_three_label(void **state)
{
    (void)state;
    expect_label(JUDGE_KIND_THREE_LABEL,
                 "Assistant A answers both parts of the question; Assistant B only the first.\n\n"
                 "[[A]]",
                 "A", 7, 4);
    expect_label(JUDGE_KIND_THREE_LABEL, "Final verdict: [[B]]\r\n", "B", 4, 7);
    expect_label(JUDGE_KIND_THREE_LABEL, "Both are equally good. [[C]]", "C", 5.5, 5.5);
    expect_label(JUDGE_KIND_THREE_LABEL, "**[[ B ]]**", "B", 4, 7);
    expect_error(JUDGE_KIND_THREE_LABEL, "[[A]] ... actually [[B]]", "ambiguous verdict");
    expect_error(JUDGE_KIND_THREE_LABEL, "Assistant A is better.", "no verdict");
    expect_error(JUDGE_KIND_THREE_LABEL, "[[A>B]]", "not one of");
    /* single brackets are not verdicts for three-label (too common in prose) */
    expect_error(JUDGE_KIND_THREE_LABEL, "See [A] and [B].", "no verdict");
}

static void test_bad_args(void **state)
{
    (void)state;
    struct judge_verdict v;
    ASSERT_EQ_INT(judge_parse(JUDGE_KIND_SCORES, NULL, &v), ARENA_ERR_INVALID);
    ASSERT_EQ_INT(judge_parse((enum judge_kind)42, "[[8, 6]]", &v), ARENA_ERR_INVALID);
    assert_non_null(strstr(v.error, "kind"));
}

static void test_pref_and_strong(void **state)
{
    (void)state;
    struct judge_verdict v;
    assert_int_equal(judge_parse(JUDGE_KIND_SCORES, "[[8, 6]]", &v), ARENA_ERR_OK);
    ASSERT_EQ_INT(judge_verdict_pref(&v, 0.5), 1);
    ASSERT_EQ_INT(judge_verdict_pref(&v, 2.5), 0);
    assert_false(judge_verdict_is_strong(&v));
    assert_int_equal(judge_parse(JUDGE_KIND_FIVE_LABEL, "[[B>>A]]", &v), ARENA_ERR_OK);
    ASSERT_EQ_INT(judge_verdict_pref(&v, 0.5), -1);
    assert_true(judge_verdict_is_strong(&v));
    assert_int_equal(judge_parse(JUDGE_KIND_FIVE_LABEL, "[[A=B]]", &v), ARENA_ERR_OK);
    ASSERT_EQ_INT(judge_verdict_pref(&v, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_brackets),   cmocka_unit_test(test_scores_labelled),
        cmocka_unit_test(test_scores_out_of_ten), cmocka_unit_test(test_scores_errors),
        cmocka_unit_test(test_five_label),        cmocka_unit_test(test_three_label),
        cmocka_unit_test(test_bad_args),          cmocka_unit_test(test_pref_and_strong),
        cmocka_unit_test(test_sim_judge_styles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
