/* llm_internal.h - private to libarena's model backends (llm.c, llm_sim.c, llm_openai.c,
 * llm_replay.c), plus the pure text/JSON functions that tests, fuzzers and the fake OpenAI
 * server reuse. Not a public contract: include it as "../../common/src/llm_internal.h".
 *
 * The pool (llm.c) owns every call. A backend receives a call through ops->start() once the
 * model's max_concurrency allows it, and later hands it back with arena__llm_complete() (from
 * its poll op or from a timer). Timers are a pool facility (one min-heap for every backend).
 * Not thread-safe: everything runs on the thread calling arena_llm_poll(). */
#ifndef ARENA_LLM_INTERNAL_H
#define ARENA_LLM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/config.h"
#include "arena/err.h"
#include "arena/llm.h"

struct arena_llm_pool;
struct arena__llm_model;

/* One submitted request, owned by the pool from submit until its callback has run. */
struct arena__llm_call {
    struct arena__llm_call *next;                /* model queue / ready list */
    struct arena__llm_call *all_prev, *all_next; /* every live call of the pool */
    int state;                                   /* llm.c: queued, active, ready */
    struct arena__llm_model *model;
    arena_llm_cb *cb;
    void *opaque;
    /* deep copy of the request */
    char **roles;
    char **contents;
    size_t n_messages;
    double temperature;
    int64_t max_tokens;
    uint64_t seed;
    char *prompt_id; /* NULL when not given */
    uint64_t submit_us;
    uint64_t start_us;
    /* the outcome, filled by the backend; strings are owned by the call */
    arena_err_t err;
    char *error;
    char *content;
    char *finish_reason;
    int http_status;
    uint32_t prompt_tokens, completion_tokens;
    uint32_t retries;
    bool simulated;
    void *priv; /* backend state of this call */
};

struct arena__llm_backend_ops {
    const char *name;
    /* Build the backend of one model; NULL + errstr ("model X: ...") on error. */
    void *(*create)(struct arena_llm_pool *pool, struct arena__llm_model *m,
                    const struct arena_model_cfg *cfg, char *errstr, size_t errstr_size);
    /* Begin a call (a concurrency slot is held until arena__llm_complete()). */
    void (*start)(void *be, struct arena__llm_call *call);
    /* Make progress without blocking (may complete calls). NULL = nothing to do. */
    void (*poll)(void *be);
    /* Release a call that will never complete (pool destroyed while in flight). */
    void (*abandon)(void *be, struct arena__llm_call *call);
    void (*destroy)(void *be);
};

extern const struct arena__llm_backend_ops arena__llm_sim_ops;
extern const struct arena__llm_backend_ops arena__llm_openai_ops;
extern const struct arena__llm_backend_ops arena__llm_replay_ops;

/* --- pool services for backends (llm.c) --- */

/* Hand a finished call back: its callback runs from the current or next arena_llm_poll(). */
void arena__llm_complete(struct arena__llm_call *call);
/* Run fn(arg) from arena_llm_poll() once delay_us has elapsed. */
typedef void(arena__llm_timer_fn)(void *arg);
void arena__llm_timer_add(struct arena_llm_pool *pool, uint64_t delay_us, arena__llm_timer_fn *fn,
                          void *arg);
/* Retry accounting: reason is timeout|connect|http_429|http_5xx|parse. */
void arena__llm_count_retry(struct arena__llm_call *call, const char *reason);
/* The pool's shared curl multi handle (created on first use; void * to keep curl out). */
void *arena__llm_curlm(struct arena_llm_pool *pool);
const char *arena__llm_model_name(const struct arena__llm_model *m);
struct arena_llm_pool *arena__llm_model_pool(const struct arena__llm_model *m);
/* Sum of max_concurrency over the models of a backend kind (for connection limits). */
int64_t arena__llm_total_concurrency(const struct arena_llm_pool *pool, const char *backend);
/* The last message whose role is "user" (NULL if none). */
const char *arena__llm_last_user(const struct arena__llm_call *call);
/* Whitespace-separated words (token estimate of sim/replay/fake). */
uint32_t arena__llm_count_words(const char *s);

/* --- sim: pure text functions (llm_sim.c) --- */

