/* config.c - arena.yaml loader driven by declared key tables (see config.h).
 * Every key lives in one table row {section, key, type, default, offset, min, help}; defaults,
 * YAML, environment and --set all go through the same typed setter, so a key added to the
 * table is parsed, overridable, dumped and freed without further code. */
#include "arena/config.h"

#include "arena/log.h"
#include "arena/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

extern char **environ;

enum cfg_type {
    CFG_STR,
    CFG_INT,
    CFG_U64,
    CFG_DOUBLE,
    CFG_BOOL,
    CFG_STRLIST,
};

struct cfg_key {
    const char *section; /* NULL for model keys */
    const char *key;
    enum cfg_type type;
    const char *def;
    size_t off;
    int64_t min; /* CFG_INT/CFG_U64 lower bound */
    const char *help;
};

#define NOMIN INT64_MIN
#define C(sec, k, t, d, field, mn, h)                                                              \
    {                                                                                              \
        sec, k, t, d, offsetof(struct arena_config, field), mn, h                                  \
    }
#define SVC_KEYS(sec)                                                                              \
    C(#sec, "http_listen", CFG_STR, "127.0.0.1:0", sec.svc.http_listen, NOMIN,                     \
      "ops HTTP host:port (\"\" = disabled)"),                                                     \
        C(#sec, "control", CFG_STR, "", sec.svc.control, NOMIN,                                    \
          "ZeroMQ REP control endpoint (\"\" = disabled)"),                                        \
        C(#sec, "state_dir", CFG_STR, "./state/" #sec, sec.svc.state_dir, NOMIN,                   \
          "RocksDB directory"),                                                                    \
        C(#sec, "group_id", CFG_STR, "arena-" #sec, sec.svc.group_id, NOMIN,                       \
          "Kafka consumer group"),                                                                 \
        C(#sec, "grace_ms", CFG_INT, "10000", sec.svc.grace_ms, 0, "SIGTERM grace period (ms)"),   \
        C(#sec, "batch_size", CFG_INT, "500", sec.svc.batch_size, 1,                               \
          "max messages per loop iteration")

static const struct cfg_key cfg_keys[] = {
    C(NULL, "log_level", CFG_STR, "info", log_level, NOMIN, "debug | info | warn | error"),
    C("curve", "server_secret_key_file", CFG_STR, "", curve.server_secret_key_file, NOMIN,
      "services: file with the control sockets' CURVE secret key, Z85 (\"\" = plaintext)"),
    C("curve", "authorized_keys_file", CFG_STR, "", curve.authorized_keys_file, NOMIN,
      "services: client public keys allowed in, one Z85 key a line, # comments"),
    C("curve", "client_secret_key_file", CFG_STR, "", curve.client_secret_key_file, NOMIN,
      "arenactl: file with its CURVE secret key, Z85 (\"\" = plaintext)"),
    C("curve", "server_public_key_file", CFG_STR, "", curve.server_public_key_file, NOMIN,
      "arenactl: file with the services' CURVE public key, Z85"),
    SVC_KEYS(sampler),
    C("sampler", "mode", CFG_STR, "train", sampler.mode, NOMIN, "train | eval | adaptive"),
    C("sampler", "target", CFG_STR, "", sampler.target, NOMIN, "model being trained"),
    C("sampler", "competitors", CFG_STRLIST, "", sampler.competitors, NOMIN, "competitor models"),
    C("sampler", "max_in_flight", CFG_INT, "2000", sampler.max_in_flight, 1,
      "battles issued and not yet judged"),
    C("sampler", "max_battles", CFG_INT, "0", sampler.max_battles, 0,
      "stop after this many battles (0 = no limit)"),
    C("sampler", "round", CFG_INT, "1", sampler.round, 0, "flywheel round"),
    C("sampler", "samples_per_pair", CFG_INT, "1", sampler.samples_per_pair, 1,
      "battles per pair and prompt"),
    C("sampler", "min_length", CFG_INT, "10", sampler.min_length, 0,
      "drop prompts shorter than this"),
    C("sampler", "dedup_prefix", CFG_BOOL, "true", sampler.dedup_prefix, NOMIN,
      "drop same-prefix duplicates"),
    C("sampler", "dedup_minhash", CFG_BOOL, "true", sampler.dedup_minhash, NOMIN,
      "drop MinHash-LSH near duplicates"),
    C("sampler", "prefix_tokens", CFG_INT, "10", sampler.prefix_tokens, 1,
      "prefix dedup: leading whitespace tokens compared"),
    C("sampler", "shingle", CFG_INT, "5", sampler.shingle, 1, "MinHash shingle (characters)"),
    C("sampler", "permutations", CFG_INT, "128", sampler.permutations, 1, "MinHash permutations"),
    C("sampler", "bands", CFG_INT, "32", sampler.bands, 1, "MinHash-LSH bands"),
    C("sampler", "jaccard", CFG_DOUBLE, "0.6", sampler.jaccard, NOMIN,
      "near-duplicate estimated Jaccard threshold"),
    C("sampler", "decontam", CFG_BOOL, "true", sampler.decontam, NOMIN,
      "drop training prompts matching an eval item"),
    C("sampler", "decontam_top_k", CFG_INT, "5", sampler.decontam_top_k, 0,
      "decontamination: nearest candidates dropped per eval item"),
    C("sampler", "decontam_threshold", CFG_DOUBLE, "0.4", sampler.decontam_threshold, NOMIN,
      "decontamination: cosine threshold"),
    C("sampler", "language", CFG_STR, "any", sampler.language, NOMIN,
      "any | en (ASCII-ratio heuristic)"),
    C("sampler", "embeddings", CFG_STR, "builtin", sampler.embeddings, NOMIN,
      "builtin | name of a model with backend openai"),
    C("sampler", "rounds", CFG_INT, "0", sampler.rounds, 0,
      "training pool split into D1..DN (0 = no rounds)"),
    C("sampler", "split", CFG_STR, "hash", sampler.split, NOMIN, "hash | order"),
    C("sampler", "anchor", CFG_STR, "", sampler.anchor, NOMIN,
      "eval mode: every model against this model (\"\" = all pairs)"),
    C("sampler", "threads", CFG_INT, "2", sampler.threads, 1,
      "pipeline worker threads (per-prompt work)"),
    C("sampler", "ratings_feed", CFG_STR, "", sampler.ratings_feed, NOMIN,
      "adaptive mode: the rater's rating feed (its rater.publish endpoint)"),
    C("sampler", "adaptive_pairs", CFG_INT, "0", sampler.adaptive_pairs, 0,
      "adaptive mode: pairs per prompt (0 = models - 1)"),
    C("sampler", "adaptive_min_games", CFG_INT, "20", sampler.adaptive_min_games, 0,
      "adaptive mode: models with fewer games get maximal priority"),
    C("sampler", "difficulty_model", CFG_STR, "", sampler.difficulty_model, NOMIN,
      "model scoring prompt difficulty 0-10 for hard eval sets (\"\" = supplied field only)"),
    SVC_KEYS(generator),
    C("generator", "max_in_flight", CFG_INT, "1024", generator.max_in_flight, 1,
      "battles in progress at once"),
    C("generator", "temperature", CFG_DOUBLE, "0.7", generator.temperature, NOMIN,
      "sampling temperature"),
    C("generator", "max_tokens", CFG_INT, "1024", generator.max_tokens, 0, "max answer tokens"),
    C("generator", "cache", CFG_BOOL, "true", generator.cache, NOMIN, "response cache"),
    C("generator", "max_prompt_bytes", CFG_INT, "1048576", generator.max_prompt_bytes, 1,
      "longest prompt (bytes of all messages); longer = per-battle error"),
    C("generator", "max_answer_bytes", CFG_INT, "1048576", generator.max_answer_bytes, 1,
      "longest answer (bytes); longer = per-battle error"),
    SVC_KEYS(judge),
    C("judge", "model", CFG_STR, "", judge.model, NOMIN, "judge model"),
    C("judge", "template", CFG_STR, "wizardarena", judge.template, NOMIN,
      "wizardarena | arena-hard | mt-bench-pair | template file"),
    C("judge", "tie_margin", CFG_DOUBLE, "1.0", judge.tie_margin, NOMIN,
      "tie when the averaged gap is below this"),
    C("judge", "combine", CFG_STR, "average", judge.combine, NOMIN, "average | strict"),
    C("judge", "max_in_flight", CFG_INT, "1024", judge.max_in_flight, 1, "judge calls at once"),
    C("judge", "parse_retries", CFG_INT, "1", judge.parse_retries, 0,
      "retries of unparseable output"),
    SVC_KEYS(rater),
    C("rater", "name", CFG_STR, "wizardarena", rater.name, NOMIN, "leaderboard name"),
    C("rater", "method", CFG_STR, "bt", rater.method, NOMIN, "bt | elo"),
    C("rater", "elo_k", CFG_DOUBLE, "4", rater.elo_k, NOMIN, "online Elo K"),
    C("rater", "bootstrap", CFG_INT, "100", rater.bootstrap, 0, "bootstrap rounds"),
    C("rater", "seed", CFG_U64, "42", rater.seed, 0, "bootstrap seed"),
    C("rater", "anchor", CFG_STR, "", rater.anchor, NOMIN, "model=rating or \"\""),
    C("rater", "every_battles", CFG_INT, "500", rater.every_battles, 0, "publish every N battles"),
    C("rater", "every_ms", CFG_INT, "2000", rater.every_ms, 0, "publish every T ms"),
    C("rater", "threads", CFG_INT, "2", rater.threads, 1, "bootstrap threads"),
    C("rater", "publish", CFG_STR, "", rater.publish, NOMIN,
      "ZeroMQ PUB endpoint of the rating feed (\"\" = disabled)"),
    SVC_KEYS(curator),
    C("curator", "sft_min_gap", CFG_DOUBLE, "3.0", curator.sft_min_gap, NOMIN,
      "score gap for an SFT example"),
    C("curator", "dpo_min_gap", CFG_DOUBLE, "2.0", curator.dpo_min_gap, NOMIN,
      "score gap for a DPO pair"),
    C("curator", "shard_dir", CFG_STR, "./shards", curator.shard_dir, NOMIN, "shard directory"),
    C("curator", "shard_size", CFG_INT, "1000", curator.shard_size, 1, "rows per shard"),
    C("curator", "flush_ms", CFG_INT, "0", curator.flush_ms, 0,
      "cut idle partial shards after this (0 = never: deterministic boundaries)"),
    C("curator", "reward_pairs", CFG_BOOL, "true", curator.reward_pairs, NOMIN,
      "publish reward-model pairs"),
    C("curator", "compression", CFG_STR, "", curator.compression, NOMIN, "\"\" | zstd"),
    C("curator", "sft_min_gap_by_round", CFG_STRLIST, "", curator.sft_min_gap_by_round, NOMIN,
      "SFT gap per round, last repeats (empty = sft_min_gap)"),
    C("curator", "dpo_min_gap_by_round", CFG_STRLIST, "", curator.dpo_min_gap_by_round, NOMIN,
      "DPO gap per round, last repeats (empty = dpo_min_gap)"),
};
#undef C

#define M(k, t, d, field, mn, h)                                                                   \
    {                                                                                              \
        NULL, k, t, d, offsetof(struct arena_model_cfg, field), mn, h                              \
    }
static const struct cfg_key model_keys[] = {
    M("name", CFG_STR, "", name, NOMIN, "unique model name"),
    M("backend", CFG_STR, "sim", backend, NOMIN, "sim | openai | replay"),
    M("skill", CFG_DOUBLE, "5", skill, NOMIN, "sim: latent quality 1-10"),
    M("noise", CFG_DOUBLE, "1.0", noise, NOMIN, "sim: answer quality noise"),
    M("judge_noise", CFG_DOUBLE, "0.5", judge_noise, NOMIN, "sim: judging noise"),
    M("position_bias", CFG_DOUBLE, "0.3", position_bias, NOMIN, "sim: first-position bonus"),
    M("latency_ms", CFG_INT, "0", latency_ms, 0, "sim: latency per call"),
    M("seed", CFG_U64, "1", seed, 0, "sim: seed"),
    M("base_url", CFG_STR, "", base_url, NOMIN, "openai: server base URL"),
    M("model", CFG_STR, "", model, NOMIN, "openai: model name sent (\"\" = name)"),
    M("api_key_env", CFG_STR, "", api_key_env, NOMIN, "openai: env var holding the key"),
    M("api_key_file", CFG_STR, "", api_key_file, NOMIN, "openai: file holding the key"),
    M("max_concurrency", CFG_INT, "64", max_concurrency, 1, "calls in flight"),
    M("timeout_ms", CFG_INT, "60000", timeout_ms, 1, "per-request timeout"),
    M("max_retries", CFG_INT, "4", max_retries, 0, "retries of transient failures"),
    M("temperature", CFG_DOUBLE, "-1", temperature, NOMIN, "-1 = request default"),
    M("max_tokens", CFG_INT, "0", max_tokens, 0, "0 = request default"),
    M("headers", CFG_STRLIST, "", headers, NOMIN, "extra HTTP headers \"Name: value\""),
    M("answers", CFG_STR, "", answers, NOMIN, "replay: answer file or directory"),
    M("replay_model", CFG_STR, "", replay_model, NOMIN, "replay: model in the answer files"),
};
#undef M

static const char *const sections[] = {"curve", "sampler", "generator",
                                       "judge", "rater",   "curator"};
#define N_CFG_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))
#define N_MODEL_KEYS (sizeof(model_keys) / sizeof(model_keys[0]))
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

/* ---- small helpers -------------------------------------------------------------------------- */

static void strlist_clear(struct arena_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void strlist_push(struct arena_strlist *l, const char *s, size_t n)
{
    l->v = arena_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = arena_xstrndup(s, n);
}

/* comma-separated, items trimmed, empty items dropped */
static void strlist_from_csv(struct arena_strlist *l, const char *s)
{
    strlist_clear(l);
    while (*s) {
        const char *end = strchr(s, ',');
        if (!end) {
            end = s + strlen(s);
        }
        const char *a = s, *b = end;
        while (a < b && isspace((unsigned char)*a)) {
            a++;
        }
        while (b > a && isspace((unsigned char)b[-1])) {
            b--;
        }
        if (b > a) {
            strlist_push(l, a, (size_t)(b - a));
        }
        s = *end ? end + 1 : end;
    }
}

/* value shortened for error messages */
static const char *shorten(const char *v, char *tmp, size_t tmpn)
{
    size_t n = strlen(v);
    if (n < tmpn) {
        return v;
    }
    snprintf(tmp, tmpn, "%.*s...", (int)(tmpn - 4), v);
    return tmp;
}

/* per type: its name in the reference table, and what an error says was expected */
static const struct {
    const char *name;
    const char *what;
} cfg_types[] = {
    [CFG_STR] = {"string", "a string"},
    [CFG_INT] = {"int", "an integer"},
    [CFG_U64] = {"uint64", "a non-negative integer"},
    [CFG_DOUBLE] = {"number", "a number"},
    [CFG_BOOL] = {"bool", "a boolean (true/false)"},
    [CFG_STRLIST] = {"list", "a list of strings"},
};

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Set one typed field from its text form. `name` is "section.key", `where` "line 3" etc. */
static arena_err_t set_field(void *base, const struct cfg_key *k, const char *name,
                             const char *where, const char *v, char *errstr, size_t errstr_size)
{
    char *p = (char *)base + k->off;
    char tmp[80];
    char *end = NULL;
    switch (k->type) {
    case CFG_STR: {
        char **sp = (char **)(void *)p;
        free(*sp);
        *sp = arena_xstrdup(v);
        return ARENA_ERR_OK;
    }
    case CFG_STRLIST:
        strlist_from_csv((struct arena_strlist *)(void *)p, v);
        return ARENA_ERR_OK;
    case CFG_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno == ERANGE || isspace((unsigned char)*v)) {
            goto bad;
        }
        if (k->min != NOMIN && x < k->min) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "%s (%s): must be >= %lld, got %lld", name, where,
                                 (long long)k->min, x);
        }
        *(int64_t *)(void *)p = (int64_t)x;
        return ARENA_ERR_OK;
    }
    case CFG_U64: {
        errno = 0;
        if (!*v || *v == '-' || isspace((unsigned char)*v)) {
            goto bad;
        }
        unsigned long long x = strtoull(v, &end, 10);
        if (*end || errno == ERANGE) {
            goto bad;
        }
        *(uint64_t *)(void *)p = (uint64_t)x;
        return ARENA_ERR_OK;
    }
    case CFG_DOUBLE: {
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno == ERANGE || !isfinite(x) || isspace((unsigned char)*v)) {
            goto bad;
        }
        *(double *)(void *)p = x;
        return ARENA_ERR_OK;
    }
    case CFG_BOOL: {
        bool b;
        if (parse_bool(v, &b) != 0) {
            goto bad;
        }
        *(bool *)(void *)p = b;
        return ARENA_ERR_OK;
    }
    }
