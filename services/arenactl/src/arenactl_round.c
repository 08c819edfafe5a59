/* arenactl round / dataset - flywheel rounds.
 *   arenactl round start N            the sampler issues battles for D_N from now on
 *   arenactl round status             round fields of the sampler's status
 *   arenactl round wait N [--timeout S]
 *                                     until round N is complete: every pool prompt visited and
 *                                     every issued battle resulted (exit 1 on timeout)
 *   arenactl dataset --kind sft|dpo|rm --rounds 2,5 --shard-dir DIR --output FILE
 *                                     cumulative dataset: the shards of those rounds (by their
 *                                     manifests), ordered by round (as listed), partition, seq;
 *                                     every sha256, size and row count verified; FILE written
 *                                     atomically as JSONL plus FILE.manifest.json */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zstd.h>

#include "arena/util.h"
#include "arenactl.h"

static int round_usage(FILE *out)
{
    fprintf(out, "usage: arenactl round start N\n"
                 "       arenactl round status\n"
                 "       arenactl round wait N [--timeout SECONDS]\n");
    return out == stdout ? 0 : 2;
}

static bool parse_uint(const char *what, const char *v, long long min, long long *out)
{
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < min) {
        fprintf(stderr, "arenactl: %s: expected an integer >= %lld, got '%s'\n", what, min, v);
        return false;
    }
    *out = x;
    return true;
}

static void print_round(json_t *st)
{
    printf("round %lld of %lld (split %s): %lld prompts issued this round, pool %lld, cursor %lld, "
           "in flight %lld, eval items %lld, complete %s\n",
           (long long)json_integer_value(json_object_get(st, "round")),
           (long long)json_integer_value(json_object_get(st, "rounds")),
           json_string_value(json_object_get(st, "split")),
           (long long)json_integer_value(json_object_get(st, "round_prompts")),
           (long long)json_integer_value(json_object_get(st, "pool")),
           (long long)json_integer_value(json_object_get(st, "cursor")),
           (long long)json_integer_value(json_object_get(st, "in_flight")),
           (long long)json_integer_value(json_object_get(st, "eval_marked")),
           json_is_true(json_object_get(st, "round_complete")) ? "yes" : "no");
}

int arenactl_round(const struct arena_config *cfg, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        return round_usage(argc < 2 ? stderr : stdout);
    }
    long long n = 0;
    if (!strcmp(argv[1], "start") && argc == 3) {
        if (!parse_uint("round", argv[2], 1, &n)) {
            return 2;
        }
        json_t *args = json_object();
        json_object_set_new(args, "round", json_integer(n));
        json_t *r = arenactl_sampler_call(cfg, "round_start", args, 60000);
        if (!r) {
            return 1;
        }
        printf("round %lld started (%s split of %lld rounds): %lld prompts in D%lld%s\n", n,
               json_string_value(json_object_get(r, "split")),
               (long long)json_integer_value(json_object_get(r, "rounds")),
               (long long)json_integer_value(json_object_get(r, "prompts")), n,
               json_is_true(json_object_get(r, "already_current")) ? " (already current)" : "");
        json_decref(r);
        return 0;
    }
    if (!strcmp(argv[1], "status") && argc == 2) {
        json_t *r = arenactl_sampler_call(cfg, "status", json_object(), 10000);
        if (!r) {
            return 1;
        }
        print_round(r);
        json_decref(r);
        return 0;
    }
    if (!strcmp(argv[1], "wait") && argc >= 3) {
        long long timeout = 300;
        if (!parse_uint("round", argv[2], 1, &n)) {
            return 2;
        }
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
                if (!parse_uint("--timeout", argv[++i], 1, &timeout)) {
                    return 2;
                }
            } else {
                fprintf(stderr, "arenactl round wait: unknown option '%s'\n", argv[i]);
                return 2;
            }
        }
        int64_t deadline = arena_mono_ms() + timeout * 1000;
        for (;;) {
            json_t *r = arenactl_sampler_call(cfg, "status", json_object(), 10000);
            if (!r) {
                return 1;
            }
            long long cur = (long long)json_integer_value(json_object_get(r, "round"));
            bool done = cur == n && json_is_true(json_object_get(r, "round_complete"));
            if (done || arena_mono_ms() >= deadline) {
                print_round(r);
                json_decref(r);
                if (!done) {
                    fprintf(stderr, "arenactl round wait: round %lld not complete after %lld s\n",
                            n, timeout);
                }
                return done ? 0 : 1;
            }
            json_decref(r);
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return round_usage(stderr);
}

/* ---- dataset ---- */

struct ds_shard {
    json_t *man;
    int round_rank; /* position of its round in --rounds */
    long long partition, seq;
};

