/* curator.c - the curator loop: BattleResult -> per-prompt completion -> example rows ->
 * shards. See curator.h. */
#include "curator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/codec.h"
#include "arena/ctl.h"
#include "arena/log.h"
#include "arena/store.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "curator_select.h"
#include "curator_shard.h"

enum { CF_SEEN = 0, CF_PENDING = 1, CF_DONE = 2, CF_ROWS = 3, CF_META = 4 };
static const char *const curator_cfs[] = {"seen", "pending", "done", "rows", "meta"};

#define KIND_COUNT 4 /* index by enum curator_example_kind (1..3) */

/* a (round, prompt) whose battles are still arriving */
struct pending_prompt {
    char key[4 + 33]; /* round BE + prompt_id */
    size_t key_len;
    int32_t partition;
    uint32_t expected;
    Arena__V1__BattleResult **battles;
    size_t n;
    struct pending_prompt *next;
};

/* rows waiting for a shard, per (kind, round, partition) */
struct row_group {
    uint8_t kind;
    uint32_t round;
    int32_t partition;
    uint64_t rows;     /* rows not yet in a shard */
    uint64_t next_row; /* next row sequence number */
    uint64_t next_shard;
    int64_t last_add_ms;
    struct row_group *next;
};

struct curator {
    struct arena_service *svc;
    struct arena_store *store;
    struct arena_consumer *consumer;
    struct arena_producer *producer;
    struct curator_policy pol;
    char *shard_dir;
    struct pending_prompt **table; /* hash table by key */
    size_t table_size;
    size_t n_pending;
    struct row_group *groups;
    uint64_t consumed, duplicates, prompts_done, shards, examples[KIND_COUNT];
    struct arena_metric *m_consumed, *m_dup, *m_examples[KIND_COUNT], *m_shards[KIND_COUNT];
    struct arena_metric *m_lag;
    /* per-round thresholds (NULL = pol's single values) */
    double *sft_gaps, *dpo_gaps;
    size_t n_sft_gaps, n_dpo_gaps;
    /* deterministic cuts: the highest round seen per partition, and the prompts still pending
     * per (round, partition); a row group of a round below its partition's highest round with
     * no pending prompt left is complete and cut */
    struct round_part {
        uint32_t round;
        int32_t partition;
        int64_t pending;
        struct round_part *next;
    } * rparts;
    struct part_max {
        int32_t partition;
        uint32_t max_round;
        struct part_max *next;
    } * pmax;
    uint64_t cuts_count, cuts_round, cuts_idle, cuts_final;
};

static struct round_part *rpart_get(struct curator *c, uint32_t round, int32_t partition)
{
    for (struct round_part *r = c->rparts; r; r = r->next) {
        if (r->round == round && r->partition == partition) {
            return r;
        }
    }
    struct round_part *r = arena_xcalloc(1, sizeof(*r));
    r->round = round;
    r->partition = partition;
    r->next = c->rparts;
    c->rparts = r;
    return r;
}

static uint32_t part_max_round(struct curator *c, int32_t partition)
{
    for (struct part_max *m = c->pmax; m; m = m->next) {
        if (m->partition == partition) {
            return m->max_round;
        }
    }
    return 0;
}

static void part_saw_round(struct curator *c, int32_t partition, uint32_t round)
{
    for (struct part_max *m = c->pmax; m; m = m->next) {
        if (m->partition == partition) {
            m->max_round = round > m->max_round ? round : m->max_round;
            return;
        }
    }
    struct part_max *m = arena_xcalloc(1, sizeof(*m));
    m->partition = partition;
    m->max_round = round;
    m->next = c->pmax;
    c->pmax = m;
}

