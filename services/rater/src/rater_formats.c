/* rater_formats.c - battle files -> rater_battles (see rater_formats.h). */
#include "rater_formats.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/util.h"

#define ARENA_HARD_DEFAULT_BASELINE "gpt-4-0314"
#define ARENA_HARD_STRONG_WEIGHT 3.0

static const char *const format_names[] = {"auto", "fastchat", "results", "alpaca-eval",
                                           "arena-hard"};

const char *rater_format_name(enum rater_format f)
{
    if ((unsigned)f < sizeof(format_names) / sizeof(format_names[0])) {
        return format_names[f];
    }
    return "?";
}

arena_err_t rater_format_from_name(const char *name, enum rater_format *f)
{
    for (size_t i = 0; name && i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *f = (enum rater_format)i;
            return ARENA_ERR_OK;
        }
    }
    return ARENA_ERR_INVALID;
}

void rater_prefs_fini(struct rater_prefs *p)
{
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        free(p->m[i].model);
        free(p->m[i].baseline);
        free(p->m[i].p);
    }
    free(p->m);
    memset(p, 0, sizeof(*p));
}

const struct rater_prefs_model *rater_prefs_find(const struct rater_prefs *p, const char *model,
                                                 const char *baseline)
{
    for (size_t i = 0; p && model && i < p->n; i++) {
        if (strcmp(p->m[i].model, model) == 0 &&
            (!baseline || strcmp(p->m[i].baseline, baseline) == 0)) {
            return &p->m[i];
        }
    }
    return NULL;
}

static void prefs_add(struct rater_prefs *p, const char *model, const char *baseline, double v)
{
    struct rater_prefs_model *m = NULL;
    /* records come grouped by model in practice: look at the last entry first */
    if (p->n && strcmp(p->m[p->n - 1].model, model) == 0 &&
        strcmp(p->m[p->n - 1].baseline, baseline) == 0) {
        m = &p->m[p->n - 1];
    } else {
        m = (struct rater_prefs_model *)rater_prefs_find(p, model, baseline);
    }
    if (!m) {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 8;
            p->m = arena_xrealloc(p->m, p->cap * sizeof(*p->m));
        }
        m = &p->m[p->n++];
        memset(m, 0, sizeof(*m));
        m->model = arena_xstrdup(model);
        m->baseline = arena_xstrdup(baseline);
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->p = arena_xrealloc(m->p, m->cap * sizeof(double));
    }
    m->p[m->n++] = v;
}

/* ------------------------------------------------------------------ record iteration */

struct load_ctx {
    const struct rater_load_opts *o;
    const char *name;
    struct rater_battles *b;
    struct rater_prefs *prefs;
    struct rater_load_stats *st;
    enum rater_format fmt;
    char *errstr;
    size_t errstr_size;
};

