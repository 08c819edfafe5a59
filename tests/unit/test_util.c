/* test_util.c - SHA-256 vectors, hashing, battle ids, buffers, atomic files. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena/err.h"
#include "arena/util.h"

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    arena_sha256_hex("abc", 3, hex);
    ASSERT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    arena_sha256_hex("", 0, hex);
    ASSERT_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    arena_sha256_hex(two, strlen(two), hex);
    ASSERT_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* one million 'a', fed in odd-sized pieces to exercise buffering */
    struct arena_sha256 s;
    uint8_t d[32];
    char chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    arena_sha256_init(&s);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        arena_sha256_update(&s, chunk, n);
        left -= n;
    }
    arena_sha256_final(&s, d);
    char out[65];
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
    ASSERT_EQ_STR(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("sha");
    char path[4096];
    snprintf(path, sizeof(path), "%s/f", dir);
    tu_write_file(path, "abc");
    char hex[65];
    uint64_t bytes = 0;
    ASSERT_EQ_INT(arena_sha256_file(path, hex, &bytes), ARENA_ERR_OK);
    ASSERT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ASSERT_EQ_INT(bytes, 3);
    snprintf(path, sizeof(path), "%s/missing", dir);
    ASSERT_EQ_INT(arena_sha256_file(path, hex, &bytes), ARENA_ERR_IO);
    tu_rmtree(dir);
    free(dir);
}

static void test_hash64(void **state)
{
    (void)state;
    /* xxHash64 reference values */
    assert_true(arena_hash64("", 0, 0) == 0xEF46DB3751D8E999ULL);
    assert_true(arena_hash64("abc", 3, 0) == 0x44BC2CF5AD770999ULL);
    const char *long_s = "Nobody inspects the spammish repetition";
    assert_true(arena_hash64(long_s, strlen(long_s), 0) == 0xFBCEA83C8A378BF1ULL);
    assert_true(arena_hash64("abc", 3, 1) != arena_hash64("abc", 3, 0));
    assert_true(arena_mix64(1) != arena_mix64(2));
    assert_true(arena_mix64(42) == arena_mix64(42));
}

static void test_battle_id(void **state)
{
    (void)state;
    char a[33], b[33], c[33];
    arena_battle_id(1, "abcd", "gpt-4", "llama", 0, a);
    arena_battle_id(1, "abcd", "llama", "gpt-4", 0, b);
    ASSERT_EQ_STR(a, b);
    ASSERT_EQ_INT(strlen(a), 32);
    for (int i = 0; i < 32; i++) {
        assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
    }
    /* known value of the canonical encoding */
    char hex[65];
    const char *canon = "r=1\np=abcd\nm=gpt-4\nm=llama\ns=0";
    arena_sha256_hex(canon, strlen(canon), hex);
    hex[32] = '\0';
    ASSERT_EQ_STR(a, hex);
    /* every field matters */
    arena_battle_id(2, "abcd", "gpt-4", "llama", 0, c);
    assert_string_not_equal(a, c);
    arena_battle_id(1, "abce", "gpt-4", "llama", 0, c);
    assert_string_not_equal(a, c);
    arena_battle_id(1, "abcd", "gpt-4", "llama2", 0, c);
    assert_string_not_equal(a, c);
    arena_battle_id(1, "abcd", "gpt-3", "llama", 0, c);
    assert_string_not_equal(a, c);
    arena_battle_id(1, "abcd", "gpt-4", "llama", 1, c);
    assert_string_not_equal(a, c);
}

static void test_buf(void **state)
{
    (void)state;
    struct arena_buf b;
    arena_buf_init(&b);
    arena_buf_puts(&b, "hello");
    arena_buf_append(&b, " ", 1);
    arena_buf_printf(&b, "%s-%d", "world", 42);
    ASSERT_EQ_STR(b.data, "hello world-42");
    ASSERT_EQ_INT(b.len, 14);
    /* grow past many doublings */
    for (int i = 0; i < 10000; i++) {
        arena_buf_printf(&b, "%04d", i % 10000);
    }
    ASSERT_EQ_INT(b.len, 14 + 40000);
    assert_memory_equal(b.data + 14 + 4 * 9999, "9999", 4);
    arena_buf_reset(&b);
    ASSERT_EQ_INT(b.len, 0);
    ASSERT_EQ_STR(b.data, "");
    arena_buf_puts(&b, "x");
    size_t len = 0;
    char *s = arena_buf_steal(&b, &len);
    ASSERT_EQ_STR(s, "x");
    ASSERT_EQ_INT(len, 1);
    assert_null(b.data);
    free(s);
    arena_buf_fini(&b);

    char *p = arena_xasprintf("%d-%s", 7, "seven");
    ASSERT_EQ_STR(p, "7-seven");
    free(p);
    assert_null(arena_xstrdup(NULL));
    p = arena_xstrndup("abcdef", 3);
    ASSERT_EQ_STR(p, "abc");
    free(p);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void test_atomic_write(void **state)
{
    (void)state;
    char err[256];
    char *dir = tu_tmpdir("atomic");
    char sub[4096], path[8192];
    snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
    ASSERT_EQ_INT(arena_mkdirs(sub, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_mkdirs(sub, err, sizeof(err)), ARENA_ERR_OK); /* idempotent */
    snprintf(path, sizeof(path), "%s/data.txt", sub);
    ASSERT_EQ_INT(arena_write_file_atomic(path, "first", 5, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_write_file_atomic(path, "second!", 7, err, sizeof(err)), ARENA_ERR_OK);
    size_t len = 0;
    char *got = arena_read_file(path, &len, err, sizeof(err));
    assert_non_null(got);
    ASSERT_EQ_STR(got, "second!");
    ASSERT_EQ_INT(len, 7);
    free(got);
    /* no temp file left behind */
    ASSERT_EQ_INT(count_entries(sub), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0644);

    /* failure: directory does not exist -> IO with the path in the message, nothing created */
    snprintf(path, sizeof(path), "%s/nope/x", dir);
    ASSERT_EQ_INT(arena_write_file_atomic(path, "x", 1, err, sizeof(err)), ARENA_ERR_IO);
    assert_non_null(strstr(err, "nope"));
    /* read of a missing file */
    assert_null(arena_read_file(path, &len, err, sizeof(err)));
    assert_non_null(strstr(err, "nope/x"));
    /* mkdirs over a regular file */
    snprintf(path, sizeof(path), "%s/a/b/c/data.txt/sub", dir);
    ASSERT_EQ_INT(arena_mkdirs(path, err, sizeof(err)), ARENA_ERR_IO);
    tu_rmtree(dir);
    free(dir);
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t now = arena_now_ms();
    assert_true(now > 1600000000000LL);
    int64_t m1 = arena_mono_ms();
    uint64_t u1 = arena_mono_us();
    int64_t m2 = arena_mono_ms();
    uint64_t u2 = arena_mono_us();
    assert_true(m2 >= m1);
    assert_true(u2 >= u1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_file),
        cmocka_unit_test(test_hash64),
        cmocka_unit_test(test_battle_id),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
