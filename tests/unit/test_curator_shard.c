/* Unit tests: TRL row formats and the atomic shard writer (curator_shard.c). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zstd.h>

#include "testutil.h"

#include "arena/util.h"
#include "curator_shard.h"

static void example(struct curator_example *e, enum curator_example_kind kind,
                    struct curator_msg *prompt, char **ids)
{
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->prompt_id = "p42";
    e->round = 2;
    prompt[0].role = "system";
    prompt[0].content = "Be concise.";
    prompt[1].role = "user";
    prompt[1].content = "Say \"hi\"\nin French — s'il vous plaît";
    e->prompt = prompt;
    e->n_prompt = 2;
    e->chosen_model = "gpt";
    e->chosen_content = "Salut !";
    e->chosen_score = 8.5;
    e->rejected_model = "target";
    e->rejected_content = "Hello";
    e->rejected_score = 4;
    e->gap = 4.5;
    ids[0] = "b1";
    e->battle_ids = ids;
    e->n_battle_ids = 1;
}

static void test_rows(void **state)
{
    (void)state;
    struct curator_example e;
    struct curator_msg prompt[2];
    char *ids[1];
    example(&e, CURATOR_EXAMPLE_SFT, prompt, ids);
    char *row = curator_row(&e);
    ASSERT_EQ_STR(row, "{\"messages\":[{\"role\":\"system\",\"content\":\"Be concise.\"},"
                       "{\"role\":\"user\",\"content\":\"Say \\\"hi\\\"\\nin French — s'il vous "
                       "plaît\"},{\"role\":\"assistant\",\"content\":\"Salut !\"}],"
                       "\"prompt_id\":\"p42\",\"round\":2,\"model\":\"gpt\",\"score\":8.5,"
                       "\"target_model\":\"target\",\"target_score\":4.0,\"gap\":4.5,"
                       "\"battle_ids\":[\"b1\"]}");
    free(row);

    example(&e, CURATOR_EXAMPLE_DPO, prompt, ids);
    row = curator_row(&e);
    ASSERT_EQ_STR(row, "{\"prompt\":[{\"role\":\"system\",\"content\":\"Be concise.\"},"
                       "{\"role\":\"user\",\"content\":\"Say \\\"hi\\\"\\nin French — s'il vous "
                       "plaît\"}],\"chosen\":[{\"role\":\"assistant\",\"content\":\"Salut !\"}],"
                       "\"rejected\":[{\"role\":\"assistant\",\"content\":\"Hello\"}],"
                       "\"prompt_id\":\"p42\",\"round\":2,\"chosen_model\":\"gpt\","
                       "\"chosen_rating\":8.5,\"rejected_model\":\"target\","
                       "\"rejected_rating\":4.0,\"gap\":4.5,\"battle_ids\":[\"b1\"]}");
    free(row);

    /* invalid UTF-8 is replaced, the row stays valid JSON */
    e.chosen_content = "bad \xC3\x28 byte \xFF end";
    row = curator_row(&e);
    json_error_t jerr;
    json_t *j = json_loads(row, 0, &jerr);
    assert_non_null(j);
    const char *c = json_string_value(
        json_object_get(json_array_get(json_object_get(j, "chosen"), 0), "content"));
    ASSERT_EQ_STR(c, "bad \xEF\xBF\xBD( byte \xEF\xBF\xBD end");
    json_decref(j);
    free(row);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static void fill_manifest(Arena__V1__ShardManifest *m)
{
    Arena__V1__ShardManifest init = ARENA__V1__SHARD_MANIFEST__INIT;
    *m = init;
    m->round = 1;
    m->kind = ARENA__V1__SHARD_KIND__SHARD_KIND_DPO;
    m->target_model = arena_xstrdup("target");
    m->min_gap = 2.0;
    m->n_prompt_ids = 1;
    m->prompt_ids = arena_xmalloc(sizeof(char *));
    m->prompt_ids[0] = arena_xstrdup("p42");
    m->n_battle_ids = 2;
    m->battle_ids = arena_xmalloc(2 * sizeof(char *));
    m->battle_ids[0] = arena_xstrdup("b1");
    m->battle_ids[1] = arena_xstrdup("b2");
    m->created_at_ms = 1700000000000;
    m->seq = 7;
}

