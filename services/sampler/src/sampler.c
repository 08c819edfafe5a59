/* sampler.c - the sampler loop: ingest prompts through the data pipeline into the pool, track
 * battle completion, issue battles under the in-flight limit. See sampler.h. */
#include "sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/codec.h"
#include "arena/log.h"
#include "arena/store.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "sampler_match.h"
#include "sampler_pipeline.h"

enum { CF_POOL = 0, CF_PROMPT_IDS = 1, CF_ISSUED = 2, CF_META = 3, CF_EVAL = 4 };
static const char *const sampler_cfs[] = {"pool", "prompt_ids", "issued", "meta", "eval"};

#define ISSUE_CHUNK_PROMPTS 64
#define MAX_PAIRS 256

struct sampler {
    struct arena_service *svc;
    struct arena_store *store;
    struct arena_consumer *consumer;
    struct arena_producer *producer;
    struct sampler_pipeline *pipeline;
    const char **models; /* the matchmaking list: target + competitors (train) or all (eval) */
    size_t n_models;
    struct sampler_pair pairs[MAX_PAIRS];
    size_t n_pairs;
    uint32_t samples;
    Arena__V1__MatchMode mode;
    /* persistent counters (CF meta) */
    uint64_t pool_size, cursor, issued, done, dropped, duplicates;
    struct arena_batch *batch;
    char (*done_ids)[33]; /* ids completed in the current batch */
    size_t n_done_ids, cap_done_ids;
    uint64_t decisions[SAMPLER_DECISION__COUNT];
    struct arena_metric *m_issued, *m_inflight, *m_decision[SAMPLER_DECISION__COUNT], *m_consumed;
    struct arena_metric *m_dup;
};

static uint64_t meta_get(struct sampler *s, const char *key)
{
    char *v = NULL;
    size_t len = 0;
    uint64_t out = 0;
    if (arena_store_get(s->store, CF_META, key, strlen(key), &v, &len) == ARENA_ERR_OK &&
        len == 8) {
        memcpy(&out, v, 8);
    }
    free(v);
    return out;
}

static void meta_put(struct arena_batch *b, const char *key, uint64_t v)
{
    arena_batch_put(b, CF_META, key, strlen(key), &v, 8);
}

static void be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static void stage_meta(struct sampler *s, struct arena_batch *b)
{
    meta_put(b, "pool_size", s->pool_size);
    meta_put(b, "cursor", s->cursor);
    meta_put(b, "issued", s->issued);
    meta_put(b, "done", s->done);
    meta_put(b, "dropped", s->dropped);
    meta_put(b, "duplicates", s->duplicates);
}

static bool offsets_from_store(void *ctx, const char *topic, int32_t partition, int64_t *offset)
{
    struct sampler *s = ctx;
    return arena_store_get_offset(s->store, topic, partition, offset) == ARENA_ERR_OK;
}

/* The instruction the pipeline judges: the last user turn. */
static const char *instruction_of(const Arena__V1__Prompt *p)
{
    for (size_t i = p->n_messages; i > 0; i--) {
        if (p->messages[i - 1]->role && !strcmp(p->messages[i - 1]->role, "user")) {
            return p->messages[i - 1]->content;
        }
    }
    return p->n_messages ? p->messages[p->n_messages - 1]->content : "";
}

static uint64_t inflight(const struct sampler *s)
{
    return s->issued > s->done ? s->issued - s->done : 0;
}

/* ---- input ---- */

static void on_prompt(struct sampler *s, const struct arena_msg *m, struct arena_batch *b)
{
    Arena__V1__Prompt *p = NULL;
    char errstr[256];
    arena_err_t err =
        arena_codec_decode(&arena__v1__prompt__descriptor, m->value, m->value_len, m->message_type,
                           (ProtobufCMessage **)&p, errstr, sizeof(errstr));
    if (err != ARENA_ERR_OK) {
        arena_service_dlq(s->svc, s->producer, m, err, errstr);
        arena_producer_flush(s->producer, 10000);
        return;
    }
    const char *id = p->prompt_id;
    if (arena_store_exists(s->store, CF_PROMPT_IDS, id, strlen(id))) {
        s->duplicates++;
        s->decisions[SAMPLER_DROP_EXACT_DUP]++;
        arena_metric_inc(s->m_decision[SAMPLER_DROP_EXACT_DUP]);
        arena_codec_free((ProtobufCMessage *)p);
        return;
    }
    if (p->role == ARENA__V1__PROMPT_ROLE__PROMPT_ROLE_EVAL) {
        sampler_pipeline_add_eval(s->pipeline, id, instruction_of(p));
        arena_batch_put(b, CF_EVAL, id, strlen(id), m->value, m->value_len);
    }
    char match[33] = "";
    enum sampler_decision d = sampler_pipeline_offer(s->pipeline, id, instruction_of(p), match);
    s->decisions[d]++;
    arena_metric_inc(s->m_decision[d]);
    uint8_t rec[9];
    rec[0] = (uint8_t)d;
    be64(s->pool_size, rec + 1);
    arena_batch_put(b, CF_PROMPT_IDS, id, strlen(id), rec, sizeof(rec));
    if (d == SAMPLER_ACCEPT) {
        uint8_t key[8];
        be64(s->pool_size, key);
        arena_batch_put(b, CF_POOL, key, 8, m->value, m->value_len);
        s->pool_size++;
    } else {
        s->dropped++;
        ARENA_DEBUG("event=prompt_dropped prompt_id=%s reason=%s match=%s", id,
                    sampler_decision_name(d), match);
    }
    arena_codec_free((ProtobufCMessage *)p);
}

