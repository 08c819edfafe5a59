/* arenactl devbroker - fault injection on a running arena-devbroker over its control socket.
 *   arenactl devbroker [--control ENDPOINT] [--timeout MS] COMMAND
 *     status | down BROKER | up BROKER | rtt BROKER MS | errors API ERR[,ERR...] COUNT
 *     | clear API | topic NAME [PARTITIONS] | coordinator group|transaction KEY BROKER
 *     | leader TOPIC PARTITION BROKER
 * BROKER is 1..N or -1 (all; not for coordinator and leader, which name one broker). The endpoint
 * defaults to $ARENA_DEVBROKER_CONTROL. Prints the JSON reply; exit 0 when the devbroker answered
 * ok, 1 otherwise, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/ctl.h"
#include "arenactl.h"

static void devbroker_usage(FILE *f)
{
    fprintf(f, "usage: arenactl devbroker [--control ENDPOINT] [--timeout MS] COMMAND\n"
               "  status                    brokers, rtt, topics, bootstrap address\n"
               "  down BROKER               disconnect a broker (1..N, -1 = all)\n"
               "  up BROKER                 accept connections again\n"
               "  rtt BROKER MS             add round-trip delay\n"
               "  errors API ERRS COUNT     fail the next COUNT requests of API (Produce, Fetch,\n"
               "                            OffsetCommit, JoinGroup, ...) with ERRS, a comma list\n"
               "                            of Kafka error names (NOT_LEADER_FOR_PARTITION, ...)\n"
               "  clear API                 drop pending injected errors of API\n"
               "  topic NAME [PARTITIONS]   create a topic\n"
               "  coordinator group|transaction KEY BROKER\n"
               "                            pin the coordinator of a consumer group (KEY = its\n"
               "                            group.id) or transactional.id to one broker (1..N)\n"
               "  leader TOPIC PARTITION BROKER\n"
               "                            move the leadership of a partition (-1 = every\n"
               "                            partition of TOPIC) to one broker (1..N)\n"
               "ENDPOINT defaults to $ARENA_DEVBROKER_CONTROL.\n");
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

/* builds the request; NULL + message on a usage error */
static json_t *devbroker_request(int argc, char **argv, const char **cmd)
{
    const char *sub = argv[0];
    long a, b;
    if (!strcmp(sub, "status") && argc == 1) {
        *cmd = "status";
        return json_object();
    }
    if ((!strcmp(sub, "down") || !strcmp(sub, "up")) && argc == 2) {
        if (!parse_long(argv[1], -1, 1000, &a)) {
            fprintf(stderr, "arenactl devbroker %s: BROKER must be an integer, got '%s'\n", sub,
                    argv[1]);
            return NULL;
        }
        *cmd = !strcmp(sub, "down") ? "broker_down" : "broker_up";
        return json_pack("{s:I}", "broker", (json_int_t)a);
    }
    if (!strcmp(sub, "rtt") && argc == 3) {
        if (!parse_long(argv[1], -1, 1000, &a) || !parse_long(argv[2], 0, 600000, &b)) {
            fprintf(stderr, "arenactl devbroker rtt: expected BROKER MS (integers)\n");
            return NULL;
        }
        *cmd = "rtt";
        return json_pack("{s:I, s:I}", "broker", (json_int_t)a, "ms", (json_int_t)b);
    }
    if (!strcmp(sub, "errors") && argc == 4) {
        if (!parse_long(argv[3], 1, 100000, &a)) {
            fprintf(stderr, "arenactl devbroker errors: COUNT must be in 1..100000, got '%s'\n",
                    argv[3]);
            return NULL;
        }
        json_t *errs = json_array();
        char *list = strdup(argv[2]);
        char *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            json_array_append_new(errs, json_string(t));
        }
        free(list);
        if (json_array_size(errs) == 0) {
            json_decref(errs);
            fprintf(stderr, "arenactl devbroker errors: no error names given\n");
            return NULL;
        }
        *cmd = "request_errors";
        return json_pack("{s:s, s:o, s:I}", "api", argv[1], "errors", errs, "count", (json_int_t)a);
    }
    if (!strcmp(sub, "clear") && argc == 2) {
        *cmd = "clear_errors";
        return json_pack("{s:s}", "api", argv[1]);
    }
    if (!strcmp(sub, "topic") && (argc == 2 || argc == 3)) {
        json_t *req = json_pack("{s:s}", "topic", argv[1]);
        if (argc == 3) {
            if (!parse_long(argv[2], 1, 10000, &a)) {
                json_decref(req);
                fprintf(stderr, "arenactl devbroker topic: PARTITIONS must be in 1..10000\n");
                return NULL;
            }
            json_object_set_new(req, "partitions", json_integer(a));
        }
        *cmd = "create_topic";
        return req;
    }
    if (!strcmp(sub, "coordinator") && argc == 4) {
        if (strcmp(argv[1], "group") != 0 && strcmp(argv[1], "transaction") != 0) {
            fprintf(stderr,
                    "arenactl devbroker coordinator: type must be 'group' or 'transaction', "
                    "got '%s'\n",
                    argv[1]);
            return NULL;
        }
        if (!*argv[2]) {
            fprintf(stderr, "arenactl devbroker coordinator: KEY must not be empty\n");
            return NULL;
        }
        if (!parse_long(argv[3], 1, 1000, &a)) {
            fprintf(stderr, "arenactl devbroker coordinator: BROKER must be 1..N, got '%s'\n",
                    argv[3]);
            return NULL;
        }
        *cmd = "coordinator";
        return json_pack("{s:s, s:s, s:I}", "type", argv[1], "key", argv[2], "broker",
                         (json_int_t)a);
    }
    if (!strcmp(sub, "leader") && argc == 4) {
        if (!parse_long(argv[2], -1, 100000, &a)) {
            fprintf(stderr,
                    "arenactl devbroker leader: PARTITION must be an integer (-1 = all), "
                    "got '%s'\n",
                    argv[2]);
            return NULL;
        }
        if (!parse_long(argv[3], 1, 1000, &b)) {
            fprintf(stderr, "arenactl devbroker leader: BROKER must be 1..N, got '%s'\n", argv[3]);
            return NULL;
        }
        *cmd = "leader";
        return json_pack("{s:s, s:I, s:I}", "topic", argv[1], "partition", (json_int_t)a, "broker",
                         (json_int_t)b);
    }
    fprintf(stderr, "arenactl devbroker: bad command or argument count: '%s'\n", sub);
    devbroker_usage(stderr);
    return NULL;
}

