/* test_config.c - arena.yaml loading: defaults, file, env, --set, errors naming key and line. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/config.h"
#include "arena/log.h"
#include "arena/util.h"

static char *const no_env[] = {NULL};

static const char good_yaml[] = "# fleet config\n"
                                "log_level: debug\n"
                                "kafka:\n"
                                "  bootstrap.servers: \"127.0.0.1:9092\"\n"
                                "  sasl.password: hunter2secret\n"
                                "  queue.buffering.max.ms: 5\n"
                                "models:\n"
                                "  - name: wizard-7b\n"
                                "    skill: 6.5\n"
                                "  - name: gpt-4\n"
                                "    backend: openai\n"
                                "    base_url: http://127.0.0.1:8000/v1\n"
                                "    api_key_env: OPENAI_API_KEY\n"
                                "    headers: [\"X-Trace: 1\", \"Authorization: Bearer abc123\"]\n"
                                "  - name: llama\n"
                                "    seed: 7\n"
                                "sampler:\n"
                                "  target: wizard-7b\n"
                                "  competitors: [gpt-4, llama]\n"
                                "  max_in_flight: 50\n"
                                "  dedup_minhash: false\n"
                                "judge:\n"
                                "  model: gpt-4\n"
                                "  tie_margin: 0.5\n"
                                "rater:\n"
                                "  seed: 18446744073709551615\n"
                                "curator:\n"
                                "  compression: zstd\n";

static struct arena_config *load(const char *yaml, char *const *env, char *err, size_t errn)
{
    return arena_config_load_string(yaml, strlen(yaml), env, err, errn);
}

static void test_defaults(void **state)
{
    (void)state;
    char err[512] = "";
    struct arena_config *cfg = arena_config_load_string(NULL, 0, no_env, err, sizeof(err));
    assert_non_null(cfg);
    ASSERT_EQ_STR(cfg->log_level, "info");
    ASSERT_EQ_STR(cfg->sampler.svc.http_listen, "127.0.0.1:0");
    ASSERT_EQ_STR(cfg->sampler.svc.control, "");
    ASSERT_EQ_STR(cfg->judge.svc.state_dir, "./state/judge");
    ASSERT_EQ_STR(cfg->curator.svc.group_id, "arena-curator");
    ASSERT_EQ_INT(cfg->rater.svc.grace_ms, 10000);
    ASSERT_EQ_INT(cfg->generator.svc.batch_size, 500);
    ASSERT_EQ_STR(cfg->sampler.mode, "train");
    ASSERT_EQ_INT(cfg->sampler.max_in_flight, 2000);
    ASSERT_EQ_INT(cfg->sampler.round, 1);
    assert_true(cfg->sampler.dedup_prefix && cfg->sampler.dedup_minhash);
    ASSERT_NEAR(cfg->generator.temperature, 0.7, 1e-12);
    ASSERT_EQ_INT(cfg->generator.max_tokens, 1024);
    ASSERT_EQ_STR(cfg->judge.template, "wizardarena");
    ASSERT_EQ_STR(cfg->judge.combine, "average");
    ASSERT_NEAR(cfg->judge.tie_margin, 1.0, 0);
    ASSERT_EQ_STR(cfg->rater.method, "bt");
    ASSERT_EQ_INT(cfg->rater.seed, 42);
    ASSERT_EQ_INT(cfg->rater.threads, 2);
    ASSERT_NEAR(cfg->curator.sft_min_gap, 3.0, 0);
    ASSERT_EQ_STR(cfg->curator.shard_dir, "./shards");
    ASSERT_EQ_STR(cfg->curator.compression, "");
    ASSERT_EQ_INT(cfg->n_models, 0);
    ASSERT_EQ_INT(cfg->kafka_keys.n, 0);
    assert_null(arena_config_kafka(cfg, "bootstrap.servers"));
    assert_ptr_equal(arena_config_svc(cfg, "rater"), &cfg->rater.svc);
    assert_null(arena_config_svc(cfg, "nope"));
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_OK);
    arena_config_destroy(cfg);
    arena_config_destroy(NULL);
}

static void test_good_file(void **state)
{
    (void)state;
    char err[512] = "";
    struct arena_config *cfg = load(good_yaml, no_env, err, sizeof(err));
    if (!cfg) {
        fail_msg("load: %s", err);
    }
    ASSERT_EQ_STR(cfg->log_level, "debug");
    ASSERT_EQ_STR(arena_config_kafka(cfg, "bootstrap.servers"), "127.0.0.1:9092");
    ASSERT_EQ_STR(arena_config_kafka(cfg, "queue.buffering.max.ms"), "5");
    ASSERT_EQ_INT(cfg->n_models, 3);
    const struct arena_model_cfg *w = arena_config_model(cfg, "wizard-7b");
    assert_non_null(w);
    ASSERT_EQ_STR(w->backend, "sim");
    ASSERT_NEAR(w->skill, 6.5, 0);
    ASSERT_NEAR(w->noise, 1.0, 0);
    ASSERT_NEAR(w->temperature, -1, 0);
    ASSERT_EQ_INT(w->max_concurrency, 64);
    const struct arena_model_cfg *g = arena_config_model(cfg, "gpt-4");
    ASSERT_EQ_STR(g->backend, "openai");
    ASSERT_EQ_INT(g->headers.n, 2);
    ASSERT_EQ_STR(g->headers.v[1], "Authorization: Bearer abc123");
    ASSERT_EQ_INT(arena_config_model(cfg, "llama")->seed, 7);
    ASSERT_EQ_STR(cfg->sampler.target, "wizard-7b");
    ASSERT_EQ_INT(cfg->sampler.competitors.n, 2);
    ASSERT_EQ_STR(cfg->sampler.competitors.v[0], "gpt-4");
    ASSERT_EQ_STR(cfg->sampler.competitors.v[1], "llama");
    ASSERT_EQ_INT(cfg->sampler.max_in_flight, 50);
    assert_false(cfg->sampler.dedup_minhash);
    assert_true(cfg->sampler.dedup_prefix);
    ASSERT_NEAR(cfg->judge.tie_margin, 0.5, 0);
    assert_true(cfg->rater.seed == UINT64_MAX);
    ASSERT_EQ_STR(cfg->curator.compression, "zstd");
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_OK);
    arena_config_destroy(cfg);
}

static void expect_error(const char *yaml, const char *const *needles)
{
    char err[512] = "";
    struct arena_config *cfg = load(yaml, no_env, err, sizeof(err));
    if (cfg) {
        arena_config_destroy(cfg);
        fail_msg("expected an error for:\n%s", yaml);
    }
    for (; *needles; needles++) {
        if (!strstr(err, *needles)) {
            fail_msg("error '%s' does not mention '%s'", err, *needles);
        }
    }
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("sampler:\n  round: 1\n  foo: 3\n",
                 (const char *[]){"unknown key 'sampler.foo'", "line 3", NULL});
    expect_error(
        "sampler:\n  max_in_flight: abc\n",
        (const char *[]){"sampler.max_in_flight", "line 2", "expected an integer", "'abc'", NULL});
    expect_error("judge:\n  tie_margin: [1, 2]\n",
                 (const char *[]){"judge.tie_margin", "line 2", "got a list", NULL});
    expect_error("sampler:\n  dedup_prefix: maybe\n",
                 (const char *[]){"sampler.dedup_prefix", "boolean", NULL});
    expect_error("sampler:\n  max_in_flight: 0\n",
                 (const char *[]){"sampler.max_in_flight", "must be >= 1", NULL});
    expect_error("sampler:\n  max_in_flight: 99999999999999999999999\n",
                 (const char *[]){"sampler.max_in_flight", NULL});
    expect_error("generator:\n  temperature: nan\n",
                 (const char *[]){"generator.temperature", "a number", NULL});
    expect_error("sampler: {round: 1\n", (const char *[]){"bad YAML", "line", "column", NULL});
    expect_error("a: b\n  c: d\n", (const char *[]){"bad YAML", "line 2", NULL});
    expect_error("bogus: 1\n", (const char *[]){"unknown key 'bogus'", "line 1", NULL});
    expect_error("- 1\n- 2\n", (const char *[]){"top level", "mapping", NULL});
    expect_error("sampler:\n  round: 1\n  round: 2\n",
                 (const char *[]){"duplicate key 'sampler.round'", "line 3", NULL});
    expect_error("models:\n  - name: a\n  - skill: 3\n  - name: c\n",
                 (const char *[]){"models[1]", "missing name", NULL});
    expect_error("models:\n  - name: a\n  - name: b\n  - name: a\n",
                 (const char *[]){"models[2]", "duplicate model name 'a'", NULL});
    expect_error("models:\n  - name: a\n    colour: red\n",
                 (const char *[]){"unknown key 'models[0].colour'", "line 3", NULL});
    expect_error("models:\n  - name: a\n    api_key: sk-123\n",
                 (const char *[]){"api_key_env", NULL});
    expect_error("models:\n  name: a\n", (const char *[]){"models", "list", NULL});
    expect_error("kafka:\n  bootstrap.servers: [a, b]\n",
                 (const char *[]){"kafka.bootstrap.servers", "scalar", NULL});
    expect_error("rater:\n  seed: -1\n", (const char *[]){"rater.seed", NULL});
}

static void test_env_override(void **state)
{
    (void)state;
    char err[512] = "";
    char *env[] = {"PATH=/bin",
                   "ARENA_SOURCE_DIR=/x", /* not config: ignored */
                   "ARENA_SAMPLER_MAX_IN_FLIGHT=10",
                   "ARENA_KAFKA_BOOTSTRAP_SERVERS=broker:19092",
                   "ARENA_MODELS_GPT_4_SKILL=9.25",
                   "ARENA_SAMPLER_COMPETITORS=llama, gpt-4",
                   "ARENA_LOG_LEVEL=warn",
                   "ARENA_JUDGE_SVC_IGNORED_PREFIX_NOT_A_SECTION=1",
                   NULL};
    env[7] = NULL; /* see the negative case below */
    struct arena_config *cfg = load(good_yaml, env, err, sizeof(err));
    if (!cfg) {
        fail_msg("load: %s", err);
    }
    ASSERT_EQ_INT(cfg->sampler.max_in_flight, 10);
    ASSERT_EQ_STR(arena_config_kafka(cfg, "bootstrap.servers"), "broker:19092");
    ASSERT_NEAR(arena_config_model(cfg, "gpt-4")->skill, 9.25, 0);
    ASSERT_EQ_INT(cfg->sampler.competitors.n, 2);
    ASSERT_EQ_STR(cfg->sampler.competitors.v[0], "llama");
    ASSERT_EQ_STR(cfg->sampler.competitors.v[1], "gpt-4");
    ASSERT_EQ_STR(cfg->log_level, "warn");
    arena_config_destroy(cfg);

    char *bad[] = {"ARENA_SAMPLER_MAX_IN_FLIGHT=lots", NULL};
    assert_null(load(good_yaml, bad, err, sizeof(err)));
    assert_non_null(strstr(err, "sampler.max_in_flight"));
    assert_non_null(strstr(err, "ARENA_SAMPLER_MAX_IN_FLIGHT"));
    char *unknown[] = {"ARENA_JUDGE_COLOUR=red", NULL};
    assert_null(load(good_yaml, unknown, err, sizeof(err)));
    assert_non_null(strstr(err, "judge.colour"));
    char *nomodel[] = {"ARENA_MODELS_NOBODY_SKILL=1", NULL};
    assert_null(load(good_yaml, nomodel, err, sizeof(err)));
    assert_non_null(strstr(err, "ARENA_MODELS_NOBODY_SKILL"));

    /* the process environment is used when env == NULL */
    setenv("ARENA_RATER_THREADS", "7", 1);
    cfg = arena_config_load_string("", 0, NULL, err, sizeof(err));
    assert_non_null(cfg);
    ASSERT_EQ_INT(cfg->rater.threads, 7);
    arena_config_destroy(cfg);
    unsetenv("ARENA_RATER_THREADS");
}

