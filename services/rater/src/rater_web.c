/* rater_web.c - the rater's HTML page (inline CSS + SVG) and the pairwise matrix JSON.
 * See rater_web.h. */
#include "rater_web.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- pairs ---------------------------------------------------------------------------- */

void rater_web_pairs_init(struct rater_web_pairs *p, size_t n, const char *const *models)
{
    memset(p, 0, sizeof(*p));
    p->n = n;
    if (n == 0) {
        return;
    }
    p->models = arena_xcalloc(n, sizeof(*p->models));
    for (size_t i = 0; i < n; i++) {
        p->models[i] = arena_xstrdup(models[i] ? models[i] : "");
    }
    p->wins = arena_xcalloc(n * n, sizeof(*p->wins));
    p->ties = arena_xcalloc(n * n, sizeof(*p->ties));
}

void rater_web_pairs_fini(struct rater_web_pairs *p)
{
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->n && p->models; i++) {
        free(p->models[i]);
    }
    free(p->models);
    free(p->wins);
    free(p->ties);
    memset(p, 0, sizeof(*p));
}

void rater_web_pairs_set(struct rater_web_pairs *p, size_t i, size_t j, uint64_t i_wins,
                         uint64_t j_wins, uint64_t ties)
{
    if (i == j || i >= p->n || j >= p->n) {
        return;
    }
    p->wins[i * p->n + j] = i_wins;
    p->wins[j * p->n + i] = j_wins;
    p->ties[i * p->n + j] = ties;
    p->ties[j * p->n + i] = ties;
}

uint64_t rater_web_pairs_games(const struct rater_web_pairs *p, size_t i, size_t j)
{
    if (i == j || i >= p->n || j >= p->n) {
        return 0;
    }
    return p->wins[i * p->n + j] + p->wins[j * p->n + i] + p->ties[i * p->n + j];
}

double rater_web_pairs_win_rate(const struct rater_web_pairs *p, size_t i, size_t j)
{
    uint64_t g = rater_web_pairs_games(p, i, j);
    if (g == 0) {
        return NAN;
    }
    return ((double)p->wins[i * p->n + j] + 0.5 * (double)p->ties[i * p->n + j]) / (double)g;
}

json_t *rater_web_pairs_to_json(const struct rater_web_pairs *p)
{
    json_t *o = json_object();
    json_t *models = json_array(), *wr = json_array(), *games = json_array(), *wins = json_array(),
           *ties = json_array();
    for (size_t i = 0; i < p->n; i++) {
        json_array_append_new(models, json_string(p->models[i]));
        json_t *rw = json_array(), *rg = json_array(), *rwin = json_array(), *rt = json_array();
        for (size_t j = 0; j < p->n; j++) {
            double w = rater_web_pairs_win_rate(p, i, j);
            json_array_append_new(rw, isnan(w) ? json_null() : json_real(w));
            json_array_append_new(rg, json_integer((json_int_t)rater_web_pairs_games(p, i, j)));
            json_array_append_new(rwin, json_integer((json_int_t)p->wins[i * p->n + j]));
            json_array_append_new(rt, json_integer((json_int_t)p->ties[i * p->n + j]));
        }
        json_array_append_new(wr, rw);
        json_array_append_new(games, rg);
        json_array_append_new(wins, rwin);
        json_array_append_new(ties, rt);
    }
    json_object_set_new(o, "models", models);
    json_object_set_new(o, "win_rate", wr);
    json_object_set_new(o, "games", games);
    json_object_set_new(o, "wins", wins);
    json_object_set_new(o, "ties", ties);
    return o;
}

/* ---- history -------------------------------------------------------------------------- */

void rater_web_history_init(struct rater_web_history *h, size_t cap)
{
    memset(h, 0, sizeof(*h));
    h->cap = cap ? cap : RATER_WEB_HISTORY_DEFAULT;
    h->pts = arena_xcalloc(h->cap, sizeof(*h->pts));
}

