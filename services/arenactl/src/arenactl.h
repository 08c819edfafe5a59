/* arenactl.h - the operator CLI's subcommands, one file each (arenactl_<cmd>.c).
 * Each returns the process exit code: 0 ok, 1 failure, 2 usage error.
 * `cfg` is the loaded arena.yaml (defaults when --config is absent); never NULL. */
#ifndef ARENACTL_H
#define ARENACTL_H

#include <stddef.h>

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
/* arena.dlq: list dead letters, republish them (arenactl_dlq.c) */
int arenactl_dlq(const struct arena_config *cfg, int argc, char **argv);
/* pause/resume a service over its control socket (arenactl_status.c) */
int arenactl_pause(const struct arena_config *cfg, int argc, char **argv);
int arenactl_resume(const struct arena_config *cfg, int argc, char **argv);

/* wait until the rater counted N battles and the curator caught up (arenactl_wait.c) */
int arenactl_wait(const struct arena_config *cfg, int argc, char **argv);

/* one raw control command to a service (arenactl_ctl.c) */
int arenactl_ctl(const struct arena_config *cfg, int argc, char **argv);

/* flywheel: rounds, cumulative datasets (arenactl_round.c), eval sets (arenactl_evalset.c) */
int arenactl_round(const struct arena_config *cfg, int argc, char **argv);
int arenactl_dataset(const struct arena_config *cfg, int argc, char **argv);
int arenactl_evalset(const struct arena_config *cfg, int argc, char **argv);
struct json_t;
/* The sampler's control endpoint (sampler.control), or NULL after printing why. */
const char *arenactl_sampler_endpoint(const struct arena_config *cfg);
/* One control command to the sampler (args consumed); the reply when "ok" is true, else NULL
 * after printing the error on stderr. */
struct json_t *arenactl_sampler_call(const struct arena_config *cfg, const char *cmd,
                                     struct json_t *args, int timeout_ms);

/* Helpers shared by the subcommands (arenactl_tail.c, arenactl_dlq.c). */
struct arena_msg;
struct ProtobufCMessageDescriptor;
/* Message type carried by an arena topic (arena.prompts -> Prompt ...); NULL for arena.dlq and
 * unknown topics. */
const struct ProtobufCMessageDescriptor *arenactl_topic_descriptor(const char *topic);
/* Standard base64 (RFC 4648, padded); caller frees. */
char *arenactl_base64(const void *data, size_t len);
/* A consumed arena.dlq message as a JSON object: its headers, source topic/partition/offset,
 * service, error, key and value_base64. New reference. */
struct json_t *arenactl_dlq_to_json(const struct arena_msg *m);

#endif
