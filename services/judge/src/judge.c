/* judge.c - the judge loop: GeneratedBattle -> two judge calls (orders AB and BA) -> parse ->
 * combine -> BattleResult. Runs on arena_worker. */
#include "judge.h"

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
#include "judge_combine.h"
#include "judge_parse.h"
#include "judge_template.h"

enum { CF_JUDGMENTS = 0 };
static const char *const judge_cfs[] = {"judgments"};

struct judge {
    struct arena_service *svc;
    struct arena_store *store;
    struct arena_llm_pool *llm;
    struct arena_worker *worker;
    struct judge_template *tpl;
    struct judge_combine_opts combine;
    const char *model;
    int parse_retries;
    /* position-bias figures */
    uint64_t judged, disagreements, judge_errors, generation_errors, cache_hits, parse_retried;
    double sum_first, sum_second;
    struct arena_metric *m_outcome[6];
    struct arena_metric *m_hit, *m_miss, *m_disagree, *m_first, *m_second;
};

struct judge_order {
    struct judge_job *job;
    int idx; /* 0: model_a first (AB), 1: model_b first (BA) */
    int attempts;
    bool done, parsed;
    struct judge_verdict v;
    char *raw;
    char *error;
    uint32_t latency_ms, prompt_tokens, completion_tokens;
    bool simulated;
};

struct judge_job {
    struct judge *j;
    struct arena_worker_job *wj;
    Arena__V1__GeneratedBattle *gb;
    char *system[2], *user[2];
    struct judge_order order[2];
    int pending;
};

static const char *outcome_label(Arena__V1__Outcome o)
{
    switch (o) {
    case ARENA__V1__OUTCOME__OUTCOME_MODEL_A:
        return "model_a";
    case ARENA__V1__OUTCOME__OUTCOME_MODEL_B:
        return "model_b";
    case ARENA__V1__OUTCOME__OUTCOME_TIE:
        return "tie";
    case ARENA__V1__OUTCOME__OUTCOME_JUDGE_ERROR:
        return "judge_error";
    case ARENA__V1__OUTCOME__OUTCOME_GENERATION_ERROR:
        return "generation_error";
    default:
        return "unspecified";
    }
}

static void judge_job_free(struct judge_job *job)
{
    if (!job) {
        return;
    }
    arena_codec_free((ProtobufCMessage *)job->gb);
    for (int i = 0; i < 2; i++) {
        free(job->system[i]);
        free(job->user[i]);
        free(job->order[i].raw);
        free(job->order[i].error);
    }
    free(job);
}

static void emit_result(struct judge *j, struct judge_job *job, Arena__V1__BattleResult *res)
{
    size_t len;
    void *buf = arena_codec_encode(&res->base, &len);
    arena_store_put(j->store, CF_JUDGMENTS, res->battle_id, strlen(res->battle_id), buf, len);
    arena_worker_emit(j->worker, job->wj, res->prompt_id, strlen(res->prompt_id), buf, len);
    free(buf);
    if ((unsigned)res->outcome < 6) {
        arena_metric_inc(j->m_outcome[res->outcome]);
    }
}

/* A result carrying the battle's identity, prompt and answers; the caller sets the verdict. */
static void result_init(struct judge *j, const Arena__V1__GeneratedBattle *gb,
                        Arena__V1__BattleResult *res)
{
    const Arena__V1__BattleRequest *rq = gb->request;
    arena__v1__battle_result__init(res);
    res->battle_id = rq->battle_id;
    res->round = rq->round;
    res->prompt_id = rq->prompt_id;
    res->model_a = rq->model_a;
    res->model_b = rq->model_b;
    res->judge_model = (char *)j->model;
    res->judge_template = (char *)judge_template_name(j->tpl);
    res->combine = (char *)judge_combine_policy_name(j->combine.policy);
    res->mode = rq->mode;
    res->battles_in_prompt = rq->battles_in_prompt;
    res->target_model = rq->target_model;
    res->sample_index = rq->sample_index;
    res->n_messages = rq->n_messages;
    res->messages = rq->messages;
    res->response_a = gb->response_a;
    res->response_b = gb->response_b;
    res->judged_at_ms = arena_now_ms();
    res->eval = rq->eval;
    res->simulated = (gb->response_a && gb->response_a->simulated) ||
                     (gb->response_b && gb->response_b->simulated);
    res->weight = 1.0;
}

