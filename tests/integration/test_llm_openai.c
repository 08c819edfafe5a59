/* test_llm_openai.c - the openai backend against a real HTTP server (tests/fake-openai started
 * as a child process): success, retries on 5xx/429/timeouts/dropped connections/bad bodies,
 * Retry-After, immediate failure on 400, 1000 requests under mixed faults, the concurrency
 * limit seen from the server, and the API key never leaking into logs, errors or metrics. */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/src/llm_internal.h"
#include "arena/llm.h"
#include "arena/log.h"
#include "arena/metrics.h"
#include "arena/util.h"
#include "testutil.h"

#define KEY_ENV "ARENA_TEST_FAKE_OPENAI_KEY"
#define KEY_VALUE "sk-test-9f3c2b71d4e8a6c05b1e"

struct server {
    pid_t pid;
    int port;
    char *dir;
    char base_url[64];
};

static struct server srv_main; /* faults by model name, requires the key */

static void server_start(struct server *s, const char *const *extra)
{
    s->dir = tu_tmpdir("fakeopenai");
    char *port_file = arena_xasprintf("%s/port", s->dir);
    char *exe = arena_xasprintf("%s/tests/fake-openai", ARENA_BINARY_DIR);
    const char *argv[32];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    for (int i = 0; extra && extra[i]; i++) {
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
        execv(exe, (char *const *)argv);
        fprintf(stderr, "cannot exec %s\n", exe);
        _exit(127);
    }
    s->port = 0;
    for (int i = 0; i < 500 && s->port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &s->port) != 1) {
                s->port = 0;
            }
            fclose(f);
        }
        if (s->port == 0) {
            usleep(10000);
        }
    }
    if (s->port == 0) {
        fprintf(stderr, "fake-openai did not start (%s)\n", exe);
        exit(1);
    }
    snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%d/v1", s->port);
    free(port_file);
    free(exe);
}

static void server_stop(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->dir) {
        tu_rmtree(s->dir);
        free(s->dir);
        s->dir = NULL;
    }
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    arena_buf_append(ud, p, sz * n);
    return sz * n;
}

/* GET /stats (or POST /stats/reset): one counter. */
static long server_stat(const struct server *s, const char *key, bool reset)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/stats%s", s->port, reset ? "/reset" : "");
    struct arena_buf b;
    arena_buf_init(&b);
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " KEY_VALUE);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (reset) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    json_t *o = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(o);
    long v = (long)json_integer_value(json_object_get(o, key));
    json_decref(o);
    arena_buf_fini(&b);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return v;
}

static struct arena_model_cfg oa_model(const struct server *s, const char *name,
                                       const char *server_model)
{
    struct arena_model_cfg m = {0};
    m.name = (char *)name;
    m.backend = (char *)"openai";
    m.base_url = (char *)s->base_url;
    m.model = (char *)server_model;
    m.api_key_env = (char *)KEY_ENV;
    m.max_concurrency = 16;
    m.timeout_ms = 2000;
    m.max_retries = 3;
    m.temperature = 0.0;
    return m;
}

struct got {
    int n;
    arena_err_t err;
    char *text; /* content or error */
    int http_status;
    uint32_t retries, prompt_tokens, completion_tokens;
    char backend[16];
};

static void on_resp(void *opaque, const struct arena_llm_response *r)
{
    struct got *g = opaque;
    g->n++;
    g->err = r->err;
    free(g->text);
    g->text = arena_xstrdup(r->err == ARENA_ERR_OK ? r->content : r->error);
    g->http_status = r->http_status;
    g->retries = r->retries;
    g->prompt_tokens = r->prompt_tokens;
    g->completion_tokens = r->completion_tokens;
    snprintf(g->backend, sizeof(g->backend), "%s", r->backend);
}

static struct arena_llm_pool *pool_one(struct arena_model_cfg *m, struct arena_metrics *mx)
{
    struct arena_config cfg = {0};
    cfg.models = m;
    cfg.n_models = 1;
    char err[256] = "";
    struct arena_llm_pool *p = arena_llm_pool_new(&cfg, mx, err, sizeof(err));
    if (!p) {
        fail_msg("pool_new: %s", err);
    }
    return p;
}

