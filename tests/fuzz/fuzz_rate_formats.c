/* Fuzz target: battle-file and reference-leaderboard parsing (rater_formats) must never crash
 * and must either succeed or explain; a successful load is then rated (no bootstrap). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rater_engine.h"
#include "rater_formats.h"
#include "rater_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) {
        return 0;
    }
    const char *buf = (const char *)data;
    char err[256];
    for (int f = RATER_FORMAT_AUTO; f <= RATER_FORMAT_ARENA_HARD; f++) {
        for (int skip = 0; skip < 2; skip++) {
            struct rater_battles *b = rater_battles_new();
            struct rater_prefs prefs = {0};
            struct rater_load_stats st;
            struct rater_load_opts o = {
                .format = (enum rater_format)f, .skip_bad = skip != 0, .name = "fuzz"};
            err[0] = '\0';
            arena_err_t e = rater_formats_load(buf, size, &o, b, &prefs, &st, err, sizeof(err));
            if (e != ARENA_ERR_OK && err[0] == '\0') {
                abort(); /* an error must explain itself */
            }
            if (e == ARENA_ERR_OK && f == RATER_FORMAT_AUTO && skip) {
                struct rater_opts ro;
                rater_opts_default(&ro);
                ro.bootstrap = 0;
                struct rater_table t;
                if (rater_compute(b, &ro, &t, err, sizeof(err)) == ARENA_ERR_OK) {
                    rater_table_fini(&t);
                }
            }
            rater_prefs_fini(&prefs);
            rater_battles_destroy(b);
        }
    }
    struct rater_reference ref;
    if (rater_reference_load(buf, size, "fuzz", &ref, err, sizeof(err)) == ARENA_ERR_OK) {
        rater_reference_fini(&ref);
    }
    return 0;
}
