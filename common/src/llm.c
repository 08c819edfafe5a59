/* llm.c - the model pool (llm.h): one backend per configured model, per-model concurrency
 * limit with a FIFO queue beyond it, a timer heap shared by every backend, a ready list of
 * finished calls whose callbacks run from arena_llm_poll(), and the model-call metrics. */
#include "arena/llm.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/log.h"
#include "arena/metrics.h"
#include "arena/util.h"
#include "llm_internal.h"

struct arena__llm_model {
    struct arena_llm_pool *pool;
    const struct arena_model_cfg *cfg;
    char *name;
    const struct arena__llm_backend_ops *ops;
    void *be;
    int64_t max_concurrency; /* <= 0: unlimited */
    int64_t active;          /* started, not completed */
    bool starting;           /* inside model_start_queued (a start may complete at once) */
    size_t pending;          /* submitted, not called back */
    struct arena__llm_call *qhead, *qtail; /* waiting for a slot */
    /* metrics (NULL without a registry) */
    struct arena_metric *m_ok, *m_error, *m_duration, *m_tok_prompt, *m_tok_completion;
};

enum { CALL_QUEUED, CALL_ACTIVE, CALL_READY };

struct llm_timer {
    uint64_t due_us;
    uint64_t seq; /* FIFO among equal deadlines */
    arena__llm_timer_fn *fn;
    void *arg;
};

struct arena_llm_pool {
    struct arena__llm_model *models;
    size_t n_models;
    struct arena_metrics *metrics;
    struct llm_timer *timers; /* min-heap on (due_us, seq) */
    size_t n_timers, cap_timers;
    uint64_t timer_seq;
    struct arena__llm_call *rhead, *rtail; /* ready: callbacks to run */
    struct arena__llm_call *all;           /* every live call (for destroy) */
    size_t pending;
    CURLM *curlm;
    bool curl_inited;
    int epfd;            /* curl's sockets (socket_action API: O(1) per event) */
    int64_t curl_due_us; /* curl's timer, -1 = none */
};

static const struct arena__llm_backend_ops *llm_backend_ops(const char *name)
{
    if (strcmp(name, "sim") == 0) {
        return &arena__llm_sim_ops;
    }
    if (strcmp(name, "openai") == 0) {
        return &arena__llm_openai_ops;
    }
    if (strcmp(name, "replay") == 0) {
        return &arena__llm_replay_ops;
    }
    return NULL;
}

/* ---- timers ---- */

static bool timer_less(const struct llm_timer *a, const struct llm_timer *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}

void arena__llm_timer_add(struct arena_llm_pool *pool, uint64_t delay_us, arena__llm_timer_fn *fn,
                          void *arg)
{
    if (pool->n_timers == pool->cap_timers) {
        pool->cap_timers = pool->cap_timers ? pool->cap_timers * 2 : 64;
        pool->timers = arena_xrealloc(pool->timers, pool->cap_timers * sizeof(*pool->timers));
    }
    size_t i = pool->n_timers++;
    struct llm_timer t = {arena_mono_us() + delay_us, pool->timer_seq++, fn, arg};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_less(&t, &pool->timers[parent])) {
            break;
        }
        pool->timers[i] = pool->timers[parent];
        i = parent;
    }
    pool->timers[i] = t;
}

static void timer_pop(struct arena_llm_pool *pool)
{
    struct llm_timer last = pool->timers[--pool->n_timers];
    size_t i = 0, n = pool->n_timers;
    if (n == 0) {
        return;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct llm_timer *best = &last;
        if (l < n && timer_less(&pool->timers[l], best)) {
            m = l;
            best = &pool->timers[l];
        }
        if (r < n && timer_less(&pool->timers[r], best)) {
            m = r;
        }
        if (m == i) {
            break;
        }
        pool->timers[i] = pool->timers[m];
        i = m;
    }
    pool->timers[i] = last;
}

