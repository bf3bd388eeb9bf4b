// ReLU and its backward over float32 buffers: one pass over memory each, in vector
// registers. In a LeNet step they run over every convolution output (737,280 elements for
// conv1 with a batch of 64), forward and backward, and Swift without target flags does them
// at SSE2 width or less.
//
// The rule is the Swift kernels' (ReluKernel, ReluBackwardKernel): x > 0 keeps x (or the
// gradient), anything else (0, −0, negatives, NaN) gives +0. Every path gives the same bits.
#include "internal.h"
#if NABLA_X86
#include <immintrin.h>
#endif

static void relu_portable(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

static void relu_backward_portable(const float *g, const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? g[i] : 0.0f;
}

#if NABLA_X86
NABLA_AVX512 static void relu_avx512(const float *x, float *y, long n) {
    const __m512 zero = _mm512_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        _mm512_storeu_ps(y + i, _mm512_mask_mov_ps(zero, _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ), v));
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mask_mov_ps(zero, _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ), v));
    }
}

NABLA_AVX512 static void relu_backward_avx512(const float *g, const float *x, float *y, long n) {
    const __m512 zero = _mm512_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __mmask16 k = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), zero, _CMP_GT_OQ);
        _mm512_storeu_ps(y + i, _mm512_mask_mov_ps(zero, k, _mm512_loadu_ps(g + i)));
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __mmask16 k = _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, x + i), zero, _CMP_GT_OQ);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mask_mov_ps(zero, k, _mm512_maskz_loadu_ps(m, g + i)));
    }
}

// AVX2: the compare gives all-ones lanes where x > 0, so an AND keeps x (or g) there.
NABLA_AVX2 static void relu_avx2(const float *x, float *y, long n) {
    const __m256 zero = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(y + i, _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), v));
    }
    relu_portable(x + i, y + i, n - i);
}

NABLA_AVX2 static void relu_backward_avx2(const float *g, const float *x, float *y, long n) {
    const __m256 zero = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 k = _mm256_cmp_ps(_mm256_loadu_ps(x + i), zero, _CMP_GT_OQ);
        _mm256_storeu_ps(y + i, _mm256_and_ps(k, _mm256_loadu_ps(g + i)));
    }
    relu_backward_portable(g + i, x + i, y + i, n - i);
}
#endif

void nabla_vrelu_f32(const float *x, float *y, long n) {
    if (n <= 0) return;
#if NABLA_X86
    switch (nabla_kernels_isa()) {
    case NABLA_ISA_AVX512: relu_avx512(x, y, n); return;
    case NABLA_ISA_AVX2: relu_avx2(x, y, n); return;
    default: break;
    }
#endif
    relu_portable(x, y, n);
}

void nabla_vrelu_backward_f32(const float *g, const float *x, float *y, long n) {
    if (n <= 0) return;
#if NABLA_X86
    switch (nabla_kernels_isa()) {
    case NABLA_ISA_AVX512: relu_backward_avx512(g, x, y, n); return;
    case NABLA_ISA_AVX2: relu_backward_avx2(g, x, y, n); return;
    default: break;
    }
#endif
    relu_backward_portable(g, x, y, n);
}
