/* arenactl_status.c - `arenactl status|pause|resume`: talk to each service's ZeroMQ control
 * socket (endpoints from the config's <service>.control keys, or --endpoints). A service that
 * does not answer within the timeout is shown as "down"; nothing here blocks longer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/ctl.h"
#include "arena/util.h"
#include "arenactl.h"

#define ST_MAX 32

struct endpoint {
    char name[64];
    char ep[256];
};

static const char *const services[] = {"sampler", "generator", "judge", "rater", "curator"};

/* "name=tcp://...,name=tcp://..." */
static int parse_endpoints(const char *spec, struct endpoint *out, size_t max, const char *cmd)
{
    int n = 0;
    char *copy = arena_xstrdup(spec);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1] || (size_t)n >= max ||
            (size_t)(eq - tok) >= sizeof(out[0].name) || strlen(eq + 1) >= sizeof(out[0].ep)) {
            fprintf(stderr, "arenactl %s: --endpoints: expected name=endpoint[,...], got '%s'\n",
                    cmd, tok);
            free(copy);
            return -1;
        }
        *eq = '\0';
        snprintf(out[n].name, sizeof(out[n].name), "%s", tok);
        snprintf(out[n].ep, sizeof(out[n].ep), "%s", eq + 1);
        n++;
    }
    free(copy);
    return n;
}

static int config_endpoints(const struct arena_config *cfg, struct endpoint *out)
{
    int n = 0;
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        const struct arena_svc_cfg *s = arena_config_svc(cfg, services[i]);
        if (s && s->control && *s->control) {
            snprintf(out[n].name, sizeof(out[n].name), "%s", services[i]);
            snprintf(out[n].ep, sizeof(out[n].ep), "%s", s->control);
            n++;
        }
    }
    return n;
}

static bool is_core_key(const char *k)
{
    static const char *const core[] = {"ok",         "service",   "state", "paused",
                                       "last_error", "in_flight", "lag"};
    for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
        if (!strcmp(core[i], k)) {
            return true;
        }
    }
    return false;
}

static void cell(char *out, size_t n, json_t *v)
{
    if (!v || json_is_null(v)) {
        snprintf(out, n, "-");
    } else if (json_is_string(v)) {
        snprintf(out, n, "%s", *json_string_value(v) ? json_string_value(v) : "-");
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, n, "%s", t ? t : "?");
        free(t);
    }
}

static void status_usage(FILE *out)
{
    fprintf(out, "usage: arenactl status [--endpoints name=tcp://HOST:PORT,...] [--json] "
                 "[--timeout-ms T]\n"
                 "  endpoints default to the config's <service>.control keys (empty = skipped)\n"
                 "  exit code 1 when a service is down\n");
}

