/* judge_parse.h - reads a judge model's output into a verdict, tolerant of how real judges
 * write (markdown, CRLF, explanations around the verdict), strict about what counts.
 * Pure functions, thread-safe.
 *
 * JUDGE_KIND_SCORES, in this order of preference:
 *   1. "[[8, 6]]" / "[[8.5,6]]" (the requested format; also "[8, 6]" opening the first line).
 *      Several different pairs: the one on the first non-empty line, else the last one on a
 *      line saying "final", else an "ambiguous scores" error.
 *   2. labelled scores: "Assistant A: 8", "**Assistant A:** 8/10", "Score A: 8/10",
 *      "Rating A: 8", "Assistant A's score is 8", "### Assistant A\nScore: 8/10",
 *      "Assistant 1: 8"; a number must end there (or be "N/10", "N out of 10"); the last
 *      labelled score of each side wins.
 *   3. exactly two "N/10" in the whole output ("8/10 and 6/10"): first = A, second = B.
 *   Scores must be within [1, 10]; both are required.
 * Label kinds: every well-formed "[[label]]" is collected ("[[ A>B ]]" and the mirrored
 * spellings "A<B", "B<<A", "B=A" are normalised; five-label also accepts single brackets
 * "[A>B]" when there is no double-bracket verdict). One distinct label: taken. Several distinct
 * labels: the labels from the last line that says "final verdict" onwards decide if they are
 * one distinct label, else an "ambiguous verdict" error (Arena-Hard's rule: exactly one
 * distinct label).
 * Label kinds map to scores on the 1-10 scale so that gaps mean something:
 *   five-label  A>>B = (9, 3)  A>B = (7, 4)  A=B = (5.5, 5.5)  B>A = (4, 7)  B>>A = (3, 9)
 *   three-label A = (7, 4)     B = (4, 7)    C = (5.5, 5.5)
 * Scores are positional: score_first belongs to the answer shown as Assistant A. */
#ifndef JUDGE_PARSE_H
#define JUDGE_PARSE_H

#include <stdbool.h>

#include "arena/err.h"
#include "judge_template.h"

struct judge_verdict {
    double score_first;  /* answer shown first (Assistant A) */
    double score_second; /* answer shown second (Assistant B) */
    char label[8];       /* "A>>B" "A>B" "A=B" "B>A" "B>>A" | "A" "B" "C" | "" for scores */
    char error[160];     /* reason when judge_parse() fails, else "" */
};

/* ARENA_ERR_OK, ARENA_ERR_PARSE (reason in v->error; scores 0), ARENA_ERR_INVALID (bad kind or
 * NULL output). v is always fully written. */
arena_err_t judge_parse(enum judge_kind kind, const char *output, struct judge_verdict *v);

/* Positional preference of one verdict: +1 first answer better, -1 second, 0 tie (scores
 * closer than tie_margin, or equal). */
int judge_verdict_pref(const struct judge_verdict *v, double tie_margin);

/* Label kinds: true for "A>>B" / "B>>A". */
bool judge_verdict_is_strong(const struct judge_verdict *v);

#endif
