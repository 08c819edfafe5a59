/* store.h - RocksDB-backed state of one service, with column families.
 * The "offsets" column family is always present: a WriteBatch records consumer offsets in the
 * same atomic write as the state it changes (ARCHITECTURE.md §4).
 * Not thread-safe (one owner thread). Values returned by arena_store_get() belong to the caller:
 * free with free(). */
#ifndef ARENA_STORE_H
#define ARENA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"

struct arena_store;
struct arena_batch;
struct arena_store_iter;

/* Opens (creating if missing) the DB at path with the given column families (plus "default"
 * and "offsets"). Column families are addressed by their index in cf_names. */
struct arena_store *arena_store_open(const char *path, const char *const *cf_names, size_t n_cf,
                                     char *errstr, size_t errstr_size);
void arena_store_close(struct arena_store *s);

/* ARENA_ERR_NOT_FOUND when absent. *val is malloc'd (NUL-terminated for convenience). */
arena_err_t arena_store_get(struct arena_store *s, int cf, const void *key, size_t key_len,
                            char **val, size_t *val_len);
bool arena_store_exists(struct arena_store *s, int cf, const void *key, size_t key_len);
arena_err_t arena_store_put(struct arena_store *s, int cf, const void *key, size_t key_len,
                            const void *val, size_t val_len);
arena_err_t arena_store_delete(struct arena_store *s, int cf, const void *key, size_t key_len);

/* Stored "next offset to read" of topic/partition; ARENA_ERR_NOT_FOUND when none. */
arena_err_t arena_store_get_offset(struct arena_store *s, const char *topic, int32_t partition,
                                   int64_t *next_offset);

struct arena_batch *arena_batch_new(void);
void arena_batch_put(struct arena_batch *b, int cf, const void *key, size_t key_len,
                     const void *val, size_t val_len);
void arena_batch_delete(struct arena_batch *b, int cf, const void *key, size_t key_len);
void arena_batch_set_offset(struct arena_batch *b, const char *topic, int32_t partition,
                            int64_t next_offset);
size_t arena_batch_count(const struct arena_batch *b);
void arena_batch_clear(struct arena_batch *b);
void arena_batch_destroy(struct arena_batch *b);
/* Atomic write of the batch (sync = fsync the WAL). The batch is left intact. */
arena_err_t arena_store_write(struct arena_store *s, struct arena_batch *b, bool sync, char *errstr,
                              size_t errstr_size);

/* Iterate a column family from the first key >= prefix while keys start with prefix
 * (prefix NULL/0 = everything). */
struct arena_store_iter *arena_store_iter_new(struct arena_store *s, int cf, const void *prefix,
                                              size_t prefix_len);
bool arena_store_iter_valid(struct arena_store_iter *it);
void arena_store_iter_next(struct arena_store_iter *it);
const char *arena_store_iter_key(struct arena_store_iter *it, size_t *len);
const char *arena_store_iter_value(struct arena_store_iter *it, size_t *len);
void arena_store_iter_destroy(struct arena_store_iter *it);

/* ---- helpers (store_util.c) ---- */
/* u64 values stored big-endian under a string key; a missing or malformed value reads as 0. */
uint64_t arena_store_get_u64(struct arena_store *s, int cf, const char *key);
void arena_batch_put_u64(struct arena_batch *b, int cf, const char *key, uint64_t v);
/* An arena_offset_provider (kafka.h) whose ctx is the store: resume each partition at the
 * "next offset" the store's last WriteBatch recorded. */
bool arena_store_offset_provider(void *store, const char *topic, int32_t partition,
                                 int64_t *offset);

/* Approximate on-disk size in bytes (for the store-size metric). */
uint64_t arena_store_size(struct arena_store *s);

#endif
