/* curator_select.h - which training examples one prompt's battles yield (Arena Learning:
 * SFT from the battles the target loses by a gap >= K, DPO pairs, reward-model pairs).
 * Pure functions, no I/O. The examples own copies of every string (the battles may be freed).
 *
 * curator_select() looks at ALL battles of ONE prompt in ONE round (the caller guarantees
 * completeness). Rules, deterministic whatever the input order (gap comparisons use a 1e-9
 * tolerance so that e.g. 6.3 - 3.3 counts as 3.0):
 *   0. If any battle has eval = true: no examples at all. Battles whose outcome is not
 *      MODEL_A / MODEL_B / TIE (judge or generation errors) are ignored. The target is
 *      pol->target, or, when that is NULL/"", the battles' target_model.
 *   1. SFT (when sft_min_gap >= 0): among the battles involving the target that the target
 *      LOST (outcome = the opponent) with gap = opponent score - target score >= sft_min_gap,
 *      the best winner is the opponent with the highest score in its battle (ties: larger gap,
 *      then model name ascending, then battle_id ascending). Example = prompt messages +
 *      {"role":"assistant","content": winner's answer}. At most one per prompt.
 *   2. DPO (when dpo_min_gap >= 0): per model, the mean of its scores over its battles on this
 *      prompt. chosen = highest mean (ties: name ascending). rejected = the target when it
 *      took part and is not chosen, else the lowest mean among the other models (ties: name
 *      ascending). Their direct battle (several: lowest battle_id) gives the pair; none: no
 *      pair. gap = chosen's score - rejected's score in that battle; emitted when
 *      gap >= dpo_min_gap. Ratings are the scores of that battle. At most one per prompt.
 *   3. RM (when reward_pairs): every decisive battle (MODEL_A / MODEL_B) gives (winner answer
 *      chosen, loser answer rejected), gap = winner score - loser score; ordered by battle_id.
 * Output order: the SFT example, the DPO example, then the RM examples. */
#ifndef CURATOR_SELECT_H
#define CURATOR_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"

#include "arena/v1/battle.pb-c.h"

struct curator_policy {
    const char *target; /* NULL/"": the battles' target_model */
    double sft_min_gap; /* K; < 0 disables SFT */
    double dpo_min_gap; /* < 0 disables DPO */
    bool reward_pairs;
};

enum curator_example_kind {
    CURATOR_EXAMPLE_SFT = 1,
    CURATOR_EXAMPLE_DPO = 2,
    CURATOR_EXAMPLE_RM = 3,
};

struct curator_msg {
    char *role;
    char *content;
};

/* SFT: chosen = the winner (model, answer, score), rejected = the target (model, its answer in
 * that battle, score). DPO/RM: chosen / rejected as in the pair. gap = chosen - rejected. */
struct curator_example {
    enum curator_example_kind kind;
    char *prompt_id;
    uint32_t round;
    struct curator_msg *prompt; /* the prompt conversation */
    size_t n_prompt;
    char *chosen_model;
    char *chosen_content;
    double chosen_score;
    char *rejected_model;
    char *rejected_content;
    double rejected_score;
    double gap;
    char **battle_ids; /* provenance: the battle(s) the example comes from */
    size_t n_battle_ids;
};

struct curator_examples {
    struct curator_example *v;
    size_t n;
    size_t cap;
};

void curator_examples_init(struct curator_examples *ex);
/* Frees every example; the struct is left empty (re-usable after init). */
void curator_examples_fini(struct curator_examples *ex);

/* Appends the prompt's examples to out (which must be initialised). */
void curator_select(const Arena__V1__BattleResult *const *battles, size_t n,
                    const struct curator_policy *pol, struct curator_examples *out);

/* "sft" | "dpo" | "rm" */
const char *curator_example_kind_name(enum curator_example_kind kind);

/* Per-round thresholds (curator.sft_min_gap_by_round / dpo_min_gap_by_round): gaps[r - 1] for
 * round r, the last value repeating for later rounds ([3.0, 1.0]: 3.0 in round 1, 1.0 after);
 * round 0 uses gaps[0]; n == 0 -> fallback. */
double curator_gap_for_round(const double *gaps, size_t n, double fallback, uint32_t round);
/* Parse decimal strings ("3.0") into *out (caller frees; NULL when n == 0). ARENA_ERR_INVALID
 * naming `key` and the item for a value that is not a finite number >= 0. */
arena_err_t curator_gaps_parse(const char *const *v, size_t n, const char *key, double **out,
                               char *errstr, size_t errstr_size);

#endif
