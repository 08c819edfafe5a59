/* curator.h - arena-curator: turns the battles the target loses into training shards.
 * arena.battles.results (BattleResult) -> shard files in curator.shard_dir + ShardManifest on
 * arena.shards. Battles of a prompt share a partition (key = prompt_id), so per-prompt state is
 * local: each battle is stored in RocksDB with the consumer offset in the same WriteBatch; once
 * all battles_in_prompt battles of a (round, prompt) are in, curator_select() yields SFT / DPO /
 * reward-model rows, which are cut into shards of curator.shard_size rows (or after
 * curator.flush_ms without new rows), written atomically with a manifest. */
#ifndef CURATOR_H
#define CURATOR_H

#include "arena/service.h"

struct curator;

struct curator *curator_new(struct arena_service *svc, char *errstr, size_t errstr_size);
int curator_run(struct curator *c);
void curator_destroy(struct curator *c);

#endif