/* One call, waiting for its callback; returns elapsed ms. */
static int64_t call_once(struct arena_llm_pool *p, const char *model, const char *text,
                         struct got *g)
{
    struct arena_llm_message msg = {"user", text};
    struct arena_llm_request req = {&msg, 1, -1, 0, 0, NULL};
    int64_t t0 = arena_mono_ms();
    ASSERT_EQ_INT(arena_llm_submit(p, model, &req, on_resp, g), ARENA_ERR_OK);
    while (g->n == 0 && arena_mono_ms() - t0 < 60000) {
        arena_llm_poll(p, 200);
    }
    ASSERT_EQ_INT(g->n, 1);
    return arena_mono_ms() - t0;
}

static double metric_value(struct arena_metrics *mx, const char *series)
{
    char *text = arena_metrics_render(mx);
    const char *p = strstr(text, series);
    double v = p ? strtod(p + strlen(series), NULL) : 0.0;
    free(text);
    return v;
}

static void test_ok(void **state)
{
    (void)state;
    server_stat(&srv_main, "requests", true);
    struct arena_model_cfg m = oa_model(&srv_main, "gpt", "plain");
    struct arena_metrics *mx = arena_metrics_new("test");
    struct arena_llm_pool *p = pool_one(&m, mx);
    struct got g = {0};
    call_once(p, "gpt", "hello there, server", &g);
    ASSERT_EQ_INT(g.err, ARENA_ERR_OK);
    ASSERT_EQ_STR(g.text, "fake answer: hello there, server");
    ASSERT_EQ_STR(g.backend, "openai");
    ASSERT_EQ_INT(g.http_status, 200);
    ASSERT_EQ_INT(g.retries, 0);
    ASSERT_EQ_INT(g.prompt_tokens, 3);
    ASSERT_EQ_INT(g.completion_tokens, 5);
    ASSERT_EQ_INT(server_stat(&srv_main, "ok", false), 1);
    ASSERT_NEAR(metric_value(mx, "arena_model_calls_total{model=\"gpt\",status=\"ok\"} "), 1, 0);
    ASSERT_NEAR(metric_value(mx, "arena_model_tokens_total{model=\"gpt\",kind=\"completion\"} "), 5,
                0);
    /* a judge prompt gets a verdict in the requested format */
    struct got j = {0};
    call_once(p, "gpt",
              "Judge. Output [[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]].\n"
              "[The Start of Assistant A's Answer]\n[sim-quality: 9]\n"
              "[The End of Assistant A's Answer]\n[The Start of Assistant B's Answer]\n"
              "[sim-quality: 2]\n[The End of Assistant B's Answer]",
              &j);
    ASSERT_EQ_INT(j.err, ARENA_ERR_OK);
    assert_non_null(strstr(j.text, "My final verdict is: [[A>>B]]"));
    free(g.text);
    free(j.text);
    arena_llm_pool_destroy(p);
    arena_metrics_destroy(mx);
}

static void test_retry_5xx_then_ok(void **state)
{
    (void)state;
    server_stat(&srv_main, "requests", true);
    struct arena_model_cfg m = oa_model(&srv_main, "gpt", "fault-500x2-then-ok");
    struct arena_metrics *mx = arena_metrics_new("test");
    struct arena_llm_pool *p = pool_one(&m, mx);
    struct got g = {0};
    call_once(p, "gpt", "retry me", &g);
    ASSERT_EQ_INT(g.err, ARENA_ERR_OK);
    ASSERT_EQ_INT(g.retries, 2);
    ASSERT_EQ_INT(server_stat(&srv_main, "fault_500", false), 2);
    ASSERT_EQ_INT(server_stat(&srv_main, "ok", false), 1);
    ASSERT_NEAR(
        metric_value(mx, "arena_model_call_retries_total{model=\"gpt\",reason=\"http_5xx\"} "), 2,
        0);
    free(g.text);
    /* always 503, max_retries 1: fails with the status and the server's message */
    struct arena_model_cfg m2 = oa_model(&srv_main, "gpt2", "fault-503");
    m2.max_retries = 1;
    struct arena_llm_pool *p2 = pool_one(&m2, NULL);
    struct got e = {0};
    call_once(p2, "gpt2", "never works", &e);
    ASSERT_EQ_INT(e.err, ARENA_ERR_HTTP);
    ASSERT_EQ_STR(e.text, "model gpt2: HTTP 503 after 2 attempts: fake service unavailable");
    free(e.text);
    arena_llm_pool_destroy(p2);
    arena_llm_pool_destroy(p);
    arena_metrics_destroy(mx);
}

