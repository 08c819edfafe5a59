/* test_sampler_adaptive.c - adaptive pair selection (sampler_adaptive.h): CI overlap weights,
 * the feed's JSON, determinism per (prompt, snapshot), overlapping pairs chosen more often than
 * separated ones, unrated pairs first, all pairs before any rating. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "sampler_adaptive.h"
#include "sampler_match.h"

static const char *const models5[] = {"m-a", "m-b", "m-c", "m-d", "m-e"};

/* a snapshot from (model, rating, half-width, games) rows */
static void snap_make(struct sampler_ratings *r, const char *const *names, const double *rating,
                      const double *half, const uint64_t *games, size_t n)
{
    sampler_ratings_init(r);
    r->rows = calloc(n, sizeof(*r->rows));
    for (size_t i = 0; i < n; i++) {
        r->rows[i].model = strdup(names[i]);
        r->rows[i].rating = rating[i];
        r->rows[i].ci_low = rating[i] - half[i];
        r->rows[i].ci_high = rating[i] + half[i];
        r->rows[i].games = games[i];
    }
    r->n = n;
    r->battles = 1000;
}

static void prompt_name(int i, char out[40])
{
    snprintf(out, 40, "%032x", (unsigned)(i * 2654435761u));
}

static size_t pair_of(const struct sampler_pair *cands, size_t n, const struct sampler_pair *p)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(cands[i].a, p->a) && !strcmp(cands[i].b, p->b)) {
            return i;
        }
    }
    fail_msg("chosen pair %s-%s is not a candidate", p->a, p->b);
    return 0;
}

static void test_overlap(void **state)
{
    (void)state;
    ASSERT_NEAR(sampler_adaptive_overlap(0, 10, 0, 10), 1.0, 1e-12);
    ASSERT_NEAR(sampler_adaptive_overlap(0, 10, 5, 15), 5.0 / 15.0, 1e-12);
    ASSERT_NEAR(sampler_adaptive_overlap(5, 15, 0, 10), 5.0 / 15.0, 1e-12); /* symmetric */
    ASSERT_NEAR(sampler_adaptive_overlap(0, 10, 2, 4), 0.2, 1e-12);         /* nested */
    ASSERT_NEAR(sampler_adaptive_overlap(0, 10, 10, 20), 0.0, 1e-12);       /* touching */
    ASSERT_NEAR(sampler_adaptive_overlap(0, 10, 30, 40), 0.0, 1e-12);
    ASSERT_NEAR(sampler_adaptive_overlap(3, 3, 3, 3), 1.0, 1e-12); /* identical points */
    ASSERT_NEAR(sampler_adaptive_overlap(3, 3, 4, 4), 0.0, 1e-12);
}

