/* test_bench_llm.c - throughput of the openai backend (one thread, curl multi) against
 * fake-openai answering after 100 ms, with 64, 256 and 1024 requests allowed in flight
 * (max_concurrency). Prints achieved req/s against the ideal in_flight / latency, and CPU time
 * per request of this process (getrusage) and of the server (/proc/<pid>/stat). Figures only:
 * it asserts that every call succeeded, never a timing. Also a sim-backend figure (pool
 * overhead per call without I/O). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena/llm.h"
#include "arena/util.h"
#include "testutil.h"

#define LATENCY_MS 100

static int completed, failed;

static void on_resp(void *opaque, const struct arena_llm_response *r)
{
    (void)opaque;
    completed++;
    if (r->err != ARENA_ERR_OK) {
        if (failed++ < 5) {
            fprintf(stderr, "call failed: %s\n", r->error);
        }
    }
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double proc_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* fields after the command: state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return 0;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static pid_t start_server(char *dir, int *port)
{
    char *port_file = arena_xasprintf("%s/port", dir);
    char *exe = arena_xasprintf("%s/tests/fake-openai", ARENA_BINARY_DIR);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl(exe, exe, "--port-file", port_file, "--latency-ms", "100", (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (int i = 0; i < 500 && *port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", port) != 1) {
                *port = 0;
            }
            fclose(f);
        }
        if (*port == 0) {
            usleep(10000);
        }
    }
    free(port_file);
    free(exe);
    if (*port == 0) {
        fprintf(stderr, "fake-openai did not start\n");
        exit(1);
    }
    return pid;
}

static void run(const char *base_url, pid_t server, int in_flight, int n)
{
    struct arena_model_cfg m = {0};
    m.name = (char *)"bench";
    m.backend = (char *)"openai";
    m.base_url = (char *)base_url;
    m.model = (char *)"bench";
    m.max_concurrency = in_flight;
    m.timeout_ms = 30000;
    m.max_retries = 0;
    struct arena_config cfg = {0};
    cfg.models = &m;
    cfg.n_models = 1;
    char err[256];
    struct arena_llm_pool *p = arena_llm_pool_new(&cfg, NULL, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "pool: %s\n", err);
        exit(1);
    }
    completed = failed = 0;
    char text[64];
    double cpu0 = self_cpu_s(), scpu0 = proc_cpu_s(server);
    uint64_t t0 = arena_mono_us();
    for (int i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "benchmark request %d", i);
        struct arena_llm_message msg = {"user", text};
        struct arena_llm_request req = {&msg, 1, -1, 0, 0, NULL};
        if (arena_llm_submit(p, "bench", &req, on_resp, NULL) != ARENA_ERR_OK) {
            exit(1);
        }
    }
    while (arena_llm_pending(p) > 0) {
        arena_llm_poll(p, 100);
    }
    double wall = (double)(arena_mono_us() - t0) / 1e6;
    double cpu = self_cpu_s() - cpu0, scpu = proc_cpu_s(server) - scpu0;
    double rps = n / wall, ideal = in_flight / (LATENCY_MS / 1000.0);
    printf("openai in_flight=%-5d requests=%-6d wall=%.2fs achieved=%.0f req/s ideal=%.0f req/s "
           "ratio=%.3f client_cpu=%.1f us/req server_cpu=%.1f us/req failed=%d\n",
           in_flight, n, wall, rps, ideal, rps / ideal, cpu / n * 1e6, scpu / n * 1e6, failed);
    fflush(stdout);
    assert_int_equal(completed, n);
    assert_int_equal(failed, 0);
    arena_llm_pool_destroy(p);
}

static void bench_sim(void)
{
    struct arena_model_cfg m = {0};
    m.name = (char *)"sim";
    m.backend = (char *)"sim";
    m.skill = 6;
    m.noise = 1;
    struct arena_config cfg = {0};
    cfg.models = &m;
    cfg.n_models = 1;
    char err[256];
    struct arena_llm_pool *p = arena_llm_pool_new(&cfg, NULL, err, sizeof(err));
    assert_non_null(p);
    enum { N = 200000 };
    completed = failed = 0;
    double cpu0 = self_cpu_s();
    uint64_t t0 = arena_mono_us();
    struct arena_llm_message msg = {"user", "How do I sort a list of records by two keys?"};
    for (int i = 0; i < N; i++) {
        struct arena_llm_request req = {&msg, 1, -1, 0, (uint64_t)i, NULL};
        arena_llm_submit(p, "sim", &req, on_resp, NULL);
        if (i % 1000 == 999) {
            arena_llm_poll(p, 0);
        }
    }
    while (arena_llm_pending(p) > 0) {
        arena_llm_poll(p, 0);
    }
    double wall = (double)(arena_mono_us() - t0) / 1e6;
    printf("sim    calls=%d wall=%.2fs %.0f calls/s cpu=%.2f us/call\n", N, wall, N / wall,
           (self_cpu_s() - cpu0) / N * 1e6);
    assert_int_equal(completed, N);
    arena_llm_pool_destroy(p);
}

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    char *dir = tu_tmpdir("benchllm");
    int port = 0;
    pid_t server = start_server(dir, &port);
    char base_url[64];
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/v1", port);
    static const int in_flight[] = {64, 256, 1024};
    for (size_t i = 0; i < sizeof(in_flight) / sizeof(in_flight[0]); i++) {
        int n = in_flight[i] * 16 > 2000 ? in_flight[i] * 16 : 2000;
        run(base_url, server, in_flight[i], n);
    }
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    bench_sim();
    tu_rmtree(dir);
    free(dir);
    return 0;
}
