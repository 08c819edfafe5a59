/* test_sampler_pipeline.c - the data pipeline on the real Arena-Hard v0.1 prompts:
 * planted near-duplicates (case, punctuation, a word swapped/inserted/deleted, whitespace) and
 * paraphrase-level copies (sentences reordered, synonyms) of 100 prompts; precision/recall of
 * the dedup is printed and asserted; decontamination removes every planted copy of an eval
 * item; determinism; stage order and counts on hand-made inputs; sampler_pipeline_offer_batch
 * decides exactly as one offer at a time (real prompts with planted copies, random texts; every
 * batch size and thread count); the embedding rule and the MinHash-LSH dedup against
 * brute-force replays (every cosine / every accepted prompt compared). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/prompt_id.h"
#include "arena/util.h"
#include "sampler_embed.h"
#include "sampler_ingest.h"
#include "sampler_minhash.h"
#include "sampler_pipeline.h"
#include "testutil.h"

#define MAX_PROMPTS 600
#define N_PLANT 100

static char *g_text[MAX_PROMPTS];
static char g_id[MAX_PROMPTS][33];
static size_t g_n;

static int collect(void *ctx, Arena__V1__Prompt *p, uint64_t line)
{
    (void)ctx;
    (void)line;
    if (g_n < MAX_PROMPTS) {
        g_text[g_n] = sampler_prompt_text(p);
        memcpy(g_id[g_n], p->prompt_id, 33);
        g_n++;
    }
    sampler_prompt_free(p);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    char *path = tu_shared_path("data/arena_hard_v0.1/question.jsonl");
    if (path == NULL) {
        tu_skip("shared data folder absent (../shared/data/arena_hard_v0.1/question.jsonl)");
    }
    char err[512];
    struct sampler_ingest_stats st;
    arena_err_t rc = sampler_ingest_file(path, SAMPLER_FMT_AUTO, "arena-hard", collect, NULL, NULL,
                                         &st, err, sizeof(err));
    free(path);
    if (rc != ARENA_ERR_OK || g_n != 500) {
        fprintf(stderr, "ingest failed: rc=%d n=%zu %s\n", rc, g_n, err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_n; i++) {
        free(g_text[i]);
    }
    return 0;
}

/* deterministic PRNG */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state += 0x9e3779b97f4a7c15ULL;
    return arena_mix64(rng_state);
}

/* split into words (space separated; the texts are whitespace-collapsed) */
static size_t split_words(const char *s, char ***out)
{
    size_t n = 0, cap = 16;
    char **w = malloc(cap * sizeof(*w));
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\n') {
            p++;
        }
        if (!*p) {
            break;
        }
        const char *b = p;
        while (*p && *p != ' ' && *p != '\n') {
            p++;
        }
        if (n == cap) {
            cap *= 2;
            w = realloc(w, cap * sizeof(*w));
        }
        w[n++] = arena_xstrndup(b, (size_t)(p - b));
    }
    *out = w;
    return n;
}

static char *join_words(char **w, size_t n, const char *sep)
{
    struct arena_buf b;
    arena_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (w[i] == NULL) {
            continue;
        }
        if (b.len > 0) {
            arena_buf_puts(&b, sep);
        }
        arena_buf_puts(&b, w[i]);
    }
    return arena_buf_steal(&b, NULL);
}

static void free_words(char **w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(w[i]);
    }
    free(w);
}

/* One or two small edits. */
static char *near_dup(const char *s, int variant)
{
    char **w;
    size_t n = split_words(s, &w);
    char *out = NULL;
    size_t i = n > 1 ? (size_t)(rnd() % (n - 1)) : 0;
    switch (variant % 6) {
    case 0: /* case change */
        for (size_t j = 0; j < n; j++) {
            for (char *c = w[j]; *c; c++) {
                *c = (char)(j % 2 ? toupper((unsigned char)*c) : tolower((unsigned char)*c));
            }
        }
        out = join_words(w, n, " ");
        break;
    case 1: { /* punctuation */
        char *t = join_words(w, n, " ");
        struct arena_buf b;
        arena_buf_init(&b);
        for (char *c = t; *c; c++) {
            if (*c == '.' || *c == ',' || *c == '?' || *c == ':') {
                continue;
            }
            arena_buf_append(&b, c, 1);
        }
        arena_buf_puts(&b, "!!");
        out = arena_buf_steal(&b, NULL);
        free(t);
        break;
    }
    case 2: /* swap two adjacent words */
        if (n > 1) {
            char *t = w[i];
            w[i] = w[i + 1];
            w[i + 1] = t;
        }
        out = join_words(w, n, " ");
        break;
    case 3: { /* insert a word */
        char *t = w[i];
        w[i] = arena_xasprintf("%s please", t);
        free(t);
        out = join_words(w, n, " ");
        break;
    }
    case 4: /* delete a word */
        if (n > 3) {
            free(w[i]);
            w[i] = NULL;
        }
        out = join_words(w, n, " ");
        break;
    default: /* whitespace */
        out = join_words(w, n, (variant & 1) ? "  \n " : "\t");
        break;
    }
    free_words(w, n);
    return out;
}

