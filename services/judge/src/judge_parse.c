/* judge_parse.c - verdict parsing of judge outputs (rules in judge_parse.h). */
#include "judge_parse.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCORE_MIN 1.0
#define SCORE_MAX 10.0
#define MAX_CANDIDATES 64

static arena_err_t fail(struct judge_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static arena_err_t fail(struct judge_verdict *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->error, sizeof(v->error), fmt, ap);
    va_end(ap);
    v->score_first = 0;
    v->score_second = 0;
    v->label[0] = '\0';
    return ARENA_ERR_PARSE;
}

static int is_word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* U+2019 RIGHT SINGLE QUOTATION MARK, as in "Assistant A’s" */
static int is_right_quote(const char *p)
{
    return (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
           (unsigned char)p[2] == 0x99;
}

/* U+FF1A FULLWIDTH COLON, as in "Assistant A：8" */
static int is_fw_colon(const char *p)
{
    return (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBC &&
           (unsigned char)p[2] == 0x9A;
}

static int is_hspace(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Unsigned decimal "8", "8.5", "8." -> value; returns chars consumed or 0. */
static size_t parse_number(const char *p, double *out)
{
    size_t i = 0;
    double v = 0;
    int digits = 0;
    while (isdigit((unsigned char)p[i]) && digits < 12) {
        v = v * 10 + (p[i] - '0');
        i++;
        digits++;
    }
    if (!digits || isdigit((unsigned char)p[i])) {
        return 0;
    }
    if (p[i] == '.' && isdigit((unsigned char)p[i + 1])) {
        double scale = 0.1;
        i++;
        int frac = 0;
        while (isdigit((unsigned char)p[i])) {
            if (frac++ < 9) {
                v += (p[i] - '0') * scale;
                scale /= 10;
            }
            i++;
        }
    }
    *out = v;
    return i;
}

/* Optional "/10" (spaces allowed) after a number: returns chars consumed; -1 if another
 * denominator follows (a different scale). */
static long parse_out_of_ten(const char *p)
{
    size_t i = 0;
    while (p[i] == ' ') {
        i++;
    }
    if (p[i] != '/') {
        return 0;
    }
    i++;
    while (p[i] == ' ') {
        i++;
    }
    double den;
    size_t n = parse_number(p + i, &den);
    if (!n) {
        return 0;
    }
    return den == 10.0 ? (long)(i + n) : -1;
}

static int line_of(const char *text, const char *p)
{
    int line = 0;
    for (const char *q = text; q < p; q++) {
        if (*q == '\n') {
            line++;
        }
    }
    return line;
}

/* Line index of the first line with a non-space, non-markdown character. */
static int first_content_line(const char *text)
{
    int line = 0;
    for (const char *q = text; *q; q++) {
        if (*q == '\n') {
            line++;
        } else if (!isspace((unsigned char)*q) && !strchr("*#`_>-", *q)) {
            return line;
        }
    }
    return -1;
}

static const char *line_start(const char *text, const char *p)
{
    while (p > text && p[-1] != '\n') {
        p--;
    }
    return p;
}

static int line_contains_ci(const char *text, const char *p, const char *needle)
{
    const char *s = line_start(text, p);
    size_t nl = strlen(needle);
    for (const char *q = s; *q && *q != '\n'; q++) {
        if (strncasecmp(q, needle, nl) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- scores -------------------------------------------------------------------------------- */

struct pair {
    double a, b;
    int line;
    int final_line;
};

/* "[[8, 6]]" "[[8.5,6]]" "[[8/10, 6/10]]" at p (p points at "[["); returns length or 0. */
static size_t parse_bracket_pair(const char *p, int brackets, double *a, double *b)
{
    size_t i = (size_t)brackets;
    while (p[i] == ' ') {
        i++;
    }
    size_t n = parse_number(p + i, a);
    if (!n) {
        return 0;
    }
    i += n;
    long d = parse_out_of_ten(p + i);
    if (d < 0) {
        return 0;
    }
    i += (size_t)d;
    while (p[i] == ' ') {
        i++;
    }
    if (p[i] != ',') {
        return 0;
    }
    i++;
    while (p[i] == ' ') {
        i++;
    }
    n = parse_number(p + i, b);
    if (!n) {
        return 0;
    }
    i += n;
    d = parse_out_of_ten(p + i);
    if (d < 0) {
        return 0;
    }
    i += (size_t)d;
    while (p[i] == ' ') {
        i++;
    }
    for (int k = 0; k < brackets; k++) {
        if (p[i++] != ']') {
            return 0;
        }
    }
    return i;
}

static arena_err_t check_range(struct judge_verdict *v, double a, double b)
{
    if (a < SCORE_MIN || a > SCORE_MAX || isnan(a)) {
        return fail(v, "score for Assistant A out of range: %g (must be 1-10)", a);
    }
    if (b < SCORE_MIN || b > SCORE_MAX || isnan(b)) {
        return fail(v, "score for Assistant B out of range: %g (must be 1-10)", b);
    }
    v->score_first = a;
    v->score_second = b;
    v->label[0] = '\0';
    v->error[0] = '\0';
    return ARENA_ERR_OK;
}

/* 1 = decided (ok or error in *err), 0 = no bracketed pair at all. */
static int scores_from_brackets(const char *text, struct judge_verdict *v, arena_err_t *err)
{
    struct pair c[MAX_CANDIDATES];
    size_t n = 0;
    int first_line = first_content_line(text);
    for (const char *p = strstr(text, "[["); p && n < MAX_CANDIDATES; p = strstr(p + 1, "[[")) {
        double a, b;
        if (parse_bracket_pair(p, 2, &a, &b)) {
            c[n].a = a;
            c[n].b = b;
            c[n].line = line_of(text, p);
            c[n].final_line = line_contains_ci(text, p, "final");
            n++;
        }
    }
    if (n == 0 && first_line >= 0) {
        /* "[8, 6]" opening the first line */
        const char *p = text;
        for (int l = 0; l < first_line; l++) {
            p = strchr(p, '\n') + 1;
        }
        while (*p && (isspace((unsigned char)*p) || strchr("*#`_>-", *p))) {
            p++;
        }
        double a, b;
        if (*p == '[' && parse_bracket_pair(p, 1, &a, &b)) {
            c[0].a = a;
            c[0].b = b;
            c[0].line = first_line;
            c[0].final_line = 0;
            n = 1;
        }
    }
    if (n == 0) {
        return 0;
    }
    size_t pick = 0;
    int distinct = 0;
    for (size_t i = 1; i < n; i++) {
        if (c[i].a != c[0].a || c[i].b != c[0].b) {
            distinct = 1;
        }
    }
    if (distinct) {
        size_t i;
        for (i = 0; i < n && c[i].line != first_line; i++) {
        }
        if (i < n) {
            pick = i;
        } else {
            size_t f = n;
            for (i = 0; i < n; i++) {
                if (c[i].final_line) {
                    f = i;
                }
            }
            if (f == n) {
                *err = fail(v, "ambiguous scores: [[%g, %g]] and [[%g, %g]]", c[0].a, c[0].b,
                            c[n - 1].a, c[n - 1].b);
                return 1;
            }
            pick = f;
        }
    }
    *err = check_range(v, c[pick].a, c[pick].b);
    return 1;
}

static int word_is(const char *p, size_t len, const char *w)
{
    return strlen(w) == len && strncasecmp(p, w, len) == 0;
}

static int filler_word(const char *p, size_t len)
{
    static const char *const words[] = {"s",     "score",    "scores",   "rating", "overall",
                                        "final", "is",       "of",       "gets",   "receives",
                                        "total", "answer",   "response", "grade",  "given",
                                        "got",   "received", "earns",    "points", "a"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (word_is(p, len, words[i])) {
            return 1;
        }
    }
    return 0;
}

static int terminator_word(const char *p, size_t len)
{
    static const char *const words[] = {"and", "vs", "versus", "points", "pts", "out", "while"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (word_is(p, len, words[i])) {
            return 1;
        }
    }
    return 0;
}

/* After a label ("Assistant A"): filler then a number that ends properly. 1 + *out on success. */
static int labelled_number(const char *p, double *out)
{
    int newlines = 0;
    size_t i = 0;
    while (i < 80) {
        char ch = p[i];
        if (ch == '\n') {
            if (++newlines > 1) {
                return 0;
            }
            i++;
        } else if (ch == '-' && isdigit((unsigned char)p[i + 1])) {
            double x;
            size_t n = parse_number(p + i + 1, &x);
            if (!n) {
                return 0;
            }
            *out = -x; /* negative: reported as out of range */
            return 1;
        } else if (is_hspace(ch) || (ch && strchr("*_:=#|()>-~`'\"[", ch))) {
            i++;
        } else if (is_right_quote(p + i)) {
            i += 3;
        } else if (is_fw_colon(p + i)) {
            i += 3; /* full-width colon */
        } else if (isalpha((unsigned char)ch)) {
            size_t len = 0;
            while (isalpha((unsigned char)p[i + len])) {
                len++;
            }
            if (!filler_word(p + i, len)) {
                return 0;
            }
            i += len;
        } else if (isdigit((unsigned char)ch)) {
            break;
        } else {
            return 0;
        }
    }
    if (!isdigit((unsigned char)p[i])) {
        return 0;
    }
    double x;
    size_t n = parse_number(p + i, &x);
    if (!n) {
        return 0;
    }
    i += n;
    long d = parse_out_of_ten(p + i);
    if (d < 0) {
        return 0;
    }
    i += (size_t)d;
    while (is_hspace(p[i])) {
        i++;
    }
    char ch = p[i];
    if (ch == '\0' || ch == '\n' || strchr("*,;.)|_`]", ch)) {
        *out = x;
        return 1;
    }
    if (isalpha((unsigned char)ch)) {
        size_t len = 0;
        while (isalpha((unsigned char)p[i + len])) {
            len++;
        }
        if (terminator_word(p + i, len)) {
            *out = x;
            return 1;
        }
    }
    return 0;
}

static int label_word_before(const char *text, const char *p, int digit_label)
{
    const char *q = p;
    while (q > text && (q[-1] == ' ' || q[-1] == '*' || q[-1] == '_')) {
        q--;
    }
    const char *end = q;
    while (q > text && isalpha((unsigned char)q[-1])) {
        q--;
    }
    size_t len = (size_t)(end - q);
    if (len == 0) {
        if (digit_label) {
            return 0;
        }
        /* "A: 8" at the start of a line (after markdown) */
        const char *s = line_start(text, p);
        for (const char *r = s; r < p; r++) {
            if (!strchr(" \t*#_->|", *r)) {
                return 0;
            }
        }
        return 1;
    }
    if (word_is(q, len, "assistant")) {
        return 1;
    }
    if (digit_label) {
        return 0;
    }
    static const char *const words[] = {"score", "rating", "response", "answer",
                                        "model", "output", "grade",    "for"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (word_is(q, len, words[i])) {
            return 1;
        }
    }
    return 0;
}

static int scores_from_labels(const char *text, struct judge_verdict *v, arena_err_t *err)
{
    int have[2] = {0, 0};
    double val[2] = {0, 0};
    for (const char *p = text; *p; p++) {
        int side;
        int digit_label = 0;
        switch (*p) {
        case 'A':
            side = 0;
            break;
        case 'B':
            side = 1;
            break;
        case '1':
            side = 0;
            digit_label = 1;
            break;
        case '2':
            side = 1;
            digit_label = 1;
            break;
        default:
            continue;
        }
        if (p > text && is_word_char((unsigned char)p[-1])) {
            continue;
        }
        if (is_word_char((unsigned char)p[1]) && !is_right_quote(p + 1) && !is_fw_colon(p + 1)) {
            continue;
        }
        if (!label_word_before(text, p, digit_label)) {
            continue;
        }
        double x;
        if (labelled_number(p + 1, &x)) {
            have[side] = 1;
            val[side] = x;
        }
    }
    if (!have[0] && !have[1]) {
        return 0;
    }
    if (!have[0]) {
        *err = fail(v, "missing score for Assistant A (found only Assistant B: %g)", val[1]);
        return 1;
    }
    if (!have[1]) {
        *err = fail(v, "missing score for Assistant B (found only Assistant A: %g)", val[0]);
        return 1;
    }
    *err = check_range(v, val[0], val[1]);
    return 1;
}

static int scores_from_out_of_ten(const char *text, struct judge_verdict *v, arena_err_t *err)
{
    double vals[3];
    int n = 0;
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) ||
            (p > text && (isdigit((unsigned char)p[-1]) || p[-1] == '.' || p[-1] == '/'))) {
            continue;
        }
        double x;
        size_t len = parse_number(p, &x);
        if (!len) {
            continue;
        }
        long d = parse_out_of_ten(p + len);
        if (d > 0) {
            if (n < 3) {
                vals[n] = (p > text && p[-1] == '-') ? -x : x;
            }
            n++;
        }
        p += len - 1;
    }
    if (n == 0) {
        return 0;
    }
    if (n == 1) {
        *err = fail(v, "only one score found (%g/10): both answers need a score", vals[0]);
        return 1;
    }
    if (n > 2) {
        *err = fail(v, "ambiguous scores: %d values of the form N/10 and no labels", n);
        return 1;
    }
    *err = check_range(v, vals[0], vals[1]);
    return 1;
}

static arena_err_t parse_scores(const char *text, struct judge_verdict *v)
{
    arena_err_t err = ARENA_ERR_OK;
    if (scores_from_brackets(text, v, &err) || scores_from_labels(text, v, &err) ||
        scores_from_out_of_ten(text, v, &err)) {
        return err;
    }
    return fail(v, "no scores found: expected \"[[score_A, score_B]]\" or labelled scores");
}

/* ---- labels -------------------------------------------------------------------------------- */

/* Canonical label of a verdict token (spaces removed), or NULL. */
static const char *canon_label(enum judge_kind kind, const char *tok)
{
    if (kind == JUDGE_KIND_FIVE_LABEL) {
        static const char *const map[][2] = {{"A>>B", "A>>B"}, {"A>B", "A>B"},   {"A=B", "A=B"},
                                             {"B>A", "B>A"},   {"B>>A", "B>>A"}, {"B<<A", "A>>B"},
                                             {"B<A", "A>B"},   {"B=A", "A=B"},   {"A<B", "B>A"},
                                             {"A<<B", "B>>A"}, {"A==B", "A=B"}};
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (strcmp(tok, map[i][0]) == 0) {
                return map[i][1];
            }
        }
        return NULL;
    }
    if (strcmp(tok, "A") == 0) {
        return "A";
    }
    if (strcmp(tok, "B") == 0) {
        return "B";
    }
    if (strcmp(tok, "C") == 0) {
        return "C";
    }
    return NULL;
}

struct label_hit {
    const char *label;
    const char *pos;
};

/* Token between brackets at p ("[[" or "["), spaces removed, max 8 chars. */
static size_t bracket_token(const char *p, int brackets, char tok[16])
{
    size_t i = (size_t)brackets, t = 0;
    while (p[i] && p[i] != ']' && p[i] != '[' && p[i] != '\n' && i < 24) {
        if (p[i] != ' ' && p[i] != '*') {
            if (t >= 8) {
                return 0;
            }
            tok[t++] = p[i];
        }
        i++;
    }
    tok[t] = '\0';
    for (int k = 0; k < brackets; k++) {
        if (p[i++] != ']') {
            return 0;
        }
    }
    if (brackets == 1 && p[i] == ']') {
        return 0;
    }
    return t ? i : 0;
}

static size_t collect_labels(enum judge_kind kind, const char *text, int brackets,
                             struct label_hit *hits, char *bad, size_t bad_size)
{
    size_t n = 0;
    const char *open = brackets == 2 ? "[[" : "[";
    for (const char *p = strstr(text, open); p && n < MAX_CANDIDATES; p = strstr(p + 1, open)) {
        if (brackets == 1 && (p[1] == '[' || (p > text && p[-1] == '['))) {
            continue;
        }
        char tok[16];
        if (!bracket_token(p, brackets, tok)) {
            continue;
        }
        const char *l = canon_label(kind, tok);
        if (l) {
            hits[n].label = l;
            hits[n].pos = p;
            n++;
        } else if (bad && !bad[0]) {
            snprintf(bad, bad_size, "%s", tok);
        }
    }
    return n;
}

static const char *last_final_verdict_line(const char *text)
{
    const char *last = NULL;
    for (const char *p = text; *p; p++) {
        if ((*p == 'f' || *p == 'F') && strncasecmp(p, "final verdict", 13) == 0) {
            last = line_start(text, p);
        }
    }
    return last;
}

static const char *single_distinct(const struct label_hit *h, size_t n, const char *from)
{
    const char *label = NULL;
    for (size_t i = 0; i < n; i++) {
        if (from && h[i].pos < from) {
            continue;
        }
        if (!label) {
            label = h[i].label;
        } else if (strcmp(label, h[i].label) != 0) {
            return NULL;
        }
    }
    return label;
}

static void label_scores(const char *label, double *a, double *b)
{
    static const struct {
        const char *label;
        double a, b;
    } map[] = {{"A>>B", 9, 3}, {"A>B", 7, 4}, {"A=B", 5.5, 5.5}, {"B>A", 4, 7},
               {"B>>A", 3, 9}, {"A", 7, 4},   {"B", 4, 7},       {"C", 5.5, 5.5}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].label, label) == 0) {
            *a = map[i].a;
            *b = map[i].b;
            return;
        }
    }
}

