// Optimizer updates over raw parameter buffers. Plain SGD, w ← w − η·(g + λ·w), is a pass
// over every weight after every mini-batch: with batches of ten it is several percent of a
// training step, and Swift without target flags does it four lanes at a time.
//
// Every path computes each element with the same operations in the same order (d = g + λ·w,
// then w − η·d; λ = 0 skips the first) and no fused multiply-add, so the results are the
// same bits on every instruction set, for any thread count, as the scalar formula.
#include "internal.h"
#if NABLA_X86
#include <immintrin.h>
#endif

#pragma STDC FP_CONTRACT OFF

// Elements per task when the update is split across threads; smaller updates stay on the
// calling thread. 256 Ki, not the Swift elementwise loops' 64 Ki: ce_mlp's 784 x 100 layer
// (78,400 weights) was split 65,536 + 12,864 after every batch of ten, and handing the
// small part to the other thread cost more than it saved (ce_mlp on two threads, four
// alternating runs on a Zen 4: 0.36-0.40 s per epoch against 0.38-0.46).
#define SGD_GRAIN 262144

static void sgd_f32_portable(float *w, const float *g, long n, float lr, float wd) {
    if (wd != 0) {
        for (long j = 0; j < n; j++) { float d = g[j] + wd * w[j]; w[j] = w[j] - lr * d; }
    } else {
        for (long j = 0; j < n; j++) w[j] = w[j] - lr * g[j];
    }
}

static void sgd_f64_portable(double *w, const double *g, long n, double lr, double wd) {
    if (wd != 0) {
        for (long j = 0; j < n; j++) { double d = g[j] + wd * w[j]; w[j] = w[j] - lr * d; }
    } else {
        for (long j = 0; j < n; j++) w[j] = w[j] - lr * g[j];
    }
}

#if NABLA_X86
NABLA_AVX512 static void sgd_f32_avx512(float *w, const float *g, long n, float lr, float wd) {
    const __m512 vl = _mm512_set1_ps(lr), vw = _mm512_set1_ps(wd);
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 x = _mm512_loadu_ps(w + j), d = _mm512_loadu_ps(g + j);
        if (wd != 0) d = _mm512_add_ps(d, _mm512_mul_ps(vw, x));
        _mm512_storeu_ps(w + j, _mm512_sub_ps(x, _mm512_mul_ps(vl, d)));
    }
    sgd_f32_portable(w + j, g + j, n - j, lr, wd);
}

NABLA_AVX512 static void sgd_f64_avx512(double *w, const double *g, long n, double lr, double wd) {
    const __m512d vl = _mm512_set1_pd(lr), vw = _mm512_set1_pd(wd);
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        __m512d x = _mm512_loadu_pd(w + j), d = _mm512_loadu_pd(g + j);
        if (wd != 0) d = _mm512_add_pd(d, _mm512_mul_pd(vw, x));
        _mm512_storeu_pd(w + j, _mm512_sub_pd(x, _mm512_mul_pd(vl, d)));
    }
    sgd_f64_portable(w + j, g + j, n - j, lr, wd);
}

NABLA_AVX2 static void sgd_f32_avx2(float *w, const float *g, long n, float lr, float wd) {
    const __m256 vl = _mm256_set1_ps(lr), vw = _mm256_set1_ps(wd);
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 x = _mm256_loadu_ps(w + j), d = _mm256_loadu_ps(g + j);
        if (wd != 0) d = _mm256_add_ps(d, _mm256_mul_ps(vw, x));
        _mm256_storeu_ps(w + j, _mm256_sub_ps(x, _mm256_mul_ps(vl, d)));
    }
    sgd_f32_portable(w + j, g + j, n - j, lr, wd);
}

NABLA_AVX2 static void sgd_f64_avx2(double *w, const double *g, long n, double lr, double wd) {
    const __m256d vl = _mm256_set1_pd(lr), vw = _mm256_set1_pd(wd);
    long j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d x = _mm256_loadu_pd(w + j), d = _mm256_loadu_pd(g + j);
        if (wd != 0) d = _mm256_add_pd(d, _mm256_mul_pd(vw, x));
        _mm256_storeu_pd(w + j, _mm256_sub_pd(x, _mm256_mul_pd(vl, d)));
    }
    sgd_f64_portable(w + j, g + j, n - j, lr, wd);
}
#endif