static const char *const synonyms[][2] = {
    {"write", "compose"},   {"create", "make"},      {"explain", "describe"}, {"use", "utilize"},
    {"using", "utilizing"}, {"show", "demonstrate"}, {"help", "assist"},      {"need", "require"},
    {"want", "would like"}, {"give", "provide"},     {"how", "in what way"},  {"code", "program"},
    {"list", "enumerate"},  {"example", "sample"},   {"find", "locate"},      {"get", "obtain"},
    {"make", "build"},      {"simple", "basic"},     {"big", "large"},        {"fix", "repair"},
};

/* Paraphrase: reverse the order of the sentences, synonyms for a few words. */
static char *paraphrase(const char *s)
{
    /* sentences: split after ". " / "? " / "! " */
    size_t n = 0;
    const char *starts[256];
    size_t lens[256];
    const char *b = s;
    for (const char *p = s;; p++) {
        if (*p == '\0' || ((*p == '.' || *p == '?' || *p == '!') && p[1] == ' ')) {
            const char *e = *p ? p + 1 : p;
            if (e > b && n < 256) {
                starts[n] = b;
                lens[n] = (size_t)(e - b);
                n++;
            }
            if (*p == '\0') {
                break;
            }
            b = p + 2;
            p++;
        }
    }
    struct arena_buf r;
    arena_buf_init(&r);
    for (size_t i = n; i-- > 0;) {
        if (r.len > 0) {
            arena_buf_puts(&r, " ");
        }
        arena_buf_append(&r, starts[i], lens[i]);
    }
    char *reordered = arena_buf_steal(&r, NULL);
    char **w;
    size_t nw = split_words(reordered, &w);
    free(reordered);
    int replaced = 0;
    for (size_t i = 0; i < nw && replaced < 3; i++) {
        for (size_t k = 0; k < sizeof(synonyms) / sizeof(synonyms[0]); k++) {
            if (strcasecmp(w[i], synonyms[k][0]) == 0) {
                free(w[i]);
                w[i] = arena_xstrdup(synonyms[k][1]);
                replaced++;
                break;
            }
        }
    }
    char *out = join_words(w, nw, " ");
    free_words(w, nw);
    return out;
}

static struct sampler_pipeline *new_pipeline(void)
{
    struct sampler_pipeline_opts o;
    sampler_pipeline_opts_default(&o);
    o.seed = 42;
    char err[256];
    struct sampler_pipeline *p = sampler_pipeline_new(&o, err, sizeof(err));
    assert_non_null(p);
    return p;
}

static void id_of(const char *text, char id[33])
{
    arena_prompt_id_text(text, id);
}

static void test_dedup_planted(void **state)
{
    (void)state;
    struct sampler_pipeline *p = new_pipeline();
    size_t kept = 0;
    bool accepted[MAX_PROMPTS] = {0};
    for (size_t i = 0; i < g_n; i++) {
        char m[33];
        enum sampler_decision d = sampler_pipeline_offer(p, g_id[i], g_text[i], m);
        if (d == SAMPLER_ACCEPT) {
            kept++;
            accepted[i] = true;
        } else {
            size_t j = 0;
            while (j < i && strcmp(g_id[j], m) != 0) {
                j++;
            }
            printf("# real prompt %zu dropped (%s, matches %zu):\n#   %.100s\n#   %.100s\n", i,
                   sampler_decision_name(d), j, g_text[i], j < i ? g_text[j] : "(eval)");
        }
    }
    double precision = (double)kept / (double)g_n;
    rng_state = 7;
    size_t near_total = 0, near_caught = 0, para_total = 0, para_caught = 0;
    size_t planted = 0;
    for (size_t i = 0; i < g_n && planted < N_PLANT; i++) {
        if (!accepted[i] || i % 4 != 1) {
            continue;
        }
        planted++;
        char id[33];
        char *nd = near_dup(g_text[i], (int)planted);
        id_of(nd, id);
        char m[33];
        enum sampler_decision d = sampler_pipeline_offer(p, id, nd, m);
        near_total++;
        if (d != SAMPLER_ACCEPT && strcmp(m, g_id[i]) == 0) {
            near_caught++;
        } else {
            printf("# near-dup missed (%s): %.80s\n", sampler_decision_name(d), nd);
        }
        free(nd);
        char *pp = paraphrase(g_text[i]);
        id_of(pp, id);
        d = sampler_pipeline_offer(p, id, pp, m);
        para_total++;
        if (d != SAMPLER_ACCEPT) {
            para_caught++;
        }
        free(pp);
    }
    double near_recall = (double)near_caught / (double)near_total;
    double para_recall = (double)para_caught / (double)para_total;
    printf("# dedup on Arena-Hard v0.1: distinct kept %zu/%zu (precision %.4f), near-dup recall "
           "%zu/%zu = %.4f, paraphrase recall (dedup only) %zu/%zu = %.4f\n",
           kept, g_n, precision, near_caught, near_total, near_recall, para_caught, para_total,
           para_recall);
    ASSERT_EQ_INT(planted, N_PLANT);
    assert_true(precision >= 0.99);
    assert_true(near_recall >= 0.95);
    sampler_pipeline_destroy(p);
}

