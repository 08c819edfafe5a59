/* sampler_ingest.c - prompt files into arena.v1.Prompt (see sampler_ingest.h). */
#include "sampler_ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/prompt_id.h"
#include "arena/util.h"

static const char *const format_names[] = {"auto", "jsonl", "arena-hard", "sharegpt"};

const char *sampler_format_name(enum sampler_format f)
{
    if ((unsigned)f < sizeof(format_names) / sizeof(format_names[0])) {
        return format_names[f];
    }
    return "unknown";
}

arena_err_t sampler_format_parse(const char *name, enum sampler_format *out, char *errstr,
                                 size_t errstr_size)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (name != NULL && strcmp(name, format_names[i]) == 0) {
            *out = (enum sampler_format)i;
            return ARENA_ERR_OK;
        }
    }
    if (name != NULL && strcmp(name, "arena_hard") == 0) {
        *out = SAMPLER_FMT_ARENA_HARD;
        return ARENA_ERR_OK;
    }
    return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                         "unknown format '%s' (expected auto, jsonl, arena-hard or sharegpt)",
                         name ? name : "(null)");
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static enum sampler_format detect_obj(const json_t *o)
{
    if (!json_is_object(o)) {
        return SAMPLER_FMT_JSONL;
    }
    if (json_object_get(o, "conversations") != NULL) {
        return SAMPLER_FMT_SHAREGPT;
    }
    if ((json_object_get(o, "uid") != NULL || json_object_get(o, "question_id") != NULL) &&
        (json_object_get(o, "turns") != NULL ||
         (json_object_get(o, "prompt") != NULL && json_object_get(o, "cluster") != NULL))) {
        return SAMPLER_FMT_ARENA_HARD;
    }
    return SAMPLER_FMT_JSONL;
}

enum sampler_format sampler_ingest_detect(const char *line, size_t len)
{
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    if (json_is_array(o) && json_array_size(o) > 0) {
        json_t *first = json_incref(json_array_get(o, 0));
        json_decref(o);
        o = first;
    }
    enum sampler_format f = detect_obj(o);
    json_decref(o);
    return f;
}

/* ---- content cleaning ---- */

/* Strip NULs, CRLF/CR -> LF, trim ASCII whitespace. Returns a malloc'd string. */
static char *clean_text(const char *s, size_t n)
{
    char *out = arena_xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\0') {
            continue;
        }
        if (c == '\r') {
            if (i + 1 < n && s[i + 1] == '\n') {
                continue;
            }
            c = '\n';
        }
        out[o++] = c;
    }
    size_t b = 0;
    while (b < o && is_ws((unsigned char)out[b])) {
        b++;
    }
    while (o > b && is_ws((unsigned char)out[o - 1])) {
        o--;
    }
    memmove(out, out + b, o - b);
    out[o - b] = '\0';
    return out;
}

static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (p[i + j] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        i += k + 1;
    }
    return 1;
}

size_t sampler_utf8_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        n += (*p & 0xc0) != 0x80;
    }
    return n;
}

/* ---- a conversation under construction ---- */

struct conv {
    char **roles;
    char **contents;
    size_t n, cap;
};

static void conv_add(struct conv *c, const char *role, char *content)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->roles = arena_xrealloc(c->roles, c->cap * sizeof(*c->roles));
        c->contents = arena_xrealloc(c->contents, c->cap * sizeof(*c->contents));
    }
    c->roles[c->n] = arena_xstrdup(role);
    c->contents[c->n] = content;
    c->n++;
}

static void conv_fini(struct conv *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->roles[i]);
        free(c->contents[i]);
    }
    free(c->roles);
    free(c->contents);
    memset(c, 0, sizeof(*c));
}

/* Text of a JSON value used as content: a string, or an OpenAI array of {"type":"text","text"}
 * parts joined by "\n". Fills *out (cleaned) or returns an error message. */
