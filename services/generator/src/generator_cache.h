/* generator_cache.h - the response cache key: sha256 over (model, conversation, sampling
 * params). Pure function, thread-safe. */
#ifndef GENERATOR_CACHE_H
#define GENERATOR_CACHE_H

#include <stdint.h>

#include "arena/v1/battle.pb-c.h"

/* out = 32 raw bytes */
void generator_cache_key(const char *model, const Arena__V1__ChatMessage *const *msgs, size_t n,
                         double temperature, int64_t max_tokens, uint64_t seed, uint8_t out[32]);

#endif