static void test_decontam_planted(void **state)
{
    (void)state;
    struct sampler_pipeline *p = new_pipeline();
    /* every 5th prompt is an eval item */
    for (size_t i = 0; i < g_n; i += 5) {
        sampler_pipeline_add_eval(p, g_id[i], g_text[i]);
    }
    rng_state = 11;
    size_t fp = 0, train = 0;
    size_t copies = 0, removed = 0;
    for (size_t i = 0; i < g_n; i++) {
        char m[33];
        if (i % 5 != 0) {
            train++;
            enum sampler_decision d = sampler_pipeline_offer(p, g_id[i], g_text[i], m);
            if (d == SAMPLER_DROP_DECONTAM) {
                fp++;
                printf("# distinct prompt %zu flagged as contaminated: %.80s\n", i, g_text[i]);
            }
            continue;
        }
        /* the eval item itself, a near-dup and a paraphrase of it offered as training */
        char *variants[3] = {arena_xstrdup(g_text[i]), near_dup(g_text[i], (int)i),
                             paraphrase(g_text[i])};
        for (int v = 0; v < 3; v++) {
            char id[33];
            id_of(variants[v], id);
            enum sampler_decision d = sampler_pipeline_offer(p, id, variants[v], m);
            copies++;
            if (d == SAMPLER_DROP_DECONTAM && strcmp(m, g_id[i]) == 0) {
                removed++;
            } else {
                printf("# copy %d of eval %zu not removed (%s): %.80s\n", v, i,
                       sampler_decision_name(d), variants[v]);
            }
            free(variants[v]);
        }
    }
    printf("# decontamination: %zu/%zu planted copies removed; %zu/%zu distinct training "
           "prompts flagged\n",
           removed, copies, fp, train);
    ASSERT_EQ_INT(removed, copies);
    assert_true(fp <= train / 50); /* at most 2% of distinct prompts */
    sampler_pipeline_destroy(p);
}

static void test_deterministic(void **state)
{
    (void)state;
    enum sampler_decision first[MAX_PROMPTS * 2];
    for (int run = 0; run < 2; run++) {
        struct sampler_pipeline *p = new_pipeline();
        for (size_t i = 0; i < g_n; i += 7) {
            sampler_pipeline_add_eval(p, g_id[i], g_text[i]);
        }
        rng_state = 3;
        for (size_t i = 0; i < g_n; i++) {
            char *nd = near_dup(g_text[i], (int)i);
            char id[33];
            id_of(nd, id);
            enum sampler_decision a = sampler_pipeline_offer(p, g_id[i], g_text[i], NULL);
            enum sampler_decision b = sampler_pipeline_offer(p, id, nd, NULL);
            free(nd);
            if (run == 0) {
                first[2 * i] = a;
                first[2 * i + 1] = b;
            } else {
                ASSERT_EQ_INT(first[2 * i], a);
                ASSERT_EQ_INT(first[2 * i + 1], b);
            }
        }
        sampler_pipeline_destroy(p);
    }
}

static int reject_digits(void *ctx, const char *text)
{
    (void)ctx;
    return strpbrk(text, "0123456789") == NULL;
}

