/* kafka.h - librdkafka wrappers: an idempotent producer with delivery reports and the arena
 * headers, and a consumer that either joins a group (rebalance handled, offsets taken from a
 * provider such as the RocksDB store on assignment) or assigns itself every partition.
 * Auto-commit is always off: services commit explicitly (Kafka for generator/judge, RocksDB for
 * stateful services). Config: every `kafka:` key of arena.yaml is passed verbatim.
 * librdkafka's log is bridged to ARENA_LOG. Not thread-safe: one thread per object. */
#ifndef ARENA_KAFKA_H
#define ARENA_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/config.h"
#include "arena/err.h"

struct arena_metrics;

/* ---- producer ---- */
struct arena_producer;

/* Called from arena_producer_poll()/flush() for every message sent with a non-NULL opaque or
 * always when set; err = ARENA_ERR_OK on acknowledgement. */
typedef void(arena_dr_cb)(void *ctx, void *msg_opaque, arena_err_t err, const char *errmsg);

struct arena_producer *arena_producer_new(const struct arena_config *cfg, const char *client_id,
                                          char *errstr, size_t errstr_size);
void arena_producer_set_dr_cb(struct arena_producer *p, arena_dr_cb *cb, void *ctx);
/* Copies key and value. message_type is e.g. "arena.v1.BattleResult" (header message-type,
 * plus content-type application/x-protobuf); NULL = no arena headers.
 * extra_headers: NULL or a NULL-terminated list of name, value pairs.
 * Blocks (polling) while the local queue is full. */
arena_err_t arena_producer_send(struct arena_producer *p, const char *topic, int32_t partition,
                                const void *key, size_t key_len, const void *value,
                                size_t value_len, const char *message_type,
                                const char *const *extra_headers, void *msg_opaque);
int arena_producer_poll(struct arena_producer *p, int timeout_ms);
/* Wait for every outstanding delivery; ARENA_ERR_TIMEOUT if some remain. */
arena_err_t arena_producer_flush(struct arena_producer *p, int timeout_ms);
int arena_producer_outq_len(struct arena_producer *p);
/* Count of delivery failures since start. */
uint64_t arena_producer_failed(const struct arena_producer *p);
void arena_producer_destroy(struct arena_producer *p);

/* ---- consumer ---- */
struct arena_consumer;

/* A consumed message. Borrowed pointers are valid until arena_msg_destroy(). */
struct arena_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const char *message_type; /* header message-type or NULL */
    void *rkm;                /* rd_kafka_message_t * */
};
void arena_msg_destroy(struct arena_msg *m);
/* Header value (NUL-terminated copy in *out, caller frees) or ARENA_ERR_NOT_FOUND. */
arena_err_t arena_msg_header(const struct arena_msg *m, const char *name, char **out);

/* Where to resume a partition on assignment: fill *offset and return true, or return false to
 * use the committed group offset (or auto.offset.reset). */
typedef bool(arena_offset_provider)(void *ctx, const char *topic, int32_t partition,
                                    int64_t *offset);
/* Notified after an assignment change (assigned = true) or before a revocation (false). */
typedef void(arena_rebalance_cb)(void *ctx, bool assigned, const char *topic, int32_t partition);

enum arena_consumer_mode {
    ARENA_CONSUMER_GROUP = 0,      /* subscribe with group.id; partitions spread over members */
    ARENA_CONSUMER_ASSIGN_ALL = 1, /* assign every partition of the topics to this process */
};

struct arena_consumer_opts {
    enum arena_consumer_mode mode;
    const char *group_id;           /* required for GROUP; a unique default for ASSIGN_ALL */
    const char *const *topics;      /* NULL-terminated */
    arena_offset_provider *offsets; /* may be NULL */
    arena_rebalance_cb *rebalance;  /* may be NULL */
    void *ctx;
    const char *client_id;
};

struct arena_consumer *arena_consumer_new(const struct arena_config *cfg,
                                          const struct arena_consumer_opts *opts, char *errstr,
                                          size_t errstr_size);
/* Next message or NULL on timeout; errors (partition EOF excluded) are logged and skipped.
 * The caller destroys the message with arena_msg_destroy(). */
struct arena_msg *arena_consumer_poll(struct arena_consumer *c, int timeout_ms);
/* Commit "next offset to read" for one partition to the group (synchronous unless async). */
arena_err_t arena_consumer_commit(struct arena_consumer *c, const char *topic, int32_t partition,
                                  int64_t next_offset, bool async);
/* Pause/resume every assigned partition. The state is remembered: partitions assigned later
 * (after a rebalance) start in it, so a resume issued while a rebalance has taken every
 * partition away still applies to the next assignment. */
arena_err_t arena_consumer_pause(struct arena_consumer *c);
arena_err_t arena_consumer_resume(struct arena_consumer *c);
/* Seek an assigned partition (used to rewind after a failed state write). */
arena_err_t arena_consumer_seek(struct arena_consumer *c, const char *topic, int32_t partition,
                                int64_t offset);
/* Sum over assigned partitions of (high watermark - position), from cached watermarks. */
int64_t arena_consumer_lag(struct arena_consumer *c);
int arena_consumer_assigned_count(struct arena_consumer *c);
/* Leave the group cleanly. */
void arena_consumer_destroy(struct arena_consumer *c);

/* Number of partitions of a topic (metadata request), or -1. */
int arena_kafka_partition_count(const struct arena_config *cfg, const char *topic, int timeout_ms,
                                char *errstr, size_t errstr_size);

#endif
