/* arena-curator: turns lost battles into training shards. */
#include <stdio.h>

#include "arena/log.h"
#include "arena/service.h"
#include "curator.h"

int main(int argc, char **argv)
{
    struct arena_service svc;
    char errstr[512];
    int rc = arena_service_init(&svc, "curator", argc, argv);
    if (rc != 0) {
        return rc - 1;
    }
    struct curator *c = curator_new(&svc, errstr, sizeof(errstr));
    if (!c) {
        ARENA_ERROR("event=start_failed err=\"%s\"", errstr);
        arena_service_fini(&svc);
        return 1;
    }
    rc = curator_run(c);
    curator_destroy(c);
    arena_service_fini(&svc);
    return rc;
}
