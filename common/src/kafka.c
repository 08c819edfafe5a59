/* kafka.c - librdkafka wrappers (see kafka.h).
 *
 * Configuration: every `kafka:` key of the config is applied verbatim first; our defaults are
 * applied only to keys the user did not set. librdkafka's log and error events are bridged to
 * ARENA_LOG. Consumer-only keys on a producer (and the reverse) are accepted by librdkafka with
 * a warning, so one `kafka:` section serves both. */
#include "arena/kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "arena/log.h"
#include "arena/topics.h"
#include "arena/util.h"

#define KAFKA_ERRSTR 512
#define KAFKA_TOPIC_WAIT_MS 30000

/* ---- shared helpers ---- */

static arena_err_t kafka_err(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return ARENA_ERR_OK;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return ARENA_ERR_TIMEOUT;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return ARENA_ERR_BUSY;
    case RD_KAFKA_RESP_ERR__FATAL:
        return ARENA_ERR_KAFKA_FATAL;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        return ARENA_ERR_LIMIT;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return ARENA_ERR_INVALID;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        return ARENA_ERR_NOT_FOUND;
    default:
        return ARENA_ERR_KAFKA;
    }
}

/* syslog levels -> ours; the line is quoted logfmt (double quotes turned into single ones) */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    int lvl = level <= 3   ? ARENA_LOG_ERROR
              : level == 4 ? ARENA_LOG_WARN
              : level <= 6 ? ARENA_LOG_INFO
                           : ARENA_LOG_DEBUG;
    /* one shared `kafka:` section serves producers and consumers alike: the warning that a
     * property belongs to the other client type is expected, not actionable */
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "property and will be ignored by this")) {
        lvl = ARENA_LOG_DEBUG;
    }
    if (lvl < arena_log_level) {
        return;
    }
    char line[1024];
    size_t i = 0;
    for (; buf[i] && i < sizeof(line) - 1; i++) {
        line[i] = buf[i] == '"' ? '\'' : (buf[i] == '\n' ? ' ' : buf[i]);
    }
    line[i] = '\0';
    ARENA_LOG(lvl, "event=rdkafka client=%s fac=%s msg=\"%s\"", rd_kafka_name(rk), fac, line);
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fr[KAFKA_ERRSTR];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fr, sizeof(fr));
        ARENA_ERROR("event=kafka_fatal client=%s err=%s reason=\"%s\"", rd_kafka_name(rk),
                    rd_kafka_err2name(orig), fr);
        return;
    }
    /* connection failures are already logged by the log bridge (facility FAIL) */
    int lvl = err == RD_KAFKA_RESP_ERR__TRANSPORT ? ARENA_LOG_DEBUG : ARENA_LOG_WARN;
    ARENA_LOG(lvl, "event=kafka_error client=%s err=%s reason=\"%s\"", rd_kafka_name(rk),
              rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static bool user_has(const struct arena_config *cfg, const char *key)
{
    if (!cfg) {
        return false;
    }
    for (size_t i = 0; i < cfg->kafka_keys.n; i++) {
        if (strcmp(cfg->kafka_keys.v[i], key) == 0) {
            return true;
        }
    }
    return false;
}

static const char *user_value(const struct arena_config *cfg, const char *key)
{
    if (!cfg) {
        return NULL;
    }
    const char *v = NULL;
    for (size_t i = 0; i < cfg->kafka_keys.n && i < cfg->kafka_values.n; i++) {
        if (strcmp(cfg->kafka_keys.v[i], key) == 0) {
            v = cfg->kafka_values.v[i]; /* last one wins, as librdkafka would apply it */
        }
    }
    return v;
}

static bool conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, char *errstr,
                     size_t errstr_size)
{
    char es[KAFKA_ERRSTR];
    if (arena_config_kafka_is_secret(key)) {
        arena_log_add_secret(val); /* configs built in code skip config.c's registration */
    }
    if (rd_kafka_conf_set(conf, key, val, es, sizeof(es)) != RD_KAFKA_CONF_OK) {
        /* librdkafka quotes the rejected value: a secret never reaches the error string */
        char *safe = arena_log_redact(es);
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "kafka.%s: %s", key, safe);
        free(safe);
        return false;
    }
    return true;
}