static arena_err_t content_of(const json_t *v, const char *what, char **out, char *errstr,
                              size_t errstr_size)
{
    *out = NULL;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (!utf8_valid(s, n)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "%s: invalid UTF-8", what);
        }
        *out = clean_text(s, n);
    } else if (json_is_array(v)) {
        struct arena_buf b;
        arena_buf_init(&b);
        size_t i;
        json_t *part;
        json_array_foreach(v, i, part)
        {
            const json_t *t = json_is_string(part) ? part : json_object_get(part, "text");
            if (!json_is_string(t)) {
                arena_buf_fini(&b);
                return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                     "%s: part %zu has no text", what, i);
            }
            if (b.len > 0) {
                arena_buf_append(&b, "\n", 1);
            }
            arena_buf_append(&b, json_string_value(t), json_string_length(t));
        }
        if (!utf8_valid(b.data ? b.data : "", b.len)) {
            arena_buf_fini(&b);
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "%s: invalid UTF-8", what);
        }
        *out = clean_text(b.data ? b.data : "", b.len);
        arena_buf_fini(&b);
    } else if (v == NULL) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "missing field '%s'", what);
    } else {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "field '%s' must be a string",
                             what);
    }
    if ((*out)[0] == '\0') {
        free(*out);
        *out = NULL;
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "field '%s' is empty", what);
    }
    return ARENA_ERR_OK;
}

static const char *map_role(const char *r)
{
    static const char *const users[] = {"user", "human", "USER", "Human", "prompter", NULL};
    static const char *const assistants[] = {"assistant", "gpt", "chatgpt",   "bard", "bing",
                                             "model",     "bot", "ASSISTANT", "GPT",  NULL};
    if (strcmp(r, "system") == 0 || strcmp(r, "System") == 0) {
        return "system";
    }
    for (size_t i = 0; users[i]; i++) {
        if (strcmp(r, users[i]) == 0) {
            return "user";
        }
    }
    for (size_t i = 0; assistants[i]; i++) {
        if (strcmp(r, assistants[i]) == 0) {
            return "assistant";
        }
    }
    return NULL;
}

/* messages: array of {role_key, content_key}. */
static arena_err_t parse_turns(const json_t *arr, const char *field, const char *role_key,
                               const char *content_key, struct conv *c, char *errstr,
                               size_t errstr_size)
{
    if (!json_is_array(arr)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "field '%s' must be an array",
                             field);
    }
    if (json_array_size(arr) == 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "field '%s' is empty", field);
    }
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (!json_is_object(m)) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                 "%s[%zu]: expected an object", field, i);
        }
        const char *r = json_string_value(json_object_get(m, role_key));
        if (r == NULL) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                 "%s[%zu]: missing field '%s'", field, i, role_key);
        }
        const char *role = map_role(r);
        if (role == NULL) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                 "%s[%zu]: unknown role '%.40s'", field, i, r);
        }
        char what[64];
        snprintf(what, sizeof(what), "%s[%zu].%s", field, i, content_key);
        char *content;
        arena_err_t err =
            content_of(json_object_get(m, content_key), what, &content, errstr, errstr_size);
        if (err != ARENA_ERR_OK) {
            return err;
        }
        conv_add(c, role, content);
    }
    return ARENA_ERR_OK;
}

static char *json_scalar_text(const json_t *v)
{
    if (json_is_string(v)) {
        return clean_text(json_string_value(v), json_string_length(v));
    }
    if (json_is_integer(v)) {
        return arena_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    return NULL;
}

static arena_err_t meta_string(const json_t *o, const char *key, char **dst, char *errstr,
                               size_t errstr_size)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v)) {
        return ARENA_ERR_OK;
    }
    char *s = json_scalar_text(v);
    if (s == NULL) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "field '%s' must be a string",
                             key);
    }
    if (!utf8_valid(s, strlen(s))) {
        free(s);
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "field '%s': invalid UTF-8",
                             key);
    }
    free(*dst);
    *dst = s;
    return ARENA_ERR_OK;
}

static Arena__V1__Prompt *prompt_alloc(void)
{
    Arena__V1__Prompt *p = arena_xmalloc(sizeof(*p));
    arena__v1__prompt__init(p);
    p->prompt_id = arena_xstrdup("");
    p->source = arena_xstrdup("");
    p->uid = arena_xstrdup("");
    p->category = arena_xstrdup("");
    p->cluster = arena_xstrdup("");
    p->language = arena_xstrdup("");
    return p;
}

