/* test_log.c - logfmt line shape, levels and secret redaction (stderr captured via a pipe). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena/log.h"

/* Run fn with stderr redirected to a temp file; return what was written (caller frees). */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/arena-logtest-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)len + 1);
    assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
    close(fd);
    unlink(path);
    return buf;
}

static void emit_basic(void)
{
    arena_log_init("judge");
    ARENA_INFO("event=started partitions=%d", 3);
    ARENA_DEBUG("event=hidden");
    ARENA_WARN("event=multi msg=\"a\nb\"");
}

static void test_format(void **state)
{
    (void)state;
    unsetenv("ARENA_LOG_LEVEL");
    arena_log_level = ARENA_LOG_INFO;
    char *out = capture(emit_basic);
    /* two lines: info and warn, debug suppressed */
    int lines = 0;
    for (char *p = out; *p; p++) {
        lines += *p == '\n';
    }
    ASSERT_EQ_INT(lines, 2);
    assert_true(strncmp(out, "ts=", 3) == 0);
    /* ts=YYYY-MM-DDTHH:MM:SS.mmmZ */
    assert_true(out[7] == '-' && out[13] == 'T' && out[22] == '.' && out[26] == 'Z');
    assert_non_null(strstr(out, " level=info svc=judge event=started partitions=3\n"));
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "level=warn svc=judge event=multi msg=\"a\\nb\"\n"));
    free(out);
}

static void emit_secret(void)
{
    arena_log_add_secret("sk-TOPSECRET123");
    arena_log_add_secret("abc"); /* too short: ignored */
    ARENA_ERROR("event=call auth=\"Bearer sk-TOPSECRET123\" other=sk-TOPSECRET123x abc=1");
}

static void test_redaction(void **state)
{
    (void)state;
    arena_log_level = ARENA_LOG_INFO;
    char *out = capture(emit_secret);
    assert_null(strstr(out, "TOPSECRET"));
    assert_non_null(strstr(out, "auth=\"Bearer [REDACTED]\" other=[REDACTED]x abc=1"));
    free(out);
    char *r = arena_log_redact("key=sk-TOPSECRET123;sk-TOPSECRET123");
    ASSERT_EQ_STR(r, "key=[REDACTED];[REDACTED]");
    free(r);
    r = arena_log_redact("nothing here");
    ASSERT_EQ_STR(r, "nothing here");
    free(r);
}

static void test_levels(void **state)
{
    (void)state;
    ASSERT_EQ_INT(arena_log_set_level_name("debug"), 0);
    ASSERT_EQ_INT(arena_log_level, ARENA_LOG_DEBUG);
    ASSERT_EQ_INT(arena_log_set_level_name("ERROR"), 0);
    ASSERT_EQ_INT(arena_log_level, ARENA_LOG_ERROR);
    ASSERT_EQ_INT(arena_log_set_level_name("loud"), -1);
    ASSERT_EQ_INT(arena_log_level, ARENA_LOG_ERROR);
    setenv("ARENA_LOG_LEVEL", "warn", 1);
    arena_log_init("rater");
    ASSERT_EQ_INT(arena_log_level, ARENA_LOG_WARN);
    unsetenv("ARENA_LOG_LEVEL");
    arena_log_level = ARENA_LOG_INFO;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
