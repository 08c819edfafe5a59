/* sampler.c - the sampler loop: ingest prompts through the data pipeline into the pool, track
 * battle completion, issue battles under the in-flight limit. See sampler.h. */
#include "sampler.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "arena/codec.h"
#include "arena/ctl.h"
#include "arena/llm.h"
#include "arena/log.h"
#include "arena/store.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "sampler_adaptive.h"
#include "sampler_difficulty.h"
#include "sampler_embed.h"
#include "sampler_evalset.h"
#include "sampler_ingest.h"
#include "sampler_kmeans.h"
#include "sampler_lang.h"
#include "sampler_match.h"
#include "sampler_pipeline.h"
#include "sampler_rounds.h"
#include "sampler_state.h"

/* CF evalmark: prompt_id -> "name@vN" of the eval set that claimed it (never issued for
 * training); CF evalsets: "d/name@vN" -> JSONL export, "i/name@vN" -> info JSON, "v/name" ->
 * latest version (u64); CF difficulty: "<model>/<prompt_id>" -> {"score":N} or
 * {"unscorable":"reason"}, the difficulty model's answers (a rebuild does not ask again) */
enum {
    CF_POOL = 0,
    CF_PROMPT_IDS = 1,
    CF_ISSUED = 2,
    CF_META = 3,
    CF_EVAL = 4,
    CF_MARK = 5,
    CF_SETS = 6,
    CF_DIFF = 7
};
static const char *const sampler_cfs[] = {"pool", "prompt_ids", "issued",   "meta",
                                          "eval", "evalmark",   "evalsets", "difficulty"};
#define N_SAMPLER_CFS 8
/* evalset build: scoring stops this long before the client's timeout, to answer in time */
#define EVALSET_REPLY_MARGIN_MS 3000
#define EVALSET_DEFAULT_TIMEOUT_MS (30 * 60 * 1000)

#define ISSUE_CHUNK_PROMPTS 64
#define MAX_PAIRS 256
/* adaptive mode: the subscriber keeps at most this many feed messages queued (only the latest
 * matters: the loop drains the queue and keeps the last one) */
#define FEED_RCVHWM 16
#define FEED_DRAIN_MAX 1000
#define META_RATINGS "ratings_feed" /* CF meta: the feed body the pairs are chosen from */

/* Prompts waiting for their pipeline decision: decided together by
 * sampler_pipeline_offer_batch(), in arrival order (flushed before any eval item is registered,
 * so the decisions are those of one offer per prompt). The messages are kept for their bytes. */
struct pending_prompts {
    Arena__V1__Prompt **prompts;
    struct arena_msg **msgs; /* NULL entries when rebuilding from the store */
    const char **ids, **texts;
    enum sampler_decision *decisions;
    char (*matches)[33];
    size_t n, cap;
};
#define PENDING_MAX 1024 /* rebuild: prompts per offer_batch call */

/* The prompt ids recorded (CF prompt_ids) by the WriteBatch being built: a repeat within one
 * poll is an exact duplicate as it is across polls, whatever sampler.batch_size. */
struct id_set {
    uint64_t *hash; /* open addressing, 0 = empty slot */
    char **id;
    size_t cap, n; /* cap a power of two, n <= cap / 2 */
};

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
    struct pending_prompts pend;
    struct id_set batch_ids;
    char (*done_ids)[33]; /* ids completed in the current batch */
    size_t n_done_ids, cap_done_ids;
    uint64_t decisions[SAMPLER_DECISION__COUNT];
    uint64_t eval_items; /* eval items ingested by this process (never training candidates) */
    struct arena_metric *m_issued, *m_inflight, *m_decision[SAMPLER_DECISION__COUNT], *m_consumed;
    struct arena_metric *m_eval_items;
    struct arena_metric *m_dup;
    /* rounds: sampler.rounds > 0 -> nothing is issued for training before `round start N`;
     * then the pool prompts of D_N (split by hash, or by order over round_total) */
    uint32_t n_rounds;
    enum sampler_rounds_split split;
    uint32_t round;                    /* current round (0 = none started) */
    uint64_t round_total;              /* pool size when the round started (order split) */
    uint64_t round_prompts;            /* prompts of the current round issued */
    uint64_t eval_marked;              /* pool prompts claimed by an eval set */
    struct sampler_embedder *embedder; /* openai backend (NULL = built-in TF-IDF) */
    /* adaptive mode: the rater's rating feed (ZeroMQ SUB) and the snapshot in use. The snapshot
     * is stored (CF meta) before any battle is issued from it, so a restart chooses the same
     * pairs for a prompt whose battles were sent but not yet recorded. */
    void *feed_zctx, *feed_sock;
    char *feed_topic; /* "ratings.<rater.name>" */
    char *feed_body;  /* the body of the snapshot in use (NULL = none yet: all pairs) */
    struct sampler_ratings ratings;
    struct sampler_adaptive_opts aopts;
    uint64_t feed_updates, feed_bad, feed_same;
    struct sampler_pair chosen[MAX_PAIRS];
    uint64_t pair_issued[MAX_PAIRS]; /* battles issued per candidate pair since start */
};

static uint64_t meta_get(struct sampler *s, const char *key)
{
    return arena_store_get_u64(s->store, CF_META, key);
}

static void meta_put(struct arena_batch *b, const char *key, uint64_t v)
{
    arena_batch_put_u64(b, CF_META, key, v);
}

/* The u64 counters of CF meta (stage_meta) */
static const char *const meta_counters[] = {"pool_size",     "cursor",     "issued", "done",
                                            "dropped",       "duplicates", "round",  "round_total",
                                            "round_prompts", "eval_marked"};

/* Counters and eval set versions are big-endian; an older store is converted once. */
static arena_err_t migrate_byte_order(struct sampler *s, char *errstr, size_t errstr_size)
{
    const struct sampler_state_layout l = {
        .cf_meta = CF_META,
        .counters = meta_counters,
        .n_counters = sizeof(meta_counters) / sizeof(meta_counters[0]),
        .cf_sets = CF_SETS,
    };
    size_t converted = 0;
    arena_err_t err = sampler_state_migrate_be(s->store, &l, &converted, errstr, errstr_size);
    if (err == ARENA_ERR_OK && converted > 0) {
        ARENA_INFO("event=state_migrated values=%zu byte_order=big-endian", converted);
    }
    return err;
}

static void stage_meta(struct sampler *s, struct arena_batch *b)
{
    const uint64_t v[] = {s->pool_size,     s->cursor,     s->issued, s->done,
                          s->dropped,       s->duplicates, s->round,  s->round_total,
                          s->round_prompts, s->eval_marked};
    _Static_assert(sizeof(v) / sizeof(v[0]) == sizeof(meta_counters) / sizeof(meta_counters[0]),
                   "one value per counter name");
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        meta_put(b, meta_counters[i], v[i]);
    }
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

static void pending_add(struct pending_prompts *q, Arena__V1__Prompt *p, struct arena_msg *m)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 256;
        q->prompts = arena_xrealloc(q->prompts, q->cap * sizeof(*q->prompts));
        q->msgs = arena_xrealloc(q->msgs, q->cap * sizeof(*q->msgs));
        q->ids = arena_xrealloc(q->ids, q->cap * sizeof(*q->ids));
        q->texts = arena_xrealloc(q->texts, q->cap * sizeof(*q->texts));
        q->decisions = arena_xrealloc(q->decisions, q->cap * sizeof(*q->decisions));
        q->matches = arena_xrealloc(q->matches, q->cap * sizeof(*q->matches));
    }
    q->prompts[q->n] = p;
    q->msgs[q->n] = m;
    q->ids[q->n] = p->prompt_id;
    q->texts[q->n] = instruction_of(p);
    q->n++;
}