static bool conf_default(const struct arena_config *cfg, rd_kafka_conf_t *conf, const char *key,
                         const char *val, char *errstr, size_t errstr_size)
{
    if (user_has(cfg, key)) {
        return true;
    }
    return conf_set(conf, key, val, errstr, errstr_size);
}

/* user keys verbatim, then client.id and the log bridge */
static rd_kafka_conf_t *kafka_conf_new(const struct arena_config *cfg, const char *client_id,
                                       char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (cfg) {
        if (cfg->kafka_keys.n != cfg->kafka_values.n) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "kafka: %zu keys but %zu values in the config", cfg->kafka_keys.n,
                          cfg->kafka_values.n);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        for (size_t i = 0; i < cfg->kafka_keys.n; i++) {
            if (!conf_set(conf, cfg->kafka_keys.v[i], cfg->kafka_values.v[i], errstr,
                          errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
            }
        }
    }
    if (client_id && *client_id &&
        !conf_default(cfg, conf, "client.id", client_id, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (!user_has(cfg, "bootstrap.servers") && !user_has(cfg, "metadata.broker.list") &&
        !user_has(cfg, "test.mock.num.brokers")) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "kafka.bootstrap.servers is not set (config kafka: section or "
                      "ARENA_KAFKA_BOOTSTRAP_SERVERS)");
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    return conf;
}

/* ---- producer ---- */

struct arena_producer {
    rd_kafka_t *rk;
    arena_dr_cb *dr_cb;
    void *dr_ctx;
    uint64_t failed;
    uint64_t failed_logged;
};

static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    struct arena_producer *p = opaque;
    arena_err_t err = kafka_err(rkm->err);
    const char *errmsg = NULL;
    if (rkm->err) {
        if (err == ARENA_ERR_OK) {
            err = ARENA_ERR_KAFKA;
        }
        errmsg = rd_kafka_err2str(rkm->err);
        p->failed++;
        /* log the first failures and then every 1000th: a broker outage fails many at once */
        if (p->failed <= 10 || p->failed % 1000 == 0) {
            ARENA_ERROR(
                "event=kafka_delivery_failed topic=%s partition=%d err=%s failed_total=%llu",
                rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "?", (int)rkm->partition,
                rd_kafka_err2name(rkm->err), (unsigned long long)p->failed);
        }
    }
    if (p->dr_cb) {
        p->dr_cb(p->dr_ctx, rkm->_private, err, errmsg);
    }
}

struct arena_producer *arena_producer_new(const struct arena_config *cfg, const char *client_id,
                                          char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = kafka_conf_new(cfg, client_id, errstr, errstr_size);
    if (!conf) {
        return NULL;
    }
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "5"},
        {"queue.buffering.max.messages", "1000000"},
        {"compression.codec", "none"},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        if (!conf_default(cfg, conf, defaults[i][0], defaults[i][1], errstr, errstr_size)) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    struct arena_producer *p = arena_xcalloc(1, sizeof(*p));
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
    char es[KAFKA_ERRSTR];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof(es));
    if (!p->rk) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA, "kafka producer: %s", es);
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    ARENA_DEBUG("event=kafka_producer_new client=%s", rd_kafka_name(p->rk));
    return p;
}

void arena_producer_set_dr_cb(struct arena_producer *p, arena_dr_cb *cb, void *ctx)
{
    if (p) {
        p->dr_cb = cb;
        p->dr_ctx = ctx;
    }
}

