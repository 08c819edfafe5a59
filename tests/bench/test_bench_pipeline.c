/* test_bench_pipeline.c - throughput of the sampler data pipeline: 300,000 generated prompts
 * (10% near-duplicates of earlier ones) as JSONL go through ingest parsing, prompt_id, min
 * length, exact + prefix + MinHash-LSH dedup and decontamination against a 1,000-item eval set
 * (MinHash + TF-IDF top-k rule). Prints prompts/s, peak RSS and the dedup counts; asserts only
 * correctness (planted duplicates found), never timings. Prompts go through
 * sampler_pipeline_offer_batch in batches of 1024 (ARENA_BENCH_ONE_BY_ONE=1: one
 * sampler_pipeline_offer at a time). ARENA_BENCH_PROMPTS overrides N, ARENA_BENCH_THREADS the
 * pipeline's threads (default 2), ARENA_BENCH_NO_DECONTAM=1 drops the eval set stage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "arena/util.h"
#include "sampler_ingest.h"
#include "sampler_pipeline.h"
#include "testutil.h"

static uint64_t rs = 12345;
static uint64_t rnd(void)
{
    rs += 0x9e3779b97f4a7c15ULL;
    return arena_mix64(rs);
}

#define VOCAB 8000
static char vocab[VOCAB][12];

static void make_vocab(void)
{
    static const char *syl[] = {"ka", "to",  "ri", "men", "sa",  "lo",  "ve", "dan", "pi",  "qu",
                                "ze", "mor", "ti", "na",  "bel", "gra", "fo", "lu",  "ste", "cor"};
    for (int i = 0; i < VOCAB; i++) {
        int n = 1 + (int)(rnd() % 3);
        vocab[i][0] = '\0';
        for (int j = 0; j < n; j++) {
            strcat(vocab[i], syl[rnd() % 20]);
        }
    }
}

static char *gen_prompt(void)
{
    struct arena_buf b;
    arena_buf_init(&b);
    int words = 12 + (int)(rnd() % 50);
    for (int i = 0; i < words; i++) {
        if (i > 0) {
            arena_buf_puts(&b, (rnd() % 12) == 0 ? ", " : " ");
        }
        /* Zipf-ish: small ids more frequent */
        uint64_t r = rnd() % VOCAB;
        arena_buf_puts(&b, vocab[(r * r) / VOCAB]);
    }
    arena_buf_puts(&b, "?");
    return arena_buf_steal(&b, NULL);
}

/* a near-duplicate: case change of a word, a deleted word or an inserted word */
static char *perturb(const char *s)
{
    struct arena_buf b;
    arena_buf_init(&b);
    size_t len = strlen(s);
    size_t cut = len / 2 + rnd() % (len / 3 + 1);
    while (cut < len && s[cut] != ' ') {
        cut++;
    }
    switch (rnd() % 3) {
    case 0:
        arena_buf_append(&b, s, cut);
        arena_buf_puts(&b, " PLEASE");
        arena_buf_puts(&b, s + cut);
        break;
    case 1: {
        arena_buf_append(&b, s, cut);
        const char *nx = cut < len ? strchr(s + cut + 1, ' ') : NULL;
        arena_buf_puts(&b, nx ? nx : "");
        break;
    }
    default:
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            if (i < cut && c >= 'a' && c <= 'z' && i % 3 == 0) {
                c = (char)(c - 'a' + 'A');
            }
            arena_buf_append(&b, &c, 1);
        }
        arena_buf_puts(&b, "  ");
        break;
    }
    return arena_buf_steal(&b, NULL);
}