static void pending_fini(struct pending_prompts *q)
{
    for (size_t i = 0; i < q->n; i++) {
        arena_codec_free((ProtobufCMessage *)q->prompts[i]);
        arena_msg_destroy(q->msgs[i]);
    }
    free(q->prompts);
    free(q->msgs);
    free(q->ids);
    free(q->texts);
    free(q->decisions);
    free(q->matches);
    memset(q, 0, sizeof(*q));
}

/* Decide the pending prompts. With a batch b (input), record each decision as on_prompt always
 * did: CF prompt_ids (decision, pool seq), CF pool for the accepted, counters; without (rebuild),
 * only the pipeline's indexes move. */
static void prompts_flush(struct sampler *s, struct arena_batch *b)
{
    struct pending_prompts *q = &s->pend;
    if (q->n == 0) {
        return;
    }
    sampler_pipeline_offer_batch(s->pipeline, q->ids, q->texts, q->n, q->decisions, q->matches);
    for (size_t i = 0; i < q->n; i++) {
        const char *id = q->ids[i];
        enum sampler_decision d = q->decisions[i];
        if (b != NULL) {
            s->decisions[d]++;
            arena_metric_inc(s->m_decision[d]);
            uint8_t rec[9];
            rec[0] = (uint8_t)d;
            arena_be64(s->pool_size, rec + 1);
            arena_batch_put(b, CF_PROMPT_IDS, id, strlen(id), rec, sizeof(rec));
            if (d == SAMPLER_ACCEPT) {
                uint8_t key[8];
                arena_be64(s->pool_size, key);
                arena_batch_put(b, CF_POOL, key, 8, q->msgs[i]->value, q->msgs[i]->value_len);
                s->pool_size++;
            } else {
                s->dropped++;
                ARENA_DEBUG("event=prompt_dropped prompt_id=%s reason=%s match=%s", id,
                            sampler_decision_name(d), q->matches[i]);
            }
        }
        arena_codec_free((ProtobufCMessage *)q->prompts[i]);
        arena_msg_destroy(q->msgs[i]);
    }
    q->n = 0;
}

static uint64_t id_hash(const char *id)
{
    uint64_t h = arena_hash64(id, strlen(id), 0x1d5e7);
    return h ? h : 1;
}

static bool id_set_has(const struct id_set *set, const char *id)
{
    uint64_t h = id_hash(id);
    for (size_t i = h & (set->cap - 1); set->cap && set->hash[i]; i = (i + 1) & (set->cap - 1)) {
        if (set->hash[i] == h && !strcmp(set->id[i], id)) {
            return true;
        }
    }
    return false;
}

static void id_set_add(struct id_set *set, const char *id)
{
    if (2 * (set->n + 1) > set->cap) {
        struct id_set old = *set;
        set->cap = old.cap ? 2 * old.cap : 1024;
        set->hash = arena_xcalloc(set->cap, sizeof(*set->hash));
        set->id = arena_xcalloc(set->cap, sizeof(*set->id));
        set->n = 0;
        for (size_t i = 0; i < old.cap; i++) {
            if (old.hash[i]) {
                size_t j = old.hash[i] & (set->cap - 1);
                while (set->hash[j]) {
                    j = (j + 1) & (set->cap - 1);
                }
                set->hash[j] = old.hash[i];
                set->id[j] = old.id[i];
                set->n++;
            }
        }
        free(old.hash);
        free(old.id);
    }
    uint64_t h = id_hash(id);
    size_t i = h & (set->cap - 1);
    while (set->hash[i]) {
        i = (i + 1) & (set->cap - 1);
    }
    set->hash[i] = h;
    set->id[i] = arena_xstrdup(id);
    set->n++;
}

static void id_set_clear(struct id_set *set)
{
    for (size_t i = 0; i < set->cap && set->n > 0; i++) {
        if (set->hash[i]) {
            free(set->id[i]);
            set->hash[i] = 0;
            set->n--;
        }
    }
}

static void id_set_fini(struct id_set *set)
{
    id_set_clear(set);
    free(set->hash);
    free(set->id);
}

/* Takes m: destroyed now or when the pending prompts are flushed. */
static void on_prompt(struct sampler *s, struct arena_msg *m, struct arena_batch *b)
{
    Arena__V1__Prompt *p = NULL;
    char errstr[256];
    arena_err_t err =
        arena_codec_decode(&arena__v1__prompt__descriptor, m->value, m->value_len, m->message_type,
                           (ProtobufCMessage **)&p, errstr, sizeof(errstr));
    if (err != ARENA_ERR_OK) {
        arena_service_dlq(s->svc, s->producer, m, err, errstr);
        arena_producer_flush(s->producer, 10000);
        arena_msg_destroy(m);
        return;
    }
    const char *id = p->prompt_id;
    if (id_set_has(&s->batch_ids, id) ||
        arena_store_exists(s->store, CF_PROMPT_IDS, id, strlen(id))) {
        s->duplicates++;
        s->decisions[SAMPLER_DROP_EXACT_DUP]++;
        arena_metric_inc(s->m_decision[SAMPLER_DROP_EXACT_DUP]);
        arena_codec_free((ProtobufCMessage *)p);
        arena_msg_destroy(m);
        return;
    }
    if (p->role == ARENA__V1__PROMPT_ROLE__PROMPT_ROLE_EVAL) {
        /* an eval item is registered for decontamination and never offered as a training
         * candidate (not even with sampler.decontam off); the prompts before it are decided
         * without it */
        prompts_flush(s, b);
        sampler_pipeline_add_eval(s->pipeline, id, instruction_of(p));
        arena_batch_put(b, CF_EVAL, id, strlen(id), m->value, m->value_len);
        uint8_t rec[9];
        rec[0] = (uint8_t)SAMPLER_DROP_DECONTAM; /* looked up as "dropped": not in the pool */
        arena_be64(s->pool_size, rec + 1);
        arena_batch_put(b, CF_PROMPT_IDS, id, strlen(id), rec, sizeof(rec));
        id_set_add(&s->batch_ids, id);
        s->eval_items++;
        arena_metric_inc(s->m_eval_items);
        arena_codec_free((ProtobufCMessage *)p);
        arena_msg_destroy(m);
        return;
    }
    id_set_add(&s->batch_ids, id);
    pending_add(&s->pend, p, m);
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
    id_set_clear(&s->batch_ids);
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
            arena_msg_destroy(m);
        }
    }
    if (n == 0) {
        return 0;
    }
    prompts_flush(s, b);
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

/* ---- adaptive mode: the rating feed ---- */

static arena_err_t feed_open(struct sampler *s, const char *endpoint, char *errstr,
                             size_t errstr_size)
{
    int hwm = FEED_RCVHWM, linger = 0;
    s->feed_zctx = zmq_ctx_new();
    if (!s->feed_zctx) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ,
                             "sampler.ratings_feed: zmq_ctx_new: %s", zmq_strerror(errno));
    }
    s->feed_sock = zmq_socket(s->feed_zctx, ZMQ_SUB);
    if (!s->feed_sock) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ,
                             "sampler.ratings_feed: zmq_socket(SUB): %s", zmq_strerror(errno));
    }
    zmq_setsockopt(s->feed_sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s->feed_sock, ZMQ_LINGER, &linger, sizeof(linger));
    s->feed_topic = arena_xasprintf("ratings.%s", s->svc->cfg->rater.name);
    zmq_setsockopt(s->feed_sock, ZMQ_SUBSCRIBE, s->feed_topic, strlen(s->feed_topic));
    if (zmq_connect(s->feed_sock, endpoint) != 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ,
                             "sampler.ratings_feed: cannot connect to '%s': %s", endpoint,
                             zmq_strerror(errno));
    }
    return ARENA_ERR_OK;
}