static int timers_run(struct arena_llm_pool *pool)
{
    int n = 0;
    uint64_t now = arena_mono_us();
    while (pool->n_timers > 0 && pool->timers[0].due_us <= now) {
        struct llm_timer t = pool->timers[0];
        timer_pop(pool);
        t.fn(t.arg);
        n++;
    }
    return n;
}

/* ---- calls ---- */

static void call_free(struct arena__llm_call *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n_messages; i++) {
        free(c->roles[i]);
        free(c->contents[i]);
    }
    free(c->roles);
    free(c->contents);
    free(c->prompt_id);
    free(c->error);
    free(c->content);
    free(c->finish_reason);
    free(c);
}

static void model_start_queued(struct arena__llm_model *m)
{
    if (m->starting) {
        return; /* the outer loop picks up the slot freed by a synchronous completion */
    }
    m->starting = true;
    while (m->qhead && (m->max_concurrency <= 0 || m->active < m->max_concurrency)) {
        struct arena__llm_call *c = m->qhead;
        m->qhead = c->next;
        if (!m->qhead) {
            m->qtail = NULL;
        }
        c->next = NULL;
        c->state = CALL_ACTIVE;
        m->active++;
        c->start_us = arena_mono_us();
        m->ops->start(m->be, c);
    }
    m->starting = false;
}

void arena__llm_complete(struct arena__llm_call *call)
{
    struct arena__llm_model *m = call->model;
    struct arena_llm_pool *pool = m->pool;
    m->active--;
    call->state = CALL_READY;
    call->next = NULL;
    if (pool->rtail) {
        pool->rtail->next = call;
    } else {
        pool->rhead = call;
    }
    pool->rtail = call;
    model_start_queued(m);
}

void arena__llm_count_retry(struct arena__llm_call *call, const char *reason)
{
    struct arena__llm_model *m = call->model;
    call->retries++;
    if (!m->pool->metrics) {
        return;
    }
    char lname[256];
    arena_metrics_label(m->name, lname, sizeof(lname));
    arena_metrics_incf(m->pool->metrics, "arena_model_call_retries_total",
                       "Model calls retried, by reason", 1, "model=\"%s\",reason=\"%s\"", lname,
                       reason);
}

static int curl_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct arena_llm_pool *pool = userp;
    if (what == CURL_POLL_REMOVE) {
        if (socketp) {
            epoll_ctl(pool->epfd, EPOLL_CTL_DEL, s, NULL);
            curl_multi_assign(pool->curlm, s, NULL);
        }
        return 0;
    }
    struct epoll_event ev = {0};
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.fd = s;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(pool->epfd, op, s, &ev) != 0) {
        op = errno == EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(pool->epfd, op, s, &ev) != 0) {
            ARENA_ERROR("event=epoll_ctl_failed fd=%d err=\"%s\"", (int)s, strerror(errno));
        }
    }
    curl_multi_assign(pool->curlm, s, (void *)1);
    return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct arena_llm_pool *pool = userp;
    pool->curl_due_us =
        timeout_ms < 0 ? -1 : (int64_t)(arena_mono_us() + (uint64_t)timeout_ms * 1000);
    return 0;
}

