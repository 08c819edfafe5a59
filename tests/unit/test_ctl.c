/* test_ctl.c - the ZeroMQ control plane over real loopback TCP: a REP server polled on its own
 * thread, requests from the test thread (ping, registered command, unknown command, garbage,
 * failing handler) and a quick TIMEOUT against an endpoint nobody answers; with CURVE, an
 * authorised client is answered while an unknown key, a plaintext client and a client holding
 * the wrong server key are refused, and damaged key files are config errors that never echo
 * the key. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "arena/ctl.h"
#include "arena/log.h"
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

/* ---- CURVE ---------------------------------------------------------------------------------- */

struct keypair {
    char pub[41];
    char sec[41];
    char pub_path[512];
    char sec_path[512];
};

static void make_keypair(const char *dir, const char *name, struct keypair *kp)
{
    assert_int_equal(zmq_curve_keypair(kp->pub, kp->sec), 0);
    snprintf(kp->pub_path, sizeof(kp->pub_path), "%s/%s.pub", dir, name);
    snprintf(kp->sec_path, sizeof(kp->sec_path), "%s/%s.key", dir, name);
    char text[128];
    snprintf(text, sizeof(text), "# public key %s\n%s\n", name, kp->pub);
    tu_write_file(kp->pub_path, text);
    snprintf(text, sizeof(text), "%s\n", kp->sec);
    tu_write_file(kp->sec_path, text);
    chmod(kp->sec_path, 0600);
}

static arena_err_t curve_request(const struct keypair *client, const char *server_pub_path,
                                 const char *ep, int timeout_ms, json_t **reply, char *errstr,
                                 size_t errstr_size)
{
    if (client) {
        struct arena_ctl_curve cv;
        char es[512];
        if (arena_ctl_curve_client_init(&cv, client->sec_path, server_pub_path, es, sizeof(es)) !=
            ARENA_ERR_OK) {
            fail_msg("client keys: %s", es);
        }
        arena_ctl_client_curve(&cv);
        arena_ctl_curve_fini(&cv);
    } else {
        arena_ctl_client_curve(NULL);
    }
    arena_err_t err = arena_ctl_request(ep, "ping", NULL, timeout_ms, reply, errstr, errstr_size);
    arena_ctl_client_curve(NULL);
    return err;
}

