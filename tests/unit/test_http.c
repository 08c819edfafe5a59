/* test_http.c - the ops HTTP server over real loopback TCP with libcurl: /metrics, /healthz,
 * /readyz toggling, custom routes with query strings, 404, 405 and bad listen addresses. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "arena/http.h"
#include "arena/metrics.h"
#include "arena/util.h"

struct reply {
    long status;
    struct arena_buf body;
    char content_type[128];
};

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct arena_buf *b = ud;
    arena_buf_append(b, data, size * n);
    return size * n;
}

static void http_do(int port, const char *method, const char *path, struct reply *r)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    arena_buf_init(&r->body);
    arena_buf_puts(&r->body, "");
    r->content_type[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (!strcmp(method, "POST")) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
        }
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fail_msg("GET %s: %s", url, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
    curl_easy_cleanup(c);
}

static void get(int port, const char *path, struct reply *r)
{
    http_do(port, "GET", path, r);
}

static int echo_route(void *ctx, const char *path, const char *query, struct arena_buf *body,
                      const char **content_type)
{
    arena_buf_printf(body, "{\"ctx\":\"%s\",\"path\":\"%s\",\"query\":\"%s\"}", (char *)ctx, path,
                     query);
    *content_type = "application/json";
    return 200;
}

static int teapot_route(void *ctx, const char *path, const char *query, struct arena_buf *body,
                        const char **content_type)
{
    (void)ctx;
    (void)path;
    (void)query;
    (void)body;
    (void)content_type;
    return 418; /* empty body */
}

static void test_endpoints(void **state)
{
    (void)state;
    char errstr[256];
    struct arena_metrics *m = arena_metrics_new("judge");
    arena_metric_inc(arena_metrics_counter(m, "arena_battles_total", "b", "outcome=\"tie\""));
    struct arena_http *h = arena_http_start("127.0.0.1:0", m, errstr, sizeof(errstr));
    if (!h) {
        fail_msg("arena_http_start: %s", errstr);
    }
    int port = arena_http_port(h);
    assert_true(port > 0 && port < 65536);

    struct reply r;
    get(port, "/metrics", &r);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body.data, "arena_service_up{service=\"judge\",version=\"0.1.0\"} 1"));
    assert_non_null(strstr(r.body.data, "arena_battles_total{outcome=\"tie\"} 1\n"));
    arena_buf_fini(&r.body);

    get(port, "/healthz", &r);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(r.body.data, "ok\n");
    arena_buf_fini(&r.body);

    get(port, "/readyz", &r);
    ASSERT_EQ_INT(r.status, 503);
    ASSERT_EQ_STR(r.body.data, "not ready\n");
    arena_buf_fini(&r.body);
    arena_http_set_ready(h, true);
    get(port, "/readyz", &r);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(r.body.data, "ready\n");
    arena_buf_fini(&r.body);
    arena_http_set_ready(h, false);
    get(port, "/readyz", &r);
    ASSERT_EQ_INT(r.status, 503);
    arena_buf_fini(&r.body);

    arena_http_route(h, "/leaderboard.json", echo_route, "lb");
    arena_http_route(h, "/teapot", teapot_route, NULL);
    get(port, "/leaderboard.json?name=wizardarena&top=5", &r);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(r.content_type, "application/json");
    ASSERT_EQ_STR(
        r.body.data,
        "{\"ctx\":\"lb\",\"path\":\"/leaderboard.json\",\"query\":\"name=wizardarena&top=5\"}");
    arena_buf_fini(&r.body);
    get(port, "/leaderboard.json", &r);
    ASSERT_EQ_STR(r.body.data, "{\"ctx\":\"lb\",\"path\":\"/leaderboard.json\",\"query\":\"\"}");
    arena_buf_fini(&r.body);
    get(port, "/teapot", &r);
    ASSERT_EQ_INT(r.status, 418);
    ASSERT_EQ_STR(r.body.data, "");
    arena_buf_fini(&r.body);

    /* exact paths only */
    get(port, "/leaderboard.json/x", &r);
    ASSERT_EQ_INT(r.status, 404);
    arena_buf_fini(&r.body);
    get(port, "/missing", &r);
    ASSERT_EQ_INT(r.status, 404);
    ASSERT_EQ_STR(r.body.data, "not found\n");
    arena_buf_fini(&r.body);

    http_do(port, "POST", "/metrics", &r);
    ASSERT_EQ_INT(r.status, 405);
    arena_buf_fini(&r.body);
    http_do(port, "DELETE", "/healthz", &r);
    ASSERT_EQ_INT(r.status, 405);
    arena_buf_fini(&r.body);

    /* the port is taken: a second server on it fails with a message naming the address */
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    assert_null(arena_http_start(addr, m, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, addr));

    arena_http_stop(h);
    arena_http_stop(NULL);
    arena_metrics_destroy(m);
}

static void test_bad_listen(void **state)
{
    (void)state;
    char errstr[256];
    const char *bad[] = {"nohost",       "127.0.0.1:",     "127.0.0.1:99999",
                         "127.0.0.1:-1", "example.org:80", "127.0.0.1:80x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errstr[0] = '\0';
        assert_null(arena_http_start(bad[i], NULL, errstr, sizeof(errstr)));
        if (!strstr(errstr, bad[i])) {
            fail_msg("error for '%s' does not name it: %s", bad[i], errstr);
        }
    }
    /* localhost and a NULL registry work (empty /metrics body) */
    struct arena_http *h = arena_http_start("localhost:0", NULL, errstr, sizeof(errstr));
    assert_non_null(h);
    struct reply r;
    get(arena_http_port(h), "/metrics", &r);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(r.body.data, "");
    arena_buf_fini(&r.body);
    arena_http_stop(h);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_bad_listen),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
