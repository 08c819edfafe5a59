/* fake_openai.c - a real HTTP server (libmicrohttpd) speaking the OpenAI chat-completions API,
 * for integration tests and benchmarks of the openai backend.
 *
 *   fake-openai --port-file F [--latency-ms N] [--hang-ms N] [--retry-after S]
 *               [--require-key K] [--fault KIND:RATE[:retry-after=S]]... [--seed N]
 *
 * Listens on 127.0.0.1 at an ephemeral port and writes it to F. POST .../chat/completions
 * answers "fake answer: <last user message>", or, for a judge prompt (FastChat answer
 * sections), a verdict in the requested format using the sim backend's text functions, or, for
 * a difficulty request (llm.h: ARENA_DIFFICULTY_START ... END), "Difficulty: [[N]]" with N the
 * sim difficulty of the rated prompt (its "[sim-difficulty: d]" tag, else a hash of its text; no
 * noise). Planted in a rated prompt, "[fake-garbage]" makes the reply prose without any rating
 * and "[fake-rating: X]" makes it end in "[[X]]" verbatim (e.g. an out-of-range 12).
 * Faults (KIND: 500 503 429 400 timeout drop badjson nochoices ctype garbage) are drawn per
 * request by rate, or selected by the request's model name:
 *   "fault-<kind>"              always that fault
 *   "fault-<kind>-then-ok"      the first attempt of each distinct request body faults
 *   "fault-<kind>xN-then-ok"    the first N attempts fault
 * 429/503 faults carry Retry-After (--retry-after, default 1 s, or retry-after= in --fault).
 * "timeout" holds the request --hang-ms (default 10000) before answering; "drop" closes the
 * connection without a reply. "garbage" is a well-formed 200 completion whose content is prose
 * without any score or verdict (what a judge parser must reject). GET /stats returns the counters
 * as JSON (requests, ok, per fault, max_concurrent ...); POST /stats/reset zeroes them. POST
 * .../embeddings returns deterministic hashed bag-of-words vectors (64 dimensions or "dimensions").
 * With --require-key every request without "Authorization: Bearer K" gets 401. Delays use
 * suspend/resume (no thread per request). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../../common/src/llm_internal.h"
#include "arena/util.h"

enum fault_kind {
    F_NONE,
    F_500,
    F_503,
    F_429,
    F_400,
    F_TIMEOUT,
    F_DROP,
    F_BADJSON,
    F_NOCHOICES,
    F_CTYPE,
    F_GARBAGE,
    F__COUNT
};
static const char *const fault_names[F__COUNT] = {
    "ok", "500", "503", "429", "400", "timeout", "drop", "badjson", "nochoices", "ctype", "garbage",
};

struct fault_rate {
    enum fault_kind kind;
    double rate;
    int retry_after;
};

static struct {
    int latency_ms;
    int hang_ms;
    int retry_after;
    const char *require_key;
    struct fault_rate faults[32];
    size_t n_faults;
    uint64_t rng;
    pthread_mutex_t lock; /* rng, seen table */
    /* stats */
    atomic_long requests, counts[F__COUNT], auth_failed, bad_request, embeddings, not_found;
    atomic_long current, max_concurrent;
    /* attempts per request body for "-then-ok" schedules */
    uint64_t *seen_keys;
    uint32_t *seen_counts;
    size_t seen_cap, seen_n;
    /* delayed connections */
    pthread_mutex_t dlock;
    pthread_cond_t dcond;
    struct delayed {
        uint64_t due_us;
        struct MHD_Connection *conn;
    } * delayed;
    size_t n_delayed, cap_delayed;
} S = {
    .hang_ms = 10000,
    .retry_after = 1,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .dlock = PTHREAD_MUTEX_INITIALIZER,
    .dcond = PTHREAD_COND_INITIALIZER,
};

struct req_state {
    struct arena_buf body;
    bool decided;
    bool counted;
    bool suspended;
    bool drop;
    unsigned status;
    char *resp;
    const char *ctype;
    int retry_after; /* -1: none */
};

