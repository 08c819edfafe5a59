/* arena-judge: scores every generated battle in both position orders. */
#include <stdio.h>

#include "arena/log.h"
#include "arena/service.h"
#include "judge.h"

int main(int argc, char **argv)
{
    struct arena_service svc;
    char errstr[512];
    int rc = arena_service_init(&svc, "judge", argc, argv);
    if (rc != 0) {
        return rc - 1;
    }
    struct judge *j = judge_new(&svc, errstr, sizeof(errstr));
    if (!j) {
        ARENA_ERROR("event=start_failed err=\"%s\"", errstr);
        arena_service_fini(&svc);
        return 1;
    }
    rc = judge_run(j);
    judge_destroy(j);
    arena_service_fini(&svc);
    return rc;
}
