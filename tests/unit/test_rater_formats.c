/* Battle file formats, AlpacaEval reproduction on real annotations, reference leaderboards and
 * consistency metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"
#include "rater_formats.h"
#include "rater_stats.h"
#include "testutil.h"

static arena_err_t load(const char *text, enum rater_format f, bool skip_bad,
                        struct rater_battles *b, struct rater_load_stats *st, char *err,
                        size_t errn)
{
    struct rater_load_opts o = {.format = f, .skip_bad = skip_bad, .name = "in.json"};
    return rater_formats_load(text, strlen(text), &o, b, NULL, st, err, errn);
}

/* the published AlpacaEval 2 leaderboard, reproduced from the raw annotations to 1e-6 */
static void test_alpaca_eval_reproduction(void **state)
{
    (void)state;
    char *csvp = tu_shared_path("data/alpaca_eval/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv");
    if (!csvp) {
        tu_skip("shared data absent (../shared/data/alpaca_eval): AlpacaEval reproduction");
    }
    char err[512];
    size_t csvlen;
    char *csv = arena_read_file(csvp, &csvlen, err, sizeof(err));
    assert_non_null(csv);
    const char *models[] = {"claude-2.1", "claude-2", "gpt-3.5-turbo-1106", "vicuna-13b-v1.5"};
    for (int m = 0; m < 4; m++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "data/alpaca_eval/%s.annotations.json", models[m]);
        char *path = tu_shared_path(rel);
        assert_non_null(path);
        size_t len;
        char *buf = arena_read_file(path, &len, err, sizeof(err));
        assert_non_null(buf);
        /* auto-detection picks alpaca-eval */
        ASSERT_EQ_INT(rater_format_detect(buf, len), RATER_FORMAT_ALPACA_EVAL);
        struct rater_battles *b = rater_battles_new();
        struct rater_prefs prefs = {0};
        struct rater_load_stats st;
        struct rater_load_opts o = {.name = path};
        ASSERT_EQ_INT(rater_formats_load(buf, len, &o, b, &prefs, &st, err, sizeof(err)),
                      ARENA_ERR_OK);
        ASSERT_EQ_INT(st.records, 805);
        const struct rater_prefs_model *pm = rater_prefs_find(&prefs, models[m], NULL);
        assert_non_null(pm);
        ASSERT_EQ_STR(pm->baseline, "gpt4_1106_preview");
        struct rater_winrate wr;
        rater_winrate_from_prefs(pm->p, pm->n, &wr);

        /* the published row */
        char key[128];
        snprintf(key, sizeof(key), "\n%s,", models[m]);
        const char *row = strstr(csv, key);
        assert_non_null(row);
        double pub_wr, pub_se, pub_dwr;
        unsigned long w, wb, d, n;
        ASSERT_EQ_INT(sscanf(row + strlen(key), "%lf,%lf,%lu,%lu,%lu,%lu,%lf", &pub_wr, &pub_se, &w,
                             &wb, &d, &n, &pub_dwr),
                      7);
        fprintf(stderr, "%s: win_rate %.10f (published %.10f) se %.10f (%.10f)\n", models[m],
                wr.win_rate, pub_wr, wr.standard_error, pub_se);
        ASSERT_NEAR(wr.win_rate, pub_wr, 1e-6);
        ASSERT_NEAR(wr.standard_error, pub_se, 1e-6);
        ASSERT_NEAR(wr.discrete_win_rate, pub_dwr, 1e-6);
        ASSERT_EQ_INT(wr.n_wins, w);
        ASSERT_EQ_INT(wr.n_wins_base, wb);
        ASSERT_EQ_INT(wr.n_draws, d);
        ASSERT_EQ_INT(wr.n_total, n);
        /* the battles carry the same discrete counts */
        struct rater_winrate bw;
        ASSERT_EQ_INT(
            rater_winrate_vs_baseline(b, models[m], "gpt4_1106_preview", &bw, err, sizeof(err)),
            ARENA_ERR_OK);
        ASSERT_EQ_INT(bw.n_wins, w);
        ASSERT_EQ_INT(bw.n_wins_base, wb);
        ASSERT_NEAR(bw.discrete_win_rate, pub_dwr, 1e-9);
        rater_prefs_fini(&prefs);
        rater_battles_destroy(b);
        free(buf);
        free(path);
    }
    free(csv);
    free(csvp);
}

