/* sampler_minhash.c - MinHash signatures and LSH banding (see sampler_minhash.h). */
#include "sampler_minhash.h"

#include <stdlib.h>
#include <string.h>

#include "arena/err.h"
#include "arena/util.h"

struct sampler_minhasher {
    int shingle;
    bool words;
    int perms;
    uint64_t seed;
    uint64_t *a;
    uint64_t *b;
};

struct sampler_minhasher *sampler_minhasher_new(const struct sampler_minhash_opts *o, char *errstr,
                                                size_t errstr_size)
{
    int shingle = o && o->shingle > 0 ? o->shingle : 5;
    int perms = o && o->permutations > 0 ? o->permutations : 128;
    if (shingle > 64) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "minhash: shingle %d > 64", shingle);
        return NULL;
    }
    if (perms > 4096) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "minhash: permutations %d > 4096",
                      perms);
        return NULL;
    }
    struct sampler_minhasher *mh = arena_xcalloc(1, sizeof(*mh));
    mh->shingle = shingle;
    mh->words = o ? o->word_shingles : false;
    mh->perms = perms;
    mh->seed = o ? o->seed : 0;
    mh->a = arena_xmalloc((size_t)perms * sizeof(uint64_t));
    mh->b = arena_xmalloc((size_t)perms * sizeof(uint64_t));
    uint64_t s = mh->seed ^ 0x6d696e68617368ULL; /* "minhash" */
    for (int i = 0; i < perms; i++) {
        s += 0x9e3779b97f4a7c15ULL;
        mh->a[i] = arena_mix64(s) | 1;
        s += 0x9e3779b97f4a7c15ULL;
        mh->b[i] = arena_mix64(s);
    }
    return mh;
}

void sampler_minhasher_destroy(struct sampler_minhasher *mh)
{
    if (mh == NULL) {
        return;
    }
    free(mh->a);
    free(mh->b);
    free(mh);
}

int sampler_minhasher_permutations(const struct sampler_minhasher *mh)
{
    return mh->perms;
}

static size_t canon_into(const char *text, size_t len, char *out)
{
    size_t n = 0;
    int space = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c - 'A' + 'a');
        } else if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            space = n > 0;
            continue;
        }
        if (space) {
            out[n++] = ' ';
            space = 0;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}

char *sampler_minhash_canon(const char *text, size_t len, size_t *out_len)
{
    char *out = arena_xmalloc(len + 1);
    size_t n = canon_into(text, len, out);
    if (out_len != NULL) {
        *out_len = n;
    }
    return out;
}

static inline __attribute__((always_inline)) void sig_update(const struct sampler_minhasher *mh,
                                                             uint64_t x, uint32_t *sig)
{
    const uint64_t *a = mh->a;
    const uint64_t *b = mh->b;
    for (int i = 0; i < mh->perms; i++) {
        uint32_t v = (uint32_t)((a[i] * x + b[i]) >> 32);
        sig[i] = v < sig[i] ? v : sig[i];
    }
}

/* arena_hash64 (XXH64) of a short input (n < 32), inlined: the same value, without a call per
 * shingle */
#define MH_P1 0x9E3779B185EBCA87ULL
#define MH_P2 0xC2B2AE3D27D4EB4FULL
#define MH_P3 0x165667B19E3779F9ULL
#define MH_P4 0x85EBCA77C2B2AE63ULL
#define MH_P5 0x27D4EB2F165667C5ULL

static inline __attribute__((always_inline)) uint64_t mh_rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline __attribute__((always_inline)) uint64_t hash_short(const char *s, size_t n,
                                                                 uint64_t seed)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + n;
    uint64_t h = seed + MH_P5 + (uint64_t)n;
    while (p + 8 <= end) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | p[i];
        }
        h ^= mh_rotl(v * MH_P2, 31) * MH_P1;
        h = mh_rotl(h, 27) * MH_P1 + MH_P4;
        p += 8;
    }
    if (p + 4 <= end) {
        uint32_t v =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        h ^= (uint64_t)v * MH_P1;
        h = mh_rotl(h, 23) * MH_P2 + MH_P3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p) * MH_P5;
        h = mh_rotl(h, 11) * MH_P1;
        p++;
    }
    h ^= h >> 33;
    h *= MH_P2;
    h ^= h >> 29;
    h *= MH_P3;
    h ^= h >> 32;
    return h;
}

