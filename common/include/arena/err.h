/* err.h - the one error enum of libarena (X-macro table, libuv style).
 * Status functions return arena_err_t; constructors return NULL and fill errstr.
 * arena_err_str() returns a static string. Thread-safe. */
#ifndef ARENA_ERR_H
#define ARENA_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* X(NAME, description, retriable) */
#define ARENA_ERR_MAP(X)                                                                           \
    X(OK, "success", 0)                                                                            \
    X(INVALID, "invalid argument", 0)                                                              \
    X(CONFIG, "configuration error", 0)                                                            \
    X(IO, "I/O error", 0)                                                                          \
    X(NOT_FOUND, "not found", 0)                                                                   \
    X(EXISTS, "already exists", 0)                                                                 \
    X(DECODE, "malformed message", 0)                                                              \
    X(VALIDATE, "invalid message", 0)                                                              \
    X(PARSE, "parse error", 0)                                                                     \
    X(LIMIT, "limit exceeded", 0)                                                                  \
    X(KAFKA, "kafka error", 1)                                                                     \
    X(KAFKA_FATAL, "fatal kafka error", 0)                                                         \
    X(STORE, "state store error", 0)                                                               \
    X(TIMEOUT, "timed out", 1)                                                                     \
    X(TRANSIENT, "transient failure", 1)                                                           \
    X(BUSY, "at capacity", 1)                                                                      \
    X(BACKEND, "model backend error", 0)                                                           \
    X(HTTP, "http error", 0)                                                                       \
    X(ZMQ, "zeromq error", 0)                                                                      \
    X(SHUTDOWN, "shutting down", 0)                                                                \
    X(UNSUPPORTED, "not supported", 0)

typedef enum {
#define ARENA__ERR_ENUM(name, desc, retr) ARENA_ERR_##name,
    ARENA_ERR_MAP(ARENA__ERR_ENUM)
#undef ARENA__ERR_ENUM
        ARENA_ERR__COUNT
} arena_err_t;

const char *arena_err_str(arena_err_t err);
/* Upper-case symbolic name without prefix, e.g. "NOT_FOUND". */
const char *arena_err_name(arena_err_t err);
bool arena_err_is_retriable(arena_err_t err);

/* snprintf into errstr (may be NULL/0) and return err: `return arena_err_set(errstr, n, E, ...)` */
arena_err_t arena_err_set(char *errstr, size_t errstr_size, arena_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
