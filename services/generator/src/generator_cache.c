/* generator_cache.c - response cache key (see generator_cache.h). */
#include "generator_cache.h"

#include <stdio.h>
#include <string.h>

#include "arena/util.h"

void generator_cache_key(const char *model, const Arena__V1__ChatMessage *const *msgs, size_t n,
                         double temperature, int64_t max_tokens, uint64_t seed, uint8_t out[32])
{
    struct arena_sha256 s;
    char tail[128];
    arena_sha256_init(&s);
    arena_sha256_update(&s, "arena.response.v1", 18);
    arena_sha256_update(&s, model, strlen(model) + 1);
    for (size_t i = 0; i < n; i++) {
        const char *role = msgs[i]->role ? msgs[i]->role : "";
        const char *content = msgs[i]->content ? msgs[i]->content : "";
        arena_sha256_update(&s, role, strlen(role));
        arena_sha256_update(&s, "\x1f", 1);
        arena_sha256_update(&s, content, strlen(content));
        arena_sha256_update(&s, "\x1e", 1);
    }
    int len = snprintf(tail, sizeof(tail), "t=%.6f m=%lld s=%llu", temperature,
                       (long long)max_tokens, (unsigned long long)seed);
    arena_sha256_update(&s, tail, (size_t)len);
    arena_sha256_final(&s, out);
}
