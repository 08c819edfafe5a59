/* test_sampler_ingest.c - every ingest format, auto-detection, normalisation, bad lines with
 * line numbers, whole-file ShareGPT arrays, and the real Arena-Hard v0.1 question.jsonl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/prompt_id.h"
#include "arena/util.h"
#include "sampler_ingest.h"
#include "testutil.h"

static Arena__V1__Prompt *parse_ok(enum sampler_format f, const char *line)
{
    Arena__V1__Prompt *p = NULL;
    char err[256] = "";
    arena_err_t rc = sampler_ingest_parse_line(f, line, strlen(line), "t", &p, err, sizeof(err));
    if (rc != ARENA_ERR_OK) {
        fprintf(stderr, "unexpected error: %s\n", err);
    }
    ASSERT_EQ_INT(rc, ARENA_ERR_OK);
    assert_non_null(p);
    return p;
}

static void parse_bad(enum sampler_format f, const char *line, const char *expect)
{
    Arena__V1__Prompt *p = (Arena__V1__Prompt *)1;
    char err[256] = "";
    ASSERT_EQ_INT(sampler_ingest_parse_line(f, line, strlen(line), "t", &p, err, sizeof(err)),
                  ARENA_ERR_PARSE);
    assert_null(p);
    if (strstr(err, expect) == NULL) {
        fprintf(stderr, "error '%s' lacks '%s'\n", err, expect);
    }
    assert_non_null(strstr(err, expect));
}

static void test_jsonl(void **state)
{
    (void)state;
    Arena__V1__Prompt *p =
        parse_ok(SAMPLER_FMT_JSONL, "{\"prompt\":\"  Hello\\r\\n  world \\u0000\","
                                    "\"category\":\"chat\",\"difficulty\":7.5,"
                                    "\"id\":42,\"language\":\"en\"}");
    ASSERT_EQ_INT(p->n_messages, 1);
    ASSERT_EQ_STR(p->messages[0]->role, "user");
    ASSERT_EQ_STR(p->messages[0]->content, "Hello\n  world"); /* trimmed, CRLF, NUL stripped */
    char id[33];
    arena_prompt_id_text("Hello world", id);
    ASSERT_EQ_STR(p->prompt_id, id);
    ASSERT_EQ_STR(p->category, "chat");
    ASSERT_EQ_STR(p->uid, "42");
    ASSERT_EQ_STR(p->language, "en");
    ASSERT_EQ_STR(p->source, "t");
    ASSERT_EQ_INT(p->difficulty_present_case, ARENA__V1__PROMPT__DIFFICULTY_PRESENT_DIFFICULTY);
    ASSERT_NEAR(p->difficulty, 7.5, 1e-9);
    sampler_prompt_free(p);

    /* chat messages: trailing assistant turn dropped, id over system/user/assistant/user */
    p = parse_ok(SAMPLER_FMT_AUTO,
                 "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                 "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
                 "\"hello\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
                 "\"and now?\"}]},{\"role\":\"assistant\",\"content\":\"dropped\"}]}");
    ASSERT_EQ_INT(p->n_messages, 4);
    ASSERT_EQ_STR(sampler_prompt_instruction(p), "and now?");
    const char *roles[] = {"system", "user", "assistant", "user"};
    const char *contents[] = {"be brief", "hi", "hello", "and now?"};
    arena_prompt_id(roles, contents, 4, id);
    ASSERT_EQ_STR(p->prompt_id, id);
    char *t = sampler_prompt_text(p);
    ASSERT_EQ_STR(t, "hi\nand now?");
    free(t);
    sampler_prompt_free(p);

    /* alpaca instruction + input */
    p = parse_ok(SAMPLER_FMT_JSONL,
                 "{\"instruction\":\"Translate to French\",\"input\":\"good morning\"}");
    ASSERT_EQ_STR(p->messages[0]->content, "Translate to French\n\ngood morning");
    sampler_prompt_free(p);

    parse_bad(SAMPLER_FMT_JSONL, "{\"text\":\"x\"}", "missing field 'prompt'");
    parse_bad(SAMPLER_FMT_JSONL, "{\"prompt\":\"   \"}", "field 'prompt' is empty");
    parse_bad(SAMPLER_FMT_JSONL, "{\"prompt\":5}", "must be a string");
    parse_bad(SAMPLER_FMT_JSONL, "{\"prompt\":\"x\",\"difficulty\":\"hard\"}",
              "field 'difficulty' must be a number");
    parse_bad(SAMPLER_FMT_JSONL, "{\"prompt\":\"x\",\"difficulty\":11}", "within 0-10");
    parse_bad(SAMPLER_FMT_JSONL,
              "{\"messages\":[{\"role\":\"assistant\",\"content\":\"only me\"}]}", "no user turn");
    parse_bad(SAMPLER_FMT_JSONL, "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
              "unknown role 'wizard'");
    parse_bad(SAMPLER_FMT_JSONL, "{\"prompt\":\"caf\xc3\"}", "invalid UTF-8");
    parse_bad(SAMPLER_FMT_JSONL, "{\"prompt\":\"\\ud800\"}", "invalid");
    parse_bad(SAMPLER_FMT_JSONL, "[1,2]", "expected a JSON object");
    parse_bad(SAMPLER_FMT_JSONL, "{\"prompt\":", "invalid JSON");
}

