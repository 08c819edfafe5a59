/* test_llm_replay.c - the replay backend over the real Arena-Hard v0.1 answers in
 * ARENA_SHARED_DIR/data/arena_hard_v0.1 (skipped when absent): every question answered for the
 * three models by prompt_id, by uid and by the messages alone; unknown prompts are a per-call
 * NOT_FOUND; malformed files fail at pool creation naming file:line. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/llm.h"
#include "arena/prompt_id.h"
#include "arena/util.h"
#include "testutil.h"

static char *answers_dir;
static const char *const models[3] = {"gpt-4-0314", "gpt-4-0613", "gpt-3.5-turbo-0125"};

struct got {
    int n;
    arena_err_t err;
    char *text;
    const char *backend;
    bool simulated;
};

static void on_resp(void *opaque, const struct arena_llm_response *r)
{
    struct got *g = opaque;
    g->n++;
    g->err = r->err;
    free(g->text);
    g->text = arena_xstrdup(r->err == ARENA_ERR_OK ? r->content : r->error);
    g->backend = r->backend; /* static string */
    g->simulated = r->simulated;
}

static struct arena_model_cfg replay_model(const char *name, const char *answers,
                                           const char *rmodel)
{
    struct arena_model_cfg m = {0};
    m.name = (char *)name;
    m.backend = (char *)"replay";
    m.answers = (char *)answers;
    m.replay_model = (char *)rmodel;
    return m;
}

static struct arena_llm_pool *pool_of(struct arena_model_cfg *m, size_t n, char *err, size_t errsz)
{
    struct arena_config cfg = {0};
    cfg.models = m;
    cfg.n_models = n;
    return arena_llm_pool_new(&cfg, NULL, err, errsz);
}

static void drain(struct arena_llm_pool *p)
{
    int64_t t0 = arena_mono_ms();
    while (arena_llm_pending(p) > 0 && arena_mono_ms() - t0 < 30000) {
        arena_llm_poll(p, 100);
    }
    ASSERT_EQ_INT(arena_llm_pending(p), 0);
}

static void test_every_question_answered(void **state)
{
    (void)state;
    struct arena_model_cfg cfgs[3];
    for (int i = 0; i < 3; i++) {
        cfgs[i] = replay_model(models[i], answers_dir, "");
    }
    char err[512] = "";
    int64_t t0 = arena_mono_ms();
    struct arena_llm_pool *p = pool_of(cfgs, 3, err, sizeof(err));
    if (!p) {
        fail_msg("pool_new: %s", err);
    }
    printf("loaded 3 x 500 answers in %lld ms\n", (long long)(arena_mono_ms() - t0));
    char *qpath = tu_shared_path("data/arena_hard_v0.1/question.jsonl");
    size_t len = 0;
    char *data = arena_read_file(qpath, &len, err, sizeof(err));
    assert_non_null(data);
    enum { MAXQ = 600 };
    static struct got by_id[MAXQ][3], by_uid[MAXQ][3], by_text[MAXQ][3];
    int nq = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *q = json_loads(line, 0, NULL);
        assert_non_null(q);
        const char *uid = json_string_value(json_object_get(q, "uid"));
        const char *prompt = json_string_value(json_object_get(q, "prompt"));
        assert_non_null(uid);
        assert_non_null(prompt);
        assert_true(nq < MAXQ);
        char pid[33];
        arena_prompt_id_text(prompt, pid); /* as ingest computes it */
        struct arena_llm_message msg = {"user", prompt};
        struct arena_llm_request with_id = {&msg, 1, -1, 0, 0, pid};
        struct arena_llm_request with_uid = {&msg, 1, -1, 0, 0, uid};
        struct arena_llm_request text_only = {&msg, 1, -1, 0, 0, NULL};
        for (int m = 0; m < 3; m++) {
            ASSERT_EQ_INT(arena_llm_submit(p, models[m], &with_id, on_resp, &by_id[nq][m]),
                          ARENA_ERR_OK);
            ASSERT_EQ_INT(arena_llm_submit(p, models[m], &with_uid, on_resp, &by_uid[nq][m]),
                          ARENA_ERR_OK);
            ASSERT_EQ_INT(arena_llm_submit(p, models[m], &text_only, on_resp, &by_text[nq][m]),
                          ARENA_ERR_OK);
        }
        json_decref(q);
        nq++;
    }
    free(data);
    free(qpath);
    ASSERT_EQ_INT(nq, 500);
    drain(p);
    for (int i = 0; i < nq; i++) {
        for (int m = 0; m < 3; m++) {
            struct got *g = &by_id[i][m];
            ASSERT_EQ_INT(g->n, 1);
            if (g->err != ARENA_ERR_OK) {
                fail_msg("question %d model %s: %s", i, models[m], g->text);
            }
            ASSERT_EQ_STR(g->backend, "replay");
            assert_false(g->simulated);
            assert_true(strlen(g->text) > 0);
            ASSERT_EQ_INT(by_uid[i][m].err, ARENA_ERR_OK);
            ASSERT_EQ_INT(by_text[i][m].err, ARENA_ERR_OK);
            ASSERT_EQ_STR(by_uid[i][m].text, g->text);
            ASSERT_EQ_STR(by_text[i][m].text, g->text);
            free(g->text);
            free(by_uid[i][m].text);
            free(by_text[i][m].text);
        }
    }
    arena_llm_pool_destroy(p);
}