arena_err_t arena_producer_send(struct arena_producer *p, const char *topic, int32_t partition,
                                const void *key, size_t key_len, const void *value,
                                size_t value_len, const char *message_type,
                                const char *const *extra_headers, void *msg_opaque)
{
    if (!p || !topic || !*topic || (!key && key_len) || (!value && value_len)) {
        ARENA_ERROR("event=kafka_send_invalid topic=%s", topic ? topic : "(null)");
        return ARENA_ERR_INVALID;
    }
    rd_kafka_headers_t *hdrs = NULL;
    if (message_type || (extra_headers && extra_headers[0])) {
        hdrs = rd_kafka_headers_new(4);
        if (message_type) {
            rd_kafka_header_add(hdrs, ARENA_HDR_CONTENT_TYPE, -1, ARENA_CONTENT_TYPE_PROTOBUF, -1);
            rd_kafka_header_add(hdrs, ARENA_HDR_MESSAGE_TYPE, -1, message_type, -1);
        }
        for (size_t i = 0; extra_headers && extra_headers[i]; i += 2) {
            if (!extra_headers[i + 1]) {
                ARENA_ERROR("event=kafka_send_invalid topic=%s header=%s msg=\"header without "
                            "value\"",
                            topic, extra_headers[i]);
                rd_kafka_headers_destroy(hdrs);
                return ARENA_ERR_INVALID;
            }
            rd_kafka_header_add(hdrs, extra_headers[i], -1, extra_headers[i + 1], -1);
        }
    }
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            return ARENA_ERR_OK; /* headers now belong to the message */
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(p->rk, 100); /* serve delivery reports to make room */
            continue;
        }
        if (hdrs) {
            rd_kafka_headers_destroy(hdrs);
        }
        if (e == RD_KAFKA_RESP_ERR__FATAL) {
            char fr[KAFKA_ERRSTR];
            rd_kafka_fatal_error(p->rk, fr, sizeof(fr));
            ARENA_ERROR("event=kafka_send_failed topic=%s err=fatal reason=\"%s\"", topic, fr);
        } else {
            ARENA_ERROR("event=kafka_send_failed topic=%s partition=%d err=%s", topic,
                        (int)partition, rd_kafka_err2name(e));
        }
        arena_err_t ae = kafka_err(e);
        return ae == ARENA_ERR_OK ? ARENA_ERR_KAFKA : ae;
    }
}

int arena_producer_poll(struct arena_producer *p, int timeout_ms)
{
    return p ? rd_kafka_poll(p->rk, timeout_ms) : 0;
}

arena_err_t arena_producer_flush(struct arena_producer *p, int timeout_ms)
{
    if (!p) {
        return ARENA_ERR_INVALID;
    }
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || rd_kafka_outq_len(p->rk) > 0) {
        return ARENA_ERR_TIMEOUT;
    }
    return kafka_err(e);
}

int arena_producer_outq_len(struct arena_producer *p)
{
    return p ? rd_kafka_outq_len(p->rk) : 0;
}

uint64_t arena_producer_failed(const struct arena_producer *p)
{
    return p ? p->failed : 0;
}

void arena_producer_destroy(struct arena_producer *p)
{
    if (!p) {
        return;
    }
    if (p->rk) {
        /* the caller's context may be gone: finish deliveries without calling back */
        p->dr_cb = NULL;
        rd_kafka_flush(p->rk, 2000);
        int left = rd_kafka_outq_len(p->rk);
        if (left > 0) {
            ARENA_WARN("event=kafka_producer_destroy undelivered=%d", left);
        }
        rd_kafka_destroy(p->rk);
    }
    free(p);
}

/* ---- consumer ---- */

struct part_start {
    char *topic;
    int32_t partition;
    int64_t offset;     /* >= 0 known; -1 unknown (committed offset not fetched yet) */
    int64_t queried_ms; /* last committed-offset lookup (unknown ones), 0 = never */
};

struct arena_consumer {
    rd_kafka_t *rk;
    enum arena_consumer_mode mode;
    char **topics;
    size_t n_topics;
    arena_offset_provider *offsets;
    arena_rebalance_cb *rebalance;
    void *ctx;
    uint64_t errors_logged;
    bool paused; /* wanted state of every assigned partition (arena_consumer_pause/resume) */
    /* Where each assigned partition started (for the lag of partitions that delivered nothing
     * since their assignment: rd_kafka_position() knows only consumed messages). */
    struct part_start *starts;
    size_t n_starts, cap_starts;
};

