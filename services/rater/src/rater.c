/* rater.c - the rater loop: poll a batch of BattleResults -> de-duplicate by battle_id ->
 * one WriteBatch (battle log + ids + offsets) -> apply to the in-memory engine -> refit and
 * publish periodically. */
#include "rater.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "arena/codec.h"
#include "arena/leaderboard_fmt.h"
#include "arena/log.h"
#include "arena/store.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "rater_engine.h"
#include "rater_web.h"

enum { CF_IDS = 0, CF_LOG = 1, CF_META = 2 };
static const char *const rater_cfs[] = {"ids", "log", "meta"};

/* one battle as logged: outcome, weight, then "model_a\0model_b\0" */
struct rater_rec_hdr {
    uint8_t outcome; /* enum rater_outcome */
    uint8_t pad[7];
    double weight;
};

struct rater {
    struct arena_service *svc;
    struct arena_store *store;
    struct arena_consumer *consumer;
    struct arena_producer *producer;
    struct rater_battles *battles;
    struct rater_elo *elo;
    struct rater_opts opts;
    char *anchor_model;
    uint64_t seq; /* battles seen (rated + skipped), = next log sequence */
    uint64_t rated, skipped, duplicates;
    uint64_t published_at_rated;
    int64_t last_publish_ms;
    struct arena_batch *batch;
    /* battle ids written in the current batch (duplicates inside one batch) */
    char (*batch_ids)[33];
    size_t n_batch_ids, cap_batch_ids;
    pthread_mutex_t snap_lock;
    char *snapshot_json;              /* /leaderboard.json */
    Arena__V1__Leaderboard *last;     /* last published (owned, built by us) */
    char *page_html;                  /* / (rater_web.h), under snap_lock */
    char *pairs_json;                 /* /pairs.json, under snap_lock */
    struct rater_web_history history; /* (time, battles) at each publish; loop thread only */
    void *last_lb_buf;                /* the last published Leaderboard, packed */
    size_t last_lb_len;
    int64_t last_history_ms; /* mono time of the last history point */
    /* rating feed (rater.publish): ZeroMQ PUB, frames "ratings.<name>" + leaderboard JSON */
    void *feed_zctx, *feed_sock;
    char feed_endpoint[256]; /* the bound endpoint (port resolved) */
    char *feed_topic;        /* "ratings.<name>" */
    char *feed_body;         /* the last publication, compact JSON (re-sent while idle) */
    uint64_t feed_sent, feed_dropped;
    struct arena_metric *m_feed_sent, *m_feed_dropped;
    struct arena_metric *m_consumed, *m_dup, *m_lag, *m_fit, *m_store, *m_outcome[6];
};

static const char *outcome_label(unsigned o)
{
    static const char *const names[] = {"unspecified", "model_a",     "model_b",
                                        "tie",         "judge_error", "generation_error"};
    return o < 6 ? names[o] : "unspecified";
}

static void apply(struct rater *r, const char *a, const char *b, enum rater_outcome o, double w)
{
    rater_battles_add(r->battles, a, b, o, w);
    rater_elo_update(r->elo, a, b, o);
}

/* Rebuild the engine from the battle log (in order, so online Elo is reproduced exactly). */
static void replay_log(struct rater *r)
{
    struct arena_store_iter *it = arena_store_iter_new(r->store, CF_LOG, NULL, 0);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t len;
        const char *v = arena_store_iter_value(it, &len);
        struct rater_rec_hdr h;
        if (len < sizeof(h) + 4) {
            continue;
        }
        memcpy(&h, v, sizeof(h));
        const char *a = v + sizeof(h);
        const char *b = a + strnlen(a, len - sizeof(h)) + 1;
        if (b >= v + len) {
            continue;
        }
        apply(r, a, b, (enum rater_outcome)h.outcome, h.weight);
    }
    arena_store_iter_destroy(it);
    r->seq = arena_store_get_u64(r->store, CF_META, "seq");
    r->rated = arena_store_get_u64(r->store, CF_META, "rated");
    r->skipped = arena_store_get_u64(r->store, CF_META, "skipped");
    r->duplicates = arena_store_get_u64(r->store, CF_META, "duplicates");
}