/* Golden rows and manifest: the exact bytes for the edge cases (NULL strings, an empty prompt,
 * several battle ids, non-finite numbers, invalid UTF-8, 15-digit reals, RM rows). Recorded
 * from the row writers before they were factored; any change here changes the sha256 of every
 * shard the curator writes (and e2e.test_flywheel's re-run comparison). */
static void test_rows_golden(void **state)
{
    (void)state;
    struct curator_msg prompt[3] = {
        {"system", "S"}, {"user", "\xFFq\t\"x\"\\ \xE2\x82"}, {NULL, NULL}};
    char *ids[3] = {"b1", "b\xC0\x80", "b3"};
    struct curator_example e;
    memset(&e, 0, sizeof(e));
    e.kind = CURATOR_EXAMPLE_SFT;
    e.prompt_id = "p\xED\xA0\x80";
    e.round = 0;
    e.prompt = prompt;
    e.n_prompt = 3;
    e.chosen_model = NULL;
    e.chosen_content = "line1\nline2\x01";
    e.chosen_score = NAN;
    e.rejected_model = "t";
    e.rejected_content = "unused by SFT";
    e.rejected_score = INFINITY;
    e.gap = -0.5;
    e.battle_ids = ids;
    e.n_battle_ids = 3;
    char *row = curator_row(&e);
    ASSERT_EQ_STR(row, "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                       "{\"role\":\"user\","
                       "\"content\":\"\357\277\275q\\t\\\"x\\\"\\\\ \357\277\275\357\277\275\"},"
                       "{\"role\":\"\",\"content\":\"\"},{\"role\":\"assistant\","
                       "\"content\":\"line1\\nline2\\u0001\"}],"
                       "\"prompt_id\":\"p\357\277\275\357\277\275\357\277\275\",\"round\":0,"
                       "\"model\":\"\",\"score\":null,\"target_model\":\"t\","
                       "\"target_score\":null,\"gap\":-0.5,\"battle_ids\":[\"b1\","
                       "\"b\357\277\275\357\277\275\",\"b3\"]}");
    free(row);

    e.kind = CURATOR_EXAMPLE_RM;
    e.prompt_id = "p7";
    e.round = 4294967295u;
    e.n_prompt = 0;
    e.chosen_model = "a";
    e.chosen_content = NULL;
    e.chosen_score = 1e-7;
    e.rejected_model = "";
    e.rejected_content = "";
    e.rejected_score = 123456789.123456789;
    e.gap = -INFINITY;
    e.n_battle_ids = 0;
    row = curator_row(&e);
    ASSERT_EQ_STR(row, "{\"prompt\":[],\"chosen\":[{\"role\":\"assistant\",\"content\":\"\"}],"
                       "\"rejected\":[{\"role\":\"assistant\",\"content\":\"\"}],"
                       "\"prompt_id\":\"p7\",\"round\":4294967295,\"chosen_model\":\"a\","
                       "\"chosen_rating\":1e-7,\"rejected_model\":\"\","
                       "\"rejected_rating\":123456789.123457,\"gap\":null,\"battle_ids\":[]}");
    free(row);

    e.kind = CURATOR_EXAMPLE_DPO;
    e.n_prompt = 2;
    e.gap = 1.0 / 3.0;
    e.n_battle_ids = 2;
    row = curator_row_pref(&e);
    ASSERT_EQ_STR(row, "{\"prompt\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\","
                       "\"content\":\"\357\277\275q\\t\\\"x\\\"\\\\ \357\277\275\357\277\275\"}],"
                       "\"chosen\":[{\"role\":\"assistant\",\"content\":\"\"}],"
                       "\"rejected\":[{\"role\":\"assistant\",\"content\":\"\"}],"
                       "\"prompt_id\":\"p7\",\"round\":4294967295,\"chosen_model\":\"a\","
                       "\"chosen_rating\":1e-7,\"rejected_model\":\"\","
                       "\"rejected_rating\":123456789.123457,\"gap\":0.333333333333333,"
                       "\"battle_ids\":[\"b1\",\"b\357\277\275\357\277\275\"]}");
    free(row);

    Arena__V1__ShardManifest m;
    fill_manifest(&m);
    m.kind = ARENA__V1__SHARD_KIND__SHARD_KIND_RM;
    m.min_gap = NAN;
    free(m.battle_ids[1]);
    m.battle_ids[1] = arena_xstrdup("b\xFF");
    char *mj = curator_manifest_to_json(&m);
    ASSERT_EQ_STR(mj, "{\n  \"shard_id\": \"\",\n  \"round\": 1,\n  \"kind\": \"rm\","
                      "\n  \"path\": \"\",\n  \"sha256\": \"\",\n  \"bytes\": 0,\n  \"rows\": 0,"
                      "\n  \"format\": \"\",\n  \"compression\": \"\","
                      "\n  \"target_model\": \"target\",\n  \"min_gap\": null,"
                      "\n  \"partition\": 0,\n  \"seq\": 7,\n  \"created_at_ms\": 1700000000000,"
                      "\n  \"prompt_ids\": [\n    \"p42\"\n  ],"
                      "\n  \"battle_ids\": [\n    \"b1\",\n    \"b\357\277\275\"\n  ]\n}");
    free(mj);
    curator_manifest_fini(&m);
}

static const char *const ROWS[] = {"{\"prompt\":[],\"x\":1}", "{\"prompt\":[],\"x\":\"é\"}",
                                   "{\"prompt\":[],\"x\":3}"};
static const char EXPECTED[] =
    "{\"prompt\":[],\"x\":1}\n{\"prompt\":[],\"x\":\"é\"}\n{\"prompt\":[],\"x\":3}\n";

static void test_write_plain(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir("curator_shard");
    char *dir = arena_xasprintf("%s/shards/r1", tmp); /* created by the writer */
    Arena__V1__ShardManifest m;
    fill_manifest(&m);
    char err[256] = "";
    arena_err_t rc =
        curator_shard_write(dir, "dpo-r1-p0-000007", ROWS, 3, "", &m, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "write: %s\n", err);
    }
    ASSERT_EQ_INT(rc, ARENA_ERR_OK);
    ASSERT_EQ_STR(m.path, "dpo-r1-p0-000007.jsonl");
    ASSERT_EQ_STR(m.shard_id, "dpo-r1-p0-000007");
    ASSERT_EQ_STR(m.format, "trl-preference");
    ASSERT_EQ_STR(m.compression, "");
    ASSERT_EQ_INT(m.rows, 3);
    ASSERT_EQ_INT(m.bytes, strlen(EXPECTED));
    char *path = arena_xasprintf("%s/%s", dir, m.path);
    size_t len = 0;
    char *data = arena_read_file(path, &len, err, sizeof(err));
    assert_non_null(data);
    ASSERT_EQ_STR(data, EXPECTED);
    char hex[65];
    uint64_t bytes = 0;
    ASSERT_EQ_INT(arena_sha256_file(path, hex, &bytes), 0);
    ASSERT_EQ_STR(hex, m.sha256);
    ASSERT_EQ_INT(bytes, len);
    /* only the shard and its manifest: no temp file left behind */
    ASSERT_EQ_INT(count_files(dir), 2);

    /* the manifest file carries the same fields */
    char *mpath = arena_xasprintf("%s/dpo-r1-p0-000007.manifest.json", dir);
    json_error_t jerr;
    json_t *j = json_load_file(mpath, 0, &jerr);
    assert_non_null(j);
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "sha256")), m.sha256);
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "kind")), "dpo");
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "path")), "dpo-r1-p0-000007.jsonl");
    ASSERT_EQ_INT(json_integer_value(json_object_get(j, "rows")), 3);
    ASSERT_EQ_INT(json_integer_value(json_object_get(j, "bytes")), len);
    ASSERT_EQ_INT(json_integer_value(json_object_get(j, "seq")), 7);
    ASSERT_EQ_STR(json_string_value(json_array_get(json_object_get(j, "battle_ids"), 1)), "b2");
    json_decref(j);

    /* rerun: byte-identical shard */
    Arena__V1__ShardManifest m2;
    fill_manifest(&m2);
    m2.created_at_ms = 1800000000000; /* only in the manifest, never in the shard */
    ASSERT_EQ_INT(curator_shard_write(dir, "dpo-r1-p0-000007", ROWS, 3, "", &m2, err, sizeof(err)),
                  ARENA_ERR_OK);
    size_t len2 = 0;
    char *data2 = arena_read_file(path, &len2, err, sizeof(err));
    ASSERT_EQ_INT(len2, len);
    assert_memory_equal(data, data2, len);
    ASSERT_EQ_STR(m2.sha256, m.sha256);
    ASSERT_EQ_INT(count_files(dir), 2);

    free(data);
    free(data2);
    free(path);
    free(mpath);
    curator_manifest_fini(&m);
    curator_manifest_fini(&m2);
    curator_manifest_fini(NULL);
    tu_rmtree(tmp);
    free(dir);
    free(tmp);
}