bad:
    return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "%s (%s): expected %s, got '%s'",
                         name, where, cfg_types[k->type].what, shorten(v, tmp, sizeof(tmp)));
}

static void free_fields(void *base, const struct cfg_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *p = (char *)base + keys[i].off;
        if (keys[i].type == CFG_STR) {
            free(*(char **)(void *)p);
            *(char **)(void *)p = NULL;
        } else if (keys[i].type == CFG_STRLIST) {
            strlist_clear((struct arena_strlist *)(void *)p);
        }
    }
}

static void set_defaults(void *base, const struct cfg_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        arena_err_t rc = set_field(base, &keys[i], keys[i].key, "default", keys[i].def, NULL, 0);
        (void)rc; /* defaults are valid by construction (unit-tested) */
    }
}

static const struct cfg_key *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < N_CFG_KEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        bool same_sec = (!section && !k->section) ||
                        (section && k->section && strcmp(section, k->section) == 0);
        if (same_sec && strcmp(k->key, key) == 0) {
            return k;
        }
    }
    return NULL;
}

static const struct cfg_key *find_model_key(const char *key)
{
    for (size_t i = 0; i < N_MODEL_KEYS; i++) {
        if (strcmp(model_keys[i].key, key) == 0) {
            return &model_keys[i];
        }
    }
    return NULL;
}

