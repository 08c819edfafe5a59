/* service.c - the frame every arena service shares: command line, config, logging, signals,
 * metrics, the ops HTTP server, the control socket (status/pause/resume) and the DLQ. */
#include "arena/service.h"

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena/log.h"
#include "arena/topics.h"
#include "arena/util.h"

#define SERVICE_DEFAULT_GRACE_MS 10000

volatile sig_atomic_t arena_stop_requested = 0;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (arena_stop_requested) {
        _exit(130); /* second signal: the operator means it */
    }
    arena_stop_requested = 1;
}

void arena_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);
}

static void usage(FILE *out, const char *name)
{
    fprintf(out,
            "usage: arena-%s [--config FILE] [--set section.key=value]... [--print-config]\n"
            "       [--log-level debug|info|warn|error] [--help]\n\n"
            "  --config FILE        arena.yaml to load (default: $ARENA_CONFIG, else defaults)\n"
            "  --set KEY=VALUE      override one key, e.g. --set %s.max_in_flight=8\n"
            "                       (repeatable; wins over the file and ARENA_* variables)\n"
            "  --print-config       print the effective config (secrets redacted) and exit\n"
            "  --help-config        print every config key (type, default, meaning) and exit\n"
            "  --log-level LEVEL    debug, info, warn or error (overrides log_level)\n"
            "  --help               this text\n",
            name, name);
}

static const char *service_state(const struct arena_service *svc)
{
    if (arena_stop_requested) {
        return "stopping";
    }
    if (svc->paused) {
        return "paused";
    }
    return svc->ready ? "running" : "starting";
}

static json_t *ctl_status(void *ctx, const char *cmd, json_t *args)
{
    struct arena_service *svc = ctx;
    (void)cmd;
    (void)args;
    json_t *r = json_object();
    json_object_set_new(r, "ok", json_true());
    json_object_set_new(r, "service", json_string(svc->name));
    json_object_set_new(r, "state", json_string(service_state(svc)));
    json_object_set_new(r, "uptime_s",
                        json_integer((json_int_t)((arena_mono_ms() - svc->started_ms) / 1000)));
    json_object_set_new(r, "paused", json_boolean(svc->paused));
    json_object_set_new(r, "ready", json_boolean(svc->ready));
    json_object_set_new(r, "last_error", json_string(svc->last_error));
    json_object_set_new(r, "dlq", json_integer((json_int_t)svc->dlq_count));
    if (svc->http) {
        json_object_set_new(r, "http_port", json_integer(arena_http_port(svc->http)));
    }
    if (svc->status_fn) {
        json_t *extra = svc->status_fn(svc->status_ctx);
        if (json_is_object(extra)) {
            json_object_update(r, extra);
        }
        json_decref(extra);
    }
    return r;
}

static void set_paused(struct arena_service *svc, bool paused)
{
    if (svc->paused != paused) {
        ARENA_INFO("event=%s source=control", paused ? "paused" : "resumed");
    }
    svc->paused = paused;
    arena_metric_set(arena_metrics_gauge(svc->metrics, "arena_paused",
                                         "1 when paused via the control socket", ""),
                     paused ? 1.0 : 0.0);
}

static json_t *ctl_pause(void *ctx, const char *cmd, json_t *args)
{
    struct arena_service *svc = ctx;
    (void)args;
    set_paused(svc, !strcmp(cmd, "pause"));
    return json_pack("{s:b,s:s,s:b}", "ok", 1, "service", svc->name, "paused", svc->paused);
}

