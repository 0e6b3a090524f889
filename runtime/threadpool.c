/* threadpool.c -- see threadpool.h. A loop is published by bumping a
 * generation counter; tasks are claimed with an atomic counter so uneven
 * tasks balance. Between loops a worker first spins on the counter for a
 * short while (SPIN_US) and only then sleeps on a condition variable: the
 * ops of a click come every few tens of microseconds, and a futex wake-up
 * costs about as much as many of them take. The caller waits for the last
 * worker the same way. */
#include "runtime/threadpool.h"

#include <pthread.h>

#include "kernels/compat.h"
#include "platform/platform.h"
#include "runtime/runtime.h"

enum { SPIN_US = 200 };

struct rt_pool {
    int n;              /* threads including the caller */
    pthread_t *workers; /* n - 1 */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    IF_ATOMIC(unsigned long) generation;
    IF_ATOMIC(int) stop;
    IF_ATOMIC(int) busy; /* workers still in the current loop */
    /* the current loop, written before generation is bumped */
    rt_task_fn fn;
    void *ctx;
    int n_tasks;
    IF_ATOMIC(int) next;
};

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static double now_us(void) { return ifp_now_us(); }

/* Spins until done(p, arg) or SPIN_US pass; returns done(p, arg). */
static int spin_until(rt_pool *p, int (*done)(rt_pool *, unsigned long), unsigned long arg) {
    double t0 = 0;
    for (unsigned i = 0;; i++) {
        if (done(p, arg)) return 1;
        if ((i & 63) == 63) {
            const double t = now_us();
            if (t0 == 0)
                t0 = t;
            else if (t - t0 > (double)SPIN_US)
                return 0;
        }
        cpu_relax();
    }
}

static int new_loop(rt_pool *p, unsigned long seen) {
    return if_atomic_load_explicit(&p->generation, IF_MO_ACQUIRE) != seen ||
           if_atomic_load(&p->stop);
}

static int all_done(rt_pool *p, unsigned long unused) {
    (void)unused;
    return if_atomic_load_explicit(&p->busy, IF_MO_ACQUIRE) == 0;
}

typedef struct {
    rt_pool *p;
    int slot;
} worker_arg;

static void drain(rt_pool *p, int slot) {
    for (;;) {
        int t = if_atomic_fetch_add(&p->next, 1);
        if (t >= p->n_tasks) break;
        p->fn(p->ctx, t, slot);
    }
}

static void *worker(void *arg) {
    rt_pool *p = ((worker_arg *)arg)->p;
    int slot = ((worker_arg *)arg)->slot;
    rt_free(arg);
    unsigned long seen = 0;
    for (;;) {
        if (!spin_until(p, new_loop, seen)) {
            pthread_mutex_lock(&p->mu);
            while (!new_loop(p, seen)) pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (if_atomic_load(&p->stop)) break;
        seen = if_atomic_load_explicit(&p->generation, IF_MO_ACQUIRE);
        drain(p, slot);
        if (if_atomic_fetch_sub_explicit(&p->busy, 1, IF_MO_ACQ_REL) == 1) {
            pthread_mutex_lock(&p->mu); /* the caller may be asleep on `done` */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

rt_pool *rt_pool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    rt_pool *p = (rt_pool *)rt_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1) {
        p->workers = (pthread_t *)rt_calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers) {
            rt_pool_free(p);
            return NULL;
        }
        for (int i = 1; i < n_threads; i++) {
            worker_arg *a = (worker_arg *)rt_malloc(sizeof *a);
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
    if_atomic_store(&p->stop, 1);
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
    if_atomic_store(&p->next, 0);
    if_atomic_store(&p->busy, p->n - 1);
    if_atomic_fetch_add_explicit(&p->generation, 1, IF_MO_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    drain(p, 0);
    if (!spin_until(p, all_done, 0)) {
        pthread_mutex_lock(&p->mu);
        while (!all_done(p, 0)) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