static uint64_t rng_next(void)
{
    S.rng += 0x9e3779b97f4a7c15ULL;
    return arena_mix64(S.rng);
}

static enum fault_kind fault_parse(const char *s, size_t n)
{
    for (int k = 1; k < F__COUNT; k++) {
        if (strlen(fault_names[k]) == n && strncmp(s, fault_names[k], n) == 0) {
            return (enum fault_kind)k;
        }
    }
    return F_NONE;
}

/* ---- delay thread: resumes suspended connections when due ---- */

static void delay_add(struct MHD_Connection *conn, uint64_t delay_ms)
{
    pthread_mutex_lock(&S.dlock);
    if (S.n_delayed == S.cap_delayed) {
        S.cap_delayed = S.cap_delayed ? S.cap_delayed * 2 : 256;
        S.delayed = arena_xrealloc(S.delayed, S.cap_delayed * sizeof(*S.delayed));
    }
    size_t i = S.n_delayed++;
    struct delayed d = {arena_mono_us() + delay_ms * 1000, conn};
    while (i > 0 && S.delayed[(i - 1) / 2].due_us > d.due_us) {
        S.delayed[i] = S.delayed[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    S.delayed[i] = d;
    pthread_cond_signal(&S.dcond);
    pthread_mutex_unlock(&S.dlock);
}

static void *delay_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&S.dlock);
    for (;;) {
        if (S.n_delayed == 0) {
            pthread_cond_wait(&S.dcond, &S.dlock);
            continue;
        }
        uint64_t now = arena_mono_us();
        if (S.delayed[0].due_us > now) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t wait = S.delayed[0].due_us - now;
            ts.tv_sec += (time_t)(wait / 1000000);
            ts.tv_nsec += (long)(wait % 1000000) * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&S.dcond, &S.dlock, &ts);
            continue;
        }
        struct MHD_Connection *conn = S.delayed[0].conn;
        struct delayed last = S.delayed[--S.n_delayed];
        size_t i = 0;
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, m = i;
            uint64_t best = last.due_us;
            if (l < S.n_delayed && S.delayed[l].due_us < best) {
                m = l;
                best = S.delayed[l].due_us;
            }
            if (r < S.n_delayed && S.delayed[r].due_us < best) {
                m = r;
            }
            if (m == i) {
                break;
            }
            S.delayed[i] = S.delayed[m];
            i = m;
        }
        if (S.n_delayed > 0) {
            S.delayed[i] = last;
        }
        pthread_mutex_unlock(&S.dlock);
        MHD_resume_connection(conn);
        pthread_mutex_lock(&S.dlock);
    }
    return NULL;
}

/* ---- responses ---- */

static char *error_json(const char *msg)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "message", msg, "type", "fake_error");
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static uint32_t words(const char *s)
{
    return arena__llm_count_words(s);
}

#define FAKE_GARBAGE_TAG "[fake-garbage]"
#define FAKE_RATING_TAG "[fake-rating: "

/* A difficulty request: the sim's rating, or the planted garbage / verbatim rating. */
static char *difficulty_answer(const struct arena__sim_params *sp, const char *prompt,
                               uint64_t seed)
{
    const char *text;
    size_t len;
    if (!arena__sim_difficulty_section(prompt, &text, &len)) {
        return NULL;
    }
    char *rated = arena_xstrndup(text, len);
    char *out = NULL;
    const char *r = strstr(rated, FAKE_RATING_TAG);
    if (strstr(rated, FAKE_GARBAGE_TAG)) {
        out = arena_xstrdup("This prompt touches on several topics and could be answered in many "
                            "ways; its difficulty depends on the reader.");
    } else if (r) {
        r += strlen(FAKE_RATING_TAG);
        out = arena_xasprintf("Difficulty: [[%.*s]]", (int)strcspn(r, "]"), r);
    } else {
        out = arena__sim_rate_difficulty(sp, prompt, seed, NULL);
    }
    free(rated);
    return out;
}

