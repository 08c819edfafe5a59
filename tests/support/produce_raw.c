/* produce-raw - publish garbage records to an arena topic (tests of dead-lettering).
 *
 *   produce-raw --topic TOPIC --count N [--seed S] [--mode random|truncated|mixed]
 *               [--bootstrap HOST:PORT] [--key-prefix K] [--no-header]
 *
 * Every record is guaranteed to be rejected by the topic's decoder: it is checked with
 * arena_codec_decode() (the same decoder and validator the services use) before it is sent,
 * and regenerated in the rare case it would pass. Modes:
 *   random     random bytes (0..300), the first byte an invalid wire type
 *   truncated  a realistic record of the topic's message type cut short at a random byte
 *   mixed      alternates random, truncated, empty value, and a valid record of another
 *              message type under this topic's message-type header
 * Records carry the topic's message-type header (unless --no-header) and the key
 * "<key-prefix><index>". Prints "produced N" once every record is acknowledged; exit 1 on any
 * failure. The broker comes from --bootstrap or ARENA_KAFKA_BOOTSTRAP_SERVERS. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/codec.h"
#include "arena/config.h"
#include "arena/kafka.h"
#include "arena/log.h"
#include "arena/topics.h"
#include "arena/util.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64: deterministic per --seed */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void hex_id(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[i] = hex[rnd() & 15];
    }
    out[n] = '\0';
}

static const ProtobufCMessageDescriptor *topic_descriptor(const char *topic)
{
    if (strcmp(topic, ARENA_TOPIC_PROMPTS) == 0) {
        return &arena__v1__prompt__descriptor;
    }
    if (strcmp(topic, ARENA_TOPIC_REQUESTED) == 0) {
        return &arena__v1__battle_request__descriptor;
    }
    if (strcmp(topic, ARENA_TOPIC_GENERATED) == 0) {
        return &arena__v1__generated_battle__descriptor;
    }
    if (strcmp(topic, ARENA_TOPIC_RESULTS) == 0) {
        return &arena__v1__battle_result__descriptor;
    }
    return NULL;
}

/* A valid, realistic record of descriptor d (encoded; caller frees). */
static void *valid_record(const ProtobufCMessageDescriptor *d, size_t *len)
{
    char battle_id[33], prompt_id[33], text[160];
    hex_id(battle_id, 32);
    hex_id(prompt_id, 32);
    snprintf(text, sizeof(text), "Explain garbage record %llu in detail, step by step, please.",
             (unsigned long long)(rnd() % 1000000));
    Arena__V1__ChatMessage cm = ARENA__V1__CHAT_MESSAGE__INIT;
    cm.role = "user";
    cm.content = text;
    Arena__V1__ChatMessage *msgs[1] = {&cm};
    Arena__V1__BattleRequest req = ARENA__V1__BATTLE_REQUEST__INIT;
    req.battle_id = battle_id;
    req.round = 1;
    req.prompt_id = prompt_id;
    req.n_messages = 1;
    req.messages = msgs;
    req.model_a = "garbage-model-a";
    req.model_b = "garbage-model-b";
    req.mode = ARENA__V1__MATCH_MODE__MATCH_MODE_TRAIN;
    req.battles_in_prompt = 1;
    Arena__V1__Response ra = ARENA__V1__RESPONSE__INIT, rb = ARENA__V1__RESPONSE__INIT;
    ra.model = req.model_a;
    ra.content = "An answer that will never be judged because the record is cut short.";
    rb.model = req.model_b;
    rb.content = "Another answer that will never be judged either.";
    if (d == &arena__v1__prompt__descriptor) {
        Arena__V1__Prompt p = ARENA__V1__PROMPT__INIT;
        p.prompt_id = prompt_id;
        p.n_messages = 1;
        p.messages = msgs;
        return arena_codec_encode(&p.base, len);
    }
    if (d == &arena__v1__battle_request__descriptor) {
        return arena_codec_encode(&req.base, len);
    }
    if (d == &arena__v1__generated_battle__descriptor) {
        Arena__V1__GeneratedBattle g = ARENA__V1__GENERATED_BATTLE__INIT;
        g.request = &req;
        g.response_a = &ra;
        g.response_b = &rb;
        return arena_codec_encode(&g.base, len);
    }
    Arena__V1__BattleResult r = ARENA__V1__BATTLE_RESULT__INIT;
    r.battle_id = battle_id;
    r.round = 1;
    r.prompt_id = prompt_id;
    r.model_a = req.model_a;
    r.model_b = req.model_b;
    r.outcome = ARENA__V1__OUTCOME__OUTCOME_MODEL_A;
    r.score_a = 8;
    r.score_b = 4;
    r.weight = 1;
    r.n_messages = 1;
    r.messages = msgs;
    r.response_a = &ra;
    r.response_b = &rb;
    return arena_codec_encode(&r.base, len);
}

