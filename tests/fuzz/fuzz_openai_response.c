/* fuzz_openai_response.c - the OpenAI chat-completion response parser, the error-message
 * extractor and the Retry-After parser on arbitrary bytes: no crash, no leak, and a successful
 * parse always yields a NUL-terminated content. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/src/llm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena__openai_result res;
    char err[256];
    arena_err_t rc = arena__openai_parse_response((const char *)data, size, &res, err, sizeof(err));
    if (rc == ARENA_ERR_OK) {
        if (!res.content) {
            abort();
        }
        (void)strlen(res.content);
    } else if (res.content || err[0] == '\0') {
        abort(); /* failures leave the result empty and say why */
    }
    arena__openai_result_fini(&res);
    free(arena__openai_error_message((const char *)data, size));
    char ra[64];
    size_t n = size < sizeof(ra) - 1 ? size : sizeof(ra) - 1;
    memcpy(ra, data, n);
    ra[n] = '\0';
    (void)arena__openai_retry_after_ms(ra, 1700000000000LL);
    return 0;
}
