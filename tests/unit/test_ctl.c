/* test_ctl.c - the ZeroMQ control plane over real loopback TCP: a REP server polled on its own
 * thread, requests from the test thread (ping, registered command, unknown command, garbage,
 * failing handler) and a quick TIMEOUT against an endpoint nobody answers. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "arena/ctl.h"
#include "arena/util.h"

struct server {
    struct arena_ctl *c;
    atomic_bool stop;
    int calls;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    while (!atomic_load(&s->stop)) {
        arena_ctl_poll(s->c, 20);
    }
    return NULL;
}

static json_t *echo(void *ctx, const char *cmd, json_t *args)
{
    struct server *s = ctx;
    s->calls++;
    json_t *r = json_pack("{s:s,s:O}", "cmd", cmd, "args", args);
    return r; /* no "ok": the server adds "ok":true */
}

static json_t *broken(void *ctx, const char *cmd, json_t *args)
{
    (void)ctx;
    (void)cmd;
    (void)args;
    return NULL;
}

static json_t *request_ok(const char *ep, const char *cmd, json_t *args)
{
    char errstr[256];
    json_t *reply = NULL;
    arena_err_t err = arena_ctl_request(ep, cmd, args, 2000, &reply, errstr, sizeof(errstr));
    if (err != ARENA_ERR_OK) {
        fail_msg("request %s: %s", cmd, errstr);
    }
    return reply;
}

/* Send raw bytes with a plain REQ socket (what a broken client would do). */
static json_t *raw_request(const char *ep, const void *data, size_t len)
{
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0, tmo = 2000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
    assert_int_equal(zmq_connect(sock, ep), 0);
    assert_true(zmq_send(sock, data, len, 0) >= 0);
    char buf[4096];
    int n = zmq_recv(sock, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    zmq_close(sock);
    zmq_ctx_term(ctx);
    json_t *r = json_loads(buf, 0, NULL);
    assert_non_null(r);
    return r;
}

static void test_server(void **state)
{
    (void)state;
    char errstr[256];
    struct server s = {0};
    s.c = arena_ctl_new("tcp://127.0.0.1:*", errstr, sizeof(errstr));
    if (!s.c) {
        fail_msg("arena_ctl_new: %s", errstr);
    }
    const char *ep = arena_ctl_endpoint(s.c);
    assert_null(strchr(ep, '*'));
    assert_int_equal(strncmp(ep, "tcp://127.0.0.1:", 16), 0);
    assert_true(atoi(ep + 16) > 0);
    arena_ctl_register(s.c, "echo", echo, &s);
    arena_ctl_register(s.c, "broken", broken, NULL);
    atomic_init(&s.stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);

    json_t *r = request_ok(ep, "ping", NULL);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(json_is_true(json_object_get(r, "pong")));
    json_decref(r);

    json_t *args = json_pack("{s:s,s:i}", "service", "judge", "n", 3);
    r = request_ok(ep, "echo", args);
    assert_true(json_is_true(json_object_get(r, "ok")));
    ASSERT_EQ_STR(json_string_value(json_object_get(r, "cmd")), "echo");
    json_t *echoed = json_object_get(r, "args");
    ASSERT_EQ_STR(json_string_value(json_object_get(echoed, "service")), "judge");
    ASSERT_EQ_INT(json_integer_value(json_object_get(echoed, "n")), 3);
    ASSERT_EQ_STR(json_string_value(json_object_get(echoed, "cmd")), "echo");
    json_decref(r);
    json_decref(args);
    /* args that are not an object are refused before sending */
    json_t *arr = json_array();
    json_t *none = NULL;
    ASSERT_EQ_INT(arena_ctl_request(ep, "echo", arr, 500, &none, errstr, sizeof(errstr)),
                  ARENA_ERR_INVALID);
    json_decref(arr);

    r = request_ok(ep, "frobnicate", NULL);
    assert_true(json_is_false(json_object_get(r, "ok")));
    const char *e = json_string_value(json_object_get(r, "error"));
    assert_non_null(strstr(e, "unknown command 'frobnicate'"));
    assert_non_null(strstr(e, "echo"));
    json_decref(r);

    r = request_ok(ep, "broken", NULL);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "broken"));
    json_decref(r);

    /* garbage and wrong shapes get an error reply; the REP socket keeps working */
    r = raw_request(ep, "not json{", 9);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "invalid JSON"));
    json_decref(r);
    r = raw_request(ep, "[1,2]", 5);
    assert_true(json_is_false(json_object_get(r, "ok")));
    json_decref(r);
    r = raw_request(ep, "{\"cmd\":7}", 9);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "cmd"));
    json_decref(r);
    r = raw_request(ep, "", 0);
    assert_true(json_is_false(json_object_get(r, "ok")));
    json_decref(r);

    r = request_ok(ep, "ping", NULL);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    ASSERT_EQ_INT(s.calls, 1);

    atomic_store(&s.stop, true);
    pthread_join(th, NULL);
    arena_ctl_destroy(s.c);
    arena_ctl_destroy(NULL);
}

static void test_timeout_and_errors(void **state)
{
    (void)state;
    char errstr[256];
    /* bind then close: the port is (very likely) free and nobody answers */
    struct arena_ctl *c = arena_ctl_new("tcp://127.0.0.1:*", errstr, sizeof(errstr));
    assert_non_null(c);
    char ep[256];
    snprintf(ep, sizeof(ep), "%s", arena_ctl_endpoint(c));
    arena_ctl_destroy(c);

    json_t *reply = NULL;
    int64_t t0 = arena_mono_ms();
    arena_err_t err = arena_ctl_request(ep, "status", NULL, 300, &reply, errstr, sizeof(errstr));
    int64_t took = arena_mono_ms() - t0;
    ASSERT_EQ_INT(err, ARENA_ERR_TIMEOUT);
    assert_null(reply);
    assert_non_null(strstr(errstr, ep));
    if (took > 1500) {
        fail_msg("timeout took %lld ms", (long long)took);
    }

    /* a live socket that is never polled also times out */
    c = arena_ctl_new("tcp://127.0.0.1:*", errstr, sizeof(errstr));
    assert_non_null(c);
    err =
        arena_ctl_request(arena_ctl_endpoint(c), "ping", NULL, 200, &reply, errstr, sizeof(errstr));
    ASSERT_EQ_INT(err, ARENA_ERR_TIMEOUT);
    /* and answers nothing stale afterwards: poll handles the queued request */
    ASSERT_EQ_INT(arena_ctl_poll(c, 200), 1);
    arena_ctl_destroy(c);

    ASSERT_EQ_INT(arena_ctl_request("bogus://x", "ping", NULL, 200, &reply, errstr, sizeof(errstr)),
                  ARENA_ERR_INVALID);
    assert_non_null(strstr(errstr, "bogus://x"));
    assert_null(arena_ctl_new("tcp://256.0.0.1:1", errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "256.0.0.1"));
    assert_null(arena_ctl_new("", errstr, sizeof(errstr)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_timeout_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
