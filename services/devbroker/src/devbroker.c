/* devbroker.c - the mock Kafka cluster and its fault-injection commands (see devbroker.h). */
#include "devbroker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "arena/ctl.h"
#include "arena/log.h"
#include "arena/topics.h"
#include "arena/util.h"

struct devbroker {
    struct devbroker_opts opts;
    rd_kafka_t *rk; /* the handle the mock cluster hangs off */
    rd_kafka_mock_cluster_t *mcluster;
    char *bootstraps;
    char *bootstrap_file; /* written by us, removed on destroy */
    struct arena_ctl *ctl;
    int64_t started_ms;
    uint64_t commands;
    int topics_created;
    json_t *topics; /* names created, for status */
    bool *down;     /* per broker id (1-based) */
    int *rtt_ms;
};

void devbroker_opts_init(struct devbroker_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->brokers = 1;
    o->partitions = 12;
    o->replication = 1;
}

static void devbroker_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (strstr(buf, "bootstrap.servers")) {
        return; /* the cluster's own handle never connects anywhere: no bootstrap on purpose */
    }
    int lvl = level <= 3 ? ARENA_LOG_ERROR : level == 4 ? ARENA_LOG_WARN : ARENA_LOG_DEBUG;
    if (lvl < arena_log_level) {
        return;
    }
    char line[1024];
    size_t i = 0;
    for (; buf[i] && i < sizeof(line) - 1; i++) {
        line[i] = buf[i] == '"' ? '\'' : (buf[i] == '\n' ? ' ' : buf[i]);
    }
    line[i] = '\0';
    ARENA_LOG(lvl, "event=rdkafka fac=%s msg=\"%s\"", fac, line);
}

/* ---- names ---- */

static const struct {
    const char *name;
    int key;
} api_keys[] = {
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Metadata", 3},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"DescribeGroups", 15},
    {"ListGroups", 16},
    {"SaslHandshake", 17},
    {"ApiVersions", 18},
    {"CreateTopics", 19},
    {"DeleteTopics", 20},
    {"DeleteRecords", 21},
    {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

static bool parse_int(const char *s, long *out)
{
    if (!s || !*s) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end) {
        return false;
    }
    *out = v;
    return true;
}

int devbroker_api_key(const char *name)
{
    long v;
    if (!name) {
        return -1;
    }
    if (parse_int(name, &v)) {
        return v >= 0 && v < 100 ? (int)v : -1;
    }
    for (size_t i = 0; i < sizeof(api_keys) / sizeof(api_keys[0]); i++) {
        if (strcasecmp(api_keys[i].name, name) == 0) {
            return api_keys[i].key;
        }
    }
    return -1;
}

int devbroker_err_code(const char *name, int *code)
{
    long v;
    if (!name || !code) {
        return -1;
    }
    if (parse_int(name, &v)) {
        *code = (int)v;
        return 0;
    }
    if (strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18) == 0) {
        name += 18;
    }
    const struct rd_kafka_err_desc *descs = NULL;
    size_t n = 0;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && strcasecmp(descs[i].name, name) == 0) {
            *code = descs[i].code;
            return 0;
        }
    }
    return -1;
}

/* ---- commands ---- */

static json_t *reply_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *reply_err(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s}", "ok", 0, "error", buf);
}

/* broker id from args: 1..brokers, or -1 for all */
static bool arg_broker(struct devbroker *db, json_t *args, int *broker, json_t **err)
{
    json_t *b = json_object_get(args, "broker");
    if (!json_is_integer(b)) {
        *err = reply_err("\"broker\" must be an integer (1..%d, or -1 for all)", db->opts.brokers);
        return false;
    }
    json_int_t v = json_integer_value(b);
    if (v != -1 && (v < 1 || v > db->opts.brokers)) {
        *err = reply_err("broker %lld does not exist (1..%d, or -1 for all)", (long long)v,
                         db->opts.brokers);
        return false;
    }
    *broker = (int)v;
    return true;
}

/* "broker" naming exactly one broker (not -1 = all) */
static bool arg_one_broker(struct devbroker *db, json_t *args, int *broker, json_t **err)
{
    if (!arg_broker(db, args, broker, err)) {
        return false;
    }
    if (*broker < 1) {
        *err = reply_err("\"broker\" must name one broker (1..%d)", db->opts.brokers);
        return false;
    }
    return true;
}

