/* test_sampler_state.c - the byte-order upgrade of the sampler's store: a store written by the
 * older sampler (host-order = little-endian u64 counters and eval set versions) reads back the
 * same numbers through store_util's big-endian helpers after sampler_state_migrate_be(); the
 * upgrade runs once, leaves other values alone, and a fresh store is only marked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/store.h"
#include "arena/util.h"
#include "sampler_state.h"
#include "testutil.h"

static const char *const cfs[] = {"meta", "evalsets"};
enum { CF_META = 0, CF_SETS = 1 };
static const char *const counters[] = {"pool_size", "cursor", "issued", "eval_marked"};
static const struct sampler_state_layout layout = {
    .cf_meta = CF_META, .counters = counters, .n_counters = 4, .cf_sets = CF_SETS};

static struct arena_store *open_store(const char *dir)
{
    char err[256] = "";
    struct arena_store *s = arena_store_open(dir, cfs, 2, err, sizeof(err));
    if (!s) {
        fail_msg("store: %s", err);
    }
    return s;
}

static void put_le(struct arena_batch *b, int cf, const char *key, uint64_t v)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++) {
        le[i] = (uint8_t)(v >> (8 * i));
    }
    arena_batch_put(b, cf, key, strlen(key), le, 8);
}

static void test_migrate_old_store(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("sampler-state");
    char err[256];
    struct arena_store *s = open_store(dir);
    /* what the older sampler wrote: host-order counters, versions, and non-counter values */
    struct arena_batch *b = arena_batch_new();
    put_le(b, CF_META, "pool_size", 300);
    put_le(b, CF_META, "cursor", 0x0102030405060708ULL);
    put_le(b, CF_META, "eval_marked", 18);
    arena_batch_put(b, CF_META, "ratings_feed", 12, "{\"x\":1}", 7);
    put_le(b, CF_SETS, "v/wa", 2);
    put_le(b, CF_SETS, "v/hard", 1);
    arena_batch_put(b, CF_SETS, "i/wa@v1", 7, "{\"id\":\"wa@v1\"}", 14);
    ASSERT_EQ_INT(arena_store_write(s, b, true, err, sizeof(err)), ARENA_ERR_OK);
    arena_batch_destroy(b);
    /* before: the big-endian reader sees nonsense */
    assert_true(arena_store_get_u64(s, CF_META, "pool_size") != 300);
    size_t n = 99;
    ASSERT_EQ_INT(sampler_state_migrate_be(s, &layout, &n, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(n, 5); /* 3 counters (issued was never written) + 2 versions */
    arena_store_close(s);
    /* after a reopen: the same numbers, the format recorded, other values untouched */
    s = open_store(dir);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_META, "pool_size"), 300);
    assert_true(arena_store_get_u64(s, CF_META, "cursor") == 0x0102030405060708ULL);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_META, "eval_marked"), 18);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_META, "issued"), 0);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_SETS, "v/wa"), 2);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_SETS, "v/hard"), 1);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_META, SAMPLER_STATE_FORMAT_KEY),
                  SAMPLER_STATE_FORMAT_BE);
    char *v = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(arena_store_get(s, CF_META, "ratings_feed", 12, &v, &len), ARENA_ERR_OK);
    ASSERT_EQ_INT(len, 7);
    assert_memory_equal(v, "{\"x\":1}", 7);
    free(v);
    ASSERT_EQ_INT(arena_store_get(s, CF_SETS, "i/wa@v1", 7, &v, &len), ARENA_ERR_OK);
    ASSERT_EQ_INT(len, 14);
    free(v);
    /* once only: counters written big-endian since are not converted again */
    b = arena_batch_new();
    arena_batch_put_u64(b, CF_META, "pool_size", 301);
    ASSERT_EQ_INT(arena_store_write(s, b, true, err, sizeof(err)), ARENA_ERR_OK);
    arena_batch_destroy(b);
    ASSERT_EQ_INT(sampler_state_migrate_be(s, &layout, &n, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(n, 0);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_META, "pool_size"), 301);
    arena_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_fresh_store(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("sampler-state");
    char err[256];
    struct arena_store *s = open_store(dir);
    size_t n = 99;
    ASSERT_EQ_INT(sampler_state_migrate_be(s, &layout, &n, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(n, 0);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_META, SAMPLER_STATE_FORMAT_KEY),
                  SAMPLER_STATE_FORMAT_BE);
    /* the new sampler's own values survive later opens */
    struct arena_batch *b = arena_batch_new();
    arena_batch_put_u64(b, CF_META, "pool_size", 7);
    arena_batch_put_u64(b, CF_SETS, "v/wa", 3);
    ASSERT_EQ_INT(arena_store_write(s, b, true, err, sizeof(err)), ARENA_ERR_OK);
    arena_batch_destroy(b);
    ASSERT_EQ_INT(sampler_state_migrate_be(s, &layout, NULL, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_META, "pool_size"), 7);
    ASSERT_EQ_INT(arena_store_get_u64(s, CF_SETS, "v/wa"), 3);
    arena_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_old_store),
        cmocka_unit_test(test_fresh_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
