/* Bench: control requests as arenactl sends them (a new socket, connection and handshake per
 * request) to a server polled on its own thread: plaintext vs CURVE (ZAP handler included).
 * Prints ms per request; asserts only that every request is answered (never timings). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <zmq.h>

#include "arena/ctl.h"
#include "arena/util.h"
#include "testutil.h"

enum { REQUESTS = 300 };

static atomic_bool stop;

static void *serve(void *c)
{
    while (!atomic_load(&stop)) {
        arena_ctl_poll(c, 20);
    }
    return NULL;
}

static void write_key(const char *dir, const char *name, const char *key)
{
    char path[512], text[64];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(text, sizeof(text), "%s\n", key);
    tu_write_file(path, text);
    chmod(path, 0600);
}

static double ms_per_request(const struct arena_ctl_curve *srv, const struct arena_ctl_curve *cli)
{
    char es[512];
    struct arena_ctl *c = arena_ctl_new_curve("tcp://127.0.0.1:*", srv, es, sizeof(es));
    if (!c) {
        fail_msg("server: %s", es);
    }
    atomic_store(&stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve, c), 0);
    arena_ctl_client_curve(cli);
    uint64_t t0 = arena_mono_us();
    for (int i = 0; i < REQUESTS; i++) {
        json_t *r = NULL;
        if (arena_ctl_request(arena_ctl_endpoint(c), "ping", NULL, 5000, &r, es, sizeof(es)) !=
            ARENA_ERR_OK) {
            fail_msg("request %d: %s", i, es);
        }
        assert_true(json_is_true(json_object_get(r, "pong")));
        json_decref(r);
    }
    double ms = (double)(arena_mono_us() - t0) / 1000.0 / REQUESTS;
    arena_ctl_client_curve(NULL);
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    arena_ctl_destroy(c);
    return ms;
}

static void bench_ctl_curve(void **state)
{
    (void)state;
    if (!arena_ctl_curve_available()) {
        skip();
    }
    char *dir = tu_tmpdir("bench-ctl");
    char sp[41], ss[41], cp[41], cs[41], es[512], p1[512], p2[512];
    assert_int_equal(zmq_curve_keypair(sp, ss), 0);
    assert_int_equal(zmq_curve_keypair(cp, cs), 0);
    write_key(dir, "server.key", ss);
    write_key(dir, "server.pub", sp);
    write_key(dir, "client.key", cs);
    write_key(dir, "client.pub", cp);
    struct arena_ctl_curve srv, cli;
    snprintf(p1, sizeof(p1), "%s/server.key", dir);
    snprintf(p2, sizeof(p2), "%s/client.pub", dir);
    ASSERT_EQ_INT(arena_ctl_curve_server_init(&srv, p1, p2, es, sizeof(es)), ARENA_ERR_OK);
    snprintf(p1, sizeof(p1), "%s/client.key", dir);
    snprintf(p2, sizeof(p2), "%s/server.pub", dir);
    ASSERT_EQ_INT(arena_ctl_curve_client_init(&cli, p1, p2, es, sizeof(es)), ARENA_ERR_OK);
    double plain = ms_per_request(NULL, NULL);
    double curve = ms_per_request(&srv, &cli);
    printf("control request (new connection each, %d requests): plaintext %.2f ms, CURVE %.2f "
           "ms\n",
           REQUESTS, plain, curve);
    arena_ctl_curve_fini(&srv);
    arena_ctl_curve_fini(&cli);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bench_ctl_curve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