/* The web page and the pairwise matrix of a leaderboard being published (loop thread): pair
 * counts from the engine, models in leaderboard order (the best RATER_WEB_PAIRS_MAX). */
#define RATER_WEB_PAIRS_MAX 64
#define RATER_WEB_REFRESH_S 5
#define RATER_WEB_HISTORY_GAP_MS 2000 /* history points at least this far apart */
#define RATER_WEB_IDLE_MS 5000        /* a history point (and a new page) at least this often */
static void build_web(struct rater *r, const Arena__V1__Leaderboard *lb, char **page,
                      char **pairs_json)
{
    size_t n = lb->n_rows < RATER_WEB_PAIRS_MAX ? lb->n_rows : RATER_WEB_PAIRS_MAX;
    const char **names = arena_xcalloc(n + 1, sizeof(*names));
    for (size_t i = 0; i < n; i++) {
        names[i] = lb->rows[i]->model;
    }
    struct rater_web_pairs pairs;
    rater_web_pairs_init(&pairs, n, names);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            uint64_t wi, wj, ties;
            rater_battles_pair_counts(r->battles, names[i], names[j], &wi, &wj, &ties);
            rater_web_pairs_set(&pairs, i, j, wi, wj, ties);
        }
    }
    struct rater_web_page pg = {
        .lb = lb, .pairs = &pairs, .history = &r->history, .refresh_s = RATER_WEB_REFRESH_S};
    struct arena_buf b;
    arena_buf_init(&b);
    rater_web_render(&pg, &b);
    *page = arena_buf_steal(&b, NULL);
    arena_buf_fini(&b);
    json_t *js = rater_web_pairs_to_json(&pairs);
    *pairs_json = json_dumps(js, JSON_COMPACT);
    json_decref(js);
    rater_web_pairs_fini(&pairs);
    free(names);
}

/* The rating feed: a PUB socket with a small high-water mark (only the latest publication
 * matters) and no linger; a send never blocks the loop (ZMQ_DONTWAIT: a full queue drops). */
#define RATER_FEED_SNDHWM 100
static arena_err_t feed_open(struct rater *r, const char *endpoint, char *errstr,
                             size_t errstr_size)
{
    int hwm = RATER_FEED_SNDHWM, linger = 0;
    size_t len = sizeof(r->feed_endpoint);
    r->feed_zctx = zmq_ctx_new();
    if (!r->feed_zctx) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "rater.publish: zmq_ctx_new: %s",
                             zmq_strerror(errno));
    }
    r->feed_sock = zmq_socket(r->feed_zctx, ZMQ_PUB);
    if (!r->feed_sock) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ,
                             "rater.publish: zmq_socket(PUB): %s", zmq_strerror(errno));
    }
    zmq_setsockopt(r->feed_sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(r->feed_sock, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_bind(r->feed_sock, endpoint) != 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ,
                             "rater.publish: cannot bind '%s': %s", endpoint, zmq_strerror(errno));
    }
    if (zmq_getsockopt(r->feed_sock, ZMQ_LAST_ENDPOINT, r->feed_endpoint, &len) != 0) {
        snprintf(r->feed_endpoint, sizeof(r->feed_endpoint), "%s", endpoint);
    }
    r->feed_topic = arena_xasprintf("ratings.%s", r->svc->cfg->rater.name);
    ARENA_INFO("event=feed_bound endpoint=%s topic=%s", r->feed_endpoint, r->feed_topic);
    return ARENA_ERR_OK;
}