static uint32_t key_round(const char *key)
{
    const uint8_t *p = (const uint8_t *)key;
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static size_t prompt_key(uint32_t round, const char *prompt_id, char *out)
{
    size_t l = strnlen(prompt_id, 32);
    arena_be32(round, (uint8_t *)out);
    memcpy(out + 4, prompt_id, l);
    return 4 + l;
}

/* ---- pending prompts (in memory, rebuilt from CF pending) ---- */

static struct pending_prompt **pending_slot(struct curator *c, const char *key, size_t len)
{
    uint64_t h = arena_hash64(key, len, 7) % c->table_size;
    struct pending_prompt **pp = &c->table[h];
    while (*pp && ((*pp)->key_len != len || memcmp((*pp)->key, key, len) != 0)) {
        pp = &(*pp)->next;
    }
    return pp;
}

static struct pending_prompt *pending_get(struct curator *c, const char *key, size_t len,
                                          int32_t partition, uint32_t expected)
{
    struct pending_prompt **pp = pending_slot(c, key, len);
    if (!*pp) {
        struct pending_prompt *p = arena_xcalloc(1, sizeof(*p));
        memcpy(p->key, key, len);
        p->key_len = len;
        p->partition = partition;
        p->expected = expected;
        *pp = p;
        c->n_pending++;
        rpart_get(c, key_round(key), partition)->pending++;
    }
    return *pp;
}

static void pending_remove(struct curator *c, struct pending_prompt *p)
{
    struct pending_prompt **pp = pending_slot(c, p->key, p->key_len);
    if (*pp == p) {
        *pp = p->next;
    }
    for (size_t i = 0; i < p->n; i++) {
        arena_codec_free((ProtobufCMessage *)p->battles[i]);
    }
    free(p->battles);
    rpart_get(c, key_round(p->key), p->partition)->pending--;
    free(p);
    c->n_pending--;
}

static void pending_add(struct pending_prompt *p, Arena__V1__BattleResult *res)
{
    p->battles = arena_xrealloc(p->battles, (p->n + 1) * sizeof(*p->battles));
    p->battles[p->n++] = res;
}

/* ---- row groups ---- */

static void group_meta_key(const char *what, const struct row_group *g, char *out, size_t n)
{
    snprintf(out, n, "%s/%u/%u/%d", what, g->kind, g->round, (int)g->partition);
}

static struct row_group *group_get(struct curator *c, uint8_t kind, uint32_t round,
                                   int32_t partition)
{
    for (struct row_group *g = c->groups; g; g = g->next) {
        if (g->kind == kind && g->round == round && g->partition == partition) {
            return g;
        }
    }
    struct row_group *g = arena_xcalloc(1, sizeof(*g));
    char key[96];
    g->kind = kind;
    g->round = round;
    g->partition = partition;
    group_meta_key("rowseq", g, key, sizeof(key));
    g->next_row = arena_store_get_u64(c->store, CF_META, key);
    group_meta_key("shardseq", g, key, sizeof(key));
    g->next_shard = arena_store_get_u64(c->store, CF_META, key);
    g->next = c->groups;
    c->groups = g;
    return g;
}

static size_t row_prefix(const struct row_group *g, uint8_t *out)
{
    out[0] = g->kind;
    arena_be32(g->round, out + 1);
    arena_be32((uint32_t)g->partition, out + 5);
    return 9;
}

/* Rebuild pending prompts and row-group counters after a restart. */
static void recover(struct curator *c)
{
    struct arena_store_iter *it = arena_store_iter_new(c->store, CF_PENDING, NULL, 0);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t klen, vlen;
        arena_store_iter_key(it, &klen);
        const char *v = arena_store_iter_value(it, &vlen);
        Arena__V1__BattleResult *res = NULL;
        char errstr[128];
        if (klen < 4 + 4 ||
            arena_codec_decode(&arena__v1__battle_result__descriptor, v + 4, vlen - 4, NULL,
                               (ProtobufCMessage **)&res, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
            continue;
        }
        int32_t partition = (int32_t)arena_rd_be32((const uint8_t *)v);
        char key[40];
        size_t len = prompt_key(res->round, res->prompt_id, key);
        struct pending_prompt *p = pending_get(c, key, len, partition, res->battles_in_prompt);
        pending_add(p, res);
    }
    arena_store_iter_destroy(it);
    it = arena_store_iter_new(c->store, CF_ROWS, NULL, 0);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)arena_store_iter_key(it, &klen);
        if (klen < 17) {
            continue;
        }
        struct row_group *g =
            group_get(c, k[0], arena_rd_be32(k + 1), (int32_t)arena_rd_be32(k + 5));
        g->rows++;
        g->last_add_ms = arena_mono_ms();
    }
    arena_store_iter_destroy(it);
}