/* The minima of a block of 16 permutations over all shingle hashes, kept in registers (GCC
 * vector extensions: two 8 x 64-bit vectors; AVX-512 in the v4 clone). */
typedef uint64_t mh_v8 __attribute__((vector_size(64)));

/* (macros, not functions: a vector return value would trigger GCC's -Wpsabi note) */
#define V8_MIN_INTO(m, x)                                                                          \
    do {                                                                                           \
        mh_v8 v8x_ = (x);                                                                          \
        mh_v8 v8lt_ = (mh_v8)(v8x_ < (m));                                                         \
        (m) = (v8x_ & v8lt_) | ((m) & ~v8lt_);                                                     \
    } while (0)

/* The hot loop of the pipeline (character shingles): cloned for AVX-512/AVX2 (vectorised 64-bit
 * multiplies) and dispatched at load time (GCC ifunc); the baseline build stays x86-64.
 * hs[clen] is scratch for the shingle hashes. */
/* (not under TSan: its instrumented ifunc resolver runs before the runtime is up and crashes) */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#endif
static size_t
char_shingles(const struct sampler_minhasher *mh, const char *c, size_t clen, uint32_t *sig,
              uint64_t *hs)
{
    size_t k = (size_t)mh->shingle;
    size_t nh = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i + k <= clen; i++) {
        uint64_t h = hash_short(c + i, k, mh->seed);
        if (h == prev && i > 0) {
            continue; /* runs of one character */
        }
        prev = h;
        hs[nh++] = h;
    }
    int perms = mh->perms;
    int p = 0;
    for (; p + 16 <= perms; p += 16) {
        mh_v8 a0, a1, b0, b1;
        memcpy(&a0, mh->a + p, sizeof(a0));
        memcpy(&a1, mh->a + p + 8, sizeof(a1));
        memcpy(&b0, mh->b + p, sizeof(b0));
        memcpy(&b1, mh->b + p + 8, sizeof(b1));
        mh_v8 m0 = ~(mh_v8){0}, m1 = ~(mh_v8){0};
        for (size_t s = 0; s < nh; s++) {
            uint64_t x = hs[s];
            /* the minimum of the 64-bit values has the minimum high half (>> 32 is monotone):
             * shifted once at the end */
            V8_MIN_INTO(m0, a0 * x + b0);
            V8_MIN_INTO(m1, a1 * x + b1);
        }
        for (int j = 0; j < 8; j++) {
            sig[p + j] = (uint32_t)(m0[j] >> 32);
            sig[p + 8 + j] = (uint32_t)(m1[j] >> 32);
        }
    }
    for (size_t s = 0; p < perms && s < nh; s++) {
        for (int i = p; i < perms; i++) {
            uint32_t v = (uint32_t)((mh->a[i] * hs[s] + mh->b[i]) >> 32);
            sig[i] = v < sig[i] ? v : sig[i];
        }
    }
    return nh;
}