static void test_set(void **state)
{
    (void)state;
    char err[512] = "";
    struct arena_config *cfg = load(good_yaml, no_env, err, sizeof(err));
    assert_non_null(cfg);
    ASSERT_EQ_INT(arena_config_set(cfg, "sampler.max_in_flight=5", err, sizeof(err)), 0);
    ASSERT_EQ_INT(cfg->sampler.max_in_flight, 5);
    ASSERT_EQ_INT(arena_config_set(cfg, "kafka.bootstrap.servers=x:1", err, sizeof(err)), 0);
    ASSERT_EQ_STR(arena_config_kafka(cfg, "bootstrap.servers"), "x:1");
    ASSERT_EQ_INT(arena_config_set(cfg, "kafka.client.id=me", err, sizeof(err)), 0);
    ASSERT_EQ_STR(arena_config_kafka(cfg, "client.id"), "me");
    ASSERT_EQ_INT(arena_config_set(cfg, "sampler.competitors=gpt-4", err, sizeof(err)), 0);
    ASSERT_EQ_INT(cfg->sampler.competitors.n, 1);
    ASSERT_EQ_INT(arena_config_set(cfg, "models.wizard-7b.skill=8", err, sizeof(err)), 0);
    ASSERT_NEAR(arena_config_model(cfg, "wizard-7b")->skill, 8, 0);
    ASSERT_EQ_INT(arena_config_set(cfg, "log_level=error", err, sizeof(err)), 0);
    ASSERT_EQ_STR(cfg->log_level, "error");
    ASSERT_EQ_INT(arena_config_set(cfg, "judge.tie_margin=abc", err, sizeof(err)),
                  ARENA_ERR_CONFIG);
    assert_non_null(strstr(err, "judge.tie_margin"));
    ASSERT_EQ_INT(arena_config_set(cfg, "sampler.nope=1", err, sizeof(err)), ARENA_ERR_CONFIG);
    assert_non_null(strstr(err, "sampler.nope"));
    ASSERT_EQ_INT(arena_config_set(cfg, "novalue", err, sizeof(err)), ARENA_ERR_CONFIG);
    ASSERT_EQ_INT(arena_config_set(cfg, "models.ghost.skill=1", err, sizeof(err)),
                  ARENA_ERR_CONFIG);
    assert_non_null(strstr(err, "ghost"));
    arena_config_destroy(cfg);
}