typedef struct {
    void *w;
    const void *g;
    long n;
    double lr, wd;
    int isa, f64;
} sgd_job;

static void sgd_range(const sgd_job *s, long lo, long hi) {
    long n = hi - lo;
    if (s->f64) {
        double *w = (double *)s->w + lo;
        const double *g = (const double *)s->g + lo;
#if NABLA_X86
        if (s->isa == NABLA_ISA_AVX512) { sgd_f64_avx512(w, g, n, s->lr, s->wd); return; }
        if (s->isa == NABLA_ISA_AVX2) { sgd_f64_avx2(w, g, n, s->lr, s->wd); return; }
#endif
        sgd_f64_portable(w, g, n, s->lr, s->wd);
    } else {
        float *w = (float *)s->w + lo;
        const float *g = (const float *)s->g + lo;
        float lr = (float)s->lr, wd = (float)s->wd;
#if NABLA_X86
        if (s->isa == NABLA_ISA_AVX512) { sgd_f32_avx512(w, g, n, lr, wd); return; }
        if (s->isa == NABLA_ISA_AVX2) { sgd_f32_avx2(w, g, n, lr, wd); return; }
#endif
        sgd_f32_portable(w, g, n, lr, wd);
    }
}

static void sgd_task(void *ctx, long t) {
    const sgd_job *s = (const sgd_job *)ctx;
    long lo = t * SGD_GRAIN, hi = lo + SGD_GRAIN < s->n ? lo + SGD_GRAIN : s->n;
    sgd_range(s, lo, hi);
}

static void sgd_run(sgd_job *s) {
    s->isa = nabla_kernels_isa();
    long tasks = (s->n + SGD_GRAIN - 1) / SGD_GRAIN;
    int nt = nabla_num_threads();
    if (tasks > 1 && nt > 1)
        nabla_parallel_for(tasks, nt, sgd_task, s);
    else
        sgd_range(s, 0, s->n);
}

void nabla_sgd_update_f32(float *w, const float *g, long n, float lr, float wd) {
    sgd_job s = {w, g, n, lr, wd, 0, 0};
    sgd_run(&s);
}

void nabla_sgd_update_f64(double *w, const double *g, long n, double lr, double wd) {
    sgd_job s = {w, g, n, lr, wd, 0, 1};
    sgd_run(&s);
}

// W ← W − lr·op(A)·op(B) (see CNablaKernels.h). The direct path relies on two facts: every
// GEMM path ends an element as C = alpha·sum + beta·C with the product alpha·sum rounded
// first (so beta = 1 adds it with one more rounding, as the update's subtraction does),
// and with K in one pass the sum is the very sum that G would hold. −lr·sum is the exact
// negation of lr·sum, so W + (−lr·sum) is W − lr·G bit for bit. lr = 0 takes the other
// path because the GEMM skips a product scaled by zero, where the update would turn an
// infinite gradient into NaN.
#define SGD_PRODUCT(T, SUF, GEMM)                                                              \
    int nabla_sgd_product_update_##SUF(int transA, int transB, long M, long N, long K,        \
                                       const T *A, long lda, const T *B, long ldb, T *W,      \
                                       T lr) {                                                 \
        if (M <= 0 || N <= 0) return 0;                                                        \
        if (K <= nabla_gemm_one_pass_depth() && lr != 0) {                                     \
            GEMM(transA, transB, M, N, K, -lr, A, lda, B, ldb, 1, W, N);                       \
            return 0;                                                                          \
        }                                                                                      \
        T *g = (T *)malloc((size_t)M * (size_t)N * sizeof(T));                                 \
        if (!g) return -1;                                                                     \
        GEMM(transA, transB, M, N, K, 1, A, lda, B, ldb, 0, g, N);                             \
        nabla_sgd_update_##SUF(W, g, M * N, lr, 0);                                            \
        free(g);                                                                               \
        return 0;                                                                              \
    }
SGD_PRODUCT(float, f32, nabla_sgemm)
SGD_PRODUCT(double, f64, nabla_dgemm)
#undef SGD_PRODUCT
