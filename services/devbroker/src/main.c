/* arena-devbroker - local Kafka for development and tests: librdkafka's mock cluster with every
 * arena.* topic, the bootstrap address written to a file, fault injection over ZeroMQ.
 * See services/devbroker/README.md. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/log.h"
#include "arena/service.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "devbroker.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: arena-devbroker [options]\n"
               "  --brokers N            mock brokers (default 1; 3 for fault tests)\n"
               "  --partitions N         partitions of every arena.* topic (default 12)\n"
               "  --replication N        replication factor (default 1, <= brokers)\n"
               "  --topic NAME           create this topic too (repeatable)\n"
               "  --bootstrap-file PATH  write the bootstrap address there (atomically)\n"
               "  --control ENDPOINT     ZeroMQ REP control socket, e.g. tcp://127.0.0.1:5699\n"
               "  --log-level LEVEL      debug|info|warn|error (default info)\n"
               "  --help\n"
               "Runs until SIGTERM/SIGINT; prints the bootstrap address on stdout.\n");
}

static bool parse_int_arg(const char *flag, const char *s, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 1000000) {
        fprintf(stderr, "arena-devbroker: %s: expected a non-negative integer, got '%s'\n", flag,
                s);
        return false;
    }
    *out = (int)v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"partitions", required_argument, NULL, 'p'},
        {"replication", required_argument, NULL, 'r'},
        {"topic", required_argument, NULL, 't'},
        {"bootstrap-file", required_argument, NULL, 'f'},
        {"control", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct devbroker_opts o;
    devbroker_opts_init(&o);
    arena_log_init("devbroker");

    const char **topics = arena_xcalloc((size_t)argc + 16, sizeof(char *));
    size_t n_topics = 0;
    for (size_t i = 0; arena_topics_all[i]; i++) {
        topics[n_topics++] = arena_topics_all[i];
    }
    int rc = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        bool ok = true;
        switch (opt) {
        case 'b':
            ok = parse_int_arg("--brokers", optarg, &o.brokers);
            break;
        case 'p':
            ok = parse_int_arg("--partitions", optarg, &o.partitions);
            break;
        case 'r':
            ok = parse_int_arg("--replication", optarg, &o.replication);
            break;
        case 't':
            topics[n_topics++] = optarg;
            break;
        case 'f':
            o.bootstrap_file = optarg;
            break;
        case 'c':
            o.control = optarg;
            break;
        case 'l':
            if (arena_log_set_level_name(optarg) != 0) {
                fprintf(stderr, "arena-devbroker: --log-level: unknown level '%s'\n", optarg);
                ok = false;
            }
            break;
        case 'h':
            usage(stdout);
            free(topics);
            return 0;
        default:
            ok = false;
            usage(stderr);
            break;
        }
        if (!ok) {
            free(topics);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "arena-devbroker: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        free(topics);
        return 2;
    }
    o.topics = topics;

    arena_signals_install();
    char es[512];
    struct devbroker *db = devbroker_new(&o, es, sizeof(es));
    if (!db) {
        fprintf(stderr, "arena-devbroker: %s\n", es);
        ARENA_ERROR("event=devbroker_failed err=\"%s\"", es);
        free(topics);
        return 1;
    }
    printf("%s\n", devbroker_bootstraps(db));
    fflush(stdout);
    rc = devbroker_run(db, &arena_stop_requested);
    devbroker_destroy(db);
    free(topics);
    return rc;
}
