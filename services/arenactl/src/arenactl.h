/* arenactl.h - the operator CLI's subcommands, one file each (arenactl_<cmd>.c).
 * Each returns the process exit code: 0 ok, 1 failure, 2 usage error.
 * `cfg` is the loaded arena.yaml (defaults when --config is absent); never NULL. */
#ifndef ARENACTL_H
#define ARENACTL_H

#include "arena/config.h"

struct arenactl_cmd {
    const char *name;
    const char *summary;
    int (*fn)(const struct arena_config *cfg, int argc, char **argv);
};

int arenactl_ingest(const struct arena_config *cfg, int argc,
                    char **argv); /* prompts -> arena.prompts */
int arenactl_tail(const struct arena_config *cfg, int argc, char **argv); /* topic -> JSON lines */
int arenactl_leaderboard(const struct arena_config *cfg, int argc,
                         char **argv); /* latest arena.ratings */
int arenactl_status(const struct arena_config *cfg, int argc, char **argv); /* control sockets */
int arenactl_rate(const struct arena_config *cfg, int argc, char **argv);   /* offline ratings */
int arenactl_export(const struct arena_config *cfg, int argc,
                    char **argv); /* results -> fastchat JSON */
/* fault injection on arena-devbroker */
int arenactl_devbroker(const struct arena_config *cfg, int argc, char **argv);

#endif
