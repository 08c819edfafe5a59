/* ctl.c - ZeroMQ control plane: a REP socket answering JSON commands, and the REQ client used
 * by arenactl. A REP socket must answer every request before it can receive the next one, so
 * every path through ctl_answer() sends exactly one reply, errors included. */
#include "arena/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    void *zap; /* ZAP handler (REP on inproc://zeromq.zap.01) when CURVE is on */
    unsigned char (*authorized)[32];
    size_t n_authorized;
    uint64_t refused; /* handshakes refused by the ZAP handler */
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

/* Wipe key material before it is freed (explicit_bzero is not optimised away). */
static void ctl_wipe(void *p, size_t n)
{
    if (p && n) {
        explicit_bzero(p, n);
    }
}

/* ---- CURVE keys ---------------------------------------------------------------------------- */

static const char z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";

bool arena_ctl_curve_available(void)
{
    return zmq_has("curve") == 1;
}

/* A line is a key when it is exactly 40 Z85 characters (a key may itself start with '#'). */
static bool z85_key_ok(const char *s, size_t n)
{
    if (n != ARENA_CTL_Z85_LEN || strspn(s, z85_alphabet) < n) {
        return false;
    }
    char tmp[ARENA_CTL_Z85_LEN + 1];
    uint8_t bin[32];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return zmq_z85_decode(bin, tmp) != NULL; /* also refuses groups above 2^32 */
}

arena_err_t arena_ctl_curve_read_keys(const char *path, char (**keys)[ARENA_CTL_Z85_LEN + 1],
                                      size_t *n, char *errstr, size_t errstr_size)
{
    char es[512];
    size_t len = 0;
    *keys = NULL;
    *n = 0;
    if (!path || !*path) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "no key file given");
    }
    char *text = arena_read_file(path, &len, es, sizeof(es));
    if (!text) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "key file: %s", es);
    }
    arena_err_t err = ARENA_ERR_OK;
    int lineno = 0;
    for (char *line = text; line && line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        char *end = nl ? nl : text + len;
        lineno++;
        char *a = line, *b = end;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\r')) {
            a++;
        }
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r')) {
            b--;
        }
        line = nl ? nl + 1 : NULL;
        size_t kl = (size_t)(b - a);
        if (kl == 0) {
            continue;
        }
        if (z85_key_ok(a, kl)) {
            *keys = arena_xrealloc(*keys, (*n + 1) * sizeof(**keys));
            memcpy((*keys)[*n], a, kl);
            (*keys)[*n][kl] = '\0';
            (*n)++;
            continue;
        }
        if (*a == '#') {
            continue;
        }
        /* never echo the line: it may be a (damaged) secret key */
        size_t bad = strspn(a, z85_alphabet);
        if (kl != ARENA_CTL_Z85_LEN) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                "%s line %d: expected a %d-character Z85 CURVE key, got %zu "
                                "characters",
                                path, lineno, ARENA_CTL_Z85_LEN, kl);
        } else if (bad < kl) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                "%s line %d: character %zu is not in the Z85 alphabet", path,
                                lineno, bad + 1);
        } else {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                "%s line %d: not a valid Z85 CURVE key", path, lineno);
        }
        break;
    }
    if (err == ARENA_ERR_OK && *n == 0) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "%s: no CURVE key in the file",
                            path);
    }
    ctl_wipe(text, len);
    free(text);
    if (err != ARENA_ERR_OK) {
        ctl_wipe(*keys, *n * sizeof(**keys));
        free(*keys);
        *keys = NULL;
        *n = 0;
    }
    return err;
}

/* Exactly one key from `path` into out; a secret one is registered for redaction. */
static arena_err_t curve_read_one(const char *path, const char *what, bool secret, char *out,
                                  char *errstr, size_t errstr_size)
{
    char(*keys)[ARENA_CTL_Z85_LEN + 1] = NULL;
    size_t n = 0;
    char es[512];
    if (!path || !*path) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "%s: not set", what);
    }
    if (arena_ctl_curve_read_keys(path, &keys, &n, es, sizeof(es)) != ARENA_ERR_OK) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG, "%s: %s", what, es);
    }
    arena_err_t err = ARENA_ERR_OK;
    if (n != 1) {
        err = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                            "%s: %s holds %zu keys, expected exactly one", what, path, n);
    } else {
        memcpy(out, keys[0], ARENA_CTL_Z85_LEN + 1);
        if (secret) {
            arena_log_add_secret(out);
            struct stat st;
            /* world access only: a Kubernetes Secret mount needs group read (fsGroup) */
            if (stat(path, &st) == 0 && (st.st_mode & 0007)) {
                ARENA_WARN("event=curve_secret_key_readable file=\"%s\" mode=%03o "
                           "hint=\"chmod 600: every user can read this secret key\"",
                           path, (unsigned)(st.st_mode & 0777));
            }
        }
    }
    ctl_wipe(keys, n * sizeof(*keys));
    free(keys);
    return err;
}