static void test_curve(void **state)
{
    (void)state;
    if (!arena_ctl_curve_available()) {
        skip();
    }
    char *dir = tu_tmpdir("ctl-curve");
    struct keypair server, alice, mallory, bob;
    make_keypair(dir, "server", &server);
    make_keypair(dir, "alice", &alice);
    make_keypair(dir, "bob", &bob);
    make_keypair(dir, "mallory", &mallory);
    char authorized[600], text[256];
    snprintf(authorized, sizeof(authorized), "%s/authorized_keys", dir);
    snprintf(text, sizeof(text), "# operators\n\n  %s  \n# CI\n%s\n", alice.pub, bob.pub);
    tu_write_file(authorized, text);

    char errstr[512];
    struct arena_ctl_curve cv;
    ASSERT_EQ_INT(
        arena_ctl_curve_server_init(&cv, server.sec_path, authorized, errstr, sizeof(errstr)),
        ARENA_ERR_OK);
    ASSERT_EQ_INT(cv.n_authorized, 2);
    ASSERT_EQ_STR(cv.public_key, server.pub); /* derived from the secret key */
    struct server s = {0};
    s.c = arena_ctl_new_curve("tcp://127.0.0.1:*", &cv, errstr, sizeof(errstr));
    arena_ctl_curve_fini(&cv);
    if (!s.c) {
        fail_msg("arena_ctl_new_curve: %s", errstr);
    }
    arena_ctl_register(s.c, "echo", echo, &s);
    atomic_init(&s.stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);
    const char *ep = arena_ctl_endpoint(s.c);

    /* both authorised clients are answered */
    json_t *reply = NULL;
    arena_err_t err =
        curve_request(&alice, server.pub_path, ep, 5000, &reply, errstr, sizeof(errstr));
    if (err != ARENA_ERR_OK) {
        fail_msg("authorised client: %s", errstr);
    }
    assert_true(json_is_true(json_object_get(reply, "pong")));
    json_decref(reply);
    reply = NULL;
    ASSERT_EQ_INT(curve_request(&bob, server.pub_path, ep, 5000, &reply, errstr, sizeof(errstr)),
                  ARENA_ERR_OK);
    json_decref(reply);
    reply = NULL;

    /* an unknown key is refused by the ZAP handler, and the client says so */
    err = curve_request(&mallory, server.pub_path, ep, 5000, &reply, errstr, sizeof(errstr));
    ASSERT_EQ_INT(err, ARENA_ERR_ZMQ);
    assert_null(reply);
    assert_non_null(strstr(errstr, "not in its curve.authorized_keys_file"));
    assert_null(strstr(errstr, mallory.sec));

    /* a plaintext client gets no answer, only its timeout */
    err = curve_request(NULL, NULL, ep, 500, &reply, errstr, sizeof(errstr));
    ASSERT_EQ_INT(err, ARENA_ERR_TIMEOUT);
    assert_null(reply);
    assert_non_null(strstr(errstr, ep));
    /* so does a plain socket sending raw bytes */
    void *zctx = zmq_ctx_new();
    void *sock = zmq_socket(zctx, ZMQ_REQ);
    int linger = 0, tmo = 500;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
    assert_int_equal(zmq_connect(sock, ep), 0);
    zmq_send(sock, "{\"cmd\":\"echo\"}", 14, 0);
    char buf[64];
    ASSERT_EQ_INT(zmq_recv(sock, buf, sizeof(buf), 0), -1);
    zmq_close(sock);
    zmq_ctx_term(zctx);

    /* an authorised client holding the wrong server key is not answered either */
    err = curve_request(&alice, mallory.pub_path, ep, 500, &reply, errstr, sizeof(errstr));
    assert_int_not_equal(err, ARENA_ERR_OK);
    assert_null(reply);

    /* none of the refused requests reached a handler; the server still serves alice */
    ASSERT_EQ_INT(s.calls, 0);
    ASSERT_EQ_INT(curve_request(&alice, server.pub_path, ep, 5000, &reply, errstr, sizeof(errstr)),
                  ARENA_ERR_OK);
    json_decref(reply);

    atomic_store(&s.stop, true);
    pthread_join(th, NULL);
    arena_ctl_destroy(s.c);

    /* a CURVE client against a plaintext server: a clear error, not a hang */
    s.c = arena_ctl_new("tcp://127.0.0.1:*", errstr, sizeof(errstr));
    assert_non_null(s.c);
    atomic_store(&s.stop, false);
    assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);
    reply = NULL;
    err = curve_request(&alice, server.pub_path, arena_ctl_endpoint(s.c), 5000, &reply, errstr,
                        sizeof(errstr));
    assert_int_not_equal(err, ARENA_ERR_OK);
    assert_null(reply);
    assert_non_null(strstr(errstr, "CURVE"));
    atomic_store(&s.stop, true);
    pthread_join(th, NULL);
    arena_ctl_destroy(s.c);
    tu_rmtree(dir);
    free(dir);
}

/* A damaged key file is an error naming the file and line, never showing the key. */
static void expect_key_error(const char *path, const char *content, const char *want,
                             const char *secret)
{
    tu_write_file(path, content);
    char(*keys)[ARENA_CTL_Z85_LEN + 1] = NULL;
    size_t n = 99;
    char errstr[512];
    ASSERT_EQ_INT(arena_ctl_curve_read_keys(path, &keys, &n, errstr, sizeof(errstr)),
                  ARENA_ERR_CONFIG);
    assert_null(keys);
    ASSERT_EQ_INT(n, 0);
    if (!strstr(errstr, want) || !strstr(errstr, path)) {
        fail_msg("error '%s' lacks '%s' or the path", errstr, want);
    }
    if (secret && strstr(errstr, secret)) {
        fail_msg("error '%s' shows the key", errstr);
    }
}