void rater_web_history_fini(struct rater_web_history *h)
{
    if (!h) {
        return;
    }
    free(h->pts);
    memset(h, 0, sizeof(*h));
}

void rater_web_history_add(struct rater_web_history *h, int64_t t_ms, uint64_t battles)
{
    if (!h->pts) {
        return;
    }
    struct rater_web_point pt = {.t_ms = t_ms, .battles = battles};
    if (h->n < h->cap) {
        h->pts[(h->head + h->n) % h->cap] = pt;
        h->n++;
    } else {
        h->pts[h->head] = pt;
        h->head = (h->head + 1) % h->cap;
    }
}

void rater_web_history_note(struct rater_web_history *h, int64_t t_ms, uint64_t battles,
                            int64_t min_gap_ms)
{
    if (h->n > 0) {
        struct rater_web_point *last = &h->pts[(h->head + h->n - 1) % h->cap];
        if (t_ms - last->t_ms < min_gap_ms) {
            last->t_ms = t_ms;
            last->battles = battles;
            return;
        }
    }
    rater_web_history_add(h, t_ms, battles);
}

size_t rater_web_history_len(const struct rater_web_history *h)
{
    return h ? h->n : 0;
}

struct rater_web_point rater_web_history_at(const struct rater_web_history *h, size_t i)
{
    return h->pts[(h->head + i) % h->cap];
}

/* ---- escaping ------------------------------------------------------------------------- */

/* Decode one UTF-8 code point at s (n bytes left); returns its length, or 0 when the bytes are
 * not valid UTF-8 (overlong, surrogate, > U+10FFFF, truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return len;
}

/* code points in s (an invalid byte counts one, as rater_web_escape prints it) */
static size_t utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), chars = 0;
    while (n > 0) {
        uint32_t cp;
        size_t len = utf8_decode(p, n, &cp);
        len = len ? len : 1;
        p += len;
        n -= len;
        chars++;
    }
    return chars;
}

void rater_web_escape(struct arena_buf *out, const char *s, size_t max_chars)
{
    if (!s) {
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), chars = 0;
    while (n > 0) {
        if (max_chars > 0 && chars == max_chars) {
            arena_buf_puts(out, "\xe2\x80\xa6"); /* … */
            return;
        }
        uint32_t cp = 0;
        size_t len = utf8_decode(p, n, &cp);
        chars++;
        if (len == 0) {
            arena_buf_puts(out, "\xef\xbf\xbd"); /* U+FFFD for one bad byte */
            p++;
            n--;
            continue;
        }
        switch (cp) {
        case '&':
            arena_buf_puts(out, "&amp;");
            break;
        case '<':
            arena_buf_puts(out, "&lt;");
            break;
        case '>':
            arena_buf_puts(out, "&gt;");
            break;
        case '"':
            arena_buf_puts(out, "&quot;");
            break;
        case '\'':
            arena_buf_puts(out, "&#39;");
            break;
        default:
            if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
                arena_buf_puts(out, "\xef\xbf\xbd");
            } else {
                arena_buf_append(out, p, len);
            }
            break;
        }
        p += len;
        n -= len;
    }
}

/* ---- helpers -------------------------------------------------------------------------- */

static void fmt_utc(int64_t ms, char *out, size_t n, bool with_date)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(out, n, "-");
        return;
    }
    strftime(out, n, with_date ? "%Y-%m-%d %H:%M:%S UTC" : "%H:%M:%S", &tm);
}

/* a "nice" tick step (1, 2, 2.5 or 5 x 10^k) giving about `want` intervals over range */
static double nice_step(double range, int want)
{
    if (!(range > 0) || !isfinite(range)) {
        return 1;
    }
    double raw = range / want;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nice * mag;
}

/* number of whole steps in range, bounded (a degenerate scale never loops for long) */
static int ticks(double range, double step)
{
    double n = floor(range / step + 1e-9);
    return n >= 0 && n <= 20 ? (int)n : n > 20 ? 20 : 0;
}