static void test_write_zstd(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("curator_zstd");
    Arena__V1__ShardManifest m;
    fill_manifest(&m);
    m.kind = ARENA__V1__SHARD_KIND__SHARD_KIND_SFT;
    char err[256] = "";
    ASSERT_EQ_INT(
        curator_shard_write(dir, "sft-r1-p0-000001", ROWS, 3, "zstd", &m, err, sizeof(err)),
        ARENA_ERR_OK);
    ASSERT_EQ_STR(m.path, "sft-r1-p0-000001.jsonl.zst");
    ASSERT_EQ_STR(m.compression, "zstd");
    ASSERT_EQ_STR(m.format, "trl-messages");
    char *path = arena_xasprintf("%s/%s", dir, m.path);
    size_t len = 0;
    char *data = arena_read_file(path, &len, err, sizeof(err));
    assert_non_null(data);
    ASSERT_EQ_INT(m.bytes, len);
    char hex[65];
    arena_sha256_hex(data, len, hex);
    ASSERT_EQ_STR(hex, m.sha256);
    unsigned long long size = ZSTD_getFrameContentSize(data, len);
    ASSERT_EQ_INT(size, strlen(EXPECTED));
    char *out = calloc(1, (size_t)size + 1);
    size_t got = ZSTD_decompress(out, (size_t)size, data, len);
    assert_false(ZSTD_isError(got));
    ASSERT_EQ_INT(got, strlen(EXPECTED));
    ASSERT_EQ_STR(out, EXPECTED);
    ASSERT_EQ_INT(count_files(dir), 2);
    free(out);
    free(data);
    free(path);
    curator_manifest_fini(&m);
    tu_rmtree(dir);
    free(dir);
}