/* Row value: "prompt_id\0battle_id,battle_id\0<json row>" */
static void stage_examples(struct curator *c, struct arena_batch *b, int32_t partition,
                           const struct curator_examples *ex)
{
    for (size_t i = 0; i < ex->n; i++) {
        const struct curator_example *e = &ex->v[i];
        struct row_group *g = group_get(c, (uint8_t)e->kind, e->round, partition);
        char *row = curator_row(e);
        struct arena_buf v;
        arena_buf_init(&v);
        arena_buf_puts(&v, e->prompt_id);
        arena_buf_append(&v, "", 1);
        for (size_t k = 0; k < e->n_battle_ids; k++) {
            if (k) {
                arena_buf_puts(&v, ",");
            }
            arena_buf_puts(&v, e->battle_ids[k]);
        }
        arena_buf_append(&v, "", 1);
        arena_buf_puts(&v, row);
        uint8_t key[17];
        row_prefix(g, key);
        arena_be64(g->next_row, key + 9);
        arena_batch_put(b, CF_ROWS, key, sizeof(key), v.data, v.len);
        g->next_row++;
        g->rows++;
        g->last_add_ms = arena_mono_ms();
        char mk[96];
        group_meta_key("rowseq", g, mk, sizeof(mk));
        arena_batch_put_u64(b, CF_META, mk, g->next_row);
        c->examples[e->kind]++;
        arena_metric_inc(c->m_examples[e->kind]);
        free(row);
        arena_buf_fini(&v);
    }
}

static void complete_prompt(struct curator *c, struct arena_batch *b, struct pending_prompt *p)
{
    struct curator_examples ex;
    curator_examples_init(&ex);
    struct curator_policy pol = c->pol;
    uint32_t round = key_round(p->key);
    pol.sft_min_gap = curator_gap_for_round(c->sft_gaps, c->n_sft_gaps, pol.sft_min_gap, round);
    pol.dpo_min_gap = curator_gap_for_round(c->dpo_gaps, c->n_dpo_gaps, pol.dpo_min_gap, round);
    curator_select((const Arena__V1__BattleResult *const *)p->battles, p->n, &pol, &ex);
    ARENA_DEBUG("event=prompt_complete prompt_id=%.32s partition=%d battles=%zu examples=%zu",
                p->key + 4, (int)p->partition, p->n, ex.n);
    stage_examples(c, b, p->partition, &ex);
    curator_examples_fini(&ex);
    for (size_t i = 0; i < p->n; i++) {
        char key[80];
        size_t kl = p->key_len;
        memcpy(key, p->key, kl);
        key[kl] = '/';
        size_t idl = strnlen(p->battles[i]->battle_id, 32);
        memcpy(key + kl + 1, p->battles[i]->battle_id, idl);
        arena_batch_delete(b, CF_PENDING, key, kl + 1 + idl);
    }
    arena_batch_put(b, CF_DONE, p->key, p->key_len, "1", 1);
    c->prompts_done++;
}

static const char *kind_name(uint8_t kind)
{
    return curator_example_kind_name((enum curator_example_kind)kind);
}

