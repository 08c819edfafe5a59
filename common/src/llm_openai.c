/* llm_openai.c - OpenAI-compatible chat completions over libcurl multi: every request of every
 * openai model runs on the pool's thread through one CURLM (keep-alive connections reused),
 * with per-attempt timeouts, retries with exponential backoff and full jitter (Retry-After
 * honoured), and errors that name the model. The API key is registered as a log secret and is
 * only ever written into the Authorization header. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/log.h"
#include "arena/util.h"
#include "llm_internal.h"

#define OA_BACKOFF_BASE_MS 200
#define OA_BACKOFF_CAP_MS 10000
#define OA_RETRY_AFTER_CAP_MS 60000
#define OA_MAX_BODY (64u << 20)
#define OA_CONNECT_TIMEOUT_MS 10000

struct oa_backend {
    struct arena_llm_pool *pool;
    struct arena__llm_model *m;
    const char *name; /* model name (pool-owned) */
    char *url;
    char *model; /* name sent to the server */
    struct curl_slist *headers;
    int64_t timeout_ms;
    int64_t max_retries;
    uint64_t rng;
    CURLM *multi;
    CURL **free_easy; /* idle handles for reuse */
    size_t n_free, cap_free;
};

struct oa_req {
    struct oa_backend *be;
    struct arena__llm_call *call;
    CURL *easy;
    bool in_multi;
    char *body;
    size_t body_len;
    struct arena_buf resp;
    bool too_large;
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- pure parsing (fuzzed) ---- */

void arena__openai_result_fini(struct arena__openai_result *r)
{
    if (!r) {
        return;
    }
    free(r->content);
    free(r->finish_reason);
    memset(r, 0, sizeof(*r));
}

static uint32_t json_u32(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        return x < 0 ? 0 : (x > UINT32_MAX ? UINT32_MAX : (uint32_t)x);
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        return x < 0 || x != x ? 0 : (x > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)x);
    }
    return 0;
}

arena_err_t arena__openai_parse_response(const char *body, size_t len,
                                         struct arena__openai_result *out, char *errstr,
                                         size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "malformed JSON at %d:%d: %s",
                             jerr.line, jerr.column, jerr.text);
    }
    arena_err_t rc = ARENA_ERR_OK;
    if (!json_is_object(root)) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "response is not a JSON object");
        goto out;
    }
    json_t *choices = json_object_get(root, "choices");
    if (!json_is_array(choices)) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "response has no choices array");
        goto out;
    }
    if (json_array_size(choices) == 0) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE, "response has empty choices");
        goto out;
    }
    json_t *c0 = json_array_get(choices, 0);
    json_t *msg = json_is_object(c0) ? json_object_get(c0, "message") : NULL;
    if (!json_is_object(msg)) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                           "choices[0].message is missing or not an object");
        goto out;
    }
    json_t *content = json_object_get(msg, "content");
    if (!json_is_string(content)) {
        rc = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                           "choices[0].message.content is missing or not a string");
        goto out;
    }
    out->content = arena_xstrndup(json_string_value(content), json_string_length(content));
    json_t *fr = json_object_get(c0, "finish_reason");
    if (json_is_string(fr)) {
        out->finish_reason = arena_xstrdup(json_string_value(fr));
    }
    json_t *usage = json_object_get(root, "usage");
    if (json_is_object(usage)) {
        out->prompt_tokens = json_u32(usage, "prompt_tokens");
        out->completion_tokens = json_u32(usage, "completion_tokens");
    }
out:
    json_decref(root);
    return rc;
}

/* Printable, single-line, bounded copy of server text. */
static char *oa_sanitise(const char *s, size_t n)
{
    if (n > 300) {
        n = 300;
    }
    char *o = arena_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        o[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    o[n] = '\0';
    char *r = arena_log_redact(o);
    free(o);
    return r;
}

char *arena__openai_error_message(const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!root) {
        return NULL;
    }
    char *res = NULL;
    json_t *e = json_object_get(root, "error");
    json_t *m = NULL;
    if (json_is_object(e)) {
        m = json_object_get(e, "message");
    } else if (json_is_string(e)) {
        m = e;
    } else {
        m = json_object_get(root, "message");
        if (!m) {
            m = json_object_get(root, "detail");
        }
    }
    if (json_is_string(m) && json_string_length(m) > 0) {
        res = oa_sanitise(json_string_value(m), json_string_length(m));
    }
    json_decref(root);
    return res;
}