static void test_retry_after(void **state)
{
    (void)state;
    struct arena_model_cfg m = oa_model(&srv_main, "gpt", "fault-429-then-ok");
    struct arena_metrics *mx = arena_metrics_new("test");
    struct arena_llm_pool *p = pool_one(&m, mx);
    struct got g = {0};
    int64_t ms = call_once(p, "gpt", "rate limited once", &g);
    ASSERT_EQ_INT(g.err, ARENA_ERR_OK);
    ASSERT_EQ_INT(g.retries, 1);
    printf("429 with Retry-After: 1 -> completed after %lld ms\n", (long long)ms);
    assert_true(ms >= 1000); /* the server asked for 1 s; backoff alone would be <= 200 ms */
    assert_true(ms < 3000);
    ASSERT_NEAR(
        metric_value(mx, "arena_model_call_retries_total{model=\"gpt\",reason=\"http_429\"} "), 1,
        0);
    free(g.text);
    arena_llm_pool_destroy(p);
    arena_metrics_destroy(mx);
}

static void test_timeouts(void **state)
{
    (void)state;
    struct arena_model_cfg m = oa_model(&srv_main, "slowpoke", "fault-timeout");
    m.timeout_ms = 200;
    m.max_retries = 2;
    struct arena_metrics *mx = arena_metrics_new("test");
    struct arena_llm_pool *p = pool_one(&m, mx);
    struct got g = {0};
    int64_t ms = call_once(p, "slowpoke", "hang", &g);
    ASSERT_EQ_INT(g.err, ARENA_ERR_TIMEOUT);
    ASSERT_EQ_STR(g.text, "model slowpoke: timed out after 3 attempts (timeout_ms=200)");
    assert_true(ms >= 600);
    ASSERT_NEAR(
        metric_value(mx, "arena_model_call_retries_total{model=\"slowpoke\",reason=\"timeout\"} "),
        2, 0);
    ASSERT_NEAR(metric_value(mx, "arena_model_calls_total{model=\"slowpoke\",status=\"error\"} "),
                1, 0);
    free(g.text);
    arena_llm_pool_destroy(p);
    /* once, then ok */
    struct arena_model_cfg m2 = oa_model(&srv_main, "gpt", "fault-timeout-then-ok");
    m2.timeout_ms = 300;
    p = pool_one(&m2, NULL);
    struct got g2 = {0};
    call_once(p, "gpt", "hang once", &g2);
    ASSERT_EQ_INT(g2.err, ARENA_ERR_OK);
    ASSERT_EQ_INT(g2.retries, 1);
    free(g2.text);
    arena_llm_pool_destroy(p);
    arena_metrics_destroy(mx);
}

