/* llm_replay.c - answers recorded in Arena-Hard model_answer/<model>.jsonl files. Each line:
 *   {"uid": "...", "ans_id": "...", "model": "...",
 *    "messages": [{"role": "user", "content": "..."},
 *                 {"role": "assistant", "content": {"answer": "..."}}]}
 * (an assistant content may also be a plain string). Answers are indexed at pool creation by
 * prompt_id (arena_prompt_id over the user turns, as ingest computes it) and by uid. A prompt
 * without an answer is a per-call ARENA_ERR_NOT_FOUND, never a crash. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena/prompt_id.h"
#include "arena/util.h"
#include "llm_internal.h"

struct rp_entry {
    char *key;    /* prompt_id or uid */
    size_t index; /* into answers */
};

struct rp_answer {
    char *text;
    uint32_t prompt_tokens;
};

struct rp_backend {
    const char *name;
    char *path;
    struct rp_answer *answers;
    size_t n_answers, cap_answers;
    struct rp_entry *slots; /* open addressing, power of two */
    size_t n_slots, n_used;
};

static void rp_insert(struct rp_backend *rb, const char *key, size_t index);

static void rp_grow(struct rp_backend *rb)
{
    struct rp_entry *old = rb->slots;
    size_t n_old = rb->n_slots;
    rb->n_slots = n_old ? n_old * 2 : 1024;
    rb->slots = arena_xcalloc(rb->n_slots, sizeof(*rb->slots));
    rb->n_used = 0;
    for (size_t i = 0; i < n_old; i++) {
        if (old[i].key) {
            rp_insert(rb, old[i].key, old[i].index);
            free(old[i].key);
        }
    }
    free(old);
}

/* First answer for a key wins (a later duplicate line is ignored). */
static void rp_insert(struct rp_backend *rb, const char *key, size_t index)
{
    if ((rb->n_used + 1) * 2 > rb->n_slots) {
        rp_grow(rb);
    }
    size_t mask = rb->n_slots - 1;
    size_t i = arena_hash64(key, strlen(key), 0x4e91) & mask;
    while (rb->slots[i].key) {
        if (strcmp(rb->slots[i].key, key) == 0) {
            return;
        }
        i = (i + 1) & mask;
    }
    rb->slots[i].key = arena_xstrdup(key);
    rb->slots[i].index = index;
    rb->n_used++;
}

static const struct rp_answer *rp_find(const struct rp_backend *rb, const char *key)
{
    if (!rb->n_slots || !key) {
        return NULL;
    }
    size_t mask = rb->n_slots - 1;
    size_t i = arena_hash64(key, strlen(key), 0x4e91) & mask;
    while (rb->slots[i].key) {
        if (strcmp(rb->slots[i].key, key) == 0) {
            return &rb->answers[rb->slots[i].index];
        }
        i = (i + 1) & mask;
    }
    return NULL;
}

static void rp_destroy(void *p)
{
    struct rp_backend *rb = p;
    if (!rb) {
        return;
    }
    for (size_t i = 0; i < rb->n_answers; i++) {
        free(rb->answers[i].text);
    }
    free(rb->answers);
    for (size_t i = 0; i < rb->n_slots; i++) {
        free(rb->slots[i].key);
    }
    free(rb->slots);
    free(rb->path);
    free(rb);
}

/* One line; returns NULL on success or a malloc'd reason. */
static char *rp_line(struct rp_backend *rb, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(line, len, 0, &jerr);
    if (!root) {
        return arena_xasprintf("malformed JSON at column %d: %s", jerr.column, jerr.text);
    }
    char *why = NULL;
    const char **roles = NULL, **contents = NULL;
    json_t *uid = json_object_get(root, "uid");
    json_t *msgs = json_object_get(root, "messages");
    if (!json_is_object(root) || !json_is_array(msgs)) {
        why = arena_xstrdup("expected an object with a messages array");
        goto out;
    }
    if (uid && !json_is_string(uid)) {
        why = arena_xstrdup("uid is not a string");
        goto out;
    }
    size_t n = json_array_size(msgs), nu = 0;
    roles = arena_xcalloc(n ? n : 1, sizeof(char *));
    contents = arena_xcalloc(n ? n : 1, sizeof(char *));
    const char *answer = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        json_t *role = json_object_get(m, "role");
        json_t *content = json_object_get(m, "content");
        if (!json_is_string(role)) {
            why = arena_xasprintf("messages[%zu].role is missing or not a string", i);
            goto out;
        }
        const char *r = json_string_value(role);
        if (json_is_object(content)) {
            content = json_object_get(content, "answer");
        }
        if (!json_is_string(content)) {
            why = arena_xasprintf("messages[%zu].content is neither a string nor {answer: string}",
                                  i);
            goto out;
        }
        if (strcmp(r, "user") == 0) {
            roles[nu] = "user";
            contents[nu++] = json_string_value(content);
        } else if (strcmp(r, "assistant") == 0) {
            answer = json_string_value(content); /* the last assistant turn */
        }
    }
    if (nu == 0) {
        why = arena_xstrdup("no user message");
        goto out;
    }
    if (!answer) {
        why = arena_xstrdup("no assistant answer");
        goto out;
    }
    char pid[33];
    arena_prompt_id(roles, contents, nu, pid);
    if (rb->n_answers == rb->cap_answers) {
        rb->cap_answers = rb->cap_answers ? rb->cap_answers * 2 : 256;
        rb->answers = arena_xrealloc(rb->answers, rb->cap_answers * sizeof(*rb->answers));
    }
    size_t idx = rb->n_answers++;
    rb->answers[idx].text = arena_xstrdup(answer);
    uint32_t pt = 0;
    for (size_t i = 0; i < nu; i++) {
        pt += arena__llm_count_words(contents[i]);
    }
    rb->answers[idx].prompt_tokens = pt;
    rp_insert(rb, pid, idx);
    if (uid && json_string_length(uid) > 0) {
        rp_insert(rb, json_string_value(uid), idx);
    }