static json_t *cmd_status(struct devbroker *db)
{
    json_t *brokers = json_array();
    for (int i = 1; i <= db->opts.brokers; i++) {
        json_array_append_new(brokers, json_pack("{s:i, s:b, s:i}", "id", i, "up", !db->down[i],
                                                 "rtt_ms", db->rtt_ms[i]));
    }
    json_t *topics = json_deep_copy(db->topics);
    return json_pack("{s:b, s:s, s:s, s:i, s:i, s:I, s:I, s:o, s:o}", "ok", 1, "service",
                     "devbroker", "bootstrap", db->bootstraps, "partitions", db->opts.partitions,
                     "replication", db->opts.replication, "uptime_ms",
                     (json_int_t)(arena_mono_ms() - db->started_ms), "commands",
                     (json_int_t)db->commands, "brokers", brokers, "topics", topics);
}

static json_t *cmd_broker_updown(struct devbroker *db, json_t *args, bool up)
{
    int broker;
    json_t *err = NULL;
    if (!arg_broker(db, args, &broker, &err)) {
        return err;
    }
    rd_kafka_resp_err_t e = up ? rd_kafka_mock_broker_set_up(db->mcluster, broker)
                               : rd_kafka_mock_broker_set_down(db->mcluster, broker);
    if (e) {
        return reply_err("broker %d: %s", broker, rd_kafka_err2str(e));
    }
    for (int i = 1; i <= db->opts.brokers; i++) {
        if (broker == -1 || broker == i) {
            db->down[i] = !up;
        }
    }
    ARENA_INFO("event=broker_%s broker=%d", up ? "up" : "down", broker);
    return json_pack("{s:b, s:i, s:b}", "ok", 1, "broker", broker, "up", up);
}

static json_t *cmd_rtt(struct devbroker *db, json_t *args)
{
    int broker;
    json_t *err = NULL;
    if (!arg_broker(db, args, &broker, &err)) {
        return err;
    }
    json_t *ms = json_object_get(args, "ms");
    if (!json_is_integer(ms) || json_integer_value(ms) < 0 || json_integer_value(ms) > 600000) {
        return reply_err("\"ms\" must be an integer in 0..600000");
    }
    int v = (int)json_integer_value(ms);
    rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_rtt(db->mcluster, broker, v);
    if (e) {
        return reply_err("broker %d: %s", broker, rd_kafka_err2str(e));
    }
    for (int i = 1; i <= db->opts.brokers; i++) {
        if (broker == -1 || broker == i) {
            db->rtt_ms[i] = v;
        }
    }
    ARENA_INFO("event=broker_rtt broker=%d rtt_ms=%d", broker, v);
    return json_pack("{s:b, s:i, s:i}", "ok", 1, "broker", broker, "rtt_ms", v);
}

static json_t *cmd_request_errors(struct devbroker *db, json_t *args)
{
    const char *api = json_string_value(json_object_get(args, "api"));
    int key = devbroker_api_key(api);
    if (key < 0) {
        return reply_err("\"api\": unknown request type '%s' (e.g. Produce, Fetch, OffsetCommit, "
                         "JoinGroup, Heartbeat)",
                         api ? api : "");
    }
    json_t *errs = json_object_get(args, "errors");
    if (!json_is_array(errs) || json_array_size(errs) == 0 || json_array_size(errs) > 1000) {
        return reply_err("\"errors\" must be a non-empty array of error names (at most 1000)");
    }
    json_t *cnt = json_object_get(args, "count");
    json_int_t count = cnt ? (json_is_integer(cnt) ? json_integer_value(cnt) : -1)
                           : (json_int_t)json_array_size(errs);
    if (count < 1 || count > 100000) {
        return reply_err("\"count\" must be an integer in 1..100000");
    }
    size_t ne = json_array_size(errs);
    rd_kafka_resp_err_t *codes = arena_xcalloc((size_t)count, sizeof(*codes));
    /* the error list is repeated until count requests are covered */
    for (json_int_t i = 0; i < count; i++) {
        json_t *it = json_array_get(errs, (size_t)i % ne);
        int code;
        if (json_is_integer(it)) {
            code = (int)json_integer_value(it);
        } else if (!json_is_string(it) || devbroker_err_code(json_string_value(it), &code) != 0) {
            free(codes);
            return reply_err("\"errors\"[%zu]: unknown Kafka error '%s'", (size_t)i % ne,
                             json_is_string(it) ? json_string_value(it) : "(not a string)");
        }
        codes[i] = (rd_kafka_resp_err_t)code;
    }
    rd_kafka_mock_push_request_errors_array(db->mcluster, (int16_t)key, (size_t)count, codes);
    ARENA_INFO("event=request_errors api=%s api_key=%d count=%lld first=%s", api, key,
               (long long)count, rd_kafka_err2name(codes[0]));
    free(codes);
    return json_pack("{s:b, s:s, s:i, s:I}", "ok", 1, "api", api, "api_key", key, "count", count);
}

