/* arenactl_dlq.c - `arenactl dlq`: list the dead letters of arena.dlq (one JSON line each:
 * source topic/partition/offset, service, error, key, every header, value in base64) and
 * optionally republish them to their source topic (or another one) once the cause is fixed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "arena/codec.h"
#include "arena/kafka.h"
#include "arena/service.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "arenactl.h"

static bool is_printable_utf8ish(const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

json_t *arenactl_dlq_to_json(const struct arena_msg *m)
{
    json_t *o = json_object();
    json_t *headers = json_object();
    rd_kafka_headers_t *hdrs = NULL;
    if (m->rkm && rd_kafka_message_headers((rd_kafka_message_t *)m->rkm, &hdrs) == 0 && hdrs) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == 0; i++) {
            char *v = arena_xstrndup(val ? val : "", val ? size : 0);
            json_t *js = json_string(v);
            if (!js) { /* not UTF-8: keep it, in base64 */
                char *b = arenactl_base64(val, size);
                char *k = arena_xasprintf("%s_base64", name);
                json_object_set_new(headers, k, json_string(b));
                free(k);
                free(b);
            } else {
                json_object_set_new(headers, name, js);
            }
            free(v);
        }
    }
    json_t *src = json_object_get(headers, ARENA_HDR_DLQ_TOPIC);
    json_object_set_new(o, "source_topic", src ? json_incref(src) : json_null());
    const char *part = json_string_value(json_object_get(headers, ARENA_HDR_DLQ_PARTITION));
    const char *off = json_string_value(json_object_get(headers, ARENA_HDR_DLQ_OFFSET));
    json_object_set_new(o, "source_partition", part ? json_integer(atoll(part)) : json_null());
    json_object_set_new(o, "source_offset", off ? json_integer(atoll(off)) : json_null());
    json_t *svc = json_object_get(headers, ARENA_HDR_DLQ_SERVICE);
    json_object_set_new(o, "service", svc ? json_incref(svc) : json_null());
    json_t *err = json_object_get(headers, ARENA_HDR_DLQ_ERROR);
    json_object_set_new(o, "error", err ? json_incref(err) : json_null());
    json_object_set_new(o, "dlq_partition", json_integer(m->partition));
    json_object_set_new(o, "dlq_offset", json_integer((json_int_t)m->offset));
    if (!m->key) {
        json_object_set_new(o, "key", json_null());
    } else if (is_printable_utf8ish(m->key, m->key_len)) {
        json_t *k = json_stringn(m->key, m->key_len);
        if (k) {
            json_object_set_new(o, "key", k);
        }
    }
    if (m->key && !json_object_get(o, "key")) {
        char *b = arenactl_base64(m->key, m->key_len);
        json_object_set_new(o, "key_base64", json_string(b));
        free(b);
    }
    char *b = arenactl_base64(m->value ? m->value : "", m->value ? m->value_len : 0);
    json_object_set_new(o, "value_base64", json_string(b));
    free(b);
    json_object_set_new(o, "value_bytes", json_integer((json_int_t)m->value_len));
    json_object_set_new(o, "headers", headers);
    return o;
}

static void dlq_usage(FILE *out)
{
    fprintf(out, "usage: arenactl dlq [--max N] [--timeout-ms T] [--republish [--original | "
                 "--to-topic TOPIC]]\n"
                 "  (no option)        print every arena.dlq message as a JSON line\n"
                 "  --max N            handle at most N messages\n"
                 "  --timeout-ms T     stop after T ms without a new message (default 3000)\n"
                 "  --republish        send each message's value back to its source topic\n"
                 "                     (header " ARENA_HDR_DLQ_TOPIC ", i.e. --original) ...\n"
                 "  --to-topic TOPIC   ... or to TOPIC instead\n");
}