static void feed_send(struct rater *r)
{
    if (!r->feed_sock || !r->feed_body) {
        return;
    }
    size_t tlen = strlen(r->feed_topic), blen = strlen(r->feed_body);
    if (zmq_send(r->feed_sock, r->feed_topic, tlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) != (int)tlen ||
        zmq_send(r->feed_sock, r->feed_body, blen, ZMQ_DONTWAIT) != (int)blen) {
        /* a PUB socket drops at its high-water mark instead of blocking; count whatever fails */
        r->feed_dropped++;
        arena_metric_inc(r->m_feed_dropped);
        ARENA_DEBUG("event=feed_dropped err=\"%s\"", zmq_strerror(errno));
        return;
    }
    r->feed_sent++;
    arena_metric_inc(r->m_feed_sent);
}

static void feed_close(struct rater *r)
{
    if (r->feed_sock) {
        zmq_close(r->feed_sock);
    }
    if (r->feed_zctx) {
        zmq_ctx_term(r->feed_zctx);
    }
    r->feed_sock = r->feed_zctx = NULL;
    free(r->feed_topic);
    free(r->feed_body);
    r->feed_topic = r->feed_body = NULL;
}

static void publish(struct rater *r)
{
    struct rater_table t;
    char errstr[256];
    int64_t t0 = arena_mono_ms();
    if (rater_compute(r->battles, &r->opts, &t, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        arena_service_error(r->svc, "rating fit failed: %s", errstr);
        return;
    }
    arena_metric_observe(r->m_fit, (double)(arena_mono_ms() - t0) / 1000.0);
    Arena__V1__Leaderboard lb = ARENA__V1__LEADERBOARD__INIT;
    Arena__V1__RatingRow *rows = arena_xcalloc(t.n + 1, sizeof(*rows));
    Arena__V1__RatingRow **rowp = arena_xcalloc(t.n + 1, sizeof(*rowp));
    for (size_t i = 0; i < t.n; i++) {
        const struct rater_row *s = &t.rows[i];
        arena__v1__rating_row__init(&rows[i]);
        rows[i].model = s->model;
        rows[i].rating = s->rating;
        rows[i].ci_low = s->ci_low;
        rows[i].ci_high = s->ci_high;
        rows[i].rank = s->rank;
        rows[i].games = s->games;
        rows[i].wins = s->wins;
        rows[i].losses = s->losses;
        rows[i].ties = s->ties;
        rows[i].elo_online = rater_elo_rating(r->elo, s->model);
        rowp[i] = &rows[i];
        char lbl[256], esc[200];
        snprintf(lbl, sizeof(lbl), "model=\"%s\"", arena_metrics_label(s->model, esc, sizeof(esc)));
        arena_metric_set(arena_metrics_gauge(r->svc->metrics, "arena_rating",
                                             "Current Bradley-Terry rating", lbl),
                         s->rating);
    }
    lb.name = r->svc->cfg->rater.name;
    lb.method = (char *)r->opts.method;
    lb.battles = r->rated;
    lb.n_rows = t.n;
    lb.rows = rowp;
    lb.bootstrap_rounds = (uint32_t)r->opts.bootstrap;
    lb.seed = r->opts.seed;
    lb.anchor_model = r->anchor_model ? r->anchor_model : "";
    lb.anchor_rating = r->opts.anchor_rating;
    lb.skipped = r->skipped;
    lb.duplicates = r->duplicates;
    lb.updated_at_ms = arena_now_ms();
    size_t len;
    void *buf = arena_codec_encode(&lb.base, &len);
    arena_err_t err =
        arena_producer_send(r->producer, ARENA_TOPIC_RATINGS, -1, lb.name, strlen(lb.name), buf,
                            len, "arena.v1.Leaderboard", NULL, NULL);
    if (err != ARENA_ERR_OK) {
        ARENA_WARN("event=publish_failed err=\"%s\"", arena_err_str(err));
    }
    json_t *js = arena_leaderboard_to_json(&lb);
    char *text = json_dumps(js, JSON_INDENT(2));
    if (r->feed_sock) {
        free(r->feed_body);
        r->feed_body = json_dumps(js, JSON_COMPACT);
        feed_send(r);
    }
    json_decref(js);
    rater_web_history_note(&r->history, lb.updated_at_ms, r->rated, RATER_WEB_HISTORY_GAP_MS);
    r->last_history_ms = arena_mono_ms();
    char *page = NULL, *pairs = NULL;
    build_web(r, &lb, &page, &pairs);
    pthread_mutex_lock(&r->snap_lock);
    free(r->snapshot_json);
    r->snapshot_json = text;
    free(r->page_html);
    r->page_html = page;
    free(r->pairs_json);
    r->pairs_json = pairs;
    pthread_mutex_unlock(&r->snap_lock);
    free(r->last_lb_buf);
    r->last_lb_buf = buf; /* kept to redraw the page while idle */
    r->last_lb_len = len;
    free(rows);
    free(rowp);
    rater_table_fini(&t);
    r->published_at_rated = r->rated;
    r->last_publish_ms = arena_mono_ms();
    ARENA_DEBUG("event=published battles=%llu models=%zu", (unsigned long long)r->rated, t.n);
}

static int http_leaderboard(void *ctx, const char *path, const char *query, struct arena_buf *body,
                            const char **content_type)
{
    struct rater *r = ctx;
    (void)path;
    (void)query;
    *content_type = "application/json";
    pthread_mutex_lock(&r->snap_lock);
    if (r->snapshot_json) {
        arena_buf_puts(body, r->snapshot_json);
    } else {
        arena_buf_puts(body, "{\"battles\":0,\"models\":[]}");
    }
    pthread_mutex_unlock(&r->snap_lock);
    arena_buf_puts(body, "\n");
    return 200;
}

/* No publish for a while: add a history point and redraw the page (battles-over-time goes on,
 * flat) from the last published leaderboard. */
static void web_idle_tick(struct rater *r)
{
    rater_web_history_note(&r->history, arena_now_ms(), r->rated, RATER_WEB_HISTORY_GAP_MS);
    r->last_history_ms = arena_mono_ms();
    feed_send(r); /* the latest ratings again, for a subscriber that joined since */
    if (!r->last_lb_buf) {
        return;
    }
    Arena__V1__Leaderboard *lb =
        arena__v1__leaderboard__unpack(NULL, r->last_lb_len, r->last_lb_buf);
    if (!lb) {
        return; /* cannot happen: we packed it */
    }
    char *page = NULL, *pairs = NULL;
    build_web(r, lb, &page, &pairs);
    arena__v1__leaderboard__free_unpacked(lb, NULL);
    pthread_mutex_lock(&r->snap_lock);
    free(r->page_html);
    r->page_html = page;
    free(r->pairs_json);
    r->pairs_json = pairs;
    pthread_mutex_unlock(&r->snap_lock);
}

/* / : the HTML page (rater_web.h), rendered at publish time */
static int http_page(void *ctx, const char *path, const char *query, struct arena_buf *body,
                     const char **content_type)
{
    struct rater *r = ctx;
    (void)path;
    (void)query;
    *content_type = "text/html; charset=utf-8";
    pthread_mutex_lock(&r->snap_lock);
    if (r->page_html) {
        arena_buf_puts(body, r->page_html);
    }
    pthread_mutex_unlock(&r->snap_lock);
    if (body->len == 0) {
        struct rater_web_page pg = {.refresh_s = RATER_WEB_REFRESH_S};
        rater_web_render(&pg, body);
    }
    return 200;
}

/* /pairs.json : pairwise win rates and counts, models in leaderboard order */
static int http_pairs(void *ctx, const char *path, const char *query, struct arena_buf *body,
                      const char **content_type)
{
    struct rater *r = ctx;
    (void)path;
    (void)query;
    *content_type = "application/json";
    pthread_mutex_lock(&r->snap_lock);
    arena_buf_puts(body, r->pairs_json ? r->pairs_json
                                       : "{\"models\":[],\"win_rate\":[],\"games\":[],"
                                         "\"wins\":[],\"ties\":[]}");
    pthread_mutex_unlock(&r->snap_lock);
    arena_buf_puts(body, "\n");
    return 200;
}

static bool batch_seen(struct rater *r, const char *id)
{
    for (size_t i = 0; i < r->n_batch_ids; i++) {
        if (!strcmp(r->batch_ids[i], id)) {
            return true;
        }
    }
    return false;
}

static void batch_remember(struct rater *r, const char *id)
{
    if (r->n_batch_ids == r->cap_batch_ids) {
        r->cap_batch_ids = r->cap_batch_ids ? r->cap_batch_ids * 2 : 256;
        r->batch_ids = arena_xrealloc(r->batch_ids, r->cap_batch_ids * sizeof(*r->batch_ids));
    }
    snprintf(r->batch_ids[r->n_batch_ids++], 33, "%s", id);
}

/* pending in-memory applications of the current batch (after the write succeeds) */
struct pending {
    char *a, *b;
    enum rater_outcome o;
    double w;
};

static void handle_batch(struct rater *r)
{
    int64_t max = r->svc->svc->batch_size > 0 ? r->svc->svc->batch_size : 500;
    struct pending *pend = NULL;
    size_t n_pend = 0;
    uint64_t seq = r->seq, rated = r->rated, skipped = r->skipped, dups = r->duplicates;
    unsigned outcome_count[6] = {0};
    int n = 0, dead_lettered = 0;
    arena_batch_clear(r->batch);
    r->n_batch_ids = 0;
    int wait = 100;
    while (n < max) {
        struct arena_msg *m = arena_consumer_poll(r->consumer, wait);
        if (!m) {
            break;
        }
        wait = 0;
        n++;
        arena_metric_inc(r->m_consumed);
        arena_batch_set_offset(r->batch, m->topic, m->partition, m->offset + 1);
        Arena__V1__BattleResult *res = NULL;
        char errstr[256];
        arena_err_t err =
            arena_codec_decode(&arena__v1__battle_result__descriptor, m->value, m->value_len,
                               m->message_type, (ProtobufCMessage **)&res, errstr, sizeof(errstr));
        if (err != ARENA_ERR_OK) {
            arena_service_dlq(r->svc, r->producer, m, err, errstr);
            dead_lettered++;
            arena_msg_destroy(m);
            continue;
        }
        const char *id = res->battle_id;
        if (batch_seen(r, id) || arena_store_exists(r->store, CF_IDS, id, strlen(id))) {
            dups++;
            arena_metric_inc(r->m_dup);
        } else {
            uint8_t key[8];
            arena_be64(seq, key);
            arena_batch_put(r->batch, CF_IDS, id, strlen(id), key, 8);
            batch_remember(r, id);
            seq++;
            if ((unsigned)res->outcome < 6) {
                outcome_count[res->outcome]++;
            }
            enum rater_outcome o;
            bool rate = true;
            switch (res->outcome) {
            case ARENA__V1__OUTCOME__OUTCOME_MODEL_A:
                o = RATER_A_WINS;
                break;
            case ARENA__V1__OUTCOME__OUTCOME_MODEL_B:
                o = RATER_B_WINS;
                break;
            case ARENA__V1__OUTCOME__OUTCOME_TIE:
                o = RATER_TIE;
                break;
            default:
                o = RATER_TIE;
                rate = false;
                break;
            }
            if (rate) {
                size_t la = strlen(res->model_a), lb = strlen(res->model_b);
                struct rater_rec_hdr h = {.outcome = (uint8_t)o, .weight = res->weight};
                size_t vlen = sizeof(h) + la + lb + 2;
                char *v = arena_xmalloc(vlen);
                memcpy(v, &h, sizeof(h));
                memcpy(v + sizeof(h), res->model_a, la + 1);
                memcpy(v + sizeof(h) + la + 1, res->model_b, lb + 1);
                arena_batch_put(r->batch, CF_LOG, key, 8, v, vlen);
                free(v);
                pend = arena_xrealloc(pend, (n_pend + 1) * sizeof(*pend));
                pend[n_pend].a = arena_xstrdup(res->model_a);
                pend[n_pend].b = arena_xstrdup(res->model_b);
                pend[n_pend].o = o;
                pend[n_pend].w = res->weight > 0 ? res->weight : 1.0;
                n_pend++;
                rated++;
            } else {
                skipped++;
            }
        }
        arena_codec_free((ProtobufCMessage *)res);
        arena_msg_destroy(m);
    }
    if (n == 0) {
        free(pend);
        return;
    }
    arena_batch_put_u64(r->batch, CF_META, "seq", seq);
    arena_batch_put_u64(r->batch, CF_META, "rated", rated);
    arena_batch_put_u64(r->batch, CF_META, "skipped", skipped);
    arena_batch_put_u64(r->batch, CF_META, "duplicates", dups);
    char errstr[256];
    if (dead_lettered > 0) {
        /* the offsets move past dead-lettered records only once the DLQ has them */
        arena_producer_flush(r->producer, 10000);
    }
    if (arena_store_write(r->store, r->batch, false, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        /* state and offsets were not written: nothing applied, stop so a restart replays */
        arena_service_error(r->svc, "state write failed: %s", errstr);
        arena_stop_requested = 1;
    } else {
        for (size_t i = 0; i < n_pend; i++) {
            apply(r, pend[i].a, pend[i].b, pend[i].o, pend[i].w);
        }
        r->seq = seq;
        r->rated = rated;
        r->skipped = skipped;
        r->duplicates = dups;
        for (unsigned o = 1; o < 6; o++) {
            if (outcome_count[o]) {
                arena_metric_add(r->m_outcome[o], outcome_count[o]);
            }
        }
    }
    for (size_t i = 0; i < n_pend; i++) {
        free(pend[i].a);
        free(pend[i].b);
    }
    free(pend);
}

static json_t *status_cb(void *ctx)
{
    struct rater *r = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "battles_seen", json_integer((json_int_t)r->seq));
    json_object_set_new(o, "rated", json_integer((json_int_t)r->rated));
    json_object_set_new(o, "skipped", json_integer((json_int_t)r->skipped));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)r->duplicates));
    json_object_set_new(o, "models", json_integer((json_int_t)rater_battles_models(r->battles)));
    json_object_set_new(o, "lag", json_integer(arena_consumer_lag(r->consumer)));
    json_object_set_new(o, "in_flight", json_integer(0));
    if (r->feed_sock) {
        json_t *f = json_object();
        json_object_set_new(f, "endpoint", json_string(r->feed_endpoint));
        json_object_set_new(f, "topic", json_string(r->feed_topic));
        json_object_set_new(f, "sent", json_integer((json_int_t)r->feed_sent));
        json_object_set_new(f, "dropped", json_integer((json_int_t)r->feed_dropped));
        json_object_set_new(o, "feed", f);
    }
    return o;
}