int64_t arena__openai_retry_after_ms(const char *value, int64_t now_unix_ms)
{
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    if (*value == '\0') {
        return -1;
    }
    if (isdigit((unsigned char)*value)) {
        char *end;
        errno = 0;
        double secs = strtod(value, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') {
            end++;
        }
        if (errno || *end != '\0' || secs < 0 || secs > 1e9) {
            return -1;
        }
        return (int64_t)(secs * 1000.0);
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1) {
        return -1;
    }
    int64_t ms = (int64_t)t * 1000 - now_unix_ms;
    return ms < 0 ? 0 : ms;
}

/* ---- transport ---- */

static size_t oa_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct oa_req *r = ud;
    size_t n = size * nmemb;
    if (r->resp.len + n > OA_MAX_BODY) {
        r->too_large = true;
        return 0; /* aborts the transfer */
    }
    arena_buf_append(&r->resp, ptr, n);
    return n;
}

static size_t oa_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct oa_req *r = ud;
    size_t n = size * nitems;
    static const char key[] = "retry-after:";
    if (n > sizeof(key) - 1 && strncasecmp(buf, key, sizeof(key) - 1) == 0) {
        size_t vl = n - (sizeof(key) - 1);
        if (vl >= sizeof(r->retry_after)) {
            vl = sizeof(r->retry_after) - 1;
        }
        memcpy(r->retry_after, buf + sizeof(key) - 1, vl);
        r->retry_after[vl] = '\0';
        for (char *e = r->retry_after + strlen(r->retry_after);
             e > r->retry_after && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '); e--) {
            e[-1] = '\0';
        }
    }
    return n;
}

static char *oa_build_body(const struct oa_backend *be, const struct arena__llm_call *c,
                           size_t *len)
{
    json_t *root = json_object();
    json_object_set_new(root, "model", json_string(be->model));
    json_t *msgs = json_array();
    for (size_t i = 0; i < c->n_messages; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "role", json_string(c->roles[i]));
        json_t *content = json_string(c->contents[i]);
        if (!content) { /* invalid UTF-8: send it lossily rather than drop the request */
            content = json_stringn_nocheck(c->contents[i], strlen(c->contents[i]));
        }
        json_object_set_new(m, "content", content);
        json_array_append_new(msgs, m);
    }
    json_object_set_new(root, "messages", msgs);
    json_object_set_new(root, "temperature", json_real(c->temperature));
    if (c->max_tokens > 0) {
        json_object_set_new(root, "max_tokens", json_integer(c->max_tokens));
    }
    if (c->seed != 0) {
        json_object_set_new(root, "seed", json_integer((json_int_t)(c->seed & 0x7fffffffULL)));
    }
    json_object_set_new(root, "stream", json_false());
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!s) {
        abort(); /* out of memory */
    }
    *len = strlen(s);
    char *o = arena_xstrdup(s);
    free(s);
    return o;
}

static void oa_add(struct oa_req *r)
{
    struct oa_backend *be = r->be;
    arena_buf_reset(&r->resp);
    r->too_large = false;
    r->retry_after[0] = '\0';
    r->errbuf[0] = '\0';
    CURLMcode mc = curl_multi_add_handle(be->multi, r->easy);
    if (mc != CURLM_OK) {
        ARENA_ERROR("event=curl_multi_add_failed model=%s err=\"%s\"", be->name,
                    curl_multi_strerror(mc));
        abort();
    }
    r->in_multi = true;
}

