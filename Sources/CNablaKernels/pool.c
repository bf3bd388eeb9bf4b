// 2×2, stride 2, unpadded max pooling (float32): the pooling of every small conv net.
//
// The rule is PyTorch's: a NaN wins (the last one, if several); among tied maxima the
// first in the window (a, b, c, d in row-major order) stays. idx receives the index of the
// chosen element within its input plane.
#include "internal.h"
#include <stdint.h>

// One window by the exact rule.
NABLA_INLINE void window(const float *r0, const float *r1, long top, long W, long j, float *best, int32_t *at) {
    float v[4] = {r0[j], r0[j + 1], r1[j], r1[j + 1]};
    long k[4] = {top + j, top + j + 1, top + W + j, top + W + j + 1};
    float b = v[0];
    long a = k[0];
    for (int q = 1; q < 4; q++)
        if (v[q] > b || v[q] != v[q]) { b = v[q]; a = k[q]; }
    *best = b;
    *at = (int32_t)a;
}

// One output row: the windows over input rows r0 and r1 (row `top` of the plane starts r0).
typedef void (*pool_row)(const float *r0, const float *r1, long top, long W, long OW, float *y, int32_t *idx);

static void row_portable(const float *r0, const float *r1, long top, long W, long OW, float *y, int32_t *idx) {
    for (long oj = 0; oj < OW; oj++) window(r0, r1, top, W, 2 * oj, y + oj, idx + oj);
}

#if NABLA_X86
#include <immintrin.h>

// Sixteen windows at a time: the two input rows are loaded as 32 floats each and split
// into even and odd columns; three compare-and-blend steps pick each window's maximum and
// its index. Windows with a NaN (which the ordered compares would pass over) are redone
// one by one by the exact rule.
NABLA_AVX512 static void row_avx512(const float *r0, const float *r1, long top, long W, long OW, float *y,
                                    int32_t *idx) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i twice = _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
    for (long oj = 0; oj < OW; oj += 16) {
        long n = OW - oj < 16 ? OW - oj : 16;            // windows in this piece
        __mmask16 out = (__mmask16)((1u << n) - 1);
        __mmask16 lo = (__mmask16)(n >= 8 ? 0xFFFF : (1u << (2 * n)) - 1);
        __mmask16 hi = (__mmask16)(n <= 8 ? 0 : (1u << (2 * (n - 8))) - 1);
        long j = 2 * oj;
        __m512 u0 = _mm512_maskz_loadu_ps(lo, r0 + j), u1 = _mm512_maskz_loadu_ps(hi, r0 + j + 16);
        __m512 v0 = _mm512_maskz_loadu_ps(lo, r1 + j), v1 = _mm512_maskz_loadu_ps(hi, r1 + j + 16);
        __m512 a = _mm512_permutex2var_ps(u0, even, u1), b = _mm512_permutex2var_ps(u0, odd, u1);
        __m512 c = _mm512_permutex2var_ps(v0, even, v1), d = _mm512_permutex2var_ps(v0, odd, v1);
        __m512i ka = _mm512_add_epi32(_mm512_set1_epi32((int)(top + j)), twice);
        __m512 best = a;
        __m512i at = ka;
        __mmask16 m = _mm512_cmp_ps_mask(b, best, _CMP_GT_OQ);
        best = _mm512_mask_mov_ps(best, m, b);
        at = _mm512_mask_mov_epi32(at, m, _mm512_add_epi32(ka, _mm512_set1_epi32(1)));
        m = _mm512_cmp_ps_mask(c, best, _CMP_GT_OQ);
        best = _mm512_mask_mov_ps(best, m, c);
        at = _mm512_mask_mov_epi32(at, m, _mm512_add_epi32(ka, _mm512_set1_epi32((int)W)));
        m = _mm512_cmp_ps_mask(d, best, _CMP_GT_OQ);
        best = _mm512_mask_mov_ps(best, m, d);
        at = _mm512_mask_mov_epi32(at, m, _mm512_add_epi32(ka, _mm512_set1_epi32((int)W + 1)));
        _mm512_mask_storeu_ps(y + oj, out, best);
        _mm512_mask_storeu_epi32(idx + oj, out, at);
        __mmask16 nan = _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(c, d, _CMP_UNORD_Q);
        for (unsigned bits = nan & out; bits; bits &= bits - 1) {
            long q = oj + __builtin_ctz(bits);
            window(r0, r1, top, W, 2 * q, y + q, idx + q);
        }
    }
}

// AVX2: the same steps on 8 windows (two 256-bit loads per input row, even and odd
// columns split by shuffles), then 4 windows with 128-bit registers, the rest one by one.
NABLA_INLINE NABLA_AVX2 void pick8(__m256 a, __m256 b, __m256 c, __m256 d, __m256i ka, long W,
                                    __m256 *best, __m256i *at) {
    __m256 bst = a, m;
    __m256i idx = ka;
    m = _mm256_cmp_ps(b, bst, _CMP_GT_OQ);
    bst = _mm256_blendv_ps(bst, b, m);
    idx = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(idx),
                                               _mm256_castsi256_ps(_mm256_add_epi32(ka, _mm256_set1_epi32(1))), m));
    m = _mm256_cmp_ps(c, bst, _CMP_GT_OQ);
    bst = _mm256_blendv_ps(bst, c, m);
    idx = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(idx),
                                               _mm256_castsi256_ps(_mm256_add_epi32(ka, _mm256_set1_epi32((int)W))), m));
    m = _mm256_cmp_ps(d, bst, _CMP_GT_OQ);
    bst = _mm256_blendv_ps(bst, d, m);
    idx = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(idx),
                                               _mm256_castsi256_ps(_mm256_add_epi32(ka, _mm256_set1_epi32((int)W + 1))), m));
    *best = bst;
    *at = idx;
}