static bool rejected(const ProtobufCMessageDescriptor *d, const void *buf, size_t len,
                     const char *message_type)
{
    ProtobufCMessage *m = NULL;
    char errstr[256];
    if (arena_codec_decode(d, buf, len, message_type, &m, errstr, sizeof(errstr)) == ARENA_ERR_OK) {
        arena_codec_free(m);
        return false;
    }
    return true;
}

/* One garbage value for the topic (malloc'd, *len set); *kind names what it is. */
static void *garbage(const ProtobufCMessageDescriptor *d, const char *mode, uint64_t i, size_t *len,
                     const char **kind)
{
    int which = 0; /* 0 random, 1 truncated, 2 empty, 3 other type */
    if (strcmp(mode, "truncated") == 0) {
        which = 1;
    } else if (strcmp(mode, "mixed") == 0) {
        which = (int)(i % 4);
    }
    if (which == 1) {
        size_t full_len;
        uint8_t *full = valid_record(d, &full_len);
        *len = 1 + (size_t)(rnd() % (full_len - 1)); /* 1 .. full_len-1 bytes */
        *kind = "truncated";
        return full;
    }
    if (which == 2) {
        *len = 0;
        *kind = "empty";
        return arena_xmalloc(1);
    }
    if (which == 3) {
        const ProtobufCMessageDescriptor *other = d == &arena__v1__prompt__descriptor
                                                      ? &arena__v1__battle_result__descriptor
                                                      : &arena__v1__prompt__descriptor;
        *kind = "other-type";
        return valid_record(other, len);
    }
    *len = (size_t)(rnd() % 301);
    uint8_t *b = arena_xmalloc(*len ? *len : 1);
    for (size_t k = 0; k < *len; k++) {
        b[k] = (uint8_t)rnd();
    }
    if (*len) {
        b[0] = (uint8_t)((b[0] & 0xf8) | 6 | (b[0] & 1)); /* wire type 6 or 7: invalid */
        if ((b[0] >> 3) == 0) {
            b[0] |= 0x08;
        }
    }
    *kind = "random";
    return b;
}

static uint64_t delivered, failed;