static void test_stages(void **state)
{
    (void)state;
    struct sampler_pipeline_opts o;
    sampler_pipeline_opts_default(&o);
    o.language_hook = reject_digits;
    char err[256];
    struct sampler_pipeline *p = sampler_pipeline_new(&o, err, sizeof(err));
    assert_non_null(p);
    char m[33];
    const char *a = "Explain how a hash table handles collisions when two keys share a bucket.";
    char ida[33], idx[33];
    id_of(a, ida);
    ASSERT_EQ_INT(sampler_pipeline_offer(p, "e0", " \n\t", m), SAMPLER_DROP_EMPTY);
    ASSERT_EQ_INT(sampler_pipeline_offer(p, "s0", "hi there", m), SAMPLER_DROP_MIN_LENGTH);
    /* 10 characters is enough (the paper drops shorter than 10) */
    ASSERT_EQ_INT(sampler_pipeline_offer(p, "s1", "abcdefghij", m), SAMPLER_ACCEPT);
    ASSERT_EQ_INT(sampler_pipeline_offer(p, ida, a, m), SAMPLER_ACCEPT);
    ASSERT_EQ_STR(m, "");
    ASSERT_EQ_INT(sampler_pipeline_offer(p, ida, a, m), SAMPLER_DROP_EXACT_DUP);
    ASSERT_EQ_STR(m, ida);
    const char *b = "explain HOW a hash table handles collisions when two keys collide, briefly.";
    id_of(b, idx);
    ASSERT_EQ_INT(sampler_pipeline_offer(p, idx, b, m), SAMPLER_DROP_PREFIX_DUP);
    ASSERT_EQ_STR(m, ida);
    const char *c =
        "Please explain how a hash table handles collisions when two keys share a bucket!";
    id_of(c, idx);
    ASSERT_EQ_INT(sampler_pipeline_offer(p, idx, c, m), SAMPLER_DROP_MINHASH_DUP);
    ASSERT_EQ_STR(m, ida);
    const char *dtext = "Name 3 sorting algorithms with their complexity.";
    id_of(dtext, idx);
    ASSERT_EQ_INT(sampler_pipeline_offer(p, idx, dtext, m), SAMPLER_DROP_LANGUAGE);
    uint64_t counts[SAMPLER_DECISION__COUNT];
    sampler_pipeline_counts(p, counts);
    ASSERT_EQ_INT(counts[SAMPLER_ACCEPT], 2);
    ASSERT_EQ_INT(counts[SAMPLER_DROP_EMPTY], 1);
    ASSERT_EQ_INT(counts[SAMPLER_DROP_MIN_LENGTH], 1);
    ASSERT_EQ_INT(counts[SAMPLER_DROP_EXACT_DUP], 1);
    ASSERT_EQ_INT(counts[SAMPLER_DROP_PREFIX_DUP], 1);
    ASSERT_EQ_INT(counts[SAMPLER_DROP_MINHASH_DUP], 1);
    ASSERT_EQ_INT(counts[SAMPLER_DROP_LANGUAGE], 1);
    ASSERT_EQ_INT(counts[SAMPLER_DROP_DECONTAM], 0);
    ASSERT_EQ_STR(sampler_decision_name(SAMPLER_ACCEPT), "accepted");
    ASSERT_EQ_STR(sampler_decision_name(SAMPLER_DROP_MINHASH_DUP), "minhash_dup");
    sampler_pipeline_destroy(p);

    /* bad options are refused with a message */
    o.jaccard_threshold = 1.5;
    assert_null(sampler_pipeline_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "jaccard_threshold"));
    sampler_pipeline_destroy(NULL);
}

/* ---- batch API: the same decisions as one offer at a time ---- */

struct seq {
    char **ids;
    char **texts;
    size_t n;
    size_t eval_every; /* ids[i] with i % eval_every == 0 also registered as eval (0 = none) */
    size_t eval_split; /* evals with i >= eval_split are registered after that many offers */
};

static void seq_free(struct seq *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->ids[i]);
        free(q->texts[i]);
    }
    free(q->ids);
    free(q->texts);
}

static void seq_push(struct seq *q, size_t *cap, const char *id, const char *text)
{
    if (q->n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        q->ids = realloc(q->ids, *cap * sizeof(char *));
        q->texts = realloc(q->texts, *cap * sizeof(char *));
    }
    char idbuf[33];
    if (id == NULL) {
        id_of(text, idbuf);
        id = idbuf;
    }
    q->ids[q->n] = arena_xstrdup(id);
    q->texts[q->n] = arena_xstrdup(text);
    q->n++;
}

static void register_evals(struct sampler_pipeline *p, const struct seq *q, size_t from, size_t to)
{
    for (size_t i = from; q->eval_every > 0 && i < to; i++) {
        if (i % q->eval_every == 0) {
            sampler_pipeline_add_eval(p, q->ids[i], q->texts[i]);
        }
    }
}