struct kafka_msg {
    struct arena_msg m;
    char mt[]; /* message-type copy */
};

static struct part_start *start_find(struct arena_consumer *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->n_starts; i++) {
        if (c->starts[i].partition == partition && strcmp(c->starts[i].topic, topic) == 0) {
            return &c->starts[i];
        }
    }
    return NULL;
}

static void start_set(struct arena_consumer *c, const char *topic, int32_t partition,
                      int64_t offset)
{
    struct part_start *ps = start_find(c, topic, partition);
    if (!ps) {
        if (c->n_starts == c->cap_starts) {
            c->cap_starts = c->cap_starts ? c->cap_starts * 2 : 64;
            c->starts = arena_xrealloc(c->starts, c->cap_starts * sizeof(*c->starts));
        }
        ps = &c->starts[c->n_starts++];
        ps->topic = arena_xstrdup(topic);
        ps->partition = partition;
    }
    ps->offset = offset >= 0 ? offset : -1;
    ps->queried_ms = 0;
}

static void start_forget(struct arena_consumer *c, const char *topic, int32_t partition)
{
    struct part_start *ps = start_find(c, topic, partition);
    if (ps) {
        free(ps->topic);
        *ps = c->starts[--c->n_starts];
    }
}

static void apply_provider(struct arena_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t off;
        if (c->offsets && c->offsets(c->ctx, tp->topic, tp->partition, &off)) {
            tp->offset = off;
        } else {
            tp->offset = RD_KAFKA_OFFSET_STORED; /* committed, else auto.offset.reset */
        }
        start_set(c, tp->topic, tp->partition, tp->offset);
        ARENA_DEBUG("event=kafka_assign topic=%s partition=%d offset=%lld", tp->topic,
                    (int)tp->partition, (long long)tp->offset);
    }
}

static void notify(struct arena_consumer *c, bool assigned,
                   const rd_kafka_topic_partition_list_t *parts)
{
    if (!c->rebalance) {
        return;
    }
    for (int i = 0; i < parts->cnt; i++) {
        c->rebalance(c->ctx, assigned, parts->elems[i].topic, parts->elems[i].partition);
    }
}

/* Pause or resume exactly `parts` (application pause flag); errors are logged. */
static void consumer_apply_pause(struct arena_consumer *c, rd_kafka_topic_partition_list_t *parts,
                                 bool pause, const char *why)
{
    if (!parts || parts->cnt == 0) {
        return;
    }
    rd_kafka_resp_err_t e =
        pause ? rd_kafka_pause_partitions(c->rk, parts) : rd_kafka_resume_partitions(c->rk, parts);
    if (e) {
        ARENA_WARN("event=kafka_%s_failed on=%s partitions=%d err=%s", pause ? "pause" : "resume",
                   why, parts->cnt, rd_kafka_err2name(e));
        return;
    }
    ARENA_DEBUG("event=kafka_%s on=%s partitions=%d", pause ? "pause" : "resume", why, parts->cnt);
}

static void consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct arena_consumer *c = opaque;
    bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        apply_provider(c, parts);
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e) {
                ARENA_ERROR("event=kafka_assign_failed err=\"%s\"", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                return;
            }
        } else {
            rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
            if (e) {
                ARENA_ERROR("event=kafka_assign_failed err=%s", rd_kafka_err2name(e));
                return;
            }
        }
        /* librdkafka keeps a partition's application pause flag across unassign/assign:
         * a partition paused before a rebalance comes back paused, while a resume issued
         * between the revocation and the new assignment finds no partition to resume. Give
         * every newly assigned partition the state the application asked for last. */
        consumer_apply_pause(c, parts, c->paused, "assign");
        notify(c, true, parts);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        ARENA_INFO("event=kafka_revoke partitions=%d lost=%d paused=%d", parts->cnt,
                   rd_kafka_assignment_lost(rk), c->paused);
        notify(c, false, parts);
        /* drop the pause flag with the partition (see above): never leave a stale one */
        consumer_apply_pause(c, parts, false, "revoke");
        for (int i = 0; i < parts->cnt; i++) {
            start_forget(c, parts->elems[i].topic, parts->elems[i].partition);
        }
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
            if (e) {
                ARENA_ERROR("event=kafka_unassign_failed err=\"%s\"", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_assign(rk, NULL);
        }
        return;
    }
    ARENA_ERROR("event=kafka_rebalance_error err=%s", rd_kafka_err2name(err));
    rd_kafka_assign(rk, NULL);
}

