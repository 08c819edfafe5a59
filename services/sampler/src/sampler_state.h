/* sampler_state.h - upgrades of the sampler's on-disk state (its RocksDB store).
 *
 * Byte order: the u64 counters (CF meta) and eval set versions (CF evalsets "v/<name>") were
 * written in host byte order - little-endian on every target we build for - until the sampler
 * moved to store_util's big-endian helpers (store.h, as the rater and curator store theirs).
 * sampler_state_migrate_be() converts such a store once, in one synchronous WriteBatch, and
 * records it under SAMPLER_STATE_FORMAT_KEY (u64 SAMPLER_STATE_FORMAT_BE) in CF meta; a store
 * holding that key, or a fresh one, is left as it is (the key is written). Not thread-safe. */
#ifndef SAMPLER_STATE_H
#define SAMPLER_STATE_H

#include <stddef.h>

#include "arena/err.h"
#include "arena/store.h"

#define SAMPLER_STATE_FORMAT_KEY "format"
#define SAMPLER_STATE_FORMAT_BE 1

struct sampler_state_layout {
    int cf_meta;                 /* holds the counters and the format key */
    const char *const *counters; /* u64 keys of cf_meta */
    size_t n_counters;
    int cf_sets; /* its "v/" keys are u64 versions */
};

/* *converted (may be NULL) receives the number of values rewritten (0 when nothing to do). */
arena_err_t sampler_state_migrate_be(struct arena_store *store,
                                     const struct sampler_state_layout *l, size_t *converted,
                                     char *errstr, size_t errstr_size);

#endif
