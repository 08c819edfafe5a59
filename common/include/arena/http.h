/* http.h - the ops HTTP server of a service (libmicrohttpd, its own thread):
 *   /metrics  Prometheus text of the service's registry
 *   /healthz  200 while the process is alive and its loop is turning
 *   /readyz   200 once the service says it is ready (and not shutting down), else 503
 *   plus routes a service adds (/leaderboard.json, /).
 * Route handlers run on the HTTP thread: they must only read thread-safe snapshots.
 * Binds to the configured host:port (loopback by default). */
#ifndef ARENA_HTTP_H
#define ARENA_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "arena/util.h"

struct arena_http;
struct arena_metrics;

/* Fill body and content_type (static string); return the HTTP status. */
typedef int(arena_http_handler)(void *ctx, const char *path, const char *query,
                                struct arena_buf *body, const char **content_type);

/* listen = "host:port"; port 0 picks a free port (see arena_http_port). */
struct arena_http *arena_http_start(const char *listen, struct arena_metrics *metrics, char *errstr,
                                    size_t errstr_size);
void arena_http_route(struct arena_http *h, const char *path, arena_http_handler *fn, void *ctx);
void arena_http_set_ready(struct arena_http *h, bool ready);
void arena_http_heartbeat(
    struct arena_http *h); /* loop calls this; /healthz fails if stale > 30 s */
int arena_http_port(const struct arena_http *h);
void arena_http_stop(struct arena_http *h);

#endif