size_t sampler_minhash_sig(const struct sampler_minhasher *mh, const char *text, size_t len,
                           uint32_t *sig)
{
    for (int i = 0; i < mh->perms; i++) {
        sig[i] = UINT32_MAX;
    }
    char small[4096];
    char *c = len < sizeof(small) ? small : arena_xmalloc(len + 1);
    size_t clen = canon_into(text, len, c);
    size_t count = 0;
    size_t k = (size_t)mh->shingle;
    if (clen == 0) {
        if (c != small) {
            free(c);
        }
        return 0;
    }
    if (!mh->words) {
        if (clen <= k) {
            sig_update(mh, arena_hash64(c, clen, mh->seed), sig);
            count = 1;
        } else {
            uint64_t hsmall[1024];
            uint64_t *hs = clen <= 1024 ? hsmall : arena_xmalloc(clen * sizeof(uint64_t));
            count = char_shingles(mh, c, clen, sig, hs);
            if (hs != hsmall) {
                free(hs);
            }
        }
    } else {
        /* word starts */
        size_t nw = 0, cap = 64;
        size_t *starts = arena_xmalloc(cap * sizeof(*starts));
        for (size_t i = 0; i < clen; i++) {
            if (i == 0 || c[i - 1] == ' ') {
                if (nw == cap) {
                    cap *= 2;
                    starts = arena_xrealloc(starts, cap * sizeof(*starts));
                }
                starts[nw++] = i;
            }
        }
        if (nw <= k) {
            sig_update(mh, arena_hash64(c, clen, mh->seed), sig);
            count = 1;
        } else {
            for (size_t w = 0; w + k <= nw; w++) {
                size_t end = w + k < nw ? starts[w + k] - 1 : clen;
                sig_update(mh, arena_hash64(c + starts[w], end - starts[w], mh->seed), sig);
                count++;
            }
        }
        free(starts);
    }
    if (c != small) {
        free(c);
    }
    return count;
}

double sampler_minhash_similarity(const uint32_t *a, const uint32_t *b, int permutations)
{
    int eq = 0;
    for (int i = 0; i < permutations; i++) {
        eq += a[i] == b[i];
    }
    return permutations > 0 ? (double)eq / permutations : 0.0;
}

/* ---- LSH ---- */

/* One bucket of one band: the items whose band key is equal. 12 bytes (packed): the key is
 * kept so that neither a lookup nor a rehash reads the items' signatures. Most buckets hold
 * one item, kept in the slot; a larger bucket is a contiguous array in the band's pool (popular
 * buckets hold hundreds of items: walking a linked chain was one cache miss per item). */
struct __attribute__((packed)) lsh_slot {
    uint64_t key;
    uint32_t ref; /* 0 = empty slot; item + 1 (< 2^31); or LSH_VEC | offset of an array in pool */
};

#define LSH_VEC 0x80000000u

/* One band's bucket table (open addressing, linear probing, <= 3/4 full) and bucket arrays:
 * pool[o] = length, pool[o + 1] = capacity, then the items in insertion order. A full array
 * moves to the end of the pool with twice the capacity (the old space is not reused). */
struct lsh_band {
    struct lsh_slot *slots;
    size_t mask; /* capacity - 1, a power of two */
    size_t used;
    uint32_t *pool;
    size_t pool_n, pool_cap;
};

struct sampler_lsh {
    int perms, bands, rows;
    uint32_t *sigs; /* n * perms */
    /* n * skw: the low 2 bits of each minimum (a cheap first check of candidates), 32 bytes per
     * item at 128 permutations: small enough to stay mostly in cache, unlike the signatures */
    uint64_t *sketch;
    int skw; /* 64-bit words per item */
    size_t n, cap_items;
    struct lsh_band *band; /* bands */
    uint32_t *mark;        /* query generation per item */
    uint32_t gen;
};

#define LSH_MIN_SLOTS 256

struct sampler_lsh *sampler_lsh_new(int permutations, int bands, char *errstr, size_t errstr_size)
{
    if (permutations < 1 || permutations > 4096 || bands < 1 || permutations % bands != 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                      "lsh: permutations (%d) must be a multiple of bands (%d), at most 4096",
                      permutations, bands);
        return NULL;
    }
    struct sampler_lsh *l = arena_xcalloc(1, sizeof(*l));
    l->perms = permutations;
    l->bands = bands;
    l->rows = permutations / bands;
    l->skw = (permutations + 31) / 32;
    l->band = arena_xcalloc((size_t)bands, sizeof(*l->band));
    for (int b = 0; b < bands; b++) {
        l->band[b].slots = arena_xcalloc(LSH_MIN_SLOTS, sizeof(struct lsh_slot));
        l->band[b].mask = LSH_MIN_SLOTS - 1;
    }
    return l;
}