static int ds_cmp(const void *a, const void *b)
{
    const struct ds_shard *x = a, *y = b;
    if (x->round_rank != y->round_rank) {
        return x->round_rank < y->round_rank ? -1 : 1;
    }
    if (x->partition != y->partition) {
        return x->partition < y->partition ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int ds_usage(FILE *out)
{
    fprintf(out, "usage: arenactl dataset --kind sft|dpo|rm --rounds R[,R...] --shard-dir DIR "
                 "--output FILE\n");
    return out == stdout ? 0 : 2;
}

/* The shard's rows (decompressed), verified against its manifest. NULL + message on error. */
static char *ds_load(const char *dir, json_t *man, size_t *len)
{
    const char *rel = json_string_value(json_object_get(man, "path"));
    const char *want = json_string_value(json_object_get(man, "sha256"));
    const char *comp = json_string_value(json_object_get(man, "compression"));
    long long bytes = (long long)json_integer_value(json_object_get(man, "bytes"));
    long long rows = (long long)json_integer_value(json_object_get(man, "rows"));
    const char *id = json_string_value(json_object_get(man, "shard_id"));
    if (!rel || !want || strchr(rel, '/')) {
        fprintf(stderr, "arenactl dataset: manifest of %s: bad path or sha256\n", id ? id : "?");
        return NULL;
    }
    char *path = arena_xasprintf("%s/%s", dir, rel);
    char errstr[256], got[65];
    size_t n = 0;
    char *data = arena_read_file(path, &n, errstr, sizeof(errstr));
    if (!data) {
        fprintf(stderr, "arenactl dataset: %s\n", errstr);
        free(path);
        return NULL;
    }
    arena_sha256_hex(data, n, got);
    if (strcmp(got, want) != 0 || (long long)n != bytes) {
        fprintf(stderr,
                "arenactl dataset: %s: sha256 %s (%zu bytes) does not match the manifest (%s, "
                "%lld bytes)\n",
                path, got, n, want, bytes);
        free(data);
        free(path);
        return NULL;
    }
    if (comp && !strcmp(comp, "zstd")) {
        unsigned long long size = ZSTD_getFrameContentSize(data, n);
        if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
            fprintf(stderr, "arenactl dataset: %s: not a zstd frame with a content size\n", path);
            free(data);
            free(path);
            return NULL;
        }
        char *out = arena_xmalloc(size + 1);
        size_t d = ZSTD_decompress(out, size, data, n);
        free(data);
        if (ZSTD_isError(d) || d != size) {
            fprintf(stderr, "arenactl dataset: %s: zstd: %s\n", path,
                    ZSTD_isError(d) ? ZSTD_getErrorName(d) : "short frame");
            free(out);
            free(path);
            return NULL;
        }
        data = out;
        n = d;
    }
    long long lines = 0;
    for (size_t i = 0; i < n; i++) {
        lines += data[i] == '\n';
    }
    if (lines != rows || (n > 0 && data[n - 1] != '\n')) {
        fprintf(stderr, "arenactl dataset: %s: %lld rows, the manifest says %lld\n", path, lines,
                rows);
        free(data);
        free(path);
        return NULL;
    }
    free(path);
    *len = n;
    return data;
}

int arenactl_dataset(const struct arena_config *cfg, int argc, char **argv)
{
    const char *kind = NULL, *rounds_arg = NULL, *dir = NULL, *output = NULL;
    (void)cfg;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            return ds_usage(stdout);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "arenactl dataset: %s needs a value\n", argv[i]);
            return ds_usage(stderr);
        }
        if (!strcmp(argv[i], "--kind")) {
            kind = argv[++i];
        } else if (!strcmp(argv[i], "--rounds")) {
            rounds_arg = argv[++i];
        } else if (!strcmp(argv[i], "--shard-dir")) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--output")) {
            output = argv[++i];
        } else {
            fprintf(stderr, "arenactl dataset: unknown option '%s'\n", argv[i]);
            return ds_usage(stderr);
        }
    }
    if (!kind || !rounds_arg || !dir || !output) {
        fprintf(stderr, "arenactl dataset: --kind, --rounds, --shard-dir and --output are "
                        "required\n");
        return ds_usage(stderr);
    }
    if (strcmp(kind, "sft") != 0 && strcmp(kind, "dpo") != 0 && strcmp(kind, "rm") != 0) {
        fprintf(stderr, "arenactl dataset: --kind: expected sft|dpo|rm, got '%s'\n", kind);
        return 2;
    }
    long long rounds[64];
    int n_rounds = 0;
    char *copy = arena_xstrdup(rounds_arg);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        long long r;
        if (n_rounds == 64 || !parse_uint("--rounds", tok, 1, &r)) {
            free(copy);
            return 2;
        }
        for (int k = 0; k < n_rounds; k++) {
            if (rounds[k] == r) {
                fprintf(stderr, "arenactl dataset: --rounds: round %lld listed twice\n", r);
                free(copy);
                return 2;
            }
        }
        rounds[n_rounds++] = r;
    }
    free(copy);
    if (n_rounds == 0) {
        fprintf(stderr, "arenactl dataset: --rounds: no round given\n");
        return 2;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "arenactl dataset: cannot open shard dir %s\n", dir);
        return 1;
    }
    struct ds_shard *shards = NULL;
    size_t n = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        const char *suffix = ".manifest.json";
        if (l <= strlen(suffix) || strcmp(de->d_name + l - strlen(suffix), suffix) != 0) {
            continue;
        }
        char *path = arena_xasprintf("%s/%s", dir, de->d_name);
        json_error_t jerr;
        json_t *man = json_load_file(path, 0, &jerr);
        if (!man) {
            fprintf(stderr, "arenactl dataset: %s: %s\n", path, jerr.text);
            free(path);
            rc = 1;
            continue;
        }
        free(path);
        const char *k = json_string_value(json_object_get(man, "kind"));
        long long r = (long long)json_integer_value(json_object_get(man, "round"));
        int rank = -1;
        for (int i = 0; i < n_rounds; i++) {
            rank = rounds[i] == r ? i : rank;
        }
        if (!k || strcmp(k, kind) != 0 || rank < 0) {
            json_decref(man);
            continue;
        }
        shards = arena_xrealloc(shards, (n + 1) * sizeof(*shards));
        shards[n].man = man;
        shards[n].round_rank = rank;
        shards[n].partition = (long long)json_integer_value(json_object_get(man, "partition"));
        shards[n].seq = (long long)json_integer_value(json_object_get(man, "seq"));
        n++;
    }
    closedir(d);
    if (n > 0) {
        qsort(shards, n, sizeof(*shards), ds_cmp);
    }
    struct arena_buf out;
    arena_buf_init(&out);
    json_t *list = json_array();
    long long total_rows = 0;
    long long per_round[64] = {0};
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = 0;
        char *data = ds_load(dir, shards[i].man, &len);
        if (!data) {
            rc = 1;
            break;
        }
        arena_buf_append(&out, data, len);
        free(data);
        long long rows = (long long)json_integer_value(json_object_get(shards[i].man, "rows"));
        total_rows += rows;
        per_round[shards[i].round_rank] += rows;
        json_t *e = json_object();
        json_object_set(e, "shard_id", json_object_get(shards[i].man, "shard_id"));
        json_object_set(e, "round", json_object_get(shards[i].man, "round"));
        json_object_set(e, "sha256", json_object_get(shards[i].man, "sha256"));
        json_object_set(e, "rows", json_object_get(shards[i].man, "rows"));
        json_array_append_new(list, e);
    }
    if (rc == 0) {
        char errstr[256], sha[65];
        arena_sha256_hex(out.data ? out.data : "", out.len, sha);
        json_t *dm = json_object();
        json_object_set_new(dm, "kind", json_string(kind));
        json_t *ra = json_array();
        for (int i = 0; i < n_rounds; i++) {
            json_array_append_new(ra, json_integer(rounds[i]));
        }
        json_object_set_new(dm, "rounds", ra);
        json_object_set_new(dm, "rows", json_integer(total_rows));
        json_object_set_new(dm, "bytes", json_integer((json_int_t)out.len));
        json_object_set_new(dm, "sha256", json_string(sha));
        json_object_set_new(dm, "shards", list);
        list = NULL;
        char *mtext = json_dumps(dm, JSON_INDENT(2));
        char *mpath = arena_xasprintf("%s.manifest.json", output);
        if (arena_write_file_atomic(output, out.data ? out.data : "", out.len, errstr,
                                    sizeof(errstr)) != 0 ||
            arena_write_file_atomic(mpath, mtext, strlen(mtext), errstr, sizeof(errstr)) != 0) {
            fprintf(stderr, "arenactl dataset: %s\n", errstr);
            rc = 1;
        } else {
            printf("%s: %lld %s rows from %zu shards (", output, total_rows, kind, n);
            for (int i = 0; i < n_rounds; i++) {
                printf("%sround %lld: %lld", i ? ", " : "", rounds[i], per_round[i]);
                if (per_round[i] == 0) {
                    fprintf(stderr, "arenactl dataset: warning: no %s rows for round %lld in %s\n",
                            kind, rounds[i], dir);
                }
            }
            printf("), sha256 %s\n", sha);
        }
        free(mpath);
        free(mtext);
        json_decref(dm);
    }
    json_decref(list);
    for (size_t i = 0; i < n; i++) {
        json_decref(shards[i].man);
    }
    free(shards);
    arena_buf_fini(&out);
    return rc;
}