static void test_parse(void **state)
{
    (void)state;
    struct sampler_ratings r;
    char err[256];
    const char *good =
        "{\"name\":\"wizardarena\",\"battles\":120,\"updated_at_ms\":17,\"models\":["
        "{\"model\":\"m-a\",\"rating\":1050.5,\"ci_low\":1020,\"ci_high\":1080,\"rank\":1,"
        "\"games\":60},{\"model\":\"m-b\",\"rating\":950,\"ci_low\":930,\"ci_high\":970,"
        "\"games\":60}]}";
    assert_int_equal(sampler_ratings_parse(good, strlen(good), &r, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(r.n, 2);
    ASSERT_EQ_INT(r.battles, 120);
    ASSERT_EQ_INT(r.updated_at_ms, 17);
    const struct sampler_rating *a = sampler_ratings_find(&r, "m-a");
    assert_non_null(a);
    ASSERT_NEAR(a->rating, 1050.5, 1e-9);
    ASSERT_NEAR(a->ci_low, 1020, 1e-9);
    ASSERT_EQ_INT(a->games, 60);
    assert_null(sampler_ratings_find(&r, "m-z"));
    sampler_ratings_fini(&r);

    struct {
        const char *json, *want;
    } bad[] = {
        {"{\"models\":[", "invalid JSON"},
        {"[1,2]", "\"models\" array"},
        {"{\"battles\":3}", "\"models\" array"},
        {"{\"battles\":-1,\"models\":[]}", "battles"},
        {"{\"models\":[{\"rating\":1,\"ci_low\":0,\"ci_high\":2,\"games\":1}]}", "models[0].model"},
        {"{\"models\":[{\"model\":\"x\",\"rating\":\"1\",\"ci_low\":0,\"ci_high\":2,\"games\":1}]}",
         "models[0].rating"},
        {"{\"models\":[{\"model\":\"x\",\"rating\":1,\"ci_low\":3,\"ci_high\":2,\"games\":1}]}",
         "ci_low 3 > ci_high 2"},
        {"{\"models\":[{\"model\":\"x\",\"rating\":1,\"ci_low\":0,\"ci_high\":2,\"games\":1},"
         "{\"model\":\"y\",\"rating\":1,\"ci_low\":0,\"ci_high\":2,\"games\":-4}]}",
         "models[1].games"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        assert_int_equal(
            sampler_ratings_parse(bad[i].json, strlen(bad[i].json), &r, err, sizeof(err)),
            ARENA_ERR_PARSE);
        if (!strstr(err, bad[i].want)) {
            fail_msg("case %zu: error '%s' does not name '%s'", i, err, bad[i].want);
        }
        ASSERT_EQ_INT(r.n, 0);
        assert_null(r.rows);
    }
}

/* Before any rating (no snapshot, or an empty one) adaptive is all pairs. */
static void test_no_ratings_all_pairs(void **state)
{
    (void)state;
    struct sampler_pair cands[16], out[16];
    size_t n = sampler_match_all_pairs(models5, 5, cands, 16);
    ASSERT_EQ_INT(n, 10);
    struct sampler_adaptive_opts o;
    sampler_adaptive_opts_default(&o);
    struct sampler_ratings empty;
    sampler_ratings_init(&empty);
    ASSERT_EQ_INT(sampler_adaptive_choose("p1", cands, n, 5, NULL, &o, out, 16), 10);
    ASSERT_EQ_INT(sampler_adaptive_choose("p1", cands, n, 5, &empty, &o, out, 16), 10);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(out[i].a, cands[i].a);
        assert_ptr_equal(out[i].b, cands[i].b);
    }
}

static void test_count(void **state)
{
    (void)state;
    struct sampler_adaptive_opts o;
    sampler_adaptive_opts_default(&o);
    ASSERT_EQ_INT(sampler_adaptive_count(&o, 5, 10), 4); /* default: models - 1 */
    o.pairs = 2;
    ASSERT_EQ_INT(sampler_adaptive_count(&o, 5, 10), 2);
    o.pairs = 50;
    ASSERT_EQ_INT(sampler_adaptive_count(&o, 5, 10), 10); /* never more than the candidates */
    o.pairs = 0;
    ASSERT_EQ_INT(sampler_adaptive_count(&o, 2, 1), 1);
}

/* a and b overlap heavily; c, d, e are far apart from everyone. */
static void close_pair_snapshot(struct sampler_ratings *r)
{
    const double rating[] = {1000, 1005, 1200, 800, 600};
    const double half[] = {30, 30, 20, 20, 20};
    const uint64_t games[] = {400, 400, 400, 400, 400};
    snap_make(r, models5, rating, half, games, 5);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct sampler_pair cands[16], out1[16], out2[16], out3[16];
    size_t n = sampler_match_all_pairs(models5, 5, cands, 16);
    struct sampler_adaptive_opts o;
    sampler_adaptive_opts_default(&o);
    struct sampler_ratings r, rev;
    close_pair_snapshot(&r);
    /* the same snapshot with rows in another order */
    const char *names[] = {"m-e", "m-d", "m-c", "m-b", "m-a"};
    const double rating[] = {600, 800, 1200, 1005, 1000};
    const double half[] = {20, 20, 20, 30, 30};
    const uint64_t games[] = {400, 400, 400, 400, 400};
    snap_make(&rev, names, rating, half, games, 5);
    int differs = 0;
    for (int i = 0; i < 200; i++) {
        char pid[40], other[40];
        prompt_name(i, pid);
        prompt_name(i + 1, other);
        size_t k1 = sampler_adaptive_choose(pid, cands, n, 5, &r, &o, out1, 16);
        size_t k2 = sampler_adaptive_choose(pid, cands, n, 5, &rev, &o, out2, 16);
        size_t k3 = sampler_adaptive_choose(other, cands, n, 5, &r, &o, out3, 16);
        ASSERT_EQ_INT(k1, 4);
        ASSERT_EQ_INT(k2, 4);
        ASSERT_EQ_INT(k3, 4);
        assert_memory_equal(out1, out2, k1 * sizeof(out1[0]));
        differs += memcmp(out1, out3, k1 * sizeof(out1[0])) != 0;
        /* no pair twice, in candidate order */
        for (size_t j = 1; j < k1; j++) {
            assert_true(pair_of(cands, n, &out1[j - 1]) < pair_of(cands, n, &out1[j]));
        }
    }
    /* the choice depends on the prompt: different prompts get different separated pairs */
    assert_true(differs > 100);
    /* another seed, another draw */
    struct sampler_adaptive_opts o2 = o;
    o2.seed = 7;
    int seed_differs = 0;
    for (int i = 0; i < 50; i++) {
        char pid[40];
        prompt_name(i, pid);
        sampler_adaptive_choose(pid, cands, n, 5, &r, &o, out1, 16);
        sampler_adaptive_choose(pid, cands, n, 5, &r, &o2, out2, 16);
        seed_differs += memcmp(out1, out2, 4 * sizeof(out1[0])) != 0;
    }
    assert_true(seed_differs > 10);
    sampler_ratings_fini(&r);
    sampler_ratings_fini(&rev);
}

/* Overlapping CIs are chosen more often than separated ones, in proportion to the weights. */
static void test_overlap_favoured(void **state)
{
    (void)state;
    struct sampler_pair cands[16], out[16];
    size_t n = sampler_match_all_pairs(models5, 5, cands, 16);
    struct sampler_adaptive_opts o;
    sampler_adaptive_opts_default(&o);
    struct sampler_ratings r;
    close_pair_snapshot(&r);
    const int prompts = 4000;
    unsigned count[16] = {0};
    for (int i = 0; i < prompts; i++) {
        char pid[40];
        prompt_name(i, pid);
        size_t k = sampler_adaptive_choose(pid, cands, n, 5, &r, &o, out, 16);
        for (size_t j = 0; j < k; j++) {
            count[pair_of(cands, n, &out[j])]++;
        }
    }
    /* pair 0 = (m-a, m-b): overlap 55/65; every other pair is separated (floor weight). With 4
     * pairs per prompt the close pair is (nearly) always one of them; each separated pair fills
     * about 3/9 of the prompts. */
    double close = (double)count[0] / prompts;
    printf("close pair in %.3f of prompts; separated:", close);
    for (size_t i = 1; i < n; i++) {
        printf(" %.3f", (double)count[i] / prompts);
        assert_true(count[i] < count[0] / 2);
        assert_true(count[i] > (unsigned)prompts / 6); /* separated pairs are still re-checked */
    }
    printf("\n");
    assert_true(close > 0.95);

    /* one pair per prompt: chosen with probability ~ proportional to the weight. Ratings where
     * (a,b) overlap 0.6, (c,d) 1/7 and the rest are separated. */
    const double rating[] = {1000, 1010, 1300, 1320, 500};
    const double half[] = {20, 20, 13.333333, 13.333333, 10};
    const uint64_t games[] = {100, 100, 100, 100, 100};
    struct sampler_ratings r2;
    snap_make(&r2, models5, rating, half, games, 5);
    double w_ab = sampler_adaptive_weight(&r2, "m-a", "m-b", &o);
    double w_cd = sampler_adaptive_weight(&r2, "m-c", "m-d", &o);
    ASSERT_NEAR(w_ab, 30.0 / 50.0, 1e-6);
    ASSERT_NEAR(w_cd, (26.666666 - 20) / (26.666666 + 20), 1e-3);
    ASSERT_NEAR(sampler_adaptive_weight(&r2, "m-a", "m-e", &o), o.floor, 1e-12);
    o.pairs = 1;
    unsigned ab = 0, cd = 0, other = 0;
    for (int i = 0; i < prompts; i++) {
        char pid[40];
        prompt_name(i, pid);
        ASSERT_EQ_INT(sampler_adaptive_choose(pid, cands, n, 5, &r2, &o, out, 16), 1);
        size_t idx = pair_of(cands, n, &out[0]);
        if (idx == 0) {
            ab++;
        } else if (!strcmp(out[0].a, "m-c") && !strcmp(out[0].b, "m-d")) {
            cd++;
        } else {
            other++;
        }
    }
    /* k = 1: P(pair) = w / sum(w) = 0.6 / (0.6 + 0.143 + 8 * 0.02) = 0.66, then 0.16, 0.18 */
    double sum = w_ab + w_cd + 8 * o.floor;
    printf("one pair: (a,b) %u (expected %.0f), (c,d) %u (expected %.0f), others %u\n", ab,
           prompts * w_ab / sum, cd, prompts * w_cd / sum, other);
    ASSERT_NEAR((double)ab / prompts, w_ab / sum, 0.04);
    ASSERT_NEAR((double)cd / prompts, w_cd / sum, 0.04);
    assert_true(ab > cd && cd > other / 8);
    sampler_ratings_fini(&r);
    sampler_ratings_fini(&r2);
}

/* A model with few games (or absent from the snapshot) makes its pairs unrated: they come
 * before every rated pair, and across prompts every unrated pair is covered. */
static void test_unrated_first(void **state)
{
    (void)state;
    struct sampler_pair cands[16], out[16];
    size_t n = sampler_match_all_pairs(models5, 5, cands, 16);
    struct sampler_adaptive_opts o;
    sampler_adaptive_opts_default(&o);
    const double rating[] = {1000, 1005, 1200, 800, 900};
    const double half[] = {30, 30, 20, 20, 200};
    const uint64_t games[] = {400, 400, 400, 400, 3}; /* m-e: 3 games < min_games 20 */
    struct sampler_ratings r;
    snap_make(&r, models5, rating, half, games, 5);
    assert_true(sampler_adaptive_weight(&r, "m-a", "m-e", &o) < 0);
    assert_true(sampler_adaptive_weight(&r, "m-a", "m-b", &o) > 0);
    for (int i = 0; i < 100; i++) { /* 4 pairs per prompt = exactly the 4 pairs of m-e */
        char pid[40];
        prompt_name(i, pid);
        size_t k = sampler_adaptive_choose(pid, cands, n, 5, &r, &o, out, 16);
        ASSERT_EQ_INT(k, 4);
        for (size_t j = 0; j < k; j++) {
            assert_true(!strcmp(out[j].a, "m-e") || !strcmp(out[j].b, "m-e"));
        }
    }
    o.pairs = 2; /* 2 pairs per prompt: both unrated, and all four get covered */
    unsigned cover[16] = {0};
    for (int i = 0; i < 200; i++) {
        char pid[40];
        prompt_name(i, pid);
        size_t k = sampler_adaptive_choose(pid, cands, n, 5, &r, &o, out, 16);
        ASSERT_EQ_INT(k, 2);
        for (size_t j = 0; j < k; j++) {
            assert_true(!strcmp(out[j].a, "m-e") || !strcmp(out[j].b, "m-e"));
            cover[pair_of(cands, n, &out[j])]++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        bool has_e = !strcmp(cands[i].a, "m-e") || !strcmp(cands[i].b, "m-e");
        if (has_e) {
            assert_true(cover[i] > 50); /* ~100 each */
        } else {
            ASSERT_EQ_INT(cover[i], 0);
        }
    }
    /* a model missing from the snapshot (a new model joins) is unrated too */
    const char *names4[] = {"m-a", "m-b", "m-c", "m-d"};
    struct sampler_ratings r4;
    snap_make(&r4, names4, rating, half, games, 4);
    assert_true(sampler_adaptive_weight(&r4, "m-e", "m-a", &o) < 0);
    o.pairs = 4;
    char pid[40];
    prompt_name(1, pid);
    ASSERT_EQ_INT(sampler_adaptive_choose(pid, cands, n, 5, &r4, &o, out, 16), 4);
    for (size_t j = 0; j < 4; j++) {
        assert_true(!strcmp(out[j].a, "m-e") || !strcmp(out[j].b, "m-e"));
    }
    /* all models below min_games: a uniform spread over every pair (the bootstrap) */
    const uint64_t few[] = {5, 5, 5, 5, 5};
    struct sampler_ratings boot;
    snap_make(&boot, models5, rating, half, few, 5);
    unsigned spread[16] = {0};
    for (int i = 0; i < 1000; i++) {
        prompt_name(i, pid);
        size_t k = sampler_adaptive_choose(pid, cands, n, 5, &boot, &o, out, 16);
        for (size_t j = 0; j < k; j++) {
            spread[pair_of(cands, n, &out[j])]++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(spread[i] > 300 && spread[i] < 500); /* 400 expected each */
    }
    sampler_ratings_fini(&r);
    sampler_ratings_fini(&r4);
    sampler_ratings_fini(&boot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_no_ratings_all_pairs),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_overlap_favoured),
        cmocka_unit_test(test_unrated_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