static void fmt_count(uint64_t v, char *out, size_t n)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            out[o++] = ',';
        }
        out[o++] = tmp[i];
    }
    out[o] = '\0';
}

/* diverging colour for a win rate: red (0) - light grey (0.5) - blue (1) */
static void win_rate_color(double w, char out[8], bool *dark_text)
{
    static const double lo[3] = {0xd7, 0x30, 0x27}, mid[3] = {0xf4, 0xf4, 0xf1},
                        hi[3] = {0x22, 0x66, 0xc4};
    double t = w < 0 ? 0 : w > 1 ? 1 : w;
    double c[3];
    for (int k = 0; k < 3; k++) {
        c[k] = t < 0.5 ? lo[k] + (mid[k] - lo[k]) * (t / 0.5)
                       : mid[k] + (hi[k] - mid[k]) * ((t - 0.5) / 0.5);
    }
    snprintf(out, 8, "#%02x%02x%02x", (unsigned)lround(c[0]), (unsigned)lround(c[1]),
             (unsigned)lround(c[2]));
    *dark_text = fabs(t - 0.5) < 0.28;
}

static const char page_css[] =
    ":root{--bg:#f5f6f8;--card:#fff;--ink:#1d2330;--muted:#667085;--line:#e3e6eb;"
    "--accent:#2266c4;--accent2:#e8590c}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "header{background:#1d2330;color:#fff;padding:18px 32px}"
    "header h1{margin:0;font-size:22px;font-weight:600}"
    "header .sub{color:#b8c0cc;font-size:13px;margin-top:4px}"
    "main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}"
    ".stats{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:18px}"
    ".stat{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:10px 16px;min-width:140px}"
    ".stat .v{font-size:20px;font-weight:600}"
    ".stat .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:16px 20px;margin-bottom:18px}"
    ".card h2{font-size:16px;margin:0 0 10px;font-weight:600}"
    ".card p.note{color:var(--muted);font-size:12px;margin:6px 0 0}"
    ".grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px}"
    ".grid .card{margin-bottom:0}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}"
    "th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:right;"
    "white-space:nowrap}"
    "th{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;"
    "font-weight:600}"
    "td.model,th.model{text-align:left;white-space:normal;word-break:break-all}"
    "td.model{font-weight:600}"
    "tbody tr:nth-child(odd){background:#fafbfc}"
    "td.ci{color:#344054}"
    "td.pm{color:var(--muted);font-size:13px}"
    "svg{display:block;width:100%;height:auto}"
    "svg text{font-family:system-ui,'DejaVu Sans',sans-serif}"
    ".empty{color:var(--muted);padding:30px;text-align:center}"
    "footer{color:var(--muted);font-size:12px;text-align:center;margin-top:10px}"
    "footer a{color:var(--accent)}"
    "@media (max-width:900px){.grid{grid-template-columns:1fr}}";

/* ---- sections ------------------------------------------------------------------------- */

static void render_stats(const Arena__V1__Leaderboard *lb, const struct rater_web_history *h,
                         struct arena_buf *o)
{
    char v[64];
    arena_buf_puts(o, "<div class=\"stats\">");
    fmt_count(lb->battles, v, sizeof(v));
    arena_buf_printf(o,
                     "<div class=\"stat\"><div class=\"v\" id=\"battles\">%s</div>"
                     "<div class=\"k\">battles rated</div></div>",
                     v);
    arena_buf_printf(o,
                     "<div class=\"stat\"><div class=\"v\">%zu</div>"
                     "<div class=\"k\">models</div></div>",
                     lb->n_rows);
    fmt_count(lb->skipped, v, sizeof(v));
    arena_buf_printf(o,
                     "<div class=\"stat\"><div class=\"v\">%s</div>"
                     "<div class=\"k\">skipped (errors)</div></div>",
                     v);
    fmt_count(lb->duplicates, v, sizeof(v));
    arena_buf_printf(o,
                     "<div class=\"stat\"><div class=\"v\">%s</div>"
                     "<div class=\"k\">duplicates ignored</div></div>",
                     v);
    size_t n = rater_web_history_len(h);
    if (n >= 2) {
        /* rate over the last minute of history (or what there is) */
        struct rater_web_point last = rater_web_history_at(h, n - 1), first = last;
        for (size_t i = n; i-- > 0;) {
            struct rater_web_point p = rater_web_history_at(h, i);
            first = p;
            if (last.t_ms - p.t_ms >= 60000) {
                break;
            }
        }
        double dt = (double)(last.t_ms - first.t_ms) / 1000.0;
        if (dt > 0 && last.battles >= first.battles) {
            arena_buf_printf(o,
                             "<div class=\"stat\"><div class=\"v\">%.1f</div>"
                             "<div class=\"k\">battles/s (last %.0f s)</div></div>",
                             (double)(last.battles - first.battles) / dt, dt);
        }
    }
    arena_buf_puts(o, "</div>\n");
}

static void render_table(const Arena__V1__Leaderboard *lb, struct arena_buf *o)
{
    arena_buf_puts(o, "<section class=\"card\"><h2>Leaderboard</h2>\n"
                      "<table id=\"leaderboard\"><thead><tr><th>Rank</th>"
                      "<th class=\"model\">Model</th><th>Rating</th><th>95% CI</th>"
                      "<th>&minus; / +</th><th>Games</th><th>W / L / T</th><th>Win %</th>"
                      "<th>Online Elo</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < lb->n_rows; i++) {
        const Arena__V1__RatingRow *r = lb->rows[i];
        arena_buf_printf(o, "<tr><td>%u</td><td class=\"model\">", r->rank);
        rater_web_escape(o, r->model, 0);
        double winp =
            r->games ? 100.0 * ((double)r->wins + 0.5 * (double)r->ties) / (double)r->games : 0;
        arena_buf_printf(o,
                         "</td><td>%.1f</td><td class=\"ci\">[%.1f, %.1f]</td>"
                         "<td class=\"pm\">&minus;%.1f / +%.1f</td><td>%llu</td>"
                         "<td>%llu / %llu / %llu</td><td>%.1f</td><td>%.1f</td></tr>\n",
                         r->rating, r->ci_low, r->ci_high, r->rating - r->ci_low,
                         r->ci_high - r->rating, (unsigned long long)r->games,
                         (unsigned long long)r->wins, (unsigned long long)r->losses,
                         (unsigned long long)r->ties, winp, r->elo_online);
    }
    arena_buf_puts(o, "</tbody></table>\n");
    if (lb->bootstrap_rounds > 0) {
        arena_buf_printf(o,
                         "<p class=\"note\">95%% CI: 2.5th&ndash;97.5th percentiles over %u "
                         "bootstrap rounds. Rank = 1 + models whose CI lies entirely above. "
                         "Win %% counts a tie as half a win.</p>",
                         lb->bootstrap_rounds);
    } else {
        arena_buf_puts(o, "<p class=\"note\">No bootstrap: the CI collapses to the rating.</p>");
    }
    arena_buf_puts(o, "</section>\n");
}

static void render_ci_chart(const Arena__V1__Leaderboard *lb, struct arena_buf *o)
{
    const double W = 1160, left = 250, right = 150, top = 16, row_h = 30, axis_h = 36;
    double H = top + row_h * (double)lb->n_rows + axis_h;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < lb->n_rows; i++) {
        const Arena__V1__RatingRow *r = lb->rows[i];
        double a = fmin(r->ci_low, r->rating), b = fmax(r->ci_high, r->rating);
        if (isfinite(a) && isfinite(b)) {
            lo = fmin(lo, a);
            hi = fmax(hi, b);
        }
    }
    if (!isfinite(lo)) {
        lo = 900, hi = 1100;
    }
    if (hi - lo < 20) {
        double c = (hi + lo) / 2;
        lo = c - 10, hi = c + 10;
    }
    double step = nice_step(hi - lo, 6);
    lo = floor(lo / step) * step;
    hi = ceil(hi / step) * step;
    double pw = W - left - right;
#define XPOS(v) (left + ((v)-lo) / (hi - lo) * pw)
    arena_buf_printf(o,
                     "<section class=\"card\"><h2>Ratings with 95%% confidence intervals</h2>\n"
                     "<svg id=\"ci-chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                     "aria-label=\"ratings with 95%% CI\">\n",
                     W, H);
    double plot_bottom = top + row_h * (double)lb->n_rows;
    for (int k = 0, nk = ticks(hi - lo, step); k <= nk; k++) {
        double v = lo + k * step;
        double x = XPOS(v);
        arena_buf_printf(
            o,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e6eb\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#667085\" "
            "text-anchor=\"middle\">%g</text>\n",
            x, top - 6, x, plot_bottom, x, plot_bottom + 18, v);
    }
    arena_buf_printf(o,
                     "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#667085\" "
                     "text-anchor=\"middle\">rating</text>\n",
                     left + pw / 2, plot_bottom + 33);
    for (size_t i = 0; i < lb->n_rows; i++) {
        const Arena__V1__RatingRow *r = lb->rows[i];
        double y = top + row_h * ((double)i + 0.5);
        if (i % 2 == 0) {
            arena_buf_printf(o,
                             "<rect x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" "
                             "fill=\"#f7f8fa\"/>\n",
                             y - row_h / 2, W, row_h);
        }
        arena_buf_printf(o,
                         "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"end\" "
                         "fill=\"#1d2330\">%u. ",
                         left - 12, y + 5, r->rank);
        rater_web_escape(o, r->model, 28);
        arena_buf_puts(o, "</text>\n");
        if (!isfinite(r->rating) || !isfinite(r->ci_low) || !isfinite(r->ci_high)) {
            continue;
        }
        double x0 = XPOS(r->ci_low), x1 = XPOS(r->ci_high), xr = XPOS(r->rating);
        arena_buf_puts(o, "<g><title>");
        rater_web_escape(o, r->model, 0);
        arena_buf_printf(o, ": %.1f, 95%% CI [%.1f, %.1f]</title>", r->rating, r->ci_low,
                         r->ci_high);
        arena_buf_printf(o,
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2266c4\" "
                         "stroke-width=\"3\" stroke-linecap=\"round\"/>"
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2266c4\" "
                         "stroke-width=\"2\"/>"
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2266c4\" "
                         "stroke-width=\"2\"/>"
                         "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"#e8590c\" "
                         "stroke=\"#fff\" stroke-width=\"1.5\"/></g>",
                         x0, y, x1, y, x0, y - 7, x0, y + 7, x1, y - 7, x1, y + 7, xr, y);
        arena_buf_printf(o,
                         "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#344054\">%.1f "
                         "<tspan fill=\"#667085\">(&minus;%.1f/+%.1f)</tspan></text>\n",
                         x1 + 10, y + 4.5, r->rating, r->rating - r->ci_low,
                         r->ci_high - r->rating);
    }
#undef XPOS
    arena_buf_puts(o, "</svg>\n<p class=\"note\">Dot: rating; bar: 95% bootstrap confidence "
                      "interval.</p></section>\n");
}