static bool is_section(const char *s)
{
    for (size_t i = 0; i < N_SECTIONS; i++) {
        if (strcmp(sections[i], s) == 0) {
            return true;
        }
    }
    return false;
}

bool arena_config_kafka_is_secret(const char *key)
{
    static const char *const words[] = {"password", "secret", "key", "sasl.oauthbearer.config"};
    for (size_t i = 0; key && i < sizeof(words) / sizeof(words[0]); i++) {
        if (strstr(key, words[i])) {
            return true;
        }
    }
    return false;
}

/* librdkafka property names: lower-case letters, digits, '.', '_' and '-', at most 128 */
#define KAFKA_NAME_MAX 128
static bool kafka_name_ok(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > KAFKA_NAME_MAX) {
        return false;
    }
    for (const char *p = key; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-' || (*p >= 'A' && *p <= 'Z'))) {
            return false;
        }
    }
    return true;
}

static void kafka_set(struct arena_config *cfg, const char *key, const char *value)
{
    if (arena_config_kafka_is_secret(key)) {
        arena_log_add_secret(value); /* before it can reach any log line or error string */
    }
    for (size_t i = 0; i < cfg->kafka_keys.n; i++) {
        if (strcmp(cfg->kafka_keys.v[i], key) == 0) {
            free(cfg->kafka_values.v[i]);
            cfg->kafka_values.v[i] = arena_xstrdup(value);
            return;
        }
    }
    strlist_push(&cfg->kafka_keys, key, strlen(key));
    strlist_push(&cfg->kafka_values, value, strlen(value));
}

static struct arena_model_cfg *model_add(struct arena_config *cfg)
{
    cfg->models = arena_xrealloc(cfg->models, (cfg->n_models + 1) * sizeof(*cfg->models));
    struct arena_model_cfg *m = &cfg->models[cfg->n_models++];
    memset(m, 0, sizeof(*m));
    set_defaults(m, model_keys, N_MODEL_KEYS);
    return m;
}

static struct arena_config *config_new(void)
{
    struct arena_config *cfg = arena_xcalloc(1, sizeof(*cfg));
    cfg->path = arena_xstrdup("");
    set_defaults(cfg, cfg_keys, N_CFG_KEYS);
    return cfg;
}

void arena_config_destroy(struct arena_config *cfg)
{
    if (!cfg) {
        return;
    }
    free_fields(cfg, cfg_keys, N_CFG_KEYS);
    for (size_t i = 0; i < cfg->n_models; i++) {
        free_fields(&cfg->models[i], model_keys, N_MODEL_KEYS);
    }
    free(cfg->models);
    strlist_clear(&cfg->kafka_keys);
    strlist_clear(&cfg->kafka_values);
    free(cfg->path);
    free(cfg);
}

/* ---- YAML ----------------------------------------------------------------------------------- */

struct yctx {
    yaml_document_t *doc;
    struct arena_config *cfg;
    char *errstr;
    size_t errstr_size;
};

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

/* true for `~`, `null` and an empty plain scalar */
static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return false;
    }
    const char *v = scalar(n);
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

/* One pair of a mapping: its key must be a scalar, unique in the mapping. Fills *kn_out and
 * *vn_out (the value may be NULL). */
