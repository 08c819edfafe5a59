/* topics.c - the list of every arena.* topic (created by arena-devbroker and deployments). */
#include "arena/topics.h"

#include <stddef.h>

const char *const arena_topics_all[] = {
    ARENA_TOPIC_PROMPTS, ARENA_TOPIC_REQUESTED, ARENA_TOPIC_GENERATED, ARENA_TOPIC_RESULTS,
    ARENA_TOPIC_RATINGS, ARENA_TOPIC_SHARDS,    ARENA_TOPIC_DLQ,       NULL,
};