static bool done_in_batch(struct sampler *s, const char *id)
{
    for (size_t i = 0; i < s->n_done_ids; i++) {
        if (!strcmp(s->done_ids[i], id)) {
            return true;
        }
    }
    return false;
}

static void on_result(struct sampler *s, const struct arena_msg *m, struct arena_batch *b)
{
    Arena__V1__BattleResult *r = NULL;
    char errstr[256];
    arena_err_t err =
        arena_codec_decode(&arena__v1__battle_result__descriptor, m->value, m->value_len,
                           m->message_type, (ProtobufCMessage **)&r, errstr, sizeof(errstr));
    if (err != ARENA_ERR_OK) {
        /* the judge's output: the rater and curator dead-letter it; here it is only skipped */
        ARENA_DEBUG("event=result_skipped partition=%d offset=%lld err=\"%s\"", (int)m->partition,
                    (long long)m->offset, errstr);
        return;
    }
    const char *id = r->battle_id;
    char *state = NULL;
    size_t len = 0;
    if (!done_in_batch(s, id) &&
        arena_store_get(s->store, CF_ISSUED, id, strlen(id), &state, &len) == ARENA_ERR_OK &&
        len == 1 && state[0] == 'i') {
        arena_batch_put(b, CF_ISSUED, id, strlen(id), "d", 1);
        if (s->n_done_ids == s->cap_done_ids) {
            s->cap_done_ids = s->cap_done_ids ? 2 * s->cap_done_ids : 256;
            s->done_ids = arena_xrealloc(s->done_ids, s->cap_done_ids * sizeof(*s->done_ids));
        }
        snprintf(s->done_ids[s->n_done_ids++], 33, "%s", id);
        s->done++;
    }
    free(state);
    arena_codec_free((ProtobufCMessage *)r);
}