static void test_dropped_connections(void **state)
{
    (void)state;
    server_stat(&srv_main, "requests", true);
    struct arena_model_cfg m = oa_model(&srv_main, "gpt", "fault-drop-then-ok");
    struct arena_metrics *mx = arena_metrics_new("test");
    struct arena_llm_pool *p = pool_one(&m, mx);
    struct got g = {0};
    call_once(p, "gpt", "drop me once", &g);
    ASSERT_EQ_INT(g.err, ARENA_ERR_OK);
    ASSERT_EQ_INT(server_stat(&srv_main, "fault_drop", false), 1);
    ASSERT_EQ_INT(g.retries, 1);
    ASSERT_NEAR(
        metric_value(mx, "arena_model_call_retries_total{model=\"gpt\",reason=\"connect\"} "), 1,
        0);
    free(g.text);
    arena_llm_pool_destroy(p);
    struct arena_model_cfg m2 = oa_model(&srv_main, "gpt", "fault-drop");
    m2.max_retries = 1;
    p = pool_one(&m2, NULL);
    struct got e = {0};
    call_once(p, "gpt", "always dropped", &e);
    ASSERT_EQ_INT(e.err, ARENA_ERR_BACKEND);
    assert_non_null(strstr(e.text, "model gpt: connection failed after 2 attempts"));
    free(e.text);
    arena_llm_pool_destroy(p);
    /* nothing listening */
    struct server none = {0};
    snprintf(none.base_url, sizeof(none.base_url), "http://127.0.0.1:1/v1");
    struct arena_model_cfg m3 = oa_model(&none, "gone", "x");
    m3.max_retries = 1;
    p = pool_one(&m3, NULL);
    struct got c = {0};
    call_once(p, "gone", "anyone?", &c);
    ASSERT_EQ_INT(c.err, ARENA_ERR_BACKEND);
    assert_non_null(strstr(c.text, "model gone: connection failed after 2 attempts"));
    free(c.text);
    arena_llm_pool_destroy(p);
    arena_metrics_destroy(mx);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    static const char *const kinds[] = {"badjson", "nochoices", "ctype"};
    static const char *const why[] = {"malformed JSON", "empty choices", "wrong content type"};
    for (int k = 0; k < 3; k++) {
        struct arena_metrics *mx = arena_metrics_new("test");
        char model[64];
        snprintf(model, sizeof(model), "fault-%s-then-ok", kinds[k]);
        struct arena_model_cfg m = oa_model(&srv_main, "gpt", model);
        struct arena_llm_pool *p = pool_one(&m, mx);
        struct got g = {0};
        call_once(p, "gpt", "parse me", &g);
        ASSERT_EQ_INT(g.err, ARENA_ERR_OK);
        ASSERT_EQ_STR(g.text, "fake answer: parse me");
        ASSERT_EQ_INT(g.retries, 1);
        ASSERT_NEAR(
            metric_value(mx, "arena_model_call_retries_total{model=\"gpt\",reason=\"parse\"} "), 1,
            0);
        free(g.text);
        arena_llm_pool_destroy(p);
        snprintf(model, sizeof(model), "fault-%s", kinds[k]);
        struct arena_model_cfg m2 = oa_model(&srv_main, "gpt", model);
        m2.max_retries = 1;
        p = pool_one(&m2, NULL);
        struct got e = {0};
        call_once(p, "gpt", "always broken", &e);
        ASSERT_EQ_INT(e.err, ARENA_ERR_PARSE);
        assert_non_null(strstr(e.text, "model gpt: invalid response after 2 attempts: "));
        if (!strstr(e.text, why[k])) {
            fail_msg("'%s' does not say '%s'", e.text, why[k]);
        }
        free(e.text);
        arena_llm_pool_destroy(p);
        arena_metrics_destroy(mx);
    }
}

static void test_400_no_retry(void **state)
{
    (void)state;
    server_stat(&srv_main, "requests", true);
    struct arena_model_cfg m = oa_model(&srv_main, "gpt", "fault-400");
    m.max_retries = 5;
    struct arena_llm_pool *p = pool_one(&m, NULL);
    struct got g = {0};
    call_once(p, "gpt", "bad request", &g);
    ASSERT_EQ_INT(g.err, ARENA_ERR_HTTP);
    ASSERT_EQ_STR(g.text, "model gpt: HTTP 400: model fault-400 rejects this request (fake 400)");
    ASSERT_EQ_INT(g.retries, 0);
    ASSERT_EQ_INT(g.http_status, 400);
    ASSERT_EQ_INT(server_stat(&srv_main, "requests", false), 1);
    free(g.text);
    arena_llm_pool_destroy(p);
}