void sampler_prompt_free(Arena__V1__Prompt *p)
{
    if (p != NULL) {
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
}

static arena_err_t parse_obj(enum sampler_format fmt, const json_t *o, const char *source,
                             Arena__V1__Prompt **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (!json_is_object(o)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "expected a JSON object");
    }
    if (fmt == SAMPLER_FMT_AUTO) {
        fmt = detect_obj(o);
    }
    struct conv c = {0};
    Arena__V1__Prompt *p = NULL;
    arena_err_t err = ARENA_ERR_OK;
    char *content = NULL;

    switch (fmt) {
    case SAMPLER_FMT_SHAREGPT: {
        const json_t *conv = json_object_get(o, "conversations");
        if (conv == NULL) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                "missing field 'conversations'");
            goto out;
        }
        err = parse_turns(conv, "conversations", "from", "value", &c, errstr, errstr_size);
        break;
    }
    case SAMPLER_FMT_ARENA_HARD: {
        const json_t *turns = json_object_get(o, "turns");
        if (json_object_get(o, "prompt") == NULL && turns != NULL) {
            if (!json_is_array(turns) || json_array_size(turns) == 0) {
                err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                    "field 'turns' must be a non-empty array");
                goto out;
            }
            /* v0.1 shape: turns are consecutive user turns (MT-Bench style). */
            size_t i;
            json_t *t;
            json_array_foreach(turns, i, t)
            {
                char what[48];
                snprintf(what, sizeof(what), "turns[%zu].content", i);
                const json_t *v = json_is_object(t) ? json_object_get(t, "content") : t;
                err = content_of(v, what, &content, errstr, errstr_size);
                if (err != ARENA_ERR_OK) {
                    goto out;
                }
                conv_add(&c, "user", content);
                content = NULL;
            }
        } else {
            err = content_of(json_object_get(o, "prompt"), "prompt", &content, errstr, errstr_size);
            if (err != ARENA_ERR_OK) {
                goto out;
            }
            conv_add(&c, "user", content);
            content = NULL;
        }
        break;
    }
    case SAMPLER_FMT_JSONL:
    default: {
        const json_t *msgs = json_object_get(o, "messages");
        const json_t *prompt = json_object_get(o, "prompt");
        const json_t *instr = json_object_get(o, "instruction");
        if (msgs != NULL) {
            err = parse_turns(msgs, "messages", "role", "content", &c, errstr, errstr_size);
        } else if (json_is_array(prompt)) { /* TRL conversational prompt */
            err = parse_turns(prompt, "prompt", "role", "content", &c, errstr, errstr_size);
        } else if (prompt != NULL || instr != NULL) {
            const json_t *sys = json_object_get(o, "system");
            if (sys != NULL && !json_is_null(sys)) {
                err = content_of(sys, "system", &content, errstr, errstr_size);
                if (err != ARENA_ERR_OK) {
                    goto out;
                }
                conv_add(&c, "system", content);
                content = NULL;
            }
            err = content_of(prompt ? prompt : instr, prompt ? "prompt" : "instruction", &content,
                             errstr, errstr_size);
            if (err != ARENA_ERR_OK) {
                goto out;
            }
            const json_t *input = json_object_get(o, "input");
            if (prompt == NULL && input != NULL && !json_is_null(input)) {
                if (!json_is_string(input)) {
                    err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                        "field 'input' must be a string");
                    goto out;
                }
                if (!utf8_valid(json_string_value(input), json_string_length(input))) {
                    err =
                        arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "input: invalid UTF-8");
                    goto out;
                }
                char *in = clean_text(json_string_value(input), json_string_length(input));
                if (in[0] != '\0') {
                    char *joined = arena_xasprintf("%s\n\n%s", content, in);
                    free(content);
                    content = joined;
                }
                free(in);
            }
            conv_add(&c, "user", content);
            content = NULL;
        } else {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                "missing field 'prompt' (or 'messages', 'instruction')");
        }
        break;
    }
    }
    if (err != ARENA_ERR_OK) {
        goto out;
    }
    /* keep up to and including the last user turn */
    size_t last_user = c.n;
    for (size_t i = c.n; i-- > 0;) {
        if (strcmp(c.roles[i], "user") == 0) {
            last_user = i;
            break;
        }
    }
    if (last_user == c.n) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "no user turn in the %s",
                            fmt == SAMPLER_FMT_SHAREGPT ? "conversation" : "messages");
        goto out;
    }
    while (c.n > last_user + 1) {
        c.n--;
        free(c.roles[c.n]);
        free(c.contents[c.n]);
    }

    p = prompt_alloc();
    if (source != NULL) {
        free(p->source);
        p->source = arena_xstrdup(source);
    }
    char id[33];
    arena_prompt_id((const char *const *)c.roles, (const char *const *)c.contents, c.n, id);
    free(p->prompt_id);
    p->prompt_id = arena_xstrdup(id);
    p->n_messages = c.n;
    p->messages = arena_xcalloc(c.n, sizeof(*p->messages));
    for (size_t i = 0; i < c.n; i++) {
        Arena__V1__ChatMessage *m = arena_xmalloc(sizeof(*m));
        arena__v1__chat_message__init(m);
        m->role = c.roles[i];
        m->content = c.contents[i];
        c.roles[i] = c.contents[i] = NULL;
        p->messages[i] = m;
    }
    c.n = 0;

    if ((err = meta_string(o, "uid", &p->uid, errstr, errstr_size)) != ARENA_ERR_OK) {
        goto out;
    }
    if (p->uid[0] == '\0') {
        const char *alt[] = {"question_id", "id", NULL};
        for (size_t i = 0; alt[i]; i++) {
            if ((err = meta_string(o, alt[i], &p->uid, errstr, errstr_size)) != ARENA_ERR_OK) {
                goto out;
            }
            if (p->uid[0] != '\0') {
                break;
            }
        }
    }
    if ((err = meta_string(o, "category", &p->category, errstr, errstr_size)) != ARENA_ERR_OK ||
        (err = meta_string(o, "cluster", &p->cluster, errstr, errstr_size)) != ARENA_ERR_OK ||
        (err = meta_string(o, "language", &p->language, errstr, errstr_size)) != ARENA_ERR_OK) {
        goto out;
    }
    if (p->language[0] == '\0' &&
        (err = meta_string(o, "lang", &p->language, errstr, errstr_size)) != ARENA_ERR_OK) {
        goto out;
    }
    const json_t *d = json_object_get(o, "difficulty");
    if (d != NULL && !json_is_null(d)) {
        if (!json_is_number(d)) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                "field 'difficulty' must be a number");
            goto out;
        }
        double v = json_number_value(d);
        if (!(v >= 0.0 && v <= 10.0)) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                                "field 'difficulty' must be within 0-10, got %g", v);
            goto out;
        }
        p->difficulty_present_case = ARENA__V1__PROMPT__DIFFICULTY_PRESENT_DIFFICULTY;
        p->difficulty = v;
    }