static void test_known_answer_and_not_found(void **state)
{
    (void)state;
    /* a file path and a replay_model alias */
    char *file = arena_xasprintf("%s/gpt-4-0314.jsonl", answers_dir);
    struct arena_model_cfg cfgs[2] = {replay_model("baseline", answers_dir, "gpt-4-0314"),
                                      replay_model("file", file, "")};
    char err[512] = "";
    struct arena_llm_pool *p = pool_of(cfgs, 2, err, sizeof(err));
    if (!p) {
        fail_msg("pool_new: %s", err);
    }
    const char *prompt = "Tell me how to implement a SCIM server in PHP using slim as a router";
    struct arena_llm_message msg = {"user", prompt};
    struct arena_llm_request req = {&msg, 1, -1, 0, 0, NULL};
    struct got a = {0}, b = {0}, nf = {0}, nf2 = {0};
    ASSERT_EQ_INT(arena_llm_submit(p, "baseline", &req, on_resp, &a), ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_llm_submit(p, "file", &req, on_resp, &b), ARENA_ERR_OK);
    struct arena_llm_message other = {"user", "A prompt that no Arena-Hard model ever answered."};
    struct arena_llm_request unknown = {&other, 1, -1, 0, 0, "0123456789abcdef0123456789abcdef"};
    ASSERT_EQ_INT(arena_llm_submit(p, "baseline", &unknown, on_resp, &nf), ARENA_ERR_OK);
    struct arena_llm_request unknown2 = {&other, 1, -1, 0, 0, NULL};
    ASSERT_EQ_INT(arena_llm_submit(p, "file", &unknown2, on_resp, &nf2), ARENA_ERR_OK);
    drain(p);
    ASSERT_EQ_INT(a.err, ARENA_ERR_OK);
    assert_true(strncmp(a.text, "To implement a SCIM (System for Cross-domain Identity", 53) == 0);
    ASSERT_EQ_STR(a.text, b.text);
    ASSERT_EQ_INT(nf.err, ARENA_ERR_NOT_FOUND);
    ASSERT_EQ_STR(nf.text, "replay model baseline has no answer for prompt "
                           "0123456789abcdef0123456789abcdef");
    ASSERT_EQ_INT(nf2.err, ARENA_ERR_NOT_FOUND);
    char pid[33];
    arena_prompt_id_text(other.content, pid);
    char *want = arena_xasprintf("replay model file has no answer for prompt %s", pid);
    ASSERT_EQ_STR(nf2.text, want);
    free(want);
    free(a.text), free(b.text), free(nf.text), free(nf2.text);
    free(file);
    arena_llm_pool_destroy(p);
}

static void test_bad_files(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("replaybad");
    char *path = arena_xasprintf("%s/m.jsonl", dir);
    char err[512];
    struct arena_model_cfg m = replay_model("m", path, "");
    tu_write_file(path, "{\"uid\":\"u1\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                        "{\"role\":\"assistant\",\"content\":{\"answer\":\"a\"}}]}\n\n"
                        "{\"uid\":\"u2\",\"messages\":[{\"role\":\"user\",\"content\":\"q2\"}\n");
    assert_null(pool_of(&m, 1, err, sizeof(err)));
    char *want = arena_xasprintf("model m: %s:3: malformed JSON", path);
    if (strncmp(err, want, strlen(want)) != 0) {
        fail_msg("got '%s', want prefix '%s'", err, want);
    }
    free(want);
    tu_write_file(path, "{\"uid\":\"u1\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n");
    assert_null(pool_of(&m, 1, err, sizeof(err)));
    want = arena_xasprintf("model m: %s:1: no assistant answer", path);
    ASSERT_EQ_STR(err, want);
    free(want);
    tu_write_file(path, "{\"uid\":\"u1\",\"messages\":[{\"role\":\"user\",\"content\":7}]}\n");
    assert_null(pool_of(&m, 1, err, sizeof(err)));
    assert_non_null(strstr(err, ":1: messages[0].content is neither a string"));
    /* a plain-string assistant content is accepted */
    tu_write_file(path, "{\"uid\":\"u1\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                        "{\"role\":\"assistant\",\"content\":\"plain\"}]}\n");
    struct arena_llm_pool *p = pool_of(&m, 1, err, sizeof(err));
    assert_non_null(p);
    arena_llm_pool_destroy(p);
    struct arena_model_cfg missing = replay_model("nobody", dir, "");
    assert_null(pool_of(&missing, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "nobody.jsonl"));
    tu_rmtree(dir);
    free(dir);
    free(path);
}

int main(void)
{
    char *d = tu_shared_path("data/arena_hard_v0.1/model_answer");
    if (!d) {
        tu_skip("shared data folder absent: no Arena-Hard answers to replay");
    }
    answers_dir = d;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_question_answered),
        cmocka_unit_test(test_known_answer_and_not_found),
        cmocka_unit_test(test_bad_files),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(answers_dir);
    return rc;
}
