/* arenactl_leaderboard.c - `arenactl leaderboard`: read arena.ratings from the beginning to its
 * end, keep the latest Leaderboard of each name and print it as a table or as the rater's
 * /leaderboard.json object (arena/leaderboard_fmt.h renders both). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "arena/codec.h"
#include "arena/kafka.h"
#include "arena/leaderboard_fmt.h"
#include "arena/log.h"
#include "arena/service.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "arenactl.h"

#define LB_MAX_NAMES 64
/* once something was read, the end of the topic is reached when nothing arrives for this
 * long and the consumer's lag is zero (the full --timeout-ms is the fallback) */
#define LB_SETTLE_MS 300

static void lb_usage(FILE *out)
{
    fprintf(out, "usage: arenactl leaderboard [--output table|json] [--name NAME] "
                 "[--timeout-ms T]\n"
                 "  --output table|json  table (default) or the rater's /leaderboard.json object\n"
                 "                       (one JSON line per leaderboard)\n"
                 "  --name NAME          only this leaderboard (default: every name found)\n"
                 "  --timeout-ms T       give up waiting for more messages after T ms "
                 "(default 3000)\n");
}

int arenactl_leaderboard(const struct arena_config *cfg, int argc, char **argv)
{
    const char *output = "table";
    const char *name = NULL;
    int64_t timeout_ms = 3000;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            lb_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--output") && i + 1 < argc) {
            output = argv[++i];
            if (strcmp(output, "table") != 0 && strcmp(output, "json") != 0) {
                fprintf(stderr,
                        "arenactl leaderboard: --output: expected table or json, got "
                        "'%s'\n",
                        output);
                return 2;
            }
        } else if (!strcmp(a, "--json")) {
            output = "json";
        } else if (!strcmp(a, "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(a, "--timeout-ms") && i + 1 < argc) {
            char *end = NULL;
            timeout_ms = strtoll(argv[++i], &end, 10);
            if (!*argv[i] || *end || timeout_ms < 0) {
                fprintf(stderr,
                        "arenactl leaderboard: --timeout-ms: expected a non-negative integer, "
                        "got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "arenactl leaderboard: unexpected argument '%s'\n", a);
            lb_usage(stderr);
            return 2;
        }
    }

    char errstr[512];
    char group[96];
    snprintf(group, sizeof(group), "arenactl-leaderboard-%ld-%lld", (long)getpid(),
             (long long)arena_now_ms());
    const char *topics[] = {ARENA_TOPIC_RATINGS, NULL};
    struct arena_consumer_opts opts = {
        .mode = ARENA_CONSUMER_ASSIGN_ALL,
        .group_id = group,
        .topics = topics,
        .client_id = "arenactl-leaderboard",
    };
    struct arena_consumer *c = arena_consumer_new(cfg, &opts, errstr, sizeof(errstr));
    if (!c) {
        fprintf(stderr, "arenactl leaderboard: %s\n", errstr);
        return 1;
    }
    arena_signals_install();

    Arena__V1__Leaderboard *latest[LB_MAX_NAMES] = {0};
    size_t n_latest = 0;
    int64_t seen = 0, bad = 0;
    int64_t last = arena_mono_ms();
    while (!arena_stop_requested) {
        struct arena_msg *m = arena_consumer_poll(c, 100);
        if (!m) {
            int64_t idle = arena_mono_ms() - last;
            if (idle >= timeout_ms ||
                (seen > 0 && idle >= LB_SETTLE_MS && arena_consumer_lag(c) == 0)) {
                break;
            }
            continue;
        }
        last = arena_mono_ms();
        seen++;
        Arena__V1__Leaderboard *lb = NULL;
        arena_err_t err =
            m->value
                ? ARENA_DECODE(Arena__V1__Leaderboard, arena__v1__leaderboard__descriptor, m->value,
                               m->value_len, m->message_type, &lb, errstr, sizeof(errstr))
                : ARENA_ERR_NOT_FOUND;
        if (err != ARENA_ERR_OK) {
            if (m->value) {
                fprintf(stderr, "arenactl leaderboard: %s[%d]@%lld skipped: %s\n", m->topic,
                        (int)m->partition, (long long)m->offset, errstr);
                bad++;
            }
            arena_msg_destroy(m);
            continue;
        }
        arena_msg_destroy(m);
        if (name && strcmp(lb->name, name) != 0) {
            arena_codec_free(&lb->base);
            continue;
        }
        size_t k = 0;
        while (k < n_latest && strcmp(latest[k]->name, lb->name) != 0) {
            k++;
        }
        if (k < n_latest) {
            /* later offsets of a key win unless they carry an older timestamp */
            if (lb->updated_at_ms >= latest[k]->updated_at_ms) {
                arena_codec_free(&latest[k]->base);
                latest[k] = lb;
            } else {
                arena_codec_free(&lb->base);
            }
        } else if (n_latest < LB_MAX_NAMES) {
            latest[n_latest++] = lb;
        } else {
            arena_codec_free(&lb->base);
        }
    }
    arena_consumer_destroy(c);

    int rc = 0;
    if (n_latest == 0) {
        fprintf(stderr,
                "arenactl leaderboard: no leaderboard%s%s on %s yet (%lld message(s) read)\n",
                name ? " named " : "", name ? name : "", ARENA_TOPIC_RATINGS, (long long)seen);
        rc = 1;
    }
    for (size_t k = 0; k < n_latest; k++) {
        if (!strcmp(output, "json")) {
            json_t *j = arena_leaderboard_to_json(latest[k]);
            char *text = json_dumps(j, JSON_COMPACT);
            printf("%s\n", text);
            free(text);
            json_decref(j);
        } else {
            if (k > 0) {
                printf("\n");
            }
            arena_leaderboard_print_table(stdout, latest[k]);
        }
        arena_codec_free(&latest[k]->base);
    }
    if (bad > 0) {
        fprintf(stderr, "arenactl leaderboard: %lld undecodable message(s) skipped\n",
                (long long)bad);
    }
    return rc;
}
