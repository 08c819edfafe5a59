/* test_offsets.c - out-of-order completion never commits past an unfinished offset. */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/offsets.h"
#include "arena/util.h"

static bool next(struct arena_offsets *o, const char **t, int32_t *p, int64_t *off)
{
    return arena_offsets_next_commit(o, t, p, off);
}

static void test_out_of_order(void **state)
{
    (void)state;
    struct arena_offsets *o = arena_offsets_new();
    const char *t;
    int32_t p;
    int64_t off;
    assert_false(next(o, &t, &p, &off));
    for (int64_t i = 10; i < 15; i++) {
        arena_offsets_begin(o, "arena.battles.requested", 3, i);
    }
    ASSERT_EQ_INT(arena_offsets_inflight(o), 5);
    /* nothing finished: the committable position is the first consumed offset */
    assert_true(next(o, &t, &p, &off));
    ASSERT_EQ_STR(t, "arena.battles.requested");
    ASSERT_EQ_INT(p, 3);
    ASSERT_EQ_INT(off, 10);
    assert_false(next(o, &t, &p, &off));
    /* 12 and 14 finish first: must not move past 10 */
    arena_offsets_done(o, "arena.battles.requested", 3, 12);
    arena_offsets_done(o, "arena.battles.requested", 3, 14);
    ASSERT_EQ_INT(arena_offsets_inflight(o), 3);
    assert_false(next(o, &t, &p, &off));
    arena_offsets_done(o, "arena.battles.requested", 3, 10);
    assert_true(next(o, &t, &p, &off));
    ASSERT_EQ_INT(off, 11);
    assert_false(next(o, &t, &p, &off));
    arena_offsets_done(o, "arena.battles.requested", 3, 11);
    assert_true(next(o, &t, &p, &off));
    ASSERT_EQ_INT(off, 13);
    arena_offsets_done(o, "arena.battles.requested", 3, 13);
    assert_true(next(o, &t, &p, &off));
    ASSERT_EQ_INT(off, 15); /* all done: highest done + 1 */
    ASSERT_EQ_INT(arena_offsets_inflight(o), 0);
    /* duplicate / unknown done is ignored */
    arena_offsets_done(o, "arena.battles.requested", 3, 13);
    arena_offsets_done(o, "arena.battles.requested", 3, 99);
    arena_offsets_done(o, "other", 0, 1);
    assert_false(next(o, &t, &p, &off));
    ASSERT_EQ_INT(arena_offsets_inflight(o), 0);
    arena_offsets_destroy(o);
    arena_offsets_destroy(NULL);
}

static void test_partitions_and_forget(void **state)
{
    (void)state;
    struct arena_offsets *o = arena_offsets_new();
    const char *t;
    int32_t p;
    int64_t off;
    arena_offsets_begin(o, "a", 0, 5);
    arena_offsets_begin(o, "a", 1, 100);
    arena_offsets_begin(o, "b", 0, 7);
    ASSERT_EQ_INT(arena_offsets_inflight(o), 3);
    int seen = 0;
    while (next(o, &t, &p, &off)) {
        seen++;
    }
    ASSERT_EQ_INT(seen, 3);
    arena_offsets_done(o, "a", 1, 100);
    assert_true(next(o, &t, &p, &off));
    ASSERT_EQ_STR(t, "a");
    ASSERT_EQ_INT(p, 1);
    ASSERT_EQ_INT(off, 101);
    assert_false(next(o, &t, &p, &off));
    arena_offsets_forget(o, "a", 0);
    ASSERT_EQ_INT(arena_offsets_inflight(o), 1);
    arena_offsets_done(o, "a", 0, 5); /* forgotten: no effect */
    assert_false(next(o, &t, &p, &off));
    arena_offsets_done(o, "b", 0, 7);
    assert_true(next(o, &t, &p, &off));
    ASSERT_EQ_STR(t, "b");
    ASSERT_EQ_INT(off, 8);
    arena_offsets_destroy(o);
}

/* Randomised against a naive model: a plain array of flags. */
static void test_random_vs_naive(void **state)
{
    (void)state;
    enum { N = 5000, PARTS = 3 };
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct arena_offsets *o = arena_offsets_new();
        int64_t *begun = calloc(PARTS, sizeof(int64_t));
        bool *done = calloc((size_t)PARTS * N, sizeof(bool));
        bool *started = calloc((size_t)PARTS * N, sizeof(bool));
        int64_t *last_commit = calloc(PARTS, sizeof(int64_t));
        for (int i = 0; i < PARTS; i++) {
            last_commit[i] = -1;
        }
        uint64_t rng = seed;
        size_t inflight = 0;
        for (int step = 0; step < 4 * N; step++) {
            rng = arena_mix64(rng);
            int part = (int)(rng % PARTS);
            rng = arena_mix64(rng);
            if ((rng & 1) && begun[part] < N) {
                /* gaps in offsets happen (compaction, transactions): skip some */
                int64_t off = begun[part];
                started[part * N + off] = true;
                arena_offsets_begin(o, "t", part, off);
                begun[part] = off + 1 + (int64_t)((rng >> 8) % 3 == 0);
                if (begun[part] > N) {
                    begun[part] = N;
                }
                inflight++;
            } else if (begun[part] > 0) {
                int64_t off = (int64_t)((rng >> 16) % (uint64_t)begun[part]);
                if (started[part * N + off] && !done[part * N + off]) {
                    done[part * N + off] = true;
                    inflight--;
                }
                arena_offsets_done(o, "t", part, off);
            }
            ASSERT_EQ_INT(arena_offsets_inflight(o), inflight);
            const char *t;
            int32_t p;
            int64_t c;
            while (arena_offsets_next_commit(o, &t, &p, &c)) {
                /* naive: lowest started-and-unfinished, else highest done + 1 */
                int64_t expect = -1, hi_done = -1;
                for (int64_t k = 0; k < begun[p]; k++) {
                    if (started[p * N + k] && !done[p * N + k]) {
                        expect = k;
                        break;
                    }
                    if (started[p * N + k] && done[p * N + k]) {
                        hi_done = k;
                    }
                }
                if (expect < 0) {
                    expect = hi_done + 1;
                }
                ASSERT_EQ_INT(c, expect);
                assert_true(c > last_commit[p]);
                last_commit[p] = c;
            }
        }
        free(begun);
        free(done);
        free(started);
        free(last_commit);
        arena_offsets_destroy(o);
    }
}

static void test_100k_inflight(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct arena_offsets *o = arena_offsets_new();
    for (int64_t i = 0; i < N; i++) {
        arena_offsets_begin(o, "big", 0, i);
    }
    ASSERT_EQ_INT(arena_offsets_inflight(o), N);
    /* complete everything except offset 0, in reverse */
    uint64_t t0 = arena_mono_us();
    for (int64_t i = N - 1; i >= 1; i--) {
        arena_offsets_done(o, "big", 0, i);
    }
    const char *t;
    int32_t p;
    int64_t c;
    assert_true(arena_offsets_next_commit(o, &t, &p, &c));
    ASSERT_EQ_INT(c, 0);
    arena_offsets_done(o, "big", 0, 0);
    assert_true(arena_offsets_next_commit(o, &t, &p, &c));
    ASSERT_EQ_INT(c, N);
    uint64_t us = arena_mono_us() - t0;
    printf("offsets: %d out-of-order completions in %.1f ms\n", N, (double)us / 1000.0);
    ASSERT_EQ_INT(arena_offsets_inflight(o), 0);
    arena_offsets_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_partitions_and_forget),
        cmocka_unit_test(test_random_vs_naive),
        cmocka_unit_test(test_100k_inflight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
