/* fuzz_config.c - arena.yaml parser on hostile text. Properties: no crash/leak; a config that
 * loads can be dumped, and the dump loads again to the same dump. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *const no_env[] = {NULL};
    char err[512];
    struct arena_config *cfg =
        arena_config_load_string((const char *)data, size, no_env, err, sizeof(err));
    if (!cfg) {
        if (err[0] == '\0') {
            abort(); /* every failure names its reason */
        }
        return 0;
    }
    (void)arena_config_validate(cfg, err, sizeof(err));
    (void)arena_config_set(cfg, "sampler.max_in_flight=7", err, sizeof(err));
    char *dump = arena_config_dump(cfg);
    struct arena_config *again =
        arena_config_load_string(dump, strlen(dump), no_env, err, sizeof(err));
    if (!again) {
        abort(); /* the effective config must always be loadable */
    }
    char *dump2 = arena_config_dump(again);
    /* redacted values reload as "[REDACTED]" and dump the same way: dumps are a fixed point */
    if (strcmp(dump, dump2) != 0) {
        abort();
    }
    free(dump2);
    free(dump);
    arena_config_destroy(again);
    arena_config_destroy(cfg);
    return 0;
}