void sampler_lsh_destroy(struct sampler_lsh *l)
{
    if (l == NULL) {
        return;
    }
    for (int b = 0; l->band != NULL && b < l->bands; b++) {
        free(l->band[b].slots);
        free(l->band[b].pool);
    }
    free(l->band);
    free(l->sigs);
    free(l->sketch);
    free(l->mark);
    free(l);
}

static uint64_t band_key(const struct sampler_lsh *l, const uint32_t *sig, int band)
{
    return arena_hash64(sig + (size_t)band * (size_t)l->rows, (size_t)l->rows * sizeof(uint32_t),
                        0x4c5348ULL + (uint64_t)band);
}

/* The slot of the bucket of key in band b, or the empty slot ending its probe sequence. */
static size_t find_slot(const struct lsh_band *bd, uint64_t key)
{
    size_t i = (size_t)key & bd->mask;
    while (bd->slots[i].ref != 0 && bd->slots[i].key != key) {
        i = (i + 1) & bd->mask;
    }
    return i;
}

static void grow_band(struct lsh_band *bd)
{
    struct lsh_slot *old = bd->slots;
    size_t ocap = bd->mask + 1;
    bd->mask = ocap * 2 - 1;
    bd->slots = arena_xcalloc(ocap * 2, sizeof(*bd->slots));
    for (size_t j = 0; j < ocap; j++) {
        if (old[j].ref != 0) {
            bd->slots[find_slot(bd, old[j].key)] = old[j];
        }
    }
    free(old);
}

static void prefetch_slots(const struct sampler_lsh *l, const uint64_t *keys)
{
    for (int b = 0; b < l->bands; b++) {
        __builtin_prefetch(&l->band[b].slots[(size_t)keys[b] & l->band[b].mask]);
    }
}

/* Estimated Jaccard of sig with item, or -1 when it is certainly below threshold: equal
 * minima have equal low 2 bits, so the share of equal 2-bit pairs bounds the share of equal
 * minima from above (32 bytes read instead of 512 for most candidates; an unrelated pair
 * agrees on ~1/4 of the pairs, far below the threshold). */
static double candidate_sim(const struct sampler_lsh *l, const uint32_t *sig, const uint64_t *sk,
                            uint32_t item, double threshold)
{
    const uint64_t *isk = l->sketch + (size_t)item * (size_t)l->skw;
    int diff = 0;
    for (int w = 0; w < l->skw; w++) {
        uint64_t x = sk[w] ^ isk[w];
        diff += __builtin_popcountll((x | x >> 1) & 0x5555555555555555ULL);
    }
    if ((double)(l->perms - diff) / l->perms < threshold) {
        return -1.0;
    }
    return sampler_minhash_similarity(sig, l->sigs + (size_t)item * (size_t)l->perms, l->perms);
}

static void sketch_of(const uint32_t *sig, int perms, int skw, uint64_t *sk)
{
    memset(sk, 0, (size_t)skw * sizeof(uint64_t));
    for (int i = 0; i < perms; i++) {
        sk[i / 32] |= (uint64_t)(sig[i] & 3u) << (2 * (i % 32));
    }
}

void sampler_lsh_band_keys(const struct sampler_lsh *l, const uint32_t *sig, uint64_t *keys)
{
    for (int b = 0; b < l->bands; b++) {
        keys[b] = band_key(l, sig, b);
    }
}

void sampler_lsh_prefetch(const struct sampler_lsh *l, const uint64_t *keys)
{
    if (l->n > 0) {
        prefetch_slots(l, keys);
    }
}

int sampler_lsh_bands(const struct sampler_lsh *l)
{
    return l->bands;
}

void sampler_lsh_clear(struct sampler_lsh *l)
{
    l->n = 0;
    for (int b = 0; b < l->bands; b++) {
        memset(l->band[b].slots, 0, (l->band[b].mask + 1) * sizeof(struct lsh_slot));
        l->band[b].used = 0;
        l->band[b].pool_n = 0;
    }
}