/* Use body as the snapshot. persist: store it first (restart determinism). */
static bool feed_adopt(struct sampler *s, const char *body, size_t len, bool persist)
{
    struct sampler_ratings r;
    char errstr[256];
    if (sampler_ratings_parse(body, len, &r, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        s->feed_bad++;
        ARENA_WARN("event=ratings_rejected err=\"%s\"", errstr);
        return false;
    }
    if (persist) {
        struct arena_batch *b = arena_batch_new();
        arena_batch_put(b, CF_META, META_RATINGS, strlen(META_RATINGS), body, len);
        arena_err_t err = arena_store_write(s->store, b, false, errstr, sizeof(errstr));
        arena_batch_destroy(b);
        if (err != ARENA_ERR_OK) {
            arena_service_error(s->svc, "state write failed (ratings snapshot): %s", errstr);
            sampler_ratings_fini(&r);
            return false;
        }
    }
    sampler_ratings_fini(&s->ratings);
    s->ratings = r;
    free(s->feed_body);
    s->feed_body = arena_xstrndup(body, len);
    return true;
}

/* Drain the subscriber without blocking and adopt the newest well-formed publication. */
static void feed_poll(struct sampler *s)
{
    if (!s->feed_sock) {
        return;
    }
    char *latest = NULL;
    size_t latest_len = 0;
    for (int i = 0; i < FEED_DRAIN_MAX; i++) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, s->feed_sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            break; /* EAGAIN: nothing queued */
        }
        bool more = zmq_msg_more(&topic);
        bool ok = more && zmq_msg_size(&topic) == strlen(s->feed_topic) &&
                  !memcmp(zmq_msg_data(&topic), s->feed_topic, zmq_msg_size(&topic));
        zmq_msg_close(&topic);
        int parts = 1;
        while (more) { /* read the rest of the message, whatever it holds */
            zmq_msg_init(&body);
            if (zmq_msg_recv(&body, s->feed_sock, 0) < 0) {
                zmq_msg_close(&body);
                break;
            }
            more = zmq_msg_more(&body);
            if (++parts == 2 && ok) {
                free(latest);
                latest_len = zmq_msg_size(&body);
                latest = arena_xstrndup(zmq_msg_data(&body), latest_len);
            }
            zmq_msg_close(&body);
        }
        if (!ok || parts != 2) {
            s->feed_bad++;
            ARENA_WARN("event=ratings_rejected err=\"expected 2 frames [%s, JSON], got %d%s\"",
                       s->feed_topic, parts, ok ? "" : " or another topic");
        }
    }
    if (!latest) {
        return;
    }
    if (s->feed_body && strlen(s->feed_body) == latest_len &&
        !memcmp(s->feed_body, latest, latest_len)) {
        s->feed_same++; /* the rater re-sends its latest ratings while idle */
    } else if (feed_adopt(s, latest, latest_len, true)) {
        s->feed_updates++;
        ARENA_INFO("event=ratings_updated battles=%llu models=%zu",
                   (unsigned long long)s->ratings.battles, s->ratings.n);
    }
    free(latest);
}

/* The pairs of one prompt: every pair (train, eval) or the adaptive choice. */
static size_t prompt_pairs(struct sampler *s, const char *prompt_id,
                           const struct sampler_pair **pairs)
{
    if (s->mode != ARENA__V1__MATCH_MODE__MATCH_MODE_ADAPTIVE) {
        *pairs = s->pairs;
        return s->n_pairs;
    }
    *pairs = s->chosen;
    return sampler_adaptive_choose(prompt_id, s->pairs, s->n_pairs, s->n_models, &s->ratings,
                                   &s->aopts, s->chosen, MAX_PAIRS);
}

static size_t pair_index(const struct sampler *s, const struct sampler_pair *p)
{
    for (size_t i = 0; i < s->n_pairs; i++) {
        if (s->pairs[i].a == p->a && s->pairs[i].b == p->b) {
            return i;
        }
    }
    return 0;
}

/* ---- issuing ---- */

static Arena__V1__Prompt *pool_prompt(struct sampler *s, uint64_t seq)
{
    uint8_t key[8];
    char *v = NULL;
    size_t len = 0;
    Arena__V1__Prompt *p = NULL;
    char errstr[128];
    arena_be64(seq, key);
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
    if (s->n_rounds > 0 && s->round == 0 && s->mode != ARENA__V1__MATCH_MODE__MATCH_MODE_EVAL) {
        return false; /* waiting for `arenactl round start N` */
    }
    if (cfg->sampler.max_battles > 0 && s->issued >= (uint64_t)cfg->sampler.max_battles) {
        return false;
    }
    return inflight(s) + per <= (uint64_t)cfg->sampler.max_in_flight || inflight(s) == 0;
}

static bool is_marked(struct sampler *s, const char *prompt_id)
{
    return arena_store_exists(s->store, CF_MARK, prompt_id, strlen(prompt_id));
}

static uint32_t round_of(const struct sampler *s, const char *prompt_id, uint64_t seq)
{
    if (s->split == SAMPLER_ROUNDS_ORDER) {
        return sampler_round_by_order(seq, s->round_total, s->n_rounds);
    }
    return sampler_round_by_hash(prompt_id, s->n_rounds);
}

/* Pool entry seq belongs to D_round. With the order split, prompts that arrived after the
 * round started (seq >= round_total) are split by hash. */
static bool in_current_round(const struct sampler *s, const char *prompt_id, uint64_t seq)
{
    uint32_t r = s->split == SAMPLER_ROUNDS_ORDER && seq >= s->round_total
                     ? sampler_round_by_hash(prompt_id, s->n_rounds)
                     : round_of(s, prompt_id, seq);
    return r == s->round;
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
        if (!eval && is_marked(s, p->prompt_id)) {
            arena_codec_free((ProtobufCMessage *)p); /* an eval item: never training */
            continue;
        }
        if (!eval && s->n_rounds > 0) {
            if (!in_current_round(s, p->prompt_id, s->cursor - 1)) {
                arena_codec_free((ProtobufCMessage *)p);
                continue;
            }
            round = s->round;
            s->round_prompts++;
        }
        uint64_t sent = 0;
        const struct sampler_pair *pairs;
        size_t n_pairs = prompt_pairs(s, p->prompt_id, &pairs);
        for (size_t i = 0; i < n_pairs; i++) {
            for (uint32_t k = 0; k < s->samples; k++) {
                Arena__V1__BattleRequest rq = ARENA__V1__BATTLE_REQUEST__INIT;
                char id[33];
                arena_battle_id(round, p->prompt_id, pairs[i].a, pairs[i].b, k, id);
                if (arena_store_exists(s->store, CF_ISSUED, id, strlen(id))) {
                    continue; /* a round started again: never issue a battle id twice */
                }
                rq.battle_id = id;
                rq.round = round;
                rq.prompt_id = p->prompt_id;
                rq.n_messages = p->n_messages;
                rq.messages = p->messages;
                rq.model_a = (char *)pairs[i].a;
                rq.model_b = (char *)pairs[i].b;
                rq.sample_index = k;
                rq.mode = s->mode;
                rq.battles_in_prompt = (uint32_t)(n_pairs * s->samples);
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
                s->pair_issued[pair_index(s, &pairs[i])]++;
                issued++;
                sent++;
            }
        }
        s->issued += sent;
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

/* ---- control commands: rounds and eval sets ---- */

static json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *ctl_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "error", json_string(msg));
    return o;
}

