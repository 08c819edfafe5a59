/* test_store.c - the RocksDB state store: keys, column families, atomic batches with offsets,
 * reopen, prefix iteration, errors. Real RocksDB in a temp dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/store.h"
#include "testutil.h"

static const char *const cfs[] = {"ratings", "battles"};
enum { CF_RATINGS = 0, CF_BATTLES = 1 };

struct fx {
    char *dir;
    char path[4096];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = tu_tmpdir("store");
    snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static struct arena_store *open_store(const char *path, const char *const *names, size_t n)
{
    char es[512] = "";
    struct arena_store *s = arena_store_open(path, names, n, es, sizeof(es));
    if (!s) {
        fail_msg("arena_store_open(%s): %s", path, es);
    }
    return s;
}

static void test_put_get_delete(void **state)
{
    struct fx *f = *state;
    struct arena_store *s = open_store(f->path, cfs, 2);
    char *v = NULL;
    size_t vl = 0;

    ASSERT_EQ_INT(arena_store_get(s, CF_RATINGS, "missing", 7, &v, &vl), ARENA_ERR_NOT_FOUND);
    assert_null(v);
    assert_false(arena_store_exists(s, CF_RATINGS, "missing", 7));

    ASSERT_EQ_INT(arena_store_put(s, CF_RATINGS, "gpt", 3, "1234.5", 6), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_get(s, CF_RATINGS, "gpt", 3, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_INT(vl, 6);
    ASSERT_EQ_STR(v, "1234.5"); /* NUL-terminated copy */
    free(v);
    assert_true(arena_store_exists(s, CF_RATINGS, "gpt", 3));

    /* binary keys and values with embedded NULs */
    const char bk[] = {'a', 0, 'b'};
    const char bv[] = {0, 1, 2, 0};
    ASSERT_EQ_INT(arena_store_put(s, CF_RATINGS, bk, 3, bv, 4), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_get(s, CF_RATINGS, bk, 3, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_INT(vl, 4);
    assert_memory_equal(v, bv, 4);
    free(v);

    /* empty value is a value, not absence */
    ASSERT_EQ_INT(arena_store_put(s, CF_RATINGS, "empty", 5, NULL, 0), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_get(s, CF_RATINGS, "empty", 5, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_INT(vl, 0);
    free(v);

    ASSERT_EQ_INT(arena_store_delete(s, CF_RATINGS, "gpt", 3), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_get(s, CF_RATINGS, "gpt", 3, &v, &vl), ARENA_ERR_NOT_FOUND);

    /* bad column family index */
    ASSERT_EQ_INT(arena_store_put(s, 7, "k", 1, "v", 1), ARENA_ERR_INVALID);
    ASSERT_EQ_INT(arena_store_get(s, -1, "k", 1, &v, &vl), ARENA_ERR_INVALID);
    arena_store_close(s);
    arena_store_close(NULL);
}

static void test_column_families_are_separate(void **state)
{
    struct fx *f = *state;
    struct arena_store *s = open_store(f->path, cfs, 2);
    char *v = NULL;
    size_t vl = 0;
    ASSERT_EQ_INT(arena_store_put(s, CF_RATINGS, "k", 1, "r", 1), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_put(s, CF_BATTLES, "k", 1, "b", 1), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_get(s, CF_RATINGS, "k", 1, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_STR(v, "r");
    free(v);
    ASSERT_EQ_INT(arena_store_get(s, CF_BATTLES, "k", 1, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_STR(v, "b");
    free(v);
    ASSERT_EQ_INT(arena_store_delete(s, CF_BATTLES, "k", 1), ARENA_ERR_OK);
    assert_true(arena_store_exists(s, CF_RATINGS, "k", 1));
    assert_false(arena_store_exists(s, CF_BATTLES, "k", 1));
    arena_store_close(s);
}

static void test_batch_atomic_with_offsets(void **state)
{
    struct fx *f = *state;
    struct arena_store *s = open_store(f->path, cfs, 2);
    int64_t off = -1;
    char es[256] = "";

    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles.results", 3, &off), ARENA_ERR_NOT_FOUND);

    ASSERT_EQ_INT(arena_store_put(s, CF_BATTLES, "old", 3, "x", 1), ARENA_ERR_OK);
    struct arena_batch *b = arena_batch_new();
    arena_batch_put(b, CF_RATINGS, "m1", 2, "1000", 4);
    arena_batch_put(b, CF_BATTLES, "b1", 2, "seen", 4);
    arena_batch_delete(b, CF_BATTLES, "old", 3);
    arena_batch_set_offset(b, "arena.battles.results", 3, 42);
    arena_batch_set_offset(b, "arena.battles.results", 4, 7);
    ASSERT_EQ_INT(arena_batch_count(b), 5);

    /* nothing visible before the write */
    assert_false(arena_store_exists(s, CF_RATINGS, "m1", 2));
    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles.results", 3, &off), ARENA_ERR_NOT_FOUND);

    ASSERT_EQ_INT(arena_store_write(s, b, true, es, sizeof(es)), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_batch_count(b), 5); /* left intact */
    assert_true(arena_store_exists(s, CF_RATINGS, "m1", 2));
    assert_true(arena_store_exists(s, CF_BATTLES, "b1", 2));
    assert_false(arena_store_exists(s, CF_BATTLES, "old", 3));
    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles.results", 3, &off), ARENA_ERR_OK);
    ASSERT_EQ_INT(off, 42);
    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles.results", 4, &off), ARENA_ERR_OK);
    ASSERT_EQ_INT(off, 7);
    /* partitions and topics are distinct keys */
    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles.results", 5, &off), ARENA_ERR_NOT_FOUND);
    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles", 3, &off), ARENA_ERR_NOT_FOUND);

    /* a batch naming a bad column family fails as a whole: nothing of it is applied */
    arena_batch_clear(b);
    ASSERT_EQ_INT(arena_batch_count(b), 0);
    arena_batch_put(b, CF_RATINGS, "m2", 2, "900", 3);
    arena_batch_set_offset(b, "arena.battles.results", 3, 43);
    arena_batch_put(b, 9, "bad", 3, "x", 1);
    es[0] = '\0';
    ASSERT_EQ_INT(arena_store_write(s, b, false, es, sizeof(es)), ARENA_ERR_INVALID);
    assert_non_null(strstr(es, "column family 9"));
    assert_false(arena_store_exists(s, CF_RATINGS, "m2", 2));
    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles.results", 3, &off), ARENA_ERR_OK);
    ASSERT_EQ_INT(off, 42);

    /* large offsets survive the encoding */
    arena_batch_clear(b);
    arena_batch_set_offset(b, "t", 0, INT64_C(1) << 40);
    ASSERT_EQ_INT(arena_store_write(s, b, false, es, sizeof(es)), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_get_offset(s, "t", 0, &off), ARENA_ERR_OK);
    assert_true(off == (INT64_C(1) << 40));

    /* an empty batch is a no-op */
    arena_batch_clear(b);
    ASSERT_EQ_INT(arena_store_write(s, b, false, es, sizeof(es)), ARENA_ERR_OK);
    arena_batch_destroy(b);
    arena_batch_destroy(NULL);
    arena_store_close(s);
}

static void test_reopen_keeps_state_and_offsets(void **state)
{
    struct fx *f = *state;
    char es[256] = "";
    struct arena_store *s = open_store(f->path, cfs, 2);
    struct arena_batch *b = arena_batch_new();
    for (int i = 0; i < 1000; i++) {
        char k[32], v[32];
        int kl = snprintf(k, sizeof(k), "battle-%04d", i);
        int vl = snprintf(v, sizeof(v), "v%d", i * 3);
        arena_batch_put(b, CF_BATTLES, k, (size_t)kl, v, (size_t)vl);
    }
    arena_batch_set_offset(b, "arena.battles.results", 0, 1000);
    ASSERT_EQ_INT(arena_store_write(s, b, true, es, sizeof(es)), ARENA_ERR_OK);
    arena_batch_destroy(b);
    arena_store_close(s);

    /* reopen with an extra column family: old ones keep their data */
    const char *const more[] = {"ratings", "battles", "shards"};
    s = open_store(f->path, more, 3);
    char *v = NULL;
    size_t vl = 0;
    ASSERT_EQ_INT(arena_store_get(s, 1, "battle-0999", 11, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_STR(v, "v2997");
    free(v);
    int64_t off = 0;
    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles.results", 0, &off), ARENA_ERR_OK);
    ASSERT_EQ_INT(off, 1000);
    ASSERT_EQ_INT(arena_store_put(s, 2, "s", 1, "1", 1), ARENA_ERR_OK);
    arena_store_close(s);

    /* reopen naming fewer families (and in another order): the DB still opens, nothing lost */
    const char *const fewer[] = {"battles"};
    s = open_store(f->path, fewer, 1);
    ASSERT_EQ_INT(arena_store_get(s, 0, "battle-0000", 11, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_STR(v, "v0");
    free(v);
    ASSERT_EQ_INT(arena_store_get_offset(s, "arena.battles.results", 0, &off), ARENA_ERR_OK);
    ASSERT_EQ_INT(off, 1000);
    ASSERT_EQ_INT(arena_store_put(s, 1, "k", 1, "v", 1), ARENA_ERR_INVALID);
    arena_store_close(s);

    s = open_store(f->path, more, 3);
    ASSERT_EQ_INT(arena_store_get(s, 2, "s", 1, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_STR(v, "1");
    free(v);
    assert_true(arena_store_size(s) > 0);
    arena_store_close(s);
}

static void test_iterator_prefix(void **state)
{
    struct fx *f = *state;
    struct arena_store *s = open_store(f->path, cfs, 2);
    const char *keys[] = {"a", "p/1", "p/2", "p/3", "pz", "q/1"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        ASSERT_EQ_INT(
            arena_store_put(s, CF_BATTLES, keys[i], strlen(keys[i]), keys[i], strlen(keys[i])),
            ARENA_ERR_OK);
    }
    /* the same keys in another family must not show up */
    ASSERT_EQ_INT(arena_store_put(s, CF_RATINGS, "p/9", 3, "x", 1), ARENA_ERR_OK);

    struct arena_store_iter *it = arena_store_iter_new(s, CF_BATTLES, "p/", 2);
    assert_non_null(it);
    int n = 0;
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t kl = 0, vl = 0;
        const char *k = arena_store_iter_key(it, &kl);
        const char *v = arena_store_iter_value(it, &vl);
        char want[16];
        snprintf(want, sizeof(want), "p/%d", n + 1);
        ASSERT_EQ_INT(kl, 3);
        assert_memory_equal(k, want, 3);
        ASSERT_EQ_INT(vl, 3);
        assert_memory_equal(v, want, 3);
        n++;
    }
    ASSERT_EQ_INT(n, 3);
    arena_store_iter_destroy(it);

    it = arena_store_iter_new(s, CF_BATTLES, NULL, 0);
    n = 0;
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        n++;
    }
    ASSERT_EQ_INT(n, 6);
    arena_store_iter_destroy(it);

    it = arena_store_iter_new(s, CF_BATTLES, "zz", 2);
    assert_false(arena_store_iter_valid(it));
    arena_store_iter_destroy(it);
    assert_null(arena_store_iter_new(s, 5, NULL, 0));
    arena_store_iter_destroy(NULL);
    arena_store_close(s);
}

static void test_open_errors(void **state)
{
    struct fx *f = *state;
    char file[4200];
    snprintf(file, sizeof(file), "%s/plainfile", f->dir);
    tu_write_file(file, "not a database\n");
    char es[512] = "";
    struct arena_store *s = arena_store_open(file, cfs, 2, es, sizeof(es));
    assert_null(s);
    assert_true(strlen(es) > 0);
    assert_non_null(strstr(es, file)); /* names the path */

    char below[4300];
    snprintf(below, sizeof(below), "%s/db", file); /* a directory under a regular file */
    es[0] = '\0';
    assert_null(arena_store_open(below, cfs, 2, es, sizeof(es)));
    assert_true(strlen(es) > 0);

    es[0] = '\0';
    assert_null(arena_store_open("", cfs, 2, es, sizeof(es)));
    assert_non_null(strstr(es, "empty path"));

    const char *const bad[] = {"ok", ""};
    es[0] = '\0';
    assert_null(arena_store_open(f->path, bad, 2, es, sizeof(es)));
    assert_non_null(strstr(es, "column family 1"));
}

static void test_no_cf_names_uses_default(void **state)
{
    struct fx *f = *state;
    struct arena_store *s = open_store(f->path, NULL, 0);
    char *v = NULL;
    size_t vl = 0;
    ASSERT_EQ_INT(arena_store_put(s, 0, "k", 1, "v", 1), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_store_get(s, 0, "k", 1, &v, &vl), ARENA_ERR_OK);
    ASSERT_EQ_STR(v, "v");
    free(v);
    arena_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_families_are_separate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_atomic_with_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_state_and_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iterator_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_cf_names_uses_default, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
