// 2×2, stride 2, unpadded max pooling (float32): the pooling of every small conv net.
//
// The rule is PyTorch's: a NaN wins (the last one, if several); among tied maxima the
// first in the window (a, b, c, d in row-major order) stays. idx receives the index of the
// chosen element within its input plane.
#include "internal.h"
#include <stdint.h>

// With `relu`, the windows are taken over max(x, 0) (NaN giving 0, as the ReLU kernels do),
// computed in registers: the pooling of a ReLU's output without that output.

NABLA_INLINE float relu1(float v) { return v > 0 ? v : 0.0f; }

// One window by the exact rule.
NABLA_INLINE void window(const float *r0, const float *r1, long top, long W, long j, int relu, float *best,
                         int32_t *at) {
    float v[4] = {r0[j], r0[j + 1], r1[j], r1[j + 1]};
    long k[4] = {top + j, top + j + 1, top + W + j, top + W + j + 1};
    if (relu)
        for (int q = 0; q < 4; q++) v[q] = relu1(v[q]);
    float b = v[0];
    long a = k[0];
    for (int q = 1; q < 4; q++)
        if (v[q] > b || v[q] != v[q]) { b = v[q]; a = k[q]; }
    *best = b;
    *at = (int32_t)a;
}

// One output row: the windows over input rows r0 and r1 (row `top` of the plane starts r0).
typedef void (*pool_row)(const float *r0, const float *r1, long top, long W, long OW, float *y, int32_t *idx);

// The two pool_row functions of one instruction set: plain, and over max(x, 0), each with
// `relu` a constant so that the compiler drops the unused branch.
#define ROW_VARIANTS(ISA, ATTR)                                                                          \
    ATTR static void row_##ISA(const float *r0, const float *r1, long top, long W, long OW, float *y,     \
                               int32_t *idx) {                                                            \
        row_##ISA##_impl(r0, r1, top, W, OW, y, idx, 0);                                                  \
    }                                                                                                     \
    ATTR static void row_##ISA##_relu(const float *r0, const float *r1, long top, long W, long OW, float *y, \
                                      int32_t *idx) {                                                     \
        row_##ISA##_impl(r0, r1, top, W, OW, y, idx, 1);                                                  \
    }

NABLA_INLINE void row_portable_impl(const float *r0, const float *r1, long top, long W, long OW, float *y,
                                    int32_t *idx, int relu) {
    for (long oj = 0; oj < OW; oj++) window(r0, r1, top, W, 2 * oj, relu, y + oj, idx + oj);
}
ROW_VARIANTS(portable, )

#if NABLA_X86
#include <immintrin.h>

// Sixteen windows at a time: the two input rows are loaded as 32 floats each and split
// into even and odd columns; three compare-and-blend steps pick each window's maximum and
// its index. Windows with a NaN (which the ordered compares would pass over) are redone
// one by one by the exact rule.
NABLA_INLINE NABLA_AVX512 __m512 relu16(__m512 v) {
    return _mm512_mask_mov_ps(_mm512_setzero_ps(), _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
}

NABLA_INLINE NABLA_AVX512 void row_avx512_impl(const float *r0, const float *r1, long top, long W, long OW,
                                               float *y, int32_t *idx, int relu) {
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
        if (relu) { a = relu16(a); b = relu16(b); c = relu16(c); d = relu16(d); }
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
            window(r0, r1, top, W, 2 * q, relu, y + q, idx + q);
        }
    }
}
ROW_VARIANTS(avx512, NABLA_AVX512)

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

NABLA_INLINE NABLA_AVX2 __m256 relu8(__m256 v) {
    return _mm256_and_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ), v);
}

