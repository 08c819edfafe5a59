/* sampler_u64map.c - see sampler_u64map.h */
#include "sampler_u64map.h"

#include <stdlib.h>
#include <string.h>

#include "arena/util.h"

void sampler_u64map_init(struct sampler_u64map *m)
{
    memset(m, 0, sizeof(*m));
}

void sampler_u64map_fini(struct sampler_u64map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof(*m));
}

static size_t slot_of(uint64_t key, size_t cap)
{
    return (size_t)(arena_mix64(key) & (cap - 1));
}

bool sampler_u64map_get(const struct sampler_u64map *m, uint64_t key, uint32_t *val)
{
    if (m->cap == 0) {
        return false;
    }
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->used[i]) {
            return false;
        }
        if (m->keys[i] == key) {
            if (val != NULL) {
                *val = m->vals[i];
            }
            return true;
        }
    }
}

static void grow(struct sampler_u64map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    uint64_t *keys = arena_xmalloc(ncap * sizeof(*keys));
    uint32_t *vals = arena_xmalloc(ncap * sizeof(*vals));
    uint8_t *used = arena_xcalloc(ncap, 1);
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->used[j]) {
            continue;
        }
        size_t i = slot_of(m->keys[j], ncap);
        while (used[i]) {
            i = (i + 1) & (ncap - 1);
        }
        used[i] = 1;
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
    }
    free(m->keys);
    free(m->vals);
    free(m->used);
    m->keys = keys;
    m->vals = vals;
    m->used = used;
    m->cap = ncap;
}

bool sampler_u64map_put(struct sampler_u64map *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        grow(m);
    }
    size_t i = slot_of(key, m->cap);
    while (m->used[i]) {
        if (m->keys[i] == key) {
            return false;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return true;
}

size_t sampler_u64map_memory(const struct sampler_u64map *m)
{
    return m->cap * (sizeof(uint64_t) + sizeof(uint32_t) + 1);
}