const uint32_t *sampler_lsh_sig(const struct sampler_lsh *l, uint32_t item)
{
    return l->sigs + (size_t)item * (size_t)l->perms;
}

uint32_t sampler_lsh_append(struct sampler_lsh *l, const uint32_t *sig)
{
    if (l->n == l->cap_items) {
        l->cap_items = l->cap_items ? l->cap_items * 2 : 1024;
        l->sigs = arena_xrealloc(l->sigs, l->cap_items * (size_t)l->perms * sizeof(uint32_t));
        l->sketch = arena_xrealloc(l->sketch, l->cap_items * (size_t)l->skw * sizeof(uint64_t));
        l->mark = arena_xrealloc(l->mark, l->cap_items * sizeof(uint32_t));
    }
    uint32_t item = (uint32_t)l->n++;
    memcpy(l->sigs + (size_t)item * (size_t)l->perms, sig, (size_t)l->perms * sizeof(uint32_t));
    sketch_of(sig, l->perms, l->skw, l->sketch + (size_t)item * (size_t)l->skw);
    l->mark[item] = 0;
    return item;
}

static void band_insert(struct lsh_band *bd, uint32_t item, uint64_t key)
{
    if ((bd->used + 1) * 4 > (bd->mask + 1) * 3) {
        grow_band(bd);
    }
    size_t i = find_slot(bd, key);
    struct lsh_slot *sl = &bd->slots[i];
    if (sl->ref == 0) {
        bd->used++;
        sl->key = key;
        sl->ref = item + 1;
        return;
    }
    uint32_t o = 0, len = 1, cap = 1;
    if (sl->ref & LSH_VEC) {
        o = sl->ref & ~LSH_VEC;
        len = bd->pool[o];
        cap = bd->pool[o + 1];
    }
    if (len == cap) {
        uint32_t ncap = cap < 4 ? 4 : cap * 2;
        if (bd->pool_n + 2 + ncap > bd->pool_cap) {
            while (bd->pool_n + 2 + ncap > bd->pool_cap) {
                bd->pool_cap = bd->pool_cap ? bd->pool_cap * 2 : 4096;
            }
            bd->pool = arena_xrealloc(bd->pool, bd->pool_cap * sizeof(uint32_t));
        }
        uint32_t no = (uint32_t)bd->pool_n;
        bd->pool_n += 2 + (size_t)ncap;
        if (sl->ref & LSH_VEC) {
            memcpy(bd->pool + no + 2, bd->pool + o + 2, (size_t)len * sizeof(uint32_t));
        } else {
            bd->pool[no + 2] = sl->ref - 1;
        }
        bd->pool[no + 1] = ncap;
        o = no;
        sl->ref = LSH_VEC | o;
    }
    bd->pool[o + 2 + len] = item;
    bd->pool[o] = len + 1;
}

void sampler_lsh_index_band(struct sampler_lsh *l, int band, uint32_t first, uint32_t n,
                            const uint64_t *keys)
{
    struct lsh_band *bd = &l->band[band];
    size_t stride = (size_t)l->bands;
    for (uint32_t i = 0; i < n; i++) {
        if (i + 8 < n) {
            __builtin_prefetch(&bd->slots[(size_t)keys[(i + 8) * stride + band] & bd->mask]);
        }
        band_insert(bd, first + i, keys[i * stride + band]);
    }
}

uint32_t sampler_lsh_add_keys(struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys)
{
    prefetch_slots(l, keys);
    uint32_t item = sampler_lsh_append(l, sig);
    for (int b = 0; b < l->bands; b++) {
        band_insert(&l->band[b], item, keys[b]);
    }
    return item;
}

uint32_t sampler_lsh_add(struct sampler_lsh *l, const uint32_t *sig)
{
    uint64_t keys[4096];
    sampler_lsh_band_keys(l, sig, keys);
    return sampler_lsh_add_keys(l, sig, keys);
}

/* Candidates are gathered first and their sketches prefetched, then compared: the cache
 * misses of several candidates overlap instead of following one another. */
#define LSH_BATCH 64

struct lsh_best {
    int64_t item;
    double sim;
};