int arenactl_status(const struct arena_config *cfg, int argc, char **argv)
{
    struct endpoint eps[ST_MAX];
    int n = -2;
    bool as_json = false;
    int timeout_ms = 1000;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            status_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            as_json = true;
        } else if (!strcmp(argv[i], "--endpoints") && i + 1 < argc) {
            n = parse_endpoints(argv[++i], eps, ST_MAX, "status");
            if (n < 0) {
                return 2;
            }
        } else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
            timeout_ms = atoi(argv[++i]);
            if (timeout_ms <= 0) {
                fprintf(stderr, "arenactl status: --timeout-ms: expected a positive integer\n");
                return 2;
            }
        } else {
            fprintf(stderr, "arenactl status: unexpected argument '%s'\n", argv[i]);
            status_usage(stderr);
            return 2;
        }
    }
    if (n == -2) {
        n = config_endpoints(cfg, eps);
    }
    if (n == 0) {
        fprintf(stderr, "arenactl status: no control endpoints (set <service>.control in the "
                        "config or pass --endpoints)\n");
        return 1;
    }

    json_t *all = json_array();
    int down = 0;
    if (!as_json) {
        printf("%-10s %-8s %9s %9s  %-40s %s\n", "SERVICE", "STATE", "IN-FLIGHT", "LAG",
               "LAST ERROR", "DETAILS");
    }
    for (int i = 0; i < n; i++) {
        char errstr[512];
        json_t *reply = NULL;
        arena_err_t err = arena_ctl_request(eps[i].ep, "status", NULL, timeout_ms, &reply, errstr,
                                            sizeof(errstr));
        const char *state = "down";
        if (err == ARENA_ERR_OK && json_is_true(json_object_get(reply, "ok"))) {
            state = json_is_true(json_object_get(reply, "paused")) ? "paused" : "up";
        } else if (err == ARENA_ERR_OK) {
            snprintf(errstr, sizeof(errstr), "%s",
                     json_string_value(json_object_get(reply, "error"))
                         ? json_string_value(json_object_get(reply, "error"))
                         : "status refused");
        }
        if (!strcmp(state, "down")) {
            down++;
        }
        json_t *row = json_pack("{s:s,s:s,s:s}", "service", eps[i].name, "endpoint", eps[i].ep,
                                "state", state);
        if (!strcmp(state, "down")) {
            json_object_set_new(row, "error", json_string(errstr));
        }
        json_object_set(row, "status", reply ? reply : json_null());

        if (!as_json) {
            char inflight[32], lag[32], lasterr[256];
            cell(inflight, sizeof(inflight), json_object_get(reply, "in_flight"));
            cell(lag, sizeof(lag), json_object_get(reply, "lag"));
            if (!strcmp(state, "down")) {
                snprintf(lasterr, sizeof(lasterr), "%.200s", errstr);
            } else {
                cell(lasterr, sizeof(lasterr), json_object_get(reply, "last_error"));
            }
            if (strlen(lasterr) > 40) {
                memcpy(lasterr + 37, "...", 4);
            }
            struct arena_buf details;
            arena_buf_init(&details);
            arena_buf_puts(&details, "");
            const char *st = json_string_value(json_object_get(reply, "state"));
            if (st && strcmp(st, "running") != 0 && strcmp(st, "paused") != 0) {
                arena_buf_printf(&details, "state=%s", st);
            }
            const char *k;
            json_t *v;
            json_object_foreach(reply, k, v)
            {
                if (is_core_key(k)) {
                    continue;
                }
                char val[128];
                cell(val, sizeof(val), v);
                arena_buf_printf(&details, "%s%s=%s", details.len ? " " : "", k, val);
            }
            printf("%-10s %-8s %9s %9s  %-40s %s\n", eps[i].name, state, inflight, lag, lasterr,
                   details.data);
            arena_buf_fini(&details);
        }
        json_array_append_new(all, row);
        json_decref(reply);
    }
    if (as_json) {
        char *text = json_dumps(all, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
    }
    json_decref(all);
    return down > 0 ? 1 : 0;
}

static int pause_resume(const struct arena_config *cfg, int argc, char **argv, const char *cmd)
{
    const char *service = NULL;
    const char *endpoint = NULL;
    int timeout_ms = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: arenactl %s SERVICE [--endpoint tcp://HOST:PORT] [--timeout-ms T]\n"
                   "  SERVICE: sampler, generator, judge, rater or curator; the endpoint defaults "
                   "to <service>.control\n",
                   cmd);
            return 0;
        } else if (!strcmp(argv[i], "--endpoint") && i + 1 < argc) {
            endpoint = argv[++i];
        } else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
            timeout_ms = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && !service) {
            service = argv[i];
        } else {
            fprintf(stderr, "arenactl %s: unexpected argument '%s'\n", cmd, argv[i]);
            return 2;
        }
    }
    if (!service) {
        fprintf(stderr, "usage: arenactl %s SERVICE [--endpoint tcp://HOST:PORT]\n", cmd);
        return 2;
    }
    if (timeout_ms <= 0) {
        fprintf(stderr, "arenactl %s: --timeout-ms: expected a positive integer\n", cmd);
        return 2;
    }
    if (!endpoint) {
        const struct arena_svc_cfg *s = arena_config_svc(cfg, service);
        if (!s) {
            fprintf(stderr,
                    "arenactl %s: unknown service '%s' (sampler, generator, judge, rater, "
                    "curator)\n",
                    cmd, service);
            return 2;
        }
        if (!s->control || !*s->control) {
            fprintf(stderr, "arenactl %s: %s.control is empty: no control socket configured\n", cmd,
                    service);
            return 1;
        }
        endpoint = s->control;
    }
    char errstr[512];
    json_t *reply = NULL;
    arena_err_t err =
        arena_ctl_request(endpoint, cmd, NULL, timeout_ms, &reply, errstr, sizeof(errstr));
    if (err != ARENA_ERR_OK) {
        fprintf(stderr, "arenactl %s: %s is down: %s\n", cmd, service, errstr);
        return 1;
    }
    char *text = json_dumps(reply, JSON_COMPACT);
    printf("%s\n", text);
    free(text);
    int rc = json_is_true(json_object_get(reply, "ok")) ? 0 : 1;
    json_decref(reply);
    return rc;
}

int arenactl_pause(const struct arena_config *cfg, int argc, char **argv)
{
    return pause_resume(cfg, argc, argv, "pause");
}

int arenactl_resume(const struct arena_config *cfg, int argc, char **argv)
{
    return pause_resume(cfg, argc, argv, "resume");
}
