/* ctl.c - ZeroMQ control plane: a REP socket answering JSON commands, and the REQ client used
 * by arenactl. A REP socket must answer every request before it can receive the next one, so
 * every path through ctl_answer() sends exactly one reply, errors included. */
#include "arena/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "arena/log.h"
#include "arena/util.h"

#define CTL_MAX_REQUEST (1024 * 1024)

struct ctl_handler {
    char *cmd;
    arena_ctl_handler *fn;
    void *ctx;
};

struct arena_ctl {
    void *zctx;
    void *sock;
    char endpoint[256];
    struct ctl_handler *handlers;
    size_t n_handlers;
    size_t cap_handlers;
};

static json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *ctl_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *ctl_ping(void *ctx, const char *cmd, json_t *args)
{
    (void)ctx;
    (void)cmd;
    (void)args;
    return json_pack("{s:b,s:b}", "ok", 1, "pong", 1);
}

struct arena_ctl *arena_ctl_new(const char *endpoint, char *errstr, size_t errstr_size)
{
    if (!endpoint || !*endpoint) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "control endpoint is empty");
        return NULL;
    }
    struct arena_ctl *c = arena_xcalloc(1, sizeof(*c));
    c->zctx = zmq_ctx_new();
    if (!c->zctx) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "zmq_ctx_new: %s",
                      zmq_strerror(zmq_errno()));
        arena_ctl_destroy(c);
        return NULL;
    }
    c->sock = zmq_socket(c->zctx, ZMQ_REP);
    if (!c->sock) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "zmq_socket(REP): %s",
                      zmq_strerror(zmq_errno()));
        arena_ctl_destroy(c);
        return NULL;
    }
    int linger = 0;
    int64_t maxmsg = CTL_MAX_REQUEST;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
    if (zmq_bind(c->sock, endpoint) != 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "control socket: cannot bind '%s': %s",
                      endpoint, zmq_strerror(zmq_errno()));
        arena_ctl_destroy(c);
        return NULL;
    }
    size_t len = sizeof(c->endpoint);
    if (zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, c->endpoint, &len) != 0) {
        snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
    }
    arena_ctl_register(c, "ping", ctl_ping, NULL);
    return c;
}

void arena_ctl_register(struct arena_ctl *c, const char *cmd, arena_ctl_handler *fn, void *ctx)
{
    if (!c || !cmd || !fn) {
        return;
    }
    for (size_t i = 0; i < c->n_handlers; i++) {
        if (!strcmp(c->handlers[i].cmd, cmd)) {
            c->handlers[i].fn = fn;
            c->handlers[i].ctx = ctx;
            return;
        }
    }
    if (c->n_handlers == c->cap_handlers) {
        c->cap_handlers = c->cap_handlers ? c->cap_handlers * 2 : 8;
        c->handlers = arena_xrealloc(c->handlers, c->cap_handlers * sizeof(*c->handlers));
    }
    c->handlers[c->n_handlers].cmd = arena_xstrdup(cmd);
    c->handlers[c->n_handlers].fn = fn;
    c->handlers[c->n_handlers].ctx = ctx;
    c->n_handlers++;
}

/* Build the reply to one request (never NULL). */
static json_t *ctl_dispatch(struct arena_ctl *c, const char *data, size_t len, bool multipart)
{
    if (multipart) {
        return ctl_error("request must be a single-frame JSON object");
    }
    json_error_t jerr;
    json_t *req = json_loadb(data, len, 0, &jerr);
    if (!req) {
        return ctl_error("invalid JSON request: %s (line %d column %d)", jerr.text, jerr.line,
                         jerr.column);
    }
    json_t *reply = NULL;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!json_is_object(req)) {
        reply = ctl_error("request must be a JSON object with a \"cmd\" string");
    } else if (!cmd || !*cmd) {
        reply = ctl_error("request has no \"cmd\" string");
    } else {
        const struct ctl_handler *h = NULL;
        for (size_t i = 0; i < c->n_handlers; i++) {
            if (!strcmp(c->handlers[i].cmd, cmd)) {
                h = &c->handlers[i];
                break;
            }
        }
        if (!h) {
            struct arena_buf known;
            arena_buf_init(&known);
            for (size_t i = 0; i < c->n_handlers; i++) {
                arena_buf_printf(&known, "%s%s", i ? ", " : "", c->handlers[i].cmd);
            }
            reply = ctl_error("unknown command '%s' (known: %s)", cmd, known.len ? known.data : "");
            arena_buf_fini(&known);
        } else {
            reply = h->fn(h->ctx, cmd, req);
            if (!reply) {
                reply = ctl_error("command '%s' failed", cmd);
            } else if (!json_is_object(reply)) {
                json_t *wrapped = json_pack("{s:b,s:o}", "ok", 1, "result", reply);
                reply = wrapped;
            } else if (!json_object_get(reply, "ok")) {
                json_object_set_new(reply, "ok", json_true());
            }
        }
    }
    json_decref(req);
    return reply;
}

