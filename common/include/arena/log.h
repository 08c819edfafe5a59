/* log.h - logfmt logging on stderr: one line per event,
 *   ts=2026-11-28T06:00:00.123Z level=info svc=judge msg="..." key=value ...
 * The format string of ARENA_LOG is itself logfmt: "event=started partitions=%d".
 * Registered secrets are replaced by "[REDACTED]" in every line.
 * Thread-safe (one write(2) per line). The level and the service name are the only globals. */
#ifndef ARENA_LOG_H
#define ARENA_LOG_H

enum arena_log_level {
    ARENA_LOG_DEBUG = 0,
    ARENA_LOG_INFO = 1,
    ARENA_LOG_WARN = 2,
    ARENA_LOG_ERROR = 3,
};

extern int arena_log_level;

void arena_log_init(const char *service);
/* "debug" | "info" | "warn" | "error"; returns 0, or -1 on an unknown name (level unchanged). */
int arena_log_set_level_name(const char *name);
/* Never print this string again (API keys). Copies it; empty/short (< 4 chars) strings ignored. */
void arena_log_add_secret(const char *secret);
/* Forget every registered secret. Only for fuzzers and tests that load many unrelated configs in
 * one process (a service never forgets a secret). */
void arena_log_clear_secrets(void);
/* Replace every registered secret in buf (in place, NUL-terminated) with "[REDACTED]";
 * returns a malloc'd string the caller frees. */
char *arena_log_redact(const char *s);

void arena_log_write(int level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define ARENA_LOG(level, ...)                                                                      \
    do {                                                                                           \
        if ((level) >= arena_log_level)                                                            \
            arena_log_write((level), __FILE__, __LINE__, __VA_ARGS__);                             \
    } while (0)

#define ARENA_DEBUG(...) ARENA_LOG(ARENA_LOG_DEBUG, __VA_ARGS__)
#define ARENA_INFO(...) ARENA_LOG(ARENA_LOG_INFO, __VA_ARGS__)
#define ARENA_WARN(...) ARENA_LOG(ARENA_LOG_WARN, __VA_ARGS__)
#define ARENA_ERROR(...) ARENA_LOG(ARENA_LOG_ERROR, __VA_ARGS__)

#endif
