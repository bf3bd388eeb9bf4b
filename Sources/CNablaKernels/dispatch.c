// Run-time choice of instruction set, the thread-count setting, and per-thread settings.
// The ISA is chosen once (best the CPU has, or NABLA_KERNELS if it asks for less) and can
// be forced later with nabla_kernels_set_isa for the process, or for one thread with
// nabla_set_thread_settings (tests that compare every path do that, so tests running at
// the same time on other threads keep computing with the process's path).
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int g_isa = -1;       // -1: not chosen yet
static int g_threads = 0;    // 0: not read from the environment yet
static __thread nabla_settings t_settings;  // the thread's own settings, when t_has
static __thread int t_has = 0;

const nabla_settings *nabla_thread_override(void) { return t_has ? &t_settings : 0; }

void nabla_install_thread_override(const nabla_settings *s) {
    if (s) t_settings = *s;
    t_has = s != 0;
}

// Best path this CPU (and OS, which must save zmm/ymm state) supports.
static int cpu_best_isa(void) {
#if NABLA_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("fma"))
        return NABLA_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
#ifdef NABLA_EMULATE_AVX512
        return NABLA_ISA_AVX512;  // emulated on AVX2 (testing only, see internal.h)
#else
        return NABLA_ISA_AVX2;
#endif
#endif
    return NABLA_ISA_PORTABLE;
}

int nabla_kernels_isa(void) {
    if (t_has) return t_settings.isa;
    int isa = __atomic_load_n(&g_isa, __ATOMIC_RELAXED);
    if (isa >= 0) return isa;
    isa = cpu_best_isa();
    const char *s = getenv("NABLA_KERNELS");
    if (s) {
        int want = isa;
        if (!strcmp(s, "portable")) want = NABLA_ISA_PORTABLE;
        else if (!strcmp(s, "avx2")) want = NABLA_ISA_AVX2;
        else if (!strcmp(s, "avx512")) want = NABLA_ISA_AVX512;
        if (want < isa) isa = want;
    }
    __atomic_store_n(&g_isa, isa, __ATOMIC_RELAXED);
    return isa;
}

// isa clamped to what this CPU can run.
static int clamp_isa(int isa) {
    int best = cpu_best_isa();
    if (isa < NABLA_ISA_PORTABLE) isa = NABLA_ISA_PORTABLE;
    return isa > best ? best : isa;
}

int nabla_kernels_set_isa(int isa) {
    isa = clamp_isa(isa);
    __atomic_store_n(&g_isa, isa, __ATOMIC_RELAXED);
    return isa;
}

const char *nabla_kernels_isa_name(int isa) {
    switch (isa) {
    case NABLA_ISA_AVX512: return "avx512";
    case NABLA_ISA_AVX2: return "avx2";
    default: return "portable";
    }
}

int nabla_num_threads(void) {
    if (t_has) return t_settings.threads;
    int n = __atomic_load_n(&g_threads, __ATOMIC_RELAXED);
    if (n > 0) return n;
    const char *s = getenv("NABLA_THREADS");
    n = s ? atoi(s) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    __atomic_store_n(&g_threads, n, __ATOMIC_RELAXED);
    return n;
}

void nabla_set_num_threads(int n) { __atomic_store_n(&g_threads, n < 1 ? 1 : n, __ATOMIC_RELAXED); }

nabla_settings nabla_settings_in_effect(void) {
    if (t_has) return t_settings;
    nabla_settings s = {nabla_kernels_isa(), nabla_num_threads(), nabla_winograd_enabled(),
                        nabla_gemm_strided_limit()};
    return s;
}

void nabla_set_thread_settings(nabla_settings s) {
    s.isa = clamp_isa(s.isa);
    if (s.threads < 1) s.threads = 1;
    s.winograd = s.winograd != 0;
    if (s.strided_limit < 0) s.strided_limit = -1;
    nabla_install_thread_override(&s);
}

void nabla_clear_thread_settings(void) { nabla_install_thread_override(0); }

int nabla_thread_has_settings(void) { return t_has; }

// ---- elementwise entry points: pick the path per call -------------------------------------
#if NABLA_X86
#define VDISPATCH(NAME)                                                              \
    void nabla_##NAME##_f32(const float *x, float *y, long n) {                      \
        if (n <= 0) return;                                                          \
        switch (nabla_kernels_isa()) {                                               \
        case NABLA_ISA_AVX512: nabla_##NAME##_avx512(x, y, n); return;               \
        case NABLA_ISA_AVX2: nabla_##NAME##_avx2(x, y, n); return;                   \
        default: nabla_##NAME##_portable(x, y, n); return;                           \
        }                                                                            \
    }
#else
#define VDISPATCH(NAME)                                                              \
    void nabla_##NAME##_f32(const float *x, float *y, long n) {                      \
        if (n > 0) nabla_##NAME##_portable(x, y, n);                                 \
    }
#endif
VDISPATCH(vexp)
VDISPATCH(vlog)
VDISPATCH(vsigmoid)
VDISPATCH(vtanh)
