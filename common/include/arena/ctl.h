/* ctl.h - the ZeroMQ control plane. A service binds a REP socket and answers JSON commands
 * ({"cmd":"status"} -> {"ok":true,...}); arenactl sends them with arena_ctl_request().
 * Built-in commands: "status" (service, state, uptime, plus the service's own fields), "pause",
 * "resume", "ping". Services register more. Handlers run in the caller of arena_ctl_poll()
 * (the service's loop thread). Not thread-safe. */
#ifndef ARENA_CTL_H
#define ARENA_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "arena/err.h"

struct arena_ctl;

/* args: the whole request object (borrowed). Return a new reply object (ownership passes);
 * NULL = {"ok":false,"error":"..."} with a generic message. */
typedef json_t *(arena_ctl_handler)(void *ctx, const char *cmd, json_t *args);

struct arena_ctl *arena_ctl_new(const char *endpoint, char *errstr, size_t errstr_size);
void arena_ctl_register(struct arena_ctl *c, const char *cmd, arena_ctl_handler *fn, void *ctx);
/* Answer pending requests without blocking (timeout_ms = 0) or waiting up to timeout_ms. */
int arena_ctl_poll(struct arena_ctl *c, int timeout_ms);
/* The bound endpoint (resolves "tcp://127.0.0.1:*" to the real port). */
const char *arena_ctl_endpoint(const struct arena_ctl *c);
void arena_ctl_destroy(struct arena_ctl *c);

/* Client: send {"cmd":cmd, ...args} and wait for the reply. *reply is a new reference. */
arena_err_t arena_ctl_request(const char *endpoint, const char *cmd, json_t *args, int timeout_ms,
                              json_t **reply, char *errstr, size_t errstr_size);

#endif