/* preferences as numbers, strings, null and the legacy 0 draw */
static void test_alpaca_mixed_preferences(void **state)
{
    (void)state;
    const char *text =
        "[{\"generator_1\":\"base\",\"generator_2\":\"m\",\"preference\":2},\n"
        " {\"generator_1\":\"base\",\"generator_2\":\"m\",\"preference\":\"1.25\"},\n"
        " {\"generator_1\":\"base\",\"generator_2\":\"m\",\"preference\":null},\n"
        " {\"generator_1\":\"base\",\"generator_2\":\"m\",\"preference\":0},\n"
        " {\"generator_1\":\"base\",\"generator_2\":\"m\",\"preference\":1.5}]\n";
    struct rater_battles *b = rater_battles_new();
    struct rater_prefs prefs = {0};
    struct rater_load_stats st;
    struct rater_load_opts o = {.name = "a.json"};
    char err[256];
    ASSERT_EQ_INT(rater_formats_load(text, strlen(text), &o, b, &prefs, &st, err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(st.format, RATER_FORMAT_ALPACA_EVAL);
    ASSERT_EQ_INT(st.skipped_null, 1);
    ASSERT_EQ_INT(st.battles, 4);
    struct rater_winrate wr;
    rater_winrate_from_prefs(prefs.m[0].p, prefs.m[0].n, &wr);
    ASSERT_EQ_INT(wr.n_total, 4);
    ASSERT_EQ_INT(wr.n_draws, 2);
    ASSERT_EQ_INT(wr.n_wins, 1);
    ASSERT_EQ_INT(wr.n_wins_base, 1);
    ASSERT_NEAR(wr.win_rate, (1 + 0.25 + 0.5 + 0.5) / 4 * 100, 1e-12);
    ASSERT_NEAR(wr.discrete_win_rate, 50, 1e-12);
    rater_prefs_fini(&prefs);
    rater_battles_destroy(b);

    /* a preference outside [1, 2] is an error naming the line */
    const char *badp = "[{\"generator_1\":\"base\",\"generator_2\":\"m\",\"preference\":2},\n"
                       " {\"generator_1\":\"base\",\"generator_2\":\"m\",\"preference\":7}]";
    b = rater_battles_new();
    ASSERT_EQ_INT(load(badp, RATER_FORMAT_AUTO, false, b, &st, err, sizeof(err)), ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "in.json:2:"));
    assert_non_null(strstr(err, "outside [1, 2]"));
    rater_battles_destroy(b);
}

static void test_fastchat_and_bad_lines(void **state)
{
    (void)state;
    const char *text = "{\"model_a\":\"x\",\"model_b\":\"y\",\"winner\":\"model_a\"}\n"
                       "\n"
                       "{\"model_a\":\"x\",\"model_b\":\"y\",\"winner\":\"tie (bothbad)\"}\n"
                       "{\"model_a\":\"x\",\"model_b\":\"y\",\"winner\":\"banana\"}\n"
                       "this is not json\n"
                       "{\"model_a\":\"y\",\"model_b\":\"x\",\"winner\":\"model_b\"}\n";
    char err[256];
    struct rater_load_stats st;
    struct rater_battles *b = rater_battles_new();
    ASSERT_EQ_INT(load(text, RATER_FORMAT_AUTO, false, b, &st, err, sizeof(err)), ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "in.json:4: unknown winner 'banana'"));
    rater_battles_destroy(b);

    b = rater_battles_new();
    ASSERT_EQ_INT(load(text, RATER_FORMAT_AUTO, true, b, &st, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(st.format, RATER_FORMAT_FASTCHAT);
    ASSERT_EQ_INT(st.skipped_bad, 2);
    ASSERT_EQ_INT(st.records, 5);
    ASSERT_EQ_INT(rater_battles_count(b), 3);
    assert_non_null(strstr(st.first_bad, "in.json:4:"));
    uint64_t w, l, t;
    rater_battles_pair_counts(b, "x", "y", &w, &l, &t);
    ASSERT_EQ_INT(w, 2);
    ASSERT_EQ_INT(l, 0);
    ASSERT_EQ_INT(t, 1);
    rater_battles_destroy(b);

    /* JSON array: syntax error line is absolute; missing fields name the line */
    const char *arr = "[\n {\"model_a\":\"x\",\"model_b\":\"y\",\"winner\":\"model_a\"},\n"
                      " {\"model_a\":\"x\",\"winner\":\"model_a\"},\n"
                      " {\"model_a\":\"x\",\"model_b\":\"x\",\"winner\":\"model_a\"}\n]";
    b = rater_battles_new();
    ASSERT_EQ_INT(load(arr, RATER_FORMAT_FASTCHAT, false, b, &st, err, sizeof(err)),
                  ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "in.json:3: model_a/model_b"));
    rater_battles_destroy(b);
    b = rater_battles_new();
    ASSERT_EQ_INT(load(arr, RATER_FORMAT_FASTCHAT, true, b, &st, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(st.skipped_bad, 2);
    assert_non_null(strstr(st.first_bad, "in.json:3:"));
    ASSERT_EQ_INT(rater_battles_count(b), 1);
    rater_battles_destroy(b);
    const char *broken = "[\n {\"model_a\":\"x\",\"model_b\":\"y\",\"winner\":\"model_a\"},\n"
                         " {\"model_a\":\"x\",\n \"model_b\" \"y\"}]";
    b = rater_battles_new();
    ASSERT_EQ_INT(load(broken, RATER_FORMAT_FASTCHAT, true, b, &st, err, sizeof(err)),
                  ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "in.json:4: invalid JSON"));
    rater_battles_destroy(b);

    /* undetectable */
    b = rater_battles_new();
    ASSERT_EQ_INT(load("{\"a\":1}\n", RATER_FORMAT_AUTO, false, b, &st, err, sizeof(err)),
                  ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "cannot detect"));
    rater_battles_destroy(b);
}

static void test_results_format(void **state)
{
    (void)state;
    const char *text =
        "{\"battle_id\":\"1\",\"model_a\":\"x\",\"model_b\":\"y\",\"outcome\":\"OUTCOME_MODEL_A\","
        "\"weight\":1}\n"
        "{\"battle_id\":\"2\",\"model_a\":\"x\",\"model_b\":\"y\",\"outcome\":"
        "\"OUTCOME_JUDGE_ERROR\"}\n"
        "{\"battle_id\":\"3\",\"model_a\":\"x\",\"model_b\":\"y\",\"outcome\":\"OUTCOME_TIE\","
        "\"weight\":3}\n"
        "{\"battle_id\":\"4\",\"model_a\":\"x\",\"model_b\":\"y\",\"outcome\":"
        "\"OUTCOME_UNSPECIFIED\"}\n";
    char err[256];
    struct rater_load_stats st;
    struct rater_battles *b = rater_battles_new();
    ASSERT_EQ_INT(load(text, RATER_FORMAT_AUTO, false, b, &st, err, sizeof(err)), ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "in.json:4: outcome"));
    rater_battles_destroy(b);
    b = rater_battles_new();
    ASSERT_EQ_INT(load(text, RATER_FORMAT_RESULTS, true, b, &st, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(st.skipped_error, 1);
    ASSERT_EQ_INT(st.skipped_bad, 1);
    ASSERT_EQ_INT(rater_battles_count(b), 2);
    rater_battles_destroy(b);
}

static void test_arena_hard_format(void **state)
{
    (void)state;
    const char *text =
        "{\"question_id\":\"q1\",\"model\":\"m\",\"judge\":\"j\",\"games\":[{\"score\":\"A>>B\"},"
        "{\"score\":\"A>B\"}]}\n"
        "{\"question_id\":\"q2\",\"model\":\"m\",\"judge\":\"j\",\"games\":[{\"score\":null},"
        "{\"score\":\"B>>A\"}]}\n"
        "{\"question_id\":\"q3\",\"model\":\"m\",\"judge\":\"j\",\"games\":[{\"score\":\"A=B\"},"
        "{\"score\":\"A<<B\"}]}\n";
    char err[256];
    struct rater_load_stats st;
    struct rater_battles *b = rater_battles_new();
    ASSERT_EQ_INT(load(text, RATER_FORMAT_AUTO, false, b, &st, err, sizeof(err)), ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "in.json:3: game 2"));
    rater_battles_destroy(b);
    b = rater_battles_new();
    ASSERT_EQ_INT(load(text, RATER_FORMAT_ARENA_HARD, true, b, &st, err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(st.skipped_null, 1);
    ASSERT_EQ_INT(st.skipped_bad, 1);
    /* q1: baseline strong win (w3), model win (A>B in game 2); q2: baseline strong win */
    uint64_t w, l, t;
    rater_battles_pair_counts(b, "gpt-4-0314", "m", &w, &l, &t);
    ASSERT_EQ_INT(w, 2);
    ASSERT_EQ_INT(l, 1);
    ASSERT_EQ_INT(t, 0);
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 0;
    struct rater_table tb;
    ASSERT_EQ_INT(rater_compute(b, &o, &tb, err, sizeof(err)), ARENA_ERR_OK);
    /* weighted: 6 baseline wins vs 1 */
    ASSERT_NEAR(rater_table_find(&tb, "gpt-4-0314")->rating - rater_table_find(&tb, "m")->rating,
                400 * log10(6.0), 1e-3);
    rater_table_fini(&tb);
    rater_battles_destroy(b);
}

static void test_reference_and_consistency(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    const char *m[] = {"a", "b", "c", "d"};
    /* a > b > c > d, clearly */
    for (int i = 0; i < 4; i++) {
        for (int j = i + 1; j < 4; j++) {
            for (int k = 0; k < 400; k++) {
                rater_battles_add(b, m[i], m[j], k < 300 ? RATER_A_WINS : RATER_B_WINS, 1);
            }
        }
    }
    struct rater_opts o;
    rater_opts_default(&o);
    struct rater_table t;
    char err[256];
    ASSERT_EQ_INT(rater_compute(b, &o, &t, err, sizeof(err)), ARENA_ERR_OK);
    const char *csv = "model,rating,ci_low,ci_high\n"
                      "a,1300,1290,1310\n"
                      "\"b\",1200,1190,1210\n"
                      "d,1150,1140,1160\n" /* d above c: one discordant, separated pair */
                      "c,1100,1090,1110\n"
                      "zz,900,,\n";
    struct rater_reference ref;
    ASSERT_EQ_INT(rater_reference_load(csv, strlen(csv), "ref.csv", &ref, err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(ref.n, 5);
    assert_true(isnan(ref.rows[4].ci_low));
    struct rater_consistency c;
    ASSERT_EQ_INT(rater_consistency_compute(&t, &ref, &c, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(c.n_common, 4);
    ASSERT_EQ_INT(c.pairs, 6);
    ASSERT_NEAR(c.spearman, 0.8, 1e-12);
    ASSERT_NEAR(c.kendall_tau_b, 4.0 / 6.0, 1e-12);
    ASSERT_NEAR(c.separability, 1.0, 1e-12);
    ASSERT_EQ_INT(c.ref_separated, 6);
    ASSERT_NEAR(c.agreement_ci, 4.0 / 6.0, 1e-12);
    rater_reference_fini(&ref);

    const char *js = "{\"models\":[{\"model\":\"a\",\"rating\":1},{\"model\":\"b\",\"rating\":2}]}";
    ASSERT_EQ_INT(rater_reference_load(js, strlen(js), "ref.json", &ref, err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(rater_consistency_compute(&t, &ref, &c, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_NEAR(c.spearman, -1, 1e-12);
    assert_true(isnan(c.agreement_ci));
    rater_reference_fini(&ref);
    const char *badref = "model,rating\na,12\nb,oops\n";
    ASSERT_EQ_INT(rater_reference_load(badref, strlen(badref), "r.csv", &ref, err, sizeof(err)),
                  ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "r.csv:3:"));
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alpaca_mixed_preferences),
        cmocka_unit_test(test_fastchat_and_bad_lines),
        cmocka_unit_test(test_results_format),
        cmocka_unit_test(test_arena_hard_format),
        cmocka_unit_test(test_reference_and_consistency),
        cmocka_unit_test(test_alpaca_eval_reproduction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