static bool arg_int(json_t *args, const char *key, json_int_t def, json_int_t min, json_int_t *out,
                    json_t **err)
{
    json_t *v = json_object_get(args, key);
    if (!v) {
        *out = def;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        *err = ctl_error("%s: expected an integer >= %lld", key, (long long)min);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

/* Prompts of the pool in D_n (eval items excluded). */
static uint64_t round_size(struct sampler *s, uint32_t n)
{
    uint64_t count = 0, seq = 0;
    struct arena_store_iter *it = arena_store_iter_new(s->store, CF_POOL, NULL, 0);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it), seq++) {
        size_t len;
        const char *v = arena_store_iter_value(it, &len);
        Arena__V1__Prompt *p = NULL;
        char errstr[128];
        if (arena_codec_decode(&arena__v1__prompt__descriptor, v, len, NULL,
                               (ProtobufCMessage **)&p, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
            continue;
        }
        uint32_t r = s->split == SAMPLER_ROUNDS_ORDER
                         ? sampler_round_by_order(seq, s->pool_size, s->n_rounds)
                         : sampler_round_by_hash(p->prompt_id, s->n_rounds);
        if (r == n && !is_marked(s, p->prompt_id)) {
            count++;
        }
        arena_codec_free((ProtobufCMessage *)p);
    }
    arena_store_iter_destroy(it);
    return count;
}

static json_t *ctl_round_start(void *ctx, const char *cmd, json_t *args)
{
    struct sampler *s = ctx;
    (void)cmd;
    json_int_t n = 0;
    json_t *err = NULL;
    if (s->n_rounds == 0) {
        return ctl_error("rounds are disabled (sampler.rounds is 0)");
    }
    if (s->mode != ARENA__V1__MATCH_MODE__MATCH_MODE_TRAIN) {
        return ctl_error("rounds need sampler.mode train (this sampler runs %s)",
                         s->svc->cfg->sampler.mode);
    }
    if (!arg_int(args, "round", 0, 1, &n, &err)) {
        return err;
    }
    if (n < 1 || n > (json_int_t)s->n_rounds) {
        return ctl_error("round: expected 1..%u (sampler.rounds), got %lld", s->n_rounds,
                         (long long)n);
    }
    json_t *o = json_object();
    if ((uint32_t)n != s->round) {
        s->round = (uint32_t)n;
        s->cursor = 0;
        s->round_total = s->pool_size;
        s->round_prompts = 0;
        struct arena_batch *b = arena_batch_new();
        stage_meta(s, b);
        char errstr[256];
        arena_err_t werr = arena_store_write(s->store, b, true, errstr, sizeof(errstr));
        arena_batch_destroy(b);
        if (werr != ARENA_ERR_OK) {
            json_decref(o);
            arena_service_error(s->svc, "state write failed: %s", errstr);
            arena_stop_requested = 1;
            return ctl_error("state write failed: %s", errstr);
        }
        ARENA_INFO("event=round_started round=%u split=%s pool=%llu", s->round,
                   sampler_rounds_split_name(s->split), (unsigned long long)s->pool_size);
    } else {
        json_object_set_new(o, "already_current", json_true());
    }
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "round", json_integer(s->round));
    json_object_set_new(o, "rounds", json_integer(s->n_rounds));
    json_object_set_new(o, "split", json_string(sampler_rounds_split_name(s->split)));
    json_object_set_new(o, "prompts", json_integer((json_int_t)round_size(s, s->round)));
    return o;
}

static bool evalset_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 64) {
        return false;
    }
    for (const char *p = n; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.')) {
            return false;
        }
    }
    return true;
}

struct evalset_pool {
    struct sampler_evalset_item *items;
    Arena__V1__Prompt **prompts;
    char **texts;
    size_t n, cap;
};

static void evalset_pool_fini(struct evalset_pool *ep)
{
    for (size_t i = 0; i < ep->n; i++) {
        arena_codec_free((ProtobufCMessage *)ep->prompts[i]);
        free(ep->texts[i]);
    }
    free(ep->items);
    free(ep->prompts);
    free(ep->texts);
}

/* Dense unit-length embeddings (n * *dim) of the candidates: the openai backend when
 * configured, else a TF-IDF of 2^12 dims fitted on the candidates. */
static float *evalset_embed(struct sampler *s, struct evalset_pool *ep, int *dim, char *errstr,
                            size_t errstr_size)
{
    struct sampler_embedder *e = s->embedder;
    bool own = false;
    if (!e) {
        struct sampler_tfidf_opts to = {
            .dim_bits = 12, .ngram_min = 3, .ngram_max = 5, .max_df = 0.5};
        e = sampler_embed_tfidf_new(&to, errstr, errstr_size);
        if (!e) {
            return NULL;
        }
        own = true;
        sampler_embed_tfidf_fit(e, (const char *const *)ep->texts, ep->n);
    }
    float *x = NULL;
    struct sampler_vec *vecs = arena_xcalloc(ep->n, sizeof(*vecs));
    arena_err_t err = ARENA_ERR_OK;
    for (size_t off = 0; off < ep->n && err == ARENA_ERR_OK; off += 64) {
        size_t m = ep->n - off < 64 ? ep->n - off : 64;
        err = sampler_embed(e, (const char *const *)ep->texts + off, m, vecs + off, errstr,
                            errstr_size);
    }
    if (err == ARENA_ERR_OK) {
        *dim = (int)vecs[0].dim;
        x = arena_xcalloc(ep->n * (size_t)*dim, sizeof(float));
        for (size_t i = 0; i < ep->n; i++) {
            sampler_vec_to_dense(&vecs[i], x + i * (size_t)*dim);
        }
    }
    for (size_t i = 0; i < ep->n; i++) {
        sampler_vec_fini(&vecs[i]);
    }
    free(vecs);
    if (own) {
        sampler_embedder_destroy(e);
    }
    return x;
}

/* ---- hard eval sets: difficulty from the judge model ---- */

struct difficulty_report {
    size_t candidates; /* hard candidates considered */
    size_t supplied;   /* with a difficulty field (it wins) */
    size_t cached;     /* answers taken from CF difficulty */
    size_t scored;     /* new calls that returned a rating */
    size_t unscorable; /* no valid [[N]] (new or cached): not candidates */
    size_t failed;     /* calls that failed after the backend's retries */
    size_t unrated;    /* no field and no difficulty model */
};

static char *diff_key(const char *model, const char *prompt_id)
{
    return arena_xasprintf("%s/%s", model, prompt_id);
}

/* 1 = a score, 0 = cached unscorable (reason filled), -1 = not cached. */
static int diff_cache_get(struct sampler *s, const char *model, const char *prompt_id,
                          double *score, char *reason, size_t reason_size)
{
    char *key = diff_key(model, prompt_id), *v = NULL;
    size_t len = 0;
    int rc = -1;
    if (arena_store_get(s->store, CF_DIFF, key, strlen(key), &v, &len) == ARENA_ERR_OK) {
        json_t *o = json_loadb(v, len, 0, NULL);
        json_t *sc = json_object_get(o, "score");
        const char *why = json_string_value(json_object_get(o, "unscorable"));
        if (json_is_number(sc) && json_number_value(sc) >= 0 && json_number_value(sc) <= 10) {
            *score = json_number_value(sc);
            rc = 1;
        } else if (why) {
            snprintf(reason, reason_size, "%s", why);
            rc = 0;
        }
        json_decref(o);
    }
    free(v);
    free(key);
    return rc;
}

