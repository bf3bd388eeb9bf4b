// A small persistent pthread pool for nabla_parallel_for.
// Why not libdispatch: its header and library live inside the Swift toolchain and a C
// target can only reach them with extra search paths; a pool of a hundred lines needs
// nothing.
//
// Tasks are handed out through an atomic counter, so a thread that the (shared, noisy)
// machine does not schedule simply takes fewer tasks; callers make every task's result
// independent of which thread runs it, so results stay bit-identical. Idle workers and a
// waiting caller spin for a few tens of microseconds (waking a sleeping thread costs
// about as much on this VM) and then sleep on a condition variable, so they never burn a
// core that another process needs for long.
#include "internal.h"
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MAX_WORKERS 63
#define SPIN_NS 100000  // how long idle workers and a waiting caller spin before sleeping
#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

typedef struct {
    void (*fn)(void *, long);
    void *ctx;
    long n;             // tasks
    long next;          // next task to hand out (atomic)
    long done;          // tasks finished (atomic)
    int max_workers;    // workers allowed to join
    int joined;         // workers that joined (under g_mu)
    int active;         // workers still inside the job (under g_mu)
    int has_settings;   // the caller's own settings, which its tasks run under
    nabla_settings settings;
} job_t;

static pthread_mutex_t g_busy = PTHREAD_MUTEX_INITIALIZER;  // one job at a time
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;   // workers: a job was posted
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;   // caller: tasks or workers done
static int g_nworkers = 0;
static unsigned long g_gen = 0;  // bumped per job (atomic reads when spinning)
static job_t *g_job = 0;         // current job, or 0 (under g_mu)

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

// Spins until *p != v or SPIN_NS pass. Returns the last value read.
static unsigned long spin_while_eq(const unsigned long *p, unsigned long v) {
    long t0 = now_ns();
    unsigned long x;
    for (;;) {
        for (int s = 0; s < 64; s++) {
            if ((x = __atomic_load_n(p, __ATOMIC_ACQUIRE)) != v) return x;
            cpu_relax();
        }
        if (now_ns() - t0 > SPIN_NS) return x;
    }
}

static void run_tasks(job_t *j) {
    long i;
    while ((i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n) {
        j->fn(j->ctx, i);
        if (__atomic_add_fetch(&j->done, 1, __ATOMIC_ACQ_REL) == j->n) {
            pthread_mutex_lock(&g_mu);
            pthread_cond_broadcast(&g_done);
            pthread_mutex_unlock(&g_mu);
        }
    }
}

// arg: the job generation when the worker was created, so that it joins the job its
// creator is about to post even if that is posted before the worker first runs.
static void *worker_main(void *arg) {
    unsigned long seen = (unsigned long)(uintptr_t)arg;
    for (;;) {
        spin_while_eq(&g_gen, seen);
        pthread_mutex_lock(&g_mu);
        while (g_gen == seen) pthread_cond_wait(&g_wake, &g_mu);
        seen = g_gen;
        job_t *j = g_job;
        if (j && j->joined < j->max_workers) {
            j->joined++;
            j->active++;
        } else {
            j = 0;
        }
        pthread_mutex_unlock(&g_mu);
        if (!j) continue;
        nabla_install_thread_override(j->has_settings ? &j->settings : 0);
        run_tasks(j);
        nabla_install_thread_override(0);
        pthread_mutex_lock(&g_mu);
        if (--j->active == 0) pthread_cond_broadcast(&g_done);
        pthread_mutex_unlock(&g_mu);
    }
    return 0;
}

void nabla_parallel_for(long n, int nthreads, void (*fn)(void *ctx, long i), void *ctx) {
    if (nthreads > MAX_WORKERS + 1) nthreads = MAX_WORKERS + 1;
    if (n <= 1 || nthreads <= 1 || pthread_mutex_trylock(&g_busy) != 0) {
        // Serial (also when the pool is busy, e.g. a nested or concurrent call).
        for (long i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    int want = (int)(n < nthreads ? n : nthreads) - 1;
    while (g_nworkers < want) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &at, worker_main, (void *)(uintptr_t)__atomic_load_n(&g_gen, __ATOMIC_RELAXED));
        pthread_attr_destroy(&at);
        if (rc != 0) break;
        g_nworkers++;
    }
    job_t j = {fn, ctx, n, 0, 0, want, 0, 0, 0, {0, 0, 0, 0}};
    const nabla_settings *own = nabla_thread_override();
    if (own) j.has_settings = 1, j.settings = *own;
    pthread_mutex_lock(&g_mu);
    g_job = &j;
    __atomic_add_fetch(&g_gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&g_wake);
    pthread_mutex_unlock(&g_mu);

    run_tasks(&j);  // the caller works too; if no worker shows up it does everything

    {
        long t0 = now_ns();
        while (__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) < n && now_ns() - t0 < SPIN_NS)
            for (int s = 0; s < 64; s++) cpu_relax();
    }
    pthread_mutex_lock(&g_mu);
    while (__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) < n) pthread_cond_wait(&g_done, &g_mu);
    g_job = 0;  // late workers will not join; wait for those inside to leave
    while (j.active > 0) pthread_cond_wait(&g_done, &g_mu);
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_unlock(&g_busy);
}
