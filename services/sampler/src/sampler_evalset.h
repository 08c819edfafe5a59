/* sampler_evalset.h - WizardArena-style offline test sets from clustered prompts:
 *   diverse = per_cluster random prompts of every cluster (seeded; clusters smaller than
 *             per_cluster give all they have),
 *   hard    = the top hard_n prompts by difficulty among the hard candidates: every prompt, or
 *             when hard_per_cluster > 0 that many random prompts per cluster (the paper: 20);
 *             a candidate without a difficulty is skipped; ties -> input order,
 *   mix     = diverse, then hard items not already chosen.
 * Difficulty comes from the items (a supplied field, or a score the caller obtained): callers
 * that score with a model first ask sampler_evalset_hard_candidates() which prompts would be
 * considered, score those (a batch, concurrently), fill in the items, then select.
 * Output: indices into the input array, in selection order. Pure; deterministic for a seed. */
#ifndef SAMPLER_EVALSET_H
#define SAMPLER_EVALSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena/err.h"

enum sampler_evalset_kind {
    SAMPLER_EVALSET_DIVERSE,
    SAMPLER_EVALSET_HARD,
    SAMPLER_EVALSET_MIX,
};

struct sampler_evalset_item {
    const char *prompt_id;
    const char *text; /* for export; may be NULL */
    int cluster;      /* from k-means (or a supplied cluster index) */
    bool has_difficulty;
    double difficulty;         /* 0-10 */
    const char *difficulty_by; /* the model that scored it (export); NULL = supplied */
};

struct sampler_evalset_opts {
    enum sampler_evalset_kind kind;
    int per_cluster;      /* diverse: m per cluster (the paper: 2) */
    int hard_n;           /* hard: N kept (the paper: 1000) */
    int hard_per_cluster; /* hard: candidates per cluster scored (0 = all) */
    uint64_t seed;
};

/* "diverse" | "hard" | "mix" */
const char *sampler_evalset_kind_name(enum sampler_evalset_kind k);
arena_err_t sampler_evalset_kind_parse(const char *s, enum sampler_evalset_kind *out);

/* *out (caller frees) receives *out_n indices. */
arena_err_t sampler_evalset_select(const struct sampler_evalset_item *items, size_t n,
                                   const struct sampler_evalset_opts *o, size_t **out,
                                   size_t *out_n, char *errstr, size_t errstr_size);
/* The hard candidates select() will consider for these options, ascending indices; *out
 * (caller frees) receives *out_n (0 for diverse). The same items and options give the same
 * candidates, whatever their difficulty fields. */
arena_err_t sampler_evalset_hard_candidates(const struct sampler_evalset_item *items, size_t n,
                                            const struct sampler_evalset_opts *o, size_t **out,
                                            size_t *out_n, char *errstr, size_t errstr_size);
/* One JSON object per line: {"prompt_id","prompt","cluster","difficulty"?,"difficulty_model"?,
 * "eval_set"}. */
arena_err_t sampler_evalset_write_jsonl(FILE *f, const struct sampler_evalset_item *items,
                                        const size_t *sel, size_t n_sel, const char *eval_set,
                                        char *errstr, size_t errstr_size);

#endif