/* A bad record: error, or counted when skip_bad. */
static arena_err_t bad(struct load_ctx *lc, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static arena_err_t bad(struct load_ctx *lc, size_t line, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (lc->st->first_bad[0] == '\0') {
        snprintf(lc->st->first_bad, sizeof(lc->st->first_bad), "%s:%zu: %s", lc->name, line, why);
    }
    if (lc->o->skip_bad) {
        lc->st->skipped_bad++;
        return ARENA_ERR_OK;
    }
    return arena_err_set(lc->errstr, lc->errstr_size, ARENA_ERR_PARSE, "%s:%zu: %s", lc->name, line,
                         why);
}

static const char *get_str(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool valid_model(const char *s)
{
    return s && *s && strlen(s) <= 512;
}

static arena_err_t add_battle(struct load_ctx *lc, size_t line, const char *a, const char *b,
                              enum rater_outcome o, double w)
{
    if (strcmp(a, b) == 0) {
        return bad(lc, line, "model_a and model_b are the same model '%s'", a);
    }
    rater_battles_add(lc->b, a, b, o, w);
    lc->st->battles++;
    return ARENA_ERR_OK;
}

static arena_err_t rec_fastchat(struct load_ctx *lc, json_t *rec, size_t line)
{
    const char *a = get_str(rec, "model_a"), *b = get_str(rec, "model_b");
    const char *w = get_str(rec, "winner");
    if (!valid_model(a) || !valid_model(b)) {
        return bad(lc, line, "model_a/model_b missing or not a non-empty string");
    }
    if (!w) {
        return bad(lc, line, "winner missing or not a string");
    }
    enum rater_outcome o;
    if (strcmp(w, "model_a") == 0) {
        o = RATER_A_WINS;
    } else if (strcmp(w, "model_b") == 0) {
        o = RATER_B_WINS;
    } else if (strcmp(w, "tie") == 0 || strcmp(w, "tie (bothbad)") == 0) {
        o = RATER_TIE;
    } else {
        return bad(lc, line, "unknown winner '%.60s' (model_a|model_b|tie|tie (bothbad))", w);
    }
    return add_battle(lc, line, a, b, o, 1.0);
}

static arena_err_t rec_results(struct load_ctx *lc, json_t *rec, size_t line)
{
    const char *a = get_str(rec, "model_a"), *b = get_str(rec, "model_b");
    if (!valid_model(a) || !valid_model(b)) {
        return bad(lc, line, "model_a/model_b missing or not a non-empty string");
    }
    json_t *ov = json_object_get(rec, "outcome");
    int code = -1;
    if (json_is_string(ov)) {
        const char *s = json_string_value(ov);
        static const char *const names[] = {"OUTCOME_UNSPECIFIED", "OUTCOME_MODEL_A",
                                            "OUTCOME_MODEL_B",     "OUTCOME_TIE",
                                            "OUTCOME_JUDGE_ERROR", "OUTCOME_GENERATION_ERROR"};
        for (int i = 0; i < 6; i++) {
            if (strcmp(s, names[i]) == 0) {
                code = i;
            }
        }
    } else if (json_is_integer(ov)) {
        json_int_t v = json_integer_value(ov);
        code = (v >= 0 && v <= 5) ? (int)v : -1;
    }
    if (code <= 0) {
        return bad(lc, line, "outcome missing, unspecified or unknown");
    }
    if (code >= 4) {
        lc->st->skipped_error++;
        return ARENA_ERR_OK;
    }
    double w = 1.0;
    json_t *wv = json_object_get(rec, "weight");
    if (wv && !json_is_null(wv)) {
        if (!json_is_number(wv)) {
            return bad(lc, line, "weight is not a number");
        }
        w = json_number_value(wv);
        if (w == 0) {
            w = 1.0; /* proto3 default: unset */
        }
        if (!isfinite(w) || w < 0 || w > 1e6) {
            return bad(lc, line, "weight %g out of range (0, 1e6]", w);
        }
    }
    enum rater_outcome o = code == 1 ? RATER_A_WINS : code == 2 ? RATER_B_WINS : RATER_TIE;
    return add_battle(lc, line, a, b, o, w);
}

static arena_err_t rec_alpaca(struct load_ctx *lc, json_t *rec, size_t line)
{
    const char *base = get_str(rec, "generator_1"), *model = get_str(rec, "generator_2");
    if (!valid_model(base) || !valid_model(model)) {
        return bad(lc, line, "generator_1/generator_2 missing or not a non-empty string");
    }
    json_t *pv = json_object_get(rec, "preference");
    double p;
    if (!pv) {
        return bad(lc, line, "preference missing");
    }
    if (json_is_null(pv)) {
        lc->st->skipped_null++;
        return ARENA_ERR_OK;
    }
    if (json_is_number(pv)) {
        p = json_number_value(pv);
    } else if (json_is_string(pv)) {
        const char *s = json_string_value(pv);
        char *end = NULL;
        while (isspace((unsigned char)*s)) {
            s++;
        }
        if (*s == '\0' || strcasecmp(s, "nan") == 0 || strcasecmp(s, "null") == 0) {
            lc->st->skipped_null++;
            return ARENA_ERR_OK;
        }
        p = strtod(s, &end);
        while (end && isspace((unsigned char)*end)) {
            end++;
        }
        if (end == s || !end || *end != '\0') {
            return bad(lc, line, "preference '%.40s' is not a number", json_string_value(pv));
        }
    } else {
        return bad(lc, line, "preference is neither a number nor a string");
    }
    if (isnan(p)) {
        lc->st->skipped_null++;
        return ARENA_ERR_OK;
    }
    if (p == 0) {
        p = 1.5; /* AlpacaEval's legacy encoding of a draw */
    }
    if (!(p >= 1 && p <= 2)) {
        return bad(lc, line, "preference %g outside [1, 2]", p);
    }
    if (strcmp(base, model) == 0) {
        return bad(lc, line, "generator_1 and generator_2 are the same model '%s'", base);
    }
    if (lc->prefs) {
        prefs_add(lc->prefs, model, base, p);
    }
    enum rater_outcome o = p > 1.5 ? RATER_B_WINS : p < 1.5 ? RATER_A_WINS : RATER_TIE;
    return add_battle(lc, line, base, model, o, 1.0);
}

/* Arena-Hard verdict of one game, from the A side: +2 A>>B, +1 A>B, 0 tie, -1, -2. */
static bool parse_score(const char *s, int *v)
{
    static const struct {
        const char *s;
        int v;
    } t[] = {{"A>>B", 2}, {"A>B", 1}, {"A=B", 0}, {"B=A", 0}, {"B>A", -1}, {"B>>A", -2}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcmp(s, t[i].s) == 0) {
            *v = t[i].v;
            return true;
        }
    }
    return false;
}

static arena_err_t rec_arena_hard(struct load_ctx *lc, json_t *rec, size_t line)
{
    const char *model = get_str(rec, "model");
    const char *base = get_str(rec, "baseline");
    if (!base) {
        base = lc->o->arena_hard_model ? lc->o->arena_hard_model : ARENA_HARD_DEFAULT_BASELINE;
    }
    if (!valid_model(model)) {
        return bad(lc, line, "model missing or not a non-empty string");
    }
    if (strcmp(model, base) == 0) {
        return bad(lc, line, "model is the baseline '%s'", base);
    }
    json_t *games = json_object_get(rec, "games");
    if (!json_is_array(games) || json_array_size(games) != 2) {
        return bad(lc, line, "games must be an array of 2 games");
    }
    int v[2];
    bool has[2];
    for (size_t g = 0; g < 2; g++) {
        json_t *game = json_array_get(games, g);
        if (!json_is_object(game)) {
            return bad(lc, line, "game %zu is not an object", g + 1);
        }
        json_t *sv = json_object_get(game, "score");
        has[g] = sv && !json_is_null(sv);
        if (has[g] && (!json_is_string(sv) || !parse_score(json_string_value(sv), &v[g]))) {
            return bad(lc, line, "game %zu: unknown score (A>>B|A>B|A=B|B>A|B>>A or null)", g + 1);
        }
    }
    for (size_t g = 0; g < 2; g++) {
        if (!has[g]) {
            lc->st->skipped_null++;
            continue;
        }
        /* game 1: A = baseline, B = model; game 2: A = model, B = baseline. Battles are
         * recorded as (baseline, model) as Arena-Hard-Auto does. */
        int s = g == 0 ? v[g] : -v[g]; /* from the baseline's side */
        enum rater_outcome o = s > 0 ? RATER_A_WINS : s < 0 ? RATER_B_WINS : RATER_TIE;
        double w = (s == 2 || s == -2) ? ARENA_HARD_STRONG_WEIGHT : 1.0;
        arena_err_t e = add_battle(lc, line, base, model, o, w);
        if (e != ARENA_ERR_OK) {
            return e;
        }
    }
    return ARENA_ERR_OK;
}

static arena_err_t handle_record(struct load_ctx *lc, json_t *rec, size_t line)
{
    lc->st->records++;
    if (!json_is_object(rec)) {
        return bad(lc, line, "record is not a JSON object");
    }
    switch (lc->fmt) {
    case RATER_FORMAT_FASTCHAT:
        return rec_fastchat(lc, rec, line);
    case RATER_FORMAT_RESULTS:
        return rec_results(lc, rec, line);
    case RATER_FORMAT_ALPACA_EVAL:
        return rec_alpaca(lc, rec, line);
    case RATER_FORMAT_ARENA_HARD:
        return rec_arena_hard(lc, rec, line);
    default:
        return arena_err_set(lc->errstr, lc->errstr_size, ARENA_ERR_INVALID, "no format");
    }
}

static size_t skip_ws(const char *buf, size_t len, size_t pos, size_t *line)
{
    while (pos < len && isspace((unsigned char)buf[pos])) {
        if (buf[pos] == '\n') {
            (*line)++;
        }
        pos++;
    }
    return pos;
}

static size_t count_lines(const char *buf, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        n += buf[i] == '\n';
    }
    return n;
}

