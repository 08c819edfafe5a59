/* test_metrics.c - Prometheus registry: exact exposition text, cumulative histogram buckets,
 * series identity, type conflicts, label escaping and exact totals under concurrent updates. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/metrics.h"

static void test_render_exact(void **state)
{
    (void)state;
    struct arena_metrics *m = arena_metrics_new("judge");
    struct arena_metric *a =
        arena_metrics_counter(m, "arena_battles_total", "Battles judged", "outcome=\"model_a\"");
    struct arena_metric *t =
        arena_metrics_counter(m, "arena_battles_total", "Battles judged", "outcome=\"tie\"");
    struct arena_metric *g = arena_metrics_gauge(m, "arena_inflight_battles", "In flight", "");
    arena_metric_inc(a);
    arena_metric_inc(a);
    arena_metric_inc(a);
    arena_metric_add(t, 2.5);
    arena_metric_set(g, 7);
    arena_metric_set(g, -1.25);
    char *text = arena_metrics_render(m);
    ASSERT_EQ_STR(text, "# HELP arena_service_up 1 while the service process runs\n"
                        "# TYPE arena_service_up gauge\n"
                        "arena_service_up{service=\"judge\",version=\"0.1.0\"} 1\n"
                        "# HELP arena_battles_total Battles judged\n"
                        "# TYPE arena_battles_total counter\n"
                        "arena_battles_total{outcome=\"model_a\"} 3\n"
                        "arena_battles_total{outcome=\"tie\"} 2.5\n"
                        "# HELP arena_inflight_battles In flight\n"
                        "# TYPE arena_inflight_battles gauge\n"
                        "arena_inflight_battles -1.25\n");
    free(text);
    arena_metrics_destroy(m);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    struct arena_metrics *m = arena_metrics_new("rater");
    const double b[] = {0.1, 1, 10};
    struct arena_metric *h = arena_metrics_histogram(m, "arena_model_call_duration_seconds",
                                                     "Call latency", "model=\"sim-a\"", b, 3);
    assert_non_null(h);
    arena_metric_observe(h, 0.05);
    arena_metric_observe(h, 0.1); /* le is inclusive */
    arena_metric_observe(h, 0.5);
    arena_metric_observe(h, 5);
    arena_metric_observe(h, 100);
    ASSERT_NEAR(arena_metric_value(h), 5, 0);
    char *text = arena_metrics_render(m);
    const char *expect = "# HELP arena_model_call_duration_seconds Call latency\n"
                         "# TYPE arena_model_call_duration_seconds histogram\n"
                         "arena_model_call_duration_seconds_bucket{model=\"sim-a\",le=\"0.1\"} 2\n"
                         "arena_model_call_duration_seconds_bucket{model=\"sim-a\",le=\"1\"} 3\n"
                         "arena_model_call_duration_seconds_bucket{model=\"sim-a\",le=\"10\"} 4\n"
                         "arena_model_call_duration_seconds_bucket{model=\"sim-a\",le=\"+Inf\"} 5\n"
                         "arena_model_call_duration_seconds_sum{model=\"sim-a\"} 105.65\n"
                         "arena_model_call_duration_seconds_count{model=\"sim-a\"} 5\n";
    assert_non_null(strstr(text, expect));
    free(text);

    /* no labels: le is the only label; default latency buckets render 13 + 1 buckets */
    struct arena_metric *f =
        arena_metrics_histogram(m, "arena_rater_fit_duration_seconds", "Fit time", "",
                                arena_metrics_latency_buckets, arena_metrics_latency_buckets_n);
    arena_metric_observe(f, 0.2);
    text = arena_metrics_render(m);
    assert_non_null(strstr(text, "arena_rater_fit_duration_seconds_bucket{le=\"0.1\"} 0\n"
                                 "arena_rater_fit_duration_seconds_bucket{le=\"0.25\"} 1\n"));
    assert_non_null(strstr(text, "arena_rater_fit_duration_seconds_bucket{le=\"+Inf\"} 1\n"
                                 "arena_rater_fit_duration_seconds_sum 0.2\n"
                                 "arena_rater_fit_duration_seconds_count 1\n"));
    free(text);

    const double bad[] = {1, 1};
    assert_null(arena_metrics_histogram(m, "arena_bad_seconds", "x", "", bad, 2));
    arena_metrics_destroy(m);
}

