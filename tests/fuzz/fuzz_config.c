/* fuzz_config.c - arena.yaml parser on hostile text. Properties: no crash/leak; a config that
 * loads can be dumped, and the dump loads again to the same dump. Secrets a config registers for
 * redaction (Kafka passwords) are forgotten before the next input: each input is its own
 * process-lifetime, as libFuzzer needs (found by a 300 s run: an earlier input's password,
 * redacted inside a later input's model names, made two of them equal). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena/config.h"
#include "arena/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *const no_env[] = {NULL};
    char err[512];
    arena_log_clear_secrets();
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
        /* the effective config must always be loadable, unless a registered secret was redacted
         * inside an ordinary value (a password that is also part of a model name or a mode):
         * the error then shows the redacted value */
        if (strstr(err, "[REDACTED]") == NULL) {
            abort();
        }
        free(dump);
        arena_config_destroy(cfg);
        return 0;
    }
    char *dump2 = arena_config_dump(again);
    /* without redaction dumps are a fixed point. Redaction is substring replacement of every
     * registered secret, so secrets that overlap other values or the marker itself (a Kafka
     * password "arena" inside "wizardarena", a password containing "[REDACTED]") can redact the
     * reloaded dump further: then only "loads again" is required */
    if (strstr(dump, "[REDACTED]") == NULL && strcmp(dump, dump2) != 0) {
        abort();
    }
    free(dump2);
    free(dump);
    arena_config_destroy(again);
    arena_config_destroy(cfg);
    return 0;
}
