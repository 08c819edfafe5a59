/* worker.c - consume -> work -> produce -> commit for generator and judge (see worker.h). */
#include "arena/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/log.h"
#include "arena/metrics.h"
#include "arena/offsets.h"
#include "arena/topics.h"
#include "arena/util.h"

#define WORKER_COMMIT_EVERY_MS 200
#define WORKER_PAUSE_AFTER_MS 500

struct arena_worker_job {
    struct arena_worker *w;
    int32_t partition;
    int64_t offset;
    uint64_t generation; /* rebalance generation when consumed */
    void *data;
    void *key;
    size_t key_len;
    void *value;
    size_t value_len;
    struct arena_worker_job *next; /* retry / dead-letter lists */
};

struct arena_worker {
    struct arena_worker_opts o;
    struct arena_service *svc;
    struct arena_consumer *consumer;
    struct arena_producer *producer;
    struct arena_offsets *offsets;
    size_t inflight;
    bool consumer_paused;
    bool draining;
    /* Parked: consumed, not started (inflight was at max_in_flight). A ring of park_cap
     * messages in consumption order, started first as capacity frees; see arena_worker_run for
     * when the partitions are paused and resumed. */
    struct arena_msg **park;
    size_t park_cap, park_head, park_n;
    size_t park_max;       /* stop polling at this many parked messages */
    int64_t park_full_ms;  /* monotonic ms since the park is full; 0 = not full */
    int64_t last_start_ms; /* monotonic ms of the last job started */
    uint64_t parked_dropped;
    uint64_t pauses; /* back-pressure pauses of the consumer */
    uint64_t generation;
    int64_t last_commit_ms;
    struct arena_worker_job *retry; /* outputs whose delivery failed: send again */
    struct arena_worker_job *dead;  /* dead-lettered inputs waiting for a producer flush */
    uint64_t consumed, produced, dead_lettered, redelivered;
    struct arena_metric *m_consumed, *m_produced, *m_produce_err, *m_inflight, *m_lag;
};

static void job_free(struct arena_worker_job *job)
{
    if (!job) {
        return;
    }
    free(job->key);
    free(job->value);
    free(job);
}

static void job_finish(struct arena_worker *w, struct arena_worker_job *job)
{
    if (job->generation == w->generation) {
        arena_offsets_done(w->offsets, w->o.in_topic, job->partition, job->offset);
    }
    w->inflight--;
    job_free(job);
}

static void on_delivery(void *ctx, void *msg_opaque, arena_err_t err, const char *errmsg)
{
    struct arena_worker *w = ctx;
    struct arena_worker_job *job = msg_opaque;
    if (!job) {
        return; /* dead-letter records are tracked through a flush */
    }
    if (err != ARENA_ERR_OK) {
        ARENA_WARN("event=delivery_failed topic=%s err=\"%s\" action=retry", w->o.out_topic,
                   errmsg ? errmsg : arena_err_str(err));
        arena_metric_inc(w->m_produce_err);
        job->next = w->retry;
        w->retry = job;
        return;
    }
    w->produced++;
    arena_metric_inc(w->m_produced);
    job_finish(w, job);
}

static bool send_output(struct arena_worker *w, struct arena_worker_job *job)
{
    arena_err_t err =
        arena_producer_send(w->producer, w->o.out_topic, -1, job->key, job->key_len, job->value,
                            job->value_len, w->o.out_message_type, NULL, job);
    if (err != ARENA_ERR_OK) {
        ARENA_WARN("event=produce_failed topic=%s err=\"%s\" action=retry", w->o.out_topic,
                   arena_err_str(err));
        return false;
    }
    return true;
}

static void retry_outputs(struct arena_worker *w)
{
    struct arena_worker_job *list = w->retry;
    w->retry = NULL;
    while (list) {
        struct arena_worker_job *job = list;
        list = list->next;
        job->next = NULL;
        w->redelivered++;
        if (!send_output(w, job)) {
            job->next = w->retry;
            w->retry = job;
        }
    }
}

/* ---- parked messages ---- */

static void park_push(struct arena_worker *w, struct arena_msg *m)
{
    if (w->park_n == w->park_cap) {
        /* only when a message arrives while paused (never dropped): grow the ring */
        size_t cap = w->park_cap * 2;
        struct arena_msg **np = arena_xcalloc(cap, sizeof(*np));
        for (size_t i = 0; i < w->park_n; i++) {
            np[i] = w->park[(w->park_head + i) % w->park_cap];
        }
        free(w->park);
        w->park = np;
        w->park_cap = cap;
        w->park_head = 0;
    }
    w->park[(w->park_head + w->park_n) % w->park_cap] = m;
    w->park_n++;
}

