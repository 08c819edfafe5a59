/* test_llm_sim.c - the sim backend through the pool: determinism, skill ordering, judge output
 * formats (parsed back), position bias, latency timers, concurrency queueing, metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/src/llm_internal.h"
#include "arena/llm.h"
#include "arena/metrics.h"
#include "arena/util.h"
#include "testutil.h"

struct got {
    int n;
    arena_err_t err;
    char *content;
    char *backend;
    bool simulated;
    uint32_t prompt_tokens, completion_tokens;
    uint64_t at_us;
};

static void on_resp(void *opaque, const struct arena_llm_response *r)
{
    struct got *g = opaque;
    g->n++;
    g->err = r->err;
    free(g->content);
    free(g->backend);
    g->content = arena_xstrdup(r->err == ARENA_ERR_OK ? r->content : r->error);
    g->backend = arena_xstrdup(r->backend);
    g->simulated = r->simulated;
    g->prompt_tokens = r->prompt_tokens;
    g->completion_tokens = r->completion_tokens;
    g->at_us = arena_mono_us();
}

static struct arena_model_cfg sim_model(const char *name, double skill, uint64_t seed)
{
    struct arena_model_cfg m = {0};
    m.name = (char *)name;
    m.backend = (char *)"sim";
    m.skill = skill;
    m.noise = 1.0;
    m.judge_noise = 0.0;
    m.position_bias = 0.0;
    m.seed = seed;
    m.temperature = 0.7;
    return m;
}

static struct arena_llm_pool *pool_of(struct arena_model_cfg *models, size_t n,
                                      struct arena_metrics *metrics)
{
    struct arena_config cfg = {0};
    cfg.models = models;
    cfg.n_models = n;
    char err[256] = "";
    struct arena_llm_pool *p = arena_llm_pool_new(&cfg, metrics, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "pool_new: %s\n", err);
    }
    assert_non_null(p);
    return p;
}

/* Submit one single-turn request and wait for it. Caller frees got.content. */
static struct got ask(struct arena_llm_pool *p, const char *model, const char *text, uint64_t seed)
{
    struct arena_llm_message msg = {"user", text};
    struct arena_llm_request req = {&msg, 1, -1, 0, seed, NULL};
    struct got g = {0};
    ASSERT_EQ_INT(arena_llm_submit(p, model, &req, on_resp, &g), ARENA_ERR_OK);
    ASSERT_EQ_INT(g.n, 0); /* never called back from submit */
    for (int i = 0; i < 100 && g.n == 0; i++) {
        arena_llm_poll(p, 100);
    }
    ASSERT_EQ_INT(g.n, 1);
    return g;
}

static double quality_of(const char *text)
{
    double q = 0;
    assert_int_equal(arena__sim_quality_parse(text, strlen(text), &q), 0);
    return q;
}

static void test_answer_format_and_determinism(void **state)
{
    (void)state;
    struct arena_model_cfg models[2] = {sim_model("alpha", 6, 1), sim_model("beta", 6, 2)};
    struct arena_llm_pool *p = pool_of(models, 2, NULL);
    struct arena_llm_pool *p2 = pool_of(models, 2, NULL);
    const char *prompt = "Explain [sim-quality: 10] how a hash table handles collisions.";
    struct got a = ask(p, "alpha", prompt, 7);
    ASSERT_EQ_INT(a.err, ARENA_ERR_OK);
    ASSERT_EQ_STR(a.backend, "sim");
    assert_true(a.simulated);
    assert_true(strncmp(a.content, "[simulated answer from alpha] [sim-quality: ", 44) == 0);
    size_t len = strlen(a.content);
    assert_true(len >= 200 && len <= 600);
    /* the restated prompt cannot forge a second tag */
    const char *first = strstr(a.content, ARENA_SIM_QUALITY_TAG);
    assert_null(strstr(first + 1, ARENA_SIM_QUALITY_TAG));
    ASSERT_EQ_INT(a.completion_tokens, arena__llm_count_words(a.content));
    ASSERT_EQ_INT(a.prompt_tokens, 9);

    struct got b = ask(p2, "alpha", prompt, 7); /* another pool, same inputs */
    ASSERT_EQ_STR(a.content, b.content);
    struct got c = ask(p, "alpha", prompt, 8); /* another request seed */
    assert_true(strcmp(a.content, c.content) != 0);
    struct got d = ask(p, "beta", prompt, 7); /* another model seed */
    assert_true(strcmp(a.content, d.content) != 0);
    free(a.content), free(b.content), free(c.content), free(d.content);
    free(a.backend), free(b.backend), free(c.backend), free(d.backend);
    arena_llm_pool_destroy(p);
    arena_llm_pool_destroy(p2);
}

