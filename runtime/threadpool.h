/* threadpool.h -- a fixed set of worker threads, created once per run or
 * session (never per op), that split one parallel loop at a time. The
 * calling thread works too, so n_threads = 1 creates no thread at all. A
 * loop allocates nothing. */
#ifndef IF_RUNTIME_THREADPOOL_H
#define IF_RUNTIME_THREADPOOL_H

typedef struct rt_pool rt_pool;

/* fn(ctx, task, thread): thread in [0, n_threads) names the caller's slot
 * (for per-thread scratch); tasks are handed out dynamically. */
typedef void (*rt_task_fn)(void *ctx, int task, int thread);

/* NULL when threads cannot be created (the caller may fall back to 1). */
rt_pool *rt_pool_new(int n_threads);
void rt_pool_free(rt_pool *p);
int rt_pool_threads(const rt_pool *p);

/* Runs fn for every task in [0, n_tasks) and returns when all are done.
 * Not re-entrant: one loop at a time per pool. */
void rt_pool_run(rt_pool *p, int n_tasks, rt_task_fn fn, void *ctx);

#endif
