/* worker.h - the consume -> work -> produce -> commit loop shared by the stateless, LLM-bound
 * services (generator, judge). At-least-once with out-of-order completion:
 *   - a group consumer on one input topic; every message becomes a job;
 *   - the service starts asynchronous work for the job (handle) and later finishes it with
 *     arena_worker_emit() (the output record) — or the job is dead-lettered at once;
 *   - an input offset is committed only when every message below it is finished and its output
 *     acknowledged by the broker (arena_offsets), so a crash never skips unfinished work;
 *   - at max_in_flight jobs no job starts; consumed messages are parked in a bounded FIFO
 *     (max(batch_size, max_in_flight)) and started first as jobs finish; the partitions are
 *     paused only while the FIFO is full (resumed at half), so memory stays flat however slow
 *     the model and a resume's re-fetch never starves the model calls; parked messages of a
 *     revoked partition are dropped unstarted (its next owner consumes them again);
 *   - SIGTERM: stop consuming, finish in-flight jobs within the grace period, flush, commit.
 * Not thread-safe: everything runs on the caller's thread. */
#ifndef ARENA_WORKER_H
#define ARENA_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "arena/kafka.h"
#include "arena/service.h"

struct arena_worker;
struct arena_worker_job; /* opaque; valid until emitted or failed */

struct arena_worker_ops {
    /* Decode and start work for message m. Return ARENA_ERR_OK once work started (the job will
     * be emitted later), or an error with errstr filled: the message goes to arena.dlq. */
    arena_err_t (*handle)(void *ctx, struct arena_worker_job *job, const struct arena_msg *m,
                          char *errstr, size_t errstr_size);
    /* Drive asynchronous work (e.g. arena_llm_poll), waiting up to timeout_ms. */
    void (*poll)(void *ctx, int timeout_ms);
    /* Extra fields for the "status" control command (may be NULL). */
    void (*status)(void *ctx, json_t *obj);
};

struct arena_worker_opts {
    struct arena_service *svc;
    const char *in_topic;
    const char *out_topic;
    const char *out_message_type; /* "arena.v1.GeneratedBattle" */
    int64_t max_in_flight;
    struct arena_worker_ops ops;
    void *ctx;
};

struct arena_worker *arena_worker_new(const struct arena_worker_opts *o, char *errstr,
                                      size_t errstr_size);
/* Runs until stop is requested and in-flight work drained (or the grace period expires).
 * Returns the process exit code. */
int arena_worker_run(struct arena_worker *w);
void arena_worker_destroy(struct arena_worker *w);

/* Finish a job with its output (copied). The input offset completes once the output is
 * acknowledged; a failed delivery is retried. */
void arena_worker_emit(struct arena_worker *w, struct arena_worker_job *job, const void *key,
                       size_t key_len, const void *value, size_t value_len);
/* Per-job pointer for the service's own state. */
void arena_worker_job_set_data(struct arena_worker_job *job, void *data);
void *arena_worker_job_data(const struct arena_worker_job *job);
size_t arena_worker_inflight(const struct arena_worker *w);
struct arena_producer *arena_worker_producer(struct arena_worker *w);

#endif