void *arena__llm_curlm(struct arena_llm_pool *pool)
{
    if (!pool->curlm) {
        if (!pool->curl_inited) {
            curl_global_init(CURL_GLOBAL_DEFAULT);
            pool->curl_inited = true;
        }
        pool->curlm = curl_multi_init();
        pool->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (!pool->curlm || pool->epfd < 0) {
            ARENA_ERROR("event=curl_multi_init_failed");
            abort();
        }
        pool->curl_due_us = -1;
        curl_multi_setopt(pool->curlm, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
        curl_multi_setopt(pool->curlm, CURLMOPT_SOCKETDATA, pool);
        curl_multi_setopt(pool->curlm, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
        curl_multi_setopt(pool->curlm, CURLMOPT_TIMERDATA, pool);
    }
    return pool->curlm;
}

/* Run curl's timer when due; then (wait_ms >= 0) wait for socket events up to wait_ms. */
static void curl_drive(struct arena_llm_pool *p, int wait_ms)
{
    int running = 0;
    if (p->curl_due_us >= 0 && (uint64_t)p->curl_due_us <= arena_mono_us()) {
        p->curl_due_us = -1;
        curl_multi_socket_action(p->curlm, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    if (wait_ms < 0) {
        return;
    }
    struct epoll_event ev[256];
    int n = epoll_wait(p->epfd, ev, 256, wait_ms);
    for (int i = 0; i < n; i++) {
        int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                    (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(p->curlm, ev[i].data.fd, flags, &running);
    }
}

const char *arena__llm_model_name(const struct arena__llm_model *m)
{
    return m->name;
}

struct arena_llm_pool *arena__llm_model_pool(const struct arena__llm_model *m)
{
    return m->pool;
}

int64_t arena__llm_total_concurrency(const struct arena_llm_pool *pool, const char *backend)
{
    int64_t sum = 0;
    for (size_t i = 0; i < pool->n_models; i++) {
        const struct arena__llm_model *m = &pool->models[i];
        if (m->cfg && m->cfg->backend && strcmp(m->cfg->backend, backend) == 0) {
            if (m->max_concurrency <= 0) {
                return 0; /* unlimited */
            }
            sum += m->max_concurrency;
        }
    }
    return sum;
}

const char *arena__llm_last_user(const struct arena__llm_call *call)
{
    for (size_t i = call->n_messages; i > 0; i--) {
        if (strcmp(call->roles[i - 1], "user") == 0) {
            return call->contents[i - 1];
        }
    }
    return NULL;
}

uint32_t arena__llm_count_words(const char *s)
{
    uint32_t n = 0;
    bool in = false;
    for (; s && *s; s++) {
        bool ws = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v';
        if (!ws && !in) {
            n++;
        }
        in = !ws;
    }
    return n;
}

/* ---- pool ---- */

static struct arena__llm_model *pool_find(const struct arena_llm_pool *p, const char *model)
{
    if (!p || !model) {
        return NULL;
    }
    for (size_t i = 0; i < p->n_models; i++) {
        if (strcmp(p->models[i].name, model) == 0) {
            return &p->models[i];
        }
    }
    return NULL;
}

static void model_metrics(struct arena_llm_pool *p, struct arena__llm_model *m)
{
    char lname[256], labels[320];
    arena_metrics_label(m->name, lname, sizeof(lname));
    snprintf(labels, sizeof(labels), "model=\"%s\",status=\"ok\"", lname);
    m->m_ok = arena_metrics_counter(p->metrics, "arena_model_calls_total",
                                    "Model calls completed, by final status", labels);
    snprintf(labels, sizeof(labels), "model=\"%s\",status=\"error\"", lname);
    m->m_error = arena_metrics_counter(p->metrics, "arena_model_calls_total",
                                       "Model calls completed, by final status", labels);
    snprintf(labels, sizeof(labels), "model=\"%s\"", lname);
    m->m_duration = arena_metrics_histogram(
        p->metrics, "arena_model_call_duration_seconds",
        "Model call duration from submit to completion, retries included", labels,
        arena_metrics_latency_buckets, arena_metrics_latency_buckets_n);
    snprintf(labels, sizeof(labels), "model=\"%s\",kind=\"prompt\"", lname);
    m->m_tok_prompt =
        arena_metrics_counter(p->metrics, "arena_model_tokens_total", "Model tokens used", labels);
    snprintf(labels, sizeof(labels), "model=\"%s\",kind=\"completion\"", lname);
    m->m_tok_completion =
        arena_metrics_counter(p->metrics, "arena_model_tokens_total", "Model tokens used", labels);
}

struct arena_llm_pool *arena_llm_pool_new(const struct arena_config *cfg,
                                          struct arena_metrics *metrics, char *errstr,
                                          size_t errstr_size)
{
    struct arena_llm_pool *p = arena_xcalloc(1, sizeof(*p));
    p->metrics = metrics;
    size_t n = cfg ? cfg->n_models : 0;
    p->models = arena_xcalloc(n ? n : 1, sizeof(*p->models));
    for (size_t i = 0; i < n; i++) {
        const struct arena_model_cfg *mc = &cfg->models[i];
        struct arena__llm_model *m = &p->models[i];
        if (!mc->name || !*mc->name) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "models[%zu]: name is empty", i);
            goto fail;
        }
        if (pool_find(p, mc->name)) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "model %s: defined twice",
                          mc->name);
            goto fail;
        }
        m->pool = p;
        m->cfg = mc;
        m->name = arena_xstrdup(mc->name);
        m->max_concurrency = mc->max_concurrency;
        m->ops = llm_backend_ops(mc->backend ? mc->backend : "");
        p->n_models = i + 1;
    }
    /* backends are created once every model is known (connection limits sum over models) */
    for (size_t i = 0; i < n; i++) {
        const struct arena_model_cfg *mc = &cfg->models[i];
        struct arena__llm_model *m = &p->models[i];
        if (!m->ops) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "model %s: unknown backend '%s' (expected sim, openai or replay)",
                          mc->name, mc->backend ? mc->backend : "");
            goto fail;
        }
        m->be = m->ops->create(p, m, mc, errstr, errstr_size);
        if (!m->be) {
            goto fail;
        }
        if (metrics) {
            model_metrics(p, m);
        }
    }
    return p;
