/* sampler_match.h - matchmaking: which model pairs battle on one prompt.
 * train mode (the paper's best): every pair among {target + competitors}; eval mode: every pair
 * among all configured models. Pure, deterministic (pair order follows the model list). */
#ifndef SAMPLER_MATCH_H
#define SAMPLER_MATCH_H

#include <stdbool.h>
#include <stddef.h>

struct sampler_pair {
    const char *a;
    const char *b;
};

/* Unique models in order (duplicates dropped); returns the number of pairs written to out
 * (at most cap). models are borrowed. */
size_t sampler_match_all_pairs(const char *const *models, size_t n_models, struct sampler_pair *out,
                               size_t cap);

#endif