/* {"cmd":"battle_ids","path":FILE}: write every counted battle id, one per line (tests/audits) */
static json_t *ctl_battle_ids(void *ctx, const char *cmd, json_t *args)
{
    struct rater *r = ctx;
    (void)cmd;
    const char *path = json_string_value(json_object_get(args, "path"));
    json_t *reply = json_object();
    if (!path || !*path) {
        json_object_set_new(reply, "ok", json_false());
        json_object_set_new(reply, "error", json_string("missing \"path\""));
        return reply;
    }
    struct arena_buf b;
    arena_buf_init(&b);
    size_t n = 0;
    struct arena_store_iter *it = arena_store_iter_new(r->store, CF_IDS, NULL, 0);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t len;
        const char *k = arena_store_iter_key(it, &len);
        arena_buf_append(&b, k, len);
        arena_buf_puts(&b, "\n");
        n++;
    }
    arena_store_iter_destroy(it);
    char errstr[256];
    int rc = arena_write_file_atomic(path, b.data ? b.data : "", b.len, errstr, sizeof(errstr));
    arena_buf_fini(&b);
    json_object_set_new(reply, "ok", json_boolean(rc == 0));
    if (rc != 0) {
        json_object_set_new(reply, "error", json_string(errstr));
    }
    json_object_set_new(reply, "count", json_integer((json_int_t)n));
    return reply;
}

