/* Unit tests: judge templates (built-ins, YAML files, rendering, question transcripts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "arena/util.h"
#include "judge_template.h"

static const char *const BLOCK_A =
    "[The Start of Assistant A's Answer]\nFIRST ANSWER\n[The End of Assistant A's Answer]";
static const char *const BLOCK_B =
    "[The Start of Assistant B's Answer]\nSECOND ANSWER\n[The End of Assistant B's Answer]";

static void check_builtin(const char *name, enum judge_kind kind, const char *marker,
                          const char *absent_marker)
{
    char err[256] = "";
    struct judge_template *t = judge_template_load(name, err, sizeof(err));
    assert_non_null(t);
    ASSERT_EQ_STR(judge_template_name(t), name);
    ASSERT_EQ_INT(judge_template_kind(t), kind);
    char *sys = NULL, *user = NULL;
    judge_template_render(t, "What is 2+2?", "FIRST ANSWER", "SECOND ANSWER", &sys, &user);
    assert_non_null(strstr(user, BLOCK_A));
    assert_non_null(strstr(user, BLOCK_B));
    assert_non_null(strstr(user, "What is 2+2?"));
    assert_true(strstr(user, BLOCK_A) < strstr(user, BLOCK_B));
    assert_non_null(strstr(sys, marker));
    if (absent_marker) {
        assert_null(strstr(sys, absent_marker));
        assert_null(strstr(user, absent_marker));
    }
    assert_null(strchr(user, '{')); /* every placeholder substituted */
    free(sys);
    free(user);
    judge_template_destroy(t);
}

static void test_builtins(void **state)
{
    (void)state;
    check_builtin("wizardarena", JUDGE_KIND_SCORES, "[[score_A, score_B]]", "[[A]]");
    check_builtin("arena-hard", JUDGE_KIND_FIVE_LABEL, "[[A>>B]]", "[[A]]");
    check_builtin("mt-bench-pair", JUDGE_KIND_THREE_LABEL, "[[A]]", "[[A>>B]]");
    /* the paper's criteria are in the wizardarena prompt */
    char err[128];
    struct judge_template *t = judge_template_load("wizardarena", err, sizeof(err));
    char *sys, *user;
    judge_template_render(t, "q", "a", "b", &sys, &user);
    assert_non_null(strstr(sys, "coherence"));
    assert_non_null(strstr(sys, "factual accuracy"));
    assert_non_null(strstr(sys, "context-awareness"));
    assert_non_null(strstr(sys, "1 to 10"));
    free(sys);
    free(user);
    judge_template_destroy(t);
    judge_template_destroy(NULL);
    ASSERT_EQ_STR(judge_kind_name(JUDGE_KIND_FIVE_LABEL), "five_label");
}

static void test_render_single_pass(void **state)
{
    (void)state;
    char err[128];
    struct judge_template *t = judge_template_load("mt-bench-pair", err, sizeof(err));
    char *sys, *user;
    /* placeholders inside user content are never expanded */
    judge_template_render(t, "say {answer_b}", "A says {question}", NULL, &sys, &user);
    assert_non_null(strstr(user, "say {answer_b}"));
    assert_non_null(strstr(user, "A says {question}"));
    assert_non_null(strstr(user, "[The Start of Assistant B's Answer]\n\n[The End"));
    free(sys);
    free(user);
    judge_template_destroy(t);
}

static char *write_tpl(const char *dir, const char *file, const char *text)
{
    char *path = arena_xasprintf("%s/%s", dir, file);
    tu_write_file(path, text);
    return path;
}

static void expect_load_error(const char *dir, const char *text, const char *needle)
{
    char *path = write_tpl(dir, "bad.yaml", text);
    char err[256] = "";
    struct judge_template *t = judge_template_load(path, err, sizeof(err));
    if (t || !strstr(err, needle)) {
        fprintf(stderr, "expected a load error mentioning '%s', got '%s'\n", needle, err);
    }
    assert_null(t);
    assert_non_null(strstr(err, needle));
    free(path);
}

#define GOOD_USER                                                                                  \
    "user: |\n"                                                                                    \
    "  Question: {question}\n"                                                                     \
    "  [The Start of Assistant A's Answer]\n"                                                      \
    "  {answer_a}\n"                                                                               \
    "  [The End of Assistant A's Answer]\n"                                                        \
    "  [The Start of Assistant B's Answer]\n"                                                      \
    "  {answer_b}\n"                                                                               \
    "  [The End of Assistant B's Answer]\n"

