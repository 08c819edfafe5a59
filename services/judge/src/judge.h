/* judge.h - arena-judge: scores every generated battle with a judge model in both position
 * orders. arena.battles.generated (GeneratedBattle) -> arena.battles.results (BattleResult).
 * Judgments are cached in RocksDB by battle_id: a replayed battle costs no judge call and yields
 * byte-identical output. Unparseable judge output is retried, then reported as JUDGE_ERROR.
 * At-least-once (arena_worker). */
#ifndef JUDGE_H
#define JUDGE_H

#include "arena/service.h"

struct judge;

struct judge *judge_new(struct arena_service *svc, char *errstr, size_t errstr_size);
int judge_run(struct judge *j);
void judge_destroy(struct judge *j);

#endif
