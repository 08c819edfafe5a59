/* sampler_u64map.h - open-addressing map from 64-bit keys to 32-bit values (linear probing,
 * grows at 50% load), used by the pipeline's exact/prefix/eval indexes. Keys are hashes the
 * caller computes; 0 is a valid key. Not thread-safe. */
#ifndef SAMPLER_U64MAP_H
#define SAMPLER_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sampler_u64map {
    uint64_t *keys;
    uint32_t *vals;
    uint8_t *used;
    size_t cap; /* power of two */
    size_t n;
};

void sampler_u64map_init(struct sampler_u64map *m);
void sampler_u64map_fini(struct sampler_u64map *m);
/* true and *val when present */
bool sampler_u64map_get(const struct sampler_u64map *m, uint64_t key, uint32_t *val);
/* Insert or keep the existing value; returns true when inserted. */
bool sampler_u64map_put(struct sampler_u64map *m, uint64_t key, uint32_t val);
size_t sampler_u64map_memory(const struct sampler_u64map *m);

#endif