static arena_err_t map_pair(struct yctx *y, yaml_node_t *map, yaml_node_pair_t *pair,
                            const char *prefix, yaml_node_t **kn_out, yaml_node_t **vn_out)
{
    yaml_node_t *kn = yaml_document_get_node(y->doc, pair->key);
    *kn_out = kn;
    *vn_out = yaml_document_get_node(y->doc, pair->value);
    if (!kn || kn->type != YAML_SCALAR_NODE) {
        return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                             "%s (line %d): keys must be scalars", prefix[0] ? prefix : "top level",
                             kn ? line_of(kn) : 0);
    }
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        yaml_node_t *qk = yaml_document_get_node(y->doc, q->key);
        if (qk && qk->type == YAML_SCALAR_NODE && strcmp(scalar(qk), scalar(kn)) == 0) {
            return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                 "duplicate key '%s%s%s' (line %d)", prefix, prefix[0] ? "." : "",
                                 scalar(kn), line_of(kn));
        }
    }
    return ARENA_ERR_OK;
}

/* Apply a YAML value node to a typed field. */
static arena_err_t apply_node(struct yctx *y, void *base, const struct cfg_key *k, const char *name,
                              yaml_node_t *vn)
{
    char where[32];
    snprintf(where, sizeof(where), "line %d", line_of(vn));
    if (k->type == CFG_STRLIST && vn->type == YAML_SEQUENCE_NODE) {
        struct arena_strlist *l = (struct arena_strlist *)(void *)((char *)base + k->off);
        strlist_clear(l);
        for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top;
             it++) {
            yaml_node_t *in = yaml_document_get_node(y->doc, *it);
            if (!in || in->type != YAML_SCALAR_NODE) {
                return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                     "%s (line %d): list items must be strings, got %s", name,
                                     in ? line_of(in) : line_of(vn),
                                     in ? node_kind(in) : "nothing");
            }
            strlist_push(l, scalar(in), strlen(scalar(in)));
        }
        return ARENA_ERR_OK;
    }
    if (vn->type != YAML_SCALAR_NODE) {
        return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                             "%s (%s): expected %s, got %s", name, where, cfg_types[k->type].what,
                             node_kind(vn));
    }
    const char *v = scalar(vn);
    if (is_null(vn)) {
        if (k->type == CFG_STR || k->type == CFG_STRLIST) {
            v = "";
        } else {
            return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                 "%s (%s): expected %s, got an empty value", name, where,
                                 cfg_types[k->type].what);
        }
    }
    return set_field(base, k, name, where, v, y->errstr, y->errstr_size);
}

/* A section's node: null (nothing to load, *skip) or of `type`; else an error
 * "<what> (line N): expected <expected>, got <kind>". */
static arena_err_t section_node(struct yctx *y, yaml_node_t *n, yaml_node_type_t type,
                                const char *what, const char *expected, bool *skip)
{
    *skip = !n || is_null(n);
    if (*skip || n->type == type) {
        return ARENA_ERR_OK;
    }
    return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                         "%s (line %d): expected %s, got %s", what, line_of(n), expected,
                         node_kind(n));
}

static arena_err_t load_section(struct yctx *y, const char *sec, yaml_node_t *map)
{
    bool skip;
    arena_err_t err = section_node(y, map, YAML_MAPPING_NODE, sec, "a mapping", &skip);
    if (err || skip) {
        return err;
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *kn, *vn;
        arena_err_t rc = map_pair(y, map, pr, sec, &kn, &vn);
        if (rc) {
            return rc;
        }
        char name[256];
        snprintf(name, sizeof(name), "%s.%s", sec, scalar(kn));
        const struct cfg_key *k = find_key(sec, scalar(kn));
        if (!k) {
            return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                 "unknown key '%s' (line %d)", name, line_of(kn));
        }
        rc = apply_node(y, y->cfg, k, name, vn);
        if (rc) {
            return rc;
        }
    }
    return ARENA_ERR_OK;
}

static arena_err_t load_kafka(struct yctx *y, yaml_node_t *map)
{
    bool skip;
    arena_err_t err = section_node(y, map, YAML_MAPPING_NODE, "kafka",
                                   "a mapping of librdkafka properties", &skip);
    if (err || skip) {
        return err;
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *kn, *vn;
        arena_err_t rc = map_pair(y, map, pr, "kafka", &kn, &vn);
        if (rc) {
            return rc;
        }
        if (!*scalar(kn)) {
            return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                 "kafka (line %d): empty property name", line_of(kn));
        }
        if (!kafka_name_ok(scalar(kn))) {
            return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                 "kafka (line %d): '%.40s' is not a librdkafka property name "
                                 "(letters, digits, '.', '_', '-'; at most %d)",
                                 line_of(kn), scalar(kn), KAFKA_NAME_MAX);
        }
        if (!vn || vn->type != YAML_SCALAR_NODE) {
            return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                 "kafka.%s (line %d): expected a scalar value, got %s", scalar(kn),
                                 line_of(kn), vn ? node_kind(vn) : "nothing");
        }
        kafka_set(y->cfg, scalar(kn), is_null(vn) ? "" : scalar(vn));
    }
    return ARENA_ERR_OK;
}

static arena_err_t load_models(struct yctx *y, yaml_node_t *seq)
{
    bool skip;
    arena_err_t err = section_node(y, seq, YAML_SEQUENCE_NODE, "models", "a list of models", &skip);
    if (err || skip) {
        return err;
    }
    size_t idx = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++, idx++) {
        yaml_node_t *mn = yaml_document_get_node(y->doc, *it);
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "models[%zu]", idx);
        if (!mn || mn->type != YAML_MAPPING_NODE) {
            return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                 "%s (line %d): expected a mapping {name, backend, ...}, got %s",
                                 prefix, mn ? line_of(mn) : line_of(seq),
                                 mn ? node_kind(mn) : "nothing");
        }
        struct arena_model_cfg *m = model_add(y->cfg);
        for (yaml_node_pair_t *pr = mn->data.mapping.pairs.start; pr < mn->data.mapping.pairs.top;
             pr++) {
            yaml_node_t *kn, *vn;
            arena_err_t rc = map_pair(y, mn, pr, prefix, &kn, &vn);
            if (rc) {
                return rc;
            }
            char name[256];
            snprintf(name, sizeof(name), "%s.%s", prefix, scalar(kn));
            const struct cfg_key *k = find_model_key(scalar(kn));
            if (!k) {
                if (strcmp(scalar(kn), "api_key") == 0) {
                    return arena_err_set(
                        y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                        "%s (line %d): API keys are never stored in the config: use api_key_env "
                        "(environment variable name) or api_key_file",
                        name, line_of(kn));
                }
                return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                     "unknown key '%s' (line %d)", name, line_of(kn));
            }
            rc = apply_node(y, m, k, name, vn);
            if (rc) {
                return rc;
            }
        }
        if (!m->name || !*m->name) {
            return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                 "%s (line %d): missing name", prefix, line_of(mn));
        }
        for (size_t j = 0; j + 1 < y->cfg->n_models; j++) {
            if (strcmp(y->cfg->models[j].name, m->name) == 0) {
                return arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                                     "%s (line %d): duplicate model name '%s' (also models[%zu])",
                                     prefix, line_of(mn), m->name, j);
            }
        }
    }
    return ARENA_ERR_OK;
}