static double cpu_secs(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

#define BATCH 1024

/* Prompts are collected from the ingest callback and offered in batches (the per-prompt work
 * runs on the pipeline's threads; decisions are those of one offer at a time). */
struct run {
    struct sampler_pipeline *p;
    uint64_t n;
    size_t m;
    Arena__V1__Prompt *pr[BATCH];
    char *text[BATCH];
    const char *ids[BATCH];
    enum sampler_decision dec[BATCH];
};

static void flush(struct run *r)
{
    sampler_pipeline_offer_batch(r->p, r->ids, (const char *const *)r->text, r->m, r->dec, NULL);
    for (size_t i = 0; i < r->m; i++) {
        free(r->text[i]);
        sampler_prompt_free(r->pr[i]);
    }
    r->n += r->m;
    r->m = 0;
}

static int on_prompt(void *ctx, Arena__V1__Prompt *pr, uint64_t line)
{
    (void)line;
    struct run *r = ctx;
    if (getenv("ARENA_BENCH_ONE_BY_ONE") != NULL) {
        char *t = sampler_prompt_text(pr);
        sampler_pipeline_offer(r->p, pr->prompt_id, t, NULL);
        free(t);
        sampler_prompt_free(pr);
        r->n++;
        return 0;
    }
    r->pr[r->m] = pr;
    r->text[r->m] = sampler_prompt_text(pr);
    r->ids[r->m] = pr->prompt_id;
    if (++r->m == BATCH) {
        flush(r);
    }
    return 0;
}

static void test_bench(void **state)
{
    (void)state;
    size_t n = 300000;
    const char *env = getenv("ARENA_BENCH_PROMPTS");
    if (env != NULL && atol(env) > 0) {
        n = (size_t)atol(env);
    }
    make_vocab();
    char **texts = malloc(n * sizeof(char *));
    size_t planted = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 100 && rnd() % 10 == 0) {
            texts[i] = perturb(texts[rnd() % i]);
            planted++;
        } else {
            texts[i] = gen_prompt();
        }
    }
    /* JSONL document */
    struct arena_buf doc;
    arena_buf_init(&doc);
    for (size_t i = 0; i < n; i++) {
        arena_buf_printf(&doc, "{\"prompt\":\"%s\",\"category\":\"bench\"}\n", texts[i]);
    }
    struct sampler_pipeline_opts o;
    sampler_pipeline_opts_default(&o);
    if (getenv("ARENA_BENCH_NO_DECONTAM") != NULL) {
        o.decontam = false;
    }
    const char *th = getenv("ARENA_BENCH_THREADS");
    if (th != NULL && atoi(th) > 0) {
        o.threads = atoi(th);
    }
    char err[256];
    static struct run r;
    r.p = sampler_pipeline_new(&o, err, sizeof(err));
    assert_non_null(r.p);
    for (int i = 0; i < 1000; i++) {
        char *e = gen_prompt();
        char id[16];
        snprintf(id, sizeof(id), "eval%d", i);
        sampler_pipeline_add_eval(r.p, id, e);
        free(e);
    }
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    double cpu0 = cpu_secs(&ru0);
    uint64_t t0 = arena_mono_us();
    struct sampler_ingest_stats st;
    ASSERT_EQ_INT(sampler_ingest_buffer(doc.data, doc.len, SAMPLER_FMT_AUTO, "bench", on_prompt,
                                        NULL, &r, &st, err, sizeof(err)),
                  ARENA_ERR_OK);
    if (r.m > 0) {
        flush(&r);
    }
    uint64_t t1 = arena_mono_us();
    ASSERT_EQ_INT(r.n, n);
    uint64_t counts[SAMPLER_DECISION__COUNT];
    sampler_pipeline_counts(r.p, counts);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double secs = (double)(t1 - t0) / 1e6;
    double cpu = cpu_secs(&ru) - cpu0;
    double load[1] = {0.0};
    (void)getloadavg(load, 1);
    printf("# cpu %.2f s in the timed part = %.1f us/prompt (user+sys, all threads); load average "
           "%.2f\n",
           cpu, cpu * 1e6 / (double)n, load[0]);
    printf("# bench pipeline: %zu prompts (%zu planted near-dups, %.1f MB JSONL) in %.2f s = "
           "%.0f prompts/s; peak RSS %.1f MB (threads %d%s)\n",
           n, planted, (double)doc.len / 1e6, secs, (double)n / secs, ru.ru_maxrss / 1024.0,
           o.threads, getenv("ARENA_BENCH_ONE_BY_ONE") ? ", one offer at a time" : ", batches");
    uint64_t dropped = 0;
    for (int d = 0; d < SAMPLER_DECISION__COUNT; d++) {
        printf("#   %-12s %llu\n", sampler_decision_name((enum sampler_decision)d),
               (unsigned long long)counts[d]);
        if (d != SAMPLER_ACCEPT) {
            dropped += counts[d];
        }
    }
    /* the planted near-dups are found (a few generated prompts may collide on a prefix) */
    assert_true(dropped >= planted * 95 / 100);
    sampler_pipeline_destroy(r.p);
    arena_buf_fini(&doc);
    for (size_t i = 0; i < n; i++) {
        free(texts[i]);
    }
    free(texts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bench)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