/* The part both sides share: CURVE available, own secret key read, public key derived. */
static arena_err_t curve_own_keys(struct arena_ctl_curve *cv, const char *secret_key_file,
                                  const char *what, char *errstr, size_t errstr_size)
{
    memset(cv, 0, sizeof(*cv));
    if (!arena_ctl_curve_available()) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_UNSUPPORTED,
                             "%s: CURVE requested but this libzmq was built without CURVE "
                             "(zmq_has(\"curve\") is false)",
                             what);
    }
    arena_err_t err =
        curve_read_one(secret_key_file, what, true, cv->secret_key, errstr, errstr_size);
    if (err == ARENA_ERR_OK && zmq_curve_public(cv->public_key, cv->secret_key) != 0) {
        err =
            arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                          "%s: cannot derive the public key: %s", what, zmq_strerror(zmq_errno()));
    }
    return err;
}

arena_err_t arena_ctl_curve_server_init(struct arena_ctl_curve *cv, const char *secret_key_file,
                                        const char *authorized_keys_file, char *errstr,
                                        size_t errstr_size)
{
    arena_err_t err =
        curve_own_keys(cv, secret_key_file, "curve.server_secret_key_file", errstr, errstr_size);
    char(*keys)[ARENA_CTL_Z85_LEN + 1] = NULL;
    size_t n = 0;
    if (err == ARENA_ERR_OK) {
        char es[512];
        if (!authorized_keys_file || !*authorized_keys_file) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                "curve.authorized_keys_file: required with "
                                "curve.server_secret_key_file (client public keys allowed in)");
        } else if (arena_ctl_curve_read_keys(authorized_keys_file, &keys, &n, es, sizeof(es)) !=
                   ARENA_ERR_OK) {
            err = arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                                "curve.authorized_keys_file: %s", es);
        }
    }
    if (err == ARENA_ERR_OK) {
        cv->authorized = arena_xcalloc(n, sizeof(*cv->authorized));
        for (size_t i = 0; i < n; i++) {
            zmq_z85_decode(cv->authorized[i], keys[i]);
        }
        cv->n_authorized = n;
        cv->enabled = true;
    }
    free(keys);
    if (err != ARENA_ERR_OK) {
        arena_ctl_curve_fini(cv);
    }
    return err;
}

arena_err_t arena_ctl_curve_client_init(struct arena_ctl_curve *cv, const char *secret_key_file,
                                        const char *server_public_key_file, char *errstr,
                                        size_t errstr_size)
{
    arena_err_t err =
        curve_own_keys(cv, secret_key_file, "curve.client_secret_key_file", errstr, errstr_size);
    if (err == ARENA_ERR_OK) {
        err = curve_read_one(server_public_key_file, "curve.server_public_key_file", false,
                             cv->server_public, errstr, errstr_size);
    }
    if (err == ARENA_ERR_OK) {
        cv->enabled = true;
    } else {
        arena_ctl_curve_fini(cv);
    }
    return err;
}

void arena_ctl_curve_fini(struct arena_ctl_curve *cv)
{
    if (!cv) {
        return;
    }
    free(cv->authorized);
    ctl_wipe(cv, sizeof(*cv));
}

/* ---- ZAP (ZeroMQ authentication protocol, RFC 27) ------------------------------------------ */