static void expect_invalid(const char *yaml, const char *setting, const char *needle)
{
    char err[512] = "";
    struct arena_config *cfg = load(yaml, no_env, err, sizeof(err));
    if (!cfg) {
        fail_msg("load: %s", err);
    }
    if (setting) {
        ASSERT_EQ_INT(arena_config_set(cfg, setting, err, sizeof(err)), 0);
    }
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_CONFIG);
    if (!strstr(err, needle)) {
        fail_msg("validate error '%s' does not mention '%s'", err, needle);
    }
    arena_config_destroy(cfg);
}

static void test_validate(void **state)
{
    (void)state;
    expect_invalid(good_yaml, "sampler.target=ghost", "sampler.target: 'ghost'");
    expect_invalid(good_yaml, "sampler.competitors=llama,ghost", "sampler.competitors: 'ghost'");
    expect_invalid(good_yaml, "sampler.competitors=llama,wizard-7b", "target model itself");
    expect_invalid(good_yaml, "judge.model=ghost", "judge.model: 'ghost'");
    expect_invalid(good_yaml, "judge.tie_margin=-0.1", "judge.tie_margin");
    expect_invalid(good_yaml, "judge.combine=median", "judge.combine");
    expect_invalid(good_yaml, "sampler.mode=random", "sampler.mode");
    expect_invalid(good_yaml, "rater.anchor=ghost=1000", "rater.anchor");
    expect_invalid(good_yaml, "rater.anchor=llama", "rater.anchor");
    expect_invalid(good_yaml, "curator.compression=gzip", "curator.compression");
    expect_invalid("models:\n  - name: a\n    backend: magic\n", NULL, "unknown backend 'magic'");
    expect_invalid("models:\n  - name: a\n    backend: openai\n", NULL, "base_url");
    expect_invalid("models:\n  - name: a\n    backend: replay\n", NULL, "answers");
    /* without models, names are not checked (services fail later with their own message) */
    char err[512];
    struct arena_config *cfg = load("sampler:\n  target: x\n", no_env, err, sizeof(err));
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_OK);
    arena_config_destroy(cfg);
}

