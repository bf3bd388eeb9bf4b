// AVX-512 GEMM micro-kernels: 6x32 for float and 6x16 for double.
// 12 zmm accumulators + 2 B vectors + 1 broadcast fit in the 32 registers with room to
// spare, and 12 independent FMA chains cover the FMA latency on Zen 4 (one zmm FMA per
// cycle). Ragged tiles use masked loads/stores of C, so no scratch tile is needed.
#include "internal.h"
#if NABLA_X86
#include <immintrin.h>

// Body shared by the packed and the strided kernels. `mra` is how many rows of A may be
// read (rows past it are aliased to row 0 and their results dropped); the packed kernel
// passes MR, a constant, since packed panels are zero-padded.
NABLA_INLINE NABLA_AVX512 void k_f32_6x32(long kc, const float *a, long rsa, long csa,
                                          const float *b, long rsb, float alpha, float beta,
                                          float *c, long ldc, long mra, long mr, long nr) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const long o1 = mra > 1 ? rsa : 0, o2 = mra > 2 ? 2 * rsa : 0, o3 = mra > 3 ? 3 * rsa : 0,
               o4 = mra > 4 ? 4 * rsa : 0, o5 = mra > 5 ? 5 * rsa : 0;
#pragma clang loop unroll_count(4)
    for (long k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 x;
        x = _mm512_set1_ps(a[0]);  c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
        x = _mm512_set1_ps(a[o1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
        x = _mm512_set1_ps(a[o2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
        x = _mm512_set1_ps(a[o3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
        x = _mm512_set1_ps(a[o4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
        x = _mm512_set1_ps(a[o5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);
        a += csa;
        b += rsb;
    }
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#define ROW(i, r0, r1)                                                                   \
    if (i < mr) {                                                                        \
        float *cr = c + i * ldc;                                                         \
        __m512 v0 = _mm512_mul_ps(va, r0), v1 = _mm512_mul_ps(va, r1);                   \
        if (beta != 0) {                                                                 \
            v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), v0);                 \
            v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), v1);            \
        }                                                                                \
        _mm512_mask_storeu_ps(cr, m0, v0);                                               \
        _mm512_mask_storeu_ps(cr + 16, m1, v1);                                          \
    }
    ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21)
    ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
#undef ROW
}

static NABLA_AVX512 void sgemm_packed_avx512(long kc, const float *a, long rsa, long csa,
                                             const float *b, long rsb, float alpha, float beta,
                                             float *c, long ldc, long mr, long nr) {
    (void)rsa; (void)csa; (void)rsb;
    k_f32_6x32(kc, a, 1, 6, b, 32, alpha, beta, c, ldc, 6, mr, nr);
}
static NABLA_AVX512 void sgemm_general_avx512(long kc, const float *a, long rsa, long csa,
                                              const float *b, long rsb, float alpha, float beta,
                                              float *c, long ldc, long mr, long nr) {
    k_f32_6x32(kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr);
}
const nabla_gemm_f32_impl nabla_sgemm_avx512 = {6, 32, sgemm_packed_avx512, sgemm_general_avx512};

NABLA_INLINE NABLA_AVX512 void k_f64_6x16(long kc, const double *a, long rsa, long csa,
                                          const double *b, long rsb, double alpha, double beta,
                                          double *c, long ldc, long mra, long mr, long nr) {
    __m512d c00 = _mm512_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const long o1 = mra > 1 ? rsa : 0, o2 = mra > 2 ? 2 * rsa : 0, o3 = mra > 3 ? 3 * rsa : 0,
               o4 = mra > 4 ? 4 * rsa : 0, o5 = mra > 5 ? 5 * rsa : 0;
#pragma clang loop unroll_count(4)
    for (long k = 0; k < kc; k++) {
        __m512d b0 = _mm512_loadu_pd(b), b1 = _mm512_loadu_pd(b + 8);
        __m512d x;
        x = _mm512_set1_pd(a[0]);  c00 = _mm512_fmadd_pd(x, b0, c00); c01 = _mm512_fmadd_pd(x, b1, c01);
        x = _mm512_set1_pd(a[o1]); c10 = _mm512_fmadd_pd(x, b0, c10); c11 = _mm512_fmadd_pd(x, b1, c11);
        x = _mm512_set1_pd(a[o2]); c20 = _mm512_fmadd_pd(x, b0, c20); c21 = _mm512_fmadd_pd(x, b1, c21);
        x = _mm512_set1_pd(a[o3]); c30 = _mm512_fmadd_pd(x, b0, c30); c31 = _mm512_fmadd_pd(x, b1, c31);
        x = _mm512_set1_pd(a[o4]); c40 = _mm512_fmadd_pd(x, b0, c40); c41 = _mm512_fmadd_pd(x, b1, c41);
        x = _mm512_set1_pd(a[o5]); c50 = _mm512_fmadd_pd(x, b0, c50); c51 = _mm512_fmadd_pd(x, b1, c51);
        a += csa;
        b += rsb;
    }
    __mmask8 m0 = nr >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << nr) - 1);
    __mmask8 m1 = nr >= 16 ? (__mmask8)0xFF : nr > 8 ? (__mmask8)((1u << (nr - 8)) - 1) : 0;
    __m512d va = _mm512_set1_pd(alpha), vb = _mm512_set1_pd(beta);
#define ROW(i, r0, r1)                                                                   \
    if (i < mr) {                                                                        \
        double *cr = c + i * ldc;                                                        \
        __m512d v0 = _mm512_mul_pd(va, r0), v1 = _mm512_mul_pd(va, r1);                  \
        if (beta != 0) {                                                                 \
            v0 = _mm512_fmadd_pd(vb, _mm512_maskz_loadu_pd(m0, cr), v0);                 \
            v1 = _mm512_fmadd_pd(vb, _mm512_maskz_loadu_pd(m1, cr + 8), v1);             \
        }                                                                                \
        _mm512_mask_storeu_pd(cr, m0, v0);                                               \
        _mm512_mask_storeu_pd(cr + 8, m1, v1);                                           \
    }
    ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21)
    ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
#undef ROW
}

static NABLA_AVX512 void dgemm_packed_avx512(long kc, const double *a, long rsa, long csa,
                                             const double *b, long rsb, double alpha, double beta,
                                             double *c, long ldc, long mr, long nr) {
    (void)rsa; (void)csa; (void)rsb;
    k_f64_6x16(kc, a, 1, 6, b, 16, alpha, beta, c, ldc, 6, mr, nr);
}
static NABLA_AVX512 void dgemm_general_avx512(long kc, const double *a, long rsa, long csa,
                                              const double *b, long rsb, double alpha, double beta,
                                              double *c, long ldc, long mr, long nr) {
    k_f64_6x16(kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr);
}
const nabla_gemm_f64_impl nabla_dgemm_avx512 = {6, 16, dgemm_packed_avx512, dgemm_general_avx512};
#endif