int arenactl_dlq(const struct arena_config *cfg, int argc, char **argv)
{
    int64_t max = 0;
    int64_t timeout_ms = 3000;
    bool republish = false;
    const char *to_topic = NULL;
    bool original = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            dlq_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--republish")) {
            republish = true;
        } else if (!strcmp(a, "--original")) {
            original = true;
        } else if (!strcmp(a, "--to-topic") && i + 1 < argc) {
            to_topic = argv[++i];
        } else if (!strcmp(a, "--max") && i + 1 < argc) {
            max = strtoll(argv[++i], &end, 10);
            if (!*argv[i] || *end || max < 1) {
                fprintf(stderr, "arenactl dlq: --max: expected a positive integer, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--timeout-ms") && i + 1 < argc) {
            timeout_ms = strtoll(argv[++i], &end, 10);
            if (!*argv[i] || *end || timeout_ms < 0) {
                fprintf(stderr,
                        "arenactl dlq: --timeout-ms: expected a non-negative integer, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "arenactl dlq: unexpected argument '%s'\n", a);
            dlq_usage(stderr);
            return 2;
        }
    }
    if ((to_topic || original) && !republish) {
        fprintf(stderr, "arenactl dlq: --to-topic/--original only make sense with --republish\n");
        return 2;
    }
    if (to_topic && original) {
        fprintf(stderr, "arenactl dlq: choose one of --to-topic and --original\n");
        return 2;
    }
    if (to_topic && !strcmp(to_topic, ARENA_TOPIC_DLQ)) {
        fprintf(stderr, "arenactl dlq: refusing to republish arena.dlq into itself\n");
        return 2;
    }

    char errstr[512];
    char group[96];
    snprintf(group, sizeof(group), "arenactl-dlq-%ld-%lld", (long)getpid(),
             (long long)arena_now_ms());
    const char *topics[] = {ARENA_TOPIC_DLQ, NULL};
    struct arena_consumer_opts opts = {
        .mode = ARENA_CONSUMER_ASSIGN_ALL,
        .group_id = group,
        .topics = topics,
        .client_id = "arenactl-dlq",
    };
    struct arena_producer *p = NULL;
    if (republish) {
        p = arena_producer_new(cfg, "arenactl-dlq", errstr, sizeof(errstr));
        if (!p) {
            fprintf(stderr, "arenactl dlq: %s\n", errstr);
            return 1;
        }
    }
    struct arena_consumer *c = arena_consumer_new(cfg, &opts, errstr, sizeof(errstr));
    if (!c) {
        fprintf(stderr, "arenactl dlq: %s\n", errstr);
        arena_producer_destroy(p);
        return 1;
    }
    arena_signals_install();
    int64_t seen = 0, sent = 0, failed = 0;
    int64_t last = arena_mono_ms();
    while (!arena_stop_requested) {
        struct arena_msg *m = arena_consumer_poll(c, 100);
        if (!m) {
            if (arena_mono_ms() - last >= timeout_ms) {
                break;
            }
            continue;
        }
        last = arena_mono_ms();
        seen++;
        json_t *j = arenactl_dlq_to_json(m);
        if (!republish) {
            char *text = json_dumps(j, JSON_COMPACT);
            printf("%s\n", text);
            fflush(stdout);
            free(text);
        } else {
            const char *target =
                to_topic ? to_topic : json_string_value(json_object_get(j, "source_topic"));
            if (!target || !*target || !strcmp(target, ARENA_TOPIC_DLQ)) {
                fprintf(stderr,
                        "arenactl dlq: offset %lld has no usable " ARENA_HDR_DLQ_TOPIC
                        " header; use --to-topic\n",
                        (long long)m->offset);
                failed++;
            } else {
                const ProtobufCMessageDescriptor *d = arenactl_topic_descriptor(target);
                arena_err_t e =
                    arena_producer_send(p, target, -1, m->key, m->key_len, m->value, m->value_len,
                                        d ? arena_codec_type_name(d) : NULL, NULL, NULL);
                if (e != ARENA_ERR_OK) {
                    fprintf(stderr, "arenactl dlq: offset %lld -> %s: %s\n", (long long)m->offset,
                            target, arena_err_str(e));
                    failed++;
                } else {
                    sent++;
                }
            }
        }
        json_decref(j);
        arena_msg_destroy(m);
        if (max > 0 && seen >= max) {
            break;
        }
    }
    arena_consumer_destroy(c);
    int rc = 0;
    if (republish) {
        if (arena_producer_flush(p, 30000) != ARENA_ERR_OK || arena_producer_failed(p) > 0) {
            fprintf(stderr, "arenactl dlq: %llu deliveries failed or timed out\n",
                    (unsigned long long)arena_producer_failed(p));
            rc = 1;
        }
        uint64_t delivered_failed = arena_producer_failed(p);
        arena_producer_destroy(p);
        fprintf(stderr, "arenactl dlq: republished %lld of %lld message(s)%s%s\n",
                (long long)(sent - (int64_t)delivered_failed), (long long)seen,
                to_topic ? " to " : " to their source topics", to_topic ? to_topic : "");
        if (failed > 0) {
            rc = 1;
        }
    } else {
        fprintf(stderr, "arenactl dlq: %lld message(s)\n", (long long)seen);
    }
    return rc;
}