/* Runs q one offer at a time (threads = 1) or in batches of `batch` with `threads`; fills
 * decisions/matches and the final counts. */
static void run_seq(const struct seq *q, size_t batch, int threads, enum sampler_decision *dec,
                    char (*match)[33], uint64_t counts[])
{
    struct sampler_pipeline_opts o;
    sampler_pipeline_opts_default(&o);
    o.seed = 42;
    o.threads = threads;
    char err[256];
    struct sampler_pipeline *p = sampler_pipeline_new(&o, err, sizeof(err));
    assert_non_null(p);
    size_t split = q->eval_split < q->n ? q->eval_split : q->n;
    register_evals(p, q, 0, split);
    for (size_t off = 0; off < q->n;) {
        /* eval items registered between batches, as between offers */
        size_t end = off < split && split < q->n ? split : q->n;
        if (off == split) {
            register_evals(p, q, split, q->n);
        }
        if (batch == 0) {
            for (; off < end; off++) {
                dec[off] = sampler_pipeline_offer(p, q->ids[off], q->texts[off], match[off]);
            }
            continue;
        }
        while (off < end) {
            size_t m = end - off < batch ? end - off : batch;
            sampler_pipeline_offer_batch(p, (const char *const *)q->ids + off,
                                         (const char *const *)q->texts + off, m, dec + off,
                                         match + off);
            off += m;
        }
    }
    sampler_pipeline_counts(p, counts);
    sampler_pipeline_destroy(p);
}

/* Every batch size / thread count gives exactly the one-by-one decisions and matches. */
static void check_batch_equal(const struct seq *q, const char *what)
{
    enum sampler_decision *ref = calloc(q->n, sizeof(*ref));
    enum sampler_decision *got = calloc(q->n, sizeof(*got));
    char(*mref)[33] = calloc(q->n, 33);
    char(*mgot)[33] = calloc(q->n, 33);
    uint64_t cref[SAMPLER_DECISION__COUNT], cgot[SAMPLER_DECISION__COUNT];
    run_seq(q, 0, 1, ref, mref, cref);
    printf("# %s: %zu offers:", what, q->n);
    for (int d = 0; d < SAMPLER_DECISION__COUNT; d++) {
        printf(" %s=%llu", sampler_decision_name((enum sampler_decision)d),
               (unsigned long long)cref[d]);
    }
    printf("\n");
    static const size_t batches[] = {1, 7, 256, 1000, 100000};
    static const int threads[] = {1, 2, 3};
    for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
        for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
            run_seq(q, batches[b], threads[t], got, mgot, cgot);
            for (size_t i = 0; i < q->n; i++) {
                if (got[i] != ref[i] || strcmp(mgot[i], mref[i]) != 0) {
                    fail_msg("%s: batch %zu threads %d: offer %zu decided %s/%s, one by one "
                             "%s/%s",
                             what, batches[b], threads[t], i, sampler_decision_name(got[i]),
                             mgot[i], sampler_decision_name(ref[i]), mref[i]);
                }
            }
            for (int d = 0; d < SAMPLER_DECISION__COUNT; d++) {
                ASSERT_EQ_INT(cgot[d], cref[d]);
            }
        }
    }
    free(ref);
    free(got);
    free(mref);
    free(mgot);
}

static void test_batch_real(void **state)
{
    (void)state;
    struct seq q = {0};
    size_t cap = 0;
    rng_state = 5;
    /* the real prompts, each followed now and then by a near-dup, a paraphrase or a verbatim
     * copy of an earlier one; every 6th offer is also an eval item (half registered up front,
     * half after 60% of the offers) */
    for (size_t i = 0; i < g_n; i++) {
        seq_push(&q, &cap, g_id[i], g_text[i]);
        if (i % 3 == 1) {
            char *nd = near_dup(g_text[rnd() % (i + 1)], (int)i);
            seq_push(&q, &cap, NULL, nd);
            free(nd);
        }
        if (i % 5 == 2) {
            char *pp = paraphrase(g_text[rnd() % (i + 1)]);
            seq_push(&q, &cap, NULL, pp);
            free(pp);
        }
        if (i % 11 == 3) {
            size_t j = rnd() % (i + 1);
            seq_push(&q, &cap, g_id[j], g_text[j]);
        }
    }
    q.eval_every = 6;
    q.eval_split = q.n * 6 / 10;
    check_batch_equal(&q, "real Arena-Hard with planted copies");
    seq_free(&q);
}

