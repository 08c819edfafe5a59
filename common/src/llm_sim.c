/* llm_sim.c - the simulated LLM: one model that answers and judges in text, so the whole text
 * path (generation, judge templates, verdict parsing) runs as with a real model.
 * Everything it writes is marked simulated. Deterministic given (model seed, request seed,
 * prompt text): every random draw comes from a counter-based generator seeded by their hash.
 *
 * Answering: quality q = clamp(skill + 0.4 * (5 - difficulty) + N(0, noise), 1, 10), written
 * into the answer as "[sim-quality: q]". Judging (the prompt holds the FastChat sections
 * "[The Start of Assistant A's Answer]" ... for A and B): read each answer's tag (or estimate
 * an untagged answer's quality from its length), score sA = round(clamp(qA + position_bias +
 * N(0, judge_noise))), sB likewise without the bias, and write the verdict in the format the
 * prompt asks for. Rating difficulty (the prompt follows the ARENA_DIFFICULTY_START convention of
 * llm.h): "[[N]]" from the rated prompt's difficulty (planted tag or hash) plus judge noise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"
#include "llm_internal.h"

/* ---- deterministic randomness ---- */

struct sim_rng {
    uint64_t s;
};

static uint64_t rng_next(struct sim_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return arena_mix64(r->s);
}

