/* test_sampler_embed.c - embeddings: TF-IDF properties (normalised, near texts closer than
 * far ones, stop-grams, idf fitting) and the OpenAI-compatible backend over real HTTP against
 * tests/support/fake_openai (batching, auth header, HTTP errors), then the pipeline's
 * decontamination with that backend. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena/util.h"
#include "sampler_embed.h"
#include "sampler_pipeline.h"
#include "testutil.h"

static void test_tfidf(void **state)
{
    (void)state;
    char err[256];
    struct sampler_tfidf_opts o = {.dim_bits = 14};
    struct sampler_embedder *e = sampler_embed_tfidf_new(&o, err, sizeof(err));
    assert_non_null(e);
    ASSERT_EQ_STR(sampler_embedder_name(e), "tfidf");
    ASSERT_EQ_INT(sampler_embedder_dim(e), 1 << 14);
    const char *docs[] = {
        "How do I reverse a linked list in C?", "how do i REVERSE a linked   list in c",
        "Write a poem about autumn leaves falling.", "Explain the difference between TCP and UDP."};
    sampler_embed_tfidf_fit(e, docs, 4);
    struct sampler_vec v[4];
    ASSERT_EQ_INT(sampler_embed(e, docs, 4, v, err, sizeof(err)), ARENA_ERR_OK);
    for (int i = 0; i < 4; i++) {
        ASSERT_NEAR(sampler_vec_dot(&v[i], &v[i]), 1.0, 1e-4);
        for (uint32_t j = 1; j < v[i].nnz; j++) {
            assert_true(v[i].idx[j - 1] < v[i].idx[j]);
        }
    }
    float near = sampler_vec_dot(&v[0], &v[1]);
    float far = sampler_vec_dot(&v[0], &v[2]);
    printf("# tfidf cos(near)=%.3f cos(far)=%.3f\n", near, far);
    assert_true(near > 0.8f);
    assert_true(far < 0.2f);
    /* dense conversion agrees */
    float *dense = malloc((1 << 14) * sizeof(float));
    sampler_vec_to_dense(&v[1], dense);
    struct sampler_vec dv = {.dim = 1 << 14, .nnz = 1 << 14, .idx = NULL, .val = dense};
    ASSERT_NEAR(sampler_vec_dot(&v[0], &dv), near, 1e-5);
    free(dense);
    for (int i = 0; i < 4; i++) {
        sampler_vec_fini(&v[i]);
    }
    sampler_embedder_destroy(e);

    /* stop-grams: with max_df 0.5, n-grams of every document vanish */
    struct sampler_tfidf_opts so = {.dim_bits = 14, .max_df = 0.5};
    e = sampler_embed_tfidf_new(&so, err, sizeof(err));
    const char *same[] = {"zzz alpha", "zzz beta", "zzz gamma"};
    sampler_embed_tfidf_fit(e, same, 3);
    struct sampler_vec a, b;
    ASSERT_EQ_INT(sampler_embed_one(e, "zzz", true, &a, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(a.nnz, 0);
    ASSERT_EQ_INT(sampler_embed_one(e, "zzz alpha", false, &b, err, sizeof(err)), ARENA_ERR_OK);
    assert_true(b.nnz > 0);
    sampler_vec_fini(&a);
    sampler_vec_fini(&b);
    sampler_embedder_destroy(e);

    struct sampler_tfidf_opts bad = {.dim_bits = 30};
    assert_null(sampler_embed_tfidf_new(&bad, err, sizeof(err)));
    assert_non_null(strstr(err, "dim_bits"));
}

static pid_t g_pid;
static int g_port;
static char *g_dir;

static int start_fake(void **state)
{
    (void)state;
    char *bin = arena_xasprintf("%s/tests/fake-openai", ARENA_BINARY_DIR);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "fake-openai not built at %s\n", bin);
        free(bin);
        return -1;
    }
    g_dir = tu_tmpdir("embed");
    char *pf = arena_xasprintf("%s/port", g_dir);
    g_pid = fork();
    if (g_pid == 0) {
        execl(bin, bin, "--port-file", pf, "--require-key", "sekret-key-123", (char *)NULL);
        _exit(127);
    }
    free(bin);
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(pf, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d", &g_port) == 1;
            fclose(f);
            if (ok && g_port > 0) {
                break;
            }
        }
        usleep(50000);
    }
    free(pf);
    return g_port > 0 ? 0 : -1;
}

