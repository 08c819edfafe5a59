/* offsets.h - commit tracking for out-of-order completion (generator, judge).
 * Per partition, remembers which consumed offsets are still unfinished; the committable offset is
 * the lowest unfinished one (or last finished + 1), so a restart never skips unfinished work.
 * Pure data structure, no I/O. Not thread-safe. */
#ifndef ARENA_OFFSETS_H
#define ARENA_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena_offsets;

struct arena_offsets *arena_offsets_new(void);
void arena_offsets_destroy(struct arena_offsets *o);
/* A message at `offset` was consumed and is now in flight. Offsets of a partition must be
 * added in increasing order. */
void arena_offsets_begin(struct arena_offsets *o, const char *topic, int32_t partition,
                         int64_t offset);
/* The message is done (outputs acknowledged). */
void arena_offsets_done(struct arena_offsets *o, const char *topic, int32_t partition,
                        int64_t offset);
/* Forget a partition (revoked). */
void arena_offsets_forget(struct arena_offsets *o, const char *topic, int32_t partition);
/* Total unfinished messages. */
size_t arena_offsets_inflight(const struct arena_offsets *o);

/* Iterate partitions whose committable offset advanced since the last call:
 * returns false when none remain. *topic is borrowed. */
bool arena_offsets_next_commit(struct arena_offsets *o, const char **topic, int32_t *partition,
                               int64_t *next_offset);

#endif