static void finish_job(struct judge_job *job)
{
    struct judge *j = job->j;
    Arena__V1__BattleResult res;
    Arena__V1__Judgment jm[2], *jp[2];
    Arena__V1__Usage usage[2];
    result_init(j, job->gb, &res);
    bool ok = job->order[0].parsed && job->order[1].parsed;
    for (int i = 0; i < 2; i++) {
        struct judge_order *o = &job->order[i];
        arena__v1__judgment__init(&jm[i]);
        arena__v1__usage__init(&usage[i]);
        jm[i].order = i == 0 ? ARENA__V1__JUDGE_ORDER__JUDGE_ORDER_AB
                             : ARENA__V1__JUDGE_ORDER__JUDGE_ORDER_BA;
        if (o->parsed) {
            /* verdict scores are positional: un-swap them into per-model scores */
            jm[i].score_a = i == 0 ? o->v.score_first : o->v.score_second;
            jm[i].score_b = i == 0 ? o->v.score_second : o->v.score_first;
            jm[i].verdict = o->v.label;
        }
        jm[i].raw_output = o->raw ? o->raw : "";
        jm[i].parsed = o->parsed;
        jm[i].error = o->error ? o->error : "";
        usage[i].prompt_tokens = o->prompt_tokens;
        usage[i].completion_tokens = o->completion_tokens;
        usage[i].total_tokens = o->prompt_tokens + o->completion_tokens;
        jm[i].usage = &usage[i];
        jm[i].latency_ms = o->latency_ms;
        jm[i].simulated = o->simulated;
        jp[i] = &jm[i];
    }
    res.n_judgments = 2;
    res.judgments = jp;
    char err[400] = "";
    if (ok) {
        struct judge_combined c;
        judge_combine(&j->combine, &job->order[0].v, &job->order[1].v, &c);
        res.outcome = c.outcome;
        res.score_a = c.score_a;
        res.score_b = c.score_b;
        res.weight = c.weight;
        j->judged++;
        j->disagreements += c.disagree ? 1 : 0;
        j->sum_first += c.first_position_mean;
        j->sum_second += c.second_position_mean;
        res.simulated = res.simulated || job->order[0].simulated || job->order[1].simulated;
    } else {
        res.outcome = ARENA__V1__OUTCOME__OUTCOME_JUDGE_ERROR;
        res.weight = 0;
        /* name the real cause: a judge call that failed (no output) is not a parse error */
        const struct judge_order *bad = !job->order[0].parsed ? &job->order[0] : &job->order[1];
        snprintf(err, sizeof(err), "%s (order %s): %s",
                 bad->raw ? "judge output unparseable" : "judge call failed",
                 bad->idx == 0 ? "AB" : "BA", bad->error ? bad->error : "?");
        res.error = err;
        j->judge_errors++;
        ARENA_WARN("event=judge_error battle_id=%s err=\"%s\"", res.battle_id, err);
    }
    emit_result(j, job, &res);
    judge_job_free(job);
}

static void submit_order(struct judge_order *o);

static void on_judgment(void *opaque, const struct arena_llm_response *lr)
{
    struct judge_order *o = opaque;
    struct judge_job *job = o->job;
    struct judge *j = job->j;
    o->attempts++;
    o->latency_ms += lr->latency_ms;
    o->prompt_tokens += lr->prompt_tokens;
    o->completion_tokens += lr->completion_tokens;
    o->simulated = lr->simulated;
    free(o->raw);
    free(o->error);
    o->raw = NULL;
    o->error = NULL;
    if (lr->err != ARENA_ERR_OK) {
        o->error = arena_xasprintf("judge model %s: %s", j->model,
                                   lr->error ? lr->error : arena_err_str(lr->err));
    } else {
        o->raw = arena_xstrdup(lr->content ? lr->content : "");
        memset(&o->v, 0, sizeof(o->v));
        if (judge_parse(judge_template_kind(j->tpl), o->raw, &o->v) == ARENA_ERR_OK) {
            o->parsed = true;
        } else {
            o->error = arena_xstrdup(o->v.error[0] ? o->v.error : "unparseable judge output");
            if (o->attempts <= j->parse_retries) {
                j->parse_retried++;
                submit_order(o);
                return;
            }
        }
    }
    o->done = true;
    if (--job->pending == 0) {
        finish_job(job);
    }
}