static void test_batch_random(void **state)
{
    (void)state;
    static const char *words[] = {"alpha", "beta",  "gamma",  "delta",  "omega", "sigma",
                                  "kappa", "theta", "lambda", "zeta",   "eta",   "iota",
                                  "rho",   "tau",   "phi",    "chi",    "psi",   "mu",
                                  "nu",    "xi",    "pi",     "upsilon"};
    size_t nw = sizeof(words) / sizeof(words[0]);
    struct seq q = {0};
    size_t cap = 0;
    rng_state = 99;
    for (size_t i = 0; i < 3000; i++) {
        struct arena_buf b;
        arena_buf_init(&b);
        uint64_t kind = rnd() % 20;
        if (kind == 0) {
            arena_buf_puts(&b, rnd() % 2 ? "  " : "short"); /* empty / min_length */
        } else if (kind <= 3 && q.n > 0) {
            /* an earlier text, edited at its end (prefix dup) or at its start (MinHash) */
            const char *src = q.texts[rnd() % q.n];
            if (kind == 1) {
                arena_buf_puts(&b, src);
                arena_buf_puts(&b, " and then some");
            } else {
                arena_buf_puts(&b, "Well ");
                arena_buf_puts(&b, src);
            }
        } else if (kind == 4 && q.n > 0) {
            size_t j = rnd() % q.n;
            seq_push(&q, &cap, q.ids[j], q.texts[j]); /* same id: exact dup */
            arena_buf_fini(&b);
            continue;
        } else {
            size_t len = 8 + rnd() % 40;
            for (size_t w = 0; w < len; w++) {
                if (w > 0) {
                    arena_buf_puts(&b, " ");
                }
                arena_buf_puts(&b, words[rnd() % nw]);
            }
        }
        char *t = arena_buf_steal(&b, NULL);
        seq_push(&q, &cap, NULL, t);
        free(t);
    }
    q.eval_every = 13;
    q.eval_split = 1500;
    check_batch_equal(&q, "random texts");
    /* the sequence exercises the stages it claims to */
    enum sampler_decision *dec = calloc(q.n, sizeof(*dec));
    char(*m)[33] = calloc(q.n, 33);
    uint64_t c[SAMPLER_DECISION__COUNT];
    run_seq(&q, 100, 2, dec, m, c);
    for (int d = 0; d < SAMPLER_DECISION__COUNT; d++) {
        if (d != SAMPLER_DROP_LANGUAGE) {
            assert_true(c[d] > 0);
        }
    }
    free(dec);
    free(m);
    seq_free(&q);
}

/* The pipeline's embedding rule (pruned, quantised postings, exact re-scoring) decides as a
 * brute-force replay: every candidate's cosine to every eval item from sampler_embed vectors,
 * then the streaming top-k rule. Candidates mix the eval prompts' halves with other prompts so
 * that many cosines fall near the threshold and the top-k lists fill. */