static int stop_fake(void **state)
{
    (void)state;
    if (g_pid > 0) {
        kill(g_pid, SIGTERM);
        waitpid(g_pid, NULL, 0);
    }
    if (g_dir != NULL) {
        tu_rmtree(g_dir);
        free(g_dir);
    }
    return 0;
}

static void test_openai(void **state)
{
    (void)state;
    char url[128], err[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/", g_port);
    setenv("SAMPLER_TEST_KEY", "sekret-key-123", 1);
    struct sampler_openai_embed_opts o = {
        .base_url = url, .model = "emb", .api_key_env = "SAMPLER_TEST_KEY", .batch = 2};
    struct sampler_embedder *e = sampler_embed_openai_new(&o, err, sizeof(err));
    assert_non_null(e);
    const char *texts[] = {"reverse a linked list", "reverse a linked list", "autumn poem",
                           "tcp versus udp", "reverse the linked list"};
    struct sampler_vec v[5];
    ASSERT_EQ_INT(sampler_embed(e, texts, 5, v, err, sizeof(err)), ARENA_ERR_OK); /* 3 calls */
    ASSERT_EQ_INT(sampler_embedder_dim(e), 64);
    ASSERT_EQ_INT(v[0].nnz, 64);
    assert_null(v[0].idx);
    ASSERT_NEAR(sampler_vec_dot(&v[0], &v[1]), 1.0, 1e-5);
    assert_true(sampler_vec_dot(&v[0], &v[4]) > sampler_vec_dot(&v[0], &v[2]));
    for (int i = 0; i < 5; i++) {
        sampler_vec_fini(&v[i]);
    }

    /* the pipeline with this backend: an eval item's copy is decontaminated */
    struct sampler_pipeline_opts po;
    sampler_pipeline_opts_default(&po);
    po.embedder = e;
    po.decontam_threshold = 0.9;
    struct sampler_pipeline *p = sampler_pipeline_new(&po, err, sizeof(err));
    sampler_pipeline_add_eval(p, "eval-1", "Explain how to reverse a singly linked list in C");
    char m[33];
    ASSERT_EQ_INT(sampler_pipeline_offer(p, "t1", "Write a poem about the autumn sea", m),
                  SAMPLER_ACCEPT);
    /* same words, other order: MinHash misses it, the embedding rule catches it */
    ASSERT_EQ_INT(sampler_pipeline_offer(p, "t2",
                                         "in C a singly linked list: explain how to "
                                         "reverse",
                                         m),
                  SAMPLER_DROP_DECONTAM);
    ASSERT_EQ_STR(m, "eval-1");
    ASSERT_EQ_INT(sampler_pipeline_embed_errors(p), 0);
    sampler_pipeline_destroy(p);
    sampler_embedder_destroy(e);

    /* wrong key: HTTP 401 reported with the status */
    setenv("SAMPLER_TEST_KEY", "wrong-key-456", 1);
    e = sampler_embed_openai_new(&o, err, sizeof(err));
    ASSERT_EQ_INT(sampler_embed(e, texts, 1, v, err, sizeof(err)), ARENA_ERR_HTTP);
    assert_non_null(strstr(err, "HTTP 401"));
    sampler_embedder_destroy(e);

    /* missing key variable, nothing listening */
    unsetenv("SAMPLER_TEST_KEY");
    assert_null(sampler_embed_openai_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "SAMPLER_TEST_KEY"));
    struct sampler_openai_embed_opts dead = {
        .base_url = "http://127.0.0.1:1/v1", .model = "emb", .timeout_ms = 2000};
    e = sampler_embed_openai_new(&dead, err, sizeof(err));
    ASSERT_EQ_INT(sampler_embed(e, texts, 1, v, err, sizeof(err)), ARENA_ERR_HTTP);
    assert_non_null(strstr(err, "127.0.0.1:1"));
    sampler_embedder_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tfidf),
        cmocka_unit_test_setup_teardown(test_openai, start_fake, stop_fake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
