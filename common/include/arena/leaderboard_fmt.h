/* leaderboard_fmt.h - the two public renderings of an arena.v1.Leaderboard, shared by the
 * rater's /leaderboard.json route and `arenactl leaderboard`:
 *   JSON  {"name","method","battles","models":[{"model","rating","ci_low","ci_high","rank",
 *          "games","wins","losses","ties","elo_online"}], plus "bootstrap_rounds","seed",
 *          "anchor_model","anchor_rating","skipped","duplicates","updated_at_ms"}
 *   table one row per model: rank, model, rating, 95% CI (-low/+high), games, W/L/T, online Elo.
 * Pure functions of the message (no I/O besides the FILE given). Thread-safe. */
#ifndef ARENA_LEADERBOARD_FMT_H
#define ARENA_LEADERBOARD_FMT_H

#include <stdio.h>

#include <jansson.h>

#include "arena/v1/leaderboard.pb-c.h"

/* New reference (caller json_decref()s); rows keep the message's order (best first). */
json_t *arena_leaderboard_to_json(const Arena__V1__Leaderboard *lb);
/* Human-readable table with a one-line header. */
void arena_leaderboard_print_table(FILE *out, const Arena__V1__Leaderboard *lb);

#endif
