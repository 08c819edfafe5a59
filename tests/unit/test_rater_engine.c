/* Rating engine: BT MLE against closed forms and simulations, ties, anchors, bootstrap
 * reproducibility, online Elo (FastChat compute_elo). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rater_engine.h"
#include "rater_rng.h"
#include "testutil.h"

static void add_n(struct rater_battles *b, const char *a, const char *bb, enum rater_outcome o,
                  int n, double w)
{
    for (int i = 0; i < n; i++) {
        rater_battles_add(b, a, bb, o, w);
    }
}

static double rating_of(const struct rater_table *t, const char *m)
{
    const struct rater_row *r = rater_table_find(t, m);
    assert_non_null(r);
    return r->rating;
}

/* two models: the BT gap is 400*log10(w/l) and the mean is 1000 */
static void test_two_models_gap(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    add_n(b, "x", "y", RATER_A_WINS, 600, 1);
    add_n(b, "y", "x", RATER_A_WINS, 200, 1);
    ASSERT_EQ_INT(rater_battles_count(b), 800);
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 0;
    struct rater_table t;
    char err[256];
    ASSERT_EQ_INT(rater_compute(b, &o, &t, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(t.n, 2);
    ASSERT_EQ_STR(t.rows[0].model, "x");
    ASSERT_NEAR(rating_of(&t, "x") - rating_of(&t, "y"), 400 * log10(3.0), 1e-4);
    ASSERT_NEAR((rating_of(&t, "x") + rating_of(&t, "y")) / 2, 1000, 1e-6);
    ASSERT_EQ_INT(t.rows[0].wins, 600);
    ASSERT_EQ_INT(t.rows[0].losses, 200);
    ASSERT_EQ_INT(t.rows[0].games, 800);
    ASSERT_EQ_INT(t.components, 1);
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

/* a tie counts half a win each side: 300 wins, 100 losses, 200 ties == 400 : 200 */
static void test_ties_half_win(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    add_n(b, "x", "y", RATER_A_WINS, 300, 1);
    add_n(b, "x", "y", RATER_B_WINS, 100, 1);
    add_n(b, "y", "x", RATER_TIE, 200, 1);
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 0;
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    ASSERT_NEAR(rating_of(&t, "x") - rating_of(&t, "y"), 400 * log10(400.0 / 200.0), 1e-4);
    ASSERT_EQ_INT(rater_table_find(&t, "x")->ties, 200);
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

/* weights count as repeated battles (Arena-Hard's strong verdicts) */
static void test_weights(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    add_n(b, "x", "y", RATER_A_WINS, 100, 3);
    add_n(b, "x", "y", RATER_B_WINS, 100, 1);
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 0;
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    ASSERT_NEAR(rating_of(&t, "x") - rating_of(&t, "y"), 400 * log10(3.0), 1e-4);
    /* counts are weight-free */
    ASSERT_EQ_INT(rater_table_find(&t, "x")->wins, 100);
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

/* star graph: everyone vs one baseline; BT's predicted win rate vs the baseline equals the
 * observed (W + T/2) / N */
static void test_star_identity(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    const int w[] = {700, 300, 120, 499, 5};
    const int l[] = {250, 600, 800, 480, 900};
    const int tt[] = {50, 100, 80, 21, 95};
    char name[16];
    for (int m = 0; m < 5; m++) {
        snprintf(name, sizeof(name), "m%d", m);
        add_n(b, name, "base", RATER_A_WINS, w[m], 1);
        add_n(b, "base", name, RATER_A_WINS, l[m], 1);
        add_n(b, name, "base", RATER_TIE, tt[m], 1);
    }
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 0;
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    double rb = rating_of(&t, "base");
    for (int m = 0; m < 5; m++) {
        snprintf(name, sizeof(name), "m%d", m);
        double obs = (w[m] + 0.5 * tt[m]) / (double)(w[m] + l[m] + tt[m]);
        ASSERT_NEAR(rater_expected(rating_of(&t, name), rb, 400, 10), obs, 1e-6);
    }
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

static void test_anchor(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    add_n(b, "x", "y", RATER_A_WINS, 60, 1);
    add_n(b, "x", "y", RATER_B_WINS, 40, 1);
    add_n(b, "y", "z", RATER_A_WINS, 70, 1);
    add_n(b, "y", "z", RATER_B_WINS, 30, 1);
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 50;
    struct rater_table c, a;
    assert_int_equal(rater_compute(b, &o, &c, NULL, 0), ARENA_ERR_OK);
    o.anchor_model = "z";
    o.anchor_rating = 1114;
    assert_int_equal(rater_compute(b, &o, &a, NULL, 0), ARENA_ERR_OK);
    ASSERT_NEAR(rating_of(&a, "z"), 1114, 1e-9);
    ASSERT_NEAR(rating_of(&a, "x") - rating_of(&a, "z"), rating_of(&c, "x") - rating_of(&c, "z"),
                1e-6);
    /* the anchor is fixed in every bootstrap round */
    ASSERT_NEAR(rater_table_find(&a, "z")->ci_low, 1114, 1e-9);
    ASSERT_NEAR(rater_table_find(&a, "z")->ci_high, 1114, 1e-9);
    rater_table_fini(&a);
    o.anchor_model = "nobody";
    char err[256] = "";
    ASSERT_EQ_INT(rater_compute(b, &o, &a, err, sizeof(err)), ARENA_ERR_INVALID);
    assert_non_null(strstr(err, "nobody"));
    o.anchor_model = NULL;
    o.method = "glicko";
    ASSERT_EQ_INT(rater_compute(b, &o, &a, err, sizeof(err)), ARENA_ERR_INVALID);
    assert_non_null(strstr(err, "glicko"));
    rater_table_fini(&c);
    rater_battles_destroy(b);
}

/* a model that never lost stays finite; a disconnected graph is reported */
static void test_regularised_and_disconnected(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    add_n(b, "champ", "x", RATER_A_WINS, 20, 1);
    add_n(b, "x", "y", RATER_A_WINS, 10, 1);
    add_n(b, "x", "y", RATER_B_WINS, 10, 1);
    add_n(b, "p", "q", RATER_A_WINS, 5, 1);
    add_n(b, "p", "q", RATER_B_WINS, 5, 1);
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 20;
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    ASSERT_EQ_INT(t.components, 2);
    ASSERT_EQ_STR(t.rows[0].model, "champ");
    for (size_t i = 0; i < t.n; i++) {
        assert_true(isfinite(t.rows[i].rating));
        assert_true(isfinite(t.rows[i].ci_low) && isfinite(t.rows[i].ci_high));
        assert_true(t.rows[i].ci_low <= t.rows[i].ci_high + 1e-9);
    }
    assert_true(rating_of(&t, "champ") > rating_of(&t, "x") + 400);
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

/* 8 models with known ratings, 50k battles: the fit recovers them within the 95% CI */
static void test_simulated_recovery(void **state)
{
    (void)state;
    const double truth[8] = {1250, 1180, 1100, 1040, 1000, 950, 880, 600};
    struct rater_rng rng;
    rater_rng_seed(&rng, 7);
    struct rater_battles *b = rater_battles_new();
    char na[8], nb[8];
    for (int n = 0; n < 50000; n++) {
        int i = (int)rater_rng_below(&rng, 8), j = (int)rater_rng_below(&rng, 7);
        j += j >= i;
        snprintf(na, sizeof(na), "m%d", i);
        snprintf(nb, sizeof(nb), "m%d", j);
        double pa = rater_expected(truth[i], truth[j], 400, 10);
        double u = rater_rng_uniform(&rng);
        /* 10% ties, the rest by BT */
        enum rater_outcome o = u < 0.1                        ? RATER_TIE
                               : rater_rng_uniform(&rng) < pa ? RATER_A_WINS
                                                              : RATER_B_WINS;
        rater_battles_add(b, na, nb, o, 1);
    }
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 200;
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    /* ties shrink BT gaps under the half-win convention, so only the order and sensible
     * intervals are expected here (recovery of the values: test_simulated_no_ties_ci) */
    for (int i = 0; i < 8; i++) {
        snprintf(na, sizeof(na), "m%d", i);
        const struct rater_row *r = rater_table_find(&t, na);
        assert_true(r->ci_high - r->ci_low < 40);
        assert_true(r->ci_low <= r->rating && r->rating <= r->ci_high);
        ASSERT_EQ_STR(t.rows[i].model, na);
    }
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

/* without ties the true ratings lie inside the CIs */
static void test_simulated_no_ties_ci(void **state)
{
    (void)state;
    const double truth[8] = {1250, 1180, 1100, 1040, 1000, 950, 880, 600};
    struct rater_rng rng;
    rater_rng_seed(&rng, 99);
    struct rater_battles *b = rater_battles_new();
    char na[8], nb[8];
    for (int n = 0; n < 50000; n++) {
        int i = (int)rater_rng_below(&rng, 8), j = (int)rater_rng_below(&rng, 7);
        j += j >= i;
        snprintf(na, sizeof(na), "m%d", i);
        snprintf(nb, sizeof(nb), "m%d", j);
        double pa = rater_expected(truth[i], truth[j], 400, 10);
        rater_battles_add(b, na, nb, rater_rng_uniform(&rng) < pa ? RATER_A_WINS : RATER_B_WINS, 1);
    }
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 200;
    o.anchor_model = "m4";
    o.anchor_rating = 1000;
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    int inside = 0;
    for (int i = 0; i < 8; i++) {
        snprintf(na, sizeof(na), "m%d", i);
        const struct rater_row *r = rater_table_find(&t, na);
        if (truth[i] >= r->ci_low - 1e-9 && truth[i] <= r->ci_high + 1e-9) {
            inside++;
        } else {
            fprintf(stderr, "%s truth %.1f ci [%.1f, %.1f]\n", na, truth[i], r->ci_low, r->ci_high);
        }
        ASSERT_NEAR(r->rating, truth[i], 25);
    }
    assert_true(inside >= 7); /* 95% intervals: 7 of 8 at least */
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

static struct rater_battles *small_log(void)
{
    struct rater_battles *b = rater_battles_new();
    struct rater_rng rng;
    rater_rng_seed(&rng, 3);
    const char *m[] = {"a", "b", "c", "d", "e"};
    for (int n = 0; n < 3000; n++) {
        int i = (int)rater_rng_below(&rng, 5), j = (int)rater_rng_below(&rng, 4);
        j += j >= i;
        rater_battles_add(b, m[i], m[j], (enum rater_outcome)rater_rng_below(&rng, 3),
                          i == 0 ? 3 : 1);
    }
    return b;
}

static void test_bootstrap_reproducible(void **state)
{
    (void)state;
    struct rater_battles *b = small_log();
    const char *methods[] = {"bt", "elo"};
    for (int mi = 0; mi < 2; mi++) {
        struct rater_opts o;
        rater_opts_default(&o);
        o.method = methods[mi];
        o.bootstrap = 40;
        struct rater_table t1, t4, t1b, other;
        o.threads = 1;
        assert_int_equal(rater_compute(b, &o, &t1, NULL, 0), ARENA_ERR_OK);
        assert_int_equal(rater_compute(b, &o, &t1b, NULL, 0), ARENA_ERR_OK);
        o.threads = 4;
        assert_int_equal(rater_compute(b, &o, &t4, NULL, 0), ARENA_ERR_OK);
        o.seed = 43;
        assert_int_equal(rater_compute(b, &o, &other, NULL, 0), ARENA_ERR_OK);
        int differs = 0;
        for (size_t i = 0; i < t1.n; i++) {
            ASSERT_EQ_STR(t1.rows[i].model, t4.rows[i].model);
            assert_true(t1.rows[i].ci_low == t4.rows[i].ci_low);
            assert_true(t1.rows[i].ci_high == t4.rows[i].ci_high);
            assert_true(t1.rows[i].ci_low == t1b.rows[i].ci_low);
            const struct rater_row *r = rater_table_find(&other, t1.rows[i].model);
            differs += r->ci_low != t1.rows[i].ci_low;
        }
        assert_true(differs > 0); /* another seed, other intervals */
        rater_table_fini(&t1);
        rater_table_fini(&t1b);
        rater_table_fini(&t4);
        rater_table_fini(&other);
    }
    rater_battles_destroy(b);
}

static void test_rank_from_ci(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    add_n(b, "top", "mid", RATER_A_WINS, 900, 1);
    add_n(b, "top", "mid", RATER_B_WINS, 100, 1);
    add_n(b, "mid", "mid2", RATER_A_WINS, 501, 1);
    add_n(b, "mid", "mid2", RATER_B_WINS, 499, 1);
    struct rater_opts o;
    rater_opts_default(&o);
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    ASSERT_EQ_INT(rater_table_find(&t, "top")->rank, 1);
    ASSERT_EQ_INT(rater_table_find(&t, "mid")->rank, 2);
    ASSERT_EQ_INT(rater_table_find(&t, "mid2")->rank, 2); /* CIs of mid and mid2 overlap */
    rater_table_fini(&t);
    rater_battles_destroy(b);
}

/* FastChat compute_elo by hand: two battles */
static void test_online_elo(void **state)
{
    (void)state;
    struct rater_elo *e = rater_elo_new(4, 400, 10, 1000);
    rater_elo_update(e, "a", "b", RATER_A_WINS);
    ASSERT_NEAR(rater_elo_rating(e, "a"), 1002, 1e-12);
    ASSERT_NEAR(rater_elo_rating(e, "b"), 998, 1e-12);
    rater_elo_update(e, "b", "a", RATER_TIE);
    double ea = 1 / (1 + pow(10, (1002.0 - 998.0) / 400)); /* b's expectation */
    ASSERT_NEAR(rater_elo_rating(e, "b"), 998 + 4 * (0.5 - ea), 1e-12);
    ASSERT_NEAR(rater_elo_rating(e, "unseen"), 1000, 0);
    ASSERT_EQ_INT(rater_elo_models(e), 2);
    rater_elo_destroy(e);
    rater_elo_destroy(NULL);

    /* the batch elo method replays the log in order, identically */
    struct rater_battles *b = small_log();
    struct rater_opts o;
    rater_opts_default(&o);
    o.method = "elo";
    o.bootstrap = 0;
    o.elo_k = 4;
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    /* weights scale K: replay with the same K * w through the online API is not possible, so
     * compare with a weight-1 log */
    rater_table_fini(&t);
    rater_battles_destroy(b);

    b = rater_battles_new();
    e = rater_elo_new(4, 400, 10, 1000);
    struct rater_rng rng;
    rater_rng_seed(&rng, 11);
    const char *m[] = {"a", "b", "c", "d"};
    for (int n = 0; n < 2000; n++) {
        int i = (int)rater_rng_below(&rng, 4), j = (int)rater_rng_below(&rng, 3);
        j += j >= i;
        enum rater_outcome oc = (enum rater_outcome)rater_rng_below(&rng, 3);
        rater_battles_add(b, m[i], m[j], oc, 1);
        rater_elo_update(e, m[i], m[j], oc);
    }
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    for (int i = 0; i < 4; i++) {
        ASSERT_NEAR(rating_of(&t, m[i]), rater_elo_rating(e, m[i]), 1e-9);
    }
    rater_table_fini(&t);
    rater_elo_destroy(e);
    rater_battles_destroy(b);
}

static void test_rejects_bad_battles(void **state)
{
    (void)state;
    struct rater_battles *b = rater_battles_new();
    rater_battles_add(b, "a", "a", RATER_A_WINS, 1);
    rater_battles_add(b, "a", "", RATER_A_WINS, 1);
    rater_battles_add(b, "a", "b", (enum rater_outcome)7, 1);
    rater_battles_add(b, "a", "b", RATER_A_WINS, NAN);
    rater_battles_add(b, "a", "b", RATER_A_WINS, -1);
    rater_battles_add(b, NULL, "b", RATER_A_WINS, 1);
    ASSERT_EQ_INT(rater_battles_count(b), 0);
    ASSERT_EQ_INT(rater_battles_rejected(b), 6);
    ASSERT_EQ_INT(rater_battles_models(b), 0);
    struct rater_opts o;
    rater_opts_default(&o);
    struct rater_table t;
    assert_int_equal(rater_compute(b, &o, &t, NULL, 0), ARENA_ERR_OK);
    ASSERT_EQ_INT(t.n, 0);
    rater_table_fini(&t);
    rater_battles_destroy(b);
    rater_battles_destroy(NULL);
}

/* the binomial sampler behind the bootstrap: mean and variance */
static void test_binomial(void **state)
{
    (void)state;
    struct rater_rng rng;
    rater_rng_seed(&rng, 5);
    const struct {
        uint64_t n;
        double p;
    } cases[] = {{1000000, 0.3}, {1000000, 1e-6}, {50, 0.5}, {1000, 0.999}, {30, 0.2}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        double s = 0, s2 = 0;
        const int N = 20000;
        for (int i = 0; i < N; i++) {
            uint64_t x = rater_rng_binomial(&rng, cases[c].n, cases[c].p);
            assert_true(x <= cases[c].n);
            s += (double)x;
            s2 += (double)x * (double)x;
        }
        double mean = s / N, var = s2 / N - mean * mean;
        double em = (double)cases[c].n * cases[c].p, ev = em * (1 - cases[c].p);
        ASSERT_NEAR(mean, em, 5 * sqrt(ev / N) + 1e-9);
        ASSERT_NEAR(var, ev, 0.05 * ev + 1e-9);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_models_gap),
        cmocka_unit_test(test_ties_half_win),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_star_identity),
        cmocka_unit_test(test_anchor),
        cmocka_unit_test(test_regularised_and_disconnected),
        cmocka_unit_test(test_simulated_recovery),
        cmocka_unit_test(test_simulated_no_ties_ci),
        cmocka_unit_test(test_bootstrap_reproducible),
        cmocka_unit_test(test_rank_from_ci),
        cmocka_unit_test(test_online_elo),
        cmocka_unit_test(test_rejects_bad_battles),
        cmocka_unit_test(test_binomial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