static void render_heatmap(const struct rater_web_pairs *p, int max_models, struct arena_buf *o)
{
    arena_buf_puts(o, "<section class=\"card\"><h2>Pairwise win rate (row vs column)</h2>\n");
    size_t n = p ? p->n : 0;
    if (n < 2) {
        arena_buf_puts(o, "<div class=\"empty\">Not enough models yet.</div></section>\n");
        return;
    }
    size_t shown = n > (size_t)max_models ? (size_t)max_models : n;
    double cell = shown <= 5 ? 72 : shown <= 8 ? 60 : shown <= 12 ? 44 : shown <= 18 ? 32 : 22;
    double font = cell >= 60 ? 14 : cell >= 44 ? 13 : cell >= 32 ? 11 : 8;
    /* room for the labels: about 7 px per character, column labels rotated by 40 degrees */
    size_t longest = 0;
    for (size_t i = 0; i < shown; i++) {
        size_t chars = utf8_chars(p->models[i]);
        longest = chars > longest ? chars : longest;
    }
    double lw = 7.0 * (double)(longest < 20 ? longest : 20);
    double left = fmax(60, 20 + lw), top = fmax(40, 22 + 0.66 * lw);
    double W = left + cell * (double)shown + fmax(10, 0.77 * lw - cell / 2 + 10);
    double H = top + cell * (double)shown + 10;
    arena_buf_printf(o,
                     "<svg id=\"heatmap\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                     "aria-label=\"pairwise win rate\" style=\"max-width:%.0fpx\">\n",
                     W, H, W * 1.15);
    for (size_t j = 0; j < shown; j++) {
        double x = left + cell * ((double)j + 0.5);
        arena_buf_printf(o,
                         "<text transform=\"translate(%.1f,%.1f) rotate(-40)\" font-size=\"12\" "
                         "fill=\"#1d2330\">",
                         x + 4, top - 8);
        rater_web_escape(o, p->models[j], 18);
        arena_buf_puts(o, "</text>\n");
    }
    for (size_t i = 0; i < shown; i++) {
        double y = top + cell * (double)i;
        arena_buf_printf(o,
                         "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\" "
                         "fill=\"#1d2330\">",
                         left - 8, y + cell / 2 + 4);
        rater_web_escape(o, p->models[i], 20);
        arena_buf_puts(o, "</text>\n");
        for (size_t j = 0; j < shown; j++) {
            double x = left + cell * (double)j;
            if (i == j) {
                arena_buf_printf(o,
                                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                 "fill=\"#d0d5dd\" stroke=\"#fff\"/>\n",
                                 x, y, cell, cell);
                continue;
            }
            double w = rater_web_pairs_win_rate(p, i, j);
            uint64_t g = rater_web_pairs_games(p, i, j);
            char col[8] = "#eef0f3";
            bool dark = true;
            if (!isnan(w)) {
                win_rate_color(w, col, &dark);
            }
            arena_buf_puts(o, "<g><title>");
            rater_web_escape(o, p->models[i], 0);
            arena_buf_puts(o, " vs ");
            rater_web_escape(o, p->models[j], 0);
            if (isnan(w)) {
                arena_buf_puts(o, ": never met</title>");
            } else {
                arena_buf_printf(o, ": %.1f%% over %llu games (%llu W, %llu L, %llu T)</title>",
                                 100 * w, (unsigned long long)g,
                                 (unsigned long long)p->wins[i * p->n + j],
                                 (unsigned long long)p->wins[j * p->n + i],
                                 (unsigned long long)p->ties[i * p->n + j]);
            }
            arena_buf_printf(o,
                             "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                             "fill=\"%s\" stroke=\"#fff\"/>",
                             x, y, cell, cell, col);
            if (isnan(w)) {
                arena_buf_printf(o,
                                 "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" "
                                 "text-anchor=\"middle\" fill=\"#98a2b3\">&ndash;</text>",
                                 x + cell / 2, y + cell / 2 + font / 3, font);
            } else {
                arena_buf_printf(o,
                                 "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" "
                                 "text-anchor=\"middle\" fill=\"%s\">%.0f</text>",
                                 x + cell / 2, y + cell / 2 + font / 3, font,
                                 dark ? "#1d2330" : "#ffffff", 100 * w);
            }
            arena_buf_puts(o, "</g>\n");
        }
    }
    arena_buf_puts(o, "</svg>\n<p class=\"note\">Cell: % of battles the row model won against the "
                      "column model (a tie counts half); blue = row wins more, red = row loses "
                      "more; hover for counts.");
    if (shown < n) {
        arena_buf_printf(o,
                         " Top %zu of %zu models shown; all in <a href=\"pairs.json\">"
                         "pairs.json</a>.",
                         shown, n);
    }
    arena_buf_puts(o, "</p></section>\n");
}

