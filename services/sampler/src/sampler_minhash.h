/* sampler_minhash.h - MinHash signatures and an LSH (banding) index for near-duplicate search.
 * Text is canonicalised first: ASCII lower-cased, every non-alphanumeric ASCII byte becomes a
 * space, whitespace collapsed (so case, punctuation and spacing edits do not change a
 * signature). Shingles: `shingle` consecutive bytes (default 5; "characters" for ASCII) of that
 * canonical text, or `shingle` consecutive words when word_shingles; a text shorter than one
 * shingle is one shingle. Each shingle is hashed to 64 bits (arena_hash64, seeded) and permuted
 * with seeded multiply-shift hashing h_i(x) = (a_i * x + b_i) mod 2^64 >> 32 (a_i odd), i.e.
 * the "mixing of a 64-bit hash" variant; a signature keeps the 32-bit minimum per permutation.
 * Objects are not thread-safe; minhashers are read-only after _new (shareable). */
#ifndef SAMPLER_MINHASH_H
#define SAMPLER_MINHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sampler_minhash_opts {
    int shingle;        /* characters (or words); default 5 */
    bool word_shingles; /* false = character shingles */
    int permutations;   /* default 128 */
    uint64_t seed;
};

struct sampler_minhasher;

struct sampler_minhasher *sampler_minhasher_new(const struct sampler_minhash_opts *o, char *errstr,
                                                size_t errstr_size);
void sampler_minhasher_destroy(struct sampler_minhasher *mh);
int sampler_minhasher_permutations(const struct sampler_minhasher *mh);
/* sig must hold permutations values. Returns the number of distinct shingles (0 = empty text:
 * the signature is all 0xffffffff). */
size_t sampler_minhash_sig(const struct sampler_minhasher *mh, const char *text, size_t len,
                           uint32_t *sig);
/* Share of equal positions = estimated Jaccard similarity. */
double sampler_minhash_similarity(const uint32_t *a, const uint32_t *b, int permutations);
/* Canonical text used for shingles (lower-cased, punctuation -> space, collapsed). Caller frees. */
char *sampler_minhash_canon(const char *text, size_t len, size_t *out_len);

/* LSH index: bands * rows == permutations (<= 4096). Items are dense ids 0..n-1 (< 2^31) given by
 * the caller. Memory per item: its signature, a 2-bit-per-minimum sketch (a first check of
 * candidates), and per band a 12-byte bucket slot (tables <= 3/4 full) or a place in a bucket
 * array. */
struct sampler_lsh;

struct sampler_lsh *sampler_lsh_new(int permutations, int bands, char *errstr, size_t errstr_size);
void sampler_lsh_destroy(struct sampler_lsh *l);
/* Copies sig; returns the item id (= number of items before the call). */
uint32_t sampler_lsh_add(struct sampler_lsh *l, const uint32_t *sig);
/* Best stored item whose estimated Jaccard with sig is >= threshold (highest similarity,
 * ties -> lowest id); -1 if none. *sim_out (may be NULL) gets its similarity. Deterministic.
 * Not const: it uses scratch space inside the index. */
int64_t sampler_lsh_query(struct sampler_lsh *l, const uint32_t *sig, double threshold,
                          double *sim_out);
/* The same with the band keys of sig precomputed by sampler_lsh_band_keys() (keys[bands]). */
int64_t sampler_lsh_query_keys(struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys,
                               double threshold, double *sim_out);
uint32_t sampler_lsh_add_keys(struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys);
/* sampler_lsh_add_keys in two steps, to index many items in several threads: append stores
 * items (ids in order) that no query finds yet; index_band then indexes items
 * [first, first + n) in one band, keys[(i - first) * bands + band] being item i's band keys.
 * index_band calls for different bands may run concurrently (nothing else touching the index);
 * once every band is indexed the index is as if the items had been added one by one. */
uint32_t sampler_lsh_append(struct sampler_lsh *l, const uint32_t *sig);
void sampler_lsh_index_band(struct sampler_lsh *l, int band, uint32_t first, uint32_t n,
                            const uint64_t *keys);
/* Band keys of a signature: a pure function of (sig, permutations, bands), so keys computed for
 * one index serve every index of the same shape. Thread-safe. */
void sampler_lsh_band_keys(const struct sampler_lsh *l, const uint32_t *sig, uint64_t *keys);
/* Read-only query (same answer as sampler_lsh_query): safe from several threads at once while
 * nobody adds to the index. */
int64_t sampler_lsh_query_ro(const struct sampler_lsh *l, const uint32_t *sig, const uint64_t *keys,
                             double threshold, double *sim_out);
/* Starts loading the buckets of keys into the cache (a hint, no effect on answers): a query
 * issued after other work finds them there. Thread-safe like sampler_lsh_query_ro. */
void sampler_lsh_prefetch(const struct sampler_lsh *l, const uint64_t *keys);
int sampler_lsh_bands(const struct sampler_lsh *l);
/* Forget every item (keeps the memory). */
void sampler_lsh_clear(struct sampler_lsh *l);
/* Signature of item i (permutations values; valid until the next add). */
const uint32_t *sampler_lsh_sig(const struct sampler_lsh *l, uint32_t item);
size_t sampler_lsh_count(const struct sampler_lsh *l);
size_t sampler_lsh_memory(const struct sampler_lsh *l); /* bytes held */

#endif
