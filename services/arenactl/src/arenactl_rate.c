/* arenactl rate - offline leaderboard from a battle file (FastChat battles, our BattleResult
 * JSONL, AlpacaEval annotations or Arena-Hard judgments) with the rating engine of the rater
 * service: BT or Elo, bootstrap CIs, win rates against a baseline, consistency with a
 * reference leaderboard. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/util.h"
#include "arenactl.h"
#include "rater_engine.h"
#include "rater_formats.h"
#include "rater_stats.h"

static void rate_usage(FILE *f)
{
    fprintf(f,
            "usage: arenactl rate --input FILE [--format fastchat|results|alpaca-eval|arena-hard]\n"
            "                     [--method bt|elo] [--bootstrap N] [--seed S] [--threads T]\n"
            "                     [--anchor MODEL=RATING] [--baseline MODEL] [--reference FILE]\n"
            "                     [--rating mle|median] [--output table|json|csv] [--skip-bad]\n"
            "  The format is detected from the first record when --format is absent.\n"
            "  BT ratings are centred on mean 1000 unless --anchor is given (FastChat anchors\n"
            "  mixtral-8x7b-instruct-v0.1=1114). CIs: 2.5/97.5 percentiles of the bootstrap.\n");
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

struct rate_args {
    const char *input, *format, *method, *baseline, *reference, *output, *rating;
    char *anchor_model;
    double anchor_rating;
    long bootstrap, threads;
    unsigned long long seed;
    bool skip_bad;
};

/* win rate of one model against the baseline; false when not available */
static bool model_winrate(const struct rate_args *a, const struct rater_battles *b,
                          const struct rater_prefs *prefs, enum rater_format fmt, const char *model,
                          struct rater_winrate *wr)
{
    if (!a->baseline || strcmp(model, a->baseline) == 0) {
        return false;
    }
    if (fmt == RATER_FORMAT_ALPACA_EVAL) {
        const struct rater_prefs_model *pm = rater_prefs_find(prefs, model, a->baseline);
        if (pm) {
            rater_winrate_from_prefs(pm->p, pm->n, wr);
            return wr->n_total > 0;
        }
        /* the baseline may be generator_2 of nobody: fall through to battles */
    }
    return rater_winrate_vs_baseline(b, model, a->baseline, wr, NULL, 0) == ARENA_ERR_OK;
}

