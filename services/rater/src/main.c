/* arena-rater: the live WizardArena leaderboard. */
#include <stdio.h>

#include "arena/log.h"
#include "arena/service.h"
#include "rater.h"

int main(int argc, char **argv)
{
    struct arena_service svc;
    char errstr[512];
    int rc = arena_service_init(&svc, "rater", argc, argv);
    if (rc != 0) {
        return rc - 1;
    }
    struct rater *r = rater_new(&svc, errstr, sizeof(errstr));
    if (!r) {
        ARENA_ERROR("event=start_failed err=\"%s\"", errstr);
        arena_service_fini(&svc);
        return 1;
    }
    rc = rater_run(r);
    rater_destroy(r);
    arena_service_fini(&svc);
    return rc;
}