static void oa_release(struct oa_req *r)
{
    struct oa_backend *be = r->be;
    if (r->in_multi) {
        curl_multi_remove_handle(be->multi, r->easy);
        r->in_multi = false;
    }
    if (r->easy) {
        if (be->n_free == be->cap_free) {
            be->cap_free = be->cap_free ? be->cap_free * 2 : 16;
            be->free_easy = arena_xrealloc(be->free_easy, be->cap_free * sizeof(CURL *));
        }
        be->free_easy[be->n_free++] = r->easy;
    }
    arena_buf_fini(&r->resp);
    free(r->body);
    r->call->priv = NULL;
    free(r);
}

static void oa_finish(struct oa_req *r, arena_err_t err, char *error)
{
    struct arena__llm_call *call = r->call;
    call->err = err;
    free(call->error);
    call->error = error;
    oa_release(r);
    arena__llm_complete(call);
}

static void oa_retry_fire(void *arg)
{
    oa_add(arg);
}

static uint64_t oa_rand(struct oa_backend *be)
{
    be->rng += 0x9e3779b97f4a7c15ULL;
    return arena_mix64(be->rng);
}

static void oa_start(void *bep, struct arena__llm_call *call)
{
    struct oa_backend *be = bep;
    struct oa_req *r = arena_xcalloc(1, sizeof(*r));
    r->be = be;
    r->call = call;
    call->priv = r;
    arena_buf_init(&r->resp);
    r->body = oa_build_body(be, call, &r->body_len);
    if (be->n_free > 0) {
        r->easy = be->free_easy[--be->n_free];
    } else {
        r->easy = curl_easy_init();
        if (!r->easy) {
            ARENA_ERROR("event=curl_easy_init_failed model=%s", be->name);
            abort();
        }
        curl_easy_setopt(r->easy, CURLOPT_URL, be->url);
        curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, be->headers);
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, oa_write);
        curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, oa_header);
        curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)be->timeout_ms);
        curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(be->timeout_ms < OA_CONNECT_TIMEOUT_MS ? be->timeout_ms
                                                                       : OA_CONNECT_TIMEOUT_MS));
        curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
    }
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    oa_add(r);
}

static bool oa_is_connect_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

