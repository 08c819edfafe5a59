/* Fuzz target: judge_parse() over all three kinds. The first byte picks nothing: every input is
 * parsed as scores, five-label and three-label output, and the verdict must be consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "judge_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    static const enum judge_kind kinds[] = {JUDGE_KIND_SCORES, JUDGE_KIND_FIVE_LABEL,
                                            JUDGE_KIND_THREE_LABEL};
    for (size_t k = 0; k < 3; k++) {
        struct judge_verdict v;
        arena_err_t err = judge_parse(kinds[k], text, &v);
        if (err == ARENA_ERR_OK) {
            /* a parsed verdict is always within the scale and has no error text */
            if (v.score_first < 1 || v.score_first > 10 || v.score_second < 1 ||
                v.score_second > 10 || v.error[0] != '\0') {
                abort();
            }
            if (kinds[k] != JUDGE_KIND_SCORES && v.label[0] == '\0') {
                abort();
            }
        } else if (err != ARENA_ERR_PARSE || v.error[0] == '\0' ||
                   memchr(v.error, '\0', sizeof(v.error)) == NULL) {
            abort(); /* every failure explains itself */
        }
    }
    free(text);
    return 0;
}