static arena_err_t parse_labels(enum judge_kind kind, const char *text, struct judge_verdict *v)
{
    struct label_hit hits[MAX_CANDIDATES];
    char bad[16] = "";
    size_t n = collect_labels(kind, text, 2, hits, bad, sizeof(bad));
    if (n == 0 && kind == JUDGE_KIND_FIVE_LABEL) {
        n = collect_labels(kind, text, 1, hits, NULL, 0);
    }
    if (n == 0) {
        if (bad[0]) {
            return fail(v, "no %s verdict found ([[%s]] is not one of %s)",
                        kind == JUDGE_KIND_FIVE_LABEL ? "five-label" : "three-label", bad,
                        kind == JUDGE_KIND_FIVE_LABEL ? "[[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]]"
                                                      : "[[A]] [[B]] [[C]]");
        }
        return fail(v, "no verdict found: expected %s",
                    kind == JUDGE_KIND_FIVE_LABEL ? "[[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]]"
                                                  : "[[A]] [[B]] [[C]]");
    }
    const char *label = single_distinct(hits, n, NULL);
    if (!label) {
        const char *fl = last_final_verdict_line(text);
        if (fl) {
            label = single_distinct(hits, n, fl);
        }
        if (!label) {
            const char *other = NULL;
            for (size_t i = 1; i < n && !other; i++) {
                if (strcmp(hits[i].label, hits[0].label) != 0) {
                    other = hits[i].label;
                }
            }
            return fail(v, "ambiguous verdict: [[%s]] and [[%s]] both present", hits[0].label,
                        other ? other : "?");
        }
    }
    snprintf(v->label, sizeof(v->label), "%s", label);
    label_scores(label, &v->score_first, &v->score_second);
    v->error[0] = '\0';
    return ARENA_ERR_OK;
}

arena_err_t judge_parse(enum judge_kind kind, const char *output, struct judge_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (!output) {
        snprintf(v->error, sizeof(v->error), "no judge output");
        return ARENA_ERR_INVALID;
    }
    switch (kind) {
    case JUDGE_KIND_SCORES:
        return parse_scores(output, v);
    case JUDGE_KIND_FIVE_LABEL:
    case JUDGE_KIND_THREE_LABEL:
        return parse_labels(kind, output, v);
    }
    snprintf(v->error, sizeof(v->error), "unknown judge kind %d", (int)kind);
    return ARENA_ERR_INVALID;
}

int judge_verdict_pref(const struct judge_verdict *v, double tie_margin)
{
    double d = v->score_first - v->score_second;
    if (d == 0 || fabs(d) < tie_margin) {
        return 0;
    }
    return d > 0 ? 1 : -1;
}

bool judge_verdict_is_strong(const struct judge_verdict *v)
{
    return strcmp(v->label, "A>>B") == 0 || strcmp(v->label, "B>>A") == 0;
}