/* Cut one shard of a row group: file first (atomic), then the state, then the manifest. */
static void cut_shard(struct curator *c, struct row_group *g)
{
    uint8_t prefix[9];
    size_t plen = row_prefix(g, prefix);
    int64_t max = c->svc->cfg->curator.shard_size > 0 ? c->svc->cfg->curator.shard_size : 1000;
    char **rows = NULL;
    char **pids = NULL, **bids = NULL;
    size_t n = 0, n_bids = 0;
    struct arena_batch *b = arena_batch_new();
    struct arena_store_iter *it = arena_store_iter_new(c->store, CF_ROWS, prefix, plen);
    for (; arena_store_iter_valid(it) && (int64_t)n < max; arena_store_iter_next(it)) {
        size_t klen, vlen;
        const char *k = arena_store_iter_key(it, &klen);
        const char *v = arena_store_iter_value(it, &vlen);
        const char *pid = v;
        const char *ids = pid + strnlen(pid, vlen) + 1;
        const char *json = ids + strnlen(ids, (size_t)(v + vlen - ids)) + 1;
        if (json > v + vlen) {
            continue;
        }
        rows = arena_xrealloc(rows, (n + 1) * sizeof(*rows));
        pids = arena_xrealloc(pids, (n + 1) * sizeof(*pids));
        rows[n] = arena_xstrndup(json, (size_t)(v + vlen - json));
        pids[n] = arena_xstrdup(pid);
        char *idcopy = arena_xstrndup(ids, strnlen(ids, (size_t)(v + vlen - ids)));
        for (char *save = NULL, *tok = strtok_r(idcopy, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            bids = arena_xrealloc(bids, (n_bids + 1) * sizeof(*bids));
            bids[n_bids++] = arena_xstrdup(tok);
        }
        free(idcopy);
        arena_batch_delete(b, CF_ROWS, k, klen);
        n++;
    }
    arena_store_iter_destroy(it);
    if (n == 0) {
        g->rows = 0;
        arena_batch_destroy(b);
        free(rows);
        free(pids);
        free(bids);
        return;
    }
    char shard_id[128], errstr[512];
    snprintf(shard_id, sizeof(shard_id), "%s-r%u-p%d-%06llu", kind_name(g->kind), g->round,
             (int)g->partition, (unsigned long long)g->next_shard);
    /* the manifest (written beside the shard by curator_shard_write): provenance and the policy
     * in force; it owns every string and array handed to it (curator_manifest_fini) */
    Arena__V1__ShardManifest man = ARENA__V1__SHARD_MANIFEST__INIT;
    man.round = g->round;
    man.kind = (Arena__V1__ShardKind)g->kind;
    man.partition = (uint32_t)g->partition;
    man.seq = (uint32_t)g->next_shard;
    man.target_model = arena_xstrdup(c->pol.target ? c->pol.target : "");
    man.min_gap =
        g->kind == CURATOR_EXAMPLE_SFT
            ? curator_gap_for_round(c->sft_gaps, c->n_sft_gaps, c->pol.sft_min_gap, g->round)
        : g->kind == CURATOR_EXAMPLE_DPO
            ? curator_gap_for_round(c->dpo_gaps, c->n_dpo_gaps, c->pol.dpo_min_gap, g->round)
            : 0.0;
    man.n_prompt_ids = n;
    man.prompt_ids = pids;
    man.n_battle_ids = n_bids;
    man.battle_ids = bids;
    man.created_at_ms = arena_now_ms();
    arena_err_t err =
        curator_shard_write(c->shard_dir, shard_id, (const char *const *)rows, n,
                            c->svc->cfg->curator.compression, &man, errstr, sizeof(errstr));
    if (err == ARENA_ERR_OK) {
        uint64_t next_shard = g->next_shard + 1;
        char mk[96];
        group_meta_key("shardseq", g, mk, sizeof(mk));
        arena_batch_put_u64(b, CF_META, mk, next_shard);
        if (arena_store_write(c->store, b, false, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
            arena_service_error(c->svc, "state write failed: %s", errstr);
            arena_stop_requested = 1;
        } else {
            g->next_shard = next_shard;
            g->rows -= n;
            size_t len;
            void *buf = arena_codec_encode(&man.base, &len);
            arena_producer_send(c->producer, ARENA_TOPIC_SHARDS, -1, man.shard_id,
                                strlen(man.shard_id), buf, len, "arena.v1.ShardManifest", NULL,
                                NULL);
            free(buf);
            c->shards++;
            arena_metric_inc(c->m_shards[g->kind]);
            ARENA_INFO("event=shard_written shard_id=%s rows=%zu path=%s", shard_id, n, man.path);
        }
    } else {
        arena_service_error(c->svc, "shard %s not written: %s", shard_id, errstr);
    }
    curator_manifest_fini(&man);
    for (size_t i = 0; i < n; i++) {
        free(rows[i]);
    }
    free(rows);
    arena_batch_destroy(b);
}

/* Shard boundaries depend only on the order of the results within each partition (so a
 * re-run over the same arena.battles.results gives byte-identical shards): a full shard every
 * shard_size rows; the rest of a round's group once the round is complete on its partition (a
 * later round's result arrived there and no prompt of the round is pending there); the rest of
 * every group at shutdown or on the "flush" control command. flush_ms > 0 adds time-based cuts
 * of idle groups (not deterministic). */
static void maybe_cut_shards(struct curator *c, bool force)
{
    const struct arena_config *cfg = c->svc->cfg;
    int64_t now = arena_mono_ms();
    int64_t size = cfg->curator.shard_size > 0 ? cfg->curator.shard_size : 1000;
    for (struct row_group *g = c->groups; g; g = g->next) {
        while (g->rows > 0) {
            bool full = (int64_t)g->rows >= size;
            bool round_done = g->round > 0 && g->round < part_max_round(c, g->partition) &&
                              rpart_get(c, g->round, g->partition)->pending == 0;
            bool idle = cfg->curator.flush_ms > 0 && now - g->last_add_ms >= cfg->curator.flush_ms;
            if (!full && !round_done && !idle && !force) {
                break;
            }
            uint64_t *counter = full         ? &c->cuts_count
                                : round_done ? &c->cuts_round
                                : force      ? &c->cuts_final
                                             : &c->cuts_idle;
            uint64_t before = g->rows;
            cut_shard(c, g);
            if (g->rows >= before || arena_stop_requested) {
                break;
            }
            (*counter)++;
        }
    }
}

static json_t *ctl_flush(void *ctx, const char *cmd, json_t *args)
{
    struct curator *c = ctx;
    (void)cmd;
    (void)args;
    uint64_t before = c->shards;
    maybe_cut_shards(c, true);
    arena_producer_flush(c->producer, 10000);
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "shards_cut", json_integer((json_int_t)(c->shards - before)));
    return o;
}

/* One input record, in its own WriteBatch together with its offset. */
static void handle_message(struct curator *c, struct arena_msg *m, struct arena_batch *b)
{
    Arena__V1__BattleResult *res = NULL;
    char errstr[256];
    arena_batch_clear(b);
    arena_batch_set_offset(b, m->topic, m->partition, m->offset + 1);
    c->consumed++;
    arena_metric_inc(c->m_consumed);
    arena_err_t err =
        arena_codec_decode(&arena__v1__battle_result__descriptor, m->value, m->value_len,
                           m->message_type, (ProtobufCMessage **)&res, errstr, sizeof(errstr));
    struct pending_prompt *complete = NULL;
    bool added = false;
    char key[40];
    size_t klen = 0;
    if (err != ARENA_ERR_OK) {
        arena_service_dlq(c->svc, c->producer, m, err, errstr);
        arena_producer_flush(c->producer, 10000);
    } else {
        const char *id = res->battle_id;
        klen = prompt_key(res->round, res->prompt_id, key);
        part_saw_round(c, m->partition, res->round);
        if (arena_store_exists(c->store, CF_SEEN, id, strlen(id)) ||
            arena_store_exists(c->store, CF_DONE, key, klen)) {
            c->duplicates++;
            arena_metric_inc(c->m_dup);
        } else {
            struct pending_prompt *p =
                pending_get(c, key, klen, m->partition, res->battles_in_prompt);
            bool dup = false;
            for (size_t i = 0; i < p->n; i++) {
                dup = dup || !strcmp(p->battles[i]->battle_id, id);
            }
            if (dup) {
                c->duplicates++;
                arena_metric_inc(c->m_dup);
            } else {
                arena_batch_put(b, CF_SEEN, id, strlen(id), "1", 1);
                char pk[80];
                memcpy(pk, key, klen);
                pk[klen] = '/';
                size_t idl = strnlen(id, 32);
                memcpy(pk + klen + 1, id, idl);
                /* value: partition BE + the record bytes */
                char *v = arena_xmalloc(m->value_len + 4);
                arena_be32((uint32_t)m->partition, (uint8_t *)v);
                memcpy(v + 4, m->value, m->value_len);
                arena_batch_put(b, CF_PENDING, pk, klen + 1 + idl, v, m->value_len + 4);
                free(v);
                pending_add(p, res);
                added = true;
                if (p->expected == 0 || p->n >= p->expected) {
                    complete_prompt(c, b, p);
                    complete = p;
                }
            }
        }
    }
    if (arena_store_write(c->store, b, false, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        arena_service_error(c->svc, "state write failed: %s", errstr);
        arena_stop_requested = 1; /* restart replays from the last stored offset */
    }
    if (complete) {
        pending_remove(c, complete);
    }
    if (!added) {
        arena_codec_free((ProtobufCMessage *)res);
    }
}

static json_t *status_cb(void *ctx)
{
    struct curator *c = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "consumed", json_integer((json_int_t)c->consumed));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)c->duplicates));
    json_object_set_new(o, "prompts_pending", json_integer((json_int_t)c->n_pending));
    json_object_set_new(o, "prompts_done", json_integer((json_int_t)c->prompts_done));
    json_object_set_new(o, "sft_examples", json_integer((json_int_t)c->examples[1]));
    json_object_set_new(o, "dpo_examples", json_integer((json_int_t)c->examples[2]));
    json_object_set_new(o, "rm_examples", json_integer((json_int_t)c->examples[3]));
    json_object_set_new(o, "shards", json_integer((json_int_t)c->shards));
    json_object_set_new(o, "lag", json_integer(arena_consumer_lag(c->consumer)));
    json_object_set_new(o, "in_flight", json_integer((json_int_t)c->n_pending));
    json_t *cuts = json_object();
    json_object_set_new(cuts, "full", json_integer((json_int_t)c->cuts_count));
    json_object_set_new(cuts, "round_complete", json_integer((json_int_t)c->cuts_round));
    json_object_set_new(cuts, "final", json_integer((json_int_t)c->cuts_final));
    json_object_set_new(cuts, "idle", json_integer((json_int_t)c->cuts_idle));
    json_object_set_new(o, "cuts", cuts);
    json_t *sg = json_array(), *dg = json_array();
    for (size_t i = 0; i < c->n_sft_gaps; i++) {
        json_array_append_new(sg, json_real(c->sft_gaps[i]));
    }
    for (size_t i = 0; i < c->n_dpo_gaps; i++) {
        json_array_append_new(dg, json_real(c->dpo_gaps[i]));
    }
    json_object_set_new(o, "sft_min_gap_by_round", sg);
    json_object_set_new(o, "dpo_min_gap_by_round", dg);
    return o;
}

