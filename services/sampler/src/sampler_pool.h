/* sampler_pool.h - a small fixed pool of worker threads (pthreads) for the data pipeline: the
 * owner starts one job on every worker with sampler_pool_run() (each worker calls
 * fn(ctx, worker_index) once), does its own share meanwhile, then sampler_pool_wait(). Jobs
 * split their work themselves (e.g. an atomic counter). One owner thread drives a pool; the
 * pool's functions are not to be called from its workers. */
#ifndef SAMPLER_POOL_H
#define SAMPLER_POOL_H

#include <stddef.h>

struct sampler_pool;

/* workers >= 1 threads. NULL + errstr when a thread cannot be created. */
struct sampler_pool *sampler_pool_new(int workers, char *errstr, size_t errstr_size);
int sampler_pool_size(const struct sampler_pool *pool);
/* Starts fn(ctx, i) on worker i = 0..size-1 and returns at once. */
void sampler_pool_run(struct sampler_pool *pool, void (*fn)(void *ctx, int worker), void *ctx);
/* Until every worker returned from the job started last. */
void sampler_pool_wait(struct sampler_pool *pool);
/* Waits for a running job, stops and joins the workers. NULL is a no-op. */
void sampler_pool_destroy(struct sampler_pool *pool);

#endif