static void test_dump(void **state)
{
    (void)state;
    char err[512] = "";
    struct arena_config *cfg = load(good_yaml, no_env, err, sizeof(err));
    assert_non_null(cfg);
    char *dump = arena_config_dump(cfg);
    assert_null(strstr(dump, "hunter2secret"));
    assert_null(strstr(dump, "abc123"));
    assert_non_null(strstr(dump, "\"sasl.password\": \"[REDACTED]\""));
    assert_non_null(strstr(dump, "\"bootstrap.servers\": \"127.0.0.1:9092\""));
    assert_non_null(strstr(dump, "\"X-Trace: 1\""));
    assert_non_null(strstr(dump, "max_in_flight: 50"));
    /* the dump is itself a loadable config with the same values */
    struct arena_config *again = load(dump, no_env, err, sizeof(err));
    if (!again) {
        fail_msg("reload of dump failed: %s\n%s", err, dump);
    }
    ASSERT_EQ_INT(again->n_models, 3);
    ASSERT_EQ_INT(again->sampler.max_in_flight, 50);
    ASSERT_NEAR(again->judge.tie_margin, 0.5, 0);
    assert_true(again->rater.seed == UINT64_MAX);
    ASSERT_EQ_STR(again->sampler.competitors.v[1], "llama");
    arena_config_destroy(again);
    free(dump);
    arena_config_destroy(cfg);
}