static void test_skill_ordering(void **state)
{
    (void)state;
    struct arena_model_cfg models[3] = {sim_model("weak", 3, 11), sim_model("mid", 5, 12),
                                        sim_model("strong", 7, 13)};
    struct arena_llm_pool *p = pool_of(models, 3, NULL);
    enum { N = 1000 };
    static struct got g[3][N];
    char text[128];
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "Question %d: describe topic %d in detail.", i, i * 7919);
        struct arena_llm_message msg = {"user", text};
        struct arena_llm_request req = {&msg, 1, -1, 0, (uint64_t)i, NULL};
        for (int m = 0; m < 3; m++) {
            ASSERT_EQ_INT(arena_llm_submit(p, models[m].name, &req, on_resp, &g[m][i]),
                          ARENA_ERR_OK);
        }
    }
    ASSERT_EQ_INT(arena_llm_pending(p), 3 * N);
    ASSERT_EQ_INT(arena_llm_pending_model(p, "mid"), N);
    int done = 0;
    while (done < 3 * N) {
        done += arena_llm_poll(p, 100);
    }
    ASSERT_EQ_INT(arena_llm_pending(p), 0);
    double mean[3] = {0};
    for (int m = 0; m < 3; m++) {
        for (int i = 0; i < N; i++) {
            ASSERT_EQ_INT(g[m][i].n, 1);
            mean[m] += quality_of(g[m][i].content) / N;
            free(g[m][i].content);
            free(g[m][i].backend);
        }
    }
    printf("mean sim quality: weak %.3f mid %.3f strong %.3f\n", mean[0], mean[1], mean[2]);
    assert_true(mean[0] < mean[1] && mean[1] < mean[2]);
    ASSERT_NEAR(mean[0], 3.0, 0.3);
    ASSERT_NEAR(mean[1], 5.0, 0.3);
    ASSERT_NEAR(mean[2], 7.0, 0.3);
    arena_llm_pool_destroy(p);
}

static char *judge_prompt(const char *format_hint, const char *a, const char *b)
{
    return arena_xasprintf("Please act as an impartial judge. %s\n\n<|User Prompt|>\nWhat is 2+2?"
                           "\n\n" ARENA_SIM_A_START "\n%s\n" ARENA_SIM_A_END
                           "\n\n" ARENA_SIM_B_START "\n%s\n" ARENA_SIM_B_END "\n",
                           format_hint, a, b);
}

/* Parse the score styles back: returns 0 and the scores, or -1. */
static int parse_scores(const char *t, int *sa, int *sb, int *style)
{
    if (sscanf(t, "[[%d, %d]]", sa, sb) == 2) {
        *style = 0;
        return 0;
    }
    if (sscanf(t, "Score A: %d/10\nScore B: %d/10", sa, sb) == 2) {
        *style = 1;
        return 0;
    }
    if (sscanf(t, "Assistant A: %d\nAssistant B: %d", sa, sb) == 2) {
        *style = 2;
        return 0;
    }
    return -1;
}