static void submit_order(struct judge_order *o)
{
    struct judge_job *job = o->job;
    struct judge *j = job->j;
    struct arena_llm_message msgs[2] = {
        {.role = "system", .content = job->system[o->idx]},
        {.role = "user", .content = job->user[o->idx]},
    };
    /* the seed makes a sim judge deterministic per battle, order and attempt */
    uint64_t seed = arena_hash64(job->gb->request->battle_id, strlen(job->gb->request->battle_id),
                                 (uint64_t)(o->idx * 1000 + o->attempts));
    struct arena_llm_request rq = {
        .messages = msgs,
        .n_messages = 2,
        .temperature = -1,
        .max_tokens = 0,
        .seed = seed,
        .prompt_id = NULL,
    };
    arena_err_t err = arena_llm_submit(j->llm, j->model, &rq, on_judgment, o);
    if (err != ARENA_ERR_OK) {
        /* cannot happen once the model was checked at start-up; keep the battle visible */
        struct arena_llm_response fail = {.err = err, .error = "judge model not configured"};
        o->attempts = j->parse_retries + 1;
        on_judgment(o, &fail);
    }
}

static arena_err_t handle(void *ctx, struct arena_worker_job *wj, const struct arena_msg *m,
                          char *errstr, size_t errstr_size)
{
    struct judge *j = ctx;
    Arena__V1__GeneratedBattle *gb = NULL;
    arena_err_t err =
        arena_codec_decode(&arena__v1__generated_battle__descriptor, m->value, m->value_len,
                           m->message_type, (ProtobufCMessage **)&gb, errstr, errstr_size);
    if (err != ARENA_ERR_OK) {
        return err;
    }
    struct judge_job *job = arena_xcalloc(1, sizeof(*job));
    job->j = j;
    job->wj = wj;
    job->gb = gb;
    arena_worker_job_set_data(wj, job);
    const Arena__V1__BattleRequest *rq = gb->request;

    char *cached = NULL;
    size_t cached_len = 0;
    if (arena_store_get(j->store, CF_JUDGMENTS, rq->battle_id, strlen(rq->battle_id), &cached,
                        &cached_len) == ARENA_ERR_OK) {
        j->cache_hits++;
        arena_metric_inc(j->m_hit);
        arena_worker_emit(j->worker, wj, rq->prompt_id, strlen(rq->prompt_id), cached, cached_len);
        free(cached);
        judge_job_free(job);
        return ARENA_ERR_OK;
    }
    arena_metric_inc(j->m_miss);

    const Arena__V1__Response *ra = gb->response_a, *rb = gb->response_b;
    const char *gen_err = NULL;
    if (ra->error && *ra->error) {
        gen_err = ra->error;
    } else if (rb->error && *rb->error) {
        gen_err = rb->error;
    }
    if (gen_err) {
        Arena__V1__BattleResult res;
        result_init(j, gb, &res);
        res.outcome = ARENA__V1__OUTCOME__OUTCOME_GENERATION_ERROR;
        res.weight = 0;
        res.error = (char *)gen_err;
        j->generation_errors++;
        emit_result(j, job, &res);
        judge_job_free(job);
        return ARENA_ERR_OK;
    }
    char *question =
        judge_render_question((const Arena__V1__ChatMessage *const *)rq->messages, rq->n_messages);
    judge_template_render(j->tpl, question, ra->content, rb->content, &job->system[0],
                          &job->user[0]);
    judge_template_render(j->tpl, question, rb->content, ra->content, &job->system[1],
                          &job->user[1]);
    free(question);
    job->pending = 2;
    for (int i = 0; i < 2; i++) {
        job->order[i].job = job;
        job->order[i].idx = i;
    }
    submit_order(&job->order[0]);
    submit_order(&job->order[1]);
    return ARENA_ERR_OK;
}

static void poll_llm(void *ctx, int timeout_ms)
{
    struct judge *j = ctx;
    arena_llm_poll(j->llm, timeout_ms);
    if (j->judged > 0) {
        arena_metric_set(j->m_disagree, (double)j->disagreements / (double)j->judged);
        arena_metric_set(j->m_first, j->sum_first / (double)j->judged);
        arena_metric_set(j->m_second, j->sum_second / (double)j->judged);
    }
}