static int consume_batch(struct sampler *s, int wait_ms)
{
    int64_t max = s->svc->svc->batch_size > 0 ? s->svc->svc->batch_size : 500;
    struct arena_batch *b = s->batch;
    uint64_t saved[6] = {s->pool_size, s->cursor, s->issued, s->done, s->dropped, s->duplicates};
    int n = 0;
    arena_batch_clear(b);
    s->n_done_ids = 0;
    while (n < max) {
        struct arena_msg *m = arena_consumer_poll(s->consumer, wait_ms);
        if (!m) {
            break;
        }
        wait_ms = 0;
        n++;
        arena_metric_inc(s->m_consumed);
        arena_batch_set_offset(b, m->topic, m->partition, m->offset + 1);
        if (!strcmp(m->topic, ARENA_TOPIC_PROMPTS)) {
            on_prompt(s, m, b);
        } else {
            on_result(s, m, b);
        }
        arena_msg_destroy(m);
    }
    if (n == 0) {
        return 0;
    }
    stage_meta(s, b);
    char errstr[256];
    if (arena_store_write(s->store, b, false, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        arena_service_error(s->svc, "state write failed: %s", errstr);
        s->pool_size = saved[0];
        s->cursor = saved[1];
        s->issued = saved[2];
        s->done = saved[3];
        s->dropped = saved[4];
        s->duplicates = saved[5];
        arena_stop_requested = 1; /* the pipeline index moved on: restart from the store */
    }
    return n;
}

/* ---- issuing ---- */

static Arena__V1__Prompt *pool_prompt(struct sampler *s, uint64_t seq)
{
    uint8_t key[8];
    char *v = NULL;
    size_t len = 0;
    Arena__V1__Prompt *p = NULL;
    char errstr[128];
    be64(seq, key);
    if (arena_store_get(s->store, CF_POOL, key, 8, &v, &len) != ARENA_ERR_OK) {
        return NULL;
    }
    arena_codec_decode(&arena__v1__prompt__descriptor, v, len, NULL, (ProtobufCMessage **)&p,
                       errstr, sizeof(errstr));
    free(v);
    return p;
}

static uint64_t battles_per_prompt(const struct sampler *s)
{
    return (uint64_t)s->n_pairs * s->samples;
}

static bool can_issue(const struct sampler *s)
{
    const struct arena_config *cfg = s->svc->cfg;
    uint64_t per = battles_per_prompt(s);
    if (per == 0 || s->cursor >= s->pool_size || s->svc->paused) {
        return false;
    }
    if (cfg->sampler.max_battles > 0 && s->issued >= (uint64_t)cfg->sampler.max_battles) {
        return false;
    }
    return inflight(s) + per <= (uint64_t)cfg->sampler.max_in_flight || inflight(s) == 0;
}

static void issue(struct sampler *s)
{
    const struct arena_config *cfg = s->svc->cfg;
    struct arena_batch *b = s->batch;
    int chunk = 0;
    uint64_t issued = 0;
    arena_batch_clear(b);
    while (chunk < ISSUE_CHUNK_PROMPTS && can_issue(s)) {
        Arena__V1__Prompt *p = pool_prompt(s, s->cursor);
        s->cursor++;
        chunk++;
        if (!p) {
            ARENA_WARN("event=pool_entry_unreadable seq=%llu", (unsigned long long)(s->cursor - 1));
            continue;
        }
        bool eval = p->role == ARENA__V1__PROMPT_ROLE__PROMPT_ROLE_EVAL ||
                    s->mode == ARENA__V1__MATCH_MODE__MATCH_MODE_EVAL;
        uint32_t round = eval ? 0 : (uint32_t)cfg->sampler.round;
        for (size_t i = 0; i < s->n_pairs; i++) {
            for (uint32_t k = 0; k < s->samples; k++) {
                Arena__V1__BattleRequest rq = ARENA__V1__BATTLE_REQUEST__INIT;
                char id[33];
                arena_battle_id(round, p->prompt_id, s->pairs[i].a, s->pairs[i].b, k, id);
                rq.battle_id = id;
                rq.round = round;
                rq.prompt_id = p->prompt_id;
                rq.n_messages = p->n_messages;
                rq.messages = p->messages;
                rq.model_a = (char *)s->pairs[i].a;
                rq.model_b = (char *)s->pairs[i].b;
                rq.sample_index = k;
                rq.mode = s->mode;
                rq.battles_in_prompt = (uint32_t)battles_per_prompt(s);
                rq.target_model = eval ? "" : cfg->sampler.target;
                rq.requested_at_ms = arena_now_ms();
                rq.eval = eval;
                size_t len;
                void *buf = arena_codec_encode(&rq.base, &len);
                arena_producer_send(s->producer, ARENA_TOPIC_REQUESTED, -1, p->prompt_id,
                                    strlen(p->prompt_id), buf, len, "arena.v1.BattleRequest", NULL,
                                    NULL);
                free(buf);
                arena_batch_put(b, CF_ISSUED, id, strlen(id), "i", 1);
                issued++;
            }
        }
        s->issued += battles_per_prompt(s);
        arena_codec_free((ProtobufCMessage *)p);
    }
    if (chunk == 0) {
        return;
    }
    /* the issued state is recorded only once the broker has every request */
    while (arena_producer_flush(s->producer, 1000) != ARENA_ERR_OK) {
        if (arena_stop_requested && arena_service_grace_expired(s->svc)) {
            ARENA_WARN("event=issue_not_acknowledged battles=%llu", (unsigned long long)issued);
            return; /* not recorded: re-issued (same ids) after restart */
        }
        arena_service_tick(s->svc);
    }
    if (arena_producer_failed(s->producer) > 0) {
        ARENA_WARN("event=issue_delivery_failed total_failed=%llu",
                   (unsigned long long)arena_producer_failed(s->producer));
    }
    stage_meta(s, b);
    char errstr[256];
    if (arena_store_write(s->store, b, false, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        arena_service_error(s->svc, "state write failed: %s", errstr);
        arena_stop_requested = 1;
        return;
    }
    arena_metric_add(s->m_issued, (double)issued);
}

/* ---- lifecycle ---- */

static json_t *status_cb(void *ctx)
{
    struct sampler *s = ctx;
    json_t *o = json_object();
    json_t *d = json_object();
    json_object_set_new(o, "mode", json_string(s->svc->cfg->sampler.mode));
    json_object_set_new(o, "pool", json_integer((json_int_t)s->pool_size));
    json_object_set_new(o, "cursor", json_integer((json_int_t)s->cursor));
    json_object_set_new(o, "issued", json_integer((json_int_t)s->issued));
    json_object_set_new(o, "done", json_integer((json_int_t)s->done));
    json_object_set_new(o, "in_flight", json_integer((json_int_t)inflight(s)));
    json_object_set_new(o, "max_in_flight", json_integer(s->svc->cfg->sampler.max_in_flight));
    json_object_set_new(o, "battles_per_prompt", json_integer((json_int_t)battles_per_prompt(s)));
    json_object_set_new(o, "lag", json_integer(arena_consumer_lag(s->consumer)));
    for (int i = 0; i < SAMPLER_DECISION__COUNT; i++) {
        json_object_set_new(d, sampler_decision_name((enum sampler_decision)i),
                            json_integer((json_int_t)s->decisions[i]));
    }
    json_object_set_new(o, "prompts", d);
    return o;
}

/* Rebuild the pipeline's indexes by re-offering the pool in order (offer is deterministic). */
static void rebuild_pipeline(struct sampler *s)
{
    struct arena_store_iter *it = arena_store_iter_new(s->store, CF_EVAL, NULL, 0);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t len;
        const char *v = arena_store_iter_value(it, &len);
        Arena__V1__Prompt *p = NULL;
        char errstr[128];
        if (arena_codec_decode(&arena__v1__prompt__descriptor, v, len, NULL,
                               (ProtobufCMessage **)&p, errstr, sizeof(errstr)) == ARENA_ERR_OK) {
            sampler_pipeline_add_eval(s->pipeline, p->prompt_id, instruction_of(p));
            arena_codec_free((ProtobufCMessage *)p);
        }
    }
    arena_store_iter_destroy(it);
    it = arena_store_iter_new(s->store, CF_POOL, NULL, 0);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t len;
        const char *v = arena_store_iter_value(it, &len);
        Arena__V1__Prompt *p = NULL;
        char errstr[128], match[33];
        if (arena_codec_decode(&arena__v1__prompt__descriptor, v, len, NULL,
                               (ProtobufCMessage **)&p, errstr, sizeof(errstr)) == ARENA_ERR_OK) {
            sampler_pipeline_offer(s->pipeline, p->prompt_id, instruction_of(p), match);
            arena_codec_free((ProtobufCMessage *)p);
        }
    }
    arena_store_iter_destroy(it);
}