struct curator *curator_new(struct arena_service *svc, char *errstr, size_t errstr_size)
{
    const struct arena_config *cfg = svc->cfg;
    struct curator *c = arena_xcalloc(1, sizeof(*c));
    c->svc = svc;
    c->table_size = 4096;
    c->table = arena_xcalloc(c->table_size, sizeof(*c->table));
    c->pol.target = cfg->sampler.target && *cfg->sampler.target ? cfg->sampler.target : NULL;
    c->pol.sft_min_gap = cfg->curator.sft_min_gap;
    c->pol.dpo_min_gap = cfg->curator.dpo_min_gap;
    c->pol.reward_pairs = cfg->curator.reward_pairs;
    if (curator_gaps_parse((const char *const *)cfg->curator.sft_min_gap_by_round.v,
                           cfg->curator.sft_min_gap_by_round.n, "curator.sft_min_gap_by_round",
                           &c->sft_gaps, errstr, errstr_size) != ARENA_ERR_OK ||
        curator_gaps_parse((const char *const *)cfg->curator.dpo_min_gap_by_round.v,
                           cfg->curator.dpo_min_gap_by_round.n, "curator.dpo_min_gap_by_round",
                           &c->dpo_gaps, errstr, errstr_size) != ARENA_ERR_OK) {
        curator_destroy(c);
        return NULL;
    }
    c->n_sft_gaps = c->sft_gaps ? cfg->curator.sft_min_gap_by_round.n : 0;
    c->n_dpo_gaps = c->dpo_gaps ? cfg->curator.dpo_min_gap_by_round.n : 0;
    c->shard_dir = arena_xstrdup(cfg->curator.shard_dir);
    if (arena_mkdirs(c->shard_dir, errstr, errstr_size) != 0) {
        curator_destroy(c);
        return NULL;
    }
    c->store = arena_store_open(svc->svc->state_dir, curator_cfs, 5, errstr, errstr_size);
    if (!c->store) {
        curator_destroy(c);
        return NULL;
    }
    recover(c);
    c->producer = arena_producer_new(cfg, "curator", errstr, errstr_size);
    if (!c->producer) {
        curator_destroy(c);
        return NULL;
    }
    const char *topics[] = {ARENA_TOPIC_RESULTS, NULL};
    struct arena_consumer_opts co = {
        .mode = ARENA_CONSUMER_GROUP,
        .group_id = svc->svc->group_id,
        .topics = topics,
        .offsets = arena_store_offset_provider,
        .ctx = c->store,
        .client_id = "curator",
    };
    c->consumer = arena_consumer_new(cfg, &co, errstr, errstr_size);
    if (!c->consumer) {
        curator_destroy(c);
        return NULL;
    }
    char lbl[64];
    snprintf(lbl, sizeof(lbl), "topic=\"%s\"", ARENA_TOPIC_RESULTS);
    c->m_consumed = arena_metrics_counter(svc->metrics, "arena_messages_consumed_total",
                                          "Messages consumed", lbl);
    c->m_lag = arena_metrics_gauge(svc->metrics, "arena_consumer_lag_messages",
                                   "Messages behind the high watermark", lbl);
    c->m_dup = arena_metrics_counter(svc->metrics, "arena_battles_duplicate_total",
                                     "Replayed battle ids ignored", "");
    for (int k = 1; k < KIND_COUNT; k++) {
        snprintf(lbl, sizeof(lbl), "kind=\"%s\"", kind_name((uint8_t)k));
        c->m_examples[k] = arena_metrics_counter(svc->metrics, "arena_curator_examples_total",
                                                 "Training examples selected", lbl);
        c->m_shards[k] = arena_metrics_counter(svc->metrics, "arena_curator_shards_total",
                                               "Shards written", lbl);
    }
    svc->status_fn = status_cb;
    svc->status_ctx = c;
    if (svc->ctl) {
        arena_ctl_register(svc->ctl, "flush", ctl_flush, c);
    }
    return c;
}