/* Receive one request (all frames) without blocking, answer it. 1 = answered, 0 = none, -1. */
static int ctl_answer_one(struct arena_ctl *c)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&msg);
        if (e == EAGAIN || e == EINTR) {
            return 0;
        }
        ARENA_WARN("event=ctl_recv_failed error=\"%s\"", zmq_strerror(e));
        return -1;
    }
    bool multipart = zmq_msg_more(&msg);
    for (bool more = multipart; more;) { /* drain the rest of a multi-frame request */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        if (zmq_msg_recv(&extra, c->sock, 0) < 0) {
            zmq_msg_close(&extra);
            break;
        }
        more = zmq_msg_more(&extra);
        zmq_msg_close(&extra);
    }
    json_t *reply =
        ctl_dispatch(c, (const char *)zmq_msg_data(&msg), zmq_msg_size(&msg), multipart);
    zmq_msg_close(&msg);
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (!text) {
        text = arena_xstrdup("{\"ok\":false,\"error\":\"reply could not be serialised\"}");
    }
    if (zmq_send(c->sock, text, strlen(text), 0) < 0) {
        ARENA_WARN("event=ctl_send_failed error=\"%s\"", zmq_strerror(zmq_errno()));
        free(text);
        return -1;
    }
    free(text);
    return 1;
}

int arena_ctl_poll(struct arena_ctl *c, int timeout_ms)
{
    if (!c || !c->sock) {
        return -1;
    }
    zmq_pollitem_t item = {.socket = c->sock, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&item, 1, timeout_ms);
    if (rc < 0) {
        return zmq_errno() == EINTR ? 0 : -1;
    }
    if (rc == 0 || !(item.revents & ZMQ_POLLIN)) {
        return 0;
    }
    int answered = 0;
    for (int i = 0; i < 64; i++) { /* bounded: the loop must get back to its real work */
        int r = ctl_answer_one(c);
        if (r <= 0) {
            break;
        }
        answered++;
    }
    return answered;
}

const char *arena_ctl_endpoint(const struct arena_ctl *c)
{
    return c ? c->endpoint : "";
}

void arena_ctl_destroy(struct arena_ctl *c)
{
    if (!c) {
        return;
    }
    if (c->sock) {
        zmq_close(c->sock);
    }
    if (c->zctx) {
        zmq_ctx_term(c->zctx);
    }
    for (size_t i = 0; i < c->n_handlers; i++) {
        free(c->handlers[i].cmd);
    }
    free(c->handlers);
    free(c);
}

arena_err_t arena_ctl_request(const char *endpoint, const char *cmd, json_t *args, int timeout_ms,
                              json_t **reply, char *errstr, size_t errstr_size)
{
    arena_err_t err = ARENA_ERR_OK;
    void *zctx = NULL;
    void *sock = NULL;
    char *text = NULL;
    json_t *req = NULL;

    if (reply) {
        *reply = NULL;
    }
    if (!endpoint || !*endpoint || !cmd || !*cmd || !reply) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "control request needs an endpoint, a command and a reply pointer");
    }
    if (args && !json_is_object(args)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID,
                             "control request arguments must be a JSON object");
    }
    req = args ? json_deep_copy(args) : json_object();
    json_object_set_new(req, "cmd", json_string(cmd));
    text = json_dumps(req, JSON_COMPACT);

    zctx = zmq_ctx_new();
    sock = zctx ? zmq_socket(zctx, ZMQ_REQ) : NULL;
    if (!sock) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "zmq REQ socket: %s",
                            zmq_strerror(zmq_errno()));
        goto out;
    }
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof(timeout_ms));
    if (zmq_connect(sock, endpoint) != 0) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "cannot connect to '%s': %s",
                            endpoint, zmq_strerror(zmq_errno()));
        goto out;
    }
    if (zmq_send(sock, text, strlen(text), 0) < 0) {
        int e = zmq_errno();
        err = arena_err_set(errstr, errstr_size, e == EAGAIN ? ARENA_ERR_TIMEOUT : ARENA_ERR_ZMQ,
                            "send '%s' to %s: %s", cmd, endpoint,
                            e == EAGAIN ? "timed out" : zmq_strerror(e));
        goto out;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&msg);
        err = arena_err_set(errstr, errstr_size, e == EAGAIN ? ARENA_ERR_TIMEOUT : ARENA_ERR_ZMQ,
                            "no reply to '%s' from %s within %d ms%s%s", cmd, endpoint, timeout_ms,
                            e == EAGAIN ? "" : ": ", e == EAGAIN ? "" : zmq_strerror(e));
        goto out;
    }
    json_error_t jerr;
    json_t *r = json_loadb((const char *)zmq_msg_data(&msg), zmq_msg_size(&msg), 0, &jerr);
    zmq_msg_close(&msg);
    if (!r || !json_is_object(r)) {
        json_decref(r);
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_PARSE,
                            "reply to '%s' from %s is not a JSON object", cmd, endpoint);
        goto out;
    }
    *reply = r;
out:
    if (sock) {
        zmq_close(sock);
    }
    if (zctx) {
        zmq_ctx_term(zctx);
    }
    free(text);
    json_decref(req);
    return err;
}