static json_t *cmd_clear_errors(struct devbroker *db, json_t *args)
{
    const char *api = json_string_value(json_object_get(args, "api"));
    int key = devbroker_api_key(api);
    if (key < 0) {
        return reply_err("\"api\": unknown request type '%s'", api ? api : "");
    }
    rd_kafka_mock_clear_request_errors(db->mcluster, (int16_t)key);
    return json_pack("{s:b, s:s}", "ok", 1, "api", api);
}

/* {"cmd":"coordinator","type":"group","key":"arena-judge","broker":1} */
static json_t *cmd_coordinator(struct devbroker *db, json_t *args)
{
    const char *type = json_string_value(json_object_get(args, "type"));
    const char *key = json_string_value(json_object_get(args, "key"));
    if (!type || (strcmp(type, "group") != 0 && strcmp(type, "transaction") != 0)) {
        return reply_err("\"type\" must be \"group\" or \"transaction\"");
    }
    if (!key || !*key) {
        return reply_err("\"key\" must be a non-empty group.id or transactional.id");
    }
    int broker;
    json_t *err = NULL;
    if (!arg_one_broker(db, args, &broker, &err)) {
        return err;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_coordinator_set(db->mcluster, type, key, broker);
    if (e) {
        return reply_err("coordinator of %s %s: %s", type, key, rd_kafka_err2str(e));
    }
    ARENA_INFO("event=coordinator_set type=%s key=%s broker=%d", type, key, broker);
    return json_pack("{s:b, s:s, s:s, s:i}", "ok", 1, "type", type, "key", key, "broker", broker);
}

/* {"cmd":"leader","topic":"arena.battles.requested","partition":0,"broker":1}; partition -1 =
 * every partition of the topic */
static json_t *cmd_leader(struct devbroker *db, json_t *args)
{
    const char *topic = json_string_value(json_object_get(args, "topic"));
    json_t *p = json_object_get(args, "partition");
    if (!topic || !*topic) {
        return reply_err("\"topic\" must be a non-empty string");
    }
    if (!json_is_integer(p) || json_integer_value(p) < -1 ||
        json_integer_value(p) >= db->opts.partitions) {
        return reply_err("\"partition\" must be an integer in -1..%d", db->opts.partitions - 1);
    }
    int broker;
    json_t *err = NULL;
    if (!arg_one_broker(db, args, &broker, &err)) {
        return err;
    }
    int32_t part = (int32_t)json_integer_value(p);
    int moved = 0;
    for (int32_t i = part < 0 ? 0 : part; i < (part < 0 ? db->opts.partitions : part + 1); i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_partition_set_leader(db->mcluster, topic, i, broker);
        if (e) {
            return reply_err("leader of %s [%d]: %s", topic, (int)i, rd_kafka_err2str(e));
        }
        moved++;
    }
    ARENA_INFO("event=leader_set topic=%s partition=%d broker=%d partitions=%d", topic, (int)part,
               broker, moved);
    return json_pack("{s:b, s:s, s:i, s:i, s:i}", "ok", 1, "topic", topic, "partition", (int)part,
                     "broker", broker, "partitions", moved);
}

static json_t *cmd_create_topic(struct devbroker *db, json_t *args)
{
    const char *topic = json_string_value(json_object_get(args, "topic"));
    json_t *p = json_object_get(args, "partitions");
    int parts = p ? (json_is_integer(p) ? (int)json_integer_value(p) : -1) : db->opts.partitions;
    if (!topic || !*topic || strlen(topic) > 249) {
        return reply_err("\"topic\" must be a non-empty string of at most 249 characters");
    }
    if (parts < 1 || parts > 10000) {
        return reply_err("\"partitions\" must be an integer in 1..10000");
    }
    rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(db->mcluster, topic, parts, db->opts.replication);
    if (e) {
        return reply_err("create topic %s: %s", topic, rd_kafka_err2str(e));
    }
    json_array_append_new(db->topics, json_string(topic));
    ARENA_INFO("event=topic_created topic=%s partitions=%d", topic, parts);
    return json_pack("{s:b, s:s, s:i}", "ok", 1, "topic", topic, "partitions", parts);
}

json_t *devbroker_command(struct devbroker *db, const char *cmd, json_t *args)
{
    if (!db || !cmd) {
        return reply_err("no command");
    }
    db->commands++;
    if (strcmp(cmd, "status") == 0) {
        return cmd_status(db);
    }
    if (strcmp(cmd, "broker_down") == 0) {
        return cmd_broker_updown(db, args, false);
    }
    if (strcmp(cmd, "broker_up") == 0) {
        return cmd_broker_updown(db, args, true);
    }
    if (strcmp(cmd, "rtt") == 0) {
        return cmd_rtt(db, args);
    }
    if (strcmp(cmd, "request_errors") == 0) {
        return cmd_request_errors(db, args);
    }
    if (strcmp(cmd, "clear_errors") == 0) {
        return cmd_clear_errors(db, args);
    }
    if (strcmp(cmd, "create_topic") == 0) {
        return cmd_create_topic(db, args);
    }
    if (strcmp(cmd, "coordinator") == 0) {
        return cmd_coordinator(db, args);
    }
    if (strcmp(cmd, "leader") == 0) {
        return cmd_leader(db, args);
    }
    return reply_err("unknown command '%s' (status, broker_down, broker_up, rtt, request_errors, "
                     "clear_errors, create_topic, coordinator, leader)",
                     cmd);
}

static json_t *ctl_handler(void *ctx, const char *cmd, json_t *args)
{
    return devbroker_command(ctx, cmd, args);
}

/* ---- lifecycle ---- */

struct devbroker *devbroker_new(const struct devbroker_opts *o, char *errstr, size_t errstr_size)
{
    if (!o || o->brokers < 1 || o->brokers > 64) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "--brokers must be in 1..64");
        return NULL;
    }
    if (o->partitions < 1 || o->partitions > 10000) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "--partitions must be in 1..10000");
        return NULL;
    }
    if (o->replication < 1 || o->replication > o->brokers) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                      "--replication must be in 1..%d (the number of brokers)", o->brokers);
        return NULL;
    }
    struct devbroker *db = arena_xcalloc(1, sizeof(*db));
    db->opts = *o;
    db->started_ms = arena_mono_ms();
    db->down = arena_xcalloc((size_t)o->brokers + 1, sizeof(bool));
    db->rtt_ms = arena_xcalloc((size_t)o->brokers + 1, sizeof(int));
    db->topics = json_array();

    char es[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, devbroker_log_cb);
    if (rd_kafka_conf_set(conf, "client.id", "arena-devbroker", es, sizeof(es))) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA, "devbroker: %s", es);
        rd_kafka_conf_destroy(conf);
        devbroker_destroy(db);
        return NULL;
    }
    db->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof(es));
    if (!db->rk) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA, "devbroker: %s", es);
        rd_kafka_conf_destroy(conf);
        devbroker_destroy(db);
        return NULL;
    }
    db->mcluster = rd_kafka_mock_cluster_new(db->rk, o->brokers);
    if (!db->mcluster) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA,
                      "devbroker: cannot create the mock cluster (%d brokers)", o->brokers);
        devbroker_destroy(db);
        return NULL;
    }
    db->bootstraps = arena_xstrdup(rd_kafka_mock_cluster_bootstraps(db->mcluster));

    const char *const *names = o->topics ? o->topics : arena_topics_all;
    for (size_t i = 0; names[i]; i++) {
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(db->mcluster, names[i], o->partitions, o->replication);
        if (e) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_KAFKA, "devbroker: create topic %s: %s",
                          names[i], rd_kafka_err2str(e));
            devbroker_destroy(db);
            return NULL;
        }
        db->topics_created++;
        json_array_append_new(db->topics, json_string(names[i]));
    }

    if (o->control && *o->control) {
        /* no arena.yaml here: CURVE from the same variables the services read */
        struct arena_ctl_curve cv = {0};
        const char *sk = getenv("ARENA_CURVE_SERVER_SECRET_KEY_FILE");
        if (sk && *sk &&
            arena_ctl_curve_server_init(&cv, sk, getenv("ARENA_CURVE_AUTHORIZED_KEYS_FILE"), es,
                                        sizeof(es)) != ARENA_ERR_OK) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "devbroker: %s", es);
            devbroker_destroy(db);
            return NULL;
        }
        db->ctl = arena_ctl_new_curve(o->control, &cv, es, sizeof(es));
        arena_ctl_curve_fini(&cv);
        if (!db->ctl) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "devbroker: control %s: %s",
                          o->control, es);
            devbroker_destroy(db);
            return NULL;
        }
        static const char *const cmds[] = {"status",       "broker_down",    "broker_up",
                                           "rtt",          "request_errors", "clear_errors",
                                           "create_topic", "coordinator",    "leader"};
        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
            arena_ctl_register(db->ctl, cmds[i], ctl_handler, db);
        }
    }

    /* last: the file's appearance tells a launcher that everything above is ready */
    if (o->bootstrap_file && *o->bootstrap_file) {
        char *line = arena_xasprintf("%s\n", db->bootstraps);
        int rc = arena_write_file_atomic(o->bootstrap_file, line, strlen(line), es, sizeof(es));
        free(line);
        if (rc != 0) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "devbroker: --bootstrap-file %s: %s",
                          o->bootstrap_file, es);
            devbroker_destroy(db);
            return NULL;
        }
        db->bootstrap_file = arena_xstrdup(o->bootstrap_file);
    }
    const char *curve = getenv("ARENA_CURVE_SERVER_SECRET_KEY_FILE");
    ARENA_INFO("event=devbroker_ready bootstrap=%s brokers=%d topics=%d partitions=%d "
               "control=%s curve=%s",
               db->bootstraps, o->brokers, db->topics_created, o->partitions,
               db->ctl ? arena_ctl_endpoint(db->ctl) : "-",
               db->ctl && curve && *curve ? "on" : "off");
    return db;
}

