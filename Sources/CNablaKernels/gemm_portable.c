// Portable GEMM micro-kernels in plain C (4x8 tiles). The baseline compiler vectorizes
// the inner j loop with SSE2; this path exists for CPUs without AVX2 and as a reference.
#include "internal.h"

// NB is 8 for the packed kernel (padded panels: a fixed trip count vectorizes) and nr
// for the strided one, which must not read B past column nr.
#define PORTABLE_KERNEL(NAME, T, NB)                                                      \
    static void NAME(long kc, const T *a, long rsa, long csa, const T *b, long rsb,       \
                     T alpha, T beta, T *c, long ldc, long mr, long nr) {                 \
        T acc[4][8] = {{0}};                                                              \
        long o[4];                                                                        \
        for (int i = 0; i < 4; i++) o[i] = i < mr ? i * rsa : 0;                          \
        for (long k = 0; k < kc; k++, a += csa, b += rsb) {                               \
            for (int i = 0; i < 4; i++) {                                                 \
                T x = a[o[i]];                                                            \
                for (int j = 0; j < NB; j++) acc[i][j] += x * b[j];                        \
            }                                                                             \
        }                                                                                 \
        for (long i = 0; i < mr; i++)                                                     \
            for (long j = 0; j < nr; j++) {                                               \
                T v = alpha * acc[i][j];                                                  \
                c[i * ldc + j] = beta == 0 ? v : v + beta * c[i * ldc + j];               \
            }                                                                             \
    }

PORTABLE_KERNEL(sgemm_packed_portable, float, 8)
PORTABLE_KERNEL(sgemm_general_portable, float, nr)
PORTABLE_KERNEL(dgemm_packed_portable, double, 8)
PORTABLE_KERNEL(dgemm_general_portable, double, nr)

const nabla_gemm_f32_impl nabla_sgemm_portable = {4, 8, sgemm_packed_portable, sgemm_general_portable, 0, 0, 0, 0};
const nabla_gemm_f64_impl nabla_dgemm_portable = {4, 8, dgemm_packed_portable, dgemm_general_portable, 0, 0, 0, 0};