static arena_err_t load_doc(struct yctx *y)
{
    yaml_node_t *root = yaml_document_get_root_node(y->doc);
    bool skip; /* an empty file: defaults */
    arena_err_t err =
        section_node(y, root, YAML_MAPPING_NODE, "top level", "a mapping of sections", &skip);
    if (err || skip) {
        return err;
    }
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *kn, *vn;
        arena_err_t rc = map_pair(y, root, pr, "", &kn, &vn);
        if (rc) {
            return rc;
        }
        const char *key = scalar(kn);
        if (strcmp(key, "kafka") == 0) {
            rc = load_kafka(y, vn);
        } else if (strcmp(key, "models") == 0) {
            rc = load_models(y, vn);
        } else if (is_section(key)) {
            rc = load_section(y, key, vn);
        } else if (find_key(NULL, key)) {
            rc = apply_node(y, y->cfg, find_key(NULL, key), key, vn);
        } else {
            rc = arena_err_set(y->errstr, y->errstr_size, ARENA_ERR_CONFIG,
                               "unknown key '%s' (line %d)", key, line_of(kn));
        }
        if (rc) {
            return rc;
        }
    }
    return ARENA_ERR_OK;
}

static arena_err_t parse_yaml(struct arena_config *cfg, const char *yaml, size_t len, char *errstr,
                              size_t errstr_size)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    arena_err_t rc = ARENA_ERR_OK;
    if (!yaml_parser_initialize(&parser)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "YAML parser init failed");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        const yaml_mark_t *mk =
            parser.problem_mark.line || parser.problem_mark.column || !parser.context
                ? &parser.problem_mark
                : &parser.context_mark;
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                           "bad YAML at line %d column %d: %s%s%s", (int)mk->line + 1,
                           (int)mk->column + 1, parser.problem ? parser.problem : "syntax error",
                           parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    struct yctx y = {&doc, cfg, errstr, errstr_size};
    rc = load_doc(&y);
    yaml_document_delete(&doc);
    if (rc == ARENA_ERR_OK) {
        /* a second document would be silently ignored: refuse it */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = arena_err_set(
                errstr, errstr_size, ARENA_ERR_CONFIG, "bad YAML at line %d column %d: %s",
                (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
                parser.problem ? parser.problem : "syntax error");
        } else {
            yaml_node_t *root = yaml_document_get_root_node(&next);
            if (root) {
                rc = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                   "line %d: a second YAML document; the config must be one "
                                   "document",
                                   (int)next.start_mark.line + 1);
            }
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- environment ---------------------------------------------------------------------------- */

static void upper_ident(const char *in, char *out, size_t outn)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < outn; i++) {
        unsigned char c = (unsigned char)in[i];
        out[j++] = isalnum(c) ? (char)toupper(c) : '_';
    }
    out[j] = '\0';
}

static void lower_copy(const char *in, char *out, size_t outn)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < outn; i++) {
        out[j++] = (char)tolower((unsigned char)in[i]);
    }
    out[j] = '\0';
}

/* ---- setting one key by name (environment and --set) ---------------------------------------- */

/* `key` of section `sec` (NULL = top level); an unknown key is an error naming it and `where`. */
static arena_err_t set_section_key(struct arena_config *cfg, const char *sec, const char *key,
                                   const char *where, const char *val, char *errstr,
                                   size_t errstr_size)
{
    char name[300];
    snprintf(name, sizeof(name), "%s%s%s", sec ? sec : "", sec ? "." : "", key);
    const struct cfg_key *k = !sec || is_section(sec) ? find_key(sec, key) : NULL;
    if (!k) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "unknown key '%s' (%s)", name,
                             where);
    }
    return set_field(cfg, k, name, where, val, errstr, errstr_size);
}

/* A settable model key (every model key but its name), or NULL. */
static const struct cfg_key *model_settable_key(const char *key)
{
    const struct cfg_key *k = find_model_key(key);
    return k && strcmp(k->key, "name") != 0 ? k : NULL;
}

/* `key` of model m; an unknown key is an error naming models.<name>.<key> and `where`. */
static arena_err_t set_model_key(struct arena_model_cfg *m, const char *key, const char *where,
                                 const char *val, char *errstr, size_t errstr_size)
{
    char name[512];
    snprintf(name, sizeof(name), "models.%s.%s", m->name, key);
    const struct cfg_key *k = model_settable_key(key);
    if (!k) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "unknown key '%s' (%s)", name,
                             where);
    }
    return set_field(m, k, name, where, val, errstr, errstr_size);
}

static arena_err_t apply_env_var(struct arena_config *cfg, const char *var, const char *val,
                                 char *errstr, size_t errstr_size)
{
    char where[300], low[256];
    snprintf(where, sizeof(where), "env %s", var);
    if (strncmp(var, "ARENA_", 6) != 0) {
        return ARENA_ERR_OK;
    }
    const char *rest = var + 6;
    if (strcmp(rest, "LOG_LEVEL") == 0) {
        return set_section_key(cfg, NULL, "log_level", where, val, errstr, errstr_size);
    }
    if (strncmp(rest, "KAFKA_", 6) == 0 && rest[6]) {
        lower_copy(rest + 6, low, sizeof(low));
        for (char *p = low; *p; p++) {
            if (*p == '_') {
                *p = '.';
            }
        }
        kafka_set(cfg, low, val);
        return ARENA_ERR_OK;
    }
    if (strncmp(rest, "MODELS_", 7) == 0) {
        /* names may hold '_' themselves: the first model whose name and key both match */
        const char *mrest = rest + 7;
        for (size_t i = 0; i < cfg->n_models; i++) {
            char up[256];
            upper_ident(cfg->models[i].name, up, sizeof(up));
            size_t ul = strlen(up);
            if (strncmp(mrest, up, ul) == 0 && mrest[ul] == '_' && mrest[ul + 1]) {
                lower_copy(mrest + ul + 1, low, sizeof(low));
                if (model_settable_key(low)) {
                    return set_model_key(&cfg->models[i], low, where, val, errstr, errstr_size);
                }
            }
        }
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "%s: no configured model and model key match (expected "
                             "ARENA_MODELS_<NAME>_<KEY>)",
                             var);
    }
    for (size_t s = 0; s < N_SECTIONS; s++) {
        char up[32];
        upper_ident(sections[s], up, sizeof(up));
        size_t ul = strlen(up);
        if (strncmp(rest, up, ul) == 0 && rest[ul] == '_') {
            lower_copy(rest + ul + 1, low, sizeof(low));
            return set_section_key(cfg, sections[s], low, where, val, errstr, errstr_size);
        }
    }
    return ARENA_ERR_OK; /* other ARENA_* variables (test harness, tools) are not config */
}

static arena_err_t apply_env(struct arena_config *cfg, char *const *env, char *errstr,
                             size_t errstr_size)
{
    char *const *e = env ? env : environ;
    for (; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || strncmp(*e, "ARENA_", 6) != 0) {
            continue;
        }
        char var[256];
        size_t vl = (size_t)(eq - *e);
        if (vl >= sizeof(var)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "environment variable name too long: %.40s...", *e);
        }
        memcpy(var, *e, vl);
        var[vl] = '\0';
        arena_err_t rc = apply_env_var(cfg, var, eq + 1, errstr, errstr_size);
        if (rc) {
            return rc;
        }
    }
    return ARENA_ERR_OK;
}

/* ---- public --------------------------------------------------------------------------------- */

