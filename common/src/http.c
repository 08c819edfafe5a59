/* http.c - the ops HTTP server (libmicrohttpd with its own polling thread).
 * We bind the listening socket ourselves (so port 0 works and arena_http_port() can report the
 * real port) and hand it to MHD with MHD_OPTION_LISTEN_SOCKET; MHD closes it on stop.
 * The raw request URI is captured with MHD_OPTION_URI_LOG_CALLBACK so handlers get the query
 * string verbatim. Readiness and heartbeat are atomics written by the service loop. */
#include "arena/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "arena/err.h"
#include "arena/log.h"
#include "arena/metrics.h"

#define HTTP_HEARTBEAT_STALE_MS 30000
#define HTTP_MAX_ROUTES 32

struct http_route {
    char *path;
    arena_http_handler *fn;
    void *ctx;
};

struct arena_http {
    struct MHD_Daemon *d;
    struct arena_metrics *metrics; /* borrowed */
    int port;
    pthread_mutex_t lock; /* routes */
    struct http_route routes[HTTP_MAX_ROUTES];
    size_t n_routes;
    atomic_bool ready;
    _Atomic int64_t heartbeat_ms;
};

/* "host:port" -> IPv4 address; host may be empty (any), "localhost", or dotted quad. */
static arena_err_t parse_listen(const char *addr, struct sockaddr_in *sa, char *errstr,
                                size_t errstr_size)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (!colon) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "http listen address '%s': expected host:port",
                             addr ? addr : "(null)");
    }
    char host[64];
    size_t hlen = (size_t)(colon - addr);
    if (hlen >= sizeof(host)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "http listen address '%s': host too long", addr);
    }
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno || port < 0 || port > 65535) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "http listen address '%s': port must be 0..65535", addr);
    }
    sa->sin_port = htons((uint16_t)port);
    if (hlen == 0 || !strcmp(host, "*")) {
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (!strcmp(host, "localhost")) {
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_CONFIG,
                             "http listen address '%s': host must be an IPv4 address or "
                             "'localhost'",
                             addr);
    }
    return ARENA_ERR_OK;
}

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)cls;
    (void)con;
    return arena_xstrdup(uri ? uri : "");
}

