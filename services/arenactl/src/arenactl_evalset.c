/* arenactl evalset - WizardArena eval sets built by the sampler from its pool (control socket).
 *   arenactl evalset build --name NAME [--mode diverse|hard|mix] [--clusters K]
 *                          [--per-cluster M] [--top N] [--hard-per-cluster C] [--seed S]
 *                          [--timeout-ms T]
 *   arenactl evalset list
 *   arenactl evalset export NAME [--version V] > NAME.jsonl
 * The sampler stores every build as NAME@vN and takes its items out of training. Hard and mix
 * builds may score difficulty with sampler.difficulty_model (minutes for thousands of prompts):
 * the sampler stops scoring in time to answer within --timeout-ms and caches every answer, so
 * running the build again goes on where it stopped. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/ctl.h"
#include "arenactl.h"

#define EVALSET_TIMEOUT_MS (30 * 60 * 1000) /* default --timeout-ms: scoring takes minutes */

const char *arenactl_sampler_endpoint(const struct arena_config *cfg)
{
    const struct arena_svc_cfg *svc = arena_config_svc(cfg, "sampler");
    if (!svc || !svc->control || !*svc->control) {
        fprintf(stderr, "arenactl: sampler.control is not set (the sampler's control endpoint)\n");
        return NULL;
    }
    return svc->control;
}

json_t *arenactl_sampler_call(const struct arena_config *cfg, const char *cmd, json_t *args,
                              int timeout_ms)
{
    const char *ep = arenactl_sampler_endpoint(cfg);
    if (!ep) {
        json_decref(args);
        return NULL;
    }
    json_t *reply = NULL;
    char errstr[256];
    arena_err_t err = arena_ctl_request(ep, cmd, args, timeout_ms, &reply, errstr, sizeof(errstr));
    json_decref(args);
    if (err != ARENA_ERR_OK) {
        fprintf(stderr, "arenactl: sampler at %s: %s\n", ep, errstr);
        return NULL;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        const char *e = json_string_value(json_object_get(reply, "error"));
        fprintf(stderr, "arenactl: sampler: %s\n", e ? e : "request failed");
        json_decref(reply);
        return NULL;
    }
    return reply;
}

static int usage(FILE *out)
{
    fprintf(out,
            "usage: arenactl evalset build --name NAME [--mode diverse|hard|mix] [--clusters K]\n"
            "                              [--per-cluster M] [--top N] [--hard-per-cluster C]\n"
            "                              [--seed S] [--timeout-ms T]\n"
            "       arenactl evalset list\n"
            "       arenactl evalset export NAME [--version V]   (JSONL on stdout)\n"
            "\n"
            "build: k-means (--clusters, default 10) over the training pool, then\n"
            "  diverse  --per-cluster M random prompts per cluster (default 2)\n"
            "  hard     the --top N hardest prompts; with --hard-per-cluster C only C random\n"
            "           prompts per cluster are candidates (the paper: 20). Difficulty: the\n"
            "           prompt's `difficulty` field, else sampler.difficulty_model scores it 0-10\n"
            "           (answers cached in the sampler: a rebuild does not ask again)\n"
            "  mix      diverse, then hard prompts not already chosen\n"
            "  --timeout-ms  how long to wait for the sampler (default %d = 30 min); it stops\n"
            "           scoring in time to answer, and a new build continues from the cache\n",
            EVALSET_TIMEOUT_MS);
    return out == stdout ? 0 : 2;
}

static bool parse_int(const char *opt, const char *v, long long min, long long *out)
{
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < min) {
        fprintf(stderr, "arenactl evalset: %s: expected an integer >= %lld, got '%s'\n", opt, min,
                v);
        return false;
    }
    *out = x;
    return true;
}