static size_t skip_bom(const char *buf, size_t len)
{
    return (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
            (unsigned char)buf[2] == 0xBF)
               ? 3
               : 0;
}

typedef arena_err_t (*record_cb)(void *ctx, json_t *rec, size_t line, bool *stop);

/* Call cb for each element of a top-level JSON array or each non-blank JSON line. A syntax
 * error in an array is fatal (ARENA_ERR_PARSE); in JSON lines it is passed to cb as rec=NULL
 * with the reason in `why`. */
static arena_err_t for_each_record(const char *buf, size_t len, const char *name, record_cb cb,
                                   void *ctx, char *why, size_t whyn, char *errstr,
                                   size_t errstr_size)
{
    size_t line = 1;
    size_t pos = skip_ws(buf, len, skip_bom(buf, len), &line);
    bool stop = false;
    if (pos < len && buf[pos] == '[') {
        pos = skip_ws(buf, len, pos + 1, &line);
        if (pos < len && buf[pos] == ']') {
            pos++;
        } else {
            for (;;) {
                json_error_t jerr;
                json_t *rec = json_loadb(buf + pos, len - pos,
                                         JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
                if (!rec) {
                    return arena_err_set(
                        errstr, errstr_size, ARENA_ERR_PARSE, "%s:%zu: invalid JSON: %s", name,
                        line + (jerr.line > 0 ? (size_t)jerr.line - 1 : 0), jerr.text);
                }
                size_t rec_line = line;
                size_t used = (size_t)jerr.position;
                line += count_lines(buf, pos, pos + used);
                pos += used;
                arena_err_t e = cb(ctx, rec, rec_line, &stop);
                json_decref(rec);
                if (e != ARENA_ERR_OK) {
                    return e;
                }
                if (stop) {
                    return ARENA_ERR_OK;
                }
                pos = skip_ws(buf, len, pos, &line);
                if (pos < len && buf[pos] == ',') {
                    pos = skip_ws(buf, len, pos + 1, &line);
                    continue;
                }
                if (pos < len && buf[pos] == ']') {
                    pos++;
                    break;
                }
                return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                     "%s:%zu: expected ',' or ']' in the JSON array", name, line);
            }
        }
        pos = skip_ws(buf, len, pos, &line);
        if (pos != len) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                 "%s:%zu: trailing data after the JSON array", name, line);
        }
        return ARENA_ERR_OK;
    }
    /* JSON lines */
    pos = skip_bom(buf, len);
    line = 1;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t s = pos, e = end;
        while (s < e && isspace((unsigned char)buf[s])) {
            s++;
        }
        while (e > s && isspace((unsigned char)buf[e - 1])) {
            e--;
        }
        if (e > s) {
            json_error_t jerr;
            json_t *rec = json_loadb(buf + s, e - s, JSON_DECODE_ANY, &jerr);
            if (!rec) {
                snprintf(why, whyn, "invalid JSON: %s", jerr.text);
            }
            arena_err_t err = cb(ctx, rec, line, &stop);
            json_decref(rec);
            if (err != ARENA_ERR_OK) {
                return err;
            }
            if (stop) {
                return ARENA_ERR_OK;
            }
        }
        line++;
        pos = end + 1;
    }
    return ARENA_ERR_OK;
}

