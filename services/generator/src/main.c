/* arena-generator: answers both sides of every requested battle. */
#include <stdio.h>

#include "arena/log.h"
#include "arena/service.h"
#include "generator.h"

int main(int argc, char **argv)
{
    struct arena_service svc;
    char errstr[512];
    int rc = arena_service_init(&svc, "generator", argc, argv);
    if (rc != 0) {
        return rc - 1;
    }
    struct generator *g = generator_new(&svc, errstr, sizeof(errstr));
    if (!g) {
        ARENA_ERROR("event=start_failed err=\"%s\"", errstr);
        arena_service_fini(&svc);
        return 1;
    }
    rc = generator_run(g);
    generator_destroy(g);
    arena_service_fini(&svc);
    return rc;
}