static char *chat_answer(json_t *req, const char *model)
{
    json_t *msgs = json_object_get(req, "messages");
    const char *last_user = "";
    uint32_t ptok = 0;
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i);
        const char *c = json_string_value(json_object_get(m, "content"));
        const char *r = json_string_value(json_object_get(m, "role"));
        if (c) {
            ptok += words(c);
            if (r && strcmp(r, "user") == 0) {
                last_user = c;
            }
        }
    }
    json_t *seed = json_object_get(req, "seed");
    struct arena__sim_params sp = {.model = "fake-openai", .skill = 5, .seed = 0};
    uint64_t rseed = json_is_integer(seed) ? (uint64_t)json_integer_value(seed) : 0;
    char *content = difficulty_answer(&sp, last_user, rseed);
    if (!content) {
        content = arena__sim_judge(&sp, last_user, rseed, NULL, NULL);
    }
    if (!content) {
        content = arena_xasprintf("fake answer: %s", last_user);
    }
    static atomic_long id;
    char idbuf[64];
    snprintf(idbuf, sizeof(idbuf), "chatcmpl-fake-%ld", ++id);
    json_t *o =
        json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:{s:s,s:s},s:s}],s:{s:i,s:i,s:i}}", "id", idbuf,
                  "object", "chat.completion", "created", (json_int_t)time(NULL), "model", model,
                  "choices", "index", 0, "message", "role", "assistant", "content", content,
                  "finish_reason", "stop", "usage", "prompt_tokens", (int)ptok, "completion_tokens",
                  (int)words(content), "total_tokens", (int)(ptok + words(content)));
    free(content);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *embeddings_answer(json_t *req)
{
    json_t *input = json_object_get(req, "input");
    json_t *dims = json_object_get(req, "dimensions");
    int dim = json_is_integer(dims) ? (int)json_integer_value(dims) : 64;
    if (dim < 1 || dim > 4096) {
        return NULL;
    }
    json_t *items = json_is_array(input) ? json_incref(input) : json_pack("[O]", input);
    json_t *data = json_array();
    int tokens = 0;
    double *v = arena_xcalloc((size_t)dim, sizeof(double));
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *text = json_string_value(json_array_get(items, i));
        if (!text) {
            json_decref(items);
            json_decref(data);
            free(v);
            return NULL;
        }
        memset(v, 0, (size_t)dim * sizeof(double));
        const char *p = text;
        while (*p) {
            while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
                p++;
            }
            const char *s = p;
            while (*p && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
                p++;
            }
            if (p > s) {
                uint64_t h = arena_hash64(s, (size_t)(p - s), 0xe3b);
                v[h % (uint64_t)dim] += (h >> 63) ? 1.0 : -1.0;
                tokens++;
            }
        }
        double norm = 0;
        for (int d = 0; d < dim; d++) {
            norm += v[d] * v[d];
        }
        norm = norm > 0 ? sqrt(norm) : 1;
        json_t *emb = json_array();
        for (int d = 0; d < dim; d++) {
            json_array_append_new(emb, json_real(v[d] / norm));
        }
        json_array_append_new(data, json_pack("{s:s,s:i,s:o}", "object", "embedding", "index",
                                              (int)i, "embedding", emb));
    }
    free(v);
    json_decref(items);
    json_t *o =
        json_pack("{s:s,s:o,s:s,s:{s:i,s:i}}", "object", "list", "data", data, "model",
                  "fake-embedding", "usage", "prompt_tokens", tokens, "total_tokens", tokens);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *stats_json(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "requests", json_integer(S.requests));
    for (int k = 0; k < F__COUNT; k++) {
        char key[32];
        snprintf(key, sizeof(key), k == 0 ? "ok" : "fault_%s", fault_names[k]);
        json_object_set_new(o, key, json_integer(S.counts[k]));
    }
    json_object_set_new(o, "auth_failed", json_integer(S.auth_failed));
    json_object_set_new(o, "bad_request", json_integer(S.bad_request));
    json_object_set_new(o, "embeddings", json_integer(S.embeddings));
    json_object_set_new(o, "not_found", json_integer(S.not_found));
    json_object_set_new(o, "current", json_integer(S.current));
    json_object_set_new(o, "max_concurrent", json_integer(S.max_concurrent));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void stats_reset(void)
{
    S.requests = 0;
    for (int k = 0; k < F__COUNT; k++) {
        S.counts[k] = 0;
    }
    S.auth_failed = S.bad_request = S.embeddings = S.not_found = 0;
    S.max_concurrent = S.current;
    pthread_mutex_lock(&S.lock);
    S.seen_n = 0;
    if (S.seen_keys) {
        memset(S.seen_keys, 0, S.seen_cap * sizeof(*S.seen_keys));
    }
    pthread_mutex_unlock(&S.lock);
}