static double rng_unit(struct sim_rng *r) /* (0, 1) */
{
    return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(struct sim_rng *r)
{
    double u1 = rng_unit(r), u2 = rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static uint64_t sim_seed(uint64_t model_seed, uint64_t req_seed, const char *text, uint64_t salt)
{
    uint64_t h = arena_hash64(text, strlen(text), model_seed ^ 0x51ed270b27a3c1f5ULL);
    return arena_mix64(h ^ arena_mix64(req_seed + salt));
}

/* ---- answering ---- */

/* The number of the first "<tag><number>]" in text[0..len): 0 and *v, or -1 when the tag is
 * absent or its value malformed. */
static int tag_number(const char *text, size_t len, const char *tag, double *v)
{
    size_t tl = strlen(tag);
    for (size_t i = 0; i + tl <= len; i++) {
        if (memcmp(text + i, tag, tl) != 0) {
            continue;
        }
        char num[32];
        size_t j = i + tl, k = 0;
        while (j < len && k + 1 < sizeof(num) && text[j] != ']') {
            num[k++] = text[j++];
        }
        num[k] = '\0';
        if (j >= len || text[j] != ']' || k == 0) {
            return -1;
        }
        char *end = NULL;
        double x = strtod(num, &end);
        if (end == num || *end != '\0' || !isfinite(x)) {
            return -1;
        }
        *v = x;
        return 0;
    }
    return -1;
}

double arena__sim_difficulty_n(const char *prompt, size_t len)
{
    double tagged;
    if (tag_number(prompt, len, ARENA_SIM_DIFFICULTY_TAG, &tagged) == 0) {
        return clamp(tagged, 0.0, 10.0);
    }
    uint64_t h = arena_hash64(prompt, len, 0xd1ff1c0175ULL);
    return (double)(h >> 11) / 9007199254740992.0 * 10.0;
}

double arena__sim_difficulty(const char *prompt)
{
    return arena__sim_difficulty_n(prompt, strlen(prompt));
}

double arena__sim_quality(const struct arena__sim_params *sp, const char *prompt, uint64_t req_seed)
{
    struct sim_rng r = {sim_seed(sp->seed, req_seed, prompt, 1)};
    double d = arena__sim_difficulty(prompt);
    return clamp(sp->skill + 0.4 * (5.0 - d) + rng_normal(&r) * sp->noise, 1.0, 10.0);
}

static const char *const filler[] = {
    "The key point is to break the problem into smaller steps and check each one.",
    "A careful answer considers the constraints stated in the question first.",
    "Here is a step-by-step outline that addresses the main request.",
    "An example makes the idea concrete and easier to verify.",
    "Edge cases deserve attention, since they are where most mistakes happen.",
    "In summary, the approach above should satisfy the stated requirements.",
    "Alternative approaches exist, each with its own trade-offs in cost and clarity.",
    "Testing the result against a few known inputs confirms that it behaves as expected.",
    "The explanation is kept short so that the essential reasoning stays visible.",
    "Further details can be added if the context calls for more depth.",
};

/* Append the first words of s, with brackets and control characters neutralised so that the
 * restatement never forges a quality tag or a judge marker. */
static void append_restated(struct arena_buf *b, const char *s, int max_words)
{
    int words = 0;
    bool in = false, any = false;
    size_t bytes = 0;
    for (; *s && bytes < 120; s++) {
        unsigned char ch = (unsigned char)*s;
        bool ws = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
        if (ws) {
            in = false;
            continue;
        }
        if (!in) {
            if (words == max_words) {
                break;
            }
            if (any) {
                arena_buf_append(b, " ", 1);
            }
            words++;
            in = true;
        }
        char out = (char)ch;
        if (ch == '[' || ch == '{') {
            out = '(';
        } else if (ch == ']' || ch == '}') {
            out = ')';
        } else if (ch < 0x20 || ch == '"') {
            out = '\'';
        }
        arena_buf_append(b, &out, 1);
        any = true;
        bytes++;
    }
    if (!any) {
        arena_buf_puts(b, "(empty prompt)");
    }
}

char *arena__sim_answer_text(const char *model, double q, const char *prompt, uint64_t h)
{
    struct arena_buf b;
    arena_buf_init(&b);
    arena_buf_printf(&b, "[simulated answer from %s] %s%.2f]\n", model, ARENA_SIM_QUALITY_TAG, q);
    arena_buf_puts(&b, "This is a simulated response to the request \"");
    append_restated(&b, prompt, 10);
    arena_buf_puts(&b, "\".");
    struct sim_rng r = {h};
    /* better answers run longer (as real ones tend to), within 200-600 bytes */
    size_t target = (size_t)clamp(200.0 + 35.0 * (q - 1.0) + 60.0 * (rng_unit(&r) - 0.5), 200, 560);
    size_t nf = sizeof(filler) / sizeof(filler[0]);
    while (b.len < target) {
        const char *s = filler[rng_next(&r) % nf];
        if (b.len + 1 + strlen(s) > 600) {
            break;
        }
        arena_buf_append(&b, " ", 1);
        arena_buf_puts(&b, s);
    }
    while (b.len < 200) {
        arena_buf_puts(&b, " More detail.");
    }
    return arena_buf_steal(&b, NULL);
}

/* ---- judging ---- */

int arena__sim_quality_parse(const char *text, size_t len, double *q)
{
    double v;
    if (tag_number(text, len, ARENA_SIM_QUALITY_TAG, &v) != 0) {
        return -1;
    }
    *q = clamp(v, 1.0, 10.0);
    return 0;
}

double arena__sim_text_quality(const char *text, size_t len)
{
    double l = (double)len / 2000.0;
    uint64_t h = arena_hash64(text, len, 0x7e47);
    double noise = (double)(h >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    return clamp(3.0 + 5.0 * (l < 1.0 ? l : 1.0) + noise, 1.0, 10.0);
}

static const char *find_n(const char *hay, size_t n, const char *needle)
{
    size_t nl = strlen(needle);
    if (nl == 0 || n < nl) {
        return NULL;
    }
    for (size_t i = 0; i + nl <= n; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

bool arena__sim_judge_sections(const char *prompt, const char **a, size_t *alen, const char **b,
                               size_t *blen)
{
    size_t n = strlen(prompt);
    const char *as = find_n(prompt, n, ARENA_SIM_A_START);
    if (!as) {
        return false;
    }
    as += strlen(ARENA_SIM_A_START);
    const char *ae = find_n(as, n - (size_t)(as - prompt), ARENA_SIM_A_END);
    if (!ae) {
        return false;
    }
    const char *bs = find_n(ae, n - (size_t)(ae - prompt), ARENA_SIM_B_START);
    if (!bs) {
        return false;
    }
    bs += strlen(ARENA_SIM_B_START);
    const char *be = find_n(bs, n - (size_t)(bs - prompt), ARENA_SIM_B_END);
    if (!be) {
        return false;
    }
    *a = as;
    *alen = (size_t)(ae - as);
    *b = bs;
    *blen = (size_t)(be - bs);
    return true;
}

static const char *compare_words(int d)
{
    if (d >= 3) {
        return "Assistant A's answer is clearly better: it is more complete and more accurate.";
    }
    if (d >= 1) {
        return "Assistant A's answer is slightly better: it covers the request a little more "
               "thoroughly.";
    }
    if (d <= -3) {
        return "Assistant B's answer is clearly better: it is more complete and more accurate.";
    }
    if (d <= -1) {
        return "Assistant B's answer is slightly better: it covers the request a little more "
               "thoroughly.";
    }
    return "Both answers are of comparable quality; neither is meaningfully better.";
}

char *arena__sim_verdict_text(const char *prompt, int sa, int sb, uint64_t style_hash)
{
    struct arena_buf b;
    arena_buf_init(&b);
    int d = sa - sb;
    if (strstr(prompt, "[[A>>B]]")) {
        const char *v = d >= 3    ? "A>>B"
                        : d >= 1  ? "A>B"
                        : d <= -3 ? "B>>A"
                        : d <= -1 ? "B>A"
                                  : "A=B";
        arena_buf_printf(&b,
                         "(simulated judge) Evaluating both answers against the prompt. "
                         "Assistant A's answer rates %d out of 10 and Assistant B's answer rates "
                         "%d out of 10. %s\n\nMy final verdict is: [[%s]]",
                         sa, sb, compare_words(d), v);
    } else if (strstr(prompt, "[[A]]")) {
        const char *v = d >= 1 ? "A" : d <= -1 ? "B" : "C";
        arena_buf_printf(&b,
                         "(simulated judge) Comparing the two responses for helpfulness, "
                         "relevance and accuracy: Assistant A rates %d and Assistant B rates %d "
                         "out of 10. %s\n\n[[%s]]",
                         sa, sb, compare_words(d), v);
    } else {
        switch (style_hash % 3) {
        case 0:
            arena_buf_printf(&b, "[[%d, %d]]\n(simulated judge) %s", sa, sb, compare_words(d));
            break;
        case 1:
            arena_buf_printf(&b, "Score A: %d/10\nScore B: %d/10\n(simulated judge) %s", sa, sb,
                             compare_words(d));
            break;
        default:
            arena_buf_printf(&b,
                             "Assistant A: %d\nAssistant B: %d\n\nExplanation: %s "
                             "(simulated judge)",
                             sa, sb, compare_words(d));
            break;
        }
    }
    return arena_buf_steal(&b, NULL);
}

char *arena__sim_judge(const struct arena__sim_params *sp, const char *prompt, uint64_t req_seed,
                       int *sa_out, int *sb_out)
{
    const char *a, *b;
    size_t alen, blen;
    if (!arena__sim_judge_sections(prompt, &a, &alen, &b, &blen)) {
        return NULL;
    }
    double qa, qb;
    if (arena__sim_quality_parse(a, alen, &qa) != 0) {
        qa = arena__sim_text_quality(a, alen);
    }
    if (arena__sim_quality_parse(b, blen, &qb) != 0) {
        qb = arena__sim_text_quality(b, blen);
    }
    struct sim_rng r = {sim_seed(sp->seed, req_seed, prompt, 2)};
    double na = rng_normal(&r) * sp->judge_noise;
    double nb = rng_normal(&r) * sp->judge_noise;
    int sa = (int)lround(clamp(qa + sp->position_bias + na, 1.0, 10.0));
    int sb = (int)lround(clamp(qb + nb, 1.0, 10.0));
    if (sa_out) {
        *sa_out = sa;
    }
    if (sb_out) {
        *sb_out = sb;
    }
    /* style from the battle text only, so both orders of one battle may differ in style but a
     * replayed battle never does */
    uint64_t style = arena_hash64(prompt, strlen(prompt), 0x57e1e);
    return arena__sim_verdict_text(prompt, sa, sb, style);
}

bool arena__sim_difficulty_section(const char *prompt, const char **text, size_t *len)
{
    size_t sl = strlen(ARENA_DIFFICULTY_START);
    if (strncmp(prompt, ARENA_DIFFICULTY_START, sl) != 0) {
        return false;
    }
    const char *s = prompt + sl, *end = NULL;
    for (const char *p = strstr(s, ARENA_DIFFICULTY_END); p;
         p = strstr(p + 1, ARENA_DIFFICULTY_END)) {
        end = p;
    }
    if (end == NULL) {
        return false;
    }
    /* the newlines framing the prompt are layout, not text */
    if (*s == '\n') {
        s++;
    }
    const char *e = end;
    if (e > s && e[-1] == '\n') {
        e--;
    }
    *text = s;
    *len = (size_t)(e - s);
    return true;
}

char *arena__sim_rate_difficulty(const struct arena__sim_params *sp, const char *prompt,
                                 uint64_t req_seed, int *score_out)
{
    const char *text;
    size_t len;
    if (!arena__sim_difficulty_section(prompt, &text, &len)) {
        return NULL;
    }
    double d = arena__sim_difficulty_n(text, len);
    struct sim_rng r = {sim_seed(sp->seed, req_seed, prompt, 4)};
    int score = (int)lround(clamp(d + rng_normal(&r) * sp->judge_noise, 0.0, 10.0));
    if (score_out) {
        *score_out = score;
    }
    const char *why = score >= 7 ? "It needs specialised knowledge, several reasoning steps and a "
                                   "precise answer."
                      : score >= 4 ? "It is a clear task that needs some knowledge and a few steps."
                                   : "It is a simple request that most assistants answer well.";
    return arena_xasprintf("(simulated rater) %s\n\nDifficulty: [[%d]]", why, score);
}

char *arena__sim_respond(const struct arena__sim_params *sp, const char *prompt, uint64_t req_seed)
{
    char *rated = arena__sim_rate_difficulty(sp, prompt, req_seed, NULL);
    if (rated) {
        return rated;
    }
    char *judged = arena__sim_judge(sp, prompt, req_seed, NULL, NULL);
    if (judged) {
        return judged;
    }
    double q = arena__sim_quality(sp, prompt, req_seed);
    return arena__sim_answer_text(sp->model, q, prompt, sim_seed(sp->seed, req_seed, prompt, 3));
}

/* ---- the backend ---- */

struct sim_backend {
    struct arena_llm_pool *pool;
    struct arena__sim_params sp;
    int64_t latency_ms;
};

static void *sim_create(struct arena_llm_pool *pool, struct arena__llm_model *m,
                        const struct arena_model_cfg *cfg, char *errstr, size_t errstr_size)
{
    if (cfg->noise < 0 || cfg->judge_noise < 0 || cfg->latency_ms < 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "model %s: noise, judge_noise and latency_ms must be >= 0", cfg->name);
        return NULL;
    }
    struct sim_backend *sb = arena_xcalloc(1, sizeof(*sb));
    sb->pool = pool;
    sb->sp.model = arena__llm_model_name(m);
    sb->sp.skill = cfg->skill;
    sb->sp.noise = cfg->noise;
    sb->sp.judge_noise = cfg->judge_noise;
    sb->sp.position_bias = cfg->position_bias;
    sb->sp.seed = cfg->seed;
    sb->latency_ms = cfg->latency_ms;
    return sb;
}

static void sim_fire(void *arg)
{
    arena__llm_complete(arg);
}

static void sim_start(void *be, struct arena__llm_call *call)
{
    struct sim_backend *sb = be;
    const char *prompt = arena__llm_last_user(call);
    call->content = arena__sim_respond(&sb->sp, prompt ? prompt : "", call->seed);
    call->finish_reason = arena_xstrdup("stop");
    call->simulated = true;
    call->err = ARENA_ERR_OK;
    uint32_t pt = 0;
    for (size_t i = 0; i < call->n_messages; i++) {
        pt += arena__llm_count_words(call->contents[i]);
    }
    call->prompt_tokens = pt;
    call->completion_tokens = arena__llm_count_words(call->content);
    if (sb->latency_ms > 0) {
        arena__llm_timer_add(sb->pool, (uint64_t)sb->latency_ms * 1000, sim_fire, call);
    } else {
        arena__llm_complete(call);
    }
}

static void sim_destroy(void *be)
{
    free(be);
}

const struct arena__llm_backend_ops arena__llm_sim_ops = {
    .name = "sim",
    .create = sim_create,
    .start = sim_start,
    .poll = NULL,
    .abandon = NULL,
    .destroy = sim_destroy,
};
