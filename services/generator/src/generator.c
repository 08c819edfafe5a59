/* generator.c - the generator loop: BattleRequest -> two model calls (or cache hits) ->
 * GeneratedBattle. Runs on arena_worker (at-least-once, ordered commits, back-pressure). */
#include "generator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/codec.h"
#include "arena/llm.h"
#include "arena/log.h"
#include "arena/store.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "arena/worker.h"
#include "generator_cache.h"

enum { CF_RESPONSES = 0 };
static const char *const generator_cfs[] = {"responses"};

struct generator {
    struct arena_service *svc;
    struct arena_store *store;
    struct arena_llm_pool *llm;
    struct arena_worker *worker;
    bool cache;
    uint64_t calls, cache_hits, errors, too_long, coalesced;
    struct arena_metric *m_hit, *m_miss, *m_coalesced;
    struct gen_call **calls_table; /* model calls in flight by cache key */
    size_t calls_size;
};

/* One model call in flight, shared by every battle side that needs the same answer (same model,
 * conversation and sampling params): in train mode each model answers a prompt in several
 * battles at once, and that answer is paid for once. */
struct gen_call {
    uint8_t key[32];
    struct gen_side **waiters;
    size_t n, cap;
    struct gen_call *next;
};

struct gen_side {
    struct gen_job *job;
    int idx;
    uint8_t key[32];
};

struct gen_job {
    struct generator *g;
    struct arena_worker_job *wj;
    Arena__V1__BattleRequest *req;
    Arena__V1__Response *resp[2];
    struct gen_side side[2];
    int pending;
};

static void gen_job_free(struct gen_job *job)
{
    if (!job) {
        return;
    }
    arena_codec_free((ProtobufCMessage *)job->req);
    for (int i = 0; i < 2; i++) {
        arena_codec_free((ProtobufCMessage *)job->resp[i]);
    }
    free(job);
}

static void gen_job_complete(struct gen_job *job)
{
    struct generator *g = job->g;
    Arena__V1__GeneratedBattle gb = ARENA__V1__GENERATED_BATTLE__INIT;
    gb.request = job->req;
    gb.response_a = job->resp[0];
    gb.response_b = job->resp[1];
    gb.generated_at_ms = arena_now_ms();
    size_t len;
    void *buf = arena_codec_encode(&gb.base, &len);
    arena_worker_emit(g->worker, job->wj, job->req->prompt_id, strlen(job->req->prompt_id), buf,
                      len);
    free(buf);
    gen_job_free(job);
}