/* Handle one finished attempt. */
static void oa_done(struct oa_req *r, CURLcode rc)
{
    struct oa_backend *be = r->be;
    struct arena__llm_call *call = r->call;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(be->multi, r->easy);
    r->in_multi = false;
    call->http_status = (int)status;
    uint32_t attempts = call->retries + 1;

    const char *reason = NULL; /* retriable failure */
    char detail[512] = "";
    if (r->too_large) {
        oa_finish(
            r, ARENA_ERR_LIMIT,
            arena_xasprintf("model %s: response larger than %u bytes", be->name, OA_MAX_BODY));
        return;
    }
    if (rc != CURLE_OK) {
        const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            reason = "timeout";
        } else if (oa_is_connect_error(rc)) {
            reason = "connect";
            snprintf(detail, sizeof(detail), "%s", why);
        } else {
            oa_finish(r, ARENA_ERR_BACKEND, arena_xasprintf("model %s: %s", be->name, why));
            return;
        }
    } else if (status == 200) {
        char *ctype = NULL;
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
        struct arena__openai_result res;
        char perr[256];
        if (!ctype || strncasecmp(ctype, "application/json", 16) != 0) {
            reason = "parse";
            snprintf(detail, sizeof(detail), "wrong content type '%s' (expected application/json)",
                     ctype ? ctype : "");
        } else if (arena__openai_parse_response(r->resp.data ? r->resp.data : "", r->resp.len, &res,
                                                perr, sizeof(perr)) != ARENA_ERR_OK) {
            reason = "parse";
            snprintf(detail, sizeof(detail), "%s", perr);
        } else {
            call->content = res.content;
            call->finish_reason = res.finish_reason;
            call->prompt_tokens = res.prompt_tokens;
            call->completion_tokens = res.completion_tokens;
            oa_finish(r, ARENA_ERR_OK, NULL);
            return;
        }
    } else {
        char *msg = arena__openai_error_message(r->resp.data ? r->resp.data : "", r->resp.len);
        if (!msg) {
            msg = r->resp.len ? oa_sanitise(r->resp.data, r->resp.len) : arena_xstrdup("");
        }
        snprintf(detail, sizeof(detail), "%s", msg[0] ? msg : "(no error message)");
        free(msg);
        if (status == 429) {
            reason = "http_429";
        } else if (status >= 500) {
            reason = "http_5xx";
        } else if (status == 408) {
            reason = "timeout";
        } else {
            oa_finish(r, ARENA_ERR_HTTP,
                      arena_xasprintf("model %s: HTTP %ld: %s", be->name, status, detail));
            return;
        }
    }

    if ((int64_t)call->retries < be->max_retries) {
        uint32_t shift = call->retries < 16 ? call->retries : 16;
        uint64_t ceil_ms = (uint64_t)OA_BACKOFF_BASE_MS << shift;
        if (ceil_ms > OA_BACKOFF_CAP_MS) {
            ceil_ms = OA_BACKOFF_CAP_MS;
        }
        uint64_t delay_ms = oa_rand(be) % (ceil_ms + 1);
        if ((status == 429 || status == 503) && r->retry_after[0]) {
            int64_t ra = arena__openai_retry_after_ms(r->retry_after, arena_now_ms());
            if (ra >= 0) {
                if (ra > OA_RETRY_AFTER_CAP_MS) {
                    ra = OA_RETRY_AFTER_CAP_MS;
                }
                if ((uint64_t)ra > delay_ms) {
                    delay_ms = (uint64_t)ra;
                }
            }
        }
        arena__llm_count_retry(call, reason);
        ARENA_DEBUG("event=model_call_retry model=%s reason=%s http_status=%ld attempt=%u "
                    "delay_ms=%llu",
                    be->name, reason, status, attempts, (unsigned long long)delay_ms);
        arena__llm_timer_add(be->pool, delay_ms * 1000, oa_retry_fire, r);
        return;
    }

    const char *plural = attempts == 1 ? "attempt" : "attempts";
    if (strcmp(reason, "timeout") == 0 && status != 408) {
        oa_finish(r, ARENA_ERR_TIMEOUT,
                  arena_xasprintf("model %s: timed out after %u %s (timeout_ms=%lld)", be->name,
                                  attempts, plural, (long long)be->timeout_ms));
    } else if (strcmp(reason, "connect") == 0) {
        oa_finish(r, ARENA_ERR_BACKEND,
                  arena_xasprintf("model %s: connection failed after %u %s: %s", be->name, attempts,
                                  plural, detail));
    } else if (strcmp(reason, "parse") == 0) {
        oa_finish(r, ARENA_ERR_PARSE,
                  arena_xasprintf("model %s: invalid response after %u %s: %s", be->name, attempts,
                                  plural, detail));
    } else {
        oa_finish(r, ARENA_ERR_HTTP,
                  arena_xasprintf("model %s: HTTP %ld after %u %s: %s", be->name, status, attempts,
                                  plural, detail));
    }
}

static void oa_poll(void *bep)
{
    struct oa_backend *be = bep; /* socket I/O is driven by the pool (llm.c curl_drive) */
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(be->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        struct oa_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r) {
            oa_done(r, msg->data.result); /* may belong to another openai model: fine */
        }
    }
}

static void oa_abandon(void *bep, struct arena__llm_call *call)
{
    (void)bep;
    if (call->priv) {
        oa_release(call->priv);
    }
}

static void oa_destroy(void *bep)
{
    struct oa_backend *be = bep;
    if (!be) {
        return;
    }
    for (size_t i = 0; i < be->n_free; i++) {
        curl_easy_cleanup(be->free_easy[i]);
    }
    free(be->free_easy);
    curl_slist_free_all(be->headers);
    free(be->url);
    free(be->model);
    free(be);
}

static char *oa_read_key_file(const char *path, char *errstr, size_t errstr_size)
{
    char err[256];
    size_t len = 0;
    char *data = arena_read_file(path, &len, err, sizeof(err));
    if (!data) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "cannot read api_key_file %s: %s",
                      path, err);
        return NULL;
    }
    char *nl = strpbrk(data, "\r\n");
    if (nl) {
        *nl = '\0';
    }
    char *s = data;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
        *--e = '\0';
    }
    char *key = arena_xstrdup(s);
    memset(data, 0, len);
    free(data);
    return key;
}

