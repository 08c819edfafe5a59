/* sampler_rounds.h - split of the training pool into rounds D1..DN (the paper: D1..D9).
 *  - by hash: round = 1 + (first 16 hex digits of prompt_id as a uint64) % N. Stable for a
 *    prompt whatever the order or size of the pool (streaming-friendly; parts are only roughly
 *    equal).
 *  - by order: the index-th of total prompts goes to round 1 + index * N / total, i.e. N
 *    contiguous parts whose sizes differ by at most one (needs the pool size up front).
 * Pure, thread-safe. */
#ifndef SAMPLER_ROUNDS_H
#define SAMPLER_ROUNDS_H

#include <stdint.h>

#include "arena/err.h"

enum sampler_rounds_split {
    SAMPLER_ROUNDS_HASH,
    SAMPLER_ROUNDS_ORDER,
};

/* "hash" | "order" */
const char *sampler_rounds_split_name(enum sampler_rounds_split s);
arena_err_t sampler_rounds_split_parse(const char *s, enum sampler_rounds_split *out);
/* 1..n_rounds; 0 when n_rounds == 0 or prompt_id has fewer than 16 hex digits. */
uint32_t sampler_round_by_hash(const char *prompt_id, uint32_t n_rounds);
/* 1..n_rounds; 0 when index >= total or n_rounds == 0. */
uint32_t sampler_round_by_order(uint64_t index, uint64_t total, uint32_t n_rounds);

#endif
