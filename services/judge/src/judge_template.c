/* judge_template.c - built-in judge prompts and YAML template files. */
#include "judge_template.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "arena/err.h"
#include "arena/util.h"

struct judge_template {
    char *name;
    enum judge_kind kind;
    char *system;
    char *user;
};

#define ANSWER_BLOCK_A                                                                             \
    "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]"
#define ANSWER_BLOCK_B                                                                             \
    "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"

/* WizardArena (Arena Learning, 2024): the paper's judge scores each answer 1-10 with an
 * explanation (coherence, factual accuracy, context-awareness, overall quality), scores first. */
static const char WIZARDARENA_SYSTEM[] =
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the conversation displayed below. The user's last turn is the instruction "
    "the assistants answer; earlier turns, if any, are the dialogue history they must take into "
    "account.\n\n"
    "Judge each response on its coherence, factual accuracy, context-awareness (does it follow "
    "the instruction and the dialogue history) and overall quality. Each assistant receives an "
    "overall score on a scale of 1 to 10, where a higher score indicates better overall "
    "performance.\n\n"
    "Output on the first line only the two scores, for Assistant A and Assistant B "
    "respectively, in the format \"[[score_A, score_B]]\", for example \"[[8, 6]]\". On the "
    "following lines, provide a comprehensive explanation of your evaluation. Avoid any position "
    "bias: the order in which the responses were presented must not affect your judgment. Do not "
    "let the length of the responses or the names of the assistants influence you. Be as "
    "objective as possible.";

static const char WIZARDARENA_USER[] =
    "[Conversation]\n{question}\n\n" ANSWER_BLOCK_A "\n\n" ANSWER_BLOCK_B;

/* Arena-Hard-Auto v0.1 judge system prompt (judge_config.yaml). The user prompt keeps its
 * "<|User Prompt|>" header; the answer delimiters use the project-wide bracket form. */
static const char ARENA_HARD_SYSTEM[] =
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the user prompt displayed below. You will be given assistant A's answer "
    "and assistant B's answer. Your job is to evaluate which assistant's answer is better.\n\n"
    "Begin your evaluation by generating your own answer to the prompt. You must provide your "
    "answers before judging any answers.\n\n"
    "When evaluating the assistants' answers, compare both assistants' answers with your answer. "
    "You must identify and correct any mistakes or inaccurate information.\n\n"
    "Then consider if the assistant's answers are helpful, relevant, and concise. Helpful means "
    "the answer correctly responds to the prompt or follows the instructions. Note when user "
    "prompt has any ambiguity or more than one interpretation, it is more helpful and "
    "appropriate to ask for clarifications or more information from the user than providing an "
    "answer based on assumptions. Relevant means all parts of the response closely connect or "
    "are appropriate to what is being asked. Concise means the response is clear and not "
    "verbose or excessive.\n\n"
    "Then consider the creativity and novelty of the assistant's answers when needed. Finally, "
    "identify any missing important information in the assistants' answers that would be "
    "beneficial to include when responding to the user prompt.\n\n"
    "After providing your explanation, you must output only one of the following choices as "
    "your final verdict with a label:\n\n"
    "1. Assistant A is significantly better: [[A>>B]]\n"
    "2. Assistant A is slightly better: [[A>B]]\n"
    "3. Tie, relatively the same: [[A=B]]\n"
    "4. Assistant B is slightly better: [[B>A]]\n"
    "5. Assistant B is significantly better: [[B>>A]]\n\n"
    "Example output: \"My final verdict is tie: [[A=B]]\".";

static const char ARENA_HARD_USER[] =
    "<|User Prompt|>\n{question}\n\n" ANSWER_BLOCK_A "\n\n" ANSWER_BLOCK_B;