/* Partitions of one topic via metadata; -1 when it does not exist (yet), -2 on other errors.
 * Asks for all topics on purpose: a request naming the topic may auto-create it (brokers with
 * auto.create.topics.enable, and always on the mock cluster, which answers Metadata v0-2). */
static int topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                            size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (e) {
        arena_err_set(errstr, errstr_size, kafka_err(e), "metadata for %s: %s", topic,
                      rd_kafka_err2str(e));
        return -2;
    }
    int n = -1;
    arena_err_set(errstr, errstr_size, ARENA_ERR_NOT_FOUND, "topic %s does not exist", topic);
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) != 0) {
            continue;
        }
        if (md->topics[i].err) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_NOT_FOUND, "topic %s: %s", topic,
                          rd_kafka_err2str(md->topics[i].err));
            n = md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? -1 : -2;
        } else {
            n = md->topics[i].partition_cnt;
        }
    }
    rd_kafka_metadata_destroy(md);
    return n;
}

static bool consumer_assign_all(struct arena_consumer *c, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(64);
    for (size_t t = 0; t < c->n_topics; t++) {
        int64_t deadline = arena_mono_ms() + KAFKA_TOPIC_WAIT_MS;
        int n;
        bool logged = false;
        char es[KAFKA_ERRSTR] = "";
        for (;;) {
            n = topic_partitions(c->rk, c->topics[t], 5000, es, sizeof(es));
            if (n > 0 || arena_mono_ms() >= deadline) {
                break;
            }
            if (!logged) {
                ARENA_WARN("event=kafka_wait_topic topic=%s reason=\"%s\" wait_ms=%d", c->topics[t],
                           es, KAFKA_TOPIC_WAIT_MS);
                logged = true;
            }
            usleep(500 * 1000);
        }
        if (n <= 0) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA,
                          "kafka consumer: topic %s unavailable after %d ms: %s", c->topics[t],
                          KAFKA_TOPIC_WAIT_MS, es);
            rd_kafka_topic_partition_list_destroy(parts);
            return false;
        }
        for (int p = 0; p < n; p++) {
            rd_kafka_topic_partition_list_add(parts, c->topics[t], p);
        }
    }
    apply_provider(c, parts);
    rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, parts);
    if (e) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA, "kafka consumer: assign: %s",
                      rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(parts);
        return false;
    }
    notify(c, true, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return true;
}

