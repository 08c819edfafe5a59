/* sampler_rounds.c - split of the training pool into rounds (see sampler_rounds.h). */
#include "sampler_rounds.h"

#include <string.h>

const char *sampler_rounds_split_name(enum sampler_rounds_split s)
{
    return s == SAMPLER_ROUNDS_ORDER ? "order" : "hash";
}

arena_err_t sampler_rounds_split_parse(const char *s, enum sampler_rounds_split *out)
{
    if (s != NULL && strcmp(s, "hash") == 0) {
        *out = SAMPLER_ROUNDS_HASH;
        return ARENA_ERR_OK;
    }
    if (s != NULL && strcmp(s, "order") == 0) {
        *out = SAMPLER_ROUNDS_ORDER;
        return ARENA_ERR_OK;
    }
    return ARENA_ERR_INVALID;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

uint32_t sampler_round_by_hash(const char *prompt_id, uint32_t n_rounds)
{
    if (n_rounds == 0 || prompt_id == NULL) {
        return 0;
    }
    uint64_t h = 0;
    for (int i = 0; i < 16; i++) {
        int v = hexval(prompt_id[i]);
        if (v < 0) {
            return 0;
        }
        h = (h << 4) | (uint64_t)v;
    }
    return 1 + (uint32_t)(h % n_rounds);
}

uint32_t sampler_round_by_order(uint64_t index, uint64_t total, uint32_t n_rounds)
{
    if (n_rounds == 0 || index >= total) {
        return 0;
    }
    /* index * n / total without overflow for any realistic pool */
    unsigned __int128 r = (unsigned __int128)index * n_rounds / total;
    return 1 + (uint32_t)r;
}