static void test_mixed_faults_1000(void **state)
{
    (void)state;
    struct server s = {0};
    const char *const args[] = {"--hang-ms",
                                "1500",
                                "--fault",
                                "500:0.03",
                                "--fault",
                                "429:0.02:retry-after=0",
                                "--fault",
                                "timeout:0.01",
                                "--fault",
                                "drop:0.015",
                                "--fault",
                                "badjson:0.01",
                                "--fault",
                                "nochoices:0.005",
                                "--fault",
                                "ctype:0.005",
                                "--fault",
                                "503:0.005",
                                "--require-key",
                                KEY_VALUE,
                                NULL};
    server_start(&s, args);
    struct arena_model_cfg m = oa_model(&s, "gpt", "mixed");
    m.max_retries = 6;
    m.timeout_ms = 400;
    m.max_concurrency = 32;
    struct arena_metrics *mx = arena_metrics_new("test");
    struct arena_llm_pool *p = pool_one(&m, mx);
    enum { N = 1000 };
    static struct got g[N];
    char text[64];
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "request number %d", i);
        struct arena_llm_message msg = {"user", text};
        struct arena_llm_request req = {&msg, 1, -1, 0, 0, NULL};
        ASSERT_EQ_INT(arena_llm_submit(p, "gpt", &req, on_resp, &g[i]), ARENA_ERR_OK);
    }
    int64_t t0 = arena_mono_ms();
    int callbacks = 0;
    while (arena_llm_pending(p) > 0 && arena_mono_ms() - t0 < 240000) {
        callbacks += arena_llm_poll(p, 200);
    }
    ASSERT_EQ_INT(callbacks, N);
    int ok = 0, failed = 0;
    uint32_t retries = 0;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ_INT(g[i].n, 1);
        retries += g[i].retries;
        if (g[i].err == ARENA_ERR_OK) {
            char want[64];
            snprintf(want, sizeof(want), "fake answer: request number %d", i);
            ASSERT_EQ_STR(g[i].text, want);
            ok++;
        } else {
            assert_true(strncmp(g[i].text, "model gpt: ", 11) == 0);
            failed++;
        }
        free(g[i].text);
    }
    long requests = server_stat(&s, "requests", false);
    printf("1000 calls under ~10%% faults: %d ok, %d failed, %u retries, %ld server requests, "
           "%lld ms\n",
           ok, failed, retries, requests, (long long)(arena_mono_ms() - t0));
    ASSERT_EQ_INT(ok + failed, N);
    assert_true(ok >= N - 2); /* 7 faults in a row at 10% is ~1e-7 per call */
    assert_true(retries >= 50);
    /* curl itself re-sends once when a reused keep-alive connection is found dead, so a drop
     * may cost a server request without a retry of ours */
    long drops = server_stat(&s, "fault_drop", false);
    assert_true(requests >= N + (long)retries);
    assert_true(requests <= N + (long)retries + drops);
    double ok_metric = metric_value(mx, "arena_model_calls_total{model=\"gpt\",status=\"ok\"} ");
    ASSERT_NEAR(ok_metric, ok, 0);
    arena_llm_pool_destroy(p);
    arena_metrics_destroy(mx);
    server_stop(&s);
}

static void test_concurrency_limit(void **state)
{
    (void)state;
    struct server s = {0};
    const char *const args[] = {"--latency-ms", "50", "--require-key", KEY_VALUE, NULL};
    server_start(&s, args);
    struct arena_model_cfg m = oa_model(&s, "gpt", "plain");
    m.max_concurrency = 8;
    struct arena_llm_pool *p = pool_one(&m, NULL);
    enum { N = 200 };
    static struct got g[N];
    for (int i = 0; i < N; i++) {
        struct arena_llm_message msg = {"user", "concurrent"};
        struct arena_llm_request req = {&msg, 1, -1, 0, 0, NULL};
        ASSERT_EQ_INT(arena_llm_submit(p, "gpt", &req, on_resp, &g[i]), ARENA_ERR_OK);
    }
    int64_t t0 = arena_mono_ms();
    while (arena_llm_pending(p) > 0 && arena_mono_ms() - t0 < 60000) {
        arena_llm_poll(p, 100);
    }
    int64_t ms = arena_mono_ms() - t0;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ_INT(g[i].err, ARENA_ERR_OK);
        free(g[i].text);
    }
    long maxc = server_stat(&s, "max_concurrent", false);
    printf("max_concurrency 8: server saw at most %ld concurrent requests; 200 calls in %lld ms "
           "(ideal 1250)\n",
           maxc, (long long)ms);
    assert_true(maxc <= 8);
    assert_true(maxc >= 6);
    assert_true(ms >= 1200);
    arena_llm_pool_destroy(p);
    server_stop(&s);
}