static void test_file_templates(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("judge_tpl");
    char *path = write_tpl(dir, "strict-judge.yaml",
                           "kind: three_label\n"
                           "system: |\n"
                           "  Pick the better answer. Output \"[[A]]\", \"[[B]]\" or \"[[C]]\".\n"
                           "  JSON braces like {\"x\": 1} and {} stay as they are.\n" GOOD_USER);
    char err[256] = "";
    struct judge_template *t = judge_template_load(path, err, sizeof(err));
    if (!t) {
        fprintf(stderr, "load error: %s\n", err);
    }
    assert_non_null(t);
    ASSERT_EQ_STR(judge_template_name(t), "strict-judge");
    ASSERT_EQ_INT(judge_template_kind(t), JUDGE_KIND_THREE_LABEL);
    char *sys, *user;
    judge_template_render(t, "Q?", "FIRST ANSWER", "SECOND ANSWER", &sys, &user);
    assert_non_null(strstr(user, "Question: Q?\n"));
    assert_non_null(strstr(user, BLOCK_A));
    assert_non_null(strstr(user, BLOCK_B));
    assert_non_null(strstr(sys, "{\"x\": 1} and {}"));
    free(sys);
    free(user);
    judge_template_destroy(t);
    free(path);

    path = write_tpl(dir, "named.yaml",
                     "name: my-judge\nkind: scores\n"
                     "system: 'Reply [[score_A, score_B]] first.'\n" GOOD_USER);
    t = judge_template_load(path, err, sizeof(err));
    assert_non_null(t);
    ASSERT_EQ_STR(judge_template_name(t), "my-judge");
    judge_template_destroy(t);
    free(path);

    expect_load_error(dir, "kind: scores\nsystem: '[[score_A, score_B]] {answer_c}'\n" GOOD_USER,
                      "unknown placeholder {answer_c}");
    expect_load_error(dir,
                      "kind: scores\nsystem: '[[score_A, score_B]]'\nuser: |\n  {question}\n"
                      "  [The Start of Assistant A's Answer]\n  {answer_a}\n"
                      "  [The End of Assistant A's Answer]\n",
                      "missing placeholder {answer_b}");
    expect_load_error(dir,
                      "kind: scores\nsystem: '[[score_A, score_B]]'\nuser: |\n"
                      "  {question} A: {answer_a} B: {answer_b}\n",
                      "must embed the answer");
    expect_load_error(dir, "kind: five_label\nsystem: 'Say which is better.'\n" GOOD_USER,
                      "format marker [[A>>B]]");
    expect_load_error(dir, "kind: verdicts\n" GOOD_USER, "bad kind 'verdicts'");
    expect_load_error(dir, GOOD_USER, "missing key 'kind'");
    expect_load_error(dir, "kind: scores\nprompt: x\n" GOOD_USER, "unknown key 'prompt'");
    expect_load_error(dir, "kind: [scores]\n" GOOD_USER, "flat mapping");
    expect_load_error(dir, "kind: 'scores\n", "YAML error");

    assert_null(judge_template_load("/nonexistent/judge.yaml", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/judge.yaml"));
    assert_null(judge_template_load("no-such-template", err, sizeof(err)));
    assert_non_null(strstr(err, "not a built-in"));
    tu_rmtree(dir);
    free(dir);
}

static void test_render_question(void **state)
{
    (void)state;
    Arena__V1__ChatMessage m[4] = {ARENA__V1__CHAT_MESSAGE__INIT, ARENA__V1__CHAT_MESSAGE__INIT,
                                   ARENA__V1__CHAT_MESSAGE__INIT, ARENA__V1__CHAT_MESSAGE__INIT};
    m[0].role = "user";
    m[0].content = "Write a haiku about rain.";
    const Arena__V1__ChatMessage *one[1] = {&m[0]};
    char *q = judge_render_question(one, 1);
    ASSERT_EQ_STR(q, "Write a haiku about rain.");
    free(q);

    m[1].role = "assistant";
    m[1].content = "Drops on the window";
    m[2].role = "user";
    m[2].content = "Now one about snow.";
    m[3].role = "system";
    m[3].content = "Be brief.";
    const Arena__V1__ChatMessage *conv[4] = {&m[3], &m[0], &m[1], &m[2]};
    q = judge_render_question(conv, 4);
    ASSERT_EQ_STR(q, "System: Be brief.\nUser: Write a haiku about rain.\nAssistant: Drops on the "
                     "window\nUser: Now one about snow.");
    free(q);
    q = judge_render_question(NULL, 0);
    ASSERT_EQ_STR(q, "");
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_render_single_pass),
        cmocka_unit_test(test_file_templates),
        cmocka_unit_test(test_render_question),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
