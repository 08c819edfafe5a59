/* Unit tests: curator example selection (curator_select.c) on hand-built battles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "curator_select.h"

#define MAXB 16

/* A prompt's battles, built by hand. */
struct fixture {
    Arena__V1__BattleResult b[MAXB];
    Arena__V1__Response ra[MAXB], rb[MAXB];
    char ids[MAXB][40];
    char ans_a[MAXB][64], ans_b[MAXB][64];
    Arena__V1__ChatMessage msg;
    Arena__V1__ChatMessage *msgs[1];
    const Arena__V1__BattleResult *ptrs[MAXB];
    size_t n;
};

static struct fixture *fx_new(void)
{
    struct fixture *f = calloc(1, sizeof(*f));
    Arena__V1__ChatMessage m = ARENA__V1__CHAT_MESSAGE__INIT;
    f->msg = m;
    f->msg.role = "user";
    f->msg.content = "Explain TCP slow start.";
    f->msgs[0] = &f->msg;
    return f;
}

/* A battle model_a vs model_b with combined scores; outcome derived from scores (tie if equal)
 * unless forced. */
static Arena__V1__BattleResult *fx_add(struct fixture *f, const char *a, const char *b, double sa,
                                       double sb, Arena__V1__Outcome forced)
{
    size_t i = f->n++;
    Arena__V1__BattleResult init = ARENA__V1__BATTLE_RESULT__INIT;
    Arena__V1__Response rinit = ARENA__V1__RESPONSE__INIT;
    Arena__V1__BattleResult *r = &f->b[i];
    *r = init;
    f->ra[i] = rinit;
    f->rb[i] = rinit;
    snprintf(f->ids[i], sizeof(f->ids[i]), "b%02zu-%s-%s", i, a, b);
    snprintf(f->ans_a[i], sizeof(f->ans_a[i]), "answer of %s", a);
    snprintf(f->ans_b[i], sizeof(f->ans_b[i]), "answer of %s", b);
    f->ra[i].model = (char *)a;
    f->ra[i].content = f->ans_a[i];
    f->rb[i].model = (char *)b;
    f->rb[i].content = f->ans_b[i];
    r->battle_id = f->ids[i];
    r->round = 1;
    r->prompt_id = "p0001";
    r->model_a = (char *)a;
    r->model_b = (char *)b;
    r->score_a = sa;
    r->score_b = sb;
    r->outcome = forced    ? forced
                 : sa > sb ? ARENA__V1__OUTCOME__OUTCOME_MODEL_A
                 : sa < sb ? ARENA__V1__OUTCOME__OUTCOME_MODEL_B
                           : ARENA__V1__OUTCOME__OUTCOME_TIE;
    r->target_model = "target";
    r->response_a = &f->ra[i];
    r->response_b = &f->rb[i];
    r->n_messages = 1;
    r->messages = f->msgs;
    f->ptrs[i] = r;
    return r;
}

static struct curator_policy policy(double sft, double dpo, bool rm)
{
    struct curator_policy p = {NULL, sft, dpo, rm};
    return p;
}

static size_t count_kind(const struct curator_examples *ex, enum curator_example_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < ex->n; i++) {
        c += ex->v[i].kind == k;
    }
    return c;
}

static const struct curator_example *find_kind(const struct curator_examples *ex,
                                               enum curator_example_kind k)
{
    for (size_t i = 0; i < ex->n; i++) {
        if (ex->v[i].kind == k) {
            return &ex->v[i];
        }
    }
    return NULL;
}

static void test_sft_threshold(void **state)
{
    (void)state;
    struct fixture *f = fx_new();
    fx_add(f, "target", "gpt", 4.0, 7.0, 0);    /* lost by exactly 3.0 */
    fx_add(f, "claude", "target", 8.0, 5.5, 0); /* lost by 2.5 */
    struct curator_policy p = policy(3.0, -1, false);
    struct curator_examples ex;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 1);
    const struct curator_example *e = &ex.v[0];
    ASSERT_EQ_INT(e->kind, CURATOR_EXAMPLE_SFT);
    ASSERT_EQ_STR(e->chosen_model, "gpt");
    ASSERT_EQ_STR(e->chosen_content, "answer of gpt");
    ASSERT_EQ_STR(e->rejected_model, "target");
    ASSERT_NEAR(e->gap, 3.0, 1e-12);
    ASSERT_EQ_STR(e->prompt_id, "p0001");
    ASSERT_EQ_INT(e->round, 1);
    ASSERT_EQ_INT(e->n_prompt, 1);
    ASSERT_EQ_STR(e->prompt[0].content, "Explain TCP slow start.");
    ASSERT_EQ_INT(e->n_battle_ids, 1);
    ASSERT_EQ_STR(e->battle_ids[0], f->ids[0]);
    curator_examples_fini(&ex);

    /* K - epsilon: excluded */
    f->b[0].score_b = 7.0 - 0.01;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 0);
    curator_examples_fini(&ex);

    /* floating-point rounding does not exclude a gap of exactly K: 6.3 - 3.3 */
    f->b[0].score_a = 3.3;
    f->b[0].score_b = 6.3;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 1);
    curator_examples_fini(&ex);

    /* round 2 threshold 1.0: both losses qualify; best winner = highest winner score (claude 8) */
    p.sft_min_gap = 1.0;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 1);
    ASSERT_EQ_STR(ex.v[0].chosen_model, "claude");
    ASSERT_NEAR(ex.v[0].chosen_score, 8.0, 0);
    ASSERT_NEAR(ex.v[0].rejected_score, 5.5, 0);
    curator_examples_fini(&ex);
    free(f);
}

