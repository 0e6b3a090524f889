/* threadpool.c -- see threadpool.h. Workers sleep on a condition variable
 * between loops; a loop is published by bumping a generation counter, and
 * tasks are claimed with an atomic counter so uneven tasks balance. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>

#include "runtime.h"

struct rt_pool {
    int n;                 /* threads including the caller */
    pthread_t *workers;    /* n - 1 */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    unsigned long generation;
    int stop;
    int busy;              /* workers still in the current loop */
    /* the current loop */
    rt_task_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next;
};

typedef struct {
    rt_pool *p;
    int slot;
} worker_arg;

static void drain(rt_pool *p, int slot) {
    for (;;) {
        int t = atomic_fetch_add(&p->next, 1);
        if (t >= p->n_tasks) break;
        p->fn(p->ctx, t, slot);
    }
}

static void *worker(void *arg) {
    rt_pool *p = ((worker_arg *)arg)->p;
    int slot = ((worker_arg *)arg)->slot;
    rt_free(arg);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        drain(p, slot);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

rt_pool *rt_pool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    rt_pool *p = rt_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1) {
        p->workers = rt_calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers) {
            rt_pool_free(p);
            return NULL;
        }
        for (int i = 1; i < n_threads; i++) {
            worker_arg *a = rt_malloc(sizeof *a);
            if (!a) break;
            *a = (worker_arg){p, i};
            if (pthread_create(&p->workers[i - 1], NULL, worker, a) != 0) {
                rt_free(a);
                break;
            }
            p->n++;
        }
        if (p->n != n_threads) {
            rt_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void rt_pool_free(rt_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i + 1 < p->n; i++) pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    rt_free(p->workers);
    rt_free(p);
}

int rt_pool_threads(const rt_pool *p) { return p ? p->n : 1; }

void rt_pool_run(rt_pool *p, int n_tasks, rt_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (!p || p->n == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store(&p->next, 0);
    p->busy = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    drain(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