static void status(void *ctx, json_t *obj)
{
    struct judge *j = ctx;
    json_t *pb = json_object();
    double n = j->judged ? (double)j->judged : 1.0;
    json_object_set_new(obj, "judge_model", json_string(j->model));
    json_object_set_new(obj, "template", json_string(judge_template_name(j->tpl)));
    json_object_set_new(obj, "judged", json_integer((json_int_t)j->judged));
    json_object_set_new(obj, "judge_errors", json_integer((json_int_t)j->judge_errors));
    json_object_set_new(obj, "generation_errors", json_integer((json_int_t)j->generation_errors));
    json_object_set_new(obj, "cache_hits", json_integer((json_int_t)j->cache_hits));
    json_object_set_new(obj, "parse_retries", json_integer((json_int_t)j->parse_retried));
    json_object_set_new(pb, "disagreement_ratio", json_real((double)j->disagreements / n));
    json_object_set_new(pb, "mean_score_first", json_real(j->sum_first / n));
    json_object_set_new(pb, "mean_score_second", json_real(j->sum_second / n));
    json_object_set_new(obj, "position_bias", pb);
}

struct judge *judge_new(struct arena_service *svc, char *errstr, size_t errstr_size)
{
    const struct arena_config *cfg = svc->cfg;
    struct judge *j = arena_xcalloc(1, sizeof(*j));
    j->svc = svc;
    j->model = cfg->judge.model;
    j->parse_retries = (int)cfg->judge.parse_retries;
    if (!j->model || !*j->model || !arena_config_model(cfg, j->model)) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "judge.model: '%s' is not one of the configured models",
                      j->model ? j->model : "");
        judge_destroy(j);
        return NULL;
    }
    j->tpl = judge_template_load(cfg->judge.template, errstr, errstr_size);
    if (!j->tpl) {
        judge_destroy(j);
        return NULL;
    }
    j->combine.kind = judge_template_kind(j->tpl);
    j->combine.tie_margin = cfg->judge.tie_margin;
    if (judge_combine_policy_parse(cfg->judge.combine, &j->combine.policy) != ARENA_ERR_OK) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "judge.combine: expected 'average' or 'strict', got '%s'",
                      cfg->judge.combine);
        judge_destroy(j);
        return NULL;
    }
    j->store = arena_store_open(svc->svc->state_dir, judge_cfs, 1, errstr, errstr_size);
    if (!j->store) {
        judge_destroy(j);
        return NULL;
    }
    j->llm = arena_llm_pool_new(cfg, svc->metrics, errstr, errstr_size);
    if (!j->llm) {
        judge_destroy(j);
        return NULL;
    }
    for (unsigned o = 1; o < 6; o++) {
        char lbl[64];
        snprintf(lbl, sizeof(lbl), "outcome=\"%s\"", outcome_label((Arena__V1__Outcome)o));
        j->m_outcome[o] =
            arena_metrics_counter(svc->metrics, "arena_battles_total", "Battles judged", lbl);
    }
    j->m_hit = arena_metrics_counter(svc->metrics, "arena_cache_requests_total", "Cache lookups",
                                     "cache=\"judgment\",result=\"hit\"");
    j->m_miss = arena_metrics_counter(svc->metrics, "arena_cache_requests_total", "Cache lookups",
                                      "cache=\"judgment\",result=\"miss\"");
    j->m_disagree = arena_metrics_gauge(svc->metrics, "arena_judge_position_disagreement_ratio",
                                        "Share of battles whose two orders disagree", "");
    j->m_first = arena_metrics_gauge(svc->metrics, "arena_judge_position_mean_score",
                                     "Mean score given by position", "position=\"first\"");
    j->m_second = arena_metrics_gauge(svc->metrics, "arena_judge_position_mean_score",
                                      "Mean score given by position", "position=\"second\"");
    struct arena_worker_opts wo = {
        .svc = svc,
        .in_topic = ARENA_TOPIC_GENERATED,
        .out_topic = ARENA_TOPIC_RESULTS,
        .out_message_type = "arena.v1.BattleResult",
        .max_in_flight = cfg->judge.max_in_flight,
        .ops = {.handle = handle, .poll = poll_llm, .status = status},
        .ctx = j,
    };
    j->worker = arena_worker_new(&wo, errstr, errstr_size);
    if (!j->worker) {
        judge_destroy(j);
        return NULL;
    }
    return j;
}

int judge_run(struct judge *j)
{
    return arena_worker_run(j->worker);
}

void judge_destroy(struct judge *j)
{
    if (!j) {
        return;
    }
    arena_worker_destroy(j->worker);
    arena_llm_pool_destroy(j->llm);
    arena_store_close(j->store);
    judge_template_destroy(j->tpl);
    free(j);
}
