/* config.h - arena.yaml: one file for the whole fleet, every key declared in a table
 * (section, key, type, default, offset, help) in config.c.
 * Precedence: defaults < file < environment (ARENA_<SECTION>_<KEY>, upper-case) < --set
 * section.key=value on the command line. Unknown keys, bad types and bad values are errors
 * naming the key ("sampler.max_in_flight: expected an integer, got 'abc'").
 * `kafka:` keys are passed verbatim to librdkafka (ARENA_KAFKA_BOOTSTRAP_SERVERS ->
 * bootstrap.servers: underscores become dots).
 * `models:` is a list of {name, backend, ...}; environment overrides per model are
 * ARENA_MODELS_<NAME>_<KEY> with NAME upper-cased and non-alphanumerics as '_'.
 * The struct and everything in it is owned by the config; free with arena_config_destroy().
 * Not thread-safe while loading; read-only afterwards. */
#ifndef ARENA_CONFIG_H
#define ARENA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"

struct arena_strlist {
    char **v;
    size_t n;
};

/* Settings every service section has. */
struct arena_svc_cfg {
    char *http_listen;  /* ops HTTP "host:port" ("127.0.0.1:0" = ephemeral); "" = disabled */
    char *control;      /* ZeroMQ REP endpoint, e.g. "tcp://127.0.0.1:5601"; "" = disabled */
    char *state_dir;    /* RocksDB directory of this service */
    char *group_id;     /* Kafka consumer group */
    int64_t grace_ms;   /* SIGTERM grace period */
    int64_t batch_size; /* max messages consumed per loop iteration / WriteBatch */
};

struct arena_model_cfg {
    char *name;    /* unique, used in battles and leaderboards */
    char *backend; /* "sim" | "openai" | "replay" */
    /* sim */
    double skill;         /* latent quality on the 1-10 scale */
    double noise;         /* stddev of per-answer quality noise */
    double judge_noise;   /* stddev of score noise when judging */
    double position_bias; /* score bonus given to the answer shown first when judging */
    int64_t latency_ms;   /* simulated latency per call */
    uint64_t seed;
    /* openai */
    char *base_url; /* e.g. http://127.0.0.1:8000/v1 */
    char *model;    /* model name sent to the server ("" = name) */
    char *api_key_env;
    char *api_key_file;
    int64_t max_concurrency;
    int64_t timeout_ms;
    int64_t max_retries;
    double temperature;
    int64_t max_tokens;
    struct arena_strlist headers; /* "Name: value" */
    /* replay */
    char *answers;      /* Arena-Hard model_answer/<model>.jsonl file or directory */
    char *replay_model; /* model name inside the answer files ("" = name) */
};

struct arena_config {
    char *path; /* file loaded, or "" */
    char *log_level;

    /* kafka: verbatim librdkafka properties */
    struct arena_strlist kafka_keys;
    struct arena_strlist kafka_values;

    struct arena_model_cfg *models;
    size_t n_models;

    /* curve: optional CurveZMQ on every control socket (see arena/ctl.h). Paths of key files,
     * never keys: a service with server_secret_key_file set accepts only the client public keys
     * in authorized_keys_file; arenactl uses client_secret_key_file + server_public_key_file. */
    struct {
        char *server_secret_key_file;
        char *authorized_keys_file;
        char *client_secret_key_file;
        char *server_public_key_file;
    } curve;

    struct {
        struct arena_svc_cfg svc;
        char *mode;   /* "train" | "eval" | "adaptive" */
        char *target; /* model being trained */
        struct arena_strlist competitors;
        int64_t max_in_flight;
        int64_t max_battles; /* stop issuing new prompts once this many battles are issued; 0 = no
                                limit */
        int64_t round;
        int64_t samples_per_pair;
        int64_t min_length; /* drop prompts shorter than this (characters) */
        bool dedup_prefix;
        bool dedup_minhash;
        /* added by flywheel: every pipeline stage switchable, embeddings, rounds */
        int64_t prefix_tokens;
        int64_t shingle;
        int64_t permutations;
        int64_t bands;
        double jaccard;
        bool decontam;
        int64_t decontam_top_k;
        double decontam_threshold;
        char *language;   /* "any" | "en" (ASCII-ratio heuristic) */
        char *embeddings; /* "builtin" | name of a model with backend openai */
        int64_t rounds;   /* training pool split into D1..DN; 0 = no rounds (round = `round`) */
        char *split;      /* "hash" | "order" */
        char *anchor;     /* eval mode: every model against this one ("" = all pairs) */
        int64_t threads;  /* pipeline worker threads for the pure per-prompt work */
        /* added by adaptive: mode adaptive reads the rater's ZeroMQ rating feed */
        char *ratings_feed;         /* SUB endpoint = the rater's rater.publish ("" = none) */
        int64_t adaptive_pairs;     /* pairs per prompt; 0 = models - 1 */
        int64_t adaptive_min_games; /* a model with fewer games is unrated (maximal priority) */
        char *difficulty_model; /* scores prompt difficulty 0-10 for hard eval sets ("" = none) */
    } sampler;