static struct arena_msg *park_pop(struct arena_worker *w)
{
    if (w->park_n == 0) {
        return NULL;
    }
    struct arena_msg *m = w->park[w->park_head];
    w->park_head = (w->park_head + 1) % w->park_cap;
    w->park_n--;
    return m;
}

/* Drop parked messages of one partition (-1 = all). Their offsets were never begun, so the
 * committed offset stays below them: the partition's next owner (or this process after a
 * restart) consumes them again. */
static size_t park_drop(struct arena_worker *w, int32_t partition)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < w->park_n; i++) {
        struct arena_msg *m = w->park[(w->park_head + i) % w->park_cap];
        if (partition < 0 || m->partition == partition) {
            arena_msg_destroy(m);
            dropped++;
        } else {
            w->park[(w->park_head + kept) % w->park_cap] = m;
            kept++;
        }
    }
    w->park_n = kept;
    w->parked_dropped += dropped;
    return dropped;
}

static void on_rebalance(void *ctx, bool assigned, const char *topic, int32_t partition)
{
    struct arena_worker *w = ctx;
    if (!assigned) {
        /* Jobs of a revoked partition still emit (duplicates are harmless downstream) but may
         * no longer move its committed offset; its parked messages are not started at all. */
        w->generation++;
        arena_offsets_forget(w->offsets, topic, partition);
        size_t dropped = park_drop(w, partition);
        if (dropped) {
            ARENA_INFO("event=parked_dropped topic=%s partition=%d messages=%zu reason=revoked",
                       topic, (int)partition, dropped);
        }
    }
    ARENA_INFO("event=%s topic=%s partition=%d", assigned ? "assigned" : "revoked", topic,
               (int)partition);
}

static void commit_offsets(struct arena_worker *w, bool sync)
{
    if (w->dead) {
        /* dead-lettered inputs count as done once the DLQ record is acknowledged */
        if (arena_producer_flush(w->producer, 10000) == ARENA_ERR_OK) {
            while (w->dead) {
                struct arena_worker_job *job = w->dead;
                w->dead = job->next;
                job_finish(w, job);
            }
        }
    }
    const char *topic;
    int32_t partition;
    int64_t next;
    while (arena_offsets_next_commit(w->offsets, &topic, &partition, &next)) {
        arena_err_t err = arena_consumer_commit(w->consumer, topic, partition, next, !sync);
        if (err != ARENA_ERR_OK) {
            ARENA_DEBUG("event=commit_failed topic=%s partition=%d offset=%lld err=\"%s\"", topic,
                        (int)partition, (long long)next, arena_err_str(err));
        }
    }
    w->last_commit_ms = arena_mono_ms();
}

static void status_fields(void *ctx, json_t *obj)
{
    struct arena_worker *w = ctx;
    json_object_set_new(obj, "in_flight", json_integer((json_int_t)w->inflight));
    json_object_set_new(obj, "max_in_flight", json_integer((json_int_t)w->o.max_in_flight));
    json_object_set_new(obj, "lag", json_integer(arena_consumer_lag(w->consumer)));
    json_object_set_new(obj, "consumed", json_integer((json_int_t)w->consumed));
    json_object_set_new(obj, "produced", json_integer((json_int_t)w->produced));
    json_object_set_new(obj, "dead_lettered", json_integer((json_int_t)w->dead_lettered));
    json_object_set_new(obj, "consumer_paused", json_boolean(w->consumer_paused));
    json_object_set_new(obj, "parked", json_integer((json_int_t)w->park_n));
    json_object_set_new(obj, "parked_max", json_integer((json_int_t)w->park_max));
    json_object_set_new(obj, "consumer_pauses", json_integer((json_int_t)w->pauses));
    if (w->o.ops.status) {
        w->o.ops.status(w->o.ctx, obj);
    }
}

static json_t *status_cb(void *ctx)
{
    json_t *obj = json_object();
    status_fields(ctx, obj);
    return obj;
}