out:
    free(content);
    conv_fini(&c);
    if (err != ARENA_ERR_OK) {
        sampler_prompt_free(p);
        return err;
    }
    *out = p;
    return ARENA_ERR_OK;
}

static arena_err_t json_error(const json_error_t *je, char *errstr, size_t errstr_size)
{
    if (strstr(je->text, "UTF-8") != NULL || strstr(je->text, "decode byte") != NULL) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "invalid UTF-8 (column %d)",
                             je->column);
    }
    return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "invalid JSON at column %d: %s",
                         je->column, je->text);
}

arena_err_t sampler_ingest_parse_line(enum sampler_format fmt, const char *line, size_t len,
                                      const char *source, Arena__V1__Prompt **out, char *errstr,
                                      size_t errstr_size)
{
    *out = NULL;
    if (line == NULL) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "empty line");
    }
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &je);
    if (o == NULL) {
        return json_error(&je, errstr, errstr_size);
    }
    arena_err_t err = parse_obj(fmt, o, source, out, errstr, errstr_size);
    json_decref(o);
    return err;
}

/* ---- streams ---- */

static int handle_record(const json_t *o, const char *line, size_t len, enum sampler_format fmt,
                         const char *source, uint64_t lineno, int array_item, sampler_prompt_cb *cb,
                         sampler_bad_line_cb *bad_cb, void *ctx, struct sampler_ingest_stats *st)
{
    char err[512];
    Arena__V1__Prompt *p = NULL;
    arena_err_t rc = o != NULL
                         ? parse_obj(fmt, o, source, &p, err, sizeof(err))
                         : sampler_ingest_parse_line(fmt, line, len, source, &p, err, sizeof(err));
    if (rc != ARENA_ERR_OK) {
        st->bad++;
        if (bad_cb != NULL) {
            char msg[700];
            snprintf(msg, sizeof(msg), array_item ? "%s:[%" PRIu64 "]: %s" : "%s:%" PRIu64 ": %s",
                     source, lineno, err);
            bad_cb(ctx, lineno, msg);
        }
        return 0;
    }
    st->prompts++;
    if (cb == NULL) {
        sampler_prompt_free(p);
        return 0;
    }
    return cb(ctx, p, lineno);
}

