/* devbroker.h - arena-devbroker: librdkafka's mock Kafka cluster (real Kafka wire protocol over
 * TCP on loopback, in memory) with every arena.* topic created, its bootstrap address written to
 * a file, and fault injection (broker down/up, round-trip time, request errors) driven by JSON
 * commands, over ZeroMQ (arenactl devbroker) or directly (tests).
 * Not thread-safe: one thread owns the object (the mock itself runs its own threads). */
#ifndef DEVBROKER_H
#define DEVBROKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct devbroker;

struct devbroker_opts {
    int brokers;                /* >= 1 */
    int partitions;             /* per arena.* topic, >= 1 */
    int replication;            /* <= brokers */
    const char *bootstrap_file; /* NULL = do not write */
    const char *control;        /* ZeroMQ REP endpoint or NULL */
    const char *const *topics;  /* NULL = arena_topics_all; extra topics get `partitions` too */
};

void devbroker_opts_init(struct devbroker_opts *o);

/* Creates the cluster and the topics, writes the bootstrap file (atomically), binds the
 * control socket. NULL + errstr on failure. */
struct devbroker *devbroker_new(const struct devbroker_opts *o, char *errstr, size_t errstr_size);
/* "127.0.0.1:port,..." (borrowed, valid until destroy). */
const char *devbroker_bootstraps(const struct devbroker *db);
/* Bound control endpoint or NULL. */
const char *devbroker_control_endpoint(const struct devbroker *db);

/* Execute one command object ({"cmd":"broker_down","broker":1} ...); returns a new reply
 * object {"ok":true,...} or {"ok":false,"error":"..."}. Commands: status, broker_down,
 * broker_up, rtt, request_errors, clear_errors, create_topic, coordinator (group/transaction
 * coordinator of one key), leader (partition leadership). */
json_t *devbroker_command(struct devbroker *db, const char *cmd, json_t *args);

/* Serve control requests until *stop becomes non-zero. Returns 0. */
int devbroker_run(struct devbroker *db, volatile sig_atomic_t *stop);

/* Removes the bootstrap file it wrote, destroys the cluster. NULL is a no-op. */
void devbroker_destroy(struct devbroker *db);

/* Kafka ApiKey of a request name ("Produce", "Fetch", "OffsetCommit", ...) or a number;
 * -1 when unknown. */
int devbroker_api_key(const char *name);
/* Kafka error code of a name ("NOT_LEADER_FOR_PARTITION", "_TRANSPORT", with or without the
 * RD_KAFKA_RESP_ERR_ prefix) or a number; returns 0 and fills *code, or -1. */
int devbroker_err_code(const char *name, int *code);

#endif
