// Portable GEMM micro-kernels in plain C (4x8 tiles). The baseline compiler vectorizes
// the inner j loop with SSE2; this path exists for CPUs without AVX2 and as a reference.
#include "internal.h"

#define PORTABLE_KERNEL(NAME, T)                                                          \
    static void NAME(long kc, const T *a, long rsa, long csa, const T *b, long rsb,       \
                     T alpha, T beta, T *c, long ldc, long mr, long nr) {                 \
        T acc[4][8] = {{0}};                                                              \
        long o[4];                                                                        \
        for (int i = 0; i < 4; i++) o[i] = i < mr ? i * rsa : 0;                          \
        for (long k = 0; k < kc; k++, a += csa, b += rsb) {                               \
            for (int i = 0; i < 4; i++) {                                                 \
                T x = a[o[i]];                                                            \
                for (int j = 0; j < 8; j++) acc[i][j] += x * b[j];                        \
            }                                                                             \
        }                                                                                 \
        for (long i = 0; i < mr; i++)                                                     \
            for (long j = 0; j < nr; j++) {                                               \
                T v = alpha * acc[i][j];                                                  \
                c[i * ldc + j] = beta == 0 ? v : v + beta * c[i * ldc + j];               \
            }                                                                             \
    }

PORTABLE_KERNEL(sgemm_kernel_portable, float)
PORTABLE_KERNEL(dgemm_kernel_portable, double)

const nabla_gemm_f32_impl nabla_sgemm_portable = {4, 8, sgemm_kernel_portable, sgemm_kernel_portable};
const nabla_gemm_f64_impl nabla_dgemm_portable = {4, 8, dgemm_kernel_portable, dgemm_kernel_portable};
