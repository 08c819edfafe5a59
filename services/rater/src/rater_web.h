/* rater_web.h - the rater's web page at `/` and the data behind it: a self-contained HTML page
 * (inline CSS and SVG, no script, no external asset, reloads itself) with the leaderboard table,
 * a chart of the ratings with their 95% CI bars, the pairwise win-rate heatmap and the battles
 * counted over time; plus the pairwise matrix as JSON (/pairs.json).
 *
 * Pure: no I/O, no logging, no clock (times come in the data). Every string that comes from
 * outside (model names, leaderboard name, method) is escaped for HTML/SVG text and attributes
 * and sanitised (invalid UTF-8 and control characters become U+FFFD), so a model name cannot
 * inject markup.
 *
 * Thread-safety: objects are not thread-safe; the render functions only read their inputs.
 * Ownership: rater_web_pairs and rater_web_history own their memory (_init/_fini); the page
 * borrows everything it points to for the duration of rater_web_render(). */
#ifndef RATER_WEB_H
#define RATER_WEB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arena/util.h"
#include "arena/v1/leaderboard.pb-c.h"

/* Pairwise counts between n models (in display order, e.g. best first), from the row model's
 * side: wins[i*n+j] = battles i won against j, ties[i*n+j] = ties between i and j (symmetric). */
struct rater_web_pairs {
    size_t n;
    char **models; /* copies */
    uint64_t *wins;
    uint64_t *ties;
};
void rater_web_pairs_init(struct rater_web_pairs *p, size_t n, const char *const *models);
void rater_web_pairs_fini(struct rater_web_pairs *p);
/* Record the counts of the pair (i, j) from i's side (fills both cells). i == j or an index out
 * of range is ignored. */
void rater_web_pairs_set(struct rater_web_pairs *p, size_t i, size_t j, uint64_t i_wins,
                         uint64_t j_wins, uint64_t ties);
/* Games between i and j (wins of both sides + ties). */
uint64_t rater_web_pairs_games(const struct rater_web_pairs *p, size_t i, size_t j);
/* Win rate of row model i against column model j: (wins + 0.5 ties) / games; NAN when they
 * never met (or i == j). */
double rater_web_pairs_win_rate(const struct rater_web_pairs *p, size_t i, size_t j);
/* {"models":[..],"win_rate":[[..]],"games":[[..]],"wins":[[..]],"ties":[[..]]}; win_rate is
 * null where the models never met. New reference (caller json_decref()s). */
json_t *rater_web_pairs_to_json(const struct rater_web_pairs *p);

/* Bounded history of (wall time, battles counted) publish points; the oldest point is dropped
 * once `cap` are held. */
struct rater_web_point {
    int64_t t_ms;
    uint64_t battles;
};
struct rater_web_history {
    struct rater_web_point *pts;
    size_t cap, n, head; /* ring: oldest at head */
};
#define RATER_WEB_HISTORY_DEFAULT 360
void rater_web_history_init(struct rater_web_history *h, size_t cap); /* cap 0 -> default */
void rater_web_history_fini(struct rater_web_history *h);
void rater_web_history_add(struct rater_web_history *h, int64_t t_ms, uint64_t battles);
/* Like add, but when the newest point is less than min_gap_ms older than t_ms it is updated in
 * place instead: points stay at least min_gap_ms apart however often this is called. */
void rater_web_history_note(struct rater_web_history *h, int64_t t_ms, uint64_t battles,
                            int64_t min_gap_ms);
size_t rater_web_history_len(const struct rater_web_history *h);
/* i-th point, oldest first (i < len). */
struct rater_web_point rater_web_history_at(const struct rater_web_history *h, size_t i);

struct rater_web_page {
    const Arena__V1__Leaderboard *lb;        /* NULL: nothing published yet */
    const struct rater_web_pairs *pairs;     /* NULL or n == 0: no heatmap */
    const struct rater_web_history *history; /* NULL: no history chart */
    int refresh_s;                           /* <meta refresh> period; 0 = none */
    int heatmap_max;                         /* models shown in the heatmap; 0 -> 30 */
};
/* Append the whole page (UTF-8 HTML5) to out. */
void rater_web_render(const struct rater_web_page *pg, struct arena_buf *out);

/* Append s escaped for HTML text and quoted attributes (& < > " ' escaped, invalid UTF-8 and
 * control characters replaced by U+FFFD). max_chars > 0 truncates to that many code points and
 * appends an ellipsis. NULL appends nothing. */
void rater_web_escape(struct arena_buf *out, const char *s, size_t max_chars);

#endif