struct arena_config *arena_config_load_string(const char *yaml, size_t len, char *const *env,
                                              char *errstr, size_t errstr_size)
{
    struct arena_config *cfg = config_new();
    if (yaml && len > 0 && parse_yaml(cfg, yaml, len, errstr, errstr_size) != ARENA_ERR_OK) {
        arena_config_destroy(cfg);
        return NULL;
    }
    if (apply_env(cfg, env, errstr, errstr_size) != ARENA_ERR_OK) {
        arena_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

struct arena_config *arena_config_load(const char *path, char *errstr, size_t errstr_size)
{
    if (!path) {
        return arena_config_load_string(NULL, 0, NULL, errstr, errstr_size);
    }
    char err[512];
    size_t len = 0;
    char *text = arena_read_file(path, &len, err, sizeof(err));
    if (!text) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "config: %s", err);
        return NULL;
    }
    struct arena_config *cfg = arena_config_load_string(text, len, NULL, err, sizeof(err));
    free(text);
    if (!cfg) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "%s: %s", path, err);
        return NULL;
    }
    free(cfg->path);
    cfg->path = arena_xstrdup(path);
    return cfg;
}

arena_err_t arena_config_set(struct arena_config *cfg, const char *assignment, char *errstr,
                             size_t errstr_size)
{
    if (!cfg || !assignment) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "--set: no assignment");
    }
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "--set '%s': expected section.key=value", assignment);
    }
    char *path = arena_xstrndup(assignment, (size_t)(eq - assignment));
    const char *val = eq + 1;
    arena_err_t rc;
    char *dot = strchr(path, '.');
    if (!dot) {
        rc = set_section_key(cfg, NULL, path, "--set", val, errstr, errstr_size);
        goto out;
    }
    *dot = '\0';
    const char *sec = path, *key = dot + 1;
    if (strcmp(sec, "kafka") == 0) {
        if (!*key) {
            rc = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                               "--set kafka.: empty property name");
            goto out;
        }
        if (!kafka_name_ok(key)) {
            rc = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                               "--set kafka.%.40s: not a librdkafka property name (letters, "
                               "digits, '.', '_', '-'; at most %d)",
                               key, KAFKA_NAME_MAX);
            goto out;
        }
        kafka_set(cfg, key, val);
        rc = ARENA_ERR_OK;
        goto out;
    }
    if (strcmp(sec, "models") == 0) {
        /* models.<name>.<key>: the name may itself contain dots, the key cannot */
        char *kdot = strrchr(dot + 1, '.');
        if (!kdot) {
            rc = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                               "--set '%s': expected models.<name>.<key>=value", assignment);
            goto out;
        }
        *kdot = '\0';
        /* cfg is ours to change: the lookup is shared with the const public accessor */
        struct arena_model_cfg *m = (struct arena_model_cfg *)arena_config_model(cfg, dot + 1);
        rc = m ? set_model_key(m, kdot + 1, "--set", val, errstr, errstr_size)
               : arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                               "models.%s.%s (--set): no model named '%s'", dot + 1, kdot + 1,
                               dot + 1);
        goto out;
    }
    rc = set_section_key(cfg, sec, key, "--set", val, errstr, errstr_size);
out:
    free(path);
    return rc;
}

static bool one_of(const char *v, const char *const *set)
{
    for (; *set; set++) {
        if (strcmp(v, *set) == 0) {
            return true;
        }
    }
    return false;
}

/* sampler pipeline/rounds keys and the curator's per-round gaps (flywheel) */
static arena_err_t validate_gap_list(const struct arena_strlist *l, const char *key, char *errstr,
                                     size_t errstr_size)
{
    for (size_t i = 0; i < l->n; i++) {
        char *end = NULL;
        double v = strtod(l->v[i], &end);
        if (end == l->v[i] || *end || !(v >= 0) || !isfinite(v)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "%s: item %zu: expected a number >= 0, got '%s'", key, i + 1,
                                 l->v[i]);
        }
    }
    return ARENA_ERR_OK;
}

static arena_err_t validate_flywheel(const struct arena_config *cfg, char *errstr,
                                     size_t errstr_size)
{
    static const char *const langs[] = {"any", "en", NULL};
    static const char *const splits[] = {"hash", "order", NULL};
    const struct arena_config *c = cfg;
    if (!one_of(c->sampler.language, langs)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "sampler.language: expected any|en, got '%s'", c->sampler.language);
    }
    if (!one_of(c->sampler.split, splits)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "sampler.split: expected hash|order, got '%s'", c->sampler.split);
    }
    if (!(c->sampler.jaccard > 0 && c->sampler.jaccard <= 1)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "sampler.jaccard: must be in (0, 1], got %g", c->sampler.jaccard);
    }
    if (!(c->sampler.decontam_threshold > 0 && c->sampler.decontam_threshold <= 1)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "sampler.decontam_threshold: must be in (0, 1], got %g",
                             c->sampler.decontam_threshold);
    }
    if (c->sampler.permutations % c->sampler.bands != 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "sampler.bands: %lld does not divide sampler.permutations (%lld)",
                             (long long)c->sampler.bands, (long long)c->sampler.permutations);
    }
    if (strcmp(c->sampler.embeddings, "builtin") != 0 && c->n_models > 0) {
        const struct arena_model_cfg *m = arena_config_model(c, c->sampler.embeddings);
        if (!m || strcmp(m->backend, "openai") != 0) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "sampler.embeddings: expected builtin or a configured model with "
                                 "backend openai, got '%s'",
                                 c->sampler.embeddings);
        }
    }
    if (*c->sampler.anchor && c->n_models > 0 && !arena_config_model(c, c->sampler.anchor)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "sampler.anchor: '%s' is not a configured model", c->sampler.anchor);
    }
    if (*c->sampler.difficulty_model && c->n_models > 0 &&
        !arena_config_model(c, c->sampler.difficulty_model)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "sampler.difficulty_model: '%s' is not a configured model",
                             c->sampler.difficulty_model);
    }
    arena_err_t err = validate_gap_list(&c->curator.sft_min_gap_by_round,
                                        "curator.sft_min_gap_by_round", errstr, errstr_size);
    if (err == ARENA_ERR_OK) {
        err = validate_gap_list(&c->curator.dpo_min_gap_by_round, "curator.dpo_min_gap_by_round",
                                errstr, errstr_size);
    }
    return err;
}

/* A *_file value that is a 40-character Z85 string and no file is a key pasted inline: refused
 * without echoing it (keys live in files, never in arena.yaml). */
static bool looks_like_z85_key(const char *v)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    return strlen(v) == 40 && strspn(v, z85) == 40 && access(v, F_OK) != 0;
}

static arena_err_t validate_curve(const struct arena_config *cfg, char *errstr, size_t errstr_size)
{
    const struct {
        const char *name;
        const char *v;
    } files[] = {
        {"curve.server_secret_key_file", cfg->curve.server_secret_key_file},
        {"curve.authorized_keys_file", cfg->curve.authorized_keys_file},
        {"curve.client_secret_key_file", cfg->curve.client_secret_key_file},
        {"curve.server_public_key_file", cfg->curve.server_public_key_file},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (looks_like_z85_key(files[i].v)) {
            arena_log_add_secret(files[i].v);
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "%s: expected the path of a key file, got what looks like a key "
                                 "itself: keys are never stored in the config",
                                 files[i].name);
        }
    }
    if (*cfg->curve.server_secret_key_file && !*cfg->curve.authorized_keys_file) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "curve.authorized_keys_file: required with "
                             "curve.server_secret_key_file (the client public keys allowed in)");
    }
    if (!*cfg->curve.client_secret_key_file != !*cfg->curve.server_public_key_file) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "curve.client_secret_key_file and curve.server_public_key_file: set "
                             "both (CURVE client) or neither");
    }
    return ARENA_ERR_OK;
}