static void test_api_key_never_leaks(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("llmkey");
    char *log_path = arena_xasprintf("%s/stderr.log", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, 2);
    close(fd);
    int old_level = arena_log_level;
    arena_log_level = ARENA_LOG_DEBUG;

    struct arena_metrics *mx = arena_metrics_new("test");
    struct arena_model_cfg models[3] = {oa_model(&srv_main, "good", "plain"),
                                        oa_model(&srv_main, "flaky", "fault-500-then-ok"),
                                        oa_model(&srv_main, "broken", "fault-400")};
    struct arena_config cfg = {0};
    cfg.models = models;
    cfg.n_models = 3;
    char err[256];
    struct arena_llm_pool *p = arena_llm_pool_new(&cfg, mx, err, sizeof(err));
    assert_non_null(p);
    struct got g[3] = {{0}};
    call_once(p, "good", "secret test " KEY_VALUE, &g[0]); /* even if a prompt holds it */
    call_once(p, "flaky", "secret test", &g[1]);
    call_once(p, "broken", "secret test", &g[2]);
    ASSERT_EQ_INT(g[0].err, ARENA_ERR_OK); /* the server required the key: it was sent */
    ASSERT_EQ_INT(g[1].err, ARENA_ERR_OK);
    ASSERT_EQ_INT(g[2].err, ARENA_ERR_HTTP);
    assert_null(strstr(g[2].text, KEY_VALUE));
    ARENA_ERROR("event=test_line model=good note=\"%s\"", g[2].text);
    char *metrics = arena_metrics_render(mx);
    assert_null(strstr(metrics, KEY_VALUE));
    free(metrics);
    arena_llm_pool_destroy(p);
    arena_metrics_destroy(mx);
    /* a wrong key: 401 is a permanent error */
    setenv(KEY_ENV "_WRONG", "sk-wrong-key-0000", 1);
    struct arena_model_cfg w = oa_model(&srv_main, "wrong", "plain");
    w.api_key_env = (char *)KEY_ENV "_WRONG";
    p = pool_one(&w, NULL);
    struct got wg = {0};
    call_once(p, "wrong", "hi", &wg);
    ASSERT_EQ_INT(wg.err, ARENA_ERR_HTTP);
    ASSERT_EQ_STR(wg.text, "model wrong: HTTP 401: missing or wrong API key");
    arena_llm_pool_destroy(p);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    arena_log_level = old_level;
    size_t len = 0;
    char *logs = arena_read_file(log_path, &len, err, sizeof(err));
    assert_non_null(logs);
    assert_non_null(strstr(logs, "event=test_line")); /* the capture worked */
    assert_null(strstr(logs, KEY_VALUE));
    free(logs);
    for (int i = 0; i < 3; i++) {
        free(g[i].text);
    }
    free(wg.text);
    /* unset env var: a clear start-up error */
    struct arena_model_cfg u = oa_model(&srv_main, "nokey", "plain");
    u.api_key_env = (char *)"ARENA_TEST_UNSET_VARIABLE";
    cfg.models = &u;
    cfg.n_models = 1;
    assert_null(arena_llm_pool_new(&cfg, NULL, err, sizeof(err)));
    ASSERT_EQ_STR(err, "model nokey: api_key_env ARENA_TEST_UNSET_VARIABLE is not set");
    tu_rmtree(dir);
    free(dir);
    free(log_path);
}

static void test_retry_after_parse(void **state)
{
    (void)state;
    int64_t now = 1700000000000LL; /* Tue, 14 Nov 2023 22:13:20 GMT */
    ASSERT_EQ_INT(arena__openai_retry_after_ms("1", now), 1000);
    ASSERT_EQ_INT(arena__openai_retry_after_ms(" 2.5\r\n", now), 2500);
    ASSERT_EQ_INT(arena__openai_retry_after_ms("Tue, 14 Nov 2023 22:13:30 GMT", now), 10000);
    ASSERT_EQ_INT(arena__openai_retry_after_ms("Tue, 14 Nov 2023 22:13:00 GMT", now), 0);
    ASSERT_EQ_INT(arena__openai_retry_after_ms("soon", now), -1);
    ASSERT_EQ_INT(arena__openai_retry_after_ms("", now), -1);
    ASSERT_EQ_INT(arena__openai_retry_after_ms("5s", now), -1);
}

static int setup(void **state)
{
    (void)state;
    setenv(KEY_ENV, KEY_VALUE, 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *const args[] = {"--hang-ms", "2000", "--require-key", KEY_VALUE, NULL};
    server_start(&srv_main, args);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    server_stop(&srv_main);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_parse),
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_retry_5xx_then_ok),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_dropped_connections),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_400_no_retry),
        cmocka_unit_test(test_mixed_faults_1000),
        cmocka_unit_test(test_concurrency_limit),
        cmocka_unit_test(test_api_key_never_leaks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