struct sampler *sampler_new(struct arena_service *svc, char *errstr, size_t errstr_size)
{
    const struct arena_config *cfg = svc->cfg;
    struct sampler *s = arena_xcalloc(1, sizeof(*s));
    s->svc = svc;
    s->samples = cfg->sampler.samples_per_pair > 0 ? (uint32_t)cfg->sampler.samples_per_pair : 1;
    s->models = arena_xcalloc(cfg->n_models + cfg->sampler.competitors.n + 2, sizeof(char *));
    if (!strcmp(cfg->sampler.mode, "eval")) {
        s->mode = ARENA__V1__MATCH_MODE__MATCH_MODE_EVAL;
        const char *judge = cfg->judge.model;
        for (size_t i = 0; i < cfg->n_models; i++) {
            if (!judge || strcmp(cfg->models[i].name, judge) != 0) {
                s->models[s->n_models++] = cfg->models[i].name;
            }
        }
    } else if (!strcmp(cfg->sampler.mode, "train")) {
        s->mode = ARENA__V1__MATCH_MODE__MATCH_MODE_TRAIN;
        if (!cfg->sampler.target || !*cfg->sampler.target) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "sampler.target: train mode needs a target model");
            sampler_destroy(s);
            return NULL;
        }
        s->models[s->n_models++] = cfg->sampler.target;
        for (size_t i = 0; i < cfg->sampler.competitors.n; i++) {
            s->models[s->n_models++] = cfg->sampler.competitors.v[i];
        }
    } else {
        arena_err_set(errstr, errstr_size, ARENA_ERR_UNSUPPORTED,
                      "sampler.mode: '%s' is not supported by this sampler (train, eval)",
                      cfg->sampler.mode);
        sampler_destroy(s);
        return NULL;
    }
    s->n_pairs = sampler_match_all_pairs(s->models, s->n_models, s->pairs, MAX_PAIRS);
    if (s->n_pairs == 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "sampler: fewer than two distinct models to match (sampler.target, "
                      "sampler.competitors)");
        sampler_destroy(s);
        return NULL;
    }
    struct sampler_pipeline_opts po;
    sampler_pipeline_opts_default(&po);
    po.min_length = (int)cfg->sampler.min_length;
    po.prefix_dedup = cfg->sampler.dedup_prefix;
    po.minhash_dedup = cfg->sampler.dedup_minhash;
    s->pipeline = sampler_pipeline_new(&po, errstr, errstr_size);
    if (!s->pipeline) {
        sampler_destroy(s);
        return NULL;
    }
    s->batch = arena_batch_new();
    s->store = arena_store_open(svc->svc->state_dir, sampler_cfs, 5, errstr, errstr_size);
    if (!s->store) {
        sampler_destroy(s);
        return NULL;
    }
    s->pool_size = meta_get(s, "pool_size");
    s->cursor = meta_get(s, "cursor");
    s->issued = meta_get(s, "issued");
    s->done = meta_get(s, "done");
    s->dropped = meta_get(s, "dropped");
    s->duplicates = meta_get(s, "duplicates");
    rebuild_pipeline(s);
    s->producer = arena_producer_new(cfg, "sampler", errstr, errstr_size);
    if (!s->producer) {
        sampler_destroy(s);
        return NULL;
    }
    const char *topics[] = {ARENA_TOPIC_PROMPTS, ARENA_TOPIC_RESULTS, NULL};
    struct arena_consumer_opts co = {
        .mode = ARENA_CONSUMER_ASSIGN_ALL,
        .group_id = svc->svc->group_id,
        .topics = topics,
        .offsets = offsets_from_store,
        .ctx = s,
        .client_id = "sampler",
    };
    s->consumer = arena_consumer_new(cfg, &co, errstr, errstr_size);
    if (!s->consumer) {
        sampler_destroy(s);
        return NULL;
    }
    s->m_consumed = arena_metrics_counter(svc->metrics, "arena_messages_consumed_total",
                                          "Messages consumed", "topic=\"arena.prompts+results\"");
    s->m_issued =
        arena_metrics_counter(svc->metrics, "arena_battles_issued_total", "Battles issued", "");
    s->m_inflight = arena_metrics_gauge(svc->metrics, "arena_inflight_battles",
                                        "Battles issued and not yet resulted", "");
    for (int i = 0; i < SAMPLER_DECISION__COUNT; i++) {
        char lbl[128];
        enum sampler_decision d = (enum sampler_decision)i;
        snprintf(lbl, sizeof(lbl), "stage=\"%s\",decision=\"%s\"", sampler_decision_name(d),
                 d == SAMPLER_ACCEPT ? "accepted" : "dropped");
        s->m_decision[i] =
            arena_metrics_counter(svc->metrics, "arena_prompts_total", "Prompts by pipeline", lbl);
    }
    svc->status_fn = status_cb;
    svc->status_ctx = s;
    return s;
}

