/* judge_template.h - judge prompt templates: the built-ins ("wizardarena", "arena-hard",
 * "mt-bench-pair") and user template files (YAML), rendered into a (system, user) prompt pair.
 *
 * Every template's user prompt embeds the answers as
 *   "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]"
 * (likewise for B), and its instructions literally contain the format marker of its kind
 * ("[[A>>B]]" for five-label, "[[A]]" for three-label, "[[score_A, score_B]]" for scores): the
 * simulated judge and real judges rely on both.
 *
 * A loaded template is immutable: rendering from several threads at once is safe.
 * Strings returned by judge_template_name() live as long as the template. */
#ifndef JUDGE_TEMPLATE_H
#define JUDGE_TEMPLATE_H

#include <stddef.h>

#include "arena/v1/common.pb-c.h"

/* What the judge is asked to output, hence how judge_parse() reads it. */
enum judge_kind {
    JUDGE_KIND_SCORES = 1, /* "[[score_A, score_B]]", 1-10 each (WizardArena) */
    JUDGE_KIND_FIVE_LABEL =
        2, /* "[[A>>B]]" "[[A>B]]" "[[A=B]]" "[[B>A]]" "[[B>>A]]" (Arena-Hard) */
    JUDGE_KIND_THREE_LABEL = 3 /* "[[A]]" "[[B]]" "[[C]]" = tie (MT-Bench pair-v2) */
};

/* "scores" | "five_label" | "three_label" ("?" for an invalid value). */
const char *judge_kind_name(enum judge_kind kind);

struct judge_template;

/* name_or_path: a built-in name, or the path of a YAML template file:
 *   name: my-judge            # optional (default: the file's base name)
 *   kind: scores              # scores | five_label | three_label
 *   system: |                 # optional system prompt
 *     ...
 *   user: |                   # placeholders {question} {answer_a} {answer_b}
 *     ...
 * Unknown keys, an unknown placeholder, a missing placeholder, a missing answer block or a
 * missing format marker are load errors naming the problem. Returns NULL + errstr on error. */
struct judge_template *judge_template_load(const char *name_or_path, char *errstr,
                                           size_t errstr_size);
void judge_template_destroy(struct judge_template *t);

/* Built-in name, or the `name:` of a file (default: file base name without extension). */
const char *judge_template_name(const struct judge_template *t);
enum judge_kind judge_template_kind(const struct judge_template *t);

/* Render the prompt. answer_first is shown as Assistant A, answer_second as Assistant B (the
 * caller swaps them for the BA order). Substitution is a single pass: placeholders inside the
 * question or the answers are never expanded. *system_out and *user_out are malloc'd (free());
 * *system_out is "" when the template has no system prompt. NULL inputs render as "". */
void judge_template_render(const struct judge_template *t, const char *question,
                           const char *answer_first, const char *answer_second, char **system_out,
                           char **user_out);

/* The conversation as question text (malloc'd). One user message: its content verbatim.
 * Otherwise a transcript "System: ...\nUser: ...\nAssistant: ...\nUser: ..." (turns separated
 * by one newline; the last turn is the instruction being judged). NULL entries are skipped.
 * Callers holding a protobuf `Arena__V1__ChatMessage **` cast it:
 *   judge_render_question((const Arena__V1__ChatMessage *const *)r->messages, r->n_messages) */
char *judge_render_question(const Arena__V1__ChatMessage *const *msgs, size_t n);

#endif