/* FastChat MT-Bench "pair-v2" judge prompt. */
static const char MT_BENCH_PAIR_SYSTEM[] =
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the user question displayed below. You should choose the assistant that "
    "follows the user's instructions and answers the user's question better. Your evaluation "
    "should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, "
    "and level of detail of their responses. Begin your evaluation by comparing the two "
    "responses and provide a short explanation. Avoid any position biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow "
    "the length of the responses to influence your evaluation. Do not favor certain names of "
    "the assistants. Be as objective as possible. After providing your explanation, output your "
    "final verdict by strictly following this format: \"[[A]]\" if assistant A is better, "
    "\"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.";

static const char MT_BENCH_PAIR_USER[] =
    "[User Question]\n{question}\n\n" ANSWER_BLOCK_A "\n\n" ANSWER_BLOCK_B;

struct builtin {
    const char *name;
    enum judge_kind kind;
    const char *system;
    const char *user;
};

static const struct builtin BUILTINS[] = {
    {"wizardarena", JUDGE_KIND_SCORES, WIZARDARENA_SYSTEM, WIZARDARENA_USER},
    {"arena-hard", JUDGE_KIND_FIVE_LABEL, ARENA_HARD_SYSTEM, ARENA_HARD_USER},
    {"mt-bench-pair", JUDGE_KIND_THREE_LABEL, MT_BENCH_PAIR_SYSTEM, MT_BENCH_PAIR_USER},
};

const char *judge_kind_name(enum judge_kind kind)
{
    switch (kind) {
    case JUDGE_KIND_SCORES:
        return "scores";
    case JUDGE_KIND_FIVE_LABEL:
        return "five_label";
    case JUDGE_KIND_THREE_LABEL:
        return "three_label";
    }
    return "?";
}

static const char *kind_marker(enum judge_kind kind)
{
    switch (kind) {
    case JUDGE_KIND_SCORES:
        return "[[score_A, score_B]]";
    case JUDGE_KIND_FIVE_LABEL:
        return "[[A>>B]]";
    case JUDGE_KIND_THREE_LABEL:
        return "[[A]]";
    }
    return "";
}

void judge_template_destroy(struct judge_template *t)
{
    if (!t) {
        return;
    }
    free(t->name);
    free(t->system);
    free(t->user);
    free(t);
}

const char *judge_template_name(const struct judge_template *t)
{
    return t->name;
}

enum judge_kind judge_template_kind(const struct judge_template *t)
{
    return t->kind;
}

/* Placeholders are {identifier} with identifier = [a-z_][a-z0-9_]*; other braces are text. */
static size_t placeholder_len(const char *p)
{
    if (p[0] != '{' || !(islower((unsigned char)p[1]) || p[1] == '_')) {
        return 0;
    }
    size_t i = 1;
    while (islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '_') {
        i++;
    }
    return p[i] == '}' ? i + 1 : 0;
}

static bool known_placeholder(const char *p, size_t len)
{
    static const char *const names[] = {"{question}", "{answer_a}", "{answer_b}"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0) {
            return true;
        }
    }
    return false;
}

static arena_err_t check_text(const char *what, const char *text, char *errstr, size_t errstr_size)
{
    for (const char *p = text; *p; p++) {
        size_t len = placeholder_len(p);
        if (len && !known_placeholder(p, len)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "unknown placeholder %.*s in %s (known: {question} {answer_a} "
                                 "{answer_b})",
                                 (int)len, p, what);
        }
        if (len) {
            p += len - 1;
        }
    }
    return ARENA_ERR_OK;
}

