/* sampler_match.c - pair generation (see sampler_match.h). */
#include "sampler_match.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"

size_t sampler_match_all_pairs(const char *const *models, size_t n_models, struct sampler_pair *out,
                               size_t cap)
{
    const char **uniq = arena_xcalloc(n_models + 1, sizeof(*uniq));
    size_t u = 0, n = 0;
    for (size_t i = 0; i < n_models; i++) {
        bool seen = false;
        for (size_t k = 0; k < u && !seen; k++) {
            seen = !strcmp(uniq[k], models[i]);
        }
        if (!seen && models[i] && *models[i]) {
            uniq[u++] = models[i];
        }
    }
    for (size_t i = 0; i < u; i++) {
        for (size_t j = i + 1; j < u && n < cap; j++) {
            out[n].a = uniq[i];
            out[n].b = uniq[j];
            n++;
        }
    }
    free(uniq);
    return n;
}