static void diff_cache_put(struct arena_batch *b, const char *model,
                           const struct sampler_difficulty_job *j)
{
    json_t *o = j->state == SAMPLER_DIFFICULTY_SCORED ? json_pack("{s:f}", "score", j->score)
                                                      : json_pack("{s:s}", "unscorable", j->reason);
    json_object_set_new(o, "at_ms", json_integer(arena_now_ms()));
    char *v = json_dumps(o, JSON_COMPACT);
    char *key = diff_key(model, j->prompt_id);
    arena_batch_put(b, CF_DIFF, key, strlen(key), v, strlen(v));
    free(key);
    free(v);
    json_decref(o);
}

/* A pool holding only the difficulty model (the other models' backends are not needed here). */
static struct arena_llm_pool *difficulty_pool(struct sampler *s, char *errstr, size_t errstr_size)
{
    const struct arena_config *cfg = s->svc->cfg;
    const struct arena_model_cfg *mc = arena_config_model(cfg, cfg->sampler.difficulty_model);
    if (!mc) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "sampler.difficulty_model: '%s' is not a configured model",
                      cfg->sampler.difficulty_model);
        return NULL;
    }
    struct arena_config one = *cfg;
    one.models = (struct arena_model_cfg *)mc;
    one.n_models = 1;
    return arena_llm_pool_new(&one, s->svc->metrics, errstr, errstr_size);
}

/* Fill in the difficulty of the hard candidates that have none: the cache, else the difficulty
 * model (one concurrent batch). Every answer is cached, also when the build then fails. */
static arena_err_t evalset_difficulty(struct sampler *s, struct evalset_pool *ep,
                                      const struct sampler_evalset_opts *eo, int64_t deadline_ms,
                                      struct difficulty_report *r, char *errstr, size_t errstr_size)
{
    const char *model = s->svc->cfg->sampler.difficulty_model;
    size_t *cand = NULL, nc = 0;
    arena_err_t err =
        sampler_evalset_hard_candidates(ep->items, ep->n, eo, &cand, &nc, errstr, errstr_size);
    if (err != ARENA_ERR_OK) {
        return err;
    }
    r->candidates = nc;
    struct sampler_difficulty_job *jobs = arena_xcalloc(nc ? nc : 1, sizeof(*jobs));
    size_t *job_item = arena_xcalloc(nc ? nc : 1, sizeof(size_t));
    size_t nj = 0;
    for (size_t i = 0; i < nc; i++) {
        struct sampler_evalset_item *it = &ep->items[cand[i]];
        double score;
        char reason[200];
        if (it->has_difficulty) {
            r->supplied++;
            continue;
        }
        if (!*model) {
            r->unrated++;
            continue;
        }
        int hit = diff_cache_get(s, model, it->prompt_id, &score, reason, sizeof(reason));
        if (hit >= 0) {
            r->cached++;
            if (hit == 1) {
                it->has_difficulty = true;
                it->difficulty = score;
                it->difficulty_by = model;
            } else {
                r->unscorable++;
            }
            continue;
        }
        jobs[nj].prompt_id = it->prompt_id;
        jobs[nj].text = it->text;
        job_item[nj] = cand[i];
        nj++;
    }
    free(cand);
    if (nj > 0) {
        struct arena_llm_pool *pool = difficulty_pool(s, errstr, errstr_size);
        if (!pool) {
            free(jobs);
            free(job_item);
            return ARENA_ERR_CONFIG;
        }
        struct sampler_difficulty_opts so = {
            .model = model, .deadline_ms = deadline_ms, .stop = &arena_stop_requested};
        char serr[256] = "";
        int64_t t0 = arena_mono_ms();
        err = sampler_difficulty_score(pool, &so, jobs, nj, serr, sizeof(serr));
        arena_llm_pool_destroy(pool); /* drops calls still outstanding after a timeout or stop */
        struct arena_batch *b = arena_batch_new();
        size_t answered = 0;
        const char *last_failure = "";
        for (size_t j = 0; j < nj; j++) {
            struct sampler_difficulty_job *jb = &jobs[j];
            struct sampler_evalset_item *it = &ep->items[job_item[j]];
            switch (jb->state) {
            case SAMPLER_DIFFICULTY_SCORED:
                it->has_difficulty = true;
                it->difficulty = jb->score;
                it->difficulty_by = model;
                r->scored++;
                diff_cache_put(b, model, jb);
                answered++;
                break;
            case SAMPLER_DIFFICULTY_UNSCORABLE:
                r->unscorable++;
                diff_cache_put(b, model, jb);
                answered++;
                ARENA_WARN("event=difficulty_unscorable prompt_id=%s model=%s reason=\"%s\"",
                           jb->prompt_id, model, jb->reason);
                break;
            case SAMPLER_DIFFICULTY_FAILED:
                r->failed++;
                last_failure = jb->reason;
                ARENA_WARN("event=difficulty_failed prompt_id=%s model=%s err=\"%s\"",
                           jb->prompt_id, model, jb->reason);
                break;
            default:
                break;
            }
        }
        char werr[256];
        arena_err_t cerr = arena_store_write(s->store, b, false, werr, sizeof(werr));
        arena_batch_destroy(b);
        ARENA_INFO("event=difficulty_scored model=%s requests=%zu scored=%zu unscorable=%zu "
                   "failed=%zu ms=%lld",
                   model, nj, r->scored, r->unscorable, r->failed,
                   (long long)(arena_mono_ms() - t0));
        if (cerr != ARENA_ERR_OK) {
            arena_service_error(s->svc, "state write failed (difficulty cache): %s", werr);
            err = arena_err_set(errstr, errstr_size, cerr, "state write failed: %s", werr);
        } else if (err != ARENA_ERR_OK) {
            err = arena_err_set(errstr, errstr_size, err,
                                "difficulty model %s: %s after %zu of %zu prompts (the answers "
                                "so far are cached: build again to go on)",
                                model, serr, answered, nj);
        } else if (r->failed > 0) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_BACKEND,
                                "difficulty model %s: %zu of %zu calls failed (last: %s); the "
                                "%zu answers are cached: build again to retry the rest",
                                model, r->failed, nj, last_failure, answered);
        }
    }
    free(jobs);
    free(job_item);
    return err;
}

static void difficulty_report_json(json_t *o, const char *model, const struct difficulty_report *r)
{
    json_object_set_new(o, "difficulty_model", json_string(model));
    json_object_set_new(o, "hard_candidates", json_integer((json_int_t)r->candidates));
    json_object_set_new(o, "supplied", json_integer((json_int_t)r->supplied));
    json_object_set_new(o, "scored", json_integer((json_int_t)r->scored));
    json_object_set_new(o, "cached", json_integer((json_int_t)r->cached));
    json_object_set_new(o, "unscorable", json_integer((json_int_t)r->unscorable));
    json_object_set_new(o, "unrated", json_integer((json_int_t)r->unrated));
}