fail:
    arena_llm_pool_destroy(p);
    return NULL;
}

void arena_llm_pool_destroy(struct arena_llm_pool *p)
{
    if (!p) {
        return;
    }
    /* Calls still queued, in flight or ready are released without callbacks; backends free
     * their per-call state first. Pending timers are dropped. */
    for (struct arena__llm_call *c = p->all, *next; c; c = next) {
        next = c->all_next;
        if (c->state == CALL_ACTIVE && c->model->ops->abandon) {
            c->model->ops->abandon(c->model->be, c);
        }
        call_free(c);
    }
    for (size_t i = 0; i < p->n_models; i++) {
        struct arena__llm_model *m = &p->models[i];
        if (m->be && m->ops->destroy) {
            m->ops->destroy(m->be);
        }
        free(m->name);
    }
    free(p->timers);
    if (p->curlm) {
        curl_multi_cleanup(p->curlm);
        close(p->epfd);
    }
    free(p->models);
    free(p);
}

bool arena_llm_has_model(const struct arena_llm_pool *p, const char *model)
{
    return pool_find(p, model) != NULL;
}

arena_err_t arena_llm_submit(struct arena_llm_pool *p, const char *model,
                             const struct arena_llm_request *req, arena_llm_cb *cb, void *opaque)
{
    if (!p || !req || !cb) {
        return ARENA_ERR_INVALID;
    }
    struct arena__llm_model *m = pool_find(p, model);
    if (!m) {
        return ARENA_ERR_NOT_FOUND;
    }
    if (req->n_messages > 0 && !req->messages) {
        return ARENA_ERR_INVALID;
    }
    struct arena__llm_call *c = arena_xcalloc(1, sizeof(*c));
    c->model = m;
    c->cb = cb;
    c->opaque = opaque;
    c->n_messages = req->n_messages;
    c->roles = arena_xcalloc(req->n_messages ? req->n_messages : 1, sizeof(char *));
    c->contents = arena_xcalloc(req->n_messages ? req->n_messages : 1, sizeof(char *));
    for (size_t i = 0; i < req->n_messages; i++) {
        c->roles[i] = arena_xstrdup(req->messages[i].role ? req->messages[i].role : "user");
        c->contents[i] = arena_xstrdup(req->messages[i].content ? req->messages[i].content : "");
    }
    c->temperature = req->temperature >= 0 ? req->temperature : m->cfg->temperature;
    c->max_tokens = req->max_tokens > 0 ? req->max_tokens : m->cfg->max_tokens;
    c->seed = req->seed;
    c->prompt_id = req->prompt_id && *req->prompt_id ? arena_xstrdup(req->prompt_id) : NULL;
    c->submit_us = arena_mono_us();
    m->pending++;
    p->pending++;
    c->state = CALL_QUEUED;
    c->all_next = p->all;
    if (p->all) {
        p->all->all_prev = c;
    }
    p->all = c;
    if (m->qtail) {
        m->qtail->next = c;
    } else {
        m->qhead = c;
    }
    m->qtail = c;
    model_start_queued(m);
    return ARENA_ERR_OK;
}