struct arena_worker *arena_worker_new(const struct arena_worker_opts *o, char *errstr,
                                      size_t errstr_size)
{
    struct arena_worker *w = arena_xcalloc(1, sizeof(*w));
    w->o = *o;
    w->svc = o->svc;
    if (w->o.max_in_flight <= 0) {
        w->o.max_in_flight = 1;
    }
    int64_t batch = w->svc->svc->batch_size > 0 ? w->svc->svc->batch_size : 500;
    w->park_max = (size_t)(batch > w->o.max_in_flight ? batch : w->o.max_in_flight);
    w->park_cap = w->park_max;
    w->park = arena_xcalloc(w->park_cap, sizeof(*w->park));
    w->offsets = arena_offsets_new();
    w->producer = arena_producer_new(w->svc->cfg, w->svc->name, errstr, errstr_size);
    if (!w->producer) {
        arena_worker_destroy(w);
        return NULL;
    }
    arena_producer_set_dr_cb(w->producer, on_delivery, w);
    const char *topics[] = {o->in_topic, NULL};
    struct arena_consumer_opts co = {
        .mode = ARENA_CONSUMER_GROUP,
        .group_id = w->svc->svc->group_id,
        .topics = topics,
        .offsets = NULL,
        .rebalance = on_rebalance,
        .ctx = w,
        .client_id = w->svc->name,
    };
    w->consumer = arena_consumer_new(w->svc->cfg, &co, errstr, errstr_size);
    if (!w->consumer) {
        arena_worker_destroy(w);
        return NULL;
    }
    char lbl[256];
    snprintf(lbl, sizeof(lbl), "topic=\"%s\"", o->in_topic);
    w->m_consumed = arena_metrics_counter(w->svc->metrics, "arena_messages_consumed_total",
                                          "Messages consumed", lbl);
    w->m_lag = arena_metrics_gauge(w->svc->metrics, "arena_consumer_lag_messages",
                                   "Messages behind the high watermark", lbl);
    snprintf(lbl, sizeof(lbl), "topic=\"%s\"", o->out_topic);
    w->m_produced = arena_metrics_counter(w->svc->metrics, "arena_messages_produced_total",
                                          "Messages produced and acknowledged", lbl);
    w->m_produce_err = arena_metrics_counter(w->svc->metrics, "arena_produce_errors_total",
                                             "Failed deliveries (retried)", lbl);
    w->m_inflight =
        arena_metrics_gauge(w->svc->metrics, "arena_inflight_battles", "Battles in progress", "");
    w->svc->status_fn = status_cb;
    w->svc->status_ctx = w;
    return w;
}

void arena_worker_destroy(struct arena_worker *w)
{
    if (!w) {
        return;
    }
    if (w->svc && w->svc->status_ctx == w) {
        w->svc->status_fn = NULL;
        w->svc->status_ctx = NULL;
    }
    arena_consumer_destroy(w->consumer); /* its final revocation still drops parked ones */
    if (w->park) {
        park_drop(w, -1);
        free(w->park);
    }
    arena_producer_destroy(w->producer);
    while (w->retry) {
        struct arena_worker_job *j = w->retry;
        w->retry = j->next;
        job_free(j);
    }
    while (w->dead) {
        struct arena_worker_job *j = w->dead;
        w->dead = j->next;
        job_free(j);
    }
    arena_offsets_destroy(w->offsets);
    free(w);
}

static void handle_message(struct arena_worker *w, struct arena_msg *m)
{
    struct arena_worker_job *job = arena_xcalloc(1, sizeof(*job));
    char errstr[512] = "";
    job->w = w;
    job->partition = m->partition;
    job->offset = m->offset;
    job->generation = w->generation;
    w->last_start_ms = arena_mono_ms();
    arena_offsets_begin(w->offsets, w->o.in_topic, m->partition, m->offset);
    w->inflight++;
    w->consumed++;
    arena_metric_inc(w->m_consumed);
    arena_err_t err = w->o.ops.handle(w->o.ctx, job, m, errstr, sizeof(errstr));
    if (err != ARENA_ERR_OK) {
        arena_service_dlq(w->svc, w->producer, m, err, errstr);
        w->dead_lettered++;
        job->next = w->dead;
        w->dead = job;
    }
    arena_msg_destroy(m);
}

