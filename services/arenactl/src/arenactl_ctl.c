/* arenactl ctl - send one raw control command to a service and print the JSON reply.
 *   arenactl ctl SERVICE|ENDPOINT '{"cmd":"battle_ids","path":"/tmp/ids.txt"}'
 * SERVICE is a section name (sampler, generator, judge, rater, curator) whose `control` key
 * gives the endpoint. Exit 0 when the reply has "ok": true. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/ctl.h"
#include "arenactl.h"

int arenactl_ctl(const struct arena_config *cfg, int argc, char **argv)
{
    if (argc != 3 || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr, "usage: arenactl ctl SERVICE|ENDPOINT JSON\n"
                                             "  e.g. arenactl ctl rater '{\"cmd\":\"status\"}'\n");
        return argc == 2 ? 0 : 2;
    }
    const char *ep = argv[1];
    if (!strstr(ep, "://")) {
        const struct arena_svc_cfg *svc = arena_config_svc(cfg, ep);
        if (!svc || !svc->control || !*svc->control) {
            fprintf(stderr, "arenactl ctl: no control endpoint configured for '%s'\n", ep);
            return 2;
        }
        ep = svc->control;
    }
    json_error_t jerr;
    json_t *req = json_loads(argv[2], 0, &jerr);
    if (!req || !json_is_object(req) || !json_is_string(json_object_get(req, "cmd"))) {
        fprintf(stderr, "arenactl ctl: expected a JSON object with a \"cmd\" string: %s\n",
                req ? "no cmd" : jerr.text);
        json_decref(req);
        return 2;
    }
    json_t *reply = NULL;
    char errstr[256];
    arena_err_t err = arena_ctl_request(ep, json_string_value(json_object_get(req, "cmd")), req,
                                        10000, &reply, errstr, sizeof(errstr));
    json_decref(req);
    if (err != ARENA_ERR_OK) {
        fprintf(stderr, "arenactl ctl: %s\n", errstr);
        return 1;
    }
    char *text = json_dumps(reply, JSON_COMPACT);
    printf("%s\n", text);
    free(text);
    int ok = json_is_true(json_object_get(reply, "ok"));
    json_decref(reply);
    return ok ? 0 : 1;
}
