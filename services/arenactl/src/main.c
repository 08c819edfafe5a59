/* arenactl - operator CLI of Arena Flywheel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/config.h"
#include "arena/log.h"
#include "arenactl.h"
#include "arenactl_curve.h"

static const struct arenactl_cmd cmds[] = {
    {"ingest", "publish prompts from JSONL / Arena-Hard / ShareGPT files to arena.prompts",
     arenactl_ingest},
    {"tail", "print a topic's messages as JSON lines", arenactl_tail},
    {"leaderboard", "print the latest leaderboard from arena.ratings", arenactl_leaderboard},
    {"status", "show every service's state over its control socket", arenactl_status},
    {"rate", "rate a battle file offline (Bradley-Terry / Elo, bootstrap CIs)", arenactl_rate},
    {"export", "export arena.battles.results (FastChat battle JSON)", arenactl_export},
    {"devbroker",
     "faults and leader moves on arena-devbroker (down/up/rtt/errors/coordinator/leader)",
     arenactl_devbroker},
    {"dlq", "list arena.dlq dead letters; --republish sends them back", arenactl_dlq},
    {"pause", "pause a service over its control socket", arenactl_pause},
    {"resume", "resume a paused service", arenactl_resume},
    {"wait", "wait until N battles are rated and the curator caught up", arenactl_wait},
    {"ctl", "send one raw control command (JSON) to a service", arenactl_ctl},
    {"round", "start/wait for a flywheel round on the sampler (D1..DN)", arenactl_round},
    {"evalset", "build/list/export WizardArena eval sets from the sampler's pool",
     arenactl_evalset},
    {"dataset", "cumulative dataset of several rounds' shards, sha256-verified", arenactl_dataset},
    {"curve", "CURVE keys for the control sockets: keygen, public", arenactl_curve},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: arenactl [--config FILE] [--set section.key=value]... [--log-level L] "
                 "COMMAND [ARGS]\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        fprintf(out, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
    }
    fprintf(out, "\n`arenactl COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    const char *config_path = getenv("ARENA_CONFIG");
    char errstr[512];
    int i = 1;
    const char *sets[64];
    int n_sets = 0;

    const char *log_level = NULL;
    arena_log_init("arenactl");
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc && n_sets < 64) {
            sets[n_sets++] = argv[++i];
        } else if (!strcmp(argv[i], "--log-level") && i + 1 < argc) {
            log_level = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            break;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    struct arena_config *cfg = arena_config_load(config_path, errstr, sizeof(errstr));
    if (!cfg) {
        fprintf(stderr, "arenactl: %s\n", errstr);
        return 2;
    }
    for (int s = 0; s < n_sets; s++) {
        if (arena_config_set(cfg, sets[s], errstr, sizeof(errstr)) != ARENA_ERR_OK) {
            fprintf(stderr, "arenactl: %s\n", errstr);
            arena_config_destroy(cfg);
            return 2;
        }
    }
    /* a CLI prints results on stdout: its own log stays at warn unless asked */
    if (!log_level) {
        log_level = getenv("ARENA_LOG_LEVEL") ? getenv("ARENA_LOG_LEVEL") : "warn";
    }
    if (arena_log_set_level_name(log_level) != 0) {
        fprintf(stderr, "arenactl: --log-level: unknown level '%s' (debug|info|warn|error)\n",
                log_level);
        arena_config_destroy(cfg);
        return 2;
    }
    /* control requests use CURVE when `curve:` gives client keys (key tools work without) */
    if (strcmp(argv[i], "curve") != 0 && arenactl_curve_client_setup(cfg) != 0) {
        arena_config_destroy(cfg);
        return 2;
    }
    int rc = -1;
    for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
        if (!strcmp(argv[i], cmds[c].name)) {
            rc = cmds[c].fn(cfg, argc - i, argv + i);
            break;
        }
    }
    if (rc == -1) {
        fprintf(stderr, "arenactl: unknown command '%s'\n\n", argv[i]);
        usage(stderr);
        rc = 2;
    }
    arena_config_destroy(cfg);
    return rc;
}