static void test_curve_key_files(void **state)
{
    (void)state;
    if (!arena_ctl_curve_available()) {
        skip();
    }
    char *dir = tu_tmpdir("ctl-keys");
    struct keypair server, client;
    make_keypair(dir, "server", &server);
    make_keypair(dir, "client", &client);
    char path[600], text[256], errstr[512];
    snprintf(path, sizeof(path), "%s/damaged.key", dir);

    /* one character short, one too many, a character outside Z85, an empty file */
    snprintf(text, sizeof(text), "%.39s\n", server.sec);
    expect_key_error(path, text, "line 1: expected a 40-character Z85 CURVE key, got 39", text + 5);
    snprintf(text, sizeof(text), "# comment\n%sA\n", server.sec);
    expect_key_error(path, text, "line 2: expected a 40-character Z85 CURVE key, got 41",
                     server.sec);
    snprintf(text, sizeof(text), "%s\n", server.sec);
    text[7] = '~';
    expect_key_error(path, text, "line 1: character 8 is not in the Z85 alphabet", text + 8);
    expect_key_error(path, "# nothing here\n\n", "no CURVE key in the file", NULL);
    /* 40 Z85 characters that do not decode (a 5-character group above 2^32) */
    expect_key_error(path, "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n", "not a valid Z85", NULL);

    /* through the server/client loaders: the option name and the file */
    struct arena_ctl_curve cv;
    snprintf(text, sizeof(text), "%.30s\n", server.sec);
    tu_write_file(path, text);
    ASSERT_EQ_INT(arena_ctl_curve_server_init(&cv, path, client.pub_path, errstr, sizeof(errstr)),
                  ARENA_ERR_CONFIG);
    assert_non_null(strstr(errstr, "curve.server_secret_key_file"));
    assert_non_null(strstr(errstr, path));
    assert_false(cv.enabled);
    char missing[600];
    snprintf(missing, sizeof(missing), "%s/missing.key", dir);
    ASSERT_EQ_INT(
        arena_ctl_curve_server_init(&cv, missing, client.pub_path, errstr, sizeof(errstr)),
        ARENA_ERR_CONFIG);
    assert_non_null(strstr(errstr, "missing.key"));
    ASSERT_EQ_INT(arena_ctl_curve_server_init(&cv, server.sec_path, "", errstr, sizeof(errstr)),
                  ARENA_ERR_CONFIG);
    assert_non_null(strstr(errstr, "curve.authorized_keys_file: required"));
    /* a secret key file holding two keys is ambiguous */
    snprintf(text, sizeof(text), "%s\n%s\n", server.sec, client.sec);
    tu_write_file(path, text);
    ASSERT_EQ_INT(arena_ctl_curve_client_init(&cv, path, server.pub_path, errstr, sizeof(errstr)),
                  ARENA_ERR_CONFIG);
    assert_non_null(strstr(errstr, "holds 2 keys"));
    ASSERT_EQ_INT(
        arena_ctl_curve_client_init(&cv, client.sec_path, missing, errstr, sizeof(errstr)),
        ARENA_ERR_CONFIG);
    assert_non_null(strstr(errstr, "curve.server_public_key_file"));

    /* a good client: its public key is derived, and the secret is now redacted in logs */
    ASSERT_EQ_INT(
        arena_ctl_curve_client_init(&cv, client.sec_path, server.pub_path, errstr, sizeof(errstr)),
        ARENA_ERR_OK);
    ASSERT_EQ_STR(cv.public_key, client.pub);
    ASSERT_EQ_STR(cv.server_public, server.pub);
    arena_ctl_curve_fini(&cv);
    char *line = arena_xasprintf("key=%s", client.sec);
    char *red = arena_log_redact(line);
    ASSERT_EQ_STR(red, "key=[REDACTED]");
    free(red);
    free(line);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_timeout_and_errors),
        cmocka_unit_test(test_curve),
        cmocka_unit_test(test_curve_key_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