static int cmd_build(const struct arena_config *cfg, int argc, char **argv)
{
    json_t *args = json_object();
    static const struct {
        const char *opt, *key;
        long long min;
    } ints[] = {{"--clusters", "clusters", 1},
                {"--per-cluster", "per_cluster", 1},
                {"--top", "top", 0},
                {"--seed", "seed", 0},
                {"--hard-per-cluster", "hard_per_cluster", 0},
                {"--timeout-ms", "timeout_ms", 1}};
    for (int i = 2; i < argc; i++) {
        bool known = false;
        if (i + 1 >= argc) {
            fprintf(stderr, "arenactl evalset build: %s needs a value\n", argv[i]);
            json_decref(args);
            return usage(stderr);
        }
        if (!strcmp(argv[i], "--name") || !strcmp(argv[i], "--mode")) {
            json_object_set_new(args, argv[i] + 2, json_string(argv[i + 1]));
            known = true;
        }
        for (size_t k = 0; !known && k < sizeof(ints) / sizeof(ints[0]); k++) {
            if (!strcmp(argv[i], ints[k].opt)) {
                long long v;
                if (!parse_int(argv[i], argv[i + 1], ints[k].min, &v)) {
                    json_decref(args);
                    return 2;
                }
                json_object_set_new(args, ints[k].key, json_integer(v));
                known = true;
            }
        }
        if (!known) {
            fprintf(stderr, "arenactl evalset build: unknown option '%s'\n", argv[i]);
            json_decref(args);
            return usage(stderr);
        }
        i++;
    }
    if (!json_object_get(args, "name")) {
        fprintf(stderr, "arenactl evalset build: --name is required\n");
        json_decref(args);
        return 2;
    }
    json_t *tmo = json_object_get(args, "timeout_ms");
    long long timeout_ms = tmo ? (long long)json_integer_value(tmo) : EVALSET_TIMEOUT_MS;
    if (timeout_ms > INT_MAX) {
        timeout_ms = INT_MAX;
        json_object_set_new(args, "timeout_ms", json_integer(timeout_ms));
    } else if (!tmo) {
        json_object_set_new(args, "timeout_ms", json_integer(timeout_ms));
    }
    json_t *r = arenactl_sampler_call(cfg, "evalset_build", args, (int)timeout_ms);
    if (!r) {
        return 1;
    }
    printf("eval set %s: %lld items (%s) from %lld candidates in %lld clusters, %lld ms\n",
           json_string_value(json_object_get(r, "id")),
           (long long)json_integer_value(json_object_get(r, "items")),
           json_string_value(json_object_get(r, "mode")),
           (long long)json_integer_value(json_object_get(r, "candidates")),
           (long long)json_integer_value(json_object_get(r, "clusters")),
           (long long)json_integer_value(json_object_get(r, "ms")));
    if (json_object_get(r, "hard_candidates")) {
        const char *dm = json_string_value(json_object_get(r, "difficulty_model"));
        printf("difficulty: %lld hard candidates: %lld supplied, %lld scored, %lld cached, "
               "%lld unscorable, %lld unrated (model %s)\n",
               (long long)json_integer_value(json_object_get(r, "hard_candidates")),
               (long long)json_integer_value(json_object_get(r, "supplied")),
               (long long)json_integer_value(json_object_get(r, "scored")),
               (long long)json_integer_value(json_object_get(r, "cached")),
               (long long)json_integer_value(json_object_get(r, "unscorable")),
               (long long)json_integer_value(json_object_get(r, "unrated")),
               dm && *dm ? dm : "none: difficulty fields only");
    }
    json_decref(r);
    return 0;
}

static int cmd_list(const struct arena_config *cfg)
{
    json_t *r = arenactl_sampler_call(cfg, "evalset_list", json_object(), 10000);
    if (!r) {
        return 1;
    }
    json_t *sets = json_object_get(r, "evalsets");
    size_t i;
    json_t *v;
    printf("%-32s %-8s %6s %8s %5s %7s %7s %10s  %s\n", "eval set", "mode", "items", "clusters",
           "seed", "scored", "cached", "unscorable", "difficulty model");
    json_array_foreach(sets, i, v)
    {
        printf("%-32s %-8s %6lld %8lld %5lld", json_string_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "mode")),
               (long long)json_integer_value(json_object_get(v, "items")),
               (long long)json_integer_value(json_object_get(v, "clusters")),
               (long long)json_integer_value(json_object_get(v, "seed")));
        if (json_object_get(v, "hard_candidates")) {
            const char *dm = json_string_value(json_object_get(v, "difficulty_model"));
            printf(" %7lld %7lld %10lld  %s\n",
                   (long long)json_integer_value(json_object_get(v, "scored")),
                   (long long)json_integer_value(json_object_get(v, "cached")),
                   (long long)json_integer_value(json_object_get(v, "unscorable")),
                   dm && *dm ? dm : "(fields)");
        } else {
            printf(" %7s %7s %10s  %s\n", "-", "-", "-", "-");
        }
    }
    json_decref(r);
    return 0;
}

static int cmd_export(const struct arena_config *cfg, int argc, char **argv)
{
    if (argc < 3) {
        return usage(stderr);
    }
    json_t *args = json_object();
    json_object_set_new(args, "name", json_string(argv[2]));
    for (int i = 3; i < argc; i++) {
        long long v;
        if (!strcmp(argv[i], "--version") && i + 1 < argc) {
            if (!parse_int("--version", argv[++i], 1, &v)) {
                json_decref(args);
                return 2;
            }
            json_object_set_new(args, "version", json_integer(v));
        } else {
            fprintf(stderr, "arenactl evalset export: unknown option '%s'\n", argv[i]);
            json_decref(args);
            return usage(stderr);
        }
    }
    json_t *r = arenactl_sampler_call(cfg, "evalset_export", args, 60000);
    if (!r) {
        return 1;
    }
    json_t *text = json_object_get(r, "jsonl");
    fwrite(json_string_value(text), 1, json_string_length(text), stdout);
    int rc = fflush(stdout) == 0 ? 0 : 1;
    json_decref(r);
    return rc;
}

int arenactl_evalset(const struct arena_config *cfg, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        return usage(argc < 2 ? stderr : stdout);
    }
    if (!strcmp(argv[1], "build")) {
        return cmd_build(cfg, argc, argv);
    }
    if (!strcmp(argv[1], "list")) {
        return cmd_list(cfg);
    }
    if (!strcmp(argv[1], "export")) {
        return cmd_export(cfg, argc, argv);
    }
    fprintf(stderr, "arenactl evalset: unknown subcommand '%s'\n", argv[1]);
    return usage(stderr);
}
