/* sampler_lang.c - language filter hook (see sampler_lang.h). */
#include "sampler_lang.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SAMPLER_LANG_EN_MIN_RATIO 0.9

/* Non-ASCII code points that are not letters: general punctuation, symbols, arrows, maths,
 * box drawing, dingbats, emoji, CJK punctuation, no-break spaces. A coarse table is enough
 * for a ratio heuristic. */
static bool non_letter(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0xbf) || cp == 0xd7 || cp == 0xf7 ||
           (cp >= 0x2000 && cp <= 0x2bff) || (cp >= 0x3000 && cp <= 0x303f) ||
           (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x1f000 && cp <= 0x1faff);
}

double sampler_lang_ascii_ratio(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    uint64_t ascii = 0, other = 0;
    while (*p) {
        if (*p < 0x80) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
                ascii++;
            }
            p++;
            continue;
        }
        int len = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
        uint32_t cp = len == 2 ? (*p & 0x1fu) : len == 3 ? (*p & 0x0fu) : (*p & 0x07u);
        int i = 1;
        for (; i < len && (p[i] & 0xc0) == 0x80; i++) {
            cp = (cp << 6) | (p[i] & 0x3fu);
        }
        if (len == 0 || i < len) {
            other++; /* invalid byte */
            p++;
            continue;
        }
        if (!non_letter(cp)) {
            other++;
        }
        p += len;
    }
    return ascii + other == 0 ? 1.0 : (double)ascii / (double)(ascii + other);
}

int sampler_lang_en(void *ctx, const char *text)
{
    (void)ctx;
    return sampler_lang_ascii_ratio(text ? text : "") >= SAMPLER_LANG_EN_MIN_RATIO;
}

arena_err_t sampler_lang_hook(const char *name, int (**hook)(void *, const char *), char *errstr,
                              size_t errstr_size)
{
    if (name && !strcmp(name, "any")) {
        *hook = NULL;
        return ARENA_ERR_OK;
    }
    if (name && !strcmp(name, "en")) {
        *hook = sampler_lang_en;
        return ARENA_ERR_OK;
    }
    return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                         "sampler.language: expected any|en, got '%s'", name ? name : "(null)");
}
