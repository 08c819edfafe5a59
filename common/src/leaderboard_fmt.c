/* leaderboard_fmt.c - Leaderboard -> JSON (/leaderboard.json, arenactl --output json) and a
 * fixed-width text table (arenactl leaderboard). */
#include "arena/leaderboard_fmt.h"

#include <string.h>
#include <time.h>

json_t *arena_leaderboard_to_json(const Arena__V1__Leaderboard *lb)
{
    json_t *models = json_array();
    json_t *o = json_object();
    if (!lb) {
        json_object_set_new(o, "models", models);
        return o;
    }
    json_object_set_new(o, "name", json_string(lb->name ? lb->name : ""));
    json_object_set_new(o, "method", json_string(lb->method ? lb->method : ""));
    json_object_set_new(o, "battles", json_integer((json_int_t)lb->battles));
    json_object_set_new(o, "bootstrap_rounds", json_integer((json_int_t)lb->bootstrap_rounds));
    json_object_set_new(o, "seed", json_integer((json_int_t)lb->seed));
    json_object_set_new(o, "anchor_model", json_string(lb->anchor_model ? lb->anchor_model : ""));
    json_object_set_new(o, "anchor_rating", json_real(lb->anchor_rating));
    json_object_set_new(o, "skipped", json_integer((json_int_t)lb->skipped));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)lb->duplicates));
    json_object_set_new(o, "updated_at_ms", json_integer((json_int_t)lb->updated_at_ms));
    for (size_t i = 0; i < lb->n_rows; i++) {
        const Arena__V1__RatingRow *r = lb->rows[i];
        if (!r) {
            continue;
        }
        json_t *row = json_object();
        json_object_set_new(row, "model", json_string(r->model ? r->model : ""));
        json_object_set_new(row, "rating", json_real(r->rating));
        json_object_set_new(row, "ci_low", json_real(r->ci_low));
        json_object_set_new(row, "ci_high", json_real(r->ci_high));
        json_object_set_new(row, "rank", json_integer((json_int_t)r->rank));
        json_object_set_new(row, "games", json_integer((json_int_t)r->games));
        json_object_set_new(row, "wins", json_integer((json_int_t)r->wins));
        json_object_set_new(row, "losses", json_integer((json_int_t)r->losses));
        json_object_set_new(row, "ties", json_integer((json_int_t)r->ties));
        json_object_set_new(row, "elo_online", json_real(r->elo_online));
        json_array_append_new(models, row);
    }
    json_object_set_new(o, "models", models);
    return o;
}

void arena_leaderboard_print_table(FILE *out, const Arena__V1__Leaderboard *lb)
{
    if (!out || !lb) {
        return;
    }
    char when[32] = "never";
    if (lb->updated_at_ms > 0) {
        time_t t = (time_t)(lb->updated_at_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    fprintf(out,
            "leaderboard %s  method=%s  battles=%llu  bootstrap=%u  skipped=%llu  updated=%s\n",
            lb->name ? lb->name : "", lb->method ? lb->method : "", (unsigned long long)lb->battles,
            lb->bootstrap_rounds, (unsigned long long)lb->skipped, when);
    if (lb->anchor_model && *lb->anchor_model) {
        fprintf(out, "anchored: %s = %.1f\n", lb->anchor_model, lb->anchor_rating);
    }
    int w = 5;
    for (size_t i = 0; i < lb->n_rows; i++) {
        int n = lb->rows[i] && lb->rows[i]->model ? (int)strlen(lb->rows[i]->model) : 0;
        if (n > w) {
            w = n;
        }
    }
    fprintf(out, "%4s  %-*s  %8s  %-17s  %7s  %-17s  %10s\n", "rank", w, "model", "rating",
            "95% CI", "games", "W/L/T", "online Elo");
    for (size_t i = 0; i < lb->n_rows; i++) {
        const Arena__V1__RatingRow *r = lb->rows[i];
        if (!r) {
            continue;
        }
        char ci[48];
        char wlt[64];
        snprintf(ci, sizeof(ci), "-%.1f/+%.1f", r->rating - r->ci_low, r->ci_high - r->rating);
        snprintf(wlt, sizeof(wlt), "%llu/%llu/%llu", (unsigned long long)r->wins,
                 (unsigned long long)r->losses, (unsigned long long)r->ties);
        fprintf(out, "%4u  %-*s  %8.1f  %-17s  %7llu  %-17s  %10.1f\n", r->rank, w,
                r->model ? r->model : "", r->rating, ci, (unsigned long long)r->games, wlt,
                r->elo_online);
    }
}
