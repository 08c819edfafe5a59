/* test_sampler_lang.c - the sampler.language hook (ASCII-ratio heuristic) and its config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "arena/config.h"
#include "sampler_lang.h"
#include "sampler_pipeline.h"

static void test_ratio(void **state)
{
    (void)state;
    assert_true(sampler_lang_ascii_ratio("Write a haiku about autumn leaves.") == 1.0);
    assert_true(sampler_lang_ascii_ratio("") == 1.0);
    assert_true(sampler_lang_ascii_ratio("1 + 2 = 3; {}[]") == 1.0); /* no letters */
    assert_true(sampler_lang_ascii_ratio("请写一首关于秋天的诗") == 0.0);
    /* English with a few accented names and typographic punctuation stays English */
    assert_int_equal(sampler_lang_en(NULL, "Explain Gödel’s theorem — briefly, for a café owner"),
                     1);
    assert_int_equal(sampler_lang_en(NULL, "Écris un poème sur l’automne"), 1); /* Latin script */
    assert_int_equal(sampler_lang_en(NULL, "Напиши стихотворение об осени"), 0);
    assert_int_equal(sampler_lang_en(NULL, "秋についての詩を書いてください please"), 0);
    assert_int_equal(sampler_lang_en(NULL, "def f(x):\n    return x ** 2  # 🙂"), 1);
    /* invalid UTF-8 bytes count against */
    assert_int_equal(sampler_lang_en(NULL, "\xff\xfe\xfd\xfc\xfb"), 0);
}

static void test_hook_names(void **state)
{
    (void)state;
    int (*hook)(void *, const char *) = sampler_lang_en;
    char err[128];
    assert_int_equal(sampler_lang_hook("any", &hook, err, sizeof(err)), ARENA_ERR_OK);
    assert_null(hook);
    assert_int_equal(sampler_lang_hook("en", &hook, err, sizeof(err)), ARENA_ERR_OK);
    assert_ptr_equal(hook, sampler_lang_en);
    assert_int_equal(sampler_lang_hook("fr", &hook, err, sizeof(err)), ARENA_ERR_CONFIG);
    assert_non_null(strstr(err, "sampler.language"));
    assert_non_null(strstr(err, "'fr'"));
}

/* The hook in the pipeline: dropped prompts are counted under "language". */
static void test_pipeline_language(void **state)
{
    (void)state;
    struct sampler_pipeline_opts o;
    char err[256];
    sampler_pipeline_opts_default(&o);
    o.language_hook = sampler_lang_en;
    struct sampler_pipeline *p = sampler_pipeline_new(&o, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(sampler_pipeline_offer(p, "00000000000000000000000000000001",
                                            "Summarise the plot of Hamlet in three sentences.",
                                            NULL),
                     SAMPLER_ACCEPT);
    assert_int_equal(sampler_pipeline_offer(p, "00000000000000000000000000000002",
                                            "Кратко перескажи сюжет Гамлета в трёх предложениях.",
                                            NULL),
                     SAMPLER_DROP_LANGUAGE);
    uint64_t counts[SAMPLER_DECISION__COUNT];
    sampler_pipeline_counts(p, counts);
    assert_int_equal(counts[SAMPLER_DROP_LANGUAGE], 1);
    assert_int_equal(counts[SAMPLER_ACCEPT], 1);
    sampler_pipeline_destroy(p);
}

/* Every new sampler/curator key is parsed and checked, naming the key. */
static void test_config_keys(void **state)
{
    (void)state;
    char err[256];
    const char *ok = "sampler:\n  language: en\n  rounds: 9\n  split: order\n  jaccard: 0.7\n"
                     "  permutations: 64\n  bands: 16\n  decontam: false\n"
                     "curator:\n  sft_min_gap_by_round: [3.0, 1.0]\n";
    struct arena_config *cfg =
        arena_config_load_string(ok, strlen(ok), (char *[]){NULL}, err, sizeof(err));
    assert_non_null(cfg);
    assert_int_equal(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_OK);
    assert_string_equal(cfg->sampler.language, "en");
    assert_int_equal(cfg->sampler.rounds, 9);
    assert_false(cfg->sampler.decontam);
    assert_int_equal(cfg->curator.sft_min_gap_by_round.n, 2);
    assert_int_equal(cfg->curator.flush_ms, 0); /* deterministic shard boundaries by default */
    arena_config_destroy(cfg);
    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"sampler:\n  language: klingon\n", "sampler.language"},
        {"sampler:\n  split: random\n", "sampler.split"},
        {"sampler:\n  jaccard: 1.5\n", "sampler.jaccard"},
        {"sampler:\n  bands: 30\n", "sampler.bands"},
        {"curator:\n  sft_min_gap_by_round: [3.0, abc]\n", "curator.sft_min_gap_by_round"},
        {"curator:\n  dpo_min_gap_by_round: [-1]\n", "curator.dpo_min_gap_by_round"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg = arena_config_load_string(bad[i].yaml, strlen(bad[i].yaml), (char *[]){NULL}, err,
                                       sizeof(err));
        if (cfg) {
            assert_int_not_equal(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_OK);
            arena_config_destroy(cfg);
        }
        if (!strstr(err, bad[i].want)) {
            fail_msg("%s: error '%s' does not name %s", bad[i].yaml, err, bad[i].want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratio),
        cmocka_unit_test(test_hook_names),
        cmocka_unit_test(test_pipeline_language),
        cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