int curator_run(struct curator *c)
{
    struct arena_service *svc = c->svc;
    struct arena_batch *b = arena_batch_new();
    int64_t last_gauge = 0;
    int64_t batch = svc->svc->batch_size > 0 ? svc->svc->batch_size : 500;
    arena_service_set_ready(svc, true);
    ARENA_INFO("event=started pending_prompts=%zu shard_dir=%s", c->n_pending, c->shard_dir);
    while (!arena_service_stopping(svc)) {
        arena_service_tick(svc);
        if (svc->paused) {
            arena_consumer_pause(c->consumer);
            while (svc->paused && !arena_service_stopping(svc)) {
                arena_service_tick(svc);
                arena_consumer_poll(c->consumer, 100);
            }
            arena_consumer_resume(c->consumer);
            continue;
        }
        int wait = 100;
        for (int64_t i = 0; i < batch && !arena_stop_requested; i++) {
            struct arena_msg *m = arena_consumer_poll(c->consumer, wait);
            if (!m) {
                break;
            }
            wait = 0;
            handle_message(c, m, b);
            arena_msg_destroy(m);
        }
        maybe_cut_shards(c, false);
        arena_producer_poll(c->producer, 0);
        int64_t now = arena_mono_ms();
        if (now - last_gauge >= 1000) {
            arena_metric_set(c->m_lag, (double)arena_consumer_lag(c->consumer));
            last_gauge = now;
        }
    }
    /* rows already selected are durable in RocksDB: cut what is there so nothing waits */
    maybe_cut_shards(c, true);
    arena_producer_flush(c->producer, 10000);
    arena_batch_destroy(b);
    ARENA_INFO("event=stopped prompts_done=%llu shards=%llu", (unsigned long long)c->prompts_done,
               (unsigned long long)c->shards);
    return 0;
}

void curator_destroy(struct curator *c)
{
    if (!c) {
        return;
    }
    if (c->svc && c->svc->status_ctx == c) {
        c->svc->status_fn = NULL;
        c->svc->status_ctx = NULL;
    }
    arena_consumer_destroy(c->consumer);
    arena_producer_destroy(c->producer);
    arena_store_close(c->store);
    for (size_t i = 0; c->table && i < c->table_size; i++) {
        while (c->table[i]) {
            pending_remove(c, c->table[i]);
        }
    }
    free(c->table);
    while (c->groups) {
        struct row_group *g = c->groups;
        c->groups = g->next;
        free(g);
    }
    while (c->rparts) {
        struct round_part *r = c->rparts;
        c->rparts = r->next;
        free(r);
    }
    while (c->pmax) {
        struct part_max *m = c->pmax;
        c->pmax = m->next;
        free(m);
    }
    free(c->sft_gaps);
    free(c->dpo_gaps);
    free(c->shard_dir);
    free(c);
}
