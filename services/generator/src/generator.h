/* generator.h - arena-generator: answers both sides of every requested battle.
 * arena.battles.requested (BattleRequest) -> arena.battles.generated (GeneratedBattle).
 * Responses are cached in RocksDB keyed by (model, conversation, sampling params), so a replayed
 * request costs no model call and yields byte-identical output. At-least-once (arena_worker). */
#ifndef GENERATOR_H
#define GENERATOR_H

#include "arena/service.h"

struct generator;

struct generator *generator_new(struct arena_service *svc, char *errstr, size_t errstr_size);
int generator_run(struct generator *g);
void generator_destroy(struct generator *g);

#endif