NABLA_INLINE NABLA_AVX2 void row_avx2_impl(const float *r0, const float *r1, long top, long W, long OW, float *y,
                                           int32_t *idx, int relu) {
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
        if (relu) { a = relu8(a); b = relu8(b); c = relu8(c); d = relu8(d); }
        __m256 best;
        __m256i at;
        pick8(a, b, c, d, _mm256_add_epi32(_mm256_set1_epi32((int)(top + j)), twice), W, &best, &at);
        _mm256_storeu_ps(y + oj, best);
        _mm256_storeu_si256((__m256i *)(idx + oj), at);
        int nan = _mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q), _mm256_cmp_ps(c, d, _CMP_UNORD_Q)));
        for (unsigned bits = (unsigned)nan; bits; bits &= bits - 1) {
            long q = oj + __builtin_ctz(bits);
            window(r0, r1, top, W, 2 * q, relu, y + q, idx + q);
        }
    }
    for (; oj + 4 <= OW; oj += 4) {
        long j = 2 * oj;
        __m128 u0 = _mm_loadu_ps(r0 + j), u1 = _mm_loadu_ps(r0 + j + 4);
        __m128 v0 = _mm_loadu_ps(r1 + j), v1 = _mm_loadu_ps(r1 + j + 4);
        __m128 a = _mm_shuffle_ps(u0, u1, 0x88), b = _mm_shuffle_ps(u0, u1, 0xDD);
        __m128 c = _mm_shuffle_ps(v0, v1, 0x88), d = _mm_shuffle_ps(v0, v1, 0xDD);
        if (relu) {
            const __m128 z = _mm_setzero_ps();
            a = _mm_and_ps(_mm_cmpgt_ps(a, z), a); b = _mm_and_ps(_mm_cmpgt_ps(b, z), b);
            c = _mm_and_ps(_mm_cmpgt_ps(c, z), c); d = _mm_and_ps(_mm_cmpgt_ps(d, z), d);
        }
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
            window(r0, r1, top, W, 2 * q, relu, y + q, idx + q);
        }
    }
    for (; oj < OW; oj++) window(r0, r1, top, W, 2 * oj, relu, y + oj, idx + oj);
}
ROW_VARIANTS(avx2, NABLA_AVX2)
#endif


// ---- backward: each window's gradient to the element it chose, zeros elsewhere ----------
//
// Windows do not overlap, so every input element is written exactly once (the columns and
// rows no window covers get zeros): no separate zero fill, no read-modify-write. The value
// written is gy + 0, as a scatter into zeros adds it (−0 becomes +0).

// One output row's windows: rows r0 and r1 of the input gradient (row `top` starts r0).
typedef void (*unpool_row)(const float *gy, const int32_t *idx, long top, long W, long OW, float *r0, float *r1);

NABLA_INLINE void unpool_window(const float *gy, const int32_t *idx, long top, long W, long oj, float *r0,
                                float *r1) {
    long j = 2 * oj, at = idx[oj] - top - j;  // 0, 1, W or W + 1
    float g = gy[oj] + 0.0f;
    r0[j] = at == 0 ? g : 0.0f;
    r0[j + 1] = at == 1 ? g : 0.0f;
    r1[j] = at == W ? g : 0.0f;
    r1[j + 1] = at == W + 1 ? g : 0.0f;
}

static void unpool_row_portable(const float *gy, const int32_t *idx, long top, long W, long OW, float *r0,
                                float *r1) {
    for (long oj = 0; oj < OW; oj++) unpool_window(gy, idx, top, W, oj, r0, r1);
}

#if NABLA_X86
// Sixteen windows at a time: each window's offset within its 2×2 block selects which of
// four vectors (top-left, top-right, bottom-left, bottom-right) receives the gradient;
// interleaving them gives the two input rows, 32 floats each.
NABLA_AVX512 static void unpool_row_avx512(const float *gy, const int32_t *idx, long top, long W, long OW,
                                           float *r0, float *r1) {
    const __m512i lo_pairs = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi_pairs = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i minus_twice = _mm512_setr_epi32(0, -2, -4, -6, -8, -10, -12, -14, -16, -18, -20, -22, -24, -26,
                                                  -28, -30);
    const __m512 zero = _mm512_setzero_ps();
    for (long oj = 0; oj < OW; oj += 16) {
        long n = OW - oj < 16 ? OW - oj : 16;
        __mmask16 out = (__mmask16)((1u << n) - 1);
        __mmask16 lo = (__mmask16)(n >= 8 ? 0xFFFF : (1u << (2 * n)) - 1);
        __mmask16 hi = (__mmask16)(n <= 8 ? 0 : (1u << (2 * (n - 8))) - 1);
        long j = 2 * oj;
        __m512 g = _mm512_add_ps(_mm512_maskz_loadu_ps(out, gy + oj), zero);
        __m512i at = _mm512_castps_si512(_mm512_maskz_loadu_ps(out, idx + oj));  // the index bits
        __m512i rel = _mm512_add_epi32(_mm512_add_epi32(at, _mm512_set1_epi32((int)-(top + j))), minus_twice);
        __m512 a = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(rel, _mm512_setzero_si512()), g);
        __m512 b = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32(1)), g);
        __m512 c = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32((int)W)), g);
        __m512 d = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(rel, _mm512_set1_epi32((int)W + 1)), g);
        _mm512_mask_storeu_ps(r0 + j, lo, _mm512_permutex2var_ps(a, lo_pairs, b));
        _mm512_mask_storeu_ps(r0 + j + 16, hi, _mm512_permutex2var_ps(a, hi_pairs, b));
        _mm512_mask_storeu_ps(r1 + j, lo, _mm512_permutex2var_ps(c, lo_pairs, d));
        _mm512_mask_storeu_ps(r1 + j + 16, hi, _mm512_permutex2var_ps(c, hi_pairs, d));
    }
}