/* Fetch the value of an option given as "--opt VALUE" or "--opt=VALUE". */
static int opt_value(int argc, char **argv, int *i, const char *opt, const char **value)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0) {
        return 0;
    }
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int arena_service_init(struct arena_service *svc, const char *name, int argc, char **argv)
{
    char errstr[512];
    const char *config_path = getenv("ARENA_CONFIG");
    const char *log_level = NULL;
    bool print_config = false;
    const char **sets = arena_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*sets));
    size_t n_sets = 0;
    int rc = 0;

    memset(svc, 0, sizeof(*svc));
    svc->name = name;
    svc->started_ms = arena_mono_ms();

    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout, name);
            rc = 1;
            goto out;
        } else if (!strcmp(argv[i], "--print-config")) {
            print_config = true;
        } else if (!strcmp(argv[i], "--help-config")) {
            char *ref = arena_config_reference();
            fputs(ref, stdout);
            free(ref);
            rc = 1;
            goto out;
        } else if ((r = opt_value(argc, argv, &i, "--config", &v)) != 0) {
            if (r < 0) {
                goto missing;
            }
            config_path = v;
        } else if ((r = opt_value(argc, argv, &i, "--set", &v)) != 0) {
            if (r < 0) {
                goto missing;
            }
            sets[n_sets++] = v;
        } else if ((r = opt_value(argc, argv, &i, "--log-level", &v)) != 0) {
            if (r < 0) {
                goto missing;
            }
            log_level = v;
        } else {
            fprintf(stderr, "arena-%s: unknown option '%s' (see --help)\n", name, argv[i]);
            rc = 3;
            goto out;
        }
        continue;
    missing:
        fprintf(stderr, "arena-%s: option '%s' needs a value (see --help)\n", name, argv[i]);
        rc = 3;
        goto out;
    }

    if (config_path && !*config_path) {
        config_path = NULL;
    }
    svc->cfg = arena_config_load(config_path, errstr, sizeof(errstr));
    if (!svc->cfg) {
        fprintf(stderr, "arena-%s: %s\n", name, errstr);
        rc = 3;
        goto out;
    }
    for (size_t s = 0; s < n_sets; s++) {
        if (arena_config_set(svc->cfg, sets[s], errstr, sizeof(errstr)) != ARENA_ERR_OK) {
            fprintf(stderr, "arena-%s: --set %s: %s\n", name, sets[s], errstr);
            rc = 3;
            goto out;
        }
    }
    if (arena_config_validate(svc->cfg, errstr, sizeof(errstr)) != ARENA_ERR_OK) {
        fprintf(stderr, "arena-%s: %s\n", name, errstr);
        rc = 3;
        goto out;
    }
    if (print_config) {
        char *dump = arena_config_dump(svc->cfg);
        fputs(dump ? dump : "", stdout);
        fflush(stdout);
        free(dump);
        rc = 1;
        goto out;
    }

    arena_log_init(name);
    if (!log_level && svc->cfg->log_level && *svc->cfg->log_level) {
        log_level = svc->cfg->log_level;
    }
    if (log_level && arena_log_set_level_name(log_level) != 0) {
        fprintf(stderr, "arena-%s: log level '%s': expected debug, info, warn or error\n", name,
                log_level);
        rc = 3;
        goto out;
    }
    arena_signals_install();
    svc->svc = arena_config_svc(svc->cfg, name);
    svc->metrics = arena_metrics_new(name);
    arena_metric_set(arena_metrics_gauge(svc->metrics, "arena_paused",
                                         "1 when paused via the control socket", ""),
                     0.0);

    if (svc->svc && svc->svc->http_listen && *svc->svc->http_listen) {
        svc->http = arena_http_start(svc->svc->http_listen, svc->metrics, errstr, sizeof(errstr));
        if (!svc->http) {
            fprintf(stderr, "arena-%s: %s.http_listen: %s\n", name, name, errstr);
            rc = 3;
            goto out;
        }
        const char *colon = strrchr(svc->svc->http_listen, ':');
        int hlen = (int)(colon - svc->svc->http_listen);
        ARENA_INFO("event=http_listening addr=%.*s:%d", hlen, svc->svc->http_listen,
                   arena_http_port(svc->http));
    }
    if (svc->svc && svc->svc->control && *svc->svc->control) {
        struct arena_ctl_curve cv = {0};
        const char *sk = svc->cfg->curve.server_secret_key_file;
        if (sk && *sk &&
            arena_ctl_curve_server_init(&cv, sk, svc->cfg->curve.authorized_keys_file, errstr,
                                        sizeof(errstr)) != ARENA_ERR_OK) {
            fprintf(stderr, "arena-%s: %s\n", name, errstr);
            rc = 3;
            goto out;
        }
        svc->ctl = arena_ctl_new_curve(svc->svc->control, &cv, errstr, sizeof(errstr));
        arena_ctl_curve_fini(&cv);
        if (!svc->ctl) {
            fprintf(stderr, "arena-%s: %s.control: %s\n", name, name, errstr);
            rc = 3;
            goto out;
        }
        arena_ctl_register(svc->ctl, "status", ctl_status, svc);
        arena_ctl_register(svc->ctl, "pause", ctl_pause, svc);
        arena_ctl_register(svc->ctl, "resume", ctl_pause, svc);
        ARENA_INFO("event=control_listening endpoint=%s curve=%s", arena_ctl_endpoint(svc->ctl),
                   sk && *sk ? "on" : "off");
    }
out:
    free(sets);
    if (rc != 0) {
        arena_service_fini(svc);
        svc->name = name;
    }
    return rc;
}

