/* fuzz_replay_answers.c - the replay backend's model_answer file parser (llm_replay.c) on
 * hostile bytes. The line parser is private to the backend, so the input is handed to it the way
 * a deployment would: as the answers file of a replay model (an in-memory file reached through
 * /proc/self/fd/N), then one call is made. Properties: no crash/leak; a file that fails to load
 * says why, naming the model; a file that loads answers a call with either its answer or
 * NOT_FOUND (never anything else), and the callback runs exactly once. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena/config.h"
#include "arena/llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct got {
    int calls;
    arena_err_t err;
};

static void on_done(void *opaque, const struct arena_llm_response *r)
{
    struct got *g = opaque;
    g->calls++;
    g->err = r->err;
    if (r->err == ARENA_ERR_OK ? r->content == NULL : (r->error == NULL || !r->error[0])) {
        abort();
    }
}

static int memfd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) {
        return 0;
    }
    if (memfd < 0) {
        memfd = memfd_create("fuzz_replay_answers", 0);
        if (memfd < 0) {
            abort();
        }
    }
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) {
        abort();
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
    struct arena_model_cfg m = {0};
    m.name = (char *)"fuzz-model";
    m.backend = (char *)"replay";
    m.answers = path;
    m.replay_model = (char *)"";
    m.max_concurrency = 1;
    struct arena_config cfg = {0};
    cfg.models = &m;
    cfg.n_models = 1;
    char err[512] = "";
    struct arena_llm_pool *p = arena_llm_pool_new(&cfg, NULL, err, sizeof(err));
    if (!p) {
        if (strstr(err, "fuzz-model") == NULL) {
            abort(); /* a load failure names the model (and the line) */
        }
        return 0;
    }
    /* ask for the first user message of the input (when it is plain text), by text */
    char q[64];
    size_t n = size < sizeof(q) - 1 ? size : sizeof(q) - 1;
    memcpy(q, data, n);
    q[n] = '\0';
    struct arena_llm_message msg = {.role = "user", .content = q};
    struct arena_llm_request req = {
        .messages = &msg, .n_messages = 1, .temperature = -1, .prompt_id = NULL};
    struct got g = {0};
    if (arena_llm_submit(p, "fuzz-model", &req, on_done, &g) != ARENA_ERR_OK) {
        abort();
    }
    for (int i = 0; i < 100 && g.calls == 0; i++) {
        arena_llm_poll(p, 0);
    }
    if (g.calls != 1 || (g.err != ARENA_ERR_OK && g.err != ARENA_ERR_NOT_FOUND)) {
        abort();
    }
    arena_llm_pool_destroy(p);
    return 0;
}