arena_err_t sampler_ingest_buffer(const char *data, size_t len, enum sampler_format fmt,
                                  const char *source, sampler_prompt_cb *cb,
                                  sampler_bad_line_cb *bad_cb, void *ctx,
                                  struct sampler_ingest_stats *stats, char *errstr,
                                  size_t errstr_size)
{
    struct sampler_ingest_stats local;
    struct sampler_ingest_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof(*st));
    st->bytes = len;
    st->format = fmt;
    if (source == NULL) {
        source = "-";
    }
    size_t i = 0;
    while (i < len && is_ws((unsigned char)data[i])) {
        i++;
    }
    if (i < len && data[i] == '[') {
        /* a whole-document JSON array of records (ShareGPT dumps) */
        json_error_t je;
        json_t *arr = json_loadb(data + i, len - i, JSON_ALLOW_NUL, &je);
        if (arr == NULL) {
            char why[400];
            json_error(&je, why, sizeof(why));
            return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "%s:%d: %s", source, je.line,
                                 why);
        }
        if (fmt == SAMPLER_FMT_AUTO) {
            st->format = detect_obj(json_array_get(arr, 0));
        }
        size_t k;
        json_t *o;
        json_array_foreach(arr, k, o)
        {
            st->records++;
            if (handle_record(o, NULL, 0, st->format, source, (uint64_t)k + 1, 1, cb, bad_cb, ctx,
                              st) != 0) {
                break;
            }
        }
        json_decref(arr);
        return ARENA_ERR_OK;
    }
    uint64_t lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        lineno++;
        size_t b = pos, e = end;
        while (b < e && is_ws((unsigned char)data[b])) {
            b++;
        }
        while (e > b && is_ws((unsigned char)data[e - 1])) {
            e--;
        }
        pos = end + 1;
        if (b == e) {
            continue;
        }
        if (st->format == SAMPLER_FMT_AUTO) {
            st->format = sampler_ingest_detect(data + b, e - b);
        }
        st->records++;
        if (handle_record(NULL, data + b, e - b, st->format, source, lineno, 0, cb, bad_cb, ctx,
                          st) != 0) {
            break;
        }
    }
    return ARENA_ERR_OK;
}

arena_err_t sampler_ingest_file(const char *path, enum sampler_format fmt, const char *source,
                                sampler_prompt_cb *cb, sampler_bad_line_cb *bad_cb, void *ctx,
                                struct sampler_ingest_stats *stats, char *errstr,
                                size_t errstr_size)
{
    char *data;
    size_t len = 0;
    if (strcmp(path, "-") == 0) {
        struct arena_buf b;
        arena_buf_init(&b);
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
            arena_buf_append(&b, chunk, n);
        }
        if (ferror(stdin)) {
            arena_buf_fini(&b);
            return arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "-: read error: %s",
                                 strerror(errno));
        }
        data = arena_buf_steal(&b, &len);
        if (data == NULL) {
            data = arena_xstrdup("");
        }
    } else {
        char why[256];
        data = arena_read_file(path, &len, why, sizeof(why));
        if (data == NULL) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "%s", why);
        }
    }
    arena_err_t err = sampler_ingest_buffer(data, len, fmt, source ? source : path, cb, bad_cb, ctx,
                                            stats, errstr, errstr_size);
    free(data);
    return err;
}

const char *sampler_prompt_instruction(const Arena__V1__Prompt *p)
{
    for (size_t i = p->n_messages; i-- > 0;) {
        if (p->messages[i]->role != NULL && strcmp(p->messages[i]->role, "user") == 0) {
            return p->messages[i]->content ? p->messages[i]->content : "";
        }
    }
    return "";
}

char *sampler_prompt_text(const Arena__V1__Prompt *p)
{
    struct arena_buf b;
    arena_buf_init(&b);
    for (size_t i = 0; i < p->n_messages; i++) {
        if (p->messages[i]->role == NULL || strcmp(p->messages[i]->role, "user") != 0) {
            continue;
        }
        char *n = arena_prompt_normalise(p->messages[i]->content);
        if (b.len > 0) {
            arena_buf_append(&b, "\n", 1);
        }
        arena_buf_puts(&b, n);
        free(n);
    }
    char *s = arena_buf_steal(&b, NULL);
    return s ? s : arena_xstrdup("");
}
