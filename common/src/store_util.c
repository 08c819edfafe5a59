/* store_util.c - small helpers every stateful service needs on top of store.h: big-endian keys
 * (so RocksDB's byte order is numeric order), u64 counters, and the consumer offset provider
 * that resumes each partition where the store's last WriteBatch left it. */
#include "arena/store.h"
#include "arena/util.h"

#include <stdlib.h>
#include <string.h>

void arena_be32(uint32_t v, uint8_t out[4])
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

uint32_t arena_rd_be32(const uint8_t in[4])
{
    return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) | in[3];
}

void arena_be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

uint64_t arena_rd_be64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | in[i];
    }
    return v;
}

uint64_t arena_store_get_u64(struct arena_store *s, int cf, const char *key)
{
    char *v = NULL;
    size_t len = 0;
    uint64_t out = 0;
    if (arena_store_get(s, cf, key, strlen(key), &v, &len) == ARENA_ERR_OK && len == 8) {
        out = arena_rd_be64((const uint8_t *)v);
    }
    free(v);
    return out;
}

void arena_batch_put_u64(struct arena_batch *b, int cf, const char *key, uint64_t v)
{
    uint8_t buf[8];
    arena_be64(v, buf);
    arena_batch_put(b, cf, key, strlen(key), buf, 8);
}

bool arena_store_offset_provider(void *store, const char *topic, int32_t partition, int64_t *offset)
{
    return arena_store_get_offset(store, topic, partition, offset) == ARENA_ERR_OK;
}
