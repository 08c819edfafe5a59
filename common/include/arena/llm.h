/* llm.h - the model-backend interface (ARCHITECTURE.md §5): one asynchronous API over every
 * configured model, whatever its backend:
 *   sim     a simulated LLM (latent skill, seeded noise) that answers and judges in text;
 *   openai  any OpenAI-compatible /v1/chat/completions server, libcurl multi;
 *   replay  answers recorded in Arena-Hard model_answer/<model>.jsonl files.
 * Requests are submitted with a callback and completed from arena_llm_poll(), on the caller's
 * thread. The pool enforces each model's max_concurrency: arena_llm_submit() queues beyond it.
 * Not thread-safe: one pool per thread. */
#ifndef ARENA_LLM_H
#define ARENA_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/config.h"
#include "arena/err.h"

struct arena_metrics;

struct arena_llm_message {
    const char *role;
    const char *content;
};

/* A chat request. Everything is borrowed for the duration of arena_llm_submit() only
 * (the pool copies what it keeps). */
struct arena_llm_request {
    const struct arena_llm_message *messages;
    size_t n_messages;
    double temperature; /* < 0: the model's configured default */
    int64_t max_tokens; /* <= 0: the model's configured default */
    uint64_t seed;
    const char *prompt_id; /* for replay lookups and sim determinism (may be NULL) */
};

/* The outcome, valid only during the callback (copy what you keep). */
struct arena_llm_response {
    arena_err_t err;     /* OK, or why it finally failed (after retries) */
    const char *error;   /* human-readable reason when err != OK (never holds secrets) */
    const char *content; /* answer text when err == OK */
    const char *finish_reason;
    const char *backend; /* "sim" | "openai" | "replay" */
    bool simulated;
    int http_status; /* last HTTP status (openai), 0 otherwise */
    uint32_t prompt_tokens, completion_tokens;
    uint32_t latency_ms;
    uint32_t retries;
};

typedef void(arena_llm_cb)(void *opaque, const struct arena_llm_response *resp);

struct arena_llm_pool;

/* Creates a backend for every model in cfg->models. */
struct arena_llm_pool *arena_llm_pool_new(const struct arena_config *cfg,
                                          struct arena_metrics *metrics, char *errstr,
                                          size_t errstr_size);
void arena_llm_pool_destroy(struct arena_llm_pool *p);
bool arena_llm_has_model(const struct arena_llm_pool *p, const char *model);

/* Queue a call; the callback runs exactly once, from a later arena_llm_poll() (never
 * re-entrantly from submit). ARENA_ERR_NOT_FOUND for an unknown model. */
arena_err_t arena_llm_submit(struct arena_llm_pool *p, const char *model,
                             const struct arena_llm_request *req, arena_llm_cb *cb, void *opaque);
/* Drive I/O and run callbacks; waits up to timeout_ms when nothing is ready. Returns the number
 * of callbacks run. */
int arena_llm_poll(struct arena_llm_pool *p, int timeout_ms);
/* Calls submitted and not yet called back (all models / one model). */
size_t arena_llm_pending(const struct arena_llm_pool *p);
size_t arena_llm_pending_model(const struct arena_llm_pool *p, const char *model);

/* The sim backend's text conventions, shared with tests:
 * an answer contains "[sim-quality: <q>]" where q is the latent quality on 1-10. */
#define ARENA_SIM_QUALITY_TAG "[sim-quality: "

/* Difficulty requests (the sampler's hard eval sets, sampler_difficulty.h): the last user message
 * starts with ARENA_DIFFICULTY_START, holds the prompt to rate up to the last
 * ARENA_DIFFICULTY_END and asks for a final "[[N]]", N in 0-10. The sim backend (and the fake
 * OpenAI server of the tests) answer such a request with a short rationale ending in "[[N]]",
 * N = round(clamp(d + N(0, judge_noise), 0, 10)) with seeded noise, where d is the prompt's sim
 * difficulty: the value of a planted "[sim-difficulty: <d>]" tag in the rated prompt (d within
 * 0-10), else a stable hash of its text. The same d lowers the quality of sim answers to that
 * prompt, so a hard set of sim prompts is really harder for sim models. */
#define ARENA_DIFFICULTY_START "[The Start of the Prompt to Rate]"
#define ARENA_DIFFICULTY_END "[The End of the Prompt to Rate]"
#define ARENA_SIM_DIFFICULTY_TAG "[sim-difficulty: "

#endif
