// A small persistent pthread pool for nabla_parallel_for.
// Why not libdispatch: its header and library live inside the Swift toolchain and a C
// target can only reach them with extra search paths; a pool of a few dozen lines needs
// nothing. Workers spin briefly after a job (waking a sleeping thread costs tens of
// microseconds on this VM) and then sleep on a condition variable.
#include "internal.h"
#include <pthread.h>

#define MAX_WORKERS 63
#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

static pthread_mutex_t g_busy = PTHREAD_MUTEX_INITIALIZER;  // one job at a time
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_nworkers = 0;                 // threads started so far
// (generation << 8) | number of indices: one word, so a worker that wakes late for an old
// job can never pair that job's generation with a newer job's size.
static unsigned long g_word = 0;
static void (*g_fn)(void *, long);
static void *g_ctx;
static long g_pending;                     // workers still running the current job

static void *worker_main(void *arg) {
    long me = (long)arg;  // worker me runs index me (1-based)
    unsigned long seen = 0;
    for (;;) {
        // Wait for a new generation: spin a while, then sleep.
        unsigned long w;
        int spins = 0;
        while ((w = __atomic_load_n(&g_word, __ATOMIC_ACQUIRE)) == seen && spins < 20000) {
            cpu_relax();
            spins++;
        }
        if (w == seen) {
            pthread_mutex_lock(&g_mu);
            while ((w = __atomic_load_n(&g_word, __ATOMIC_ACQUIRE)) == seen)
                pthread_cond_wait(&g_cv, &g_mu);
            pthread_mutex_unlock(&g_mu);
        }
        seen = w;
        if (me < (long)(w & 0xff)) {
            g_fn(g_ctx, me);
            __atomic_sub_fetch(&g_pending, 1, __ATOMIC_ACQ_REL);
        }
    }
    return 0;
}

void nabla_parallel_for(long n, void (*fn)(void *ctx, long i), void *ctx) {
    if (n <= 1 || n > MAX_WORKERS + 1 || pthread_mutex_trylock(&g_busy) != 0) {
        // Serial (also when the pool is already busy, e.g. a nested or concurrent call):
        // the same indices do the same work, so the results are the same.
        for (long i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    while (g_nworkers < n - 1) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, worker_main, (void *)(long)(g_nworkers + 1)) != 0) {
            pthread_attr_destroy(&at);
            break;
        }
        pthread_attr_destroy(&at);
        g_nworkers++;
    }
    long nw = n - 1 < g_nworkers ? n - 1 : g_nworkers;
    g_fn = fn;
    g_ctx = ctx;
    __atomic_store_n(&g_pending, nw, __ATOMIC_RELEASE);
    pthread_mutex_lock(&g_mu);
    unsigned long gen = (g_word >> 8) + 1;
    __atomic_store_n(&g_word, (gen << 8) | (unsigned long)(nw + 1), __ATOMIC_RELEASE);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    fn(ctx, 0);
    for (long i = nw + 1; i < n; i++) fn(ctx, i);  // only if threads could not be created
    while (__atomic_load_n(&g_pending, __ATOMIC_ACQUIRE) > 0) cpu_relax();
    pthread_mutex_unlock(&g_busy);
}