static void test_embed_rule_oracle(void **state)
{
    (void)state;
    size_t n_eval = 150, n_cand = 0;
    assert_true(g_n >= n_eval + 200);
    struct sampler_pipeline_opts o;
    sampler_pipeline_opts_default(&o);
    o.seed = 7;
    o.prefix_dedup = false;
    o.minhash_dedup = false;
    o.jaccard_threshold = 1.0; /* MinHash rule (b): identical signatures only */
    o.min_length = 0;
    char err[256];
    struct sampler_pipeline *p = sampler_pipeline_new(&o, err, sizeof(err));
    assert_non_null(p);
    for (size_t i = 0; i < n_eval; i++) {
        sampler_pipeline_add_eval(p, g_id[i], g_text[i]);
    }
    char *cand[900];
    rng_state = 99;
    for (size_t i = n_eval; i < g_n && n_cand < 900; i++) {
        const char *a = g_text[rnd() % n_eval];
        const char *b = g_text[i];
        size_t la = strlen(a), lb = strlen(b);
        size_t ka = la * (1 + rnd() % 5) / 8, kb = lb * (2 + rnd() % 7) / 8;
        struct arena_buf buf;
        arena_buf_init(&buf);
        arena_buf_append(&buf, a, ka);
        arena_buf_puts(&buf, " ");
        arena_buf_append(&buf, b, kb);
        cand[n_cand++] = arena_buf_steal(&buf, NULL);
        if (n_cand < 900) {
            cand[n_cand++] = paraphrase(a);
        }
    }
    /* the pipeline, in batches on 2 threads */
    const char **ids = calloc(n_cand, sizeof(*ids));
    char(*idbuf)[33] = calloc(n_cand, 33);
    enum sampler_decision *dec = calloc(n_cand, sizeof(*dec));
    for (size_t c = 0; c < n_cand; c++) {
        snprintf(idbuf[c], 33, "oracle-%zu", c);
        ids[c] = idbuf[c];
    }
    sampler_pipeline_offer_batch(p, ids, (const char *const *)cand, n_cand, dec, NULL);
    /* the oracle */
    struct sampler_tfidf_opts to = {.dim_bits = 16, .ngram_min = 3, .ngram_max = 5, .max_df = 0.1};
    struct sampler_embedder *emb = sampler_embed_tfidf_new(&to, err, sizeof(err));
    assert_non_null(emb);
    sampler_embed_tfidf_fit(emb, (const char *const *)g_text, n_eval);
    struct sampler_vec *ev = calloc(n_eval, sizeof(*ev));
    assert_int_equal(sampler_embed(emb, (const char *const *)g_text, n_eval, ev, err, sizeof(err)),
                     ARENA_ERR_OK);
    struct sampler_minhash_opts mo = {.shingle = 5, .permutations = 128, .seed = o.seed};
    struct sampler_minhasher *mh = sampler_minhasher_new(&mo, err, sizeof(err));
    assert_non_null(mh);
    uint32_t(*esig)[128] = calloc(n_eval, sizeof(*esig));
    for (size_t e = 0; e < n_eval; e++) {
        sampler_minhash_sig(mh, g_text[e], strlen(g_text[e]), esig[e]);
    }
    int k = o.decontam_top_k;
    float thr = (float)o.decontam_threshold;
    float(*topk)[8] = calloc(n_eval, sizeof(*topk));
    int *topn = calloc(n_eval, sizeof(int));
    size_t hits = 0, near = 0, bad = 0, by_minhash = 0;
    for (size_t c = 0; c < n_cand; c++) {
        char *norm = arena_prompt_normalise(cand[c]);
        uint32_t sig[128];
        sampler_minhash_sig(mh, norm, strlen(norm), sig);
        bool mh_hit = false;
        for (size_t e = 0; e < n_eval && !mh_hit; e++) {
            mh_hit = memcmp(sig, esig[e], sizeof(sig)) == 0;
        }
        bool want = mh_hit, close = false;
        by_minhash += mh_hit;
        if (!mh_hit) {
            struct sampler_vec cv;
            assert_int_equal(sampler_embed_one(emb, norm, true, &cv, err, sizeof(err)),
                             ARENA_ERR_OK);
            for (size_t e = 0; e < n_eval; e++) {
                float s = sampler_vec_dot(&cv, &ev[e]);
                close |=
                    fabsf(s - thr) < 1e-4f || (topn[e] == k && fabsf(s - topk[e][k - 1]) < 1e-4f);
                if (s < thr || (topn[e] == k && s < topk[e][k - 1])) {
                    continue;
                }
                want = true;
                int pos = topn[e] < k ? topn[e] : k - 1;
                while (pos > 0 && topk[e][pos - 1] < s) {
                    topk[e][pos] = topk[e][pos - 1];
                    pos--;
                }
                topk[e][pos] = s;
                topn[e] += topn[e] < k;
            }
            sampler_vec_fini(&cv);
        }
        free(norm);
        bool got = dec[c] == SAMPLER_DROP_DECONTAM;
        hits += want;
        if (got != want) {
            if (close) {
                near++; /* float rounding at a boundary: both answers are right */
            } else {
                bad++;
                print_message("candidate %zu: pipeline %s, oracle %s\n", c,
                              sampler_decision_name(dec[c]), want ? "decontam" : "accepted");
            }
        }
    }
    printf("# embedding rule vs brute force: %zu candidates, %zu contaminated (%zu by MinHash), "
           "%zu differ at a float boundary, %zu differ\n",
           n_cand, hits, by_minhash, near, bad);
    assert_int_equal(bad, 0);
    assert_true(hits >= n_cand / 10 && hits <= n_cand * 9 / 10); /* the rule was exercised */
    for (size_t e = 0; e < n_eval; e++) {
        sampler_vec_fini(&ev[e]);
    }
    for (size_t c = 0; c < n_cand; c++) {
        free(cand[c]);
    }
    free(ev);
    free(esig);
    free(topk);
    free(topn);
    free(ids);
    free(idbuf);
    free(dec);
    sampler_minhasher_destroy(mh);
    sampler_embedder_destroy(emb);
    sampler_pipeline_destroy(p);
}

/* MinHash-LSH dedup (bucket tables, sketches, band-parallel merges) decides as a brute-force
 * replay: a candidate duplicates the accepted prompt sharing a band (4 equal minima) with the
 * highest estimated Jaccard >= threshold (ties -> earliest). Near copies, paraphrases and
 * mixes of the Arena-Hard prompts, in batches on 2 threads. */