static void completed_cb(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result send_text(struct MHD_Connection *con, unsigned status, char *body,
                                 size_t len, const char *content_type)
{
    struct MHD_Response *resp;
    if (body) {
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET");
    }
    enum MHD_Result r = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_str(struct MHD_Connection *con, unsigned status, const char *s)
{
    return send_text(con, status, arena_xstrdup(s), strlen(s), "text/plain; charset=utf-8");
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct arena_http *h = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        return send_str(con, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: only GET\n");
    }
    const char *raw = *con_cls;
    const char *q = raw ? strchr(raw, '?') : NULL;
    const char *query = q ? q + 1 : "";

    if (!strcmp(url, "/metrics")) {
        char *text = arena_metrics_render(h->metrics);
        size_t len = text ? strlen(text) : 0;
        return send_text(con, MHD_HTTP_OK, text, len, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (!strcmp(url, "/healthz")) {
        int64_t age = arena_mono_ms() - atomic_load(&h->heartbeat_ms);
        if (age > HTTP_HEARTBEAT_STALE_MS) {
            char msg[128];
            snprintf(msg, sizeof(msg), "stale: main loop silent for %lld ms\n", (long long)age);
            return send_str(con, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
        }
        return send_str(con, MHD_HTTP_OK, "ok\n");
    }
    if (!strcmp(url, "/readyz")) {
        if (atomic_load(&h->ready)) {
            return send_str(con, MHD_HTTP_OK, "ready\n");
        }
        return send_str(con, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
    }

    arena_http_handler *fn = NULL;
    void *ctx = NULL;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->n_routes; i++) {
        if (!strcmp(h->routes[i].path, url)) {
            fn = h->routes[i].fn;
            ctx = h->routes[i].ctx;
            break;
        }
    }
    pthread_mutex_unlock(&h->lock);
    if (!fn) {
        return send_str(con, MHD_HTTP_NOT_FOUND, "not found\n");
    }
    struct arena_buf body;
    arena_buf_init(&body);
    const char *content_type = "text/plain; charset=utf-8";
    int status = fn(ctx, url, query, &body, &content_type);
    if (status < 100 || status > 599) {
        ARENA_ERROR("event=http_handler_bad_status path=%s status=%d", url, status);
        arena_buf_fini(&body);
        return send_str(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
    }
    size_t len = 0;
    char *data = body.len ? arena_buf_steal(&body, &len) : NULL;
    arena_buf_fini(&body);
    return send_text(con, (unsigned)status, data, len,
                     content_type ? content_type : "application/octet-stream");
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    for (char *p = msg; *p; p++) {
        if (*p == '"') {
            *p = '\'';
        }
    }
    ARENA_WARN("event=http_error msg=\"%s\"", msg);
}

struct arena_http *arena_http_start(const char *addr, struct arena_metrics *metrics, char *errstr,
                                    size_t errstr_size)
{
    struct sockaddr_in sa;
    if (parse_listen(addr, &sa, errstr, errstr_size) != ARENA_ERR_OK) {
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "http: socket: %s", strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "http: cannot listen on %s: %s", addr,
                      strerror(errno));
        close(fd);
        return NULL;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_IO, "http: getsockname: %s", strerror(errno));
        close(fd);
        return NULL;
    }

    struct arena_http *h = arena_xcalloc(1, sizeof(*h));
    h->metrics = metrics;
    h->port = ntohs(bound.sin_port);
    pthread_mutex_init(&h->lock, NULL);
    atomic_init(&h->ready, false);
    atomic_init(&h->heartbeat_ms, arena_mono_ms());

    /* MHD_USE_AUTO picks epoll/poll: select() cannot watch descriptors >= FD_SETSIZE, which a
     * generator with 1024 model calls in flight already has, and /healthz must keep answering */
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0,
                            NULL, NULL, access_cb, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_URI_LOG_CALLBACK,
                            uri_log_cb, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64, MHD_OPTION_END);
    if (!h->d) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_HTTP,
                      "http: libmicrohttpd failed to start on %s", addr);
        /* fd is not closed here: MHD may already have closed it on its failure path */
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    return h;
}

void arena_http_route(struct arena_http *h, const char *path, arena_http_handler *fn, void *ctx)
{
    if (!h || !path || !fn) {
        return;
    }
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->n_routes; i++) {
        if (!strcmp(h->routes[i].path, path)) {
            h->routes[i].fn = fn;
            h->routes[i].ctx = ctx;
            pthread_mutex_unlock(&h->lock);
            return;
        }
    }
    if (h->n_routes == HTTP_MAX_ROUTES) {
        pthread_mutex_unlock(&h->lock);
        ARENA_ERROR("event=http_route_rejected path=%s reason=\"more than %d routes\"", path,
                    HTTP_MAX_ROUTES);
        return;
    }
    h->routes[h->n_routes].path = arena_xstrdup(path);
    h->routes[h->n_routes].fn = fn;
    h->routes[h->n_routes].ctx = ctx;
    h->n_routes++;
    pthread_mutex_unlock(&h->lock);
}

void arena_http_set_ready(struct arena_http *h, bool ready)
{
    if (h) {
        atomic_store(&h->ready, ready);
    }
}

void arena_http_heartbeat(struct arena_http *h)
{
    if (h) {
        atomic_store(&h->heartbeat_ms, arena_mono_ms());
    }
}

int arena_http_port(const struct arena_http *h)
{
    return h ? h->port : -1;
}

void arena_http_stop(struct arena_http *h)
{
    if (!h) {
        return;
    }
    if (h->d) {
        MHD_stop_daemon(h->d); /* joins the thread, closes the listening socket */
    }
    for (size_t i = 0; i < h->n_routes; i++) {
        free(h->routes[i].path);
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}
