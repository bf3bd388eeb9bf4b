// Plain reference versions of every kernel; replaced by the dispatched kernels.
#include "CNablaKernels.h"
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static int g_threads = 0;
int nabla_kernels_isa(void) { return NABLA_ISA_PORTABLE; }
int nabla_kernels_set_isa(int isa) { (void)isa; return NABLA_ISA_PORTABLE; }
const char *nabla_kernels_isa_name(int isa) {
    return isa == NABLA_ISA_AVX512 ? "avx512" : isa == NABLA_ISA_AVX2 ? "avx2" : "portable";
}
int nabla_num_threads(void) {
    if (g_threads == 0) {
        const char *s = getenv("NABLA_THREADS");
        int n = s ? atoi(s) : (int)sysconf(_SC_NPROCESSORS_ONLN);
        g_threads = n < 1 ? 1 : n;
    }
    return g_threads;
}
void nabla_set_num_threads(int n) { g_threads = n < 1 ? 1 : n; }

#define GEMM(NAME, T)                                                                       \
void NAME(int tA, int tB, long M, long N, long K, T alpha, const T *A, long lda,           \
          const T *B, long ldb, T beta, T *C, long ldc) {                                   \
    for (long i = 0; i < M; i++)                                                            \
        for (long j = 0; j < N; j++) {                                                      \
            T s = 0;                                                                        \
            for (long k = 0; k < K; k++) {                                                  \
                T a = tA ? A[k * lda + i] : A[i * lda + k];                                 \
                T b = tB ? B[j * ldb + k] : B[k * ldb + j];                                 \
                s += a * b;                                                                 \
            }                                                                               \
            C[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j]);          \
        }                                                                                   \
}
GEMM(nabla_sgemm, float)
GEMM(nabla_dgemm, double)

void nabla_vexp_f32(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = expf(x[i]); }
void nabla_vlog_f32(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = logf(x[i]); }
void nabla_vsigmoid_f32(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i])); }
void nabla_vtanh_f32(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = tanhf(x[i]); }

#define IM2COL(NAME, T, ADJ)                                                                \
void NAME(ADJ##_CONST T *x, long C, long H, long W, long KH, long KW, long sh, long sw,     \
          long ph, long pw, long dh, long dw, long OH, long OW, ADJ##_OUT T *cols) {       \
    for (long c = 0; c < C; c++)                                                            \
    for (long ki = 0; ki < KH; ki++)                                                        \
    for (long kj = 0; kj < KW; kj++) {                                                      \
        long row = (c * KH + ki) * KW + kj;                                                 \
        for (long oi = 0; oi < OH; oi++)                                                    \
        for (long oj = 0; oj < OW; oj++) {                                                  \
            long ii = oi * sh - ph + ki * dh, jj = oj * sw - pw + kj * dw;                  \
            int inside = ii >= 0 && ii < H && jj >= 0 && jj < W;                            \
            ADJ##_BODY                                                                      \
        }                                                                                   \
    }                                                                                       \
}
#define FWD_CONST const
#define FWD_OUT
#define FWD_BODY cols[row * OH * OW + oi * OW + oj] = inside ? x[(c * H + ii) * W + jj] : 0;
IM2COL(nabla_im2col_f32, float, FWD)
IM2COL(nabla_im2col_f64, double, FWD)
#undef IM2COL
#define COL2IM(NAME, T)                                                                     \
void NAME(const T *cols, long C, long H, long W, long KH, long KW, long sh, long sw,        \
          long ph, long pw, long dh, long dw, long OH, long OW, T *x) {                    \
    for (long c = 0; c < C; c++)                                                            \
    for (long ki = 0; ki < KH; ki++)                                                        \
    for (long kj = 0; kj < KW; kj++) {                                                      \
        long row = (c * KH + ki) * KW + kj;                                                 \
        for (long oi = 0; oi < OH; oi++)                                                    \
        for (long oj = 0; oj < OW; oj++) {                                                  \
            long ii = oi * sh - ph + ki * dh, jj = oj * sw - pw + kj * dw;                  \
            if (ii >= 0 && ii < H && jj >= 0 && jj < W)                                     \
                x[(c * H + ii) * W + jj] += cols[row * OH * OW + oi * OW + oj];            \
        }                                                                                   \
    }                                                                                       \
}
COL2IM(nabla_col2im_f32, float)
COL2IM(nabla_col2im_f64, double)