static void test_lsh_oracle(void **state)
{
    (void)state;
    struct sampler_pipeline_opts o;
    sampler_pipeline_opts_default(&o);
    o.seed = 11;
    o.prefix_dedup = false;
    o.decontam = false;
    char err[256];
    struct sampler_pipeline *p = sampler_pipeline_new(&o, err, sizeof(err));
    assert_non_null(p);
    size_t n = 0, cap = 4 * g_n;
    char **text = calloc(cap, sizeof(*text));
    rng_state = 5;
    for (size_t i = 0; i < g_n; i++) {
        text[n++] = arena_xstrdup(g_text[i]);
        const char *a = g_text[rnd() % (i + 1)];
        text[n++] = rnd() % 2 ? near_dup(a, (int)(rnd() % 8)) : paraphrase(a);
        const char *b = g_text[rnd() % g_n];
        struct arena_buf buf;
        arena_buf_init(&buf);
        arena_buf_append(&buf, a, strlen(a) * (4 + rnd() % 4) / 8);
        arena_buf_puts(&buf, " ");
        arena_buf_append(&buf, b, strlen(b) * (rnd() % 3) / 8);
        text[n++] = arena_buf_steal(&buf, NULL);
    }
    const char **ids = calloc(n, sizeof(*ids));
    char(*idbuf)[33] = calloc(n, 33);
    enum sampler_decision *dec = calloc(n, sizeof(*dec));
    char(*match)[33] = calloc(n, 33);
    for (size_t c = 0; c < n; c++) {
        snprintf(idbuf[c], 33, "lsh-%zu", c);
        ids[c] = idbuf[c];
    }
    sampler_pipeline_offer_batch(p, ids, (const char *const *)text, n, dec, match);
    struct sampler_minhash_opts mo = {.shingle = 5, .permutations = 128, .seed = o.seed};
    struct sampler_minhasher *mh = sampler_minhasher_new(&mo, err, sizeof(err));
    assert_non_null(mh);
    uint32_t(*sig)[128] = calloc(n, sizeof(*sig));
    size_t *acc = calloc(n, sizeof(*acc)), n_acc = 0, dups = 0, bad = 0;
    for (size_t c = 0; c < n; c++) {
        char *norm = arena_prompt_normalise(text[c]);
        sampler_minhash_sig(mh, norm, strlen(norm), sig[c]);
        bool short_text = sampler_utf8_len(norm) < (size_t)o.min_length;
        free(norm);
        if (short_text) {
            assert_int_equal(dec[c], SAMPLER_DROP_MIN_LENGTH);
            continue;
        }
        int64_t best = -1;
        double best_sim = -1.0;
        for (size_t a = 0; a < n_acc; a++) {
            const uint32_t *x = sig[c], *y = sig[acc[a]];
            bool band = false;
            for (int b = 0; b < 32 && !band; b++) {
                band = memcmp(x + 4 * b, y + 4 * b, 16) == 0;
            }
            double sim = band ? sampler_minhash_similarity(x, y, 128) : -1.0;
            if (band && sim >= o.jaccard_threshold && sim > best_sim) {
                best = (int64_t)a;
                best_sim = sim;
            }
        }
        enum sampler_decision want = best >= 0 ? SAMPLER_DROP_MINHASH_DUP : SAMPLER_ACCEPT;
        if (best < 0) {
            acc[n_acc++] = c;
        } else {
            dups++;
        }
        if (dec[c] != want || (best >= 0 && strcmp(match[c], idbuf[acc[best]]) != 0)) {
            bad++;
            print_message("offer %zu: pipeline %s %s, oracle %s %s\n", c,
                          sampler_decision_name(dec[c]), match[c], sampler_decision_name(want),
                          best >= 0 ? idbuf[acc[best]] : "");
        }
    }
    printf("# MinHash-LSH vs brute force: %zu offers, %zu near-duplicates, %zu differ\n", n, dups,
           bad);
    assert_int_equal(bad, 0);
    assert_true(dups >= n / 10);
    for (size_t c = 0; c < n; c++) {
        free(text[c]);
    }
    free(text);
    free(ids);
    free(idbuf);
    free(dec);
    free(match);
    free(sig);
    free(acc);
    sampler_minhasher_destroy(mh);
    sampler_pipeline_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stages),
        cmocka_unit_test(test_dedup_planted),
        cmocka_unit_test(test_decontam_planted),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_batch_real),
        cmocka_unit_test(test_batch_random),
        cmocka_unit_test(test_embed_rule_oracle),
        cmocka_unit_test(test_lsh_oracle),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