#define ARENA_SIM_A_START "[The Start of Assistant A's Answer]"
#define ARENA_SIM_A_END "[The End of Assistant A's Answer]"
#define ARENA_SIM_B_START "[The Start of Assistant B's Answer]"
#define ARENA_SIM_B_END "[The End of Assistant B's Answer]"

struct arena__sim_params {
    const char *model; /* name written in answers */
    double skill, noise, judge_noise, position_bias;
    uint64_t seed;
};

/* Difficulty in [0, 10] of a prompt text: a planted "[sim-difficulty: d]" tag, else a hash of
 * its bytes. */
double arena__sim_difficulty(const char *prompt);
double arena__sim_difficulty_n(const char *prompt, size_t len);
/* The rated prompt of a difficulty request (llm.h: starts with ARENA_DIFFICULTY_START, up to the
 * last ARENA_DIFFICULTY_END); false when prompt is not one. *text points into prompt. */
bool arena__sim_difficulty_section(const char *prompt, const char **text, size_t *len);
/* Answer a difficulty request: a one-line rationale and "Difficulty: [[N]]" (N = round(clamp(
 * d + N(0, judge_noise), 0, 10)), seeded). NULL when prompt is not a difficulty request.
 * score_out (may be NULL) receives N. Caller frees. */
char *arena__sim_rate_difficulty(const struct arena__sim_params *sp, const char *prompt,
                                 uint64_t req_seed, int *score_out);
/* Latent quality of an answer on 1-10 (deterministic). */
double arena__sim_quality(const struct arena__sim_params *sp, const char *prompt,
                          uint64_t req_seed);
/* "[simulated answer from <model>] [sim-quality: q]\n<filler>", 200-600 bytes. Caller frees. */
char *arena__sim_answer_text(const char *model, double q, const char *prompt, uint64_t h);
/* Find the quality tag in text[0..len); 0 and *q on success, -1 when absent/malformed. */
int arena__sim_quality_parse(const char *text, size_t len, double *q);
/* Quality of an untagged answer: 3 + 5 * min(1, len/2000) + hash noise in [-1, 1]. */
double arena__sim_text_quality(const char *text, size_t len);
/* Locate the two FastChat answer sections of a judge prompt; false when not a judge prompt. */
bool arena__sim_judge_sections(const char *prompt, const char **a, size_t *alen, const char **b,
                               size_t *blen);
/* The verdict text for integer scores sa, sb (1-10), in the format the prompt asks for
 * (Arena-Hard [[A>>B]], MT-bench [[A]]/[[B]]/[[C]], else one of three score styles picked by
 * style_hash). Caller frees. */
char *arena__sim_verdict_text(const char *prompt, int sa, int sb, uint64_t style_hash);
/* Full judge: scores from the sections' qualities plus bias and noise. NULL when prompt is not
 * a judge prompt. sa_out and sb_out receive the scores (may be NULL). Caller frees. */
char *arena__sim_judge(const struct arena__sim_params *sp, const char *prompt, uint64_t req_seed,
                       int *sa_out, int *sb_out);
/* Rate difficulty, judge or answer, whichever the prompt (last user message) calls for.
 * Caller frees. */
char *arena__sim_respond(const struct arena__sim_params *sp, const char *prompt, uint64_t req_seed);

/* --- openai: the response parser (llm_openai.c), pure, fuzzed --- */

struct arena__openai_result {
    char *content;       /* malloc'd */
    char *finish_reason; /* malloc'd, may be NULL */
    uint32_t prompt_tokens, completion_tokens;
};
/* Parse a chat.completion body. ARENA_ERR_PARSE + errstr ("malformed JSON at 1:5: ...",
 * "no choices", "choices[0].message.content is not a string") on failure; out is then empty. */
arena_err_t arena__openai_parse_response(const char *body, size_t len,
                                         struct arena__openai_result *out, char *errstr,
                                         size_t errstr_size);
void arena__openai_result_fini(struct arena__openai_result *r);
/* error.message (or a string "error") of an error body; NULL when absent. Caller frees. */
char *arena__openai_error_message(const char *body, size_t len);
/* Retry-After value (delta seconds or HTTP date) in ms from now; -1 when unparseable. */
int64_t arena__openai_retry_after_ms(const char *value, int64_t now_unix_ms);

#endif
