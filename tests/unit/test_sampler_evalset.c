/* test_sampler_evalset.c - k-means (deterministic per seed, different across seeds, recovers
 * separated blobs), diverse/hard/mix eval set counts, rounds split, and the WizardArena recipe
 * end to end on Arena-Hard prompts (TF-IDF -> k-means -> diverse). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"
#include "sampler_embed.h"
#include "sampler_evalset.h"
#include "sampler_ingest.h"
#include "sampler_kmeans.h"
#include "sampler_rounds.h"
#include "testutil.h"

static uint64_t rs;
static double urand(void)
{
    rs += 0x9e3779b97f4a7c15ULL;
    return (double)(arena_mix64(rs) >> 11) / 9007199254740992.0;
}

/* 4 blobs of 50 points in 8 dims, centres far apart */
static float *blobs(size_t *n, int *dim)
{
    *n = 200;
    *dim = 8;
    float *x = malloc(200 * 8 * sizeof(float));
    rs = 99;
    for (size_t i = 0; i < 200; i++) {
        int b = (int)(i % 4);
        for (int d = 0; d < 8; d++) {
            x[i * 8 + (size_t)d] = (float)((d == b * 2 ? 10.0 : 0.0) + (urand() - 0.5));
        }
    }
    return x;
}

static void test_kmeans(void **state)
{
    (void)state;
    size_t n;
    int dim;
    float *x = blobs(&n, &dim);
    struct sampler_kmeans_opts o = {.k = 4, .seed = 1, .metric = SAMPLER_KMEANS_EUCLIDEAN};
    struct sampler_kmeans_result a, b, c;
    char err[256];
    ASSERT_EQ_INT(sampler_kmeans_fit(x, n, dim, &o, &a, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(sampler_kmeans_fit(x, n, dim, &o, &b, err, sizeof(err)), ARENA_ERR_OK);
    /* same seed: same clusters in the same order */
    assert_memory_equal(a.assign, b.assign, n * sizeof(int));
    assert_memory_equal(a.centroids, b.centroids, 4 * 8 * sizeof(float));
    /* blobs recovered: every point of a blob in one cluster, 50 each */
    for (size_t i = 4; i < n; i++) {
        ASSERT_EQ_INT(a.assign[i], a.assign[i % 4]);
    }
    for (int j = 0; j < 4; j++) {
        ASSERT_EQ_INT(a.sizes[j], 50);
    }
    /* another seed: same partition here but the cluster order differs for some seed */
    int differs = 0;
    for (uint64_t s = 2; s < 10 && !differs; s++) {
        o.seed = s;
        ASSERT_EQ_INT(sampler_kmeans_fit(x, n, dim, &o, &c, err, sizeof(err)), ARENA_ERR_OK);
        differs = memcmp(a.assign, c.assign, n * sizeof(int)) != 0;
        sampler_kmeans_result_fini(&c);
    }
    assert_true(differs);
    /* errors */
    o.k = 0;
    ASSERT_EQ_INT(sampler_kmeans_fit(x, n, dim, &o, &c, err, sizeof(err)), ARENA_ERR_INVALID);
    o.k = 201;
    ASSERT_EQ_INT(sampler_kmeans_fit(x, n, dim, &o, &c, err, sizeof(err)), ARENA_ERR_INVALID);
    assert_non_null(strstr(err, "k <= n"));
    sampler_kmeans_result_fini(&a);
    sampler_kmeans_result_fini(&b);
    free(x);
}

/* What a difficulty model would do: score the hard candidates that have no difficulty yet
 * (p7 is unscorable: it stays without one). */
static void score_candidates(struct sampler_evalset_item *it, size_t n,
                             const struct sampler_evalset_opts *o, size_t *scored)
{
    size_t *cand, nc;
    char err[256];
    ASSERT_EQ_INT(sampler_evalset_hard_candidates(it, n, o, &cand, &nc, err, sizeof(err)),
                  ARENA_ERR_OK);
    *scored = 0;
    for (size_t i = 0; i < nc; i++) {
        struct sampler_evalset_item *x = &it[cand[i]];
        if (x->has_difficulty || strcmp(x->prompt_id, "p7") == 0) {
            continue;
        }
        x->has_difficulty = true;
        x->difficulty = (double)atoi(x->prompt_id + 1) / 10.0;
        (*scored)++;
    }
    free(cand);
}

static void test_evalset_counts(void **state)
{
    (void)state;
    /* 30 items, clusters 0..4 with sizes 10, 10, 5, 4, 1 */
    struct sampler_evalset_item it[30];
    char ids[30][8];
    const int cl[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,
                      1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4};
    for (int i = 0; i < 30; i++) {
        snprintf(ids[i], sizeof(ids[i]), "p%d", i);
        it[i] = (struct sampler_evalset_item){.prompt_id = ids[i], .cluster = cl[i]};
        if (i >= 25) {
            it[i].has_difficulty = true;
            it[i].difficulty = 9.5; /* supplied field wins over the callback */
        }
    }
    struct sampler_evalset_opts o = {.kind = SAMPLER_EVALSET_DIVERSE, .per_cluster = 2, .seed = 5};
    size_t *sel, ns;
    char err[256];
    ASSERT_EQ_INT(sampler_evalset_select(it, 30, &o, &sel, &ns, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(ns, 9); /* 2+2+2+2+1 */
    int per[5] = {0};
    for (size_t i = 0; i < ns; i++) {
        per[it[sel[i]].cluster]++;
    }
    ASSERT_EQ_INT(per[0], 2);
    ASSERT_EQ_INT(per[3], 2);
    ASSERT_EQ_INT(per[4], 1);
    size_t *sel2, ns2;
    ASSERT_EQ_INT(sampler_evalset_select(it, 30, &o, &sel2, &ns2, err, sizeof(err)), ARENA_ERR_OK);
    assert_memory_equal(sel, sel2, ns * sizeof(size_t)); /* seeded */
    free(sel2);
    o.seed = 6;
    int differs = 0;
    for (int s = 6; s < 12 && !differs; s++) {
        o.seed = (uint64_t)s;
        ASSERT_EQ_INT(sampler_evalset_select(it, 30, &o, &sel2, &ns2, err, sizeof(err)),
                      ARENA_ERR_OK);
        differs = memcmp(sel, sel2, ns * sizeof(size_t)) != 0;
        free(sel2);
    }
    assert_true(differs);

    /* hard: top 6 by difficulty; before scoring only the 5 supplied ones qualify */
    o.kind = SAMPLER_EVALSET_HARD;
    o.hard_n = 6;
    size_t *h, nh, scored;
    ASSERT_EQ_INT(sampler_evalset_select(it, 30, &o, &h, &nh, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(nh, 5);
    ASSERT_EQ_INT(h[0], 25); /* ties -> input order */
    free(h);
    score_candidates(it, 30, &o, &scored);
    ASSERT_EQ_INT(scored, 24); /* every item is a candidate: 30 - 5 supplied - p7 */
    ASSERT_EQ_INT(sampler_evalset_select(it, 30, &o, &h, &nh, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(nh, 6);
    ASSERT_EQ_INT(h[5], 24); /* 2.4 is the best scored one; the supplied 9.5s come first */
    free(h);
    for (int i = 0; i < 25; i++) {
        it[i].has_difficulty = false; /* back to unscored for mix */
    }

    /* mix: diverse + hard not already chosen */
    o.kind = SAMPLER_EVALSET_MIX;
    o.seed = 5;
    score_candidates(it, 30, &o, &scored);
    size_t *m, nm;
    ASSERT_EQ_INT(sampler_evalset_select(it, 30, &o, &m, &nm, err, sizeof(err)), ARENA_ERR_OK);
    assert_true(nm >= 9 && nm <= 15);
    assert_memory_equal(m, sel, 9 * sizeof(size_t));
    for (size_t i = 0; i < nm; i++) {
        for (size_t j = i + 1; j < nm; j++) {
            assert_true(m[i] != m[j]);
        }
    }
    /* export */
    char *dir = tu_tmpdir("evalset");
    char *path = arena_xasprintf("%s/mix.jsonl", dir);
    FILE *f = fopen(path, "w");
    ASSERT_EQ_INT(sampler_evalset_write_jsonl(f, it, m, nm, "mix", err, sizeof(err)), ARENA_ERR_OK);
    fclose(f);
    size_t len;
    char *data = arena_read_file(path, &len, err, sizeof(err));
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        lines += data[i] == '\n';
    }
    ASSERT_EQ_INT(lines, nm);
    assert_non_null(strstr(data, "\"eval_set\":\"mix\""));
    free(data);
    free(path);
    tu_rmtree(dir);
    free(dir);
    free(m);
    free(sel);

    o.per_cluster = 0;
    ASSERT_EQ_INT(sampler_evalset_select(it, 30, &o, &m, &nm, err, sizeof(err)), ARENA_ERR_INVALID);
}

/* Only the hard candidates are scored: with hard_per_cluster, scoring just the candidates gives
 * the same set as scoring everything, for hard and for mix (whose diverse draws come first). */
static void test_hard_candidates(void **state)
{
    (void)state;
    enum { N = 60 };
    struct sampler_evalset_item a[N], b[N];
    char ids[N][8];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "p%d", i + 10);
        a[i] = (struct sampler_evalset_item){.prompt_id = ids[i], .cluster = i % 6};
        b[i] = a[i];
        b[i].has_difficulty = true; /* b: everything scored */
        b[i].difficulty = (double)((i * 37) % 101) / 10.1;
    }
    char err[256];
    for (int kind = SAMPLER_EVALSET_HARD; kind <= SAMPLER_EVALSET_MIX; kind++) {
        struct sampler_evalset_opts o = {.kind = (enum sampler_evalset_kind)kind,
                                         .per_cluster = 1,
                                         .hard_n = 8,
                                         .hard_per_cluster = 3,
                                         .seed = 11};
        size_t *cand, nc, *c2, nc2;
        ASSERT_EQ_INT(sampler_evalset_hard_candidates(a, N, &o, &cand, &nc, err, sizeof(err)),
                      ARENA_ERR_OK);
        ASSERT_EQ_INT(nc, 18); /* 3 per cluster of 10 */
        /* deterministic, and independent of the difficulty fields */
        ASSERT_EQ_INT(sampler_evalset_hard_candidates(b, N, &o, &c2, &nc2, err, sizeof(err)),
                      ARENA_ERR_OK);
        ASSERT_EQ_INT(nc2, nc);
        assert_memory_equal(cand, c2, nc * sizeof(size_t));
        free(c2);
        int per[6] = {0};
        for (size_t i = 0; i < nc; i++) {
            per[a[cand[i]].cluster]++;
            assert_true(i == 0 || cand[i] > cand[i - 1]); /* ascending */
        }
        for (int c = 0; c < 6; c++) {
            ASSERT_EQ_INT(per[c], 3);
        }
        struct sampler_evalset_item x[N];
        memcpy(x, a, sizeof(a));
        for (size_t i = 0; i < nc; i++) {
            x[cand[i]] = b[cand[i]]; /* score only the candidates */
        }
        size_t *s1, n1, *s2, n2;
        ASSERT_EQ_INT(sampler_evalset_select(x, N, &o, &s1, &n1, err, sizeof(err)), ARENA_ERR_OK);
        ASSERT_EQ_INT(sampler_evalset_select(b, N, &o, &s2, &n2, err, sizeof(err)), ARENA_ERR_OK);
        ASSERT_EQ_INT(n1, n2);
        assert_memory_equal(s1, s2, n1 * sizeof(size_t));
        /* hard items are candidates; mix starts with its 6 diverse picks (one per cluster) */
        size_t first_hard = kind == SAMPLER_EVALSET_HARD ? 0 : 6;
        assert_true(n1 >= 8 && n1 <= first_hard + 8);
        for (size_t i = first_hard; i < n1; i++) {
            bool is_cand = false;
            for (size_t j = 0; j < nc; j++) {
                is_cand = is_cand || cand[j] == s1[i];
            }
            assert_true(is_cand);
        }
        free(s1);
        free(s2);
        free(cand);
    }
    struct sampler_evalset_opts d = {.kind = SAMPLER_EVALSET_DIVERSE, .per_cluster = 1};
    size_t *cand, nc;
    ASSERT_EQ_INT(sampler_evalset_hard_candidates(a, N, &d, &cand, &nc, err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(nc, 0);
    free(cand);
}

static void test_rounds(void **state)
{
    (void)state;
    ASSERT_EQ_INT(sampler_round_by_hash("0000000000000009ffff", 9), 1);
    ASSERT_EQ_INT(sampler_round_by_hash("000000000000000aabcd", 9), 2);
    ASSERT_EQ_INT(sampler_round_by_hash("zz", 9), 0);
    ASSERT_EQ_INT(sampler_round_by_hash("0123456789abcdef0123456789abcdef", 0), 0);
    /* by hash: roughly equal over many ids */
    uint32_t cnt[10] = {0};
    for (int i = 0; i < 9000; i++) {
        char id[65];
        char txt[32];
        snprintf(txt, sizeof(txt), "prompt %d", i);
        arena_sha256_hex(txt, strlen(txt), id);
        cnt[sampler_round_by_hash(id, 9)]++;
    }
    ASSERT_EQ_INT(cnt[0], 0);
    for (int r = 1; r <= 9; r++) {
        assert_true(cnt[r] > 850 && cnt[r] < 1150);
    }
    /* by order: contiguous parts, sizes differ by at most one */
    uint32_t oc[10] = {0};
    uint32_t prev = 1;
    for (uint64_t i = 0; i < 1000; i++) {
        uint32_t r = sampler_round_by_order(i, 1000, 9);
        assert_true(r >= prev && r <= 9);
        prev = r;
        oc[r]++;
    }
    for (int r = 1; r <= 9; r++) {
        assert_true(oc[r] == 111 || oc[r] == 112);
    }
    ASSERT_EQ_INT(sampler_round_by_order(1000, 1000, 9), 0);
    enum sampler_rounds_split s;
    ASSERT_EQ_INT(sampler_rounds_split_parse("order", &s), ARENA_ERR_OK);
    ASSERT_EQ_INT(s, SAMPLER_ROUNDS_ORDER);
    ASSERT_EQ_INT(sampler_rounds_split_parse("random", &s), ARENA_ERR_INVALID);
}

/* WizardArena recipe on real prompts: embed, k-means into 25 clusters, 2 per cluster. */
static char *g_texts[600];
static char g_ids[600][33];
static size_t g_n;

static int collect(void *ctx, Arena__V1__Prompt *p, uint64_t line)
{
    (void)ctx;
    (void)line;
    if (g_n < 600) {
        g_texts[g_n] = arena_xstrdup(sampler_prompt_instruction(p));
        memcpy(g_ids[g_n], p->prompt_id, 33);
        g_n++;
    }
    sampler_prompt_free(p);
    return 0;
}

static void test_arena_hard_diverse(void **state)
{
    (void)state;
    char *path = tu_shared_path("data/arena_hard_v0.1/question.jsonl");
    if (path == NULL) {
        printf("# shared data folder absent: skipping the Arena-Hard eval set case\n");
        skip();
    }
    char err[256];
    ASSERT_EQ_INT(sampler_ingest_file(path, SAMPLER_FMT_AUTO, NULL, collect, NULL, NULL, NULL, err,
                                      sizeof(err)),
                  ARENA_ERR_OK);
    free(path);
    ASSERT_EQ_INT(g_n, 500);
    struct sampler_tfidf_opts to = {.dim_bits = 10};
    struct sampler_embedder *e = sampler_embed_tfidf_new(&to, err, sizeof(err));
    sampler_embed_tfidf_fit(e, (const char *const *)g_texts, g_n);
    struct sampler_vec *v = calloc(g_n, sizeof(*v));
    ASSERT_EQ_INT(sampler_embed(e, (const char *const *)g_texts, g_n, v, err, sizeof(err)),
                  ARENA_ERR_OK);
    int dim = (int)sampler_embedder_dim(e);
    float *x = malloc(g_n * (size_t)dim * sizeof(float));
    for (size_t i = 0; i < g_n; i++) {
        sampler_vec_to_dense(&v[i], x + i * (size_t)dim);
        sampler_vec_fini(&v[i]);
    }
    free(v);
    struct sampler_kmeans_opts ko = {.k = 25, .seed = 7, .metric = SAMPLER_KMEANS_COSINE};
    struct sampler_kmeans_result r;
    ASSERT_EQ_INT(sampler_kmeans_fit(x, g_n, dim, &ko, &r, err, sizeof(err)), ARENA_ERR_OK);
    struct sampler_evalset_item *it = calloc(g_n, sizeof(*it));
    size_t nonempty = 0;
    for (int j = 0; j < 25; j++) {
        nonempty += r.sizes[j] > 0;
    }
    for (size_t i = 0; i < g_n; i++) {
        it[i] = (struct sampler_evalset_item){
            .prompt_id = g_ids[i], .text = g_texts[i], .cluster = r.assign[i]};
    }
    struct sampler_evalset_opts eo = {.kind = SAMPLER_EVALSET_DIVERSE, .per_cluster = 2, .seed = 1};
    size_t *sel, ns;
    ASSERT_EQ_INT(sampler_evalset_select(it, g_n, &eo, &sel, &ns, err, sizeof(err)), ARENA_ERR_OK);
    size_t expect = 0;
    for (int j = 0; j < 25; j++) {
        expect += r.sizes[j] < 2 ? r.sizes[j] : 2;
    }
    printf("# Arena-Hard: 25 clusters (%zu non-empty), %d iterations, inertia %.2f, diverse set "
           "of %zu\n",
           nonempty, r.iterations, r.inertia, ns);
    ASSERT_EQ_INT(ns, expect);
    free(sel);
    free(it);
    sampler_kmeans_result_fini(&r);
    free(x);
    sampler_embedder_destroy(e);
    for (size_t i = 0; i < g_n; i++) {
        free(g_texts[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kmeans),
        cmocka_unit_test(test_evalset_counts),
        cmocka_unit_test(test_hard_candidates),
        cmocka_unit_test(test_rounds),
        cmocka_unit_test(test_arena_hard_diverse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
