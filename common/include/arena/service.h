/* service.h - what every arena service process shares: command line, config, logging, signals,
 * metrics, ops HTTP server, ZeroMQ control socket and the dead-letter queue.
 *
 *   struct arena_service svc;
 *   int rc = arena_service_init(&svc, "judge", argc, argv);   // 0 go on, else exit with rc-1
 *   while (!arena_service_stopping(&svc)) { arena_service_tick(&svc); ... }
 *   arena_service_fini(&svc);
 *
 * Command line: --config FILE (or ARENA_CONFIG), --set section.key=value (repeatable),
 * --print-config, --log-level LEVEL, --help.
 * Signals: SIGTERM/SIGINT set the stop flag (the only process-wide global besides the log
 * level); a second signal exits at once (exit code 130). Not thread-safe. */
#ifndef ARENA_SERVICE_H
#define ARENA_SERVICE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena/config.h"
#include "arena/ctl.h"
#include "arena/http.h"
#include "arena/kafka.h"
#include "arena/metrics.h"

extern volatile sig_atomic_t arena_stop_requested;

struct arena_service {
    const char *name;                /* "sampler", "generator", ... (static) */
    struct arena_config *cfg;        /* owned */
    const struct arena_svc_cfg *svc; /* the service's section of cfg */
    struct arena_metrics *metrics;   /* owned */
    struct arena_http *http;         /* owned, NULL when disabled */
    struct arena_ctl *ctl;           /* owned, NULL when disabled */
    bool paused;                     /* set by the "pause"/"resume" control commands */
    bool ready;
    int64_t started_ms;
    int64_t stop_deadline_ms; /* monotonic deadline once stopping (grace period) */
    char last_error[256];
    uint64_t dlq_count;
    /* the service's status fields for "status" (set by the service; may be NULL) */
    json_t *(*status_fn)(void *ctx);
    void *status_ctx;
};

/* Returns 0 to run; otherwise the process should exit with (return value - 1):
 * 1 -> exit 0 (--help, --print-config), 3 -> exit 2 (usage/config error, message printed). */
int arena_service_init(struct arena_service *svc, const char *name, int argc, char **argv);
void arena_service_fini(struct arena_service *svc);

/* Install SIGTERM/SIGINT handlers (done by init; exposed for tools). */
void arena_signals_install(void);

/* Answer control requests, heartbeat /healthz. Call every loop iteration (cheap). */
void arena_service_tick(struct arena_service *svc);
bool arena_service_stopping(const struct arena_service *svc);
/* True once the grace period after the stop request ran out. */
bool arena_service_grace_expired(struct arena_service *svc);
void arena_service_set_ready(struct arena_service *svc, bool ready);
/* Record an error for "status" and the log. */
void arena_service_error(struct arena_service *svc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Send an input message that cannot be decoded/validated to arena.dlq: original key and
 * value, headers naming source topic, partition, offset, service and reason.
 * Counts arena_dlq_messages_total{topic,reason}. */
arena_err_t arena_service_dlq(struct arena_service *svc, struct arena_producer *p,
                              const struct arena_msg *m, arena_err_t err, const char *reason);

#endif