static arena_err_t validate(const struct judge_template *t, char *errstr, size_t errstr_size)
{
    arena_err_t err = check_text("system", t->system, errstr, errstr_size);
    if (err) {
        return err;
    }
    if ((err = check_text("user", t->user, errstr, errstr_size))) {
        return err;
    }
    static const char *const required[] = {"{question}", "{answer_a}", "{answer_b}"};
    for (size_t i = 0; i < 3; i++) {
        if (!strstr(t->user, required[i])) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                 "missing placeholder %s in user", required[i]);
        }
    }
    if (strstr(t->system, "{answer_") || strstr(t->system, "{question}")) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "placeholders belong in user, not in system");
    }
    if (!strstr(t->user, ANSWER_BLOCK_A)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "user must embed the answer as \"[The Start of Assistant A's "
                             "Answer]\\n{answer_a}\\n[The End of Assistant A's Answer]\"");
    }
    if (!strstr(t->user, ANSWER_BLOCK_B)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "user must embed the answer as \"[The Start of Assistant B's "
                             "Answer]\\n{answer_b}\\n[The End of Assistant B's Answer]\"");
    }
    const char *marker = kind_marker(t->kind);
    if (!strstr(t->system, marker) && !strstr(t->user, marker)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "kind %s: the instructions must contain the format marker %s",
                             judge_kind_name(t->kind), marker);
    }
    return ARENA_ERR_OK;
}

static int parse_kind(const char *s, enum judge_kind *out)
{
    if (strcmp(s, "scores") == 0) {
        *out = JUDGE_KIND_SCORES;
    } else if (strcmp(s, "five_label") == 0) {
        *out = JUDGE_KIND_FIVE_LABEL;
    } else if (strcmp(s, "three_label") == 0) {
        *out = JUDGE_KIND_THREE_LABEL;
    } else {
        return -1;
    }
    return 0;
}

/* Reads a flat mapping of scalars. */
static struct judge_template *load_file(const char *path, char *errstr, size_t errstr_size)
{
    struct judge_template *t = arena_xcalloc(1, sizeof(*t));
    char *kind = NULL;
    bool ok = false;
    yaml_parser_t parser;
    yaml_event_t ev;
    bool have_ev = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "judge template %s: not a built-in (wizardarena, arena-hard, "
                      "mt-bench-pair) and cannot be opened: %s",
                      path, strerror(errno));
        free(t);
        return NULL;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int depth = 0;
    char *key = NULL;
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "judge template %s: YAML error at line %zu: %s", path,
                          parser.problem_mark.line + 1,
                          parser.problem ? parser.problem : "unknown");
            goto out;
        }
        have_ev = true;
        if (ev.type == YAML_STREAM_END_EVENT) {
            break;
        }
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) {
            if (depth >= 1 || ev.type == YAML_SEQUENCE_START_EVENT) {
                arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                              "judge template %s: line %zu: expected a flat mapping of "
                              "text values",
                              path, ev.start_mark.line + 1);
                goto out;
            }
            depth++;
        } else if (ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (ev.type == YAML_SCALAR_EVENT) {
            const char *val = (const char *)ev.data.scalar.value;
            if (depth != 1) {
                arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                              "judge template %s: expected a mapping at the top level", path);
                goto out;
            }
            if (!key) {
                key = arena_xstrdup(val);
            } else {
                char **dst = NULL;
                if (strcmp(key, "name") == 0) {
                    dst = &t->name;
                } else if (strcmp(key, "kind") == 0) {
                    dst = &kind;
                } else if (strcmp(key, "system") == 0) {
                    dst = &t->system;
                } else if (strcmp(key, "user") == 0) {
                    dst = &t->user;
                } else {
                    arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                  "judge template %s: unknown key '%s' (known: name, kind, "
                                  "system, user)",
                                  path, key);
                    goto out;
                }
                if (*dst) {
                    arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                  "judge template %s: duplicate key '%s'", path, key);
                    goto out;
                }
                *dst = arena_xstrdup(val);
                free(key);
                key = NULL;
            }
        }
        yaml_event_delete(&ev);
        have_ev = false;
    }
    if (!kind) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "judge template %s: missing key 'kind' (scores | five_label | "
                      "three_label)",
                      path);
        goto out;
    }
    if (parse_kind(kind, &t->kind) != 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "judge template %s: bad kind '%s' (scores | five_label | three_label)", path,
                      kind);
        goto out;
    }
    if (!t->user) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "judge template %s: missing key 'user'", path);
        goto out;
    }
    if (!t->system) {
        t->system = arena_xstrdup("");
    }
    if (!t->name || !*t->name) {
        free(t->name);
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *dot = strrchr(base, '.');
        t->name =
            dot && dot != base ? arena_xstrndup(base, (size_t)(dot - base)) : arena_xstrdup(base);
    }
    char verr[200];
    if (validate(t, verr, sizeof(verr)) != ARENA_ERR_OK) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "judge template %s: %s", path, verr);
        goto out;
    }
    ok = true;
