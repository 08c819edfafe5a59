/* util.c - allocation, growable buffers, clocks, SHA-256, 64-bit hashing, ids, file helpers. */
#include "arena/util.h"

#include "arena/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- allocation ---------------------------------------------------------------------------- */

static void oom(size_t n)
{
    static const char msg[] = "arena: out of memory\n";
    (void)n;
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    abort();
}

void *arena_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        oom(n);
    }
    return p;
}

void *arena_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        oom(n * size);
    }
    return p;
}

void *arena_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        oom(n);
    }
    return q;
}

char *arena_xstrdup(const char *s)
{
    if (!s) {
        return NULL;
    }
    return arena_xstrndup(s, strlen(s));
}

char *arena_xstrndup(const char *s, size_t n)
{
    if (!s) {
        return NULL;
    }
    size_t len = strnlen(s, n);
    char *p = arena_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_xasprintf(const char *fmt, ...)
{
    struct arena_buf b;
    va_list ap;
    arena_buf_init(&b);
    va_start(ap, fmt);
    arena_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return arena_buf_steal(&b, NULL);
}

/* ---- buffers ------------------------------------------------------------------------------- */

void arena_buf_init(struct arena_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void arena_buf_fini(struct arena_buf *b)
{
    if (!b) {
        return;
    }
    free(b->data);
    arena_buf_init(b);
}

void arena_buf_reset(struct arena_buf *b)
{
    b->len = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

static void buf_reserve(struct arena_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) {
        oom(SIZE_MAX);
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    b->data = arena_xrealloc(b->data, cap);
    b->cap = cap;
}

void arena_buf_append(struct arena_buf *b, const void *data, size_t n)
{
    buf_reserve(b, n);
    if (n) {
        memcpy(b->data + b->len, data, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

void arena_buf_puts(struct arena_buf *b, const char *s)
{
    arena_buf_append(b, s, strlen(s));
}

void arena_buf_vprintf(struct arena_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    buf_reserve(b, 64);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->data + b->len, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void arena_buf_printf(struct arena_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    arena_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *arena_buf_steal(struct arena_buf *b, size_t *len)
{
    char *p = b->data;
    if (!p) {
        p = arena_xmalloc(1);
        p[0] = '\0';
    }
    if (len) {
        *len = b->len;
    }
    arena_buf_init(b);
    return p;
}

/* ---- clocks -------------------------------------------------------------------------------- */

int64_t arena_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t arena_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t arena_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------------------------ */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct arena_sha256 *s, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + sha_k[i] + w[i];
        uint32_t S0 = ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

void arena_sha256_init(struct arena_sha256 *s)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof(iv));
    s->len = 0;
    s->n = 0;
}

void arena_sha256_update(struct arena_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->len += n;
    if (s->n) {
        size_t take = 64 - s->n < n ? 64 - s->n : n;
        memcpy(s->buf + s->n, p, take);
        s->n += take;
        p += take;
        n -= take;
        if (s->n < 64) {
            return;
        }
        sha256_block(s, s->buf);
        s->n = 0;
    }
    while (n >= 64) {
        sha256_block(s, p);
        p += 64;
        n -= 64;
    }
    if (n) {
        memcpy(s->buf, p, n);
        s->n = n;
    }
}

void arena_sha256_final(struct arena_sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->len * 8;
    uint8_t pad[72];
    size_t padlen = (s->n < 56) ? 56 - s->n : 120 - s->n;
    memset(pad, 0, sizeof(pad));
    pad[0] = 0x80;
    for (int i = 0; i < 8; i++) {
        pad[padlen + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    uint64_t keep = s->len;
    arena_sha256_update(s, pad, padlen + 8);
    s->len = keep;
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

static void to_hex(const uint8_t *d, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void arena_sha256_hex(const void *data, size_t n, char out[65])
{
    struct arena_sha256 s;
    uint8_t d[32];
    arena_sha256_init(&s);
    arena_sha256_update(&s, data, n);
    arena_sha256_final(&s, d);
    to_hex(d, 32, out);
}

int arena_sha256_file(const char *path, char out[65], uint64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ARENA_ERR_IO;
    }
    struct arena_sha256 s;
    uint8_t d[32];
    uint8_t chunk[65536];
    uint64_t total = 0;
    arena_sha256_init(&s);
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            close(fd);
            return ARENA_ERR_IO;
        }
        if (r == 0) {
            break;
        }
        arena_sha256_update(&s, chunk, (size_t)r);
        total += (uint64_t)r;
    }
    close(fd);
    arena_sha256_final(&s, d);
    to_hex(d, 32, out);
    if (bytes) {
        *bytes = total;
    }
    return ARENA_ERR_OK;
}

/* ---- 64-bit hashing (xxHash64 algorithm) --------------------------------------------------- */

#define XXP1 0x9E3779B185EBCA87ULL
#define XXP2 0xC2B2AE3D27D4EB4FULL
#define XXP3 0x165667B19E3779F9ULL
#define XXP4 0x85EBCA77C2B2AE63ULL
#define XXP5 0x27D4EB2F165667C5ULL

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t xx_round(uint64_t acc, uint64_t in)
{
    acc += in * XXP2;
    acc = rotl64(acc, 31);
    return acc * XXP1;
}

static uint64_t xx_merge(uint64_t acc, uint64_t v)
{
    acc ^= xx_round(0, v);
    return acc * XXP1 + XXP4;
}

uint64_t arena_hash64(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    const uint8_t *end = p + n;
    uint64_t h;
    if (n >= 32) {
        uint64_t v1 = seed + XXP1 + XXP2, v2 = seed + XXP2, v3 = seed, v4 = seed - XXP1;
        const uint8_t *limit = end - 32;
        do {
            v1 = xx_round(v1, rd64(p));
            v2 = xx_round(v2, rd64(p + 8));
            v3 = xx_round(v3, rd64(p + 16));
            v4 = xx_round(v4, rd64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xx_merge(h, v1);
        h = xx_merge(h, v2);
        h = xx_merge(h, v3);
        h = xx_merge(h, v4);
    } else {
        h = seed + XXP5;
    }
    h += (uint64_t)n;
    while (p + 8 <= end) {
        h ^= xx_round(0, rd64(p));
        h = rotl64(h, 27) * XXP1 + XXP4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)rd32(p) * XXP1;
        h = rotl64(h, 23) * XXP2 + XXP3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p) * XXP5;
        h = rotl64(h, 11) * XXP1;
        p++;
    }
    h ^= h >> 33;
    h *= XXP2;
    h ^= h >> 29;
    h *= XXP3;
    h ^= h >> 32;
    return h;
}

/* splitmix64 finaliser */
uint64_t arena_mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* ---- ids ----------------------------------------------------------------------------------- */

void arena_battle_id(uint32_t round, const char *prompt_id, const char *model_a,
                     const char *model_b, uint32_t sample_index, char out[33])
{
    const char *pa = prompt_id ? prompt_id : "";
    const char *ma = model_a ? model_a : "";
    const char *mb = model_b ? model_b : "";
    const char *lo = strcmp(ma, mb) <= 0 ? ma : mb;
    const char *hi = lo == ma ? mb : ma;
    struct arena_buf b;
    char hex[65];
    arena_buf_init(&b);
    arena_buf_printf(&b, "r=%u\np=%s\nm=%s\nm=%s\ns=%u", round, pa, lo, hi, sample_index);
    arena_sha256_hex(b.data, b.len, hex);
    arena_buf_fini(&b);
    memcpy(out, hex, 32);
    out[32] = '\0';
}

/* ---- files --------------------------------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        return arena_xstrdup(".");
    }
    if (slash == path) {
        return arena_xstrdup("/");
    }
    return arena_xstrndup(path, (size_t)(slash - path));
}

int arena_write_file_atomic(const char *path, const void *data, size_t n, char *errstr,
                            size_t errstr_size)
{
    if (!path || !*path) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "write: empty path");
    }
    char *dir = dir_of(path);
    char *tmp = arena_xasprintf("%s.tmp.XXXXXX", path);
    int rc = ARENA_ERR_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "create temp file for %s: %s", path,
                           strerror(errno));
        goto out;
    }
    if (write_all(fd, data, n) != 0) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "close %s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "rename %s -> %s: %s", tmp, path,
                           strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL) {
            rc = arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "fsync dir %s: %s", dir,
                               strerror(errno));
        }
        close(dfd);
    }
out:
    free(tmp);
    free(dir);
    return rc;
}

int arena_mkdirs(const char *path, char *errstr, size_t errstr_size)
{
    if (!path || !*path) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "mkdirs: empty path");
    }
    char *p = arena_xstrdup(path);
    size_t len = strlen(p);
    int rc = ARENA_ERR_OK;
    for (size_t i = 1; i <= len; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "mkdir %s: %s", p,
                                   strerror(errno));
                break;
            }
            p[i] = c;
        }
    }
    if (rc == ARENA_ERR_OK) {
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            rc =
                arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "mkdir %s: not a directory", path);
        }
    }
    free(p);
    return rc;
}

char *arena_read_file(const char *path, size_t *len, char *errstr, size_t errstr_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct arena_buf b;
    char chunk[65536];
    arena_buf_init(&b);
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "read %s: %s", path, strerror(errno));
            close(fd);
            arena_buf_fini(&b);
            return NULL;
        }
        if (r == 0) {
            break;
        }
        arena_buf_append(&b, chunk, (size_t)r);
    }
    close(fd);
    return arena_buf_steal(&b, len);
}