const char *devbroker_bootstraps(const struct devbroker *db)
{
    return db ? db->bootstraps : NULL;
}

const char *devbroker_control_endpoint(const struct devbroker *db)
{
    return db && db->ctl ? arena_ctl_endpoint(db->ctl) : NULL;
}

int devbroker_run(struct devbroker *db, volatile sig_atomic_t *stop)
{
    while (!*stop) {
        if (db->ctl) {
            arena_ctl_poll(db->ctl, 200);
        } else {
            usleep(200 * 1000);
        }
    }
    ARENA_INFO("event=devbroker_stopping commands=%llu", (unsigned long long)db->commands);
    return 0;
}

void devbroker_destroy(struct devbroker *db)
{
    if (!db) {
        return;
    }
    if (db->bootstrap_file) {
        if (unlink(db->bootstrap_file) != 0 && errno != ENOENT) {
            ARENA_WARN("event=bootstrap_file_unlink_failed path=\"%s\" err=\"%s\"",
                       db->bootstrap_file, strerror(errno));
        }
        free(db->bootstrap_file);
    }
    arena_ctl_destroy(db->ctl);
    if (db->mcluster) {
        rd_kafka_mock_cluster_destroy(db->mcluster);
    }
    if (db->rk) {
        rd_kafka_destroy(db->rk);
    }
    json_decref(db->topics);
    free(db->bootstraps);
    free(db->down);
    free(db->rtt_ms);
    free(db);
}