/* Attempts so far for this request body (1 on first sight). */
static uint32_t seen_bump(uint64_t key)
{
    if (key == 0) {
        key = 1;
    }
    pthread_mutex_lock(&S.lock);
    if ((S.seen_n + 1) * 2 > S.seen_cap) {
        size_t oc = S.seen_cap;
        uint64_t *ok = S.seen_keys;
        uint32_t *ocnt = S.seen_counts;
        S.seen_cap = oc ? oc * 2 : 1024;
        S.seen_keys = arena_xcalloc(S.seen_cap, sizeof(uint64_t));
        S.seen_counts = arena_xcalloc(S.seen_cap, sizeof(uint32_t));
        for (size_t i = 0; i < oc; i++) {
            if (ok[i]) {
                size_t j = ok[i] & (S.seen_cap - 1);
                while (S.seen_keys[j]) {
                    j = (j + 1) & (S.seen_cap - 1);
                }
                S.seen_keys[j] = ok[i];
                S.seen_counts[j] = ocnt[i];
            }
        }
        free(ok);
        free(ocnt);
    }
    size_t j = key & (S.seen_cap - 1);
    while (S.seen_keys[j] && S.seen_keys[j] != key) {
        j = (j + 1) & (S.seen_cap - 1);
    }
    if (!S.seen_keys[j]) {
        S.seen_keys[j] = key;
        S.seen_counts[j] = 0;
        S.seen_n++;
    }
    uint32_t n = ++S.seen_counts[j];
    pthread_mutex_unlock(&S.lock);
    return n;
}