out:
    if (have_ev) {
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    free(key);
    free(kind);
    if (!ok) {
        judge_template_destroy(t);
        return NULL;
    }
    return t;
}

struct judge_template *judge_template_load(const char *name_or_path, char *errstr,
                                           size_t errstr_size)
{
    if (!name_or_path || !*name_or_path) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "judge template: empty name");
        return NULL;
    }
    for (size_t i = 0; i < sizeof(BUILTINS) / sizeof(BUILTINS[0]); i++) {
        if (strcmp(BUILTINS[i].name, name_or_path) == 0) {
            struct judge_template *t = arena_xcalloc(1, sizeof(*t));
            t->name = arena_xstrdup(BUILTINS[i].name);
            t->kind = BUILTINS[i].kind;
            t->system = arena_xstrdup(BUILTINS[i].system);
            t->user = arena_xstrdup(BUILTINS[i].user);
            return t;
        }
    }
    return load_file(name_or_path, errstr, errstr_size);
}

static void render_one(struct arena_buf *b, const char *tpl, const char *question, const char *a,
                       const char *bb)
{
    const char *p = tpl;
    while (*p) {
        size_t len = placeholder_len(p);
        if (len == strlen("{question}") && memcmp(p, "{question}", len) == 0) {
            arena_buf_puts(b, question);
        } else if (len == strlen("{answer_a}") && memcmp(p, "{answer_a}", len) == 0) {
            arena_buf_puts(b, a);
        } else if (len == strlen("{answer_b}") && memcmp(p, "{answer_b}", len) == 0) {
            arena_buf_puts(b, bb);
        } else {
            arena_buf_append(b, p, 1);
            p++;
            continue;
        }
        p += len;
    }
}

void judge_template_render(const struct judge_template *t, const char *question,
                           const char *answer_first, const char *answer_second, char **system_out,
                           char **user_out)
{
    struct arena_buf b;
    arena_buf_init(&b);
    render_one(&b, t->user, question ? question : "", answer_first ? answer_first : "",
               answer_second ? answer_second : "");
    arena_buf_puts(&b, "");
    *user_out = arena_buf_steal(&b, NULL);
    *system_out = arena_xstrdup(t->system);
    arena_buf_fini(&b);
}

static const char *role_label(const char *role)
{
    if (!role || strcmp(role, "user") == 0) {
        return "User";
    }
    if (strcmp(role, "assistant") == 0) {
        return "Assistant";
    }
    if (strcmp(role, "system") == 0) {
        return "System";
    }
    return NULL;
}

char *judge_render_question(const Arena__V1__ChatMessage *const *msgs, size_t n)
{
    size_t count = 0;
    const Arena__V1__ChatMessage *only = NULL;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i]) {
            count++;
            only = msgs[i];
        }
    }
    if (count == 1 && only->role && strcmp(only->role, "user") == 0) {
        return arena_xstrdup(only->content ? only->content : "");
    }
    struct arena_buf b;
    arena_buf_init(&b);
    arena_buf_puts(&b, "");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const Arena__V1__ChatMessage *m = msgs[i];
        if (!m) {
            continue;
        }
        const char *label = role_label(m->role);
        if (!first) {
            arena_buf_puts(&b, "\n");
        }
        first = false;
        if (label) {
            arena_buf_printf(&b, "%s: ", label);
        } else {
            arena_buf_printf(&b, "%s: ", m->role); /* unknown role: shown as is */
        }
        arena_buf_puts(&b, m->content ? m->content : "");
    }
    char *s = arena_buf_steal(&b, NULL);
    arena_buf_fini(&b);
    return s;
}