static void test_sft_ties_and_outcome(void **state)
{
    (void)state;
    struct fixture *f = fx_new();
    fx_add(f, "target", "zeta", 3.0, 8.0, 0);  /* winner 8, gap 5 */
    fx_add(f, "target", "alpha", 4.0, 8.0, 0); /* winner 8, gap 4 */
    fx_add(f, "beta", "target", 8.0, 3.0, 0);  /* winner 8, gap 5 */
    struct curator_policy p = policy(1.0, -1, false);
    struct curator_examples ex;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 1);
    /* equal winner scores -> larger gap (beta, zeta) -> name ascending: beta */
    ASSERT_EQ_STR(ex.v[0].chosen_model, "beta");
    curator_examples_fini(&ex);

    /* a gap without a loss (strict-policy tie) is not an SFT example */
    struct fixture *g = fx_new();
    fx_add(g, "target", "gpt", 3.0, 7.0, ARENA__V1__OUTCOME__OUTCOME_TIE);
    curator_examples_init(&ex);
    curator_select(g->ptrs, g->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 0);
    curator_examples_fini(&ex);
    /* the target winning gives no SFT example */
    fx_add(g, "target", "llama", 9.0, 2.0, 0);
    curator_examples_init(&ex);
    curator_select(g->ptrs, g->n, &p, &ex);
    ASSERT_EQ_INT(count_kind(&ex, CURATOR_EXAMPLE_SFT), 0);
    curator_examples_fini(&ex);
    free(f);
    free(g);
}

static void test_eval_and_errors(void **state)
{
    (void)state;
    struct fixture *f = fx_new();
    fx_add(f, "target", "gpt", 2.0, 9.0, 0);
    fx_add(f, "target", "claude", 2.0, 9.5, ARENA__V1__OUTCOME__OUTCOME_JUDGE_ERROR);
    fx_add(f, "gpt", "claude", 0, 0, ARENA__V1__OUTCOME__OUTCOME_GENERATION_ERROR);
    struct curator_policy p = policy(3.0, 2.0, true);
    struct curator_examples ex;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    /* the judge-error battle is ignored: the SFT winner is gpt, not claude */
    ASSERT_EQ_INT(count_kind(&ex, CURATOR_EXAMPLE_SFT), 1);
    ASSERT_EQ_STR(find_kind(&ex, CURATOR_EXAMPLE_SFT)->chosen_model, "gpt");
    ASSERT_EQ_INT(count_kind(&ex, CURATOR_EXAMPLE_RM), 1);
    ASSERT_EQ_INT(count_kind(&ex, CURATOR_EXAMPLE_DPO), 1);
    for (size_t i = 0; i < ex.n; i++) {
        assert_null(strstr(ex.v[i].chosen_model, "claude"));
        assert_null(strstr(ex.v[i].rejected_model, "claude"));
    }
    curator_examples_fini(&ex);

    /* any eval battle: nothing at all */
    f->b[2].eval = true;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 0);
    curator_examples_fini(&ex);
    free(f);
}

static void test_dpo(void **state)
{
    (void)state;
    struct fixture *f = fx_new();
    /* means: gpt (9+8)/2 = 8.5, claude (6+7)/2 = 6.5, target (5+4)/2 = 4.5 */
    fx_add(f, "target", "gpt", 5.0, 9.0, 0);
    fx_add(f, "claude", "target", 7.0, 4.0, 0);
    fx_add(f, "gpt", "claude", 8.0, 6.0, 0);
    struct curator_policy p = policy(-1, 2.0, false);
    struct curator_examples ex;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 1);
    const struct curator_example *e = &ex.v[0];
    ASSERT_EQ_INT(e->kind, CURATOR_EXAMPLE_DPO);
    ASSERT_EQ_STR(e->chosen_model, "gpt");
    ASSERT_EQ_STR(e->rejected_model, "target");
    ASSERT_EQ_STR(e->chosen_content, "answer of gpt");
    ASSERT_EQ_STR(e->rejected_content, "answer of target");
    ASSERT_NEAR(e->chosen_score, 9.0, 0);
    ASSERT_NEAR(e->rejected_score, 5.0, 0);
    ASSERT_NEAR(e->gap, 4.0, 0);
    ASSERT_EQ_STR(e->battle_ids[0], f->ids[0]);
    curator_examples_fini(&ex);

    /* direct battle gap below the threshold: no pair */
    p.dpo_min_gap = 4.5;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(ex.n, 0);
    curator_examples_fini(&ex);
    free(f);
}

