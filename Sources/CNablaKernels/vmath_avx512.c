// AVX-512 float32 exp/log/sigmoid/tanh, 16 lanes; the ragged end uses masked loads and
// stores instead of a scalar loop. vscalefps does the 2^n scaling (it handles overflow,
// denormal results and NaN); vgetexpps/vgetmantps split log's argument (denormals too).
// min/max take x as the second operand: on NaN they return it, so NaN propagates.
#include "internal.h"
#if NABLA_X86
#include "vmath_consts.h"
#include <immintrin.h>
#include <math.h>

#define V __m512
#define S(c) _mm512_set1_ps(c)

NABLA_INLINE NABLA_AVX512 V exp16(V x) {
    x = _mm512_max_ps(S(EXP_LO), _mm512_min_ps(S(EXP_HI), x));
    V n = _mm512_roundscale_ps(_mm512_mul_ps(x, S(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm512_fnmadd_ps(n, S(LN2_HI), x);
    r = _mm512_fnmadd_ps(n, S(LN2_LO), r);
    V p = _mm512_fmadd_ps(S(EXP_P0), r, S(EXP_P1));
    p = _mm512_fmadd_ps(p, r, S(EXP_P2));
    p = _mm512_fmadd_ps(p, r, S(EXP_P3));
    p = _mm512_fmadd_ps(p, r, S(EXP_P4));
    p = _mm512_fmadd_ps(p, r, S(EXP_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, S(1.0f)));
    return _mm512_scalef_ps(p, n);
}

NABLA_INLINE NABLA_AVX512 V log16(V x) {
    // x = m * 2^e, m in [0.5, 1)
    V m = _mm512_getmant_ps(x, _MM_MANT_NORM_p5_1, _MM_MANT_SIGN_src);
    V e = _mm512_add_ps(_mm512_getexp_ps(x), S(1.0f));
    __mmask16 lo = _mm512_cmp_ps_mask(m, S(SQRTHF), _CMP_LT_OQ);
    e = _mm512_mask_sub_ps(e, lo, e, S(1.0f));
    m = _mm512_sub_ps(_mm512_mask_add_ps(m, lo, m, m), S(1.0f));
    V z = _mm512_mul_ps(m, m);
    V q = _mm512_fmadd_ps(S(LOG_Q0), m, S(LOG_Q1));
    q = _mm512_fmadd_ps(q, m, S(LOG_Q2));
    q = _mm512_fmadd_ps(q, m, S(LOG_Q3));
    q = _mm512_fmadd_ps(q, m, S(LOG_Q4));
    q = _mm512_fmadd_ps(q, m, S(LOG_Q5));
    q = _mm512_fmadd_ps(q, m, S(LOG_Q6));
    q = _mm512_fmadd_ps(q, m, S(LOG_Q7));
    q = _mm512_fmadd_ps(q, m, S(LOG_Q8));
    V y = _mm512_mul_ps(_mm512_mul_ps(q, m), z);
    y = _mm512_fmadd_ps(e, S(LN2_LO), y);
    y = _mm512_fnmadd_ps(S(0.5f), z, y);
    V r = _mm512_add_ps(m, y);
    r = _mm512_fmadd_ps(e, S(LN2_HI), r);
    // Special values: log(+inf) = inf, log(0) = -inf, log(<0) = log(NaN) = NaN.
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, S(INFINITY), _CMP_EQ_OQ), S(INFINITY));
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, S(0.0f), _CMP_EQ_OQ), S(-INFINITY));
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, S(0.0f), _CMP_NGE_UQ), S(NAN));
    return r;
}

NABLA_INLINE NABLA_AVX512 V sigmoid16(V x) {
    V e = exp16(_mm512_sub_ps(S(0.0f), x));
    return _mm512_div_ps(S(1.0f), _mm512_add_ps(S(1.0f), e));
}

NABLA_INLINE NABLA_AVX512 V tanh16(V x) {
    V a = _mm512_abs_ps(x);
    V z = _mm512_mul_ps(x, x);
    V r = _mm512_fmadd_ps(S(TANH_R0), z, S(TANH_R1));
    r = _mm512_fmadd_ps(r, z, S(TANH_R2));
    r = _mm512_fmadd_ps(r, z, S(TANH_R3));
    r = _mm512_fmadd_ps(r, z, S(TANH_R4));
    V small = _mm512_fmadd_ps(_mm512_mul_ps(a, z), r, a);  // on |x|, so tanh(-0) = -0
    V e = exp16(_mm512_add_ps(a, a));
    V big = _mm512_sub_ps(S(1.0f), _mm512_div_ps(S(2.0f), _mm512_add_ps(e, S(1.0f))));
    V t = _mm512_mask_mov_ps(big, _mm512_cmp_ps_mask(a, S(TANH_SMALL), _CMP_LT_OQ), small);
    // copy the sign of x (t >= 0 or NaN)
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t),
              _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
}

#define LOOP16(NAME, F)                                                             \
    NABLA_AVX512 void NAME(const float *x, float *y, long n) {                      \
        long i = 0;                                                                 \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, F(_mm512_loadu_ps(x + i))); \
        if (i < n) {                                                                \
            __mmask16 m = (__mmask16)((1u << (n - i)) - 1);                         \
            _mm512_mask_storeu_ps(y + i, m, F(_mm512_maskz_loadu_ps(m, x + i)));    \
        }                                                                           \
    }
LOOP16(nabla_vexp_avx512, exp16)
LOOP16(nabla_vlog_avx512, log16)
LOOP16(nabla_vsigmoid_avx512, sigmoid16)
LOOP16(nabla_vtanh_avx512, tanh16)
#endif
