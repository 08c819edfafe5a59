/* sampler_difficulty.h - prompt difficulty on 0-10 scored by a strong model, for hard eval sets
 * (WizardArena Offline-Hard: "difficulty scored 0-10 by a strong LLM, top 1,000 kept").
 *
 * The request asks the model to rate a prompt against Arena-Hard-Auto's seven criteria
 * (specificity, domain knowledge, complexity, problem-solving, creativity, technical accuracy,
 * real-world application) and to end with "[[N]]", N in 0-10. The user message starts with
 * ARENA_DIFFICULTY_START and holds the prompt up to the last ARENA_DIFFICULTY_END (llm.h), the
 * convention the sim backend and the fake OpenAI server recognise.
 * The parser is strict: the last "[[...]]" of the reply must be a plain number within 0-10.
 *
 * sampler_difficulty_score() drives an arena_llm_pool (any backend but replay): it submits a
 * batch of prompts, at most `window` outstanding (the pool itself holds the model to its
 * max_concurrency), and polls until every job is called back, the deadline passes or a stop is
 * requested. Not thread-safe; jobs are caller-owned and must outlive the call (on an early
 * return the caller destroys the pool, which drops the outstanding calls without callbacks). */
#ifndef SAMPLER_DIFFICULTY_H
#define SAMPLER_DIFFICULTY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"
#include "arena/llm.h"
#include "arena/util.h"

/* Bytes of prompt text put in a request; longer prompts are cut at a UTF-8 boundary and marked
 * as truncated (their difficulty rarely hides past this). */
#define SAMPLER_DIFFICULTY_MAX_TEXT 12000

/* The system message (static). */
const char *sampler_difficulty_system_prompt(void);
/* Build the user message for one prompt text into *user (appended; caller-owned buffer). */
void sampler_difficulty_user_prompt(const char *text, struct arena_buf *user);

/* Parse a reply: 0 and *score from the last "[[N]]"; ARENA_ERR_PARSE and a reason in errstr
 * ("no [[N]] rating in the reply", "rating [[12]] is out of range 0-10", "rating [[A>B]] is not
 * a number") otherwise. */
arena_err_t sampler_difficulty_parse(const char *reply, double *score, char *errstr,
                                     size_t errstr_size);

enum sampler_difficulty_state {
    SAMPLER_DIFFICULTY_PENDING,
    SAMPLER_DIFFICULTY_SCORED,
    SAMPLER_DIFFICULTY_UNSCORABLE, /* the model answered, but no valid [[N]] */
    SAMPLER_DIFFICULTY_FAILED,     /* the call failed (after the backend's retries) */
};

struct sampler_difficulty_job {
    const char *prompt_id; /* in: request seed and logs */
    const char *text;      /* in */
    enum sampler_difficulty_state state;
    double score;     /* SCORED */
    char reason[200]; /* UNSCORABLE / FAILED */
};

struct sampler_difficulty_opts {
    const char *model;           /* a model of the pool */
    size_t window;               /* calls outstanding at once (0 = 256) */
    int64_t deadline_ms;         /* arena_mono_ms() deadline; 0 = none */
    volatile sig_atomic_t *stop; /* may be NULL: checked between polls */
};

/* Score jobs[0..n) (each job's state starts PENDING). ARENA_ERR_OK when every job was called
 * back (whatever its state); ARENA_ERR_TIMEOUT at the deadline, ARENA_ERR_SHUTDOWN on stop,
 * ARENA_ERR_NOT_FOUND for an unknown model - jobs not yet called back stay PENDING. */
arena_err_t sampler_difficulty_score(struct arena_llm_pool *pool,
                                     const struct sampler_difficulty_opts *o,
                                     struct sampler_difficulty_job *jobs, size_t n, char *errstr,
                                     size_t errstr_size);

#endif