static void test_dpo_target_best(void **state)
{
    (void)state;
    struct fixture *f = fx_new();
    /* target best: chosen = target, rejected = the worst (llama) */
    fx_add(f, "target", "gpt", 9.0, 6.0, 0);
    fx_add(f, "llama", "target", 2.0, 8.0, 0);
    fx_add(f, "gpt", "llama", 7.0, 3.0, 0);
    struct curator_policy p = policy(3.0, 2.0, true);
    struct curator_examples ex;
    curator_examples_init(&ex);
    curator_select(f->ptrs, f->n, &p, &ex);
    ASSERT_EQ_INT(count_kind(&ex, CURATOR_EXAMPLE_SFT), 0);
    const struct curator_example *e = find_kind(&ex, CURATOR_EXAMPLE_DPO);
    assert_non_null(e);
    ASSERT_EQ_STR(e->chosen_model, "target");
    ASSERT_EQ_STR(e->rejected_model, "llama");
    ASSERT_NEAR(e->gap, 6.0, 0);
    ASSERT_EQ_STR(e->battle_ids[0], f->ids[1]);
    /* RM: every decisive battle, ordered by battle id, winner chosen */
    ASSERT_EQ_INT(count_kind(&ex, CURATOR_EXAMPLE_RM), 3);
    ASSERT_EQ_INT(ex.v[0].kind, CURATOR_EXAMPLE_DPO); /* order: SFT, DPO, RM */
    ASSERT_EQ_STR(ex.v[1].battle_ids[0], f->ids[0]);
    ASSERT_EQ_STR(ex.v[1].chosen_model, "target");
    ASSERT_EQ_STR(ex.v[2].chosen_model, "target");
    ASSERT_EQ_STR(ex.v[2].rejected_model, "llama");
    ASSERT_EQ_STR(ex.v[3].chosen_model, "gpt");
    ASSERT_NEAR(ex.v[3].gap, 4.0, 0);
    curator_examples_fini(&ex);

    /* no direct battle between chosen and rejected: no DPO pair */
    struct fixture *g = fx_new();
    fx_add(g, "target", "gpt", 4.0, 9.0, 0);
    fx_add(g, "gpt", "llama", 9.0, 5.0, 0);
    fx_add(g, "llama", "mistral", 6.0, 5.0, 0);
    struct curator_policy q = policy(-1, 1.0, false);
    q.target = "mistral"; /* explicit target overrides the battles' target_model */
    curator_examples_init(&ex);
    curator_select(g->ptrs, g->n, &q, &ex);
    ASSERT_EQ_INT(ex.n, 0);
    curator_examples_fini(&ex);
    free(f);
    free(g);
}

static void test_order_independent(void **state)
{
    (void)state;
    struct fixture *f = fx_new();
    fx_add(f, "target", "gpt", 3.0, 8.0, 0);
    fx_add(f, "claude", "target", 8.0, 3.0, 0);
    fx_add(f, "gpt", "claude", 6.0, 6.0, 0);
    fx_add(f, "llama", "target", 2.0, 6.0, 0);
    struct curator_policy p = policy(1.0, 1.0, true);
    struct curator_examples x, y;
    curator_examples_init(&x);
    curator_examples_init(&y);
    curator_select(f->ptrs, f->n, &p, &x);
    const Arena__V1__BattleResult *rev[4] = {f->ptrs[3], f->ptrs[2], f->ptrs[1], f->ptrs[0]};
    curator_select(rev, 4, &p, &y);
    ASSERT_EQ_INT(x.n, y.n);
    for (size_t i = 0; i < x.n; i++) {
        ASSERT_EQ_INT(x.v[i].kind, y.v[i].kind);
        ASSERT_EQ_STR(x.v[i].chosen_model, y.v[i].chosen_model);
        ASSERT_EQ_STR(x.v[i].rejected_model, y.v[i].rejected_model);
        ASSERT_EQ_STR(x.v[i].battle_ids[0], y.v[i].battle_ids[0]);
    }
    /* SFT: claude and gpt both scored 8 with gap 5: name ascending -> claude */
    ASSERT_EQ_STR(find_kind(&x, CURATOR_EXAMPLE_SFT)->chosen_model, "claude");
    curator_examples_fini(&x);
    curator_examples_fini(&y);
    curator_examples_fini(NULL);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sft_threshold),   cmocka_unit_test(test_sft_ties_and_outcome),
        cmocka_unit_test(test_eval_and_errors), cmocka_unit_test(test_dpo),
        cmocka_unit_test(test_dpo_target_best), cmocka_unit_test(test_order_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