static void compare_batch(const struct sampler_lsh *l, const uint32_t *sig, const uint64_t *sk,
                          const uint32_t *cand, size_t n, double threshold, struct lsh_best *best)
{
    for (size_t c = 0; c < n; c++) {
        uint32_t item = cand[c];
        if ((int64_t)item == best->item) {
            continue;
        }
        double s = candidate_sim(l, sig, sk, item, threshold);
        if (s >= threshold && (s > best->sim || (s == best->sim && item < best->item))) {
            best->item = item;
            best->sim = s;
        }
    }
}

/* The best candidate (highest similarity >= threshold, ties -> lowest id; the order candidates
 * are compared in does not matter). marks (may be NULL: an item sharing several bands is then
 * compared several times, with the same answer) skips items already compared. */
static int64_t query(const struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys,
                     double threshold, uint32_t *marks, uint32_t gen, double *sim_out)
{
    struct lsh_best best = {-1, -1.0};
    if (l->n > 0) {
        prefetch_slots(l, keys);
        uint64_t sk[128];
        sketch_of(sig, l->perms, l->skw, sk);
        uint32_t cand[LSH_BATCH];
        size_t nc = 0;
        size_t line = (size_t)l->skw * sizeof(uint64_t);
        for (int b = 0; b < l->bands; b++) {
            const struct lsh_band *bd = &l->band[b];
            size_t i = find_slot(bd, keys[b]);
            uint32_t ref = bd->slots[i].ref, one;
            const uint32_t *items = &one;
            uint32_t len = 0;
            if (ref & LSH_VEC) {
                items = bd->pool + (ref & ~LSH_VEC) + 2;
                len = items[-2];
            } else if (ref != 0) {
                one = ref - 1;
                len = 1;
            }
            for (uint32_t k = 0; k < len; k++) {
                uint32_t item = items[k];
                if (marks != NULL) {
                    if (marks[item] == gen) {
                        continue;
                    }
                    marks[item] = gen;
                }
                const char *isk = (const char *)(l->sketch + (size_t)item * (size_t)l->skw);
                for (size_t o = 0; o < line; o += 64) {
                    __builtin_prefetch(isk + o);
                }
                cand[nc++] = item;
                if (nc == LSH_BATCH) {
                    compare_batch(l, sig, sk, cand, nc, threshold, &best);
                    nc = 0;
                }
            }
        }
        compare_batch(l, sig, sk, cand, nc, threshold, &best);
    }
    if (sim_out != NULL) {
        *sim_out = best.item >= 0 ? best.sim : 0.0;
    }
    return best.item;
}

int64_t sampler_lsh_query_keys(struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys,
                               double threshold, double *sim_out)
{
    if (l->n > 0 && ++l->gen == 0) {
        memset(l->mark, 0, l->n * sizeof(uint32_t));
        l->gen = 1;
    }
    return query(l, sig, keys, threshold, l->mark, l->gen, sim_out);
}

int64_t sampler_lsh_query(struct sampler_lsh *l, const uint32_t *sig, double threshold,
                          double *sim_out)
{
    uint64_t keys[4096];
    sampler_lsh_band_keys(l, sig, keys);
    return sampler_lsh_query_keys(l, sig, keys, threshold, sim_out);
}

int64_t sampler_lsh_query_ro(const struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys,
                             double threshold, double *sim_out)
{
    return query(l, sig, keys, threshold, NULL, 0, sim_out);
}

size_t sampler_lsh_count(const struct sampler_lsh *l)
{
    return l->n;
}

size_t sampler_lsh_memory(const struct sampler_lsh *l)
{
    size_t m = l->cap_items * ((size_t)l->perms * sizeof(uint32_t) +
                               (size_t)l->skw * sizeof(uint64_t) + sizeof(uint32_t));
    for (int b = 0; b < l->bands; b++) {
        m += (l->band[b].mask + 1) * sizeof(struct lsh_slot) +
             l->band[b].pool_cap * sizeof(uint32_t);
    }
    return m;
}
