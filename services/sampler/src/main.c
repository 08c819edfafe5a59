/* arena-sampler: the prompt pool and matchmaking. */
#include <stdio.h>

#include "arena/log.h"
#include "arena/service.h"
#include "sampler.h"

int main(int argc, char **argv)
{
    struct arena_service svc;
    char errstr[512];
    int rc = arena_service_init(&svc, "sampler", argc, argv);
    if (rc != 0) {
        return rc - 1;
    }
    struct sampler *s = sampler_new(&svc, errstr, sizeof(errstr));
    if (!s) {
        ARENA_ERROR("event=start_failed err=\"%s\"", errstr);
        arena_service_fini(&svc);
        return 1;
    }
    rc = sampler_run(s);
    sampler_destroy(s);
    arena_service_fini(&svc);
    return rc;
}
