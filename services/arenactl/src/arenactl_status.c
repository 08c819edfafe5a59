/* placeholder until the subcommand lands */
#include <stdio.h>

#include "arenactl.h"

int arenactl_status(const struct arena_config *cfg, int argc, char **argv)
{
    (void)cfg;
    (void)argc;
    (void)argv;
    fprintf(stderr, "arenactl status: not built yet\n");
    return 1;
}