struct load_cb_ctx {
    struct load_ctx *lc;
    char why[200];
};

static arena_err_t load_cb(void *ctx, json_t *rec, size_t line, bool *stop)
{
    struct load_cb_ctx *c = ctx;
    (void)stop;
    if (!rec) {
        c->lc->st->records++;
        return bad(c->lc, line, "%s", c->why);
    }
    return handle_record(c->lc, rec, line);
}

static enum rater_format detect_record(json_t *rec)
{
    if (!json_is_object(rec)) {
        return RATER_FORMAT_AUTO;
    }
    if (json_object_get(rec, "games")) {
        return RATER_FORMAT_ARENA_HARD;
    }
    if (json_object_get(rec, "outcome")) {
        return RATER_FORMAT_RESULTS;
    }
    if (json_object_get(rec, "winner")) {
        return RATER_FORMAT_FASTCHAT;
    }
    if (json_object_get(rec, "generator_2") || json_object_get(rec, "preference")) {
        return RATER_FORMAT_ALPACA_EVAL;
    }
    return RATER_FORMAT_AUTO;
}

struct detect_ctx {
    enum rater_format f;
};

static arena_err_t detect_cb(void *ctx, json_t *rec, size_t line, bool *stop)
{
    struct detect_ctx *d = ctx;
    (void)line;
    if (rec) {
        d->f = detect_record(rec);
    }
    *stop = true; /* the first record decides */
    return ARENA_ERR_OK;
}