struct rater *rater_new(struct arena_service *svc, char *errstr, size_t errstr_size)
{
    const struct arena_config *cfg = svc->cfg;
    struct rater *r = arena_xcalloc(1, sizeof(*r));
    r->svc = svc;
    pthread_mutex_init(&r->snap_lock, NULL);
    rater_web_history_init(&r->history, RATER_WEB_HISTORY_DEFAULT);
    rater_opts_default(&r->opts);
    r->opts.method = cfg->rater.method;
    r->opts.bootstrap = (int)cfg->rater.bootstrap;
    r->opts.seed = cfg->rater.seed;
    r->opts.threads = (int)cfg->rater.threads;
    r->opts.elo_k = cfg->rater.elo_k;
    if (cfg->rater.anchor && *cfg->rater.anchor) {
        const char *eq = strrchr(cfg->rater.anchor, '=');
        char *end = NULL;
        double v = eq ? strtod(eq + 1, &end) : 0;
        if (!eq || eq == cfg->rater.anchor || !end || *end) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "rater.anchor: expected MODEL=RATING, got '%s'", cfg->rater.anchor);
            rater_destroy(r);
            return NULL;
        }
        r->anchor_model = arena_xstrndup(cfg->rater.anchor, (size_t)(eq - cfg->rater.anchor));
        r->opts.anchor_model = r->anchor_model;
        r->opts.anchor_rating = v;
    }
    r->battles = rater_battles_new();
    r->elo = rater_elo_new(r->opts.elo_k, r->opts.elo_scale, r->opts.elo_base, r->opts.elo_init);
    r->batch = arena_batch_new();
    r->store = arena_store_open(svc->svc->state_dir, rater_cfs, 3, errstr, errstr_size);
    if (!r->store) {
        rater_destroy(r);
        return NULL;
    }
    replay_log(r);
    r->producer = arena_producer_new(cfg, "rater", errstr, errstr_size);
    if (!r->producer) {
        rater_destroy(r);
        return NULL;
    }
    const char *topics[] = {ARENA_TOPIC_RESULTS, NULL};
    struct arena_consumer_opts co = {
        .mode = ARENA_CONSUMER_ASSIGN_ALL,
        .group_id = svc->svc->group_id,
        .topics = topics,
        .offsets = arena_store_offset_provider,
        .ctx = r->store,
        .client_id = "rater",
    };
    r->consumer = arena_consumer_new(cfg, &co, errstr, errstr_size);
    if (!r->consumer) {
        rater_destroy(r);
        return NULL;
    }
    char lbl[64];
    snprintf(lbl, sizeof(lbl), "topic=\"%s\"", ARENA_TOPIC_RESULTS);
    r->m_consumed = arena_metrics_counter(svc->metrics, "arena_messages_consumed_total",
                                          "Messages consumed", lbl);
    r->m_lag = arena_metrics_gauge(svc->metrics, "arena_consumer_lag_messages",
                                   "Messages behind the high watermark", lbl);
    r->m_dup = arena_metrics_counter(svc->metrics, "arena_battles_duplicate_total",
                                     "Replayed battle ids ignored", "");
    r->m_fit = arena_metrics_histogram(
        svc->metrics, "arena_rater_fit_duration_seconds", "Bradley-Terry fit with bootstrap", "",
        arena_metrics_latency_buckets, arena_metrics_latency_buckets_n);
    r->m_store =
        arena_metrics_gauge(svc->metrics, "arena_store_size_bytes", "RocksDB size on disk", "");
    for (unsigned o = 1; o < 6; o++) {
        snprintf(lbl, sizeof(lbl), "outcome=\"%s\"", outcome_label(o));
        r->m_outcome[o] = arena_metrics_counter(svc->metrics, "arena_battles_total",
                                                "Battles counted by the rater", lbl);
    }
    r->m_feed_sent = arena_metrics_counter(svc->metrics, "arena_rater_feed_messages_total",
                                           "Rating feed publications sent", "");
    r->m_feed_dropped =
        arena_metrics_counter(svc->metrics, "arena_rater_feed_dropped_total",
                              "Rating feed publications dropped (subscriber queue full)", "");
    if (cfg->rater.publish && *cfg->rater.publish &&
        feed_open(r, cfg->rater.publish, errstr, errstr_size) != ARENA_ERR_OK) {
        rater_destroy(r);
        return NULL;
    }
    if (svc->http) {
        arena_http_route(svc->http, "/leaderboard.json", http_leaderboard, r);
        arena_http_route(svc->http, "/", http_page, r);
        arena_http_route(svc->http, "/pairs.json", http_pairs, r);
    }
    if (svc->ctl) {
        arena_ctl_register(svc->ctl, "battle_ids", ctl_battle_ids, r);
    }
    svc->status_fn = status_cb;
    svc->status_ctx = r;
    return r;
}