NABLA_AVX2 static void row_avx2(const float *r0, const float *r1, long top, long W, long OW, float *y,
                                int32_t *idx) {
    const __m256i twice = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    long oj = 0;
    for (; oj + 8 <= OW; oj += 8) {
        long j = 2 * oj;
        __m256 u0 = _mm256_loadu_ps(r0 + j), u1 = _mm256_loadu_ps(r0 + j + 8);
        __m256 v0 = _mm256_loadu_ps(r1 + j), v1 = _mm256_loadu_ps(r1 + j + 8);
        // shuffle leaves the pairs of 64-bit groups interleaved; permute4x64 (0, 2, 1, 3) fixes them
#define SPLIT(x0, x1, sel) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(x0, x1, sel)), 0xD8))
        __m256 a = SPLIT(u0, u1, 0x88), b = SPLIT(u0, u1, 0xDD), c = SPLIT(v0, v1, 0x88), d = SPLIT(v0, v1, 0xDD);
#undef SPLIT
        __m256 best;
        __m256i at;
        pick8(a, b, c, d, _mm256_add_epi32(_mm256_set1_epi32((int)(top + j)), twice), W, &best, &at);
        _mm256_storeu_ps(y + oj, best);
        _mm256_storeu_si256((__m256i *)(idx + oj), at);
        int nan = _mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q), _mm256_cmp_ps(c, d, _CMP_UNORD_Q)));
        for (unsigned bits = (unsigned)nan; bits; bits &= bits - 1) {
            long q = oj + __builtin_ctz(bits);
            window(r0, r1, top, W, 2 * q, y + q, idx + q);
        }
    }
    for (; oj + 4 <= OW; oj += 4) {
        long j = 2 * oj;
        __m128 u0 = _mm_loadu_ps(r0 + j), u1 = _mm_loadu_ps(r0 + j + 4);
        __m128 v0 = _mm_loadu_ps(r1 + j), v1 = _mm_loadu_ps(r1 + j + 4);
        __m128 a = _mm_shuffle_ps(u0, u1, 0x88), b = _mm_shuffle_ps(u0, u1, 0xDD);
        __m128 c = _mm_shuffle_ps(v0, v1, 0x88), d = _mm_shuffle_ps(v0, v1, 0xDD);
        __m128i ka = _mm_add_epi32(_mm_set1_epi32((int)(top + j)), _mm_setr_epi32(0, 2, 4, 6));
        __m128 best = a, m;
        __m128i at = ka;
        m = _mm_cmpgt_ps(b, best);
        best = _mm_blendv_ps(best, b, m);
        at = _mm_castps_si128(_mm_blendv_ps(_mm_castsi128_ps(at), _mm_castsi128_ps(_mm_add_epi32(ka, _mm_set1_epi32(1))), m));
        m = _mm_cmpgt_ps(c, best);
        best = _mm_blendv_ps(best, c, m);
        at = _mm_castps_si128(_mm_blendv_ps(_mm_castsi128_ps(at), _mm_castsi128_ps(_mm_add_epi32(ka, _mm_set1_epi32((int)W))), m));
        m = _mm_cmpgt_ps(d, best);
        best = _mm_blendv_ps(best, d, m);
        at = _mm_castps_si128(_mm_blendv_ps(_mm_castsi128_ps(at), _mm_castsi128_ps(_mm_add_epi32(ka, _mm_set1_epi32((int)W + 1))), m));
        _mm_storeu_ps(y + oj, best);
        _mm_storeu_si128((__m128i *)(idx + oj), at);
        int nan = _mm_movemask_ps(_mm_or_ps(_mm_cmpunord_ps(a, b), _mm_cmpunord_ps(c, d)));
        for (unsigned bits = (unsigned)nan; bits; bits &= bits - 1) {
            long q = oj + __builtin_ctz(bits);
            window(r0, r1, top, W, 2 * q, y + q, idx + q);
        }
    }
    for (; oj < OW; oj++) window(r0, r1, top, W, 2 * oj, y + oj, idx + oj);
}
#endif

void nabla_maxpool2x2_f32(const float *x, float *y, int32_t *idx, long planes, long H, long W, long OH,
                          long OW) {
    if (planes <= 0 || OH <= 0 || OW <= 0) return;
    pool_row row = row_portable;
#if NABLA_X86
    if (nabla_kernels_isa() == NABLA_ISA_AVX512) row = row_avx512;
    else if (nabla_kernels_isa() == NABLA_ISA_AVX2) row = row_avx2;
#endif
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * H * W;
        for (long oi = 0; oi < OH; oi++) {
            long top = 2 * oi * W;
            row(xp + top, xp + top + W, top, W, OW, y + (p * OH + oi) * OW, idx + (p * OH + oi) * OW);
        }
    }
}
