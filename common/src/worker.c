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
    int64_t at_limit_since; /* monotonic ms since inflight reached max_in_flight; 0 = below */
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

static void on_rebalance(void *ctx, bool assigned, const char *topic, int32_t partition)
{
    struct arena_worker *w = ctx;
    if (!assigned) {
        /* Jobs of a revoked partition still emit (duplicates are harmless downstream) but may
         * no longer move its committed offset. */
        w->generation++;
        arena_offsets_forget(w->offsets, topic, partition);
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
    arena_consumer_destroy(w->consumer);
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
    ARENA_INFO("event=started in=%s out=%s max_in_flight=%lld", w->o.in_topic, w->o.out_topic,
               (long long)w->o.max_in_flight);
    for (;;) {
        arena_service_tick(svc);
        if (arena_service_stopping(svc) && !w->draining) {
            w->draining = true;
            arena_service_set_ready(svc, false);
            ARENA_INFO("event=draining in_flight=%zu", w->inflight);
        }
        if (w->draining && ((w->inflight == 0 && !w->retry) || arena_service_grace_expired(svc))) {
            break;
        }
        /* Back-pressure: at max_in_flight no message is taken (the job bound is strict), but
         * the partitions are only paused once the limit has held for WORKER_PAUSE_AFTER_MS (a
         * stalled model): a pause purges librdkafka's prefetched messages (freeing them, so
         * memory stays flat however long the stall) and every resume re-fetches them, which
         * cut throughput ten-fold when the limit was touched on every completion. */
        bool at_limit = (int64_t)w->inflight >= w->o.max_in_flight;
        int64_t tnow = arena_mono_ms();
        if (!at_limit) {
            w->at_limit_since = 0;
        } else if (w->at_limit_since == 0) {
            w->at_limit_since = tnow;
        }
        bool want_pause = w->draining || svc->paused ||
                          (at_limit && tnow - w->at_limit_since >= WORKER_PAUSE_AFTER_MS);
        if (want_pause != w->consumer_paused) {
            if (want_pause) {
                arena_consumer_pause(w->consumer);
            } else {
                arena_consumer_resume(w->consumer);
            }
            w->consumer_paused = want_pause;
        }
        int n = 0;
        if (!want_pause && !at_limit) {
            int wait = w->inflight == 0 ? 50 : 0;
            while (n < batch && (int64_t)w->inflight < w->o.max_in_flight) {
                struct arena_msg *m = arena_consumer_poll(w->consumer, wait);
                if (!m) {
                    break;
                }
                wait = 0;
                handle_message(w, m);
                n++;
            }
        } else if (want_pause) {
            /* serve rebalance callbacks while paused; nothing is fetched */
            struct arena_msg *m = arena_consumer_poll(w->consumer, 0);
            if (m) {
                /* a partition assigned while paused starts unpaused: take its message (never
                 * drop it) and pause again, the new partition included */
                handle_message(w, m);
                w->consumer_paused = false;
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