int rater_run(struct rater *r)
{
    struct arena_service *svc = r->svc;
    const struct arena_config *cfg = svc->cfg;
    int64_t last_gauge = 0;
    rater_web_history_note(&r->history, arena_now_ms(), r->rated, RATER_WEB_HISTORY_GAP_MS);
    r->last_history_ms = arena_mono_ms();
    if (r->rated > 0) {
        publish(r);
    }
    arena_service_set_ready(svc, true);
    ARENA_INFO("event=started battles=%llu models=%zu", (unsigned long long)r->rated,
               rater_battles_models(r->battles));
    while (!arena_service_stopping(svc)) {
        arena_service_tick(svc);
        if (svc->paused) {
            arena_consumer_pause(r->consumer);
            while (svc->paused && !arena_service_stopping(svc)) {
                arena_service_tick(svc);
                arena_consumer_poll(r->consumer, 100);
            }
            arena_consumer_resume(r->consumer);
            continue;
        }
        handle_batch(r);
        arena_producer_poll(r->producer, 0);
        int64_t now = arena_mono_ms();
        uint64_t fresh = r->rated - r->published_at_rated;
        if (fresh > 0 && (fresh >= (uint64_t)cfg->rater.every_battles ||
                          now - r->last_publish_ms >= cfg->rater.every_ms)) {
            publish(r);
        }
        if (now - r->last_history_ms >= RATER_WEB_IDLE_MS) {
            web_idle_tick(r);
        }
        if (now - last_gauge >= 1000) {
            arena_metric_set(r->m_lag, (double)arena_consumer_lag(r->consumer));
            arena_metric_set(r->m_store, (double)arena_store_size(r->store));
            last_gauge = now;
        }
    }
    if (r->rated != r->published_at_rated) {
        publish(r);
    }
    arena_producer_flush(r->producer, 10000);
    ARENA_INFO("event=stopped rated=%llu skipped=%llu duplicates=%llu",
               (unsigned long long)r->rated, (unsigned long long)r->skipped,
               (unsigned long long)r->duplicates);
    return 0;
}

void rater_destroy(struct rater *r)
{
    if (!r) {
        return;
    }
    if (r->svc && r->svc->status_ctx == r) {
        r->svc->status_fn = NULL;
        r->svc->status_ctx = NULL;
    }
    feed_close(r);
    arena_consumer_destroy(r->consumer);
    arena_producer_destroy(r->producer);
    arena_store_close(r->store);
    arena_batch_destroy(r->batch);
    rater_battles_destroy(r->battles);
    rater_elo_destroy(r->elo);
    free(r->batch_ids);
    free(r->snapshot_json);
    free(r->page_html);
    free(r->pairs_json);
    free(r->last_lb_buf);
    rater_web_history_fini(&r->history);
    free(r->anchor_model);
    pthread_mutex_destroy(&r->snap_lock);
    free(r);
}
