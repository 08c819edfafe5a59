/* sampler_pool.c - worker threads for the data pipeline (see sampler_pool.h). */
#include "sampler_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena/err.h"
#include "arena/util.h"

struct pool_worker {
    struct sampler_pool *pool;
    int index;
    pthread_t thread;
};

struct sampler_pool {
    pthread_mutex_t lock;
    pthread_cond_t start; /* a new job or stop */
    pthread_cond_t done;  /* a worker finished its job */
    uint64_t generation;  /* job number */
    int running;          /* workers still in the current job */
    bool stop;
    void (*fn)(void *ctx, int worker);
    void *ctx;
    struct pool_worker *workers;
    int n; /* threads started */
};

static void *pool_main(void *arg)
{
    struct pool_worker *w = arg;
    struct sampler_pool *pool = w->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stop && pool->generation == seen) {
            pthread_cond_wait(&pool->start, &pool->lock);
        }
        if (pool->stop) {
            break;
        }
        seen = pool->generation;
        void (*fn)(void *, int) = pool->fn;
        void *ctx = pool->ctx;
        pthread_mutex_unlock(&pool->lock);
        fn(ctx, w->index);
        pthread_mutex_lock(&pool->lock);
        if (--pool->running == 0) {
            pthread_cond_signal(&pool->done);
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

struct sampler_pool *sampler_pool_new(int workers, char *errstr, size_t errstr_size)
{
    if (workers < 1 || workers > 64) {
        arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "pool: %d workers not in 1..64",
                      workers);
        return NULL;
    }
    struct sampler_pool *pool = arena_xcalloc(1, sizeof(*pool));
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->start, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->workers = arena_xcalloc((size_t)workers, sizeof(*pool->workers));
    for (int i = 0; i < workers; i++) {
        pool->workers[i].pool = pool;
        pool->workers[i].index = i;
        int rc = pthread_create(&pool->workers[i].thread, NULL, pool_main, &pool->workers[i]);
        if (rc != 0) {
            arena_err_set(errstr, errstr_size, ARENA_ERR_LIMIT,
                          "pool: cannot start worker thread %d: %s", i, strerror(rc));
            sampler_pool_destroy(pool);
            return NULL;
        }
        pool->n++;
    }
    return pool;
}

int sampler_pool_size(const struct sampler_pool *pool)
{
    return pool->n;
}

void sampler_pool_run(struct sampler_pool *pool, void (*fn)(void *ctx, int worker), void *ctx)
{
    pthread_mutex_lock(&pool->lock);
    while (pool->running > 0) {
        pthread_cond_wait(&pool->done, &pool->lock);
    }
    pool->fn = fn;
    pool->ctx = ctx;
    pool->running = pool->n;
    pool->generation++;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
}

void sampler_pool_wait(struct sampler_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    while (pool->running > 0) {
        pthread_cond_wait(&pool->done, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
}

void sampler_pool_destroy(struct sampler_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    sampler_pool_wait(pool);
    pthread_mutex_lock(&pool->lock);
    pool->stop = true;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n; i++) {
        pthread_join(pool->workers[i].thread, NULL);
    }
    pthread_cond_destroy(&pool->start);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}
