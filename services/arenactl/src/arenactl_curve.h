/* arenactl_curve.h - `arenactl curve`: CURVE keypairs for the control sockets
 * (arenactl_curve.c), and the client security arenactl applies from `curve:` at start-up. */
#ifndef ARENACTL_CURVE_H
#define ARENACTL_CURVE_H

#include "arena/config.h"

/* keygen --out DIR [--name NAME] [--force] | public FILE; returns the exit code */
int arenactl_curve(const struct arena_config *cfg, int argc, char **argv);

/* Make every control request of this process use CURVE when curve.client_secret_key_file is
 * set. 0, or -1 after printing the config error. */
int arenactl_curve_client_setup(const struct arena_config *cfg);

#endif