out:
    free(roles);
    free(contents);
    json_decref(root);
    return why;
}

static void *rp_create(struct arena_llm_pool *pool, struct arena__llm_model *m,
                       const struct arena_model_cfg *cfg, char *errstr, size_t errstr_size)
{
    (void)pool;
    if (!cfg->answers || !*cfg->answers) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "model %s: answers (a model_answer file or directory) is empty", cfg->name);
        return NULL;
    }
    const char *rmodel = cfg->replay_model && *cfg->replay_model ? cfg->replay_model : cfg->name;
    struct rp_backend *rb = arena_xcalloc(1, sizeof(*rb));
    rb->name = arena__llm_model_name(m);
    struct stat st;
    if (stat(cfg->answers, &st) != 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "model %s: answers %s: %s", cfg->name,
                      cfg->answers, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        size_t l = strlen(cfg->answers);
        rb->path = arena_xasprintf("%s%s%s.jsonl", cfg->answers,
                                   l && cfg->answers[l - 1] == '/' ? "" : "/", rmodel);
    } else {
        rb->path = arena_xstrdup(cfg->answers);
    }
    char err[256];
    size_t len = 0;
    char *data = arena_read_file(rb->path, &len, err, sizeof(err));
    if (!data) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "model %s: %s", cfg->name, err);
        goto fail;
    }
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        lineno++;
        size_t k = 0;
        while (k < ll && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) {
            k++;
        }
        if (k == ll) {
            continue; /* blank line */
        }
        char *why = rp_line(rb, line, ll);
        if (why) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "model %s: %s:%zu: %s", cfg->name,
                          rb->path, lineno, why);
            free(why);
            free(data);
            goto fail;
        }
    }
    free(data);
    if (rb->n_answers == 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "model %s: %s holds no answers",
                      cfg->name, rb->path);
        goto fail;
    }
    return rb;
fail:
    rp_destroy(rb);
    return NULL;
}

static void rp_start(void *be, struct arena__llm_call *call)
{
    struct rp_backend *rb = be;
    const struct rp_answer *a = NULL;
    if (call->prompt_id) {
        a = rp_find(rb, call->prompt_id);
    }
    char pid[33] = "";
    if (!a) {
        size_t nu = 0;
        const char **roles = arena_xcalloc(call->n_messages + 1, sizeof(char *));
        const char **contents = arena_xcalloc(call->n_messages + 1, sizeof(char *));
        for (size_t i = 0; i < call->n_messages; i++) {
            if (strcmp(call->roles[i], "user") == 0) {
                roles[nu] = "user";
                contents[nu++] = call->contents[i];
            }
        }
        if (nu > 0) {
            arena_prompt_id(roles, contents, nu, pid);
            a = rp_find(rb, pid);
        }
        free(roles);
        free(contents);
    }
    if (!a) {
        call->err = ARENA_ERR_NOT_FOUND;
        call->error = arena_xasprintf("replay model %s has no answer for prompt %s", rb->name,
                                      call->prompt_id ? call->prompt_id
                                                      : (pid[0] ? pid : "(no user message)"));
    } else {
        call->err = ARENA_ERR_OK;
        call->content = arena_xstrdup(a->text);
        call->finish_reason = arena_xstrdup("stop");
        call->prompt_tokens = a->prompt_tokens;
        call->completion_tokens = arena__llm_count_words(a->text);
    }
    arena__llm_complete(call);
}

const struct arena__llm_backend_ops arena__llm_replay_ops = {
    .name = "replay",
    .create = rp_create,
    .start = rp_start,
    .poll = NULL,
    .abandon = NULL,
    .destroy = rp_destroy,
};