static void test_arena_hard_and_sharegpt(void **state)
{
    (void)state;
    const char *ah = "{\"uid\":\"abc\",\"category\":\"arena-hard-v0.1\",\"cluster\":\"Python\","
                     "\"prompt\":\"Write a sort\"}";
    ASSERT_EQ_INT(sampler_ingest_detect(ah, strlen(ah)), SAMPLER_FMT_ARENA_HARD);
    Arena__V1__Prompt *p = parse_ok(SAMPLER_FMT_AUTO, ah);
    ASSERT_EQ_STR(p->uid, "abc");
    ASSERT_EQ_STR(p->cluster, "Python");
    ASSERT_EQ_STR(p->category, "arena-hard-v0.1");
    sampler_prompt_free(p);
    /* v0.1 turns shape: same identity as the prompt shape */
    p = parse_ok(SAMPLER_FMT_ARENA_HARD,
                 "{\"question_id\":\"q1\",\"cluster\":\"c\",\"turns\":[{\"content\":\"Write a "
                 "sort\"}]}");
    char id[33];
    arena_prompt_id_text("Write a sort", id);
    ASSERT_EQ_STR(p->prompt_id, id);
    ASSERT_EQ_STR(p->uid, "q1");
    sampler_prompt_free(p);
    parse_bad(SAMPLER_FMT_ARENA_HARD, "{\"uid\":\"x\"}", "missing field 'prompt'");

    const char *sg = "{\"id\":\"s1\",\"conversations\":[{\"from\":\"system\",\"value\":\"sys\"},"
                     "{\"from\":\"human\",\"value\":\"Q1\"},{\"from\":\"gpt\",\"value\":\"A1\"},"
                     "{\"from\":\"human\",\"value\":\"Q2\"},{\"from\":\"gpt\",\"value\":\"A2\"}]}";
    ASSERT_EQ_INT(sampler_ingest_detect(sg, strlen(sg)), SAMPLER_FMT_SHAREGPT);
    p = parse_ok(SAMPLER_FMT_AUTO, sg);
    ASSERT_EQ_INT(p->n_messages, 4);
    ASSERT_EQ_STR(p->messages[0]->role, "system");
    ASSERT_EQ_STR(p->messages[1]->role, "user");
    ASSERT_EQ_STR(p->messages[2]->role, "assistant");
    ASSERT_EQ_STR(sampler_prompt_instruction(p), "Q2");
    ASSERT_EQ_STR(p->uid, "s1");
    sampler_prompt_free(p);
    parse_bad(SAMPLER_FMT_SHAREGPT, "{\"conversations\":[{\"from\":\"human\"}]}",
              "missing field 'conversations[0].value'");
    parse_bad(SAMPLER_FMT_SHAREGPT, "{\"items\":[]}", "missing field 'conversations'");
}

struct collected {
    size_t n;
    char bad[8][256];
    uint64_t bad_line[8];
    size_t n_bad;
    char last_instr[128];
};

static int cb(void *ctx, Arena__V1__Prompt *p, uint64_t line)
{
    (void)line;
    struct collected *c = ctx;
    c->n++;
    snprintf(c->last_instr, sizeof(c->last_instr), "%s", sampler_prompt_instruction(p));
    sampler_prompt_free(p);
    return 0;
}

static void bad_cb(void *ctx, uint64_t line, const char *msg)
{
    struct collected *c = ctx;
    if (c->n_bad < 8) {
        snprintf(c->bad[c->n_bad], sizeof(c->bad[0]), "%s", msg);
        c->bad_line[c->n_bad] = line;
    }
    c->n_bad++;
}