static void call_finish(struct arena_llm_pool *p, struct arena__llm_call *c)
{
    struct arena__llm_model *m = c->model;
    uint64_t now = arena_mono_us();
    uint64_t lat_us = now - c->submit_us;
    struct arena_llm_response resp = {
        .err = c->err,
        .error = c->err != ARENA_ERR_OK ? (c->error ? c->error : arena_err_str(c->err)) : NULL,
        .content = c->err == ARENA_ERR_OK ? (c->content ? c->content : "") : NULL,
        .finish_reason = c->finish_reason,
        .backend = m->ops->name,
        .simulated = c->simulated,
        .http_status = c->http_status,
        .prompt_tokens = c->prompt_tokens,
        .completion_tokens = c->completion_tokens,
        .latency_ms = (uint32_t)(lat_us / 1000),
        .retries = c->retries,
    };
    if (p->metrics) {
        arena_metric_inc(c->err == ARENA_ERR_OK ? m->m_ok : m->m_error);
        arena_metric_observe(m->m_duration, (double)lat_us / 1e6);
        if (c->err == ARENA_ERR_OK) {
            arena_metric_add(m->m_tok_prompt, c->prompt_tokens);
            arena_metric_add(m->m_tok_completion, c->completion_tokens);
        }
    }
    m->pending--;
    p->pending--;
    if (c->all_prev) {
        c->all_prev->all_next = c->all_next;
    } else {
        p->all = c->all_next;
    }
    if (c->all_next) {
        c->all_next->all_prev = c->all_prev;
    }
    c->cb(c->opaque, &resp);
    call_free(c);
}

/* Run the callbacks of the calls ready now (not those completed by these callbacks). */
static int run_ready(struct arena_llm_pool *p)
{
    struct arena__llm_call *c = p->rhead;
    p->rhead = p->rtail = NULL;
    int n = 0;
    while (c) {
        struct arena__llm_call *next = c->next;
        call_finish(p, c);
        n++;
        c = next;
    }
    return n;
}

static void drive_backends(struct arena_llm_pool *p)
{
    for (size_t i = 0; i < p->n_models; i++) {
        struct arena__llm_model *m = &p->models[i];
        if (m->ops->poll && m->active > 0) {
            m->ops->poll(m->be);
        }
    }
}

int arena_llm_poll(struct arena_llm_pool *p, int timeout_ms)
{
    if (!p) {
        return 0;
    }
    uint64_t deadline = arena_mono_us() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    for (;;) {
        timers_run(p);
        if (p->curlm) {
            curl_drive(p, -1);
        }
        drive_backends(p);
        if (p->rhead) {
            return run_ready(p);
        }
        uint64_t now = arena_mono_us();
        if (now >= deadline) {
            return 0;
        }
        uint64_t wait_us = deadline - now;
        if (p->n_timers > 0) {
            uint64_t due = p->timers[0].due_us;
            wait_us = due > now ? (due - now < wait_us ? due - now : wait_us) : 0;
        }
        if (p->curl_due_us >= 0) {
            uint64_t due = (uint64_t)p->curl_due_us;
            wait_us = due > now ? (due - now < wait_us ? due - now : wait_us) : 0;
        }
        int wait_ms = (int)((wait_us + 999) / 1000);
        if (p->curlm) {
            curl_drive(p, wait_ms);
        } else if (wait_ms > 0) {
            poll(NULL, 0, wait_ms);
        }
    }
}

size_t arena_llm_pending(const struct arena_llm_pool *p)
{
    return p ? p->pending : 0;
}

size_t arena_llm_pending_model(const struct arena_llm_pool *p, const char *model)
{
    const struct arena__llm_model *m = pool_find(p, model);
    return m ? m->pending : 0;
}