struct arena_consumer *arena_consumer_new(const struct arena_config *cfg,
                                          const struct arena_consumer_opts *opts, char *errstr,
                                          size_t errstr_size)
{
    if (!opts || !opts->topics || !opts->topics[0]) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "kafka consumer: no topics");
        return NULL;
    }
    if (opts->mode != ARENA_CONSUMER_GROUP && opts->mode != ARENA_CONSUMER_ASSIGN_ALL) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "kafka consumer: bad mode %d",
                      (int)opts->mode);
        return NULL;
    }
    char gid[256];
    if (opts->group_id && *opts->group_id) {
        snprintf(gid, sizeof(gid), "%s", opts->group_id);
    } else if (opts->mode == ARENA_CONSUMER_GROUP && user_value(cfg, "group.id")) {
        snprintf(gid, sizeof(gid), "%s", user_value(cfg, "group.id"));
    } else if (opts->mode == ARENA_CONSUMER_GROUP) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "kafka consumer: group mode needs a group id (service group_id or "
                      "kafka.group.id)");
        return NULL;
    } else {
        /* unique per consumer: ASSIGN_ALL readers resume from their own offset provider */
        snprintf(gid, sizeof(gid), "arena-%s-%ld-%llx",
                 opts->client_id && *opts->client_id ? opts->client_id : "consumer", (long)getpid(),
                 (unsigned long long)arena_mono_us());
    }

    rd_kafka_conf_t *conf = kafka_conf_new(cfg, opts->client_id, errstr, errstr_size);
    if (!conf) {
        return NULL;
    }
    static const char *const defaults[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "false"},
    };
    bool ok = conf_set(conf, "group.id", gid, errstr, errstr_size);
    for (size_t i = 0; ok && i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        ok = conf_default(cfg, conf, defaults[i][0], defaults[i][1], errstr, errstr_size);
    }
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }

    struct arena_consumer *c = arena_xcalloc(1, sizeof(*c));
    c->mode = opts->mode;
    c->offsets = opts->offsets;
    c->rebalance = opts->rebalance;
    c->ctx = opts->ctx;
    for (const char *const *t = opts->topics; *t; t++) {
        c->n_topics++;
    }
    c->topics = arena_xcalloc(c->n_topics, sizeof(char *));
    for (size_t i = 0; i < c->n_topics; i++) {
        c->topics[i] = arena_xstrdup(opts->topics[i]);
    }
    rd_kafka_conf_set_opaque(conf, c);
    if (c->mode == ARENA_CONSUMER_GROUP) {
        rd_kafka_conf_set_rebalance_cb(conf, consumer_rebalance_cb);
    }
    char es[KAFKA_ERRSTR];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof(es));
    if (!c->rk) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA, "kafka consumer: %s", es);
        rd_kafka_conf_destroy(conf);
        arena_consumer_destroy(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->rk); /* serve errors/logs from consumer_poll */

    if (c->mode == ARENA_CONSUMER_GROUP) {
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new((int)c->n_topics);
        for (size_t i = 0; i < c->n_topics; i++) {
            rd_kafka_topic_partition_list_add(sub, c->topics[i], RD_KAFKA_PARTITION_UA);
        }
        rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (e) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA, "kafka consumer: subscribe: %s",
                          rd_kafka_err2str(e));
            arena_consumer_destroy(c);
            return NULL;
        }
    } else if (!consumer_assign_all(c, errstr, errstr_size)) {
        arena_consumer_destroy(c);
        return NULL;
    }
    ARENA_INFO("event=kafka_consumer_new client=%s group=%s mode=%s topics=%zu",
               rd_kafka_name(c->rk), gid, c->mode == ARENA_CONSUMER_GROUP ? "group" : "assign_all",
               c->n_topics);
    return c;
}

void arena_msg_destroy(struct arena_msg *m)
{
    if (!m) {
        return;
    }
    if (m->rkm) {
        rd_kafka_message_destroy(m->rkm);
    }
    free(m);
}

static bool msg_header(rd_kafka_message_t *rkm, const char *name, const void **val, size_t *len)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return false;
    }
    return rd_kafka_header_get_last(hdrs, name, val, len) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

arena_err_t arena_msg_header(const struct arena_msg *m, const char *name, char **out)
{
    if (!m || !m->rkm || !name || !out) {
        return ARENA_ERR_INVALID;
    }
    const void *v = NULL;
    size_t len = 0;
    if (!msg_header(m->rkm, name, &v, &len)) {
        return ARENA_ERR_NOT_FOUND;
    }
    *out = arena_xstrndup(v ? v : "", v ? len : 0);
    return ARENA_ERR_OK;
}