static void test_streams(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("ingest");
    char *path = arena_xasprintf("%s/p.jsonl", dir);
    tu_write_file(path, "\n{\"prompt\":\"one\"}\r\n{\"prompt\":\"two\"}\n  \nnot json\n"
                        "{\"messages\":[]}\n{\"prompt\":\"three\"}");
    struct collected c = {0};
    struct sampler_ingest_stats st;
    char err[256];
    ASSERT_EQ_INT(
        sampler_ingest_file(path, SAMPLER_FMT_AUTO, "src", cb, bad_cb, &c, &st, err, sizeof(err)),
        ARENA_ERR_OK);
    ASSERT_EQ_INT(c.n, 3);
    ASSERT_EQ_INT(st.prompts, 3);
    ASSERT_EQ_INT(st.bad, 2);
    ASSERT_EQ_INT(st.records, 5);
    ASSERT_EQ_INT(st.format, SAMPLER_FMT_JSONL);
    ASSERT_EQ_INT(c.bad_line[0], 5);
    ASSERT_EQ_INT(c.bad_line[1], 6);
    assert_non_null(strstr(c.bad[0], "src:5: invalid JSON"));
    ASSERT_EQ_STR(c.bad[1], "src:6: field 'messages' is empty");
    ASSERT_EQ_STR(c.last_instr, "three");

    /* a ShareGPT dump: one JSON array over many lines */
    char *arr = arena_xasprintf("%s/sharegpt.json", dir);
    tu_write_file(arr, "[\n {\"conversations\":[{\"from\":\"human\",\"value\":\"a\"}]},\n"
                       " {\"conversations\":[{\"from\":\"gpt\",\"value\":\"b\"}]},\n"
                       " {\"conversations\":[{\"from\":\"human\",\"value\":\"c\"},"
                       "{\"from\":\"gpt\",\"value\":\"d\"}]}\n]\n");
    memset(&c, 0, sizeof(c));
    ASSERT_EQ_INT(
        sampler_ingest_file(arr, SAMPLER_FMT_AUTO, NULL, cb, bad_cb, &c, &st, err, sizeof(err)),
        ARENA_ERR_OK);
    ASSERT_EQ_INT(st.format, SAMPLER_FMT_SHAREGPT);
    ASSERT_EQ_INT(c.n, 2);
    ASSERT_EQ_INT(c.n_bad, 1);
    assert_non_null(strstr(c.bad[0], ":[2]: no user turn"));

    /* a broken array is an error of the whole document, with its line */
    tu_write_file(arr, "[\n{\"conversations\":[]},\n{oops\n]");
    ASSERT_EQ_INT(
        sampler_ingest_file(arr, SAMPLER_FMT_AUTO, NULL, cb, bad_cb, &c, &st, err, sizeof(err)),
        ARENA_ERR_PARSE);
    assert_non_null(strstr(err, "sharegpt.json:3:"));

    ASSERT_EQ_INT(sampler_ingest_file("/nonexistent/x.jsonl", SAMPLER_FMT_AUTO, NULL, cb, bad_cb,
                                      &c, &st, err, sizeof(err)),
                  ARENA_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/x.jsonl"));

    enum sampler_format f;
    ASSERT_EQ_INT(sampler_format_parse("arena-hard", &f, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(f, SAMPLER_FMT_ARENA_HARD);
    ASSERT_EQ_INT(sampler_format_parse("csv", &f, err, sizeof(err)), ARENA_ERR_INVALID);
    assert_non_null(strstr(err, "unknown format 'csv'"));
    free(arr);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static int count_only(void *ctx, Arena__V1__Prompt *p, uint64_t line)
{
    (void)line;
    struct collected *c = ctx;
    if (c->n == 1) {
        snprintf(c->last_instr, sizeof(c->last_instr), "%.60s", p->cluster);
    }
    assert_true(strlen(p->uid) == 32);
    assert_true(p->category[0] != '\0');
    c->n++;
    sampler_prompt_free(p);
    return 0;
}

static void test_real_arena_hard(void **state)
{
    (void)state;
    char *path = tu_shared_path("data/arena_hard_v0.1/question.jsonl");
    if (path == NULL) {
        printf("# shared data folder absent: skipping the real Arena-Hard file\n");
        skip();
    }
    struct collected c = {0};
    struct sampler_ingest_stats st;
    char err[256];
    ASSERT_EQ_INT(sampler_ingest_file(path, SAMPLER_FMT_AUTO, NULL, count_only, bad_cb, &c, &st,
                                      err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(st.format, SAMPLER_FMT_ARENA_HARD);
    ASSERT_EQ_INT(c.n, 500);
    ASSERT_EQ_INT(st.bad, 0);
    ASSERT_EQ_STR(c.last_instr, "ABC Sequence Puzzles & Groups");
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_arena_hard_and_sharegpt),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_real_arena_hard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
