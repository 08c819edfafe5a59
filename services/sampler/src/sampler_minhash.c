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

/* The hot loop of the pipeline (character shingles): cloned for AVX-512/AVX2 (vectorised 64-bit
 * multiplies) and dispatched at load time (GCC ifunc); the baseline build stays x86-64. */
/* (not under TSan: its instrumented ifunc resolver runs before the runtime is up and crashes) */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#endif
static size_t
char_shingles(const struct sampler_minhasher *mh, const char *c, size_t clen, uint32_t *sig)
{
    size_t k = (size_t)mh->shingle;
    size_t count = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i + k <= clen; i++) {
        uint64_t h = arena_hash64(c + i, k, mh->seed);
        if (h == prev && i > 0) {
            continue; /* runs of one character */
        }
        prev = h;
        sig_update(mh, h, sig);
        count++;
    }
    return count;
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
            count = char_shingles(mh, c, clen, sig);
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

struct lsh_entry {
    uint64_t key; /* band key (band index mixed in through the hash seed) */
    uint32_t item;
    uint32_t next; /* entry index + 1 of the next item with the same key, 0 = end */
};

struct sampler_lsh {
    int perms, bands, rows;
    uint32_t *sigs; /* n * perms */
    uint8_t *low;   /* n * perms: low byte of each minimum, a cheap first check of candidates */
    size_t n, cap_items;
    uint32_t *slots; /* entry index + 1 of a chain head, 0 = empty; cap_slots power of two */
    size_t cap_slots, used_slots;
    struct lsh_entry *entries;
    size_t n_entries, cap_entries;
    uint32_t *mark; /* query generation per item */
    uint32_t gen;
};

struct sampler_lsh *sampler_lsh_new(int permutations, int bands, char *errstr, size_t errstr_size)
{
    if (permutations < 1 || bands < 1 || permutations % bands != 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                      "lsh: permutations (%d) must be a positive multiple of bands (%d)",
                      permutations, bands);
        return NULL;
    }
    struct sampler_lsh *l = arena_xcalloc(1, sizeof(*l));
    l->perms = permutations;
    l->bands = bands;
    l->rows = permutations / bands;
    l->cap_slots = 1024;
    l->slots = arena_xcalloc(l->cap_slots, sizeof(*l->slots));
    return l;
}

void sampler_lsh_destroy(struct sampler_lsh *l)
{
    if (l == NULL) {
        return;
    }
    free(l->sigs);
    free(l->low);
    free(l->slots);
    free(l->entries);
    free(l->mark);
    free(l);
}

static uint64_t band_key(const struct sampler_lsh *l, const uint32_t *sig, int band)
{
    return arena_hash64(sig + (size_t)band * (size_t)l->rows, (size_t)l->rows * sizeof(uint32_t),
                        0x4c5348ULL + (uint64_t)band);
}

static size_t find_slot(const struct sampler_lsh *l, uint64_t key)
{
    size_t i = (size_t)(arena_mix64(key) & (l->cap_slots - 1));
    while (l->slots[i] != 0 && l->entries[l->slots[i] - 1].key != key) {
        i = (i + 1) & (l->cap_slots - 1);
    }
    return i;
}

static void grow_slots(struct sampler_lsh *l)
{
    uint32_t *old = l->slots;
    size_t ocap = l->cap_slots;
    l->cap_slots = ocap * 2;
    l->slots = arena_xcalloc(l->cap_slots, sizeof(*l->slots));
    for (size_t j = 0; j < ocap; j++) {
        if (old[j] != 0) {
            l->slots[find_slot(l, l->entries[old[j] - 1].key)] = old[j];
        }
    }
    free(old);
}

/* Estimated Jaccard of sig with item, or -1 when it is certainly below threshold: equal
 * minima have equal low bytes, so the share of equal low bytes bounds the share of equal
 * minima from above (a 128-byte check instead of 512 bytes for most candidates). */
static double candidate_sim(const struct sampler_lsh *l, const uint32_t *sig, const uint8_t *low,
                            uint32_t item, double threshold)
{
    const uint8_t *il = l->low + (size_t)item * (size_t)l->perms;
    int eq = 0;
    for (int i = 0; i < l->perms; i++) {
        eq += low[i] == il[i];
    }
    if ((double)eq / l->perms < threshold) {
        return -1.0;
    }
    return sampler_minhash_similarity(sig, l->sigs + (size_t)item * (size_t)l->perms, l->perms);
}

static void low_bytes(const uint32_t *sig, int perms, uint8_t *low)
{
    for (int i = 0; i < perms; i++) {
        low[i] = (uint8_t)sig[i];
    }
}

void sampler_lsh_band_keys(const struct sampler_lsh *l, const uint32_t *sig, uint64_t *keys)
{
    for (int b = 0; b < l->bands; b++) {
        keys[b] = band_key(l, sig, b);
    }
}

int sampler_lsh_bands(const struct sampler_lsh *l)
{
    return l->bands;
}