static void render_history(const struct rater_web_history *h, struct arena_buf *o)
{
    arena_buf_puts(o, "<section class=\"card\"><h2>Battles rated over time</h2>\n");
    size_t n = rater_web_history_len(h);
    if (n < 2) {
        arena_buf_puts(o, "<div class=\"empty\">Collecting data: the chart starts after two "
                          "publications.</div></section>\n");
        return;
    }
    const double W = 560, H = 300, left = 64, right = 16, top = 14, bottom = 44;
    struct rater_web_point first = rater_web_history_at(h, 0),
                           last = rater_web_history_at(h, n - 1);
    uint64_t ymax = first.battles;
    for (size_t i = 0; i < n; i++) {
        struct rater_web_point p = rater_web_history_at(h, i);
        ymax = p.battles > ymax ? p.battles : ymax;
    }
    double step = nice_step((double)(ymax > 0 ? ymax : 1), 5);
    double y_hi = ceil((double)(ymax > 0 ? ymax : 1) / step) * step;
    double t0 = (double)first.t_ms, t1 = (double)last.t_ms;
    if (t1 <= t0) {
        t1 = t0 + 1000;
    }
    double pw = W - left - right, ph = H - top - bottom;
    arena_buf_printf(o,
                     "<svg id=\"history\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                     "aria-label=\"battles over time\">\n",
                     W, H);
    for (int k = 0, nk = ticks(y_hi, step); k <= nk; k++) {
        double v = k * step;
        double y = top + ph - v / y_hi * ph;
        arena_buf_printf(
            o,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e6eb\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#667085\" "
            "text-anchor=\"end\">%.0f</text>\n",
            left, y, left + pw, y, left - 6, y + 4, v);
    }
    /* x ticks: seconds/minutes before the last point */
    double span_s = (t1 - t0) / 1000.0;
    double xstep = nice_step(span_s, 5);
    for (int k = 0, nk = ticks(span_s + 1e-9, xstep); k <= nk; k++) {
        double s = k * xstep;
        double x = left + pw - s / span_s * pw;
        char lbl[32];
        if (s == 0) {
            snprintf(lbl, sizeof(lbl), "last");
        } else if (xstep >= 60) {
            snprintf(lbl, sizeof(lbl), "-%g min", s / 60);
        } else {
            snprintf(lbl, sizeof(lbl), "-%g s", s);
        }
        arena_buf_printf(
            o,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eef0f3\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#667085\" "
            "text-anchor=\"middle\">%s</text>\n",
            x, top, x, top + ph, x, top + ph + 18, lbl);
    }
    char a[40], b[40];
    fmt_utc(first.t_ms, a, sizeof(a), false);
    fmt_utc(last.t_ms, b, sizeof(b), false);
    arena_buf_printf(o,
                     "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#667085\" "
                     "text-anchor=\"middle\">%s &ndash; %s UTC (%zu points)</text>\n",
                     left + pw / 2, H - 6, a, b, n);
    struct arena_buf pts;
    arena_buf_init(&pts);
    for (size_t i = 0; i < n; i++) {
        struct rater_web_point p = rater_web_history_at(h, i);
        double x = left + ((double)p.t_ms - t0) / (t1 - t0) * pw;
        double y = top + ph - (double)p.battles / y_hi * ph;
        arena_buf_printf(&pts, "%s%.1f,%.1f", i ? " " : "", x, y);
    }
    arena_buf_printf(o,
                     "<polygon points=\"%.1f,%.1f %s %.1f,%.1f\" fill=\"#2266c4\" "
                     "fill-opacity=\"0.10\"/>\n"
                     "<polyline points=\"%s\" fill=\"none\" stroke=\"#2266c4\" "
                     "stroke-width=\"2.5\" stroke-linejoin=\"round\"/>\n",
                     left, top + ph, pts.data, left + pw, top + ph, pts.data);
    arena_buf_fini(&pts);
    char cnt[32];
    fmt_count(last.battles, cnt, sizeof(cnt));
    arena_buf_printf(o,
                     "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#2266c4\"/>"
                     "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#2266c4\" "
                     "text-anchor=\"end\">%s</text>\n",
                     left + pw, top + ph - (double)last.battles / y_hi * ph, left + pw - 6,
                     top + ph - (double)last.battles / y_hi * ph - 8, cnt);
    arena_buf_puts(
        o, "</svg>\n<p class=\"note\">Battles counted at each publication of the "
           "leaderboard and every few seconds when idle (the last 360 points).</p></section>\n");
}

