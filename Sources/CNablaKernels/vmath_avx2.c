// AVX2+FMA float32 exp/log/sigmoid/tanh, 8 lanes. 2^n is built from exponent bits in two
// halves (n = n1 + n2) so results that overflow, or are denormal, still come out right.
// The ragged end goes through an 8-float scratch buffer. min/max take x as the second
// operand so NaN propagates.
#include "internal.h"
#if NABLA_X86
#include "vmath_consts.h"
#include <immintrin.h>
#include <math.h>

#define V __m256
#define S(c) _mm256_set1_ps(c)

NABLA_INLINE NABLA_AVX2 V pow2i(__m256i n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

NABLA_INLINE NABLA_AVX2 V exp8(V x) {
    V xc = _mm256_max_ps(S(EXP_LO), _mm256_min_ps(S(EXP_HI), x));
    V n = _mm256_round_ps(_mm256_mul_ps(xc, S(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm256_fnmadd_ps(n, S(LN2_HI), xc);
    r = _mm256_fnmadd_ps(n, S(LN2_LO), r);
    V p = _mm256_fmadd_ps(S(EXP_P0), r, S(EXP_P1));
    p = _mm256_fmadd_ps(p, r, S(EXP_P2));
    p = _mm256_fmadd_ps(p, r, S(EXP_P3));
    p = _mm256_fmadd_ps(p, r, S(EXP_P4));
    p = _mm256_fmadd_ps(p, r, S(EXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, S(1.0f)));
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    V res = _mm256_mul_ps(_mm256_mul_ps(p, pow2i(n1)), pow2i(n2));
    // x above the finite range gives inf from the scaling; make it exact for x in
    // (EXP_OVF, EXP_HI] where p * 2^128 could round below the overflow threshold.
    return _mm256_blendv_ps(res, S(INFINITY), _mm256_cmp_ps(x, S(EXP_OVF), _CMP_GT_OQ));
}

NABLA_INLINE NABLA_AVX2 V log8(V x) {
    // Denormals: scale by 2^23 first and take 23 off the exponent.
    V den = _mm256_cmp_ps(x, S(1.17549435e-38f), _CMP_LT_OQ);
    V xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, S(8388608.0f)), den);
    __m256i u = _mm256_castps_si256(xs);
    V e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(126)));
    e = _mm256_sub_ps(e, _mm256_and_ps(den, S(23.0f)));
    V m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x007fffff)),
                                              _mm256_set1_epi32(0x3f000000)));
    V lo = _mm256_cmp_ps(m, S(SQRTHF), _CMP_LT_OQ);
    e = _mm256_sub_ps(e, _mm256_and_ps(lo, S(1.0f)));
    m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(lo, m)), S(1.0f));
    V z = _mm256_mul_ps(m, m);
    V q = _mm256_fmadd_ps(S(LOG_Q0), m, S(LOG_Q1));
    q = _mm256_fmadd_ps(q, m, S(LOG_Q2));
    q = _mm256_fmadd_ps(q, m, S(LOG_Q3));
    q = _mm256_fmadd_ps(q, m, S(LOG_Q4));
    q = _mm256_fmadd_ps(q, m, S(LOG_Q5));
    q = _mm256_fmadd_ps(q, m, S(LOG_Q6));
    q = _mm256_fmadd_ps(q, m, S(LOG_Q7));
    q = _mm256_fmadd_ps(q, m, S(LOG_Q8));
    V y = _mm256_mul_ps(_mm256_mul_ps(q, m), z);
    y = _mm256_fmadd_ps(e, S(LN2_LO), y);
    y = _mm256_fnmadd_ps(S(0.5f), z, y);
    V r = _mm256_add_ps(m, y);
    r = _mm256_fmadd_ps(e, S(LN2_HI), r);
    r = _mm256_blendv_ps(r, S(INFINITY), _mm256_cmp_ps(x, S(INFINITY), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, S(-INFINITY), _mm256_cmp_ps(x, S(0.0f), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, S(NAN), _mm256_cmp_ps(x, S(0.0f), _CMP_NGE_UQ));
    return r;
}

NABLA_INLINE NABLA_AVX2 V sigmoid8(V x) {
    V e = exp8(_mm256_sub_ps(S(0.0f), x));
    return _mm256_div_ps(S(1.0f), _mm256_add_ps(S(1.0f), e));
}

NABLA_INLINE NABLA_AVX2 V tanh8(V x) {
    V sign = _mm256_and_ps(x, S(-0.0f));
    V a = _mm256_andnot_ps(S(-0.0f), x);
    V z = _mm256_mul_ps(x, x);
    V r = _mm256_fmadd_ps(S(TANH_R0), z, S(TANH_R1));
    r = _mm256_fmadd_ps(r, z, S(TANH_R2));
    r = _mm256_fmadd_ps(r, z, S(TANH_R3));
    r = _mm256_fmadd_ps(r, z, S(TANH_R4));
    V small = _mm256_fmadd_ps(_mm256_mul_ps(a, z), r, a);  // on |x|, so tanh(-0) = -0
    V e = exp8(_mm256_add_ps(a, a));
    V big = _mm256_sub_ps(S(1.0f), _mm256_div_ps(S(2.0f), _mm256_add_ps(e, S(1.0f))));
    V t = _mm256_blendv_ps(big, small, _mm256_cmp_ps(a, S(TANH_SMALL), _CMP_LT_OQ));
    return _mm256_or_ps(t, sign);
}

#define LOOP8(NAME, F)                                                              \
    NABLA_AVX2 void NAME(const float *x, float *y, long n) {                        \
        long i = 0;                                                                 \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F(_mm256_loadu_ps(x + i))); \
        if (i < n) {                                                                \
            float t[8] = {0};                                                       \
            for (long j = i; j < n; j++) t[j - i] = x[j];                           \
            _mm256_storeu_ps(t, F(_mm256_loadu_ps(t)));                             \
            for (long j = i; j < n; j++) y[j] = t[j - i];                           \
        }                                                                           \
    }
LOOP8(nabla_vexp_avx2, exp8)
LOOP8(nabla_vlog_avx2, log8)
LOOP8(nabla_vsigmoid_avx2, sigmoid8)
LOOP8(nabla_vtanh_avx2, tanh8)
#endif