enum rater_format rater_format_detect(const char *buf, size_t len)
{
    struct detect_ctx d = {RATER_FORMAT_AUTO};
    char why[200], err[256];
    if (!buf) {
        return RATER_FORMAT_AUTO;
    }
    (void)for_each_record(buf, len, "", detect_cb, &d, why, sizeof(why), err, sizeof(err));
    return d.f;
}

arena_err_t rater_formats_load(const char *buf, size_t len, const struct rater_load_opts *o,
                               struct rater_battles *b, struct rater_prefs *prefs,
                               struct rater_load_stats *st, char *errstr, size_t errstr_size)
{
    memset(st, 0, sizeof(*st));
    const char *name = o->name ? o->name : "<input>";
    enum rater_format f = o->format;
    if (f == RATER_FORMAT_AUTO) {
        f = rater_format_detect(buf, len);
        if (f == RATER_FORMAT_AUTO) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                 "%s: cannot detect the format from the first record (expected "
                                 "fastchat, results, alpaca-eval or arena-hard records); pass "
                                 "--format",
                                 name);
        }
    }
    st->format = f;
    struct load_ctx lc = {.o = o,
                          .name = name,
                          .b = b,
                          .prefs = prefs,
                          .st = st,
                          .fmt = f,
                          .errstr = errstr,
                          .errstr_size = errstr_size};
    struct load_cb_ctx c = {.lc = &lc};
    if (!buf || len == 0) {
        return ARENA_ERR_OK;
    }
    arena_err_t e =
        for_each_record(buf, len, name, load_cb, &c, c.why, sizeof(c.why), errstr, errstr_size);
    if (e == ARENA_ERR_OK && st->records == 0) {
        return ARENA_ERR_OK;
    }
    return e;
}

/* ------------------------------------------------------------------ reference leaderboards */

static const char *const model_keys[] = {"model", "name", "model_name", NULL};
static const char *const rating_keys[] = {"rating", "elo",      "arena_score",
                                          "score",  "win_rate", NULL};
static const char *const low_keys[] = {"ci_low", "lower", "ci_lower", NULL};
static const char *const high_keys[] = {"ci_high", "upper", "ci_upper", NULL};

static int key_index(const char *const *keys, const char *k)
{
    for (int i = 0; keys[i]; i++) {
        if (strcasecmp(keys[i], k) == 0) {
            return i;
        }
    }
    return -1;
}

static void ref_add(struct rater_reference *r, size_t *cap, const char *model, double rating,
                    double lo, double hi)
{
    if (r->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        r->rows = arena_xrealloc(r->rows, *cap * sizeof(*r->rows));
    }
    r->rows[r->n++] = (struct rater_ref_row){arena_xstrdup(model), rating, lo, hi};
}

static double json_num(json_t *v)
{
    if (json_is_number(v)) {
        return json_number_value(v);
    }
    if (json_is_string(v)) {
        char *end;
        double d = strtod(json_string_value(v), &end);
        return (*json_string_value(v) && *end == '\0') ? d : NAN;
    }
    return NAN;
}

static json_t *obj_get_any(json_t *o, const char *const *keys)
{
    for (int i = 0; keys[i]; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (v && !json_is_null(v)) {
            return v;
        }
    }
    return NULL;
}

static arena_err_t ref_json(json_t *root, const char *name, struct rater_reference *ref,
                            char *errstr, size_t errstr_size)
{
    json_t *arr = json_is_array(root) ? root : json_object_get(root, "models");
    size_t cap = 0;
    if (!json_is_array(arr)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                             "%s: expected a JSON array or an object with \"models\"", name);
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        json_t *m = json_is_object(o) ? obj_get_any(o, model_keys) : NULL;
        double r = json_is_object(o) ? json_num(obj_get_any(o, rating_keys)) : NAN;
        if (!json_is_string(m) || !*json_string_value(m) || !isfinite(r)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                 "%s: entry %zu: needs a model name and a numeric rating", name,
                                 i + 1);
        }
        double lo = json_num(obj_get_any(o, low_keys)), hi = json_num(obj_get_any(o, high_keys));
        ref_add(ref, &cap, json_string_value(m), r, lo, hi);
    }
    return ARENA_ERR_OK;
}

