/* fuzz_ingest.c - the sampler's ingest parser over every format: the first byte picks the
 * format (auto, jsonl, arena-hard, sharegpt), the rest is a whole file. Every prompt handed
 * out must have a 32-hex prompt_id, at least one message and a user turn last; then the text
 * goes through the data pipeline (dedup + decontamination) once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler_ingest.h"
#include "sampler_pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The pipeline is big to create (MinHash, LSH and TF-IDF tables): it is made on the first
 * prompt that parses, so inputs that parse to nothing stay fast. */
static struct sampler_pipeline *pipeline(struct sampler_pipeline **pl)
{
    if (*pl == NULL) {
        struct sampler_pipeline_opts o;
        sampler_pipeline_opts_default(&o);
        o.min_length = 1;
        char err[256];
        *pl = sampler_pipeline_new(&o, err, sizeof(err));
        if (*pl == NULL) {
            abort();
        }
    }
    return *pl;
}

static int on_prompt(void *ctx, Arena__V1__Prompt *p, uint64_t line)
{
    (void)line;
    struct sampler_pipeline *pl = pipeline(ctx);
    if (strlen(p->prompt_id) != 32 || strspn(p->prompt_id, "0123456789abcdef") != 32 ||
        p->n_messages == 0 || strcmp(p->messages[p->n_messages - 1]->role, "user") != 0) {
        abort();
    }
    char *t = sampler_prompt_text(p);
    char m[33];
    enum sampler_decision d = sampler_pipeline_offer(pl, p->prompt_id, t, m);
    if ((unsigned)d >= SAMPLER_DECISION__COUNT) {
        abort();
    }
    /* register it as an eval item too: later records exercise decontamination */
    sampler_pipeline_add_eval(pl, p->prompt_id, t);
    free(t);
    sampler_prompt_free(p);
    return 0;
}

static void on_bad(void *ctx, uint64_t line, const char *msg)
{
    (void)ctx;
    (void)line;
    if (msg == NULL || msg[0] == '\0') {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    enum sampler_format fmt = (enum sampler_format)(data[0] % 4);
    char err[256];
    struct sampler_pipeline *pl = NULL;
    struct sampler_ingest_stats st;
    sampler_ingest_buffer((const char *)data + 1, size - 1, fmt, "fuzz", on_prompt, on_bad, &pl,
                          &st, err, sizeof(err));
    if (st.prompts + st.bad != st.records) {
        abort();
    }
    /* one line on its own too */
    Arena__V1__Prompt *p = NULL;
    if (sampler_ingest_parse_line(fmt, (const char *)data + 1, size - 1, "fuzz", &p, err,
                                  sizeof(err)) == ARENA_ERR_OK) {
        sampler_prompt_free(p);
    }
    sampler_pipeline_destroy(pl);
    return 0;
}