int arena_worker_run(struct arena_worker *w)
{
    struct arena_service *svc = w->svc;
    int64_t batch = svc->svc->batch_size > 0 ? svc->svc->batch_size : 500;
    int64_t last_gauge = 0;
    arena_service_set_ready(svc, true);
    ARENA_INFO("event=started in=%s out=%s max_in_flight=%lld parked_max=%zu", w->o.in_topic,
               w->o.out_topic, (long long)w->o.max_in_flight, w->park_max);
    for (;;) {
        arena_service_tick(svc);
        if (arena_service_stopping(svc) && !w->draining) {
            w->draining = true;
            arena_service_set_ready(svc, false);
            /* parked messages were never started: the next owner consumes them again */
            size_t dropped = park_drop(w, -1);
            ARENA_INFO("event=draining in_flight=%zu parked_dropped=%zu", w->inflight, dropped);
        }
        if (w->draining && ((w->inflight == 0 && !w->retry) || arena_service_grace_expired(svc))) {
            break;
        }
        /* Flow control: at max_in_flight no job is started (the bound is strict) but polling
         * goes on, parking messages (and serving rebalances), until park_max are parked; then
         * the rest waits in librdkafka's prefetch queue. Only when the park has stayed full
         * and no job started for WORKER_PAUSE_AFTER_MS (a stalled model; a merely slow one
         * keeps starting jobs) are the partitions paused, which purges that queue so memory
         * stays flat however long the stall; they are resumed once the park has drained to
         * half, so the re-fetch after a resume never starves the model calls. Pausing at every
         * full park measured 0.74 of ideal at 256 in flight (each resume waited ~0.8 s for the
         * re-fetch); this way 0.99 at 64 and 256. */
        bool hold = w->draining || svc->paused;
        while (!hold && w->park_n > 0 && (int64_t)w->inflight < w->o.max_in_flight) {
            handle_message(w, park_pop(w));
        }
        int64_t tnow = arena_mono_ms();
        bool full = w->park_n >= w->park_max;
        if (!full) {
            w->park_full_ms = 0;
        } else if (w->park_full_ms == 0) {
            w->park_full_ms = tnow;
        }
        int64_t stalled_since =
            w->park_full_ms > w->last_start_ms ? w->park_full_ms : w->last_start_ms;
        bool want_pause = hold || (full && tnow - stalled_since >= WORKER_PAUSE_AFTER_MS) ||
                          (w->consumer_paused && w->park_n > w->park_max / 2);
        if (want_pause != w->consumer_paused) {
            if (want_pause) {
                arena_consumer_pause(w->consumer);
                w->pauses++;
                ARENA_DEBUG("event=consumer_pause parked=%zu in_flight=%zu", w->park_n,
                            w->inflight);
            } else {
                arena_consumer_resume(w->consumer);
                ARENA_DEBUG("event=consumer_resume parked=%zu in_flight=%zu", w->park_n,
                            w->inflight);
            }
            w->consumer_paused = want_pause;
        }
        int n = 0;
        if (!want_pause) {
            int wait = w->inflight == 0 && w->park_n == 0 ? 50 : 0;
            while (n < batch && w->park_n < w->park_max) {
                struct arena_msg *m = arena_consumer_poll(w->consumer, wait);
                if (!m) {
                    break;
                }
                wait = 0;
                n++;
                if (w->park_n == 0 && (int64_t)w->inflight < w->o.max_in_flight) {
                    handle_message(w, m);
                } else {
                    park_push(w, m);
                }
            }
        } else {
            /* serve rebalance callbacks while paused; a message that still arrives (fetched
             * before the pause took effect) is parked, never dropped */
            struct arena_msg *m = arena_consumer_poll(w->consumer, 0);
            if (m) {
                park_push(w, m);
            }
        }
        if (w->o.ops.poll) {
            w->o.ops.poll(w->o.ctx, (n > 0 || w->inflight == 0) ? 0 : 2);
        }
        arena_producer_poll(w->producer, 0);
        if (w->retry) {
            retry_outputs(w);
        }
        int64_t now = arena_mono_ms();
        if (now - w->last_commit_ms >= WORKER_COMMIT_EVERY_MS) {
            commit_offsets(w, false);
        }
        if (now - last_gauge >= 1000) {
            arena_metric_set(w->m_inflight, (double)w->inflight);
            arena_metric_set(w->m_lag, (double)arena_consumer_lag(w->consumer));
            last_gauge = now;
        }
    }
    ARENA_INFO("event=stopping in_flight=%zu", w->inflight);
    if (arena_producer_flush(w->producer, 10000) != ARENA_ERR_OK) {
        ARENA_WARN("event=flush_timeout outq=%d", arena_producer_outq_len(w->producer));
    }
    commit_offsets(w, true);
    return 0;
}

void arena_worker_emit(struct arena_worker *w, struct arena_worker_job *job, const void *key,
                       size_t key_len, const void *value, size_t value_len)
{
    job->key = arena_xmalloc(key_len ? key_len : 1);
    memcpy(job->key, key, key_len);
    job->key_len = key_len;
    job->value = arena_xmalloc(value_len ? value_len : 1);
    memcpy(job->value, value, value_len);
    job->value_len = value_len;
    if (!send_output(w, job)) {
        job->next = w->retry;
        w->retry = job;
    }
}

void arena_worker_job_set_data(struct arena_worker_job *job, void *data)
{
    job->data = data;
}

void *arena_worker_job_data(const struct arena_worker_job *job)
{
    return job->data;
}

size_t arena_worker_inflight(const struct arena_worker *w)
{
    return w->inflight;
}

struct arena_producer *arena_worker_producer(struct arena_worker *w)
{
    return w->producer;
}