/* Answer one ZAP request: 200 for an authorised CURVE client key, 400 for anything else. */
static void ctl_zap_answer(struct arena_ctl *c)
{
    zmq_msg_t f[8];
    int nf = 0;
    bool more = true;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_init(&tmp);
        if (zmq_msg_recv(&tmp, c->zap, nf == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&tmp);
            break;
        }
        more = zmq_msg_more(&tmp);
        if (nf < 8) {
            zmq_msg_init(&f[nf]);
            zmq_msg_move(&f[nf++], &tmp);
        }
        zmq_msg_close(&tmp);
    }
    if (nf == 0) {
        return;
    }
    /* version, request id, domain, address, identity, mechanism, credentials... */
    const char *status = "400", *text = "client key not authorised";
    char address[64] = "";
    char client[ARENA_CTL_Z85_LEN + 1] = "";
    if (nf >= 7 && zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
        zmq_msg_size(&f[6]) == 32) {
        const unsigned char *key = zmq_msg_data(&f[6]);
        zmq_z85_encode(client, key, 32);
        for (size_t i = 0; i < c->n_authorized; i++) {
            if (!memcmp(c->authorized[i], key, 32)) {
                status = "200";
                text = "OK";
                break;
            }
        }
    } else {
        text = "CURVE required";
    }
    if (nf >= 4) {
        snprintf(address, sizeof(address), "%.*s", (int)zmq_msg_size(&f[3]),
                 (const char *)zmq_msg_data(&f[3]));
    }
    /* the first refusals and then every 1000th: a client retrying in a loop cannot flood */
    if (status[0] != '2' && (++c->refused <= 10 || c->refused % 1000 == 0)) {
        ARENA_WARN("event=ctl_auth_refused address=\"%s\" client_key=\"%s\" reason=\"%s\" "
                   "refused_total=%llu",
                   address, client, text, (unsigned long long)c->refused);
    }
    if (nf >= 2) {
        zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(c->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
        zmq_send(c->zap, status, 3, ZMQ_SNDMORE);
        zmq_send(c->zap, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(c->zap, client, strlen(client), ZMQ_SNDMORE); /* user id */
        zmq_send(c->zap, "", 0, 0);                            /* metadata */
    } else { /* malformed: the REP socket still owes an answer */
        zmq_send(c->zap, "", 0, 0);
    }
    for (int i = 0; i < nf; i++) {
        zmq_msg_close(&f[i]);
    }
}

/* ---- server --------------------------------------------------------------------------------- */

struct arena_ctl *arena_ctl_new(const char *endpoint, char *errstr, size_t errstr_size)
{
    return arena_ctl_new_curve(endpoint, NULL, errstr, errstr_size);
}

/* Bind the ZAP handler and make the REP socket a CURVE server; before the REP bind, so no
 * client can connect unauthenticated. */
static arena_err_t ctl_curve_setup(struct arena_ctl *c, const struct arena_ctl_curve *cv,
                                   char *errstr, size_t errstr_size)
{
    if (!arena_ctl_curve_available()) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_UNSUPPORTED,
                             "control socket: CURVE requested but libzmq has no CURVE");
    }
    c->zap = zmq_socket(c->zctx, ZMQ_REP);
    int linger = 0, on = 1;
    if (!c->zap || zmq_setsockopt(c->zap, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_bind(c->zap, "inproc://zeromq.zap.01") != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_SERVER, &on, sizeof(on)) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, cv->secret_key, ARENA_CTL_Z85_LEN) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_ZAP_DOMAIN, "arena", 5) != 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "control socket: CURVE: %s",
                             zmq_strerror(zmq_errno()));
    }
    c->authorized = arena_xcalloc(cv->n_authorized ? cv->n_authorized : 1, 32);
    memcpy(c->authorized, cv->authorized, cv->n_authorized * 32);
    c->n_authorized = cv->n_authorized;
    return ARENA_ERR_OK;
}

struct arena_ctl *arena_ctl_new_curve(const char *endpoint, const struct arena_ctl_curve *cv,
                                      char *errstr, size_t errstr_size)
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
    if (cv && cv->enabled && ctl_curve_setup(c, cv, errstr, errstr_size) != ARENA_ERR_OK) {
        arena_ctl_destroy(c);
        return NULL;
    }
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
    zmq_pollitem_t items[2] = {{.socket = c->sock, .events = ZMQ_POLLIN},
                               {.socket = c->zap, .events = ZMQ_POLLIN}};
    int rc = zmq_poll(items, c->zap ? 2 : 1, timeout_ms);
    if (rc < 0) {
        return zmq_errno() == EINTR ? 0 : -1;
    }
    if (c->zap && (items[1].revents & ZMQ_POLLIN)) {
        for (int i = 0; i < 64; i++) { /* handshakes first: they gate the requests */
            int ev = 0;
            size_t evl = sizeof(ev);
            if (zmq_getsockopt(c->zap, ZMQ_EVENTS, &ev, &evl) != 0 || !(ev & ZMQ_POLLIN)) {
                break;
            }
            ctl_zap_answer(c);
        }
    }
    if (rc == 0 || !(items[0].revents & ZMQ_POLLIN)) {
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
    if (c->zap) {
        zmq_close(c->zap);
    }
    free(c->authorized);
    if (c->zctx) {
        zmq_ctx_term(c->zctx);
    }
    for (size_t i = 0; i < c->n_handlers; i++) {
        free(c->handlers[i].cmd);
    }
    free(c->handlers);
    free(c);
}

/* ---- client --------------------------------------------------------------------------------- */

static struct arena_ctl_curve client_curve; /* process-wide, set once at start-up */

void arena_ctl_client_curve(const struct arena_ctl_curve *cv)
{
    ctl_wipe(&client_curve, sizeof(client_curve));
    if (cv && cv->enabled) {
        client_curve = *cv;
        client_curve.authorized = NULL; /* not a client's business */
        client_curve.n_authorized = 0;
    }
}