static void *oa_create(struct arena_llm_pool *pool, struct arena__llm_model *m,
                       const struct arena_model_cfg *cfg, char *errstr, size_t errstr_size)
{
    char err[512];
    if (!cfg->base_url || !*cfg->base_url) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "model %s: base_url is empty",
                      cfg->name);
        return NULL;
    }
    if (strncmp(cfg->base_url, "http://", 7) != 0 && strncmp(cfg->base_url, "https://", 8) != 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                      "model %s: base_url '%s' must start with http:// or https://", cfg->name,
                      cfg->base_url);
        return NULL;
    }
    if (cfg->max_retries < 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "model %s: max_retries must be >= 0",
                      cfg->name);
        return NULL;
    }
    struct oa_backend *be = arena_xcalloc(1, sizeof(*be));
    be->pool = pool;
    be->m = m;
    be->name = arena__llm_model_name(m);
    size_t ul = strlen(cfg->base_url);
    while (ul > 0 && cfg->base_url[ul - 1] == '/') {
        ul--;
    }
    be->url = arena_xasprintf("%.*s/chat/completions", (int)ul, cfg->base_url);
    be->model = arena_xstrdup(cfg->model && *cfg->model ? cfg->model : cfg->name);
    be->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 60000;
    be->max_retries = cfg->max_retries;
    be->rng = arena_mix64((uint64_t)arena_mono_us() ^ (uintptr_t)be);
    be->headers = curl_slist_append(be->headers, "Content-Type: application/json");
    be->headers = curl_slist_append(be->headers, "Accept: application/json");
    be->headers = curl_slist_append(be->headers, "Expect:");

    char *key = NULL;
    if (cfg->api_key_env && *cfg->api_key_env) {
        const char *v = getenv(cfg->api_key_env);
        if (!v || !*v) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "model %s: api_key_env %s is not set", cfg->name, cfg->api_key_env);
            goto fail;
        }
        key = arena_xstrdup(v);
    } else if (cfg->api_key_file && *cfg->api_key_file) {
        key = oa_read_key_file(cfg->api_key_file, err, sizeof(err));
        if (!key) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "model %s: %s", cfg->name, err);
            goto fail;
        }
        if (!*key) {
            free(key);
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "model %s: api_key_file %s is empty", cfg->name, cfg->api_key_file);
            goto fail;
        }
    }
    if (key) {
        arena_log_add_secret(key);
        struct arena_buf h;
        arena_buf_init(&h);
        arena_buf_puts(&h, "Authorization: Bearer ");
        arena_buf_puts(&h, key);
        be->headers = curl_slist_append(be->headers, h.data);
        memset(h.data, 0, h.len);
        arena_buf_fini(&h);
        memset(key, 0, strlen(key));
        free(key);
    }
    for (size_t i = 0; i < cfg->headers.n; i++) {
        const char *hd = cfg->headers.v[i];
        const char *colon = strchr(hd, ':');
        if (!colon || colon == hd || strpbrk(hd, "\r\n")) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "model %s: headers[%zu] must be 'Name: value'", cfg->name, i);
            goto fail;
        }
        be->headers = curl_slist_append(be->headers, hd);
    }

    be->multi = arena__llm_curlm(pool);
    int64_t total = arena__llm_total_concurrency(pool, "openai");
    curl_multi_setopt(be->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)total); /* 0 = unlimited */
    curl_multi_setopt(be->multi, CURLMOPT_MAXCONNECTS, (long)(total > 0 ? total + 8 : 1024));
    return be;
fail:
    oa_destroy(be);
    return NULL;
}

const struct arena__llm_backend_ops arena__llm_openai_ops = {
    .name = "openai",
    .create = oa_create,
    .start = oa_start,
    .poll = oa_poll,
    .abandon = oa_abandon,
    .destroy = oa_destroy,
};