struct arena_msg *arena_consumer_poll(struct arena_consumer *c, int timeout_ms)
{
    if (!c) {
        return NULL;
    }
    int64_t deadline = arena_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int64_t left = deadline - arena_mono_ms();
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, left > 0 ? (int)left : 0);
        if (!rkm) {
            return NULL;
        }
        if (rkm->err) {
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                c->errors_logged++;
                ARENA_WARN("event=kafka_consume_error topic=%s partition=%d err=%s msg=\"%s\"",
                           rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "-", (int)rkm->partition,
                           rd_kafka_err2name(rkm->err), rd_kafka_message_errstr(rkm));
            }
            rd_kafka_message_destroy(rkm);
            if (arena_mono_ms() >= deadline) {
                return NULL;
            }
            continue;
        }
        const void *mt = NULL;
        size_t mt_len = 0;
        bool has_mt = msg_header(rkm, ARENA_HDR_MESSAGE_TYPE, &mt, &mt_len);
        struct kafka_msg *km = arena_xmalloc(sizeof(*km) + (has_mt ? mt_len + 1 : 0));
        memset(&km->m, 0, sizeof(km->m));
        if (has_mt) {
            if (mt_len) {
                memcpy(km->mt, mt, mt_len);
            }
            km->mt[mt_len] = '\0';
            km->m.message_type = km->mt;
        }
        km->m.topic = rd_kafka_topic_name(rkm->rkt);
        km->m.partition = rkm->partition;
        km->m.offset = rkm->offset;
        km->m.key = rkm->key;
        km->m.key_len = rkm->key_len;
        km->m.value = rkm->payload;
        km->m.value_len = rkm->len;
        km->m.rkm = rkm;
        return &km->m;
    }
}

arena_err_t arena_consumer_commit(struct arena_consumer *c, const char *topic, int32_t partition,
                                  int64_t next_offset, bool async)
{
    if (!c || !topic || next_offset < 0) {
        return ARENA_ERR_INVALID;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next_offset;
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, async ? 1 : 0);
    if (!e && !async && l->elems[0].err) {
        e = l->elems[0].err;
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        ARENA_WARN("event=kafka_commit_failed topic=%s partition=%d offset=%lld err=%s", topic,
                   (int)partition, (long long)next_offset, rd_kafka_err2name(e));
        arena_err_t ae = kafka_err(e);
        return ae == ARENA_ERR_OK ? ARENA_ERR_KAFKA : ae;
    }
    return ARENA_ERR_OK;
}