/* Decode a Response we encoded ourselves (cache value or fresh answer). */
static Arena__V1__Response *response_from_bytes(const void *buf, size_t len)
{
    Arena__V1__Response *r = NULL;
    char errstr[128];
    if (arena_codec_decode(&arena__v1__response__descriptor, buf, len, NULL,
                           (ProtobufCMessage **)&r, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        return NULL;
    }
    return r;
}

/* The Response of a finished call, encoded; *cacheable when it may enter the cache. */
static void *response_bytes(struct generator *g, const char *model, const char *battle_id,
                            const struct arena_llm_response *lr, bool *cacheable, size_t *len)
{
    Arena__V1__Response r = ARENA__V1__RESPONSE__INIT;
    Arena__V1__Usage usage = ARENA__V1__USAGE__INIT;
    r.model = (char *)model;
    r.backend = (char *)(lr->backend ? lr->backend : "");
    r.simulated = lr->simulated;
    r.latency_ms = lr->latency_ms;
    r.retries = lr->retries;
    r.finish_reason = (char *)(lr->finish_reason ? lr->finish_reason : "");
    usage.prompt_tokens = lr->prompt_tokens;
    usage.completion_tokens = lr->completion_tokens;
    usage.total_tokens = lr->prompt_tokens + lr->completion_tokens;
    r.usage = &usage;
    char limit_err[256];
    size_t content_len = lr->content ? strlen(lr->content) : 0;
    int64_t max_answer = g->svc->cfg->generator.max_answer_bytes;
    bool too_long = lr->err == ARENA_ERR_OK && max_answer > 0 && content_len > (size_t)max_answer;
    if (too_long) {
        snprintf(limit_err, sizeof(limit_err),
                 "LIMIT: answer of %s is %zu bytes, over generator.max_answer_bytes=%lld", model,
                 content_len, (long long)max_answer);
        r.error = limit_err;
        g->errors++;
        g->too_long++;
        ARENA_WARN("event=answer_too_long battle_id=%s model=%s bytes=%zu max=%lld", battle_id,
                   model, content_len, (long long)max_answer);
    } else if (lr->err == ARENA_ERR_OK) {
        r.content = (char *)(lr->content ? lr->content : "");
    } else {
        r.error = (char *)(lr->error ? lr->error : arena_err_str(lr->err));
        g->errors++;
        ARENA_WARN("event=generation_failed battle_id=%s model=%s err=\"%s\"", battle_id, model,
                   r.error);
    }
    *cacheable = lr->err == ARENA_ERR_OK && !too_long;
    return arena_codec_encode(&r.base, len);
}

/* Hand an encoded Response to one side of a battle; the battle is emitted once both are in. */
static void side_deliver(struct gen_side *side, const void *buf, size_t len, bool shared)
{
    struct gen_job *job = side->job;
    job->resp[side->idx] = response_from_bytes(buf, len);
    if (shared && job->resp[side->idx]) {
        job->resp[side->idx]->cached = true; /* served by another battle's call */
    }
    if (--job->pending == 0) {
        gen_job_complete(job);
    }
}

static const char *side_model(const struct gen_side *side)
{
    return side->idx == 0 ? side->job->req->model_a : side->job->req->model_b;
}

/* A side whose call could not even be submitted. */
static void on_answer(void *opaque, const struct arena_llm_response *lr)
{
    struct gen_side *side = opaque;
    bool cacheable;
    size_t len;
    void *buf = response_bytes(side->job->g, side_model(side), side->job->req->battle_id, lr,
                               &cacheable, &len);
    side_deliver(side, buf, len, false);
    free(buf);
}

static struct gen_call **call_slot(struct generator *g, const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    struct gen_call **pp = &g->calls_table[h % g->calls_size];
    while (*pp && memcmp((*pp)->key, key, 32) != 0) {
        pp = &(*pp)->next;
    }
    return pp;
}

static void call_add_waiter(struct gen_call *call, struct gen_side *side)
{
    if (call->n == call->cap) {
        call->cap = call->cap ? 2 * call->cap : 4;
        call->waiters = arena_xrealloc(call->waiters, call->cap * sizeof(*call->waiters));
    }
    call->waiters[call->n++] = side;
}

static void call_unlink_free(struct generator *g, struct gen_call *call)
{
    struct gen_call **pp = call_slot(g, call->key);
    if (*pp == call) {
        *pp = call->next;
    }
    free(call->waiters);
    free(call);
}

static void on_call_done(void *opaque, const struct arena_llm_response *lr)
{
    struct gen_call *call = opaque;
    struct gen_side *first = call->waiters[0];
    struct generator *g = first->job->g;
    bool cacheable;
    size_t len;
    void *buf =
        response_bytes(g, side_model(first), first->job->req->battle_id, lr, &cacheable, &len);
    if (cacheable && g->cache) {
        arena_store_put(g->store, CF_RESPONSES, call->key, sizeof(call->key), buf, len);
    }
    /* unlink first: completing a battle may start no new call, but keep the table consistent */
    struct gen_side **waiters = call->waiters;
    size_t n = call->n;
    call->waiters = NULL;
    call_unlink_free(g, call);
    for (size_t i = 0; i < n; i++) {
        side_deliver(waiters[i], buf, len, i > 0);
    }
    free(waiters);
    free(buf);
}

static arena_err_t handle(void *ctx, struct arena_worker_job *wj, const struct arena_msg *m,
                          char *errstr, size_t errstr_size)
{
    struct generator *g = ctx;
    Arena__V1__BattleRequest *req = NULL;
    arena_err_t err =
        arena_codec_decode(&arena__v1__battle_request__descriptor, m->value, m->value_len,
                           m->message_type, (ProtobufCMessage **)&req, errstr, errstr_size);
    if (err != ARENA_ERR_OK) {
        return err;
    }
    const struct arena_config *cfg = g->svc->cfg;
    double temperature = cfg->generator.temperature;
    int64_t max_tokens = cfg->generator.max_tokens;
    uint64_t seed = req->sample_index;
    if (req->params) {
        temperature = req->params->temperature;
        max_tokens = req->params->max_tokens;
        seed = req->params->seed;
    }
    struct gen_job *job = arena_xcalloc(1, sizeof(*job));
    job->g = g;
    job->wj = wj;
    job->req = req;
    job->pending = 2;
    arena_worker_job_set_data(wj, job);

    struct arena_llm_message *msgs = arena_xcalloc(req->n_messages + 1, sizeof(*msgs));
    for (size_t i = 0; i < req->n_messages; i++) {
        msgs[i].role = req->messages[i]->role;
        msgs[i].content = req->messages[i]->content;
    }
    struct arena_llm_request lr = {
        .messages = msgs,
        .n_messages = req->n_messages,
        .temperature = temperature,
        .max_tokens = max_tokens,
        .seed = seed,
        .prompt_id = req->prompt_id,
    };
    size_t prompt_bytes = 0;
    for (size_t i = 0; i < req->n_messages; i++) {
        prompt_bytes += req->messages[i]->content ? strlen(req->messages[i]->content) : 0;
    }
    int64_t max_prompt = cfg->generator.max_prompt_bytes;
    if (max_prompt > 0 && prompt_bytes > (size_t)max_prompt) {
        /* no model call: both sides answer with a visible per-battle error, so the judge emits a
         * GENERATION_ERROR result (counted as skipped, never lost) */
        char perr[256];
        snprintf(perr, sizeof(perr),
                 "LIMIT: prompt is %zu bytes, over generator.max_prompt_bytes=%lld", prompt_bytes,
                 (long long)max_prompt);
        ARENA_WARN("event=prompt_too_long battle_id=%s bytes=%zu max=%lld", req->battle_id,
                   prompt_bytes, (long long)max_prompt);
        g->too_long++;
        for (int i = 0; i < 2; i++) {
            job->side[i].job = job;
            job->side[i].idx = i;
        }
        struct arena_llm_response fail = {.err = ARENA_ERR_LIMIT, .error = perr, .backend = ""};
        on_answer(&job->side[0], &fail);
        on_answer(&job->side[1], &fail); /* completes (and frees) the job */
        free(msgs);
        return ARENA_ERR_OK;
    }
    for (int i = 0; i < 2; i++) {
        const char *model = i == 0 ? req->model_a : req->model_b;
        struct gen_side *side = &job->side[i];
        side->job = job;
        side->idx = i;
        generator_cache_key(model, (const Arena__V1__ChatMessage *const *)req->messages,
                            req->n_messages, temperature, max_tokens, seed, side->key);
        char *cached = NULL;
        size_t cached_len = 0;
        if (g->cache && arena_store_get(g->store, CF_RESPONSES, side->key, sizeof(side->key),
                                        &cached, &cached_len) == ARENA_ERR_OK) {
            job->resp[i] = response_from_bytes(cached, cached_len);
            free(cached);
            if (job->resp[i]) {
                job->resp[i]->cached = true;
                job->resp[i]->latency_ms = 0;
                g->cache_hits++;
                arena_metric_inc(g->m_hit);
                job->pending--;
                continue;
            }
        }
        struct gen_call **slot = call_slot(g, side->key);
        if (*slot) {
            /* the same answer is already being generated for another battle: wait for it */
            call_add_waiter(*slot, side);
            g->coalesced++;
            arena_metric_inc(g->m_coalesced);
            continue;
        }
        arena_metric_inc(g->m_miss);
        struct gen_call *call = arena_xcalloc(1, sizeof(*call));
        memcpy(call->key, side->key, sizeof(call->key));
        call_add_waiter(call, side);
        *slot = call;
        g->calls++;
        arena_err_t serr = arena_llm_submit(g->llm, model, &lr, on_call_done, call);
        if (serr != ARENA_ERR_OK) {
            call_unlink_free(g, call);
            /* unknown model: answer with a visible per-battle error */
            struct arena_llm_response fail = {
                .err = serr,
                .error = "model is not configured in arena.yaml",
                .backend = "",
            };
            bool last = job->pending == 1;
            on_answer(side, &fail);
            if (last) {
                free(msgs);
                return ARENA_ERR_OK; /* completed (and freed) inside on_answer */
            }
        }
    }
    free(msgs);
    if (job->pending == 0) {
        gen_job_complete(job);
    }
    return ARENA_ERR_OK;
}

static void poll_llm(void *ctx, int timeout_ms)
{
    struct generator *g = ctx;
    arena_llm_poll(g->llm, timeout_ms);
}

static void status(void *ctx, json_t *obj)
{
    struct generator *g = ctx;
    json_object_set_new(obj, "model_calls", json_integer((json_int_t)g->calls));
    json_object_set_new(obj, "cache_hits", json_integer((json_int_t)g->cache_hits));
    json_object_set_new(obj, "generation_errors", json_integer((json_int_t)g->errors));
    json_object_set_new(obj, "over_limit", json_integer((json_int_t)g->too_long));
    json_object_set_new(obj, "coalesced_calls", json_integer((json_int_t)g->coalesced));
    json_object_set_new(obj, "pending_calls", json_integer((json_int_t)arena_llm_pending(g->llm)));
}

struct generator *generator_new(struct arena_service *svc, char *errstr, size_t errstr_size)
{
    struct generator *g = arena_xcalloc(1, sizeof(*g));
    g->svc = svc;
    g->cache = svc->cfg->generator.cache;
    g->calls_size = 4096;
    g->calls_table = arena_xcalloc(g->calls_size, sizeof(*g->calls_table));
    g->store = arena_store_open(svc->svc->state_dir, generator_cfs, 1, errstr, errstr_size);
    if (!g->store) {
        generator_destroy(g);
        return NULL;
    }
    g->llm = arena_llm_pool_new(svc->cfg, svc->metrics, errstr, errstr_size);
    if (!g->llm) {
        generator_destroy(g);
        return NULL;
    }
    g->m_hit = arena_metrics_counter(svc->metrics, "arena_cache_requests_total", "Cache lookups",
                                     "cache=\"response\",result=\"hit\"");
    g->m_miss = arena_metrics_counter(svc->metrics, "arena_cache_requests_total", "Cache lookups",
                                      "cache=\"response\",result=\"miss\"");
    g->m_coalesced =
        arena_metrics_counter(svc->metrics, "arena_cache_requests_total", "Cache lookups",
                              "cache=\"response\",result=\"coalesced\"");
    struct arena_worker_opts wo = {
        .svc = svc,
        .in_topic = ARENA_TOPIC_REQUESTED,
        .out_topic = ARENA_TOPIC_GENERATED,
        .out_message_type = "arena.v1.GeneratedBattle",
        .max_in_flight = svc->cfg->generator.max_in_flight,
        .ops = {.handle = handle, .poll = poll_llm, .status = status},
        .ctx = g,
    };
    g->worker = arena_worker_new(&wo, errstr, errstr_size);
    if (!g->worker) {
        generator_destroy(g);
        return NULL;
    }
    return g;
}

int generator_run(struct generator *g)
{
    return arena_worker_run(g->worker);
}

void generator_destroy(struct generator *g)
{
    if (!g) {
        return;
    }
    arena_worker_destroy(g->worker);
    arena_llm_pool_destroy(g->llm); /* in-flight calls are dropped without callbacks */
    for (size_t i = 0; g->calls_table && i < g->calls_size; i++) {
        while (g->calls_table[i]) {
            call_unlink_free(g, g->calls_table[i]);
        }
    }
    free(g->calls_table);
    arena_store_close(g->store);
    free(g);
}