    struct {
        struct arena_svc_cfg svc;
        int64_t max_in_flight; /* battles in progress at once */
        double temperature;
        int64_t max_tokens;
        bool cache;
        int64_t max_prompt_bytes; /* a longer prompt -> per-battle error, no model call */
        int64_t max_answer_bytes; /* a longer answer -> per-battle error */
    } generator;

    struct {
        struct arena_svc_cfg svc;
        char *model;
        char *template; /* "wizardarena" | "arena-hard" | "mt-bench-pair" | path to a template file
                         */
        double tie_margin;
        char *combine; /* "average" | "strict" */
        int64_t max_in_flight;
        int64_t parse_retries;
    } judge;

    struct {
        struct arena_svc_cfg svc;
        char *name; /* leaderboard name (key on arena.ratings) */
        char *method;
        double elo_k;
        int64_t bootstrap;
        uint64_t seed;
        char *anchor; /* "model=rating" or "" */
        int64_t every_battles;
        int64_t every_ms;
        int64_t threads;
        char *publish; /* ZeroMQ PUB endpoint of the rating feed ("" = disabled) */
    } rater;

    struct {
        struct arena_svc_cfg svc;
        double sft_min_gap;
        double dpo_min_gap;
        char *shard_dir;
        int64_t shard_size; /* rows per shard before it is cut */
        int64_t flush_ms;   /* cut a partial shard after this idle time */
        bool reward_pairs;
        char *compression; /* "" | "zstd" */
        /* added by flywheel: per-round thresholds, "3.0", "1.0" (last value repeats); empty =
         * sft_min_gap / dpo_min_gap for every round */
        struct arena_strlist sft_min_gap_by_round;
        struct arena_strlist dpo_min_gap_by_round;
    } curator;
};

/* Load defaults, then `path` (NULL = defaults only), then the environment.
 * NULL on error with errstr naming the key. */
struct arena_config *arena_config_load(const char *path, char *errstr, size_t errstr_size);
/* Parse YAML from memory (tests). `env` = NULL uses the process environment; otherwise a
 * NULL-terminated "KEY=VALUE" array. */
struct arena_config *arena_config_load_string(const char *yaml, size_t len, char *const *env,
                                              char *errstr, size_t errstr_size);
/* Apply "section.key=value" (command-line --set). */
arena_err_t arena_config_set(struct arena_config *cfg, const char *assignment, char *errstr,
                             size_t errstr_size);
/* Cross-key checks: models exist, target in models, thresholds >= 0 ... */
arena_err_t arena_config_validate(const struct arena_config *cfg, char *errstr, size_t errstr_size);
/* Effective config as YAML, secrets (sasl.password, ssl.key.password, api keys) redacted.
 * Caller frees. */
char *arena_config_dump(const struct arena_config *cfg);
void arena_config_destroy(struct arena_config *cfg);
/* Every declared key as a Markdown table (key, type, default, meaning), for --help-config and
 * the README. Caller frees. */
char *arena_config_reference(void);

const struct arena_model_cfg *arena_config_model(const struct arena_config *cfg, const char *name);
/* true for a kafka property whose value is a secret (sasl.password, ssl.key.pem, any name with
 * "password", "secret" or "key"): redacted in --print-config; its value is registered with
 * arena_log_add_secret() as soon as it is set, so logs and error strings never show it. */
bool arena_config_kafka_is_secret(const char *key);
/* Value of a kafka property or NULL. */
const char *arena_config_kafka(const struct arena_config *cfg, const char *key);
/* The service section of `service` ("sampler", ...) or NULL. */
const struct arena_svc_cfg *arena_config_svc(const struct arena_config *cfg, const char *service);

#endif
