/* sampler.h - arena-sampler: the prompt pool and matchmaking.
 * Consumes arena.prompts (every partition; the data pipeline decides what enters the pool) and
 * arena.battles.results (completion tracking), keeps its offsets in RocksDB in the same
 * WriteBatch as the state they change, and issues BattleRequests on arena.battles.requested
 * while fewer than sampler.max_in_flight battles are issued and not yet resulted.
 * A single active instance. */
#ifndef SAMPLER_H
#define SAMPLER_H

#include "arena/service.h"

struct sampler;

struct sampler *sampler_new(struct arena_service *svc, char *errstr, size_t errstr_size);
int sampler_run(struct sampler *s);
void sampler_destroy(struct sampler *s);

#endif