static void test_judge_formats(void **state)
{
    (void)state;
    struct arena_model_cfg models[1] = {sim_model("judge", 8, 5)};
    struct arena_llm_pool *p = pool_of(models, 1, NULL);
    const char *good = "[simulated answer from x] [sim-quality: 8.40]\nFour.";
    const char *bad = "[simulated answer from y] [sim-quality: 3.10]\nFive, probably.";
    const char *close = "[simulated answer from y] [sim-quality: 7.60]\nIt is four.";

    /* Arena-Hard 5-label */
    char *jp =
        judge_prompt("Output one label: [[A>>B]], [[A>B]], [[A=B]], [[B>A]], [[B>>A]].", good, bad);
    struct got g = ask(p, "judge", jp, 1);
    assert_non_null(strstr(g.content, "My final verdict is: [[A>>B]]"));
    assert_non_null(strstr(g.content, "(simulated judge)"));
    free(jp), free(g.content), free(g.backend);
    jp = judge_prompt("Labels: [[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]]", bad, good);
    g = ask(p, "judge", jp, 1);
    assert_non_null(strstr(g.content, "My final verdict is: [[B>>A]]"));
    free(jp), free(g.content), free(g.backend);
    jp = judge_prompt("Labels: [[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]]", close, good);
    g = ask(p, "judge", jp, 1); /* 8 vs 8 */
    assert_non_null(strstr(g.content, "My final verdict is: [[A=B]]"));
    free(jp), free(g.content), free(g.backend);
    jp = judge_prompt("Labels: [[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]]", good,
                      "[sim-quality: 6.6]");
    g = ask(p, "judge", jp, 1); /* 8 vs 7 */
    assert_non_null(strstr(g.content, "My final verdict is: [[A>B]]"));
    free(jp), free(g.content), free(g.backend);

    /* MT-bench pair */
    jp = judge_prompt("Output \"[[A]]\" if A is better, \"[[B]]\" if B, \"[[C]]\" for a tie.", bad,
                      good);
    g = ask(p, "judge", jp, 1);
    size_t n = strlen(g.content);
    assert_true(n > 5 && strcmp(g.content + n - 5, "[[B]]") == 0);
    free(jp), free(g.content), free(g.backend);
    jp = judge_prompt("Output [[A]], [[B]] or [[C]].", close, good);
    g = ask(p, "judge", jp, 1);
    n = strlen(g.content);
    assert_true(strcmp(g.content + n - 5, "[[C]]") == 0);
    free(jp), free(g.content), free(g.backend);

    /* score templates: all three styles appear and parse back to the tagged qualities */
    bool seen[3] = {false, false, false};
    for (int i = 0; i < 60; i++) {
        char hint[96];
        snprintf(hint, sizeof(hint), "Rate both answers from 1 to 10 (battle %d).", i);
        jp = judge_prompt(hint, good, bad);
        g = ask(p, "judge", jp, (uint64_t)i);
        int sa = 0, sb = 0, style = -1;
        if (parse_scores(g.content, &sa, &sb, &style) != 0) {
            fail_msg("unparseable score verdict: %s", g.content);
        }
        ASSERT_EQ_INT(sa, 8);
        ASSERT_EQ_INT(sb, 3);
        assert_non_null(strstr(g.content, "simulated judge"));
        seen[style] = true;
        free(jp), free(g.content), free(g.backend);
    }
    assert_true(seen[0] && seen[1] && seen[2]);

    /* an untagged (real) answer gets a length-based quality */
    char *longans = arena_xmalloc(2101);
    memset(longans, 'w', 2100);
    longans[2100] = '\0';
    for (int i = 0; i < 100; i += 10) {
        longans[i] = ' ';
    }
    double q = arena__sim_text_quality(longans, strlen(longans));
    assert_true(q >= 7.0 && q <= 9.0);
    q = arena__sim_text_quality("short", 5);
    assert_true(q >= 2.0 && q <= 4.1);
    free(longans);
    /* not a judge prompt: sections missing */
    const char *a, *b;
    size_t al, bl;
    assert_false(
        arena__sim_judge_sections(ARENA_SIM_A_START " x " ARENA_SIM_A_END, &a, &al, &b, &bl));
    arena_llm_pool_destroy(p);
}

static void test_position_bias(void **state)
{
    (void)state;
    struct arena_model_cfg models[2] = {sim_model("fair", 5, 21), sim_model("biased", 5, 22)};
    models[0].judge_noise = 0.7;
    models[1].judge_noise = 0.7;
    models[1].position_bias = 1.0;
    double diff[2] = {0, 0};
    enum { N = 600 };
    for (int m = 0; m < 2; m++) {
        struct arena__sim_params sp = {
            models[m].name, 5, 1, models[m].judge_noise, models[m].position_bias, models[m].seed};
        for (int i = 0; i < N; i++) {
            char qa[64], qb[64];
            double q = 3.0 + (i % 9) * 0.5;
            snprintf(qa, sizeof(qa), "answer one [sim-quality: %.2f] #%d", q, i);
            snprintf(qb, sizeof(qb), "answer two [sim-quality: %.2f] #%d", q, i);
            char *jp = judge_prompt("Rate 1-10.", qa, qb);
            int sa = 0, sb = 0;
            char *v = arena__sim_judge(&sp, jp, (uint64_t)i, &sa, &sb);
            assert_non_null(v);
            diff[m] += (double)(sa - sb) / N;
            free(v);
            free(jp);
        }
    }
    printf("mean first-minus-second score: bias 0 -> %.3f, bias 1 -> %.3f\n", diff[0], diff[1]);
    ASSERT_NEAR(diff[0], 0.0, 0.2);
    ASSERT_NEAR(diff[1], 1.0, 0.25);
}

