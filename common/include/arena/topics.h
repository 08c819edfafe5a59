/* topics.h - the public topic names (ARCHITECTURE.md §3) and Kafka header names. */
#ifndef ARENA_TOPICS_H
#define ARENA_TOPICS_H

#define ARENA_TOPIC_PROMPTS "arena.prompts"
#define ARENA_TOPIC_REQUESTED "arena.battles.requested"
#define ARENA_TOPIC_GENERATED "arena.battles.generated"
#define ARENA_TOPIC_RESULTS "arena.battles.results"
#define ARENA_TOPIC_RATINGS "arena.ratings"
#define ARENA_TOPIC_SHARDS "arena.shards"
#define ARENA_TOPIC_DLQ "arena.dlq"

/* every arena.* topic, NULL-terminated */
extern const char *const arena_topics_all[];

#define ARENA_HDR_CONTENT_TYPE "content-type"
#define ARENA_HDR_MESSAGE_TYPE "message-type"
#define ARENA_CONTENT_TYPE_PROTOBUF "application/x-protobuf"
/* DLQ headers */
#define ARENA_HDR_DLQ_TOPIC "dlq-source-topic"
#define ARENA_HDR_DLQ_PARTITION "dlq-source-partition"
#define ARENA_HDR_DLQ_OFFSET "dlq-source-offset"
#define ARENA_HDR_DLQ_ERROR "dlq-error"
#define ARENA_HDR_DLQ_SERVICE "dlq-service"

#endif