static int print_output(const struct rate_args *a, const struct rater_table *t,
                        const struct rater_battles *b, const struct rater_prefs *prefs,
                        enum rater_format fmt, const struct rater_consistency *cons,
                        const char *method)
{
    const char *out = a->output ? a->output : "table";
    if (strcmp(out, "json") == 0) {
        json_t *root = json_object();
        json_object_set_new(root, "method", json_string(method));
        json_object_set_new(root, "battles", json_integer((json_int_t)t->battles));
        json_t *models = json_array();
        for (size_t i = 0; i < t->n; i++) {
            const struct rater_row *r = &t->rows[i];
            json_t *m = json_object();
            json_object_set_new(m, "model", json_string(r->model));
            json_object_set_new(m, "rating", jnum(r->rating));
            json_object_set_new(m, "ci_low", jnum(r->ci_low));
            json_object_set_new(m, "ci_high", jnum(r->ci_high));
            json_object_set_new(m, "rank", json_integer(r->rank));
            json_object_set_new(m, "games", json_integer((json_int_t)r->games));
            json_object_set_new(m, "wins", json_integer((json_int_t)r->wins));
            json_object_set_new(m, "losses", json_integer((json_int_t)r->losses));
            json_object_set_new(m, "ties", json_integer((json_int_t)r->ties));
            struct rater_winrate wr;
            if (model_winrate(a, b, prefs, fmt, r->model, &wr)) {
                json_object_set_new(m, "win_rate", jnum(wr.win_rate));
                json_object_set_new(m, "standard_error", jnum(wr.standard_error));
                json_object_set_new(m, "n_wins", json_integer((json_int_t)wr.n_wins));
                json_object_set_new(m, "n_wins_base", json_integer((json_int_t)wr.n_wins_base));
                json_object_set_new(m, "n_draws", json_integer((json_int_t)wr.n_draws));
                json_object_set_new(m, "n_total", json_integer((json_int_t)wr.n_total));
                json_object_set_new(m, "discrete_win_rate", jnum(wr.discrete_win_rate));
            }
            json_array_append_new(models, m);
        }
        json_object_set_new(root, "models", models);
        if (a->baseline) {
            json_object_set_new(root, "baseline", json_string(a->baseline));
        }
        if (cons) {
            json_t *c = json_object();
            json_object_set_new(c, "n_common", json_integer((json_int_t)cons->n_common));
            json_object_set_new(c, "spearman", jnum(cons->spearman));
            json_object_set_new(c, "kendall_tau_b", jnum(cons->kendall_tau_b));
            json_object_set_new(c, "separability", jnum(cons->separability));
            json_object_set_new(c, "agreement_ci", jnum(cons->agreement_ci));
            json_object_set_new(c, "ref_separated_pairs",
                                json_integer((json_int_t)cons->ref_separated));
            json_object_set_new(c, "pairs", json_integer((json_int_t)cons->pairs));
            json_object_set_new(root, "consistency", c);
        }
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        json_decref(root);
        if (!s) {
            fprintf(stderr, "arenactl rate: cannot serialise JSON\n");
            return 1;
        }
        printf("%s\n", s);
        free(s);
        return 0;
    }
    bool csv = strcmp(out, "csv") == 0;
    if (!csv && strcmp(out, "table") != 0) {
        fprintf(stderr, "arenactl rate: unknown --output '%s' (table|json|csv)\n", out);
        return 2;
    }
    if (csv) {
        printf("model,rating,ci_low,ci_high,rank,games,wins,losses,ties%s\n",
               a->baseline ? ",win_rate,standard_error,n_wins,n_wins_base,n_draws,n_total,"
                             "discrete_win_rate"
                           : "");
    } else {
        printf("%-5s %-40s %9s %17s %8s %8s %8s %8s%s\n", "rank", "model", "rating", "95% CI",
               "games", "wins", "losses", "ties", a->baseline ? "   win_rate (se)" : "");
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct rater_row *r = &t->rows[i];
        struct rater_winrate wr;
        bool has_wr = model_winrate(a, b, prefs, fmt, r->model, &wr);
        if (csv) {
            printf("\"%s\",%.6f,%.6f,%.6f,%u,%llu,%llu,%llu,%llu", r->model, r->rating, r->ci_low,
                   r->ci_high, r->rank, (unsigned long long)r->games, (unsigned long long)r->wins,
                   (unsigned long long)r->losses, (unsigned long long)r->ties);
            if (a->baseline && has_wr) {
                printf(",%.10f,%.10f,%llu,%llu,%llu,%llu,%.10f", wr.win_rate, wr.standard_error,
                       (unsigned long long)wr.n_wins, (unsigned long long)wr.n_wins_base,
                       (unsigned long long)wr.n_draws, (unsigned long long)wr.n_total,
                       wr.discrete_win_rate);
            } else if (a->baseline) {
                printf(",,,,,,,");
            }
            printf("\n");
        } else {
            char ci[64];
            snprintf(ci, sizeof(ci), "%+.1f/%+.1f", r->ci_low - r->rating, r->ci_high - r->rating);
            printf("%-5u %-40s %9.2f %17s %8llu %8llu %8llu %8llu", r->rank, r->model, r->rating,
                   ci, (unsigned long long)r->games, (unsigned long long)r->wins,
                   (unsigned long long)r->losses, (unsigned long long)r->ties);
            if (has_wr) {
                printf("   %6.2f (%.2f)", wr.win_rate, wr.standard_error);
            }
            printf("\n");
        }
    }
    if (cons && !csv) {
        printf("\nconsistency with the reference (%zu common models): spearman %.4f  "
               "kendall_tau_b %.4f  separability %.4f  agreement_ci %.4f\n",
               cons->n_common, cons->spearman, cons->kendall_tau_b, cons->separability,
               cons->agreement_ci);
    }
    return 0;
}