/* one CSV field (RFC 4180 quotes); returns the position after the separator or line end */
static size_t csv_field(const char *buf, size_t len, size_t pos, struct arena_buf *out, bool *eol)
{
    arena_buf_reset(out);
    arena_buf_append(out, "", 0);
    *eol = false;
    if (pos < len && buf[pos] == '"') {
        pos++;
        while (pos < len) {
            if (buf[pos] == '"') {
                if (pos + 1 < len && buf[pos + 1] == '"') {
                    arena_buf_append(out, "\"", 1);
                    pos += 2;
                    continue;
                }
                pos++;
                break;
            }
            arena_buf_append(out, buf + pos, 1);
            pos++;
        }
    }
    while (pos < len && buf[pos] != ',' && buf[pos] != '\n') {
        if (buf[pos] != '\r') {
            arena_buf_append(out, buf + pos, 1);
        }
        pos++;
    }
    if (pos >= len || buf[pos] == '\n') {
        *eol = true;
    }
    return pos + 1;
}

static arena_err_t ref_csv(const char *buf, size_t len, const char *name,
                           struct rater_reference *ref, char *errstr, size_t errstr_size)
{
    struct arena_buf f;
    arena_buf_init(&f);
    int cm = -1, cr = -1, cl = -1, ch = -1, rprio = 99;
    size_t pos = skip_bom(buf, len), cap = 0, line = 1;
    bool eol = false;
    arena_err_t e = ARENA_ERR_OK;
    for (int col = 0; !eol && pos <= len; col++) {
        pos = csv_field(buf, len, pos, &f, &eol);
        const char *h = f.data ? f.data : "";
        int k;
        if (key_index(model_keys, h) >= 0 || (col == 0 && *h == '\0')) {
            cm = cm < 0 ? col : cm;
        } else if ((k = key_index(rating_keys, h)) >= 0 && k < rprio) {
            cr = col;
            rprio = k;
        } else if (key_index(low_keys, h) >= 0) {
            cl = col;
        } else if (key_index(high_keys, h) >= 0) {
            ch = col;
        }
    }
    if (cm < 0 || cr < 0) {
        arena_buf_fini(&f);
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                             "%s:1: CSV header needs a model column (model|name, or an unnamed "
                             "first column) and a rating column (rating|elo|arena_score|score|"
                             "win_rate)",
                             name);
    }
    while (pos < len) {
        line++;
        char *model = NULL;
        double r = NAN, lo = NAN, hi = NAN;
        bool blank = true;
        eol = false;
        for (int col = 0; !eol; col++) {
            pos = csv_field(buf, len, pos, &f, &eol);
            const char *v = f.data ? f.data : "";
            if (*v) {
                blank = false;
            }
            char *end;
            double d = strtod(v, &end);
            bool num = *v && *end == '\0';
            if (col == cm) {
                free(model);
                model = arena_xstrdup(v);
            } else if (col == cr) {
                r = num ? d : NAN;
            } else if (col == cl) {
                lo = num ? d : NAN;
            } else if (col == ch) {
                hi = num ? d : NAN;
            }
        }
        if (blank) {
            free(model);
            continue;
        }
        if (!model || !*model || !isfinite(r)) {
            free(model);
            e = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                              "%s:%zu: row needs a model name and a numeric rating", name, line);
            break;
        }
        ref_add(ref, &cap, model, r, lo, hi);
        free(model);
    }
    arena_buf_fini(&f);
    return e;
}

arena_err_t rater_reference_load(const char *buf, size_t len, const char *name,
                                 struct rater_reference *ref, char *errstr, size_t errstr_size)
{
    memset(ref, 0, sizeof(*ref));
    name = name ? name : "<reference>";
    size_t line = 1;
    size_t pos = skip_ws(buf, len, skip_bom(buf, len), &line);
    arena_err_t e;
    if (pos < len && (buf[pos] == '[' || buf[pos] == '{')) {
        json_error_t jerr;
        json_t *root = json_loadb(buf + pos, len - pos, 0, &jerr);
        if (!root) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "%s:%d: invalid JSON: %s",
                                 name, jerr.line + (int)line - 1, jerr.text);
        }
        e = ref_json(root, name, ref, errstr, errstr_size);
        json_decref(root);
    } else {
        e = ref_csv(buf, len, name, ref, errstr, errstr_size);
    }
    if (e == ARENA_ERR_OK && ref->n == 0) {
        e = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "%s: no models", name);
    }
    if (e != ARENA_ERR_OK) {
        rater_reference_fini(ref);
    }
    return e;
}