void rater_web_render(const struct rater_web_page *pg, struct arena_buf *o)
{
    const Arena__V1__Leaderboard *lb = pg->lb;
    arena_buf_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n");
    if (pg->refresh_s > 0) {
        arena_buf_printf(o, "<meta http-equiv=\"refresh\" content=\"%d\">\n", pg->refresh_s);
    }
    arena_buf_puts(o, "<title>");
    rater_web_escape(o, lb && lb->name && *lb->name ? lb->name : "arena", 0);
    arena_buf_printf(o, " leaderboard</title>\n<style>%s</style></head><body>\n", page_css);
    arena_buf_puts(o, "<header><h1>Arena Flywheel &middot; ");
    rater_web_escape(o, lb && lb->name && *lb->name ? lb->name : "arena", 0);
    arena_buf_puts(o, "</h1><div class=\"sub\">");
    if (lb) {
        char ts[48];
        fmt_utc(lb->updated_at_ms, ts, sizeof(ts), true);
        arena_buf_puts(o, "method ");
        rater_web_escape(o, lb->method && *lb->method ? lb->method : "bt", 0);
        arena_buf_printf(o, " &middot; %u bootstrap rounds &middot; seed %llu",
                         lb->bootstrap_rounds, (unsigned long long)lb->seed);
        if (lb->anchor_model && *lb->anchor_model) {
            arena_buf_puts(o, " &middot; anchor ");
            rater_web_escape(o, lb->anchor_model, 0);
            arena_buf_printf(o, " = %g", lb->anchor_rating);
        }
        arena_buf_printf(o, " &middot; updated <span id=\"updated\">%s</span>", ts);
    } else {
        arena_buf_puts(o, "waiting for the first rated battles");
    }
    if (pg->refresh_s > 0) {
        arena_buf_printf(o, " &middot; refreshes every %d s", pg->refresh_s);
    }
    arena_buf_puts(o, "</div></header>\n<main>\n");
    if (!lb || lb->n_rows == 0) {
        arena_buf_puts(o, "<section class=\"card\"><div class=\"empty\" id=\"no-data\">"
                          "No battles rated yet.</div></section>\n");
    } else {
        render_stats(lb, pg->history, o);
        render_table(lb, o);
        render_ci_chart(lb, o);
        arena_buf_puts(o, "<div class=\"grid\">\n");
        render_heatmap(pg->pairs, pg->heatmap_max > 0 ? pg->heatmap_max : 30, o);
        render_history(pg->history, o);
        arena_buf_puts(o, "</div>\n");
    }
    arena_buf_puts(o, "<footer><a href=\"leaderboard.json\">leaderboard.json</a> &middot; "
                      "<a href=\"pairs.json\">pairs.json</a> &middot; "
                      "<a href=\"metrics\">metrics</a></footer>\n</main></body></html>\n");
}