static void test_write_errors(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("curator_err");
    Arena__V1__ShardManifest m;
    fill_manifest(&m);
    char err[256] = "";
    ASSERT_EQ_INT(curator_shard_write(dir, "x", ROWS, 3, "gzip", &m, err, sizeof(err)),
                  ARENA_ERR_INVALID);
    assert_non_null(strstr(err, "gzip"));
    ASSERT_EQ_INT(curator_shard_write(dir, "../escape", ROWS, 3, "", &m, err, sizeof(err)),
                  ARENA_ERR_INVALID);
    assert_non_null(strstr(err, "../escape"));
    const char *bad[] = {"{\"a\":1}", "{\"a\":\n2}"};
    ASSERT_EQ_INT(curator_shard_write(dir, "x", bad, 2, "", &m, err, sizeof(err)),
                  ARENA_ERR_INVALID);
    assert_non_null(strstr(err, "row 1"));
    ASSERT_EQ_INT(count_files(dir), 0); /* nothing written on bad input */
    /* unwritable dir: a file where the directory should be */
    char *file = arena_xasprintf("%s/file", dir);
    tu_write_file(file, "x");
    char *sub = arena_xasprintf("%s/file/sub", dir);
    ASSERT_EQ_INT(curator_shard_write(sub, "x", ROWS, 3, "", &m, err, sizeof(err)), ARENA_ERR_IO);
    assert_true(strlen(err) > 0);
    free(file);
    free(sub);
    curator_manifest_fini(&m);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),         cmocka_unit_test(test_rows_golden),
        cmocka_unit_test(test_write_plain),  cmocka_unit_test(test_write_zstd),
        cmocka_unit_test(test_write_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