/* The fault for this request: by model name schedule, else by rate. */
static enum fault_kind pick_fault(const char *model, const char *body, size_t len, int *ra)
{
    *ra = S.retry_after;
    if (strncmp(model, "fault-", 6) == 0) {
        const char *k = model + 6;
        size_t kl = strcspn(k, "-x");
        enum fault_kind f = fault_parse(k, kl);
        if (f == F_NONE) {
            return F_NONE;
        }
        const char *rest = k + kl;
        if (*rest == '\0') {
            return f;
        }
        long times = 1;
        if (*rest == 'x') {
            times = strtol(rest + 1, (char **)&rest, 10);
        }
        if (strcmp(rest, "-then-ok") == 0) {
            uint32_t n = seen_bump(arena_hash64(body, len, 0xfa));
            return n <= (uint32_t)times ? f : F_NONE;
        }
        return F_NONE;
    }
    if (S.n_faults == 0) {
        return F_NONE;
    }
    pthread_mutex_lock(&S.lock);
    double u = (double)(rng_next() >> 11) / 9007199254740992.0;
    pthread_mutex_unlock(&S.lock);
    double acc = 0;
    for (size_t i = 0; i < S.n_faults; i++) {
        acc += S.faults[i].rate;
        if (u < acc) {
            if (S.faults[i].retry_after >= 0) {
                *ra = S.faults[i].retry_after;
            }
            return S.faults[i].kind;
        }
    }
    return F_NONE;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void prepare_chat(struct req_state *st, struct MHD_Connection *conn)
{
    long cur = ++S.current;
    long mx = S.max_concurrent;
    while (cur > mx && !atomic_compare_exchange_weak(&S.max_concurrent, &mx, cur)) {
    }
    st->counted = true;
    S.requests++;
    (void)conn;
    json_error_t jerr;
    json_t *req = json_loadb(st->body.data ? st->body.data : "", st->body.len, 0, &jerr);
    const char *model = req ? json_string_value(json_object_get(req, "model")) : NULL;
    if (!req || !json_is_array(json_object_get(req, "messages")) || !model) {
        S.bad_request++;
        char msg[300];
        snprintf(msg, sizeof(msg), "invalid request body: %s",
                 req ? "needs model and messages" : jerr.text);
        st->status = 400;
        st->resp = error_json(msg);
        json_decref(req);
        return;
    }
    int ra = -1;
    enum fault_kind f = pick_fault(model, st->body.data, st->body.len, &ra);
    S.counts[f]++;
    st->status = 200;
    st->ctype = "application/json";
    switch (f) {
    case F_NONE:
    case F_TIMEOUT:
        st->resp = chat_answer(req, model);
        break;
    case F_500:
        st->status = 500;
        st->resp = error_json("fake internal server error");
        break;
    case F_503:
        st->status = 503;
        st->resp = error_json("fake service unavailable");
        st->retry_after = ra;
        break;
    case F_429:
        st->status = 429;
        st->resp = error_json("fake rate limit exceeded");
        st->retry_after = ra;
        break;
    case F_400: {
        char msg[256];
        snprintf(msg, sizeof(msg), "model %s rejects this request (fake 400)", model);
        st->status = 400;
        st->resp = error_json(msg);
        break;
    }
    case F_DROP:
        st->drop = true;
        break;
    case F_BADJSON:
        st->resp = arena_xstrdup("{\"choices\": [{\"message\": {\"content\": \"trunc");
        break;
    case F_NOCHOICES:
        st->resp = arena_xstrdup("{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[]}");
        break;
    case F_GARBAGE: {
        /* a valid completion whose text carries no score, label or N/10 pair */
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:[{s:i,s:{s:s,s:s},s:s}]}", "id", "chatcmpl-fake-garbage", "object",
            "chat.completion", "model", model, "choices", "index", 0, "message", "role",
            "assistant", "content",
            "Both assistants make a fair attempt. Assistant A provides 3 examples and Assistant "
            "B provides 2, so it is hard to say which one is better overall.",
            "finish_reason", "stop");
        st->resp = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        break;
    }
    case F_CTYPE:
        st->ctype = "text/html";
        st->resp = arena_xstrdup("<html><body>502 Bad Gateway (fake proxy)</body></html>");
        break;
    default:
        break;
    }
    json_decref(req);
    int delay = S.latency_ms + (f == F_TIMEOUT ? S.hang_ms : 0);
    if (delay > 0) {
        st->suspended = true;
        MHD_suspend_connection(conn);
        delay_add(conn, (uint64_t)delay);
    }
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, char *body,
                                 const char *ctype, int retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", ctype ? ctype : "application/json");
    if (retry_after >= 0) {
        char v[32];
        snprintf(v, sizeof(v), "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", v);
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct req_state *st = *con_cls;
    if (!st) {
        st = arena_xcalloc(1, sizeof(*st));
        arena_buf_init(&st->body);
        st->retry_after = -1;
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        arena_buf_append(&st->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!st->decided) {
        st->decided = true;
        if (S.require_key) {
            const char *auth =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
            char want[512];
            snprintf(want, sizeof(want), "Bearer %s", S.require_key);
            if (!auth || strcmp(auth, want) != 0) {
                S.auth_failed++;
                return send_text(conn, 401, error_json("missing or wrong API key"), NULL, -1);
            }
        }
        if (strcmp(method, "GET") == 0 && strcmp(url, "/stats") == 0) {
            return send_text(conn, 200, stats_json(), NULL, -1);
        }
        if (strcmp(method, "POST") == 0 && strcmp(url, "/stats/reset") == 0) {
            stats_reset();
            return send_text(conn, 200, stats_json(), NULL, -1);
        }
        if (strcmp(method, "POST") == 0 && ends_with(url, "/embeddings")) {
            S.embeddings++;
            json_t *req = json_loadb(st->body.data ? st->body.data : "", st->body.len, 0, NULL);
            char *out = req ? embeddings_answer(req) : NULL;
            json_decref(req);
            if (!out) {
                S.bad_request++;
                return send_text(conn, 400,
                                 error_json("invalid embeddings request: needs input (string or "
                                            "array of strings)"),
                                 NULL, -1);
            }
            return send_text(conn, 200, out, NULL, -1);
        }
        if (strcmp(method, "POST") == 0 && ends_with(url, "/chat/completions")) {
            prepare_chat(st, conn);
            if (st->suspended) {
                return MHD_YES;
            }
        } else {
            S.not_found++;
            return send_text(conn, 404, error_json("no such endpoint"), NULL, -1);
        }
    }
    /* resumed after the delay, or answered at once */
    if (st->drop) {
        return MHD_NO;
    }
    if (!st->resp) {
        return MHD_NO;
    }
    char *body = st->resp;
    st->resp = NULL;
    return send_text(conn, st->status, body, st->ctype, st->retry_after);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req_state *st = *con_cls;
    if (!st) {
        return;
    }
    if (st->counted) {
        S.current--;
    }
    arena_buf_fini(&st->body);
    free(st->resp);
    free(st);
    *con_cls = NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: fake-openai --port-file F [--latency-ms N] [--hang-ms N] "
                    "[--retry-after S] [--require-key K] [--seed N] "
                    "[--fault KIND:RATE[:retry-after=S]]...\n"
                    "  KIND: 500 503 429 400 timeout drop badjson nochoices ctype garbage\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    S.rng = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            return usage();
        }
        i++;
        if (strcmp(a, "--port-file") == 0) {
            port_file = v;
        } else if (strcmp(a, "--latency-ms") == 0) {
            S.latency_ms = atoi(v);
        } else if (strcmp(a, "--hang-ms") == 0) {
            S.hang_ms = atoi(v);
        } else if (strcmp(a, "--retry-after") == 0) {
            S.retry_after = atoi(v);
        } else if (strcmp(a, "--require-key") == 0) {
            S.require_key = v;
        } else if (strcmp(a, "--seed") == 0) {
            S.rng = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--fault") == 0) {
            size_t kl = strcspn(v, ":");
            enum fault_kind f = fault_parse(v, kl);
            if (f == F_NONE || v[kl] != ':' || S.n_faults == 32) {
                fprintf(stderr, "fake-openai: bad --fault '%s'\n", v);
                return usage();
            }
            char *end;
            double rate = strtod(v + kl + 1, &end);
            int ra = -1;
            if (strncmp(end, ":retry-after=", 13) == 0) {
                ra = atoi(end + 13);
            } else if (*end != '\0' || rate < 0 || rate > 1) {
                fprintf(stderr, "fake-openai: bad --fault rate in '%s'\n", v);
                return usage();
            }
            S.faults[S.n_faults++] = (struct fault_rate){f, rate, ra};
        } else {
            return usage();
        }
    }
    if (!port_file) {
        return usage();
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t set; /* blocked before any thread starts, taken by sigwait below */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t dt;
    pthread_create(&dt, NULL, delay_thread, NULL);

    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
        handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        completed, NULL, MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 16000u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u, MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fake-openai: cannot start HTTP server\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
        fprintf(stderr, "fake-openai: cannot write %s: %s\n", port_file, strerror(errno));
        return 1;
    }
    fprintf(stderr, "fake-openai: listening on 127.0.0.1:%u\n", port);
    int sig = 0;
    sigwait(&set, &sig);
    /* suspended connections may still be held: exit without a full daemon shutdown */
    _exit(0);
}