void arena_service_fini(struct arena_service *svc)
{
    if (!svc) {
        return;
    }
    arena_ctl_destroy(svc->ctl);
    arena_http_stop(svc->http);
    arena_metrics_destroy(svc->metrics);
    arena_config_destroy(svc->cfg);
    svc->ctl = NULL;
    svc->http = NULL;
    svc->metrics = NULL;
    svc->cfg = NULL;
    svc->svc = NULL;
}

static void note_stop(struct arena_service *svc)
{
    if (arena_stop_requested && svc->stop_deadline_ms == 0) {
        int64_t grace =
            svc->svc && svc->svc->grace_ms > 0 ? svc->svc->grace_ms : SERVICE_DEFAULT_GRACE_MS;
        svc->stop_deadline_ms = arena_mono_ms() + grace;
        arena_http_set_ready(svc->http, false);
        ARENA_INFO("event=stopping grace_ms=%lld", (long long)grace);
    }
}

void arena_service_tick(struct arena_service *svc)
{
    note_stop(svc);
    if (svc->ctl) {
        arena_ctl_poll(svc->ctl, 0);
    }
    arena_http_heartbeat(svc->http);
}

bool arena_service_stopping(const struct arena_service *svc)
{
    if (!arena_stop_requested) {
        return false;
    }
    /* The deadline is bookkeeping on a caller-owned, non-const object (see service.h). */
    note_stop((struct arena_service *)svc);
    return true;
}

bool arena_service_grace_expired(struct arena_service *svc)
{
    if (!arena_stop_requested) {
        return false;
    }
    note_stop(svc);
    return arena_mono_ms() >= svc->stop_deadline_ms;
}

void arena_service_set_ready(struct arena_service *svc, bool ready)
{
    if (svc->ready != ready) {
        ARENA_INFO("event=%s", ready ? "ready" : "not_ready");
    }
    svc->ready = ready;
    arena_http_set_ready(svc->http, ready && !arena_stop_requested);
}

/* logfmt-safe copy: double quotes become single quotes, control characters spaces. */
static void logfmt_sanitize(char *s)
{
    for (; *s; s++) {
        if (*s == '"') {
            *s = '\'';
        } else if ((unsigned char)*s < 0x20) {
            *s = ' ';
        }
    }
}

void arena_service_error(struct arena_service *svc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(svc->last_error, sizeof(svc->last_error), fmt, ap);
    va_end(ap);
    char copy[sizeof(svc->last_error)];
    memcpy(copy, svc->last_error, sizeof(copy));
    logfmt_sanitize(copy);
    ARENA_ERROR("event=service_error error=\"%s\"", copy);
}

arena_err_t arena_service_dlq(struct arena_service *svc, struct arena_producer *p,
                              const struct arena_msg *m, arena_err_t err, const char *reason)
{
    if (!svc || !p || !m) {
        return ARENA_ERR_INVALID;
    }
    const char *topic = m->topic ? m->topic : "";
    char partition[16];
    char offset[24];
    snprintf(partition, sizeof(partition), "%d", (int)m->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)m->offset);
    char *error = arena_xasprintf("%s: %s", arena_err_name(err), reason ? reason : "");
    const char *const headers[] = {
        ARENA_HDR_DLQ_TOPIC,
        topic,
        ARENA_HDR_DLQ_PARTITION,
        partition,
        ARENA_HDR_DLQ_OFFSET,
        offset,
        ARENA_HDR_DLQ_SERVICE,
        svc->name ? svc->name : "",
        ARENA_HDR_DLQ_ERROR,
        error,
        NULL,
    };
    arena_err_t rc = arena_producer_send(p, ARENA_TOPIC_DLQ, -1, m->key, m->key_len, m->value,
                                         m->value_len, NULL, headers, NULL);

    char reason_label[32];
    snprintf(reason_label, sizeof(reason_label), "%s", arena_err_name(err));
    for (char *c = reason_label; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    char topic_esc[256];
    arena_metrics_label(topic, topic_esc, sizeof(topic_esc));
    logfmt_sanitize(error);
    if (rc != ARENA_ERR_OK) {
        arena_service_error(svc, "dlq produce failed for %s[%d]@%lld: %s", topic, (int)m->partition,
                            (long long)m->offset, arena_err_str(rc));
        free(error);
        return rc;
    }
    svc->dlq_count++;
    arena_metrics_incf(svc->metrics, "arena_dlq_messages_total", "input messages sent to arena.dlq",
                       1.0, "topic=\"%s\",reason=\"%s\"", topic_esc, reason_label);
    ARENA_WARN("event=dlq topic=%s partition=%d offset=%lld reason=\"%s\"", topic,
               (int)m->partition, (long long)m->offset, error);
    free(error);
    return ARENA_ERR_OK;
}