// AVX2: eight windows at a time; unpacklo/unpackhi interleave within 128-bit halves and
// permute2f128 puts the halves in order.
NABLA_AVX2 static void unpool_row_avx2(const float *gy, const int32_t *idx, long top, long W, long OW,
                                       float *r0, float *r1) {
    const __m256i minus_twice = _mm256_setr_epi32(0, -2, -4, -6, -8, -10, -12, -14);
    const __m256 zero = _mm256_setzero_ps();
    long oj = 0;
    for (; oj + 8 <= OW; oj += 8) {
        long j = 2 * oj;
        __m256 g = _mm256_add_ps(_mm256_loadu_ps(gy + oj), zero);
        __m256i at = _mm256_loadu_si256((const __m256i *)(idx + oj));
        __m256i rel = _mm256_add_epi32(_mm256_add_epi32(at, _mm256_set1_epi32((int)-(top + j))), minus_twice);
        __m256 a = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(rel, _mm256_setzero_si256())), g);
        __m256 b = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(rel, _mm256_set1_epi32(1))), g);
        __m256 c = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(rel, _mm256_set1_epi32((int)W))), g);
        __m256 d = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(rel, _mm256_set1_epi32((int)W + 1))), g);
        __m256 ab0 = _mm256_unpacklo_ps(a, b), ab1 = _mm256_unpackhi_ps(a, b);
        __m256 cd0 = _mm256_unpacklo_ps(c, d), cd1 = _mm256_unpackhi_ps(c, d);
        _mm256_storeu_ps(r0 + j, _mm256_permute2f128_ps(ab0, ab1, 0x20));
        _mm256_storeu_ps(r0 + j + 8, _mm256_permute2f128_ps(ab0, ab1, 0x31));
        _mm256_storeu_ps(r1 + j, _mm256_permute2f128_ps(cd0, cd1, 0x20));
        _mm256_storeu_ps(r1 + j + 8, _mm256_permute2f128_ps(cd0, cd1, 0x31));
    }
    for (; oj < OW; oj++) unpool_window(gy, idx, top, W, oj, r0, r1);
}
#endif

void nabla_maxpool2x2_backward_f32(const float *gy, const int32_t *idx, float *gx, long planes, long H, long W,
                                   long OH, long OW) {
    if (planes <= 0) return;
    unpool_row row = unpool_row_portable;
#if NABLA_X86
    if (nabla_kernels_isa() == NABLA_ISA_AVX512) row = unpool_row_avx512;
    else if (nabla_kernels_isa() == NABLA_ISA_AVX2) row = unpool_row_avx2;
#endif
    for (long p = 0; p < planes; p++) {
        float *xp = gx + p * H * W;
        for (long oi = 0; oi < OH; oi++) {
            long top = 2 * oi * W;
            row(gy + (p * OH + oi) * OW, idx + (p * OH + oi) * OW, top, W, OW, xp + top, xp + top + W);
            // columns no window covers
            for (long j = 2 * OW; j < W; j++) xp[top + j] = xp[top + W + j] = 0.0f;
        }
        // rows no window covers
        for (long i = 2 * OH * W; i < H * W; i++) xp[i] = 0.0f;
    }
}

static void maxpool2x2(const float *x, float *y, int32_t *idx, long planes, long H, long W, long OH, long OW,
                       int relu) {
    if (planes <= 0 || OH <= 0 || OW <= 0) return;
    pool_row row = relu ? row_portable_relu : row_portable;
#if NABLA_X86
    if (nabla_kernels_isa() == NABLA_ISA_AVX512) row = relu ? row_avx512_relu : row_avx512;
    else if (nabla_kernels_isa() == NABLA_ISA_AVX2) row = relu ? row_avx2_relu : row_avx2;
#endif
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * H * W;
        for (long oi = 0; oi < OH; oi++) {
            long top = 2 * oi * W;
            row(xp + top, xp + top + W, top, W, OW, y + (p * OH + oi) * OW, idx + (p * OH + oi) * OW);
        }
    }
}

void nabla_maxpool2x2_f32(const float *x, float *y, int32_t *idx, long planes, long H, long W, long OH,
                          long OW) {
    maxpool2x2(x, y, idx, planes, H, W, OH, OW, 0);
}

void nabla_relu_maxpool2x2_f32(const float *x, float *y, int32_t *idx, long planes, long H, long W, long OH,
                               long OW) {
    maxpool2x2(x, y, idx, planes, H, W, OH, OW, 1);
}