static void on_dr(void *ctx, void *opaque, arena_err_t err, const char *errmsg)
{
    (void)ctx;
    (void)opaque;
    if (err == ARENA_ERR_OK) {
        delivered++;
    } else {
        failed++;
        fprintf(stderr, "produce-raw: delivery failed: %s\n", errmsg ? errmsg : arena_err_str(err));
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: produce-raw --topic TOPIC --count N [--seed S] "
               "[--mode random|truncated|mixed]\n"
               "                   [--bootstrap HOST:PORT] [--key-prefix K] [--no-header]\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"topic", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"mode", required_argument, NULL, 'm'},
        {"bootstrap", required_argument, NULL, 'b'},
        {"key-prefix", required_argument, NULL, 'k'},
        {"no-header", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *topic = NULL, *mode = "mixed", *bootstrap = NULL, *key_prefix = "garbage-";
    long long count = -1;
    unsigned long long seed = 1;
    bool header = true;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 't':
            topic = optarg;
            break;
        case 'n':
            count = strtoll(optarg, &end, 10);
            if (!*optarg || *end || count < 0) {
                fprintf(stderr, "produce-raw: --count: expected a non-negative integer, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 's':
            seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end) {
                fprintf(stderr, "produce-raw: --seed: expected an integer, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'm':
            mode = optarg;
            if (strcmp(mode, "random") != 0 && strcmp(mode, "truncated") != 0 &&
                strcmp(mode, "mixed") != 0) {
                fprintf(stderr, "produce-raw: --mode: expected random|truncated|mixed, got '%s'\n",
                        mode);
                return 2;
            }
            break;
        case 'b':
            bootstrap = optarg;
            break;
        case 'k':
            key_prefix = optarg;
            break;
        case 'H':
            header = false;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!topic || count < 0 || optind != argc) {
        usage(stderr);
        return 2;
    }
    const ProtobufCMessageDescriptor *d = topic_descriptor(topic);
    if (!d) {
        fprintf(stderr,
                "produce-raw: --topic: '%s' is not an input topic (arena.prompts, "
                "arena.battles.requested, arena.battles.generated, arena.battles.results)\n",
                topic);
        return 2;
    }
    arena_log_init("produce-raw");
    rng_state = seed;
    char errstr[512];
    struct arena_config *cfg = arena_config_load(NULL, errstr, sizeof(errstr));
    if (!cfg) {
        fprintf(stderr, "produce-raw: %s\n", errstr);
        return 2;
    }
    if (bootstrap) {
        char *a = arena_xasprintf("kafka.bootstrap.servers=%s", bootstrap);
        arena_err_t err = arena_config_set(cfg, a, errstr, sizeof(errstr));
        free(a);
        if (err != ARENA_ERR_OK) {
            fprintf(stderr, "produce-raw: %s\n", errstr);
            arena_config_destroy(cfg);
            return 2;
        }
    }
    struct arena_producer *p = arena_producer_new(cfg, "produce-raw", errstr, sizeof(errstr));
    if (!p) {
        fprintf(stderr, "produce-raw: %s\n", errstr);
        arena_config_destroy(cfg);
        return 1;
    }
    arena_producer_set_dr_cb(p, on_dr, NULL);
    const char *mt = header ? arena_codec_type_name(d) : NULL;
    int rc = 0;
    for (long long i = 0; i < count; i++) {
        size_t len = 0;
        const char *kind = "";
        void *buf = NULL;
        for (int attempt = 0;; attempt++) {
            buf = garbage(d, mode, (uint64_t)i, &len, &kind);
            if (rejected(d, buf, len, mt)) {
                break;
            }
            free(buf); /* astronomically rare: this garbage decodes and validates; draw again */
            if (attempt > 100) {
                fprintf(stderr, "produce-raw: cannot make an invalid record\n");
                rc = 1;
                buf = NULL;
                break;
            }
        }
        if (!buf) {
            break;
        }
        char key[128];
        snprintf(key, sizeof(key), "%s%lld", key_prefix, i);
        const char *hdrs[] = {"x-garbage-kind", kind, NULL};
        arena_err_t err =
            arena_producer_send(p, topic, -1, key, strlen(key), buf, len, mt, hdrs, NULL);
        free(buf);
        if (err != ARENA_ERR_OK) {
            fprintf(stderr, "produce-raw: send %lld: %s\n", i, arena_err_str(err));
            rc = 1;
            break;
        }
        arena_producer_poll(p, 0);
    }
    if (arena_producer_flush(p, 30000) != ARENA_ERR_OK) {
        fprintf(stderr, "produce-raw: %d record(s) not acknowledged after 30 s\n",
                arena_producer_outq_len(p));
        rc = 1;
    }
    arena_producer_destroy(p);
    arena_config_destroy(cfg);
    if (failed || delivered != (uint64_t)count) {
        fprintf(stderr, "produce-raw: %llu of %lld acknowledged, %llu failed\n",
                (unsigned long long)delivered, count, (unsigned long long)failed);
        rc = 1;
    }
    if (rc == 0) {
        printf("produced %llu\n", (unsigned long long)delivered);
    }
    return rc;
}