int arenactl_devbroker(const struct arena_config *cfg, int argc, char **argv)
{
    (void)cfg;
    const char *endpoint = getenv("ARENA_DEVBROKER_CONTROL");
    long timeout_ms = 5000;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--control") && i + 1 < argc) {
            endpoint = argv[++i];
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            if (!parse_long(argv[++i], 1, 600000, &timeout_ms)) {
                fprintf(stderr, "arenactl devbroker: --timeout: expected milliseconds, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            devbroker_usage(stdout);
            return 0;
        } else {
            break;
        }
    }
    if (i >= argc) {
        devbroker_usage(stderr);
        return 2;
    }
    if (!endpoint || !*endpoint) {
        fprintf(stderr, "arenactl devbroker: no control endpoint (--control or "
                        "ARENA_DEVBROKER_CONTROL)\n");
        return 2;
    }
    const char *cmd = NULL;
    json_t *args = devbroker_request(argc - i, argv + i, &cmd);
    if (!args) {
        return 2;
    }
    json_t *reply = NULL;
    char es[512];
    arena_err_t e = arena_ctl_request(endpoint, cmd, args, (int)timeout_ms, &reply, es, sizeof(es));
    json_decref(args);
    if (e != ARENA_ERR_OK) {
        fprintf(stderr, "arenactl devbroker: %s: %s\n", endpoint, es);
        return 1;
    }
    char *txt = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = json_is_true(json_object_get(reply, "ok")) ? 0 : 1;
    if (rc == 0) {
        printf("%s\n", txt);
    } else {
        const char *msg = json_string_value(json_object_get(reply, "error"));
        fprintf(stderr, "arenactl devbroker: %s\n", msg ? msg : txt);
    }
    free(txt);
    json_decref(reply);
    return rc;
}