void sampler_lsh_clear(struct sampler_lsh *l)
{
    l->n = 0;
    l->n_entries = 0;
    l->used_slots = 0;
    memset(l->slots, 0, l->cap_slots * sizeof(*l->slots));
}

const uint32_t *sampler_lsh_sig(const struct sampler_lsh *l, uint32_t item)
{
    return l->sigs + (size_t)item * (size_t)l->perms;
}

uint32_t sampler_lsh_add_keys(struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys)
{
    if (l->n == l->cap_items) {
        l->cap_items = l->cap_items ? l->cap_items * 2 : 1024;
        l->sigs = arena_xrealloc(l->sigs, l->cap_items * (size_t)l->perms * sizeof(uint32_t));
        l->low = arena_xrealloc(l->low, l->cap_items * (size_t)l->perms);
        l->mark = arena_xrealloc(l->mark, l->cap_items * sizeof(uint32_t));
    }
    uint32_t item = (uint32_t)l->n++;
    memcpy(l->sigs + (size_t)item * (size_t)l->perms, sig, (size_t)l->perms * sizeof(uint32_t));
    uint8_t *low = l->low + (size_t)item * (size_t)l->perms;
    for (int i = 0; i < l->perms; i++) {
        low[i] = (uint8_t)sig[i];
    }
    l->mark[item] = 0;
    for (int b = 0; b < l->bands; b++) {
        if ((l->used_slots + 1) * 2 > l->cap_slots) {
            grow_slots(l);
        }
        if (l->n_entries == l->cap_entries) {
            l->cap_entries = l->cap_entries ? l->cap_entries * 2 : 4096;
            l->entries = arena_xrealloc(l->entries, l->cap_entries * sizeof(*l->entries));
        }
        uint64_t key = keys[b];
        size_t i = find_slot(l, key);
        struct lsh_entry *e = &l->entries[l->n_entries];
        e->key = key;
        e->item = item;
        e->next = l->slots[i];
        if (l->slots[i] == 0) {
            l->used_slots++;
        }
        l->slots[i] = (uint32_t)++l->n_entries;
    }
    return item;
}

uint32_t sampler_lsh_add(struct sampler_lsh *l, const uint32_t *sig)
{
    uint64_t keys[4096];
    sampler_lsh_band_keys(l, sig, keys);
    return sampler_lsh_add_keys(l, sig, keys);
}

int64_t sampler_lsh_query_keys(struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys,
                               double threshold, double *sim_out)
{
    if (l->n == 0) {
        if (sim_out != NULL) {
            *sim_out = 0.0;
        }
        return -1;
    }
    if (++l->gen == 0) {
        memset(l->mark, 0, l->n * sizeof(uint32_t));
        l->gen = 1;
    }
    uint8_t low[4096];
    low_bytes(sig, l->perms, low);
    int64_t best = -1;
    double best_sim = -1.0;
    for (int b = 0; b < l->bands; b++) {
        size_t i = find_slot(l, keys[b]);
        for (uint32_t e = l->slots[i]; e != 0; e = l->entries[e - 1].next) {
            uint32_t item = l->entries[e - 1].item;
            if (l->mark[item] == l->gen) {
                continue;
            }
            l->mark[item] = l->gen;
            double s = candidate_sim(l, sig, low, item, threshold);
            if (s >= threshold && (s > best_sim || (s == best_sim && item < best))) {
                best = item;
                best_sim = s;
            }
        }
    }
    if (sim_out != NULL) {
        *sim_out = best >= 0 ? best_sim : 0.0;
    }
    return best;
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
    /* no marks: an item found in several bands is compared again, which cannot change the
     * answer (highest similarity, ties -> lowest id) */
    int64_t best = -1;
    double best_sim = -1.0;
    uint8_t low[4096];
    low_bytes(sig, l->perms, low);
    for (int b = 0; b < l->bands && l->n > 0; b++) {
        size_t i = find_slot(l, keys[b]);
        for (uint32_t e = l->slots[i]; e != 0; e = l->entries[e - 1].next) {
            uint32_t item = l->entries[e - 1].item;
            if (item == best) {
                continue;
            }
            double s = candidate_sim(l, sig, low, item, threshold);
            if (s >= threshold && (s > best_sim || (s == best_sim && item < best))) {
                best = item;
                best_sim = s;
            }
        }
    }
    if (sim_out != NULL) {
        *sim_out = best >= 0 ? best_sim : 0.0;
    }
    return best;
}

size_t sampler_lsh_count(const struct sampler_lsh *l)
{
    return l->n;
}

size_t sampler_lsh_memory(const struct sampler_lsh *l)
{
    return l->cap_items * ((size_t)l->perms + 1) * sizeof(uint32_t) +
           l->cap_items * (size_t)l->perms + l->cap_slots * sizeof(uint32_t) +
           l->cap_entries * sizeof(struct lsh_entry);
}
