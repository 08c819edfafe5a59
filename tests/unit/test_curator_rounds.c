/* test_curator_rounds.c - per-round thresholds (curator.*_min_gap_by_round) and their effect on
 * selection: the paper's SFT K = 3.0 in round 1, 1.0 afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "curator_select.h"

static void test_gap_for_round(void **state)
{
    (void)state;
    double g[] = {3.0, 1.0};
    assert_true(curator_gap_for_round(g, 2, 9.0, 1) == 3.0);
    assert_true(curator_gap_for_round(g, 2, 9.0, 2) == 1.0);
    assert_true(curator_gap_for_round(g, 2, 9.0, 7) == 1.0); /* the last value repeats */
    assert_true(curator_gap_for_round(g, 2, 9.0, 0) == 3.0); /* eval round: first */
    assert_true(curator_gap_for_round(NULL, 0, 9.0, 3) == 9.0);
    double one[] = {2.0};
    assert_true(curator_gap_for_round(one, 1, 9.0, 5) == 2.0);
}

static void test_parse(void **state)
{
    (void)state;
    char err[256];
    double *g = NULL;
    const char *ok[] = {"3.0", "1", "0.5e0"};
    assert_int_equal(curator_gaps_parse(ok, 3, "k", &g, err, sizeof(err)), ARENA_ERR_OK);
    assert_true(g[0] == 3.0 && g[1] == 1.0 && g[2] == 0.5);
    free(g);
    assert_int_equal(curator_gaps_parse(NULL, 0, "k", &g, err, sizeof(err)), ARENA_ERR_OK);
    assert_null(g);
    const char *bad[][1] = {{"x"}, {"-1"}, {"nan"}, {"inf"}, {"2.0 "}, {""}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            curator_gaps_parse(bad[i], 1, "curator.sft_min_gap_by_round", &g, err, sizeof(err)),
            ARENA_ERR_INVALID);
        assert_null(g);
        assert_non_null(strstr(err, "curator.sft_min_gap_by_round: item 1"));
    }
}

/* A target loss by 2.0: no SFT example with round 1's K = 3.0, one with round 2's K = 1.0. */
static void test_selection_by_round(void **state)
{
    (void)state;
    double gaps[] = {3.0, 1.0};
    Arena__V1__ChatMessage msg = ARENA__V1__CHAT_MESSAGE__INIT;
    Arena__V1__ChatMessage *msgs[] = {&msg};
    msg.role = "user";
    msg.content = "Explain recursion.";
    Arena__V1__Response ra = ARENA__V1__RESPONSE__INIT, rb = ARENA__V1__RESPONSE__INIT;
    ra.model = "t";
    ra.content = "target answer";
    rb.model = "o";
    rb.content = "better answer";
    Arena__V1__BattleResult b = ARENA__V1__BATTLE_RESULT__INIT;
    b.battle_id = "b1";
    b.prompt_id = "0123456789abcdef0123456789abcdef";
    b.model_a = "t";
    b.model_b = "o";
    b.target_model = "t";
    b.n_messages = 1;
    b.messages = msgs;
    b.response_a = &ra;
    b.response_b = &rb;
    b.score_a = 5.0;
    b.score_b = 7.0;
    b.outcome = ARENA__V1__OUTCOME__OUTCOME_MODEL_B;
    b.battles_in_prompt = 1;
    const Arena__V1__BattleResult *bs[] = {&b};
    for (uint32_t round = 1; round <= 3; round++) {
        b.round = round;
        struct curator_policy pol = {.target = "t", .dpo_min_gap = -1, .reward_pairs = false};
        pol.sft_min_gap = curator_gap_for_round(gaps, 2, 3.0, round);
        struct curator_examples ex;
        curator_examples_init(&ex);
        curator_select(bs, 1, &pol, &ex);
        assert_int_equal(ex.n, round == 1 ? 0 : 1);
        if (ex.n) {
            assert_int_equal(ex.v[0].kind, CURATOR_EXAMPLE_SFT);
            assert_int_equal(ex.v[0].round, round);
        }
        curator_examples_fini(&ex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_for_round),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_selection_by_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