arena_err_t arena_config_validate(const struct arena_config *cfg, char *errstr, size_t errstr_size)
{
    static const char *const levels[] = {"debug", "info", "warn", "warning", "error", NULL};
    static const char *const modes[] = {"train", "eval", "adaptive", NULL};
    static const char *const combines[] = {"average", "strict", NULL};
    static const char *const methods[] = {"bt", "elo", NULL};
    static const char *const comps[] = {"", "zstd", NULL};
    static const char *const backends[] = {"sim", "openai", "replay", NULL};
    char lv[32];
    lower_copy(cfg->log_level, lv, sizeof(lv));
    if (!one_of(lv, levels)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "log_level: expected debug|info|warn|error, got '%s'", cfg->log_level);
    }
    if (!one_of(cfg->sampler.mode, modes)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "sampler.mode: expected train|eval|adaptive, got '%s'",
                             cfg->sampler.mode);
    }
    if (!one_of(cfg->judge.combine, combines)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "judge.combine: expected average|strict, got '%s'",
                             cfg->judge.combine);
    }
    if (!(cfg->judge.tie_margin >= 0)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "judge.tie_margin: must be >= 0, got %g", cfg->judge.tie_margin);
    }
    if (!*cfg->judge.template) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "judge.template: must not be empty");
    }
    if (!one_of(cfg->rater.method, methods)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "rater.method: expected bt|elo, got '%s'", cfg->rater.method);
    }
    if (!*cfg->rater.name) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "rater.name: must not be empty");
    }
    if (!(cfg->rater.elo_k > 0)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "rater.elo_k: must be > 0, got %g", cfg->rater.elo_k);
    }
    if (*cfg->rater.anchor) {
        const char *eq = strrchr(cfg->rater.anchor, '=');
        char *end = NULL;
        double r = eq ? strtod(eq + 1, &end) : 0;
        if (!eq || eq == cfg->rater.anchor || !eq[1] || *end || !isfinite(r)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "rater.anchor: expected model=rating, got '%s'",
                                 cfg->rater.anchor);
        }
        if (cfg->n_models > 0) {
            char *mn = arena_xstrndup(cfg->rater.anchor, (size_t)(eq - cfg->rater.anchor));
            bool ok = arena_config_model(cfg, mn) != NULL;
            if (!ok) {
                arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                              "rater.anchor: '%s' is not a configured model", mn);
            }
            free(mn);
            if (!ok) {
                return ARENA_ERR_CONFIG;
            }
        }
    }
    arena_err_t ferr = validate_flywheel(cfg, errstr, errstr_size);
    if (ferr == ARENA_ERR_OK) {
        ferr = validate_curve(cfg, errstr, errstr_size);
    }
    if (ferr != ARENA_ERR_OK) {
        return ferr;
    }
    if (!(cfg->curator.sft_min_gap >= 0) || !(cfg->curator.dpo_min_gap >= 0)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "curator.sft_min_gap and curator.dpo_min_gap must be >= 0");
    }
    if (!one_of(cfg->curator.compression, comps)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "curator.compression: expected \"\" or zstd, got '%s'",
                             cfg->curator.compression);
    }
    for (size_t i = 0; i < cfg->n_models; i++) {
        const struct arena_model_cfg *m = &cfg->models[i];
        if (!one_of(m->backend, backends)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "models.%s.backend: unknown backend '%s' (sim|openai|replay)",
                                 m->name, m->backend);
        }
        if (strcmp(m->backend, "openai") == 0 && !*m->base_url) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "models.%s.base_url: required by the openai backend", m->name);
        }
        if (strcmp(m->backend, "replay") == 0 && !*m->answers) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "models.%s.answers: required by the replay backend", m->name);
        }
        if (!(m->noise >= 0) || !(m->judge_noise >= 0)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "models.%s: noise and judge_noise must be >= 0", m->name);
        }
        for (size_t h = 0; h < m->headers.n; h++) {
            if (!strchr(m->headers.v[h], ':')) {
                return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                     "models.%s.headers[%zu]: expected 'Name: value'", m->name, h);
            }
        }
    }
    if (cfg->n_models > 0) {
        if (*cfg->sampler.target && !arena_config_model(cfg, cfg->sampler.target)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "sampler.target: '%s' is not a configured model",
                                 cfg->sampler.target);
        }
        for (size_t i = 0; i < cfg->sampler.competitors.n; i++) {
            const char *c = cfg->sampler.competitors.v[i];
            if (!arena_config_model(cfg, c)) {
                return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                     "sampler.competitors: '%s' is not a configured model", c);
            }
            if (strcmp(c, cfg->sampler.target) == 0) {
                return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                     "sampler.competitors: '%s' is the target model itself", c);
            }
            for (size_t j = 0; j < i; j++) {
                if (strcmp(c, cfg->sampler.competitors.v[j]) == 0) {
                    return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                         "sampler.competitors: '%s' is listed twice", c);
                }
            }
        }
        if (*cfg->judge.model && !arena_config_model(cfg, cfg->judge.model)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "judge.model: '%s' is not a configured model", cfg->judge.model);
        }
    }
    return ARENA_ERR_OK;
}

/* ---- dump ----------------------------------------------------------------------------------- */

/* YAML double-quoted scalar. Characters YAML treats as line breaks (NEL, LS, PS) or does not
 * allow raw (controls, BOM, non-characters) are escaped, so the dump reloads to the same value. */
/* s quoted and escaped as a YAML double-quoted scalar. */
static void dump_quoted(struct arena_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    arena_buf_puts(b, "\"");
    while (*p) {
        unsigned cp = *p;
        size_t n = 1;
        if (cp >= 0xc0 && cp < 0xe0 && (p[1] & 0xc0) == 0x80) {
            cp = (cp & 0x1fu) << 6 | (p[1] & 0x3fu);
            n = 2;
        } else if (cp >= 0xe0 && cp < 0xf0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
            cp = (cp & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
            n = 3;
        } else if (cp >= 0xf0 && cp < 0xf8 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
                   (p[3] & 0xc0) == 0x80) {
            cp = (cp & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
            n = 4;
        } else if (cp >= 0x80) {
            arena_buf_printf(b, "\\x%02x", cp); /* stray byte (env/--set input): best effort */
            p++;
            continue;
        }
        if (cp == '"' || cp == '\\') {
            arena_buf_printf(b, "\\%c", (char)cp);
        } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            arena_buf_printf(b, "\\x%02x", cp);
        } else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || (cp >= 0xd800 && cp < 0xe000) ||
                   cp == 0xfffe || cp == 0xffff) {
            arena_buf_printf(b, "\\u%04x", cp);
        } else {
            arena_buf_append(b, p, n);
        }
        p += n;
    }
    arena_buf_puts(b, "\"");
}