static json_t *ctl_evalset_build(void *ctx, const char *cmd, json_t *args)
{
    struct sampler *s = ctx;
    (void)cmd;
    const char *name = json_string_value(json_object_get(args, "name"));
    const char *mode = json_string_value(json_object_get(args, "mode"));
    json_int_t k = 0, per = 0, top = 0, hpc = 0, seed = 0, timeout_ms = 0;
    struct difficulty_report dr = {0};
    json_t *err = NULL;
    struct sampler_evalset_opts eo = {0};
    char errstr[512];
    if (!name || !evalset_name_ok(name)) {
        return ctl_error("name: expected 1-64 of [A-Za-z0-9._-], got '%s'", name ? name : "");
    }
    if (sampler_evalset_kind_parse(mode ? mode : "diverse", &eo.kind) != ARENA_ERR_OK) {
        return ctl_error("mode: expected diverse|hard|mix, got '%s'", mode);
    }
    if (!arg_int(args, "clusters", 10, 1, &k, &err) ||
        !arg_int(args, "per_cluster", 2, 1, &per, &err) ||
        !arg_int(args, "top", 0, 0, &top, &err) ||
        !arg_int(args, "hard_per_cluster", 0, 0, &hpc, &err) ||
        !arg_int(args, "seed", 42, 0, &seed, &err) ||
        !arg_int(args, "timeout_ms", EVALSET_DEFAULT_TIMEOUT_MS, 1, &timeout_ms, &err)) {
        return err;
    }
    if (eo.kind != SAMPLER_EVALSET_DIVERSE && top < 1) {
        return ctl_error("top: mode %s needs --top N >= 1", sampler_evalset_kind_name(eo.kind));
    }
    eo.per_cluster = (int)per;
    eo.hard_n = (int)top;
    eo.hard_per_cluster = (int)hpc;
    eo.seed = (uint64_t)seed;
    /* candidates: the pool minus items already claimed by an eval set */
    struct evalset_pool ep = {0};
    struct arena_store_iter *it = arena_store_iter_new(s->store, CF_POOL, NULL, 0);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t len;
        const char *v = arena_store_iter_value(it, &len);
        Arena__V1__Prompt *p = NULL;
        if (arena_codec_decode(&arena__v1__prompt__descriptor, v, len, NULL,
                               (ProtobufCMessage **)&p, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
            continue;
        }
        if (is_marked(s, p->prompt_id)) {
            arena_codec_free((ProtobufCMessage *)p);
            continue;
        }
        if (ep.n == ep.cap) {
            ep.cap = ep.cap ? 2 * ep.cap : 256;
            ep.items = arena_xrealloc(ep.items, ep.cap * sizeof(*ep.items));
            ep.prompts = arena_xrealloc(ep.prompts, ep.cap * sizeof(*ep.prompts));
            ep.texts = arena_xrealloc(ep.texts, ep.cap * sizeof(*ep.texts));
        }
        ep.prompts[ep.n] = p;
        ep.texts[ep.n] = sampler_prompt_text(p);
        struct sampler_evalset_item *item = &ep.items[ep.n];
        memset(item, 0, sizeof(*item));
        item->prompt_id = p->prompt_id;
        item->text = instruction_of(p);
        item->has_difficulty =
            p->difficulty_present_case == ARENA__V1__PROMPT__DIFFICULTY_PRESENT_DIFFICULTY;
        item->difficulty = p->difficulty;
        ep.n++;
    }
    arena_store_iter_destroy(it);
    if (ep.n == 0) {
        evalset_pool_fini(&ep);
        return ctl_error("the training pool has no prompt left to build an eval set from");
    }
    if ((size_t)k > ep.n) {
        size_t n = ep.n;
        evalset_pool_fini(&ep);
        return ctl_error("clusters: %lld clusters for %zu candidate prompts", (long long)k, n);
    }
    int64_t t0 = arena_mono_ms();
    /* the client waits timeout_ms for the reply: stop scoring in time to send one */
    int64_t deadline =
        t0 + (timeout_ms > 2 * EVALSET_REPLY_MARGIN_MS ? timeout_ms - EVALSET_REPLY_MARGIN_MS
                                                       : timeout_ms / 2);
    int dim = 0;
    float *x = evalset_embed(s, &ep, &dim, errstr, sizeof(errstr));
    if (!x) {
        evalset_pool_fini(&ep);
        return ctl_error("embedding failed: %s", errstr);
    }
    struct sampler_kmeans_opts ko = {.k = (int)k,
                                     .max_iter = 100,
                                     .tol = 1e-6,
                                     .seed = (uint64_t)seed,
                                     .metric = SAMPLER_KMEANS_COSINE};
    struct sampler_kmeans_result km = {0};
    if (sampler_kmeans_fit(x, ep.n, dim, &ko, &km, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        free(x);
        evalset_pool_fini(&ep);
        return ctl_error("k-means: %s", errstr);
    }
    free(x);
    for (size_t i = 0; i < ep.n; i++) {
        ep.items[i].cluster = km.assign[i];
    }
    if (eo.kind != SAMPLER_EVALSET_DIVERSE &&
        evalset_difficulty(s, &ep, &eo, deadline, &dr, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        sampler_kmeans_result_fini(&km);
        evalset_pool_fini(&ep);
        return ctl_error("%s", errstr);
    }
    size_t *sel = NULL, n_sel = 0;
    if (sampler_evalset_select(ep.items, ep.n, &eo, &sel, &n_sel, errstr, sizeof(errstr)) !=
        ARENA_ERR_OK) {
        sampler_kmeans_result_fini(&km);
        evalset_pool_fini(&ep);
        return ctl_error("%s", errstr);
    }
    if (n_sel == 0) {
        free(sel);
        sampler_kmeans_result_fini(&km);
        evalset_pool_fini(&ep);
        return ctl_error("no prompt selected: of %zu hard candidates %zu have a difficulty "
                         "field, %zu are unscorable and %zu unrated (mode hard needs a "
                         "difficulty field or sampler.difficulty_model)",
                         dr.candidates, dr.supplied, dr.unscorable, dr.unrated);
    }
    /* version, JSONL, marks */
    char vkey[80], set_id[96], key[112];
    snprintf(vkey, sizeof(vkey), "v/%s", name);
    uint64_t version = arena_store_get_u64(s->store, CF_SETS, vkey) + 1;
    snprintf(set_id, sizeof(set_id), "%s@v%llu", name, (unsigned long long)version);
    char *jsonl = NULL;
    size_t jsonl_len = 0;
    FILE *mf = open_memstream(&jsonl, &jsonl_len);
    arena_err_t werr =
        sampler_evalset_write_jsonl(mf, ep.items, sel, n_sel, set_id, errstr, sizeof(errstr));
    fclose(mf);
    json_t *reply;
    if (werr != ARENA_ERR_OK) {
        reply = ctl_error("export: %s", errstr);
    } else {
        struct arena_batch *b = arena_batch_new();
        snprintf(key, sizeof(key), "d/%s", set_id);
        arena_batch_put(b, CF_SETS, key, strlen(key), jsonl, jsonl_len);
        json_t *info = json_object();
        json_object_set_new(info, "name", json_string(name));
        json_object_set_new(info, "version", json_integer((json_int_t)version));
        json_object_set_new(info, "id", json_string(set_id));
        json_object_set_new(info, "mode", json_string(sampler_evalset_kind_name(eo.kind)));
        json_object_set_new(info, "clusters", json_integer(k));
        json_object_set_new(info, "per_cluster", json_integer(per));
        json_object_set_new(info, "top", json_integer(top));
        json_object_set_new(info, "seed", json_integer(seed));
        json_object_set_new(info, "items", json_integer((json_int_t)n_sel));
        json_object_set_new(info, "candidates", json_integer((json_int_t)ep.n));
        json_object_set_new(
            info, "embeddings",
            json_string(s->embedder ? sampler_embedder_name(s->embedder) : "tfidf"));
        if (eo.kind != SAMPLER_EVALSET_DIVERSE) {
            json_object_set_new(info, "hard_per_cluster", json_integer(hpc));
            difficulty_report_json(info, s->svc->cfg->sampler.difficulty_model, &dr);
        }
        json_object_set_new(info, "created_at_ms", json_integer(arena_now_ms()));
        char *itext = json_dumps(info, JSON_COMPACT);
        snprintf(key, sizeof(key), "i/%s", set_id);
        arena_batch_put(b, CF_SETS, key, strlen(key), itext, strlen(itext));
        free(itext);
        arena_batch_put_u64(b, CF_SETS, vkey, version);
        for (size_t i = 0; i < n_sel; i++) {
            const char *id = ep.items[sel[i]].prompt_id;
            arena_batch_put(b, CF_MARK, id, strlen(id), set_id, strlen(set_id));
        }
        s->eval_marked += n_sel;
        stage_meta(s, b);
        if (arena_store_write(s->store, b, true, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
            s->eval_marked -= n_sel;
            arena_service_error(s->svc, "state write failed: %s", errstr);
            reply = ctl_error("state write failed: %s", errstr);
            json_decref(info);
        } else {
            /* registered for decontamination: later copies never enter training */
            for (size_t i = 0; i < n_sel; i++) {
                sampler_pipeline_add_eval(s->pipeline, ep.items[sel[i]].prompt_id,
                                          ep.items[sel[i]].text);
            }
            json_object_set_new(info, "ok", json_true());
            json_object_set_new(info, "ms", json_integer(arena_mono_ms() - t0));
            json_object_set_new(info, "iterations", json_integer(km.iterations));
            reply = info;
            ARENA_INFO("event=evalset_built id=%s mode=%s items=%zu candidates=%zu clusters=%lld "
                       "scored=%zu cached=%zu unscorable=%zu",
                       set_id, sampler_evalset_kind_name(eo.kind), n_sel, ep.n, (long long)k,
                       dr.scored, dr.cached, dr.unscorable);
        }
        arena_batch_destroy(b);
    }
    free(jsonl);
    free(sel);
    sampler_kmeans_result_fini(&km);
    evalset_pool_fini(&ep);
    return reply;
}

static json_t *ctl_evalset_list(void *ctx, const char *cmd, json_t *args)
{
    struct sampler *s = ctx;
    (void)cmd;
    (void)args;
    json_t *sets = json_array();
    struct arena_store_iter *it = arena_store_iter_new(s->store, CF_SETS, "i/", 2);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t len;
        const char *v = arena_store_iter_value(it, &len);
        json_t *info = json_loadb(v, len, 0, NULL);
        if (info) {
            json_array_append_new(sets, info);
        }
    }
    arena_store_iter_destroy(it);
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "evalsets", sets);
    return o;
}

static json_t *ctl_evalset_export(void *ctx, const char *cmd, json_t *args)
{
    struct sampler *s = ctx;
    (void)cmd;
    const char *name = json_string_value(json_object_get(args, "name"));
    json_int_t version = 0;
    json_t *err = NULL;
    if (!name || !evalset_name_ok(name)) {
        return ctl_error("name: expected 1-64 of [A-Za-z0-9._-], got '%s'", name ? name : "");
    }
    if (!arg_int(args, "version", 0, 0, &version, &err)) {
        return err;
    }
    char key[112];
    snprintf(key, sizeof(key), "v/%s", name);
    uint64_t latest = arena_store_get_u64(s->store, CF_SETS, key);
    if (latest == 0) {
        return ctl_error("no eval set named '%s'", name);
    }
    if (version == 0) {
        version = (json_int_t)latest;
    }
    snprintf(key, sizeof(key), "d/%s@v%lld", name, (long long)version);
    char *v = NULL;
    size_t len = 0;
    if (arena_store_get(s->store, CF_SETS, key, strlen(key), &v, &len) != ARENA_ERR_OK) {
        return ctl_error("eval set '%s' has no version %lld (latest v%llu)", name,
                         (long long)version, (unsigned long long)latest);
    }
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "version", json_integer(version));
    json_object_set_new(o, "jsonl", json_stringn(v, len));
    free(v);
    return o;
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
    json_object_set_new(d, "eval_item", json_integer((json_int_t)s->eval_items));
    json_object_set_new(o, "prompts", d);
    json_object_set_new(o, "rounds", json_integer(s->n_rounds));
    json_object_set_new(o, "round", json_integer(s->round));
    json_object_set_new(o, "split", json_string(sampler_rounds_split_name(s->split)));
    json_object_set_new(o, "round_prompts", json_integer((json_int_t)s->round_prompts));
    /* every pool prompt visited for the current round and every battle resulted */
    json_object_set_new(o, "round_complete",
                        json_boolean(s->n_rounds > 0 && s->round > 0 && s->cursor >= s->pool_size &&
                                     inflight(s) == 0));
    json_object_set_new(o, "eval_marked", json_integer((json_int_t)s->eval_marked));
    json_object_set_new(o, "embed_errors",
                        json_integer((json_int_t)sampler_pipeline_embed_errors(s->pipeline)));
    if (s->mode == ARENA__V1__MATCH_MODE__MATCH_MODE_ADAPTIVE) {
        json_t *a = json_object();
        json_t *pairs = json_array();
        json_object_set_new(a, "feed", json_string(s->svc->cfg->sampler.ratings_feed));
        json_object_set_new(a, "topic", json_string(s->feed_topic ? s->feed_topic : ""));
        json_object_set_new(a, "updates", json_integer((json_int_t)s->feed_updates));
        json_object_set_new(a, "unchanged", json_integer((json_int_t)s->feed_same));
        json_object_set_new(a, "rejected", json_integer((json_int_t)s->feed_bad));
        json_object_set_new(a, "ratings_battles", json_integer((json_int_t)s->ratings.battles));
        json_object_set_new(a, "rated_models", json_integer((json_int_t)s->ratings.n));
        json_object_set_new(
            a, "pairs_per_prompt",
            json_integer((json_int_t)(s->ratings.n > 0 ? sampler_adaptive_count(
                                                             &s->aopts, s->n_models, s->n_pairs)
                                                       : s->n_pairs)));
        for (size_t i = 0; i < s->n_pairs; i++) {
            json_t *pr = json_object();
            double w =
                sampler_adaptive_weight(&s->ratings, s->pairs[i].a, s->pairs[i].b, &s->aopts);
            json_object_set_new(pr, "a", json_string(s->pairs[i].a));
            json_object_set_new(pr, "b", json_string(s->pairs[i].b));
            json_object_set_new(pr, "weight", w < 0 ? json_string("unrated") : json_real(w));
            json_object_set_new(pr, "issued", json_integer((json_int_t)s->pair_issued[i]));
            json_array_append_new(pairs, pr);
        }
        json_object_set_new(a, "pairs", pairs);
        json_object_set_new(o, "adaptive", a);
    }
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
        char errstr[128];
        if (arena_codec_decode(&arena__v1__prompt__descriptor, v, len, NULL,
                               (ProtobufCMessage **)&p, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
            continue;
        }
        pending_add(&s->pend, p, NULL);
        if (is_marked(s, p->prompt_id)) {
            /* claimed by an eval set after it was offered: registered after its own offer */
            char *id = arena_xstrdup(p->prompt_id), *text = arena_xstrdup(instruction_of(p));
            prompts_flush(s, NULL);
            sampler_pipeline_add_eval(s->pipeline, id, text);
            free(id);
            free(text);
        } else if (s->pend.n >= PENDING_MAX) {
            prompts_flush(s, NULL);
        }
    }
    arena_store_iter_destroy(it);
    prompts_flush(s, NULL);
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
    } else if (!strcmp(cfg->sampler.mode, "adaptive")) {
        s->mode = ARENA__V1__MATCH_MODE__MATCH_MODE_ADAPTIVE;
        if (!cfg->sampler.ratings_feed || !*cfg->sampler.ratings_feed) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "sampler.ratings_feed: adaptive mode needs the rater's rating feed "
                          "(the endpoint of rater.publish)");
            sampler_destroy(s);
            return NULL;
        }
        /* target + competitors when a target is set, else every model but the judge */
        if (cfg->sampler.target && *cfg->sampler.target) {
            s->models[s->n_models++] = cfg->sampler.target;
            for (size_t i = 0; i < cfg->sampler.competitors.n; i++) {
                s->models[s->n_models++] = cfg->sampler.competitors.v[i];
            }
        } else {
            for (size_t i = 0; i < cfg->n_models; i++) {
                if (!cfg->judge.model || strcmp(cfg->models[i].name, cfg->judge.model) != 0) {
                    s->models[s->n_models++] = cfg->models[i].name;
                }
            }
        }
        sampler_adaptive_opts_default(&s->aopts);
        s->aopts.pairs = (size_t)cfg->sampler.adaptive_pairs;
        s->aopts.min_games = (uint64_t)cfg->sampler.adaptive_min_games;
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
                      "sampler.mode: '%s' is not supported (train, eval, adaptive)",
                      cfg->sampler.mode);
        sampler_destroy(s);
        return NULL;
    }
    const char *anchor = cfg->sampler.anchor;
    if (s->mode == ARENA__V1__MATCH_MODE__MATCH_MODE_EVAL && anchor && *anchor) {
        /* eval against an anchor: every other model meets the anchor only */
        for (size_t i = 0; i < s->n_models && s->n_pairs < MAX_PAIRS; i++) {
            if (strcmp(s->models[i], anchor) != 0) {
                s->pairs[s->n_pairs].a = s->models[i];
                s->pairs[s->n_pairs].b = anchor;
                s->n_pairs++;
            }
        }
    } else {
        s->n_pairs = sampler_match_all_pairs(s->models, s->n_models, s->pairs, MAX_PAIRS);
    }
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
    po.prefix_tokens = (int)cfg->sampler.prefix_tokens;
    po.shingle = (int)cfg->sampler.shingle;
    po.permutations = (int)cfg->sampler.permutations;
    po.bands = (int)cfg->sampler.bands;
    po.jaccard_threshold = cfg->sampler.jaccard;
    po.decontam = cfg->sampler.decontam;
    po.decontam_top_k = (int)cfg->sampler.decontam_top_k;
    po.decontam_threshold = cfg->sampler.decontam_threshold;
    po.threads = (int)cfg->sampler.threads;
    if (sampler_lang_hook(cfg->sampler.language, &po.language_hook, errstr, errstr_size) !=
        ARENA_ERR_OK) {
        sampler_destroy(s);
        return NULL;
    }
    if (sampler_rounds_split_parse(cfg->sampler.split, &s->split) != ARENA_ERR_OK) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "sampler.split: expected hash|order, got '%s'", cfg->sampler.split);
        sampler_destroy(s);
        return NULL;
    }
    s->n_rounds = (uint32_t)cfg->sampler.rounds;
    if (*cfg->sampler.difficulty_model) {
        const struct arena_model_cfg *dm = arena_config_model(cfg, cfg->sampler.difficulty_model);
        if (!dm || !strcmp(dm->backend, "replay")) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "sampler.difficulty_model: expected a configured model with backend sim "
                          "or openai, got '%s'%s",
                          cfg->sampler.difficulty_model,
                          dm ? " (backend replay: recorded answers cannot rate prompts)" : "");
            sampler_destroy(s);
            return NULL;
        }
    }
    if (strcmp(cfg->sampler.embeddings, "builtin") != 0) {
        const struct arena_model_cfg *em = arena_config_model(cfg, cfg->sampler.embeddings);
        if (!em || strcmp(em->backend, "openai") != 0) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "sampler.embeddings: expected builtin or a configured model with "
                          "backend openai, got '%s'",
                          cfg->sampler.embeddings);
            sampler_destroy(s);
            return NULL;
        }
        struct sampler_openai_embed_opts eo = {
            .base_url = em->base_url,
            .model = em->model && *em->model ? em->model : em->name,
            .api_key_env = em->api_key_env,
            .batch = 64,
            .timeout_ms = em->timeout_ms,
        };
        s->embedder = sampler_embed_openai_new(&eo, errstr, errstr_size);
        if (!s->embedder) {
            sampler_destroy(s);
            return NULL;
        }
        po.embedder = s->embedder;
    }
    s->pipeline = sampler_pipeline_new(&po, errstr, errstr_size);
    if (!s->pipeline) {
        sampler_destroy(s);
        return NULL;
    }
    s->batch = arena_batch_new();
    s->store =
        arena_store_open(svc->svc->state_dir, sampler_cfs, N_SAMPLER_CFS, errstr, errstr_size);
    if (!s->store) {
        sampler_destroy(s);
        return NULL;
    }
    if (migrate_byte_order(s, errstr, errstr_size) != ARENA_ERR_OK) {
        sampler_destroy(s);
        return NULL;
    }
    s->pool_size = meta_get(s, "pool_size");
    s->cursor = meta_get(s, "cursor");
    s->issued = meta_get(s, "issued");
    s->done = meta_get(s, "done");
    s->dropped = meta_get(s, "dropped");
    s->duplicates = meta_get(s, "duplicates");
    s->round = (uint32_t)meta_get(s, "round");
    s->round_total = meta_get(s, "round_total");
    s->round_prompts = meta_get(s, "round_prompts");
    s->eval_marked = meta_get(s, "eval_marked");
    if (s->n_rounds > 0 && s->round > s->n_rounds) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "sampler.rounds: %u, but the state is in round %u", s->n_rounds, s->round);
        sampler_destroy(s);
        return NULL;
    }
    rebuild_pipeline(s);
    if (s->mode == ARENA__V1__MATCH_MODE__MATCH_MODE_ADAPTIVE) {
        char *v = NULL;
        size_t len = 0;
        if (arena_store_get(s->store, CF_META, META_RATINGS, strlen(META_RATINGS), &v, &len) ==
            ARENA_ERR_OK) {
            feed_adopt(s, v, len, false); /* the snapshot the last battles were chosen from */
            free(v);
        }
        if (feed_open(s, cfg->sampler.ratings_feed, errstr, errstr_size) != ARENA_ERR_OK) {
            sampler_destroy(s);
            return NULL;
        }
    }
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
        .offsets = arena_store_offset_provider,
        .ctx = s->store,
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
    s->m_eval_items =
        arena_metrics_counter(svc->metrics, "arena_prompts_total", "Prompts by pipeline",
                              "stage=\"eval_item\",decision=\"eval\"");
    svc->status_fn = status_cb;
    svc->status_ctx = s;
    if (svc->ctl) {
        arena_ctl_register(svc->ctl, "round_start", ctl_round_start, s);
        arena_ctl_register(svc->ctl, "evalset_build", ctl_evalset_build, s);
        arena_ctl_register(svc->ctl, "evalset_list", ctl_evalset_list, s);
        arena_ctl_register(svc->ctl, "evalset_export", ctl_evalset_export, s);
    }
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
        feed_poll(s);
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
    pending_fini(&s->pend);
    id_set_fini(&s->batch_ids);
    sampler_pipeline_destroy(s->pipeline);
    sampler_embedder_destroy(s->embedder);
    if (s->feed_sock) {
        zmq_close(s->feed_sock);
    }
    if (s->feed_zctx) {
        zmq_ctx_term(s->feed_zctx);
    }
    free(s->feed_topic);
    free(s->feed_body);
    sampler_ratings_fini(&s->ratings);
    free(s->models);
    free(s->done_ids);
    free(s);
}