/* Make sock a CURVE client and watch its handshakes on a PAIR socket (*mon). */
static arena_err_t ctl_client_setup(void *zctx, void *sock, void **mon, char *errstr,
                                    size_t errstr_size)
{
    if (!client_curve.enabled) {
        *mon = NULL;
        return ARENA_ERR_OK;
    }
    char ep[64];
    snprintf(ep, sizeof(ep), "inproc://arena-ctl-monitor-%p", sock);
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, client_curve.server_public, ARENA_CTL_Z85_LEN) !=
            0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, client_curve.public_key, ARENA_CTL_Z85_LEN) !=
            0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, client_curve.secret_key, ARENA_CTL_Z85_LEN) !=
            0 ||
        zmq_socket_monitor(sock, ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "control client: CURVE: %s",
                             zmq_strerror(zmq_errno()));
    }
    *mon = zmq_socket(zctx, ZMQ_PAIR);
    int linger = 0;
    if (!*mon || zmq_setsockopt(*mon, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_connect(*mon, ep) != 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "control client monitor: %s",
                             zmq_strerror(zmq_errno()));
    }
    return ARENA_ERR_OK;
}

/* One monitor event: its id (0 = none) and value. */
static int ctl_monitor_event(void *mon, uint32_t *value)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return 0;
    }
    int ev = 0;
    if (zmq_msg_size(&m) >= 6) {
        const uint8_t *d = zmq_msg_data(&m);
        uint16_t e16;
        memcpy(&e16, d, 2);
        memcpy(value, d + 2, 4);
        ev = e16;
    }
    bool more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    while (more) { /* the endpoint frame */
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return ev;
}

/* Wait for the reply; a refused CURVE handshake ends the wait at once. */
static arena_err_t ctl_wait_reply(void *sock, void *mon, const char *cmd, const char *endpoint,
                                  int timeout_ms, char *errstr, size_t errstr_size)
{
    int64_t deadline = arena_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    bool no_detail = false;
    for (;;) {
        zmq_pollitem_t items[2] = {{.socket = sock, .events = ZMQ_POLLIN},
                                   {.socket = mon, .events = ZMQ_POLLIN}};
        int64_t left = deadline - arena_mono_ms();
        int rc = zmq_poll(items, mon ? 2 : 1, timeout_ms < 0 ? -1 : (left > 0 ? left : 0));
        if (rc < 0 && zmq_errno() != EINTR) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ, "reply to '%s' from %s: %s",
                                 cmd, endpoint, zmq_strerror(zmq_errno()));
        }
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
            return ARENA_ERR_OK;
        }
        uint32_t value = 0;
        for (int ev; mon && (ev = ctl_monitor_event(mon, &value)) != 0;) {
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ,
                                     "'%s' to %s: CURVE handshake refused by the server (status "
                                     "%u): this client's public key is not in its "
                                     "curve.authorized_keys_file",
                                     cmd, endpoint, (unsigned)value);
            }
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
                return arena_err_set(errstr, errstr_size, ARENA_ERR_ZMQ,
                                     "'%s' to %s: CURVE handshake failed (ZMTP error 0x%x): the "
                                     "server does not use CURVE, or uses another key than "
                                     "curve.server_public_key_file",
                                     cmd, endpoint, (unsigned)value);
            }
            no_detail = true;
        }
        if (timeout_ms >= 0 && arena_mono_ms() >= deadline) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_TIMEOUT,
                                 "no reply to '%s' from %s within %d ms%s", cmd, endpoint,
                                 timeout_ms,
                                 !mon        ? ""
                                 : no_detail ? " (CURVE handshake failed: check "
                                               "curve.server_public_key_file)"
                                             : " (CURVE on: is the server using CURVE and "
                                               "curve.server_public_key_file its key?)");
        }
    }
}

arena_err_t arena_ctl_request(const char *endpoint, const char *cmd, json_t *args, int timeout_ms,
                              json_t **reply, char *errstr, size_t errstr_size)
{
    arena_err_t err = ARENA_ERR_OK;
    void *zctx = NULL;
    void *sock = NULL;
    void *mon = NULL;
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
    err = ctl_client_setup(zctx, sock, &mon, errstr, errstr_size);
    if (err != ARENA_ERR_OK) {
        goto out;
    }
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
    err = ctl_wait_reply(sock, mon, cmd, endpoint, timeout_ms, errstr, errstr_size);
    if (err != ARENA_ERR_OK) {
        goto out;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
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
        if (mon) {
            zmq_socket_monitor(sock, NULL, 0);
        }
        zmq_close(sock);
    }
    if (mon) {
        zmq_close(mon);
    }
    if (zctx) {
        zmq_ctx_term(zctx);
    }
    free(text);
    json_decref(req);
    return err;
}
