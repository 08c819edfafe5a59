/* arenactl export - read arena.battles.results from the beginning (every partition assigned to
 * this process) and write the judged battles as FastChat battle JSON (an array, the input of
 * FastChat's elo_analysis.py) or as our BattleResult JSONL (the input of `arenactl rate
 * --format results`). Battles are de-duplicated by battle_id (the topic is at-least-once);
 * *_ERROR outcomes are left out of the FastChat export. The topic is read until it stays idle
 * for --timeout-ms. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/codec.h"
#include "arena/kafka.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "arenactl.h"

static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: arenactl export [--format fastchat|results] [--output FILE] "
            "[--timeout-ms T]\n"
            "  reads %s from the beginning until idle for T ms (default 5000)\n",
            ARENA_TOPIC_RESULTS);
}

/* a set of battle ids (open addressing) */
struct id_set {
    char **slots;
    size_t cap, n;
};

static bool id_set_add(struct id_set *s, const char *id)
{
    if ((s->n + 1) * 2 > s->cap) {
        struct id_set ns = {arena_xcalloc(s->cap ? s->cap * 2 : 1024, sizeof(char *)),
                            s->cap ? s->cap * 2 : 1024, 0};
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slots[i]) {
                size_t h = arena_hash64(s->slots[i], strlen(s->slots[i]), 1) & (ns.cap - 1);
                while (ns.slots[h]) {
                    h = (h + 1) & (ns.cap - 1);
                }
                ns.slots[h] = s->slots[i];
                ns.n++;
            }
        }
        free(s->slots);
        *s = ns;
    }
    size_t h = arena_hash64(id, strlen(id), 1) & (s->cap - 1);
    while (s->slots[h]) {
        if (strcmp(s->slots[h], id) == 0) {
            return false;
        }
        h = (h + 1) & (s->cap - 1);
    }
    s->slots[h] = arena_xstrdup(id);
    s->n++;
    return true;
}

static void id_set_fini(struct id_set *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i]);
    }
    free(s->slots);
}

static bool from_beginning(void *ctx, const char *topic, int32_t partition, int64_t *offset)
{
    (void)ctx;
    (void)topic;
    (void)partition;
    *offset = -2; /* RD_KAFKA_OFFSET_BEGINNING */
    return true;
}

int arenactl_export(const struct arena_config *cfg, int argc, char **argv)
{
    const char *format = "fastchat", *output = NULL;
    long timeout_ms = 5000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            export_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "arenactl export: %s needs a value (or is unknown)\n", argv[i]);
            export_usage(stderr);
            return 2;
        }
        if (!strcmp(argv[i], "--format")) {
            format = argv[++i];
        } else if (!strcmp(argv[i], "--output")) {
            output = argv[++i];
        } else if (!strcmp(argv[i], "--timeout-ms")) {
            char *end;
            errno = 0;
            timeout_ms = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || timeout_ms < 1 || timeout_ms > 3600000) {
                fprintf(stderr, "arenactl export: bad --timeout-ms '%s' (1..3600000)\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "arenactl export: unknown option '%s'\n", argv[i]);
            export_usage(stderr);
            return 2;
        }
    }
    bool fastchat = !strcmp(format, "fastchat");
    if (!fastchat && strcmp(format, "results") != 0) {
        fprintf(stderr, "arenactl export: unknown --format '%s' (fastchat|results)\n", format);
        return 2;
    }
    char err[512];
    const char *topics[] = {ARENA_TOPIC_RESULTS, NULL};
    struct arena_consumer_opts co = {.mode = ARENA_CONSUMER_ASSIGN_ALL,
                                     .topics = topics,
                                     .offsets = from_beginning,
                                     .client_id = "arenactl-export"};
    struct arena_consumer *c = arena_consumer_new(cfg, &co, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "arenactl export: %s\n", err);
        return 1;
    }
    struct arena_buf out;
    arena_buf_init(&out);
    json_t *arr = fastchat ? json_array() : NULL;
    struct id_set seen = {0};
    uint64_t n_msgs = 0, n_dup = 0, n_err = 0, n_bad = 0, n_out = 0;
    int64_t idle_since = arena_mono_ms();
    while (arena_mono_ms() - idle_since < timeout_ms) {
        struct arena_msg *m = arena_consumer_poll(c, 200);
        if (!m) {
            continue;
        }
        idle_since = arena_mono_ms();
        n_msgs++;
        Arena__V1__BattleResult *r = NULL;
        if (ARENA_DECODE(Arena__V1__BattleResult, arena__v1__battle_result__descriptor, m->value,
                         m->value_len, m->message_type, &r, err, sizeof(err)) != ARENA_ERR_OK) {
            fprintf(stderr, "arenactl export: %s[%d]@%lld: skipped: %s\n", m->topic,
                    (int)m->partition, (long long)m->offset, err);
            n_bad++;
            arena_msg_destroy(m);
            continue;
        }
        arena_msg_destroy(m);
        if (!id_set_add(&seen, r->battle_id)) {
            n_dup++;
            arena_codec_free(&r->base);
            continue;
        }
        const char *winner = NULL;
        switch (r->outcome) {
        case ARENA__V1__OUTCOME__OUTCOME_MODEL_A:
            winner = "model_a";
            break;
        case ARENA__V1__OUTCOME__OUTCOME_MODEL_B:
            winner = "model_b";
            break;
        case ARENA__V1__OUTCOME__OUTCOME_TIE:
            winner = "tie";
            break;
        default:
            break;
        }
        if (fastchat) {
            if (!winner) {
                n_err++;
            } else {
                json_t *o = json_object();
                json_object_set_new(o, "model_a", json_string(r->model_a));
                json_object_set_new(o, "model_b", json_string(r->model_b));
                json_object_set_new(o, "winner", json_string(winner));
                json_object_set_new(o, "judge", json_string(r->judge_model));
                json_object_set_new(o, "turn", json_integer(1));
                json_object_set_new(o, "tstamp", json_real((double)r->judged_at_ms / 1000.0));
                json_object_set_new(o, "question_id", json_string(r->prompt_id));
                json_object_set_new(o, "battle_id", json_string(r->battle_id));
                json_array_append_new(arr, o);
                n_out++;
            }
        } else {
            char *js = arena_codec_to_json(&r->base);
            arena_buf_puts(&out, js);
            arena_buf_puts(&out, "\n");
            free(js);
            n_out++;
        }
        arena_codec_free(&r->base);
    }
    arena_consumer_destroy(c);
    id_set_fini(&seen);
    if (fastchat) {
        char *s = json_dumps(arr, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
        json_decref(arr);
        if (!s) {
            fprintf(stderr, "arenactl export: cannot serialise JSON\n");
            arena_buf_fini(&out);
            return 1;
        }
        arena_buf_puts(&out, s);
        arena_buf_puts(&out, "\n");
        free(s);
    }
    int rc = 0;
    if (output) {
        if (arena_write_file_atomic(output, out.data ? out.data : "", out.len, err, sizeof(err)) !=
            0) {
            fprintf(stderr, "arenactl export: %s\n", err);
            rc = 1;
        }
    } else if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
        fprintf(stderr, "arenactl export: write error\n");
        rc = 1;
    }
    fprintf(stderr,
            "arenactl export: %llu messages, %llu battles written, %llu duplicates, %llu "
            "error outcomes left out, %llu undecodable\n",
            (unsigned long long)n_msgs, (unsigned long long)n_out, (unsigned long long)n_dup,
            (unsigned long long)n_err, (unsigned long long)n_bad);
    arena_buf_fini(&out);
    return rc;
}