int sampler_run(struct sampler *s)
{
    struct arena_service *svc = s->svc;
    int64_t last_gauge = 0;
    arena_service_set_ready(svc, true);
    ARENA_INFO("event=started mode=%s models=%zu pairs=%zu pool=%llu issued=%llu done=%llu",
               svc->cfg->sampler.mode, s->n_models, s->n_pairs, (unsigned long long)s->pool_size,
               (unsigned long long)s->issued, (unsigned long long)s->done);
    while (!arena_service_stopping(svc)) {
        arena_service_tick(svc);
        consume_batch(s, can_issue(s) ? 0 : 100);
        if (!arena_stop_requested) {
            issue(s);
        }
        arena_producer_poll(s->producer, 0);
        int64_t now = arena_mono_ms();
        if (now - last_gauge >= 1000) {
            arena_metric_set(s->m_inflight, (double)inflight(s));
            last_gauge = now;
        }
    }
    arena_producer_flush(s->producer, 10000);
    ARENA_INFO("event=stopped pool=%llu issued=%llu done=%llu", (unsigned long long)s->pool_size,
               (unsigned long long)s->issued, (unsigned long long)s->done);
    return 0;
}

void sampler_destroy(struct sampler *s)
{
    if (!s) {
        return;
    }
    if (s->svc && s->svc->status_ctx == s) {
        s->svc->status_fn = NULL;
        s->svc->status_ctx = NULL;
    }
    arena_consumer_destroy(s->consumer);
    arena_producer_destroy(s->producer);
    arena_store_close(s->store);
    arena_batch_destroy(s->batch);
    sampler_pipeline_destroy(s->pipeline);
    free(s->models);
    free(s->done_ids);
    free(s);
}