static void test_identity_and_conflicts(void **state)
{
    (void)state;
    struct arena_metrics *m = arena_metrics_new("x");
    struct arena_metric *a = arena_metrics_counter(m, "arena_x_total", "X", "k=\"1\"");
    struct arena_metric *b = arena_metrics_counter(m, "arena_x_total", "X", "k=\"1\"");
    struct arena_metric *c = arena_metrics_counter(m, "arena_x_total", "X", "k=\"2\"");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    /* the same name with another type is refused, and NULL series are no-ops */
    assert_null(arena_metrics_gauge(m, "arena_x_total", "X", "k=\"3\""));
    arena_metric_inc(NULL);
    assert_null(arena_metrics_counter(m, "9bad name", "X", ""));
    assert_null(arena_metrics_counter(m, "arena_y_total", "X", "{k=\"1\"}"));
    /* counters never go down */
    arena_metric_add(a, 5);
    arena_metric_add(a, -2);
    ASSERT_NEAR(arena_metric_value(a), 5, 0);
    /* incf builds labels and reuses the series */
    arena_metrics_incf(m, "arena_dlq_messages_total", "DLQ", 1, "topic=\"%s\",reason=\"%s\"",
                       "arena.prompts", "decode");
    arena_metrics_incf(m, "arena_dlq_messages_total", "DLQ", 2, "topic=\"%s\",reason=\"%s\"",
                       "arena.prompts", "decode");
    char *text = arena_metrics_render(m);
    assert_non_null(
        strstr(text, "arena_dlq_messages_total{topic=\"arena.prompts\",reason=\"decode\"} 3\n"));
    /* one HELP/TYPE per name even with several series */
    const char *p = strstr(text, "# TYPE arena_x_total counter");
    assert_non_null(p);
    assert_null(strstr(p + 1, "# TYPE arena_x_total"));
    free(text);
    /* many series: the hash grows and every series is still found */
    char labels[64];
    for (int i = 0; i < 500; i++) {
        snprintf(labels, sizeof(labels), "model=\"m%d\"", i);
        arena_metric_add(arena_metrics_counter(m, "arena_model_calls_total", "calls", labels), i);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(labels, sizeof(labels), "model=\"m%d\"", i);
        ASSERT_NEAR(
            arena_metric_value(arena_metrics_counter(m, "arena_model_calls_total", "c", labels)), i,
            0);
    }
    arena_metrics_destroy(m);
    arena_metrics_destroy(NULL);
}

static void test_label_escape(void **state)
{
    (void)state;
    char out[64];
    ASSERT_EQ_STR(arena_metrics_label("a\"b\\c\nd", out, sizeof(out)), "a\\\"b\\\\c\\nd");
    ASSERT_EQ_STR(arena_metrics_label("", out, sizeof(out)), "");
    /* truncation never splits an escape */
    char small[4];
    ASSERT_EQ_STR(arena_metrics_label("ab\"", small, sizeof(small)), "ab");
    /* the service name in arena_service_up is escaped */
    struct arena_metrics *m = arena_metrics_new("we\"ird");
    char *text = arena_metrics_render(m);
    assert_non_null(strstr(text, "arena_service_up{service=\"we\\\"ird\",version=\"0.1.0\"} 1\n"));
    free(text);
    arena_metrics_destroy(m);
}

struct worker {
    struct arena_metrics *m;
    struct arena_metric *c;
    struct arena_metric *h;
    struct arena_metric *g;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 100000; i++) {
        arena_metric_inc(w->c);
        arena_metric_observe(w->h, (i % 4) * 0.5); /* 0, .5, 1, 1.5 */
        arena_metric_add(w->g, 0.5);
        if (i % 10000 == 0) { /* registration and rendering race with updates */
            arena_metric_inc(arena_metrics_counter(w->m, "arena_x_total", "X", ""));
            free(arena_metrics_render(w->m));
        }
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    (void)state;
    struct arena_metrics *m = arena_metrics_new("x");
    const double b[] = {0.5, 1};
    struct worker w = {
        .m = m,
        .c = arena_metrics_counter(m, "arena_battles_issued_total", "issued", ""),
        .h = arena_metrics_histogram(m, "arena_h_seconds", "h", "", b, 2),
        .g = arena_metrics_gauge(m, "arena_g", "g", ""),
    };
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &w), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    ASSERT_NEAR(arena_metric_value(w.c), 400000, 0);
    ASSERT_NEAR(arena_metric_value(w.g), 200000, 0);
    ASSERT_NEAR(arena_metric_value(w.h), 400000, 0);
    ASSERT_NEAR(arena_metric_value(arena_metrics_counter(m, "arena_x_total", "X", "")), 40, 0);
    char *text = arena_metrics_render(m);
    assert_non_null(strstr(text, "arena_h_seconds_bucket{le=\"0.5\"} 200000\n"
                                 "arena_h_seconds_bucket{le=\"1\"} 300000\n"
                                 "arena_h_seconds_bucket{le=\"+Inf\"} 400000\n"
                                 "arena_h_seconds_sum 300000\n"
                                 "arena_h_seconds_count 400000\n"));
    assert_non_null(strstr(text, "arena_battles_issued_total 400000\n"));
    free(text);
    arena_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_identity_and_conflicts),
        cmocka_unit_test(test_label_escape),
        cmocka_unit_test(test_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