static arena_err_t consumer_pause_resume(struct arena_consumer *c, bool pause)
{
    if (!c) {
        return ARENA_ERR_INVALID;
    }
    /* remembered: partitions assigned later (after a rebalance) get the same state */
    c->paused = pause;
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(c->rk, &l);
    if (!e && l) {
        e = pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
    }
    if (l) {
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (e) {
        ARENA_WARN("event=kafka_%s_failed err=%s", pause ? "pause" : "resume",
                   rd_kafka_err2name(e));
        return ARENA_ERR_KAFKA;
    }
    return ARENA_ERR_OK;
}

arena_err_t arena_consumer_pause(struct arena_consumer *c)
{
    return consumer_pause_resume(c, true);
}

arena_err_t arena_consumer_resume(struct arena_consumer *c)
{
    return consumer_pause_resume(c, false);
}

arena_err_t arena_consumer_seek(struct arena_consumer *c, const char *topic, int32_t partition,
                                int64_t offset)
{
    if (!c || !topic) {
        return ARENA_ERR_INVALID;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_error_t *err = rd_kafka_seek_partitions(c->rk, l, 5000);
    arena_err_t ae = ARENA_ERR_OK;
    if (err) {
        ARENA_WARN("event=kafka_seek_failed topic=%s partition=%d offset=%lld err=\"%s\"", topic,
                   (int)partition, (long long)offset, rd_kafka_error_string(err));
        ae = kafka_err(rd_kafka_error_code(err));
        if (ae == ARENA_ERR_OK) {
            ae = ARENA_ERR_KAFKA;
        }
        rd_kafka_error_destroy(err);
    } else if (l->elems[0].err) {
        ARENA_WARN("event=kafka_seek_failed topic=%s partition=%d offset=%lld err=%s", topic,
                   (int)partition, (long long)offset, rd_kafka_err2name(l->elems[0].err));
        ae = kafka_err(l->elems[0].err);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return ae;
}

/* Fill unknown start offsets of group partitions from their committed offsets (one broker
 * round trip, at most every 5 s while some remain unknown). */
static void starts_query_committed(struct arena_consumer *c,
                                   const rd_kafka_topic_partition_list_t *assigned)
{
    int64_t now = arena_mono_ms();
    rd_kafka_topic_partition_list_t *q = NULL;
    for (int i = 0; i < assigned->cnt; i++) {
        struct part_start *ps =
            start_find(c, assigned->elems[i].topic, assigned->elems[i].partition);
        if (assigned->elems[i].offset >= 0 || !ps || ps->offset >= 0 ||
            (ps->queried_ms && now - ps->queried_ms < 5000)) {
            continue;
        }
        ps->queried_ms = now;
        if (!q) {
            q = rd_kafka_topic_partition_list_new(assigned->cnt);
        }
        rd_kafka_topic_partition_list_add(q, ps->topic, ps->partition);
    }
    if (!q) {
        return;
    }
    if (rd_kafka_committed(c->rk, q, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < q->cnt; i++) {
            struct part_start *ps = start_find(c, q->elems[i].topic, q->elems[i].partition);
            if (ps && !q->elems[i].err) {
                /* nothing committed: the fetch starts per auto.offset.reset (earliest) */
                ps->offset = q->elems[i].offset >= 0 ? q->elems[i].offset : 0;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(q);
}

int64_t arena_consumer_lag(struct arena_consumer *c)
{
    if (!c) {
        return 0;
    }
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) || !l) {
        return 0;
    }
    rd_kafka_position(c->rk, l);
    starts_query_committed(c, l);
    int64_t lag = 0;
    for (int i = 0; i < l->cnt; i++) {
        int64_t lo = -1, hi = -1;
        if (rd_kafka_get_watermark_offsets(c->rk, l->elems[i].topic, l->elems[i].partition, &lo,
                                           &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0) {
            continue;
        }
        int64_t pos = l->elems[i].offset;
        if (pos < 0) {
            /* nothing consumed since the assignment: it started where it was assigned */
            struct part_start *ps = start_find(c, l->elems[i].topic, l->elems[i].partition);
            pos = ps && ps->offset >= 0 ? ps->offset : -1;
        }
        if (pos < 0 || pos < lo) {
            pos = lo >= 0 ? lo : 0; /* from the beginning (or unknown yet) */
        }
        if (hi > pos) {
            lag += hi - pos;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return lag;
}

int arena_consumer_assigned_count(struct arena_consumer *c)
{
    if (!c) {
        return 0;
    }
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) || !l) {
        return 0;
    }
    int n = l->cnt;
    rd_kafka_topic_partition_list_destroy(l);
    return n;
}

void arena_consumer_destroy(struct arena_consumer *c)
{
    if (!c) {
        return;
    }
    if (c->rk) {
        /* leaves the group: the rebalance callback sees the final revocation */
        rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
        if (e) {
            ARENA_WARN("event=kafka_consumer_close err=%s", rd_kafka_err2name(e));
        }
        rd_kafka_destroy(c->rk);
    }
    for (size_t i = 0; i < c->n_topics; i++) {
        free(c->topics[i]);
    }
    free(c->topics);
    for (size_t i = 0; i < c->n_starts; i++) {
        free(c->starts[i].topic);
    }
    free(c->starts);
    free(c);
}

int arena_kafka_partition_count(const struct arena_config *cfg, const char *topic, int timeout_ms,
                                char *errstr, size_t errstr_size)
{
    if (!topic || !*topic) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "partition count: no topic");
        return -1;
    }
    rd_kafka_conf_t *conf = kafka_conf_new(cfg, "arena-metadata", errstr, errstr_size);
    if (!conf) {
        return -1;
    }
    char es[KAFKA_ERRSTR];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof(es));
    if (!rk) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA, "kafka: %s", es);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    int n = topic_partitions(rk, topic, timeout_ms, errstr, errstr_size);
    rd_kafka_destroy(rk);
    return n > 0 ? n : -1;
}
