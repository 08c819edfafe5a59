/* util.h - allocation (out-of-memory aborts, as Redis does), growable buffers, time, hashing.
 * arena_buf is caller-owned (_init/_fini). Not thread-safe per object. */
#ifndef ARENA_UTIL_H
#define ARENA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *arena_xmalloc(size_t n);
void *arena_xcalloc(size_t n, size_t size);
void *arena_xrealloc(void *p, size_t n);
char *arena_xstrdup(const char *s); /* NULL -> NULL */
char *arena_xstrndup(const char *s, size_t n);
char *arena_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct arena_buf {
    char *data; /* always NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;
};
void arena_buf_init(struct arena_buf *b);
void arena_buf_fini(struct arena_buf *b);
void arena_buf_reset(struct arena_buf *b);
void arena_buf_append(struct arena_buf *b, const void *data, size_t n);
void arena_buf_puts(struct arena_buf *b, const char *s);
void arena_buf_printf(struct arena_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void arena_buf_vprintf(struct arena_buf *b, const char *fmt, va_list ap);
/* Take ownership of the data (caller frees); the buffer is reset. */
char *arena_buf_steal(struct arena_buf *b, size_t *len);

int64_t arena_now_ms(void);  /* wall clock, unix epoch ms */
int64_t arena_mono_ms(void); /* monotonic ms */
uint64_t arena_mono_us(void);

/* SHA-256 (FIPS 180-4). */
struct arena_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
};
void arena_sha256_init(struct arena_sha256 *s);
void arena_sha256_update(struct arena_sha256 *s, const void *data, size_t n);
void arena_sha256_final(struct arena_sha256 *s, uint8_t out[32]);
/* hex of sha256(data): out must hold 65 bytes */
void arena_sha256_hex(const void *data, size_t n, char out[65]);
/* File digest; ARENA_ERR_IO on failure. out must hold 65 bytes. */
int arena_sha256_file(const char *path, char out[65], uint64_t *bytes);

/* 64-bit hash for in-memory tables and seeded noise (splitmix/xxhash-like; stable across runs). */
uint64_t arena_hash64(const void *data, size_t n, uint64_t seed);
uint64_t arena_mix64(uint64_t x);

/* Big-endian integers for RocksDB keys (byte order = numeric order); store_util.c. */
void arena_be32(uint32_t v, uint8_t out[4]);
uint32_t arena_rd_be32(const uint8_t in[4]);
void arena_be64(uint64_t v, uint8_t out[8]);
uint64_t arena_rd_be64(const uint8_t in[8]);

/* Deterministic ids (ARCHITECTURE.md §3). Output: 32 lowercase hex chars + NUL. */
/* battle_id = hash(round, prompt_id, sorted(model_a, model_b), sample_index) */
void arena_battle_id(uint32_t round, const char *prompt_id, const char *model_a,
                     const char *model_b, uint32_t sample_index, char out[33]);

/* Write a file atomically: temp file in the same directory, fsync, rename, fsync dir.
 * Returns 0 or an arena_err_t (ARENA_ERR_IO) with errstr filled. */
int arena_write_file_atomic(const char *path, const void *data, size_t n, char *errstr,
                            size_t errstr_size);
/* mkdir -p; 0 or ARENA_ERR_IO */
int arena_mkdirs(const char *path, char *errstr, size_t errstr_size);
/* Whole file into a malloc'd NUL-terminated buffer; NULL + errstr on failure. */
char *arena_read_file(const char *path, size_t *len, char *errstr, size_t errstr_size);

#endif
