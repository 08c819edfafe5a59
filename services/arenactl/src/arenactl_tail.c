/* arenactl_tail.c - `arenactl tail TOPIC`: every message of an arena topic as one JSON line on
 * stdout (the message itself, proto field names), read from the beginning with a private
 * consumer that assigns itself every partition. Undecodable messages become {"_error":...}
 * lines on stderr and the tail goes on. arena.dlq messages print their headers and the raw
 * value in base64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "arena/codec.h"
#include "arena/kafka.h"
#include "arena/log.h"
#include "arena/service.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "arenactl.h"

const struct ProtobufCMessageDescriptor *arenactl_topic_descriptor(const char *topic)
{
    static const struct {
        const char *topic;
        const ProtobufCMessageDescriptor *desc;
    } map[] = {
        {ARENA_TOPIC_PROMPTS, &arena__v1__prompt__descriptor},
        {ARENA_TOPIC_REQUESTED, &arena__v1__battle_request__descriptor},
        {ARENA_TOPIC_GENERATED, &arena__v1__generated_battle__descriptor},
        {ARENA_TOPIC_RESULTS, &arena__v1__battle_result__descriptor},
        {ARENA_TOPIC_RATINGS, &arena__v1__leaderboard__descriptor},
        {ARENA_TOPIC_SHARDS, &arena__v1__shard_manifest__descriptor},
    };
    for (size_t i = 0; topic && i < sizeof(map) / sizeof(map[0]); i++) {
        if (!strcmp(map[i].topic, topic)) {
            return map[i].desc;
        }
    }
    return NULL;
}

char *arenactl_base64(const void *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char *out = arena_xmalloc(4 * ((len + 2) / 3) + 1);
    size_t o = 0;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < len ? tbl[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static void tail_usage(FILE *out)
{
    fprintf(out, "usage: arenactl tail TOPIC [--from-beginning] [--max N] [--timeout-ms T] "
                 "[--follow]\n"
                 "  TOPIC           arena.prompts, arena.battles.requested, "
                 "arena.battles.generated,\n"
                 "                  arena.battles.results, arena.ratings, arena.shards, arena.dlq\n"
                 "  --from-beginning  read from the first offset (the default)\n"
                 "  --max N         stop after N messages\n"
                 "  --timeout-ms T  stop after T ms without a new message (default 3000)\n"
                 "  --follow        keep waiting for new messages (Ctrl-C stops)\n");
}

static bool parse_i64(const char *s, int64_t min, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min) {
        return false;
    }
    *out = v;
    return true;
}

static void print_error_line(const struct arena_msg *m, const char *what)
{
    json_t *e = json_pack("{s:s,s:s,s:i,s:I}", "_error", what, "_topic", m->topic, "_partition",
                          (int)m->partition, "_offset", (json_int_t)m->offset);
    char *text = json_dumps(e, JSON_COMPACT);
    fprintf(stderr, "%s\n", text ? text : "{\"_error\":\"unprintable\"}");
    free(text);
    json_decref(e);
}

/* Print one message; false when it could not be decoded (reported on stderr). */
static bool tail_print(const ProtobufCMessageDescriptor *desc, const struct arena_msg *m)
{
    if (!strcmp(m->topic, ARENA_TOPIC_DLQ)) {
        json_t *j = arenactl_dlq_to_json(m);
        char *text = json_dumps(j, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
        json_decref(j);
        return true;
    }
    if (!m->value) {
        print_error_line(m, "tombstone (null value) skipped");
        return true;
    }
    char errstr[512];
    ProtobufCMessage *msg = NULL;
    arena_err_t err = arena_codec_decode(desc, m->value, m->value_len, m->message_type, &msg,
                                         errstr, sizeof(errstr));
    if (err != ARENA_ERR_OK) {
        char what[640];
        snprintf(what, sizeof(what), "%s: %s", arena_err_name(err), errstr);
        print_error_line(m, what);
        return false;
    }
    char *text = arena_codec_to_json(msg);
    printf("%s\n", text ? text : "null");
    free(text);
    arena_codec_free(msg);
    return true;
}

int arenactl_tail(const struct arena_config *cfg, int argc, char **argv)
{
    const char *topic = NULL;
    int64_t max = 0;
    int64_t timeout_ms = 3000;
    bool follow = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            tail_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--from-beginning")) {
            /* the default; accepted for kcat/kafka-console-consumer habits */
        } else if (!strcmp(a, "--follow") || !strcmp(a, "-f")) {
            follow = true;
        } else if (!strcmp(a, "--max") && i + 1 < argc) {
            if (!parse_i64(argv[++i], 1, &max)) {
                fprintf(stderr, "arenactl tail: --max: expected a positive integer, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--timeout-ms") && i + 1 < argc) {
            if (!parse_i64(argv[++i], 0, &timeout_ms)) {
                fprintf(stderr,
                        "arenactl tail: --timeout-ms: expected a non-negative integer, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (a[0] == '-' || topic) {
            fprintf(stderr, "arenactl tail: unexpected argument '%s'\n", a);
            tail_usage(stderr);
            return 2;
        } else {
            topic = a;
        }
    }
    if (!topic) {
        tail_usage(stderr);
        return 2;
    }
    const ProtobufCMessageDescriptor *desc = arenactl_topic_descriptor(topic);
    if (!desc && strcmp(topic, ARENA_TOPIC_DLQ) != 0) {
        fprintf(stderr, "arenactl tail: unknown topic '%s' (arena topics:", topic);
        for (const char *const *t = arena_topics_all; *t; t++) {
            fprintf(stderr, " %s", *t);
        }
        fprintf(stderr, ")\n");
        return 2;
    }

    char errstr[512];
    char group[96];
    snprintf(group, sizeof(group), "arenactl-tail-%ld-%lld", (long)getpid(),
             (long long)arena_now_ms());
    const char *topics[] = {topic, NULL};
    struct arena_consumer_opts opts = {
        .mode = ARENA_CONSUMER_ASSIGN_ALL,
        .group_id = group,
        .topics = topics,
        .client_id = "arenactl-tail",
    };
    struct arena_consumer *c = arena_consumer_new(cfg, &opts, errstr, sizeof(errstr));
    if (!c) {
        fprintf(stderr, "arenactl tail: %s\n", errstr);
        return 1;
    }
    arena_signals_install();
    int64_t n = 0;
    int64_t bad = 0;
    int64_t last = arena_mono_ms();
    while (!arena_stop_requested) {
        struct arena_msg *m = arena_consumer_poll(c, 100);
        if (!m) {
            if (!follow && arena_mono_ms() - last >= timeout_ms) {
                break;
            }
            continue;
        }
        if (!tail_print(desc, m)) {
            bad++;
        }
        arena_msg_destroy(m);
        fflush(stdout);
        last = arena_mono_ms();
        if (max > 0 && ++n >= max) {
            break;
        }
    }
    arena_consumer_destroy(c);
    if (bad > 0) {
        fprintf(stderr, "arenactl tail: %lld message(s) could not be decoded\n", (long long)bad);
    }
    return 0;
}