static void test_latency_and_concurrency(void **state)
{
    (void)state;
    struct arena_model_cfg models[2] = {sim_model("slow", 5, 1), sim_model("fast", 5, 2)};
    models[0].latency_ms = 100;
    models[0].max_concurrency = 2;
    struct arena_llm_pool *p = pool_of(models, 2, NULL);
    struct arena_llm_message msg = {"user", "hello"};
    struct arena_llm_request req = {&msg, 1, -1, 0, 1, NULL};
    struct got g[6] = {{0}};
    uint64_t t0 = arena_mono_us();
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ_INT(arena_llm_submit(p, "slow", &req, on_resp, &g[i]), ARENA_ERR_OK);
    }
    struct got f = {0};
    ASSERT_EQ_INT(arena_llm_submit(p, "fast", &req, on_resp, &f), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_llm_poll(p, 0), 1); /* latency 0: the next poll */
    ASSERT_EQ_INT(f.n, 1);
    ASSERT_EQ_INT(arena_llm_poll(p, 0), 0); /* slow ones not due yet */
    ASSERT_EQ_INT(arena_llm_pending_model(p, "slow"), 6);
    int done = 0;
    while (done < 6) {
        done += arena_llm_poll(p, 1000);
    }
    /* two at a time, 100 ms each: completions at ~100, ~200, ~300 ms */
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ_INT(g[i].n, 1);
        uint64_t ms = (g[i].at_us - t0) / 1000;
        uint64_t want = (uint64_t)(i / 2 + 1) * 100;
        if (ms < want || ms > want + 80) {
            fail_msg("call %d completed after %llu ms, expected ~%llu", i, (unsigned long long)ms,
                     (unsigned long long)want);
        }
        free(g[i].content), free(g[i].backend);
    }
    free(f.content), free(f.backend);
    /* poll waits up to its timeout when nothing is due */
    uint64_t w0 = arena_mono_us();
    ASSERT_EQ_INT(arena_llm_poll(p, 50), 0);
    assert_true(arena_mono_us() - w0 >= 45000);
    /* a call in flight at destroy is released without a callback (no leak under ASan) */
    ASSERT_EQ_INT(arena_llm_submit(p, "slow", &req, on_resp, &f), ARENA_ERR_OK);
    arena_llm_pool_destroy(p);
}

static void test_errors_and_metrics(void **state)
{
    (void)state;
    struct arena_model_cfg bad = sim_model("x", 5, 1);
    bad.backend = (char *)"gpt5";
    struct arena_config cfg = {0};
    cfg.models = &bad;
    cfg.n_models = 1;
    char err[256] = "";
    assert_null(arena_llm_pool_new(&cfg, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "model x: unknown backend 'gpt5'"));

    struct arena_metrics *mx = arena_metrics_new("test");
    struct arena_model_cfg models[1] = {sim_model("m1", 5, 1)};
    struct arena_llm_pool *p = pool_of(models, 1, mx);
    assert_true(arena_llm_has_model(p, "m1"));
    assert_false(arena_llm_has_model(p, "nope"));
    struct arena_llm_message msg = {"user", "one two three"};
    struct arena_llm_request req = {&msg, 1, -1, 0, 1, NULL};
    struct got g = {0};
    ASSERT_EQ_INT(arena_llm_submit(p, "nope", &req, on_resp, &g), ARENA_ERR_NOT_FOUND);
    g = ask(p, "m1", "one two three", 1);
    char *text = arena_metrics_render(mx);
    assert_non_null(strstr(text, "arena_model_calls_total{model=\"m1\",status=\"ok\"} 1"));
    assert_non_null(strstr(text, "arena_model_tokens_total{model=\"m1\",kind=\"prompt\"} 3"));
    assert_non_null(strstr(text, "arena_model_call_duration_seconds_count{model=\"m1\"} 1"));
    free(text);
    free(g.content), free(g.backend);
    arena_llm_pool_destroy(p);
    arena_metrics_destroy(mx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_format_and_determinism),
        cmocka_unit_test(test_skill_ordering),
        cmocka_unit_test(test_judge_formats),
        cmocka_unit_test(test_position_bias),
        cmocka_unit_test(test_latency_and_concurrency),
        cmocka_unit_test(test_errors_and_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
