/* Fuzz target: sampler_difficulty_parse() over a model's reply (outside input). A parsed rating
 * is always within 0-10; every failure is ARENA_ERR_PARSE with a NUL-terminated reason; the
 * reply framed into a request is found again by the sim's section reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/src/llm_internal.h"
#include "sampler_difficulty.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    double score = -1;
    char err[200];
    memset(err, 'x', sizeof(err));
    arena_err_t e = sampler_difficulty_parse(text, &score, err, sizeof(err));
    if (e == ARENA_ERR_OK) {
        if (!(score >= 0.0 && score <= 10.0)) {
            abort();
        }
    } else if (e != ARENA_ERR_PARSE || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0' ||
               score != -1) {
        abort();
    }
    /* as the prompt of a request: the section holds the (possibly cut) text */
    struct arena_buf b;
    arena_buf_init(&b);
    sampler_difficulty_user_prompt(text, &b);
    const char *t;
    size_t len;
    if (!arena__sim_difficulty_section(b.data, &t, &len) || len > b.len) {
        abort();
    }
    arena_buf_fini(&b);
    free(text);
    return 0;
}
