/* rater_formats.h - battle files for the rating engine (used by `arenactl rate`):
 *   fastchat     FastChat battles: JSON array or JSONL of {"model_a","model_b","winner"} with
 *                winner model_a | model_b | tie | tie (bothbad)
 *   results      our BattleResult JSONL (`arenactl export --format results`): model_a, model_b,
 *                outcome OUTCOME_MODEL_A | OUTCOME_MODEL_B | OUTCOME_TIE (the *_ERROR outcomes
 *                are skipped and counted), optional weight (absent or 0 = 1)
 *   alpaca-eval  AlpacaEval annotations: generator_1 (baseline) vs generator_2, preference in
 *                [1, 2] as a number or a numeric string (0 = legacy draw); a null/NaN preference
 *                is skipped and counted, as AlpacaEval drops it from n_total
 *   arena-hard   Arena-Hard-Auto judgments JSONL: {"question_id","model","games":[g1, g2]};
 *                game 1 has the baseline as A, game 2 the model as A; scores A>>B, A>B, A=B,
 *                B>A, B>>A (strong verdicts weigh 3); a null score is skipped and counted
 * Every format may be a JSON array or JSON lines. Bad records are an error "FILE:LINE: reason"
 * or, with skip_bad, skipped and counted (first reason kept). Pure parsing of a memory
 * buffer: no file I/O. Not thread-safe per object. */
#ifndef RATER_FORMATS_H
#define RATER_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"
#include "rater_engine.h"
#include "rater_stats.h"

enum rater_format {
    RATER_FORMAT_AUTO = 0,
    RATER_FORMAT_FASTCHAT,
    RATER_FORMAT_RESULTS,
    RATER_FORMAT_ALPACA_EVAL,
    RATER_FORMAT_ARENA_HARD,
};

/* "fastchat", "results", "alpaca-eval", "arena-hard" ("auto" for AUTO) */
const char *rater_format_name(enum rater_format f);
/* ARENA_ERR_INVALID for an unknown name */
arena_err_t rater_format_from_name(const char *name, enum rater_format *f);
/* Guess from the first record; RATER_FORMAT_AUTO when nothing matches. */
enum rater_format rater_format_detect(const char *buf, size_t len);

/* Raw AlpacaEval preferences per (model, baseline), for exact win rates. */
struct rater_prefs_model {
    char *model;
    char *baseline;
    double *p;
    size_t n, cap;
};
struct rater_prefs {
    struct rater_prefs_model *m;
    size_t n, cap;
};
void rater_prefs_fini(struct rater_prefs *p);
const struct rater_prefs_model *rater_prefs_find(const struct rater_prefs *p, const char *model,
                                                 const char *baseline);

struct rater_load_opts {
    enum rater_format format; /* AUTO: detect */
    bool skip_bad;
    const char *name;             /* file name in messages ("<input>" when NULL) */
    const char *arena_hard_model; /* baseline of arena-hard games (default gpt-4-0314) */
};

struct rater_load_stats {
    enum rater_format format; /* the format used (detected or given) */
    uint64_t records;         /* records read */
    uint64_t battles;         /* battles added */
    uint64_t skipped_bad;     /* bad records skipped (skip_bad) */
    uint64_t skipped_null;    /* null preference / null score */
    uint64_t skipped_error;   /* *_ERROR outcomes */
    char first_bad[256];      /* "FILE:LINE: reason" of the first bad record */
};

/* Parse buf into b (and, for alpaca-eval, the raw preferences into prefs when not NULL).
 * ARENA_ERR_PARSE with "FILE:LINE: reason" on the first bad record unless skip_bad (a JSON
 * syntax error inside a JSON array cannot be resynchronised: it is always an error). */
arena_err_t rater_formats_load(const char *buf, size_t len, const struct rater_load_opts *o,
                               struct rater_battles *b, struct rater_prefs *prefs,
                               struct rater_load_stats *st, char *errstr, size_t errstr_size);

/* Reference leaderboard: CSV with a header naming model and rating columns (aliases: name,
 * score, elo, arena_score, win_rate) and optional ci_low/ci_high (lower/upper) columns, or JSON
 * (an array of objects with those keys, or {"models":[...]} as `arenactl rate --output json`
 * writes). */
arena_err_t rater_reference_load(const char *buf, size_t len, const char *name,
                                 struct rater_reference *ref, char *errstr, size_t errstr_size);

#endif
