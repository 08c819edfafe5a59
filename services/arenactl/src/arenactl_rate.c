/* placeholder until the subcommand lands */
#include <stdio.h>

#include "arenactl.h"

int arenactl_rate(const struct arena_config *cfg, int argc, char **argv)
{
    (void)cfg;
    (void)argc;
    (void)argv;
    fprintf(stderr, "arenactl rate: not built yet\n");
    return 1;
}
