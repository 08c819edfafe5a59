/* arenactl wait - block until the fleet has rated N battles and the curator has caught up.
 * Used by deploy/local/run.sh and the end-to-end tests; talks to the control sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "arena/ctl.h"
#include "arena/util.h"
#include "arenactl.h"

static json_int_t status_field(const char *endpoint, const char *field, bool *up)
{
    json_t *reply = NULL;
    char errstr[256];
    *up = false;
    if (!endpoint || !*endpoint ||
        arena_ctl_request(endpoint, "status", NULL, 1000, &reply, errstr, sizeof(errstr)) !=
            ARENA_ERR_OK) {
        return -1;
    }
    *up = true;
    json_int_t v = json_integer_value(json_object_get(reply, field));
    json_decref(reply);
    return v;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: arenactl wait --battles N [--timeout-s S] [--no-curator]\n"
            "  Waits until the rater has counted N battles (rated or skipped) and the\n"
            "  curator has no pending prompt and no lag. Exit 0 when reached, 1 on timeout.\n");
}

int arenactl_wait(const struct arena_config *cfg, int argc, char **argv)
{
    long long want = -1;
    double timeout_s = 600;
    bool curator = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--battles") && i + 1 < argc) {
            want = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--timeout-s") && i + 1 < argc) {
            timeout_s = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--no-curator")) {
            curator = false;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (want < 0) {
        usage(stderr);
        return 2;
    }
    const char *rater = cfg->rater.svc.control, *cur = cfg->curator.svc.control;
    if (!rater || !*rater) {
        fprintf(stderr, "arenactl wait: rater.control is not configured\n");
        return 2;
    }
    int64_t deadline = arena_mono_ms() + (int64_t)(timeout_s * 1000);
    long long last_print = -1;
    int64_t last_print_ms = 0;
    for (;;) {
        bool up_r = false, up_c = false;
        json_int_t seen = status_field(rater, "battles_seen", &up_r);
        json_int_t pending = curator ? status_field(cur, "prompts_pending", &up_c) : 0;
        json_int_t lag = curator ? status_field(cur, "lag", &up_c) : 0;
        bool ok = up_r && seen >= want && (!curator || (up_c && pending == 0 && lag == 0));
        int64_t now = arena_mono_ms();
        if (seen != last_print && now - last_print_ms >= 2000) {
            fprintf(stderr, "arenactl wait: %lld/%lld battles counted by the rater\n",
                    (long long)seen, want);
            last_print = seen;
            last_print_ms = now;
        }
        if (ok) {
            printf("reached %lld battles\n", (long long)seen);
            return 0;
        }
        if (now >= deadline) {
            fprintf(stderr,
                    "arenactl wait: timed out after %.0f s: rater %s (%lld battles), curator %s "
                    "(pending %lld, lag %lld)\n",
                    timeout_s, up_r ? "up" : "down", (long long)seen, up_c ? "up" : "down",
                    (long long)pending, (long long)lag);
            return 1;
        }
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