int arenactl_rate(const struct arena_config *cfg, int argc, char **argv)
{
    (void)cfg;
    struct rate_args a = {.bootstrap = 100, .threads = 2, .seed = 42};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char **sval = NULL;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            rate_usage(stdout);
            free(a.anchor_model);
            return 0;
        }
        if (!strcmp(o, "--skip-bad")) {
            a.skip_bad = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "arenactl rate: %s needs a value (or is unknown)\n", o);
            rate_usage(stderr);
            free(a.anchor_model);
            return 2;
        }
        const char *v = argv[++i];
        long l;
        if (!strcmp(o, "--input")) {
            sval = &a.input;
        } else if (!strcmp(o, "--format")) {
            sval = &a.format;
        } else if (!strcmp(o, "--method")) {
            sval = &a.method;
        } else if (!strcmp(o, "--baseline")) {
            sval = &a.baseline;
        } else if (!strcmp(o, "--reference")) {
            sval = &a.reference;
        } else if (!strcmp(o, "--output")) {
            sval = &a.output;
        } else if (!strcmp(o, "--rating")) {
            sval = &a.rating;
        } else if (!strcmp(o, "--bootstrap") || !strcmp(o, "--threads")) {
            bool boot = !strcmp(o, "--bootstrap");
            if (!parse_long(v, boot ? 0 : 1, boot ? 100000 : 1024, &l)) {
                fprintf(stderr, "arenactl rate: bad %s '%s' (integer in [%d, %d])\n", o, v,
                        boot ? 0 : 1, boot ? 100000 : 1024);
                free(a.anchor_model);
                return 2;
            }
            *(boot ? &a.bootstrap : &a.threads) = l;
            continue;
        } else if (!strcmp(o, "--seed")) {
            char *end;
            errno = 0;
            a.seed = strtoull(v, &end, 10);
            if (errno || end == v || *end || *v == '-') {
                fprintf(stderr, "arenactl rate: bad --seed '%s'\n", v);
                free(a.anchor_model);
                return 2;
            }
            continue;
        } else if (!strcmp(o, "--anchor")) {
            const char *eq = strrchr(v, '=');
            char *end = NULL;
            if (eq) {
                a.anchor_rating = strtod(eq + 1, &end);
            }
            if (!eq || eq == v || !end || end == eq + 1 || *end || !isfinite(a.anchor_rating)) {
                fprintf(stderr, "arenactl rate: bad --anchor '%s' (MODEL=RATING)\n", v);
                free(a.anchor_model);
                return 2;
            }
            free(a.anchor_model);
            a.anchor_model = arena_xstrndup(v, (size_t)(eq - v));
            continue;
        } else {
            fprintf(stderr, "arenactl rate: unknown option '%s'\n", o);
            rate_usage(stderr);
            free(a.anchor_model);
            return 2;
        }
        *sval = v;
    }
    if (!a.input) {
        fprintf(stderr, "arenactl rate: --input is required\n");
        rate_usage(stderr);
        return 2;
    }
    enum rater_format fmt = RATER_FORMAT_AUTO;
    if (a.format && rater_format_from_name(a.format, &fmt) != ARENA_ERR_OK) {
        fprintf(stderr,
                "arenactl rate: unknown --format '%s' (fastchat|results|alpaca-eval|arena-hard)\n",
                a.format);
        free(a.anchor_model);
        return 2;
    }
    if (a.rating && strcmp(a.rating, "mle") != 0 && strcmp(a.rating, "median") != 0) {
        fprintf(stderr, "arenactl rate: unknown --rating '%s' (mle|median)\n", a.rating);
        free(a.anchor_model);
        return 2;
    }
    if (a.output && strcmp(a.output, "table") && strcmp(a.output, "json") &&
        strcmp(a.output, "csv")) {
        fprintf(stderr, "arenactl rate: unknown --output '%s' (table|json|csv)\n", a.output);
        free(a.anchor_model);
        return 2;
    }

    int rc = 1;
    char err[512];
    size_t len = 0, rlen = 0;
    char *buf = NULL, *rbuf = NULL;
    struct rater_battles *b = rater_battles_new();
    struct rater_prefs prefs = {0};
    struct rater_table t = {0};
    struct rater_reference ref = {0};
    struct rater_consistency cons;
    bool have_cons = false;

    buf = arena_read_file(a.input, &len, err, sizeof(err));
    if (!buf) {
        fprintf(stderr, "arenactl rate: %s\n", err);
        goto out;
    }
    struct rater_load_opts lo = {
        .format = fmt, .skip_bad = a.skip_bad, .name = a.input, .arena_hard_model = a.baseline};
    struct rater_load_stats st;
    if (rater_formats_load(buf, len, &lo, b, &prefs, &st, err, sizeof(err)) != ARENA_ERR_OK) {
        fprintf(stderr, "arenactl rate: %s\n", err);
        goto out;
    }
    fprintf(stderr, "arenactl rate: %s: format %s, %llu records, %llu battles, %zu models\n",
            a.input, rater_format_name(st.format), (unsigned long long)st.records,
            (unsigned long long)st.battles, rater_battles_models(b));
    if (st.skipped_bad) {
        fprintf(stderr, "arenactl rate: skipped %llu bad record(s) (--skip-bad); first: %s\n",
                (unsigned long long)st.skipped_bad, st.first_bad);
    }
    if (st.skipped_null) {
        fprintf(stderr, "arenactl rate: skipped %llu record(s) with a null preference/score\n",
                (unsigned long long)st.skipped_null);
    }
    if (st.skipped_error) {
        fprintf(stderr, "arenactl rate: skipped %llu battle(s) with an *_ERROR outcome\n",
                (unsigned long long)st.skipped_error);
    }
    if (rater_battles_count(b) == 0) {
        fprintf(stderr, "arenactl rate: %s: no battles to rate\n", a.input);
        goto out;
    }
    if (a.baseline && rater_battles_model_index(b, a.baseline) < 0) {
        fprintf(stderr, "arenactl rate: baseline '%s' has no battles in %s\n", a.baseline, a.input);
        goto out;
    }
    struct rater_opts ro;
    rater_opts_default(&ro);
    ro.method = a.method ? a.method : "bt";
    ro.bootstrap = (int)a.bootstrap;
    ro.seed = a.seed;
    ro.threads = (int)a.threads;
    ro.anchor_model = a.anchor_model;
    ro.anchor_rating = a.anchor_rating;
    ro.rating_median = a.rating && !strcmp(a.rating, "median");
    if (rater_compute(b, &ro, &t, err, sizeof(err)) != ARENA_ERR_OK) {
        fprintf(stderr, "arenactl rate: %s\n", err);
        rc = 2;
        goto out;
    }
    if (t.components > 1) {
        fprintf(stderr,
                "arenactl rate: warning: the comparison graph has %u disconnected components; "
                "ratings across components are not comparable (each is centred by the ridge)\n",
                t.components);
    }
    if (a.reference) {
        rbuf = arena_read_file(a.reference, &rlen, err, sizeof(err));
        if (!rbuf) {
            fprintf(stderr, "arenactl rate: %s\n", err);
            goto out;
        }
        if (rater_reference_load(rbuf, rlen, a.reference, &ref, err, sizeof(err)) != ARENA_ERR_OK ||
            rater_consistency_compute(&t, &ref, &cons, err, sizeof(err)) != ARENA_ERR_OK) {
            fprintf(stderr, "arenactl rate: reference: %s\n", err);
            goto out;
        }
        have_cons = true;
    }
    rc = print_output(&a, &t, b, &prefs, st.format, have_cons ? &cons : NULL, ro.method);
out:
    free(buf);
    free(rbuf);
    free(a.anchor_model);
    rater_reference_fini(&ref);
    rater_table_fini(&t);
    rater_prefs_fini(&prefs);
    rater_battles_destroy(b);
    return rc;
}