static void test_load_file(void **state)
{
    (void)state;
    char err[512] = "";
    char *dir = tu_tmpdir("cfg");
    char path[4200];
    snprintf(path, sizeof(path), "%s/arena.yaml", dir);
    tu_write_file(path, "rater:\n  threads: x\n");
    assert_null(arena_config_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "rater.threads (line 2)"));
    tu_write_file(path, "rater:\n  threads: 3\n");
    struct arena_config *cfg = arena_config_load(path, err, sizeof(err));
    assert_non_null(cfg);
    ASSERT_EQ_STR(cfg->path, path);
    ASSERT_EQ_INT(cfg->rater.threads, 3);
    arena_config_destroy(cfg);
    snprintf(path, sizeof(path), "%s/missing.yaml", dir);
    assert_null(arena_config_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "missing.yaml"));
    tu_rmtree(dir);
    free(dir);
}

static void test_curve_keys(void **state)
{
    (void)state;
    char err[512] = "";
    struct arena_config *cfg = arena_config_load_string(NULL, 0, no_env, err, sizeof(err));
    assert_non_null(cfg);
    ASSERT_EQ_STR(cfg->curve.server_secret_key_file, "");
    ASSERT_EQ_STR(cfg->curve.client_secret_key_file, "");
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_OK);
    arena_config_destroy(cfg);

    /* file < env < --set, as for every other key */
    char *env[] = {"ARENA_CURVE_AUTHORIZED_KEYS_FILE=/run/secrets/arena/authorized_keys", NULL};
    cfg = load("curve:\n  server_secret_key_file: /run/secrets/arena/server.key\n"
               "  authorized_keys_file: /etc/none\n",
               env, err, sizeof(err));
    if (!cfg) {
        fail_msg("%s", err);
    }
    ASSERT_EQ_STR(cfg->curve.server_secret_key_file, "/run/secrets/arena/server.key");
    ASSERT_EQ_STR(cfg->curve.authorized_keys_file, "/run/secrets/arena/authorized_keys");
    ASSERT_EQ_INT(arena_config_set(cfg, "curve.client_secret_key_file=/k/c.key", err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_STR(cfg->curve.client_secret_key_file, "/k/c.key");
    /* a client secret key without the server's public key is half a client */
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_CONFIG);
    assert_non_null(strstr(err, "curve.server_public_key_file"));
    ASSERT_EQ_INT(arena_config_set(cfg, "curve.server_public_key_file=/k/s.pub", err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_OK);
    char *dump = arena_config_dump(cfg);
    assert_non_null(
        strstr(dump, "curve:\n  server_secret_key_file: \"/run/secrets/arena/server.key\""));
    free(dump);
    /* a server key without authorised clients would let nobody in: said at once */
    ASSERT_EQ_INT(arena_config_set(cfg, "curve.authorized_keys_file=", err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_CONFIG);
    assert_non_null(strstr(err, "curve.authorized_keys_file: required"));
    arena_config_destroy(cfg);

    expect_error("curve:\n  server_secret_key: abc\n",
                 (const char *[]){"unknown key 'curve.server_secret_key'", "line 2", NULL});
    /* a key pasted inline instead of a path: refused, and the key is not echoed */
    const char *inline_key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    char yaml[256];
    snprintf(yaml, sizeof(yaml),
             "curve:\n  client_secret_key_file: \"%s\"\n"
             "  server_public_key_file: /k/s.pub\n",
             inline_key);
    cfg = load(yaml, no_env, err, sizeof(err));
    assert_non_null(cfg);
    ASSERT_EQ_INT(arena_config_validate(cfg, err, sizeof(err)), ARENA_ERR_CONFIG);
    assert_non_null(strstr(err, "curve.client_secret_key_file: expected the path of a key file"));
    assert_null(strstr(err, inline_key));
    arena_config_destroy(cfg);
}

static void test_kafka_secrets(void **state)
{
    (void)state;
    assert_true(arena_config_kafka_is_secret("sasl.password"));
    assert_true(arena_config_kafka_is_secret("ssl.key.password"));
    assert_true(arena_config_kafka_is_secret("ssl.keystore.password"));
    assert_true(arena_config_kafka_is_secret("ssl.key.pem"));
    assert_true(arena_config_kafka_is_secret("sasl.oauthbearer.client.secret"));
    assert_true(arena_config_kafka_is_secret("sasl.oauthbearer.config"));
    assert_false(arena_config_kafka_is_secret("sasl.username"));
    assert_false(arena_config_kafka_is_secret("bootstrap.servers"));

    /* from the file, the environment and --set: every secret value is redacted in the dump and
     * in any log line or error string from then on */
    char *env[] = {"ARENA_KAFKA_SSL_KEY_PASSWORD=env-pass-4242", NULL};
    char err[512] = "";
    struct arena_config *cfg = load(good_yaml, env, err, sizeof(err));
    assert_non_null(cfg);
    ASSERT_EQ_INT(arena_config_set(cfg, "kafka.sasl.oauthbearer.client.secret=oauth-s3cr3t-77", err,
                                   sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_INT(arena_config_set(cfg, "kafka.sasl.username=alice-user", err, sizeof(err)),
                  ARENA_ERR_OK);
    ASSERT_EQ_STR(arena_config_kafka(cfg, "ssl.key.password"), "env-pass-4242");
    char *dump = arena_config_dump(cfg);
    const char *secrets[] = {"hunter2secret", "env-pass-4242", "oauth-s3cr3t-77"};
    for (size_t i = 0; i < 3; i++) {
        if (strstr(dump, secrets[i])) {
            fail_msg("dump shows %s", secrets[i]);
        }
        char *line = arena_xasprintf("error=\"bad value %s for kafka\"", secrets[i]);
        char *red = arena_log_redact(line);
        ASSERT_EQ_STR(red, "error=\"bad value [REDACTED] for kafka\"");
        free(red);
        free(line);
    }
    assert_non_null(strstr(dump, "\"ssl.key.password\": \"[REDACTED]\""));
    assert_non_null(strstr(dump, "\"sasl.username\": \"alice-user\""));
    free(dump);
    arena_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),   cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_set),        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_dump),       cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_curve_keys), cmocka_unit_test(test_kafka_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
