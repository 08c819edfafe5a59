/* sampler_state.c - on-disk format upgrades of the sampler (see sampler_state.h). */
#include "sampler_state.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"

static uint64_t rd_le64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | in[i];
    }
    return v;
}

/* An 8-byte little-endian value, rewritten big-endian; other lengths are not counters. */
static size_t convert(struct arena_batch *b, int cf, const char *key, size_t klen, const char *v,
                      size_t len)
{
    if (len != 8) {
        return 0;
    }
    uint8_t out[8];
    arena_be64(rd_le64((const uint8_t *)v), out);
    arena_batch_put(b, cf, key, klen, out, 8);
    return 1;
}

arena_err_t sampler_state_migrate_be(struct arena_store *store,
                                     const struct sampler_state_layout *l, size_t *converted,
                                     char *errstr, size_t errstr_size)
{
    size_t n = 0;
    if (converted) {
        *converted = 0;
    }
    if (arena_store_exists(store, l->cf_meta, SAMPLER_STATE_FORMAT_KEY,
                           strlen(SAMPLER_STATE_FORMAT_KEY))) {
        return ARENA_ERR_OK;
    }
    struct arena_batch *b = arena_batch_new();
    for (size_t i = 0; i < l->n_counters; i++) {
        char *v = NULL;
        size_t len = 0;
        const char *k = l->counters[i];
        if (arena_store_get(store, l->cf_meta, k, strlen(k), &v, &len) == ARENA_ERR_OK) {
            n += convert(b, l->cf_meta, k, strlen(k), v, len);
        }
        free(v);
    }
    struct arena_store_iter *it = arena_store_iter_new(store, l->cf_sets, "v/", 2);
    for (; arena_store_iter_valid(it); arena_store_iter_next(it)) {
        size_t klen, len;
        const char *k = arena_store_iter_key(it, &klen);
        const char *v = arena_store_iter_value(it, &len);
        n += convert(b, l->cf_sets, k, klen, v, len);
    }
    arena_store_iter_destroy(it);
    arena_batch_put_u64(b, l->cf_meta, SAMPLER_STATE_FORMAT_KEY, SAMPLER_STATE_FORMAT_BE);
    arena_err_t err = arena_store_write(store, b, true, errstr, errstr_size);
    arena_batch_destroy(b);
    if (err == ARENA_ERR_OK && converted) {
        *converted = n;
    }
    return err;
}