/* A string value; anything registered with the logger (API keys read at start-up, Kafka
 * secrets) is redacted inside the value only, never in keys or comments. */
static void dump_str(struct arena_buf *b, const char *value)
{
    char *s = arena_log_redact(value ? value : "");
    dump_quoted(b, s);
    free(s);
}

static void dump_double(struct arena_buf *b, double d)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%.15g", d);
    if (strtod(tmp, NULL) != d) {
        snprintf(tmp, sizeof(tmp), "%.17g", d);
    }
    if (!strpbrk(tmp, ".eEn")) {
        strcat(tmp, ".0");
    }
    arena_buf_puts(b, tmp);
}

static bool secret_header(const char *h)
{
    static const char *const words[] = {"auth", "key", "token", "secret", "cookie", "password"};
    const char *colon = strchr(h, ':');
    size_t n = colon ? (size_t)(colon - h) : strlen(h);
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = 0; i + wl <= n; i++) {
            if (strncasecmp(h + i, words[w], wl) == 0) {
                return true;
            }
        }
    }
    return false;
}

static void dump_value(struct arena_buf *b, const void *base, const struct cfg_key *k,
                       bool redact_headers)
{
    const char *p = (const char *)base + k->off;
    switch (k->type) {
    case CFG_STR:
        dump_str(b, *(char *const *)(const void *)p);
        break;
    case CFG_INT:
        arena_buf_printf(b, "%lld", (long long)*(const int64_t *)(const void *)p);
        break;
    case CFG_U64:
        arena_buf_printf(b, "%llu", (unsigned long long)*(const uint64_t *)(const void *)p);
        break;
    case CFG_DOUBLE:
        dump_double(b, *(const double *)(const void *)p);
        break;
    case CFG_BOOL:
        arena_buf_puts(b, *(const bool *)(const void *)p ? "true" : "false");
        break;
    case CFG_STRLIST: {
        const struct arena_strlist *l = (const struct arena_strlist *)(const void *)p;
        arena_buf_puts(b, "[");
        for (size_t i = 0; i < l->n; i++) {
            if (i) {
                arena_buf_puts(b, ", ");
            }
            if (redact_headers && secret_header(l->v[i])) {
                const char *colon = strchr(l->v[i], ':');
                char *h = colon
                              ? arena_xasprintf("%.*s: [REDACTED]", (int)(colon - l->v[i]), l->v[i])
                              : arena_xstrdup("[REDACTED]");
                dump_str(b, h);
                free(h);
            } else {
                dump_str(b, l->v[i]);
            }
        }
        arena_buf_puts(b, "]");
        break;
    }
    }
}

char *arena_config_dump(const struct arena_config *cfg)
{
    struct arena_buf b;
    arena_buf_init(&b);
    arena_buf_puts(&b, "# effective configuration (secrets redacted)\n");
    arena_buf_puts(&b, "log_level: ");
    dump_str(&b, cfg->log_level);
    arena_buf_puts(&b, "\nkafka:");
    if (cfg->kafka_keys.n == 0) {
        arena_buf_puts(&b, " {}");
    }
    arena_buf_puts(&b, "\n");
    for (size_t i = 0; i < cfg->kafka_keys.n; i++) {
        arena_buf_puts(&b, "  ");
        dump_quoted(&b, cfg->kafka_keys.v[i]); /* a property name, never a secret */
        arena_buf_puts(&b, ": ");
        dump_str(&b, arena_config_kafka_is_secret(cfg->kafka_keys.v[i]) ? "[REDACTED]"
                                                                        : cfg->kafka_values.v[i]);
        arena_buf_puts(&b, "\n");
    }
    arena_buf_puts(&b, "models:");
    if (cfg->n_models == 0) {
        arena_buf_puts(&b, " []");
    }
    arena_buf_puts(&b, "\n");
    for (size_t m = 0; m < cfg->n_models; m++) {
        for (size_t i = 0; i < N_MODEL_KEYS; i++) {
            arena_buf_printf(&b, "%s%s: ", i == 0 ? "  - " : "    ", model_keys[i].key);
            dump_value(&b, &cfg->models[m], &model_keys[i], true);
            arena_buf_puts(&b, "\n");
        }
    }
    for (size_t s = 0; s < N_SECTIONS; s++) {
        arena_buf_printf(&b, "%s:\n", sections[s]);
        for (size_t i = 0; i < N_CFG_KEYS; i++) {
            const struct cfg_key *k = &cfg_keys[i];
            if (k->section && strcmp(k->section, sections[s]) == 0) {
                arena_buf_printf(&b, "  %s: ", k->key);
                dump_value(&b, cfg, k, false);
                arena_buf_printf(&b, "  # %s\n", k->help);
            }
        }
    }
    return arena_buf_steal(&b, NULL);
}

const struct arena_model_cfg *arena_config_model(const struct arena_config *cfg, const char *name)
{
    if (!cfg || !name) {
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_models; i++) {
        if (strcmp(cfg->models[i].name, name) == 0) {
            return &cfg->models[i];
        }
    }
    return NULL;
}

const char *arena_config_kafka(const struct arena_config *cfg, const char *key)
{
    if (!cfg || !key) {
        return NULL;
    }
    for (size_t i = 0; i < cfg->kafka_keys.n; i++) {
        if (strcmp(cfg->kafka_keys.v[i], key) == 0) {
            return cfg->kafka_values.v[i];
        }
    }
    return NULL;
}

const struct arena_svc_cfg *arena_config_svc(const struct arena_config *cfg, const char *service)
{
    if (!cfg || !service) {
        return NULL;
    }
    if (strcmp(service, "sampler") == 0) {
        return &cfg->sampler.svc;
    }
    if (strcmp(service, "generator") == 0) {
        return &cfg->generator.svc;
    }
    if (strcmp(service, "judge") == 0) {
        return &cfg->judge.svc;
    }
    if (strcmp(service, "rater") == 0) {
        return &cfg->rater.svc;
    }
    if (strcmp(service, "curator") == 0) {
        return &cfg->curator.svc;
    }
    return NULL;
}

/* Markdown-safe cell text: '|' escaped */
static void md_cell(struct arena_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') {
            arena_buf_puts(b, "\\|");
        } else {
            arena_buf_append(b, s, 1);
        }
    }
}

static void reference_row(struct arena_buf *b, const char *prefix, const struct cfg_key *k)
{
    arena_buf_printf(b, "| `%s%s%s%s` | %s | ", prefix, k->section ? k->section : "",
                     k->section ? "." : "", k->key, cfg_types[k->type].name);
    if (*k->def) {
        arena_buf_puts(b, "`");
        md_cell(b, k->def);
        arena_buf_puts(b, "`");
    } else {
        arena_buf_puts(b, "\"\"");
    }
    arena_buf_puts(b, " | ");
    md_cell(b, k->help);
    arena_buf_puts(b, " |\n");
}

char *arena_config_reference(void)
{
    struct arena_buf b;
    arena_buf_init(&b);
    arena_buf_puts(&b, "| key | type | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
        reference_row(&b, "", &cfg_keys[i]);
    }
    for (size_t i = 0; i < sizeof(model_keys) / sizeof(model_keys[0]); i++) {
        reference_row(&b, "models[].", &model_keys[i]);
    }
    return arena_buf_steal(&b, NULL);
}
