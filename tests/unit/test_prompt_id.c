/* test_prompt_id.c - prompt identity: known SHA-256 values (computed independently with Python
 * hashlib), normalisation rules, stability. */
#include <stdlib.h>
#include <string.h>

#include "arena/prompt_id.h"
#include "testutil.h"

static void test_normalise(void **state)
{
    (void)state;
    char *s = arena_prompt_normalise("  \t hello \n\n  world\r\n\v\f ");
    ASSERT_EQ_STR(s, "hello world");
    free(s);
    s = arena_prompt_normalise("");
    ASSERT_EQ_STR(s, "");
    free(s);
    s = arena_prompt_normalise(" \n\t ");
    ASSERT_EQ_STR(s, "");
    free(s);
    /* non-ASCII space (U+00A0) is content, not whitespace */
    s = arena_prompt_normalise("a\xc2\xa0 b");
    ASSERT_EQ_STR(s, "a\xc2\xa0 b");
    free(s);
    s = arena_prompt_normalise("Case, Punct!");
    ASSERT_EQ_STR(s, "Case, Punct!");
    free(s);
}

static void test_known_values(void **state)
{
    (void)state;
    char id[33];
    /* sha256("user\x1fhello world\x1e")[:32] */
    arena_prompt_id_text("hello world", id);
    ASSERT_EQ_STR(id, "2ec81a61184a0a3a246015c4e85abbf2");
    arena_prompt_id_text("  hello \n\t world  ", id);
    ASSERT_EQ_STR(id, "2ec81a61184a0a3a246015c4e85abbf2");
    /* sha256("system\x1f" "be brief\x1euser\x1fWhat is 2+2?\x1e")[:32], roles lower-cased */
    const char *roles[] = {"SYSTEM", "User"};
    const char *contents[] = {"be   brief", "What is 2+2?\n"};
    arena_prompt_id(roles, contents, 2, id);
    ASSERT_EQ_STR(id, "543ab2142564f4afe42bb4647ffdb6cd");
    /* empty user turn */
    arena_prompt_id_text("", id);
    ASSERT_EQ_STR(id, "0dab33634d5fb4c156e172da68b9e535");
}

static void test_distinctions(void **state)
{
    (void)state;
    char a[33], b[33];
    arena_prompt_id_text("Hello world", a);
    arena_prompt_id_text("hello world", b);
    assert_string_not_equal(a, b); /* case is kept */
    arena_prompt_id_text("hello world.", b);
    assert_string_not_equal(a, b); /* punctuation is kept */
    /* role boundaries matter: ("ab") vs ("a","b") */
    const char *r1[] = {"user"};
    const char *c1[] = {"a b"};
    const char *r2[] = {"user", "user"};
    const char *c2[] = {"a", "b"};
    arena_prompt_id(r1, c1, 1, a);
    arena_prompt_id(r2, c2, 2, b);
    assert_string_not_equal(a, b);
    /* 32 lowercase hex */
    ASSERT_EQ_INT(strlen(a), 32);
    ASSERT_EQ_INT(strspn(a, "0123456789abcdef"), 32);
    /* long text (heap path) equals itself with extra whitespace */
    size_t n = 5000;
    char *t1 = malloc(n * 2 + 1);
    char *t2 = malloc(n * 3 + 1);
    size_t o1 = 0, o2 = 0;
    for (size_t i = 0; i < n; i++) {
        t1[o1++] = (char)('a' + i % 26);
        t2[o2++] = (char)('a' + i % 26);
        if (i % 7 == 6) {
            t1[o1++] = ' ';
            t2[o2++] = '\n';
            t2[o2++] = '\t';
        }
    }
    t1[o1] = t2[o2] = '\0';
    arena_prompt_id_text(t1, a);
    arena_prompt_id_text(t2, b);
    ASSERT_EQ_STR(a, b);
    free(t1);
    free(t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_distinctions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
