/* rater.h - arena-rater: the live WizardArena leaderboard.
 * Reads every partition of arena.battles.results (each replica computes the full leaderboard),
 * counts each battle_id exactly once (RocksDB, offsets in the same WriteBatch), keeps online
 * Elo per battle and refits Bradley-Terry with bootstrap CIs every rater.every_battles battles or
 * rater.every_ms; publishes Leaderboard on arena.ratings (key = rater.name) and serves
 * /leaderboard.json. Judge/generation errors are counted as seen, never rated. */
#ifndef RATER_H
#define RATER_H

#include "arena/service.h"

struct rater;

struct rater *rater_new(struct arena_service *svc, char *errstr, size_t errstr_size);
int rater_run(struct rater *r);
void rater_destroy(struct rater *r);

#endif
