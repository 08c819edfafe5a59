/* prompt_id.c - the stable identity of a prompt (see arena/prompt_id.h).
 * Whitespace is exactly the ASCII set: space, \t, \n, \r, \v, \f. Everything else (including
 * non-ASCII spaces) is content. The replay backend and ingest must agree byte for byte. */
#include "arena/prompt_id.h"

#include <stdlib.h>
#include <string.h>

#include "arena/util.h"

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Normalise src into dst (dst must hold strlen(src) + 1 bytes). Returns the length. */
static size_t normalise_into(const char *src, char *dst)
{
    size_t n = 0;
    int pending_space = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        if (is_ws(*p)) {
            pending_space = n > 0;
            continue;
        }
        if (pending_space) {
            dst[n++] = ' ';
            pending_space = 0;
        }
        dst[n++] = (char)*p;
    }
    dst[n] = '\0';
    return n;
}

char *arena_prompt_normalise(const char *text)
{
    if (text == NULL) {
        text = "";
    }
    char *out = arena_xmalloc(strlen(text) + 1);
    normalise_into(text, out);
    return out;
}

static void hash_normalised(struct arena_sha256 *s, const char *text)
{
    char small[1024];
    size_t len = strlen(text);
    char *dst = len < sizeof(small) ? small : arena_xmalloc(len + 1);
    size_t n = normalise_into(text, dst);
    arena_sha256_update(s, dst, n);
    if (dst != small) {
        free(dst);
    }
}

void arena_prompt_id(const char *const *roles, const char *const *contents, size_t n, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    struct arena_sha256 s;
    arena_sha256_init(&s);
    for (size_t i = 0; i < n; i++) {
        const char *role = roles[i] ? roles[i] : "";
        for (const char *r = role; *r; r++) {
            char c = *r;
            if (c >= 'A' && c <= 'Z') {
                c = (char)(c - 'A' + 'a');
            }
            arena_sha256_update(&s, &c, 1);
        }
        arena_sha256_update(&s, "\x1f", 1);
        hash_normalised(&s, contents[i] ? contents[i] : "");
        arena_sha256_update(&s, "\x1e", 1);
    }
    uint8_t digest[32];
    arena_sha256_final(&s, digest);
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0xf];
    }
    out[32] = '\0';
}

void arena_prompt_id_text(const char *user_text, char out[33])
{
    const char *role = "user";
    arena_prompt_id(&role, &user_text, 1, out);
}
