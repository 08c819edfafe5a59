/* Bench: 1,000,000 battles among 100 models, BT + 100 bootstrap rounds on 2 threads.
 * Prints wall times and peak RSS; asserts only correctness (never timings). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "arena/util.h"
#include "rater_engine.h"
#include "rater_rng.h"
#include "testutil.h"

static void bench_bt_1m(void **state)
{
    (void)state;
    enum { MODELS = 100, BATTLES = 1000000 };
    char names[MODELS][16];
    double truth[MODELS];
    struct rater_rng rng;
    rater_rng_seed(&rng, 2024);
    for (int i = 0; i < MODELS; i++) {
        snprintf(names[i], sizeof(names[i]), "model-%03d", i);
        truth[i] = 700 + 6 * i;
    }
    /* simulate first (not timed): pairs and outcomes */
    uint8_t *ia = arena_xmalloc(BATTLES), *ib = arena_xmalloc(BATTLES),
            *oc = arena_xmalloc(BATTLES);
    for (int n = 0; n < BATTLES; n++) {
        int i = (int)rater_rng_below(&rng, MODELS), j = (int)rater_rng_below(&rng, MODELS - 1);
        j += j >= i;
        double u = rater_rng_uniform(&rng);
        ia[n] = (uint8_t)i;
        ib[n] = (uint8_t)j;
        oc[n] = u < 0.08 ? RATER_TIE
                : rater_rng_uniform(&rng) < rater_expected(truth[i], truth[j], 400, 10)
                    ? RATER_A_WINS
                    : RATER_B_WINS;
    }
    uint64_t t0 = arena_mono_us();
    struct rater_battles *b = rater_battles_new();
    for (int n = 0; n < BATTLES; n++) {
        rater_battles_add(b, names[ia[n]], names[ib[n]], (enum rater_outcome)oc[n], 1);
    }
    uint64_t t1 = arena_mono_us();
    struct rater_opts o;
    rater_opts_default(&o);
    o.bootstrap = 100;
    o.threads = 2;
    struct rater_table t;
    char err[256];
    assert_int_equal(rater_compute(b, &o, &t, err, sizeof(err)), ARENA_ERR_OK);
    uint64_t t2 = arena_mono_us();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("bench rating: %d battles, %d models: ingest %.3f s, BT fit (%u Newton iterations) + "
           "%d bootstrap rounds on %d threads %.3f s, total %.3f s, peak RSS %.1f MB\n",
           BATTLES, MODELS, (double)(t1 - t0) / 1e6, t.iterations, o.bootstrap, o.threads,
           (double)(t2 - t1) / 1e6, (double)(t2 - t0) / 1e6, (double)ru.ru_maxrss / 1024.0);
    assert_int_equal(t.n, MODELS);
    assert_string_equal(t.rows[0].model, "model-099");
    assert_string_equal(t.rows[MODELS - 1].model, "model-000");
    rater_table_fini(&t);
    rater_battles_destroy(b);
    free(ia);
    free(ib);
    free(oc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(bench_bt_1m)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
