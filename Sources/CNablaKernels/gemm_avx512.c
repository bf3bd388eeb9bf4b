// AVX-512 GEMM micro-kernels: 6x32 for float and 6x16 for double.
// 12 zmm accumulators + 2 B vectors + 1 broadcast fit in the 32 registers with room to
// spare, and 12 independent FMA chains cover the FMA latency on Zen 4 (one zmm FMA per
// cycle). Ragged tiles use masked loads/stores of C (and of B in the strided kernel,
// which reads B in place), so no scratch tile or padded copy is needed.
#include "internal.h"
#if NABLA_X86
#include <immintrin.h>

// Body shared by the packed and the strided kernels. `mra` is how many rows of A may be
// read (rows past it are aliased to row 0 and their results dropped); the packed kernel
// passes MR, a constant, since packed panels are zero-padded. ROWS (5 or 6, a constant
// once inlined) is how many rows are multiplied: a tile of at most 5 rows skips the sixth
// row's FMAs, so the strided path can cover M exactly with 6- and 5-row tiles.
NABLA_INLINE NABLA_AVX512 void k_f32_6x32(const int ROWS, long kc, const float *a, long rsa, long csa,
                                          const float *b, long rsb, float alpha, float beta,
                                          float *c, long ldc, long mra, long mr, long nr,
                                          int maskb) {
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const long o1 = mra > 1 ? rsa : 0, o2 = mra > 2 ? 2 * rsa : 0, o3 = mra > 3 ? 3 * rsa : 0,
               o4 = mra > 4 ? 4 * rsa : 0, o5 = mra > 5 ? 5 * rsa : 0;
#pragma clang loop unroll_count(4)
    for (long k = 0; k < kc; k++) {
        __m512 b0, b1;
        if (maskb) { b0 = _mm512_maskz_loadu_ps(m0, b); b1 = _mm512_maskz_loadu_ps(m1, b + 16); }
        else { b0 = _mm512_loadu_ps(b); b1 = _mm512_loadu_ps(b + 16); }
        __m512 x;
        x = _mm512_set1_ps(a[0]);  c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
        x = _mm512_set1_ps(a[o1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
        x = _mm512_set1_ps(a[o2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
        x = _mm512_set1_ps(a[o3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
        x = _mm512_set1_ps(a[o4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
        if (ROWS > 5) { x = _mm512_set1_ps(a[o5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51); }
        a += csa;
        b += rsb;
    }
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

#define NR 32
static NABLA_AVX512 void sgemm_packed_avx512(long kc, const float *a, long rsa, long csa,
                                             const float *b, long rsb, float alpha, float beta,
                                             float *c, long ldc, long mr, long nr) {
    (void)rsa; (void)csa; (void)rsb;
    k_f32_6x32(6, kc, a, 1, 6, b, 32, alpha, beta, c, ldc, 6, mr, nr, 0);
}
static NABLA_AVX512 void sgemm_general_avx512(long kc, const float *a, long rsa, long csa,
                                              const float *b, long rsb, float alpha, float beta,
                                              float *c, long ldc, long mr, long nr) {
    if (mr <= 5) k_f32_6x32(5, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr, nr < NR);
    else k_f32_6x32(6, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr, nr < NR);
}
#undef NR

// Transposed-B packing: 16x16 register transposes (unpack, shuffle within 128-bit lanes,
// then two rounds of 128-bit lane shuffles). Ragged k and j edges use masked loads, which
// also supply the zero padding.
static NABLA_AVX512 void sgemm_pack_bt_avx512(const float *B, long ldb, long kc, long cols,
                                              float *bp) {
    for (long h = 0; h < 32; h += 16) {
        long nj = cols - h < 0 ? 0 : cols - h > 16 ? 16 : cols - h;
        for (long kb = 0; kb < kc; kb += 16) {
            long nk = kc - kb < 16 ? kc - kb : 16;
            __m512 r[16], t[16], u[16], v[16];
            if (nj == 0) {
                for (long k = 0; k < nk; k++) _mm512_storeu_ps(bp + (kb + k) * 32 + h, _mm512_setzero_ps());
                continue;
            }
            __mmask16 km = nk == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nk) - 1);
            for (int j = 0; j < 16; j++)
                r[j] = j < nj ? _mm512_maskz_loadu_ps(km, B + (h + j) * ldb + kb) : _mm512_setzero_ps();
            for (int j = 0; j < 16; j += 2) {
                t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
                t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
            }
            for (int q = 0; q < 16; q += 4) {  // u[q+m]: rows q..q+3 at k = 4*lane + m
                u[q + 0] = _mm512_shuffle_ps(t[q], t[q + 2], 0x44);
                u[q + 1] = _mm512_shuffle_ps(t[q], t[q + 2], 0xEE);
                u[q + 2] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0x44);
                u[q + 3] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
            }
            for (int m = 0; m < 4; m++) {
                v[m] = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88);
                v[4 + m] = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xdd);
                v[8 + m] = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88);
                v[12 + m] = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xdd);
            }
            for (int m = 0; m < 4; m++) {
                r[m] = _mm512_shuffle_f32x4(v[m], v[8 + m], 0x88);
                r[8 + m] = _mm512_shuffle_f32x4(v[m], v[8 + m], 0xdd);
                r[4 + m] = _mm512_shuffle_f32x4(v[4 + m], v[12 + m], 0x88);
                r[12 + m] = _mm512_shuffle_f32x4(v[4 + m], v[12 + m], 0xdd);
            }
            for (long k = 0; k < nk; k++) _mm512_storeu_ps(bp + (kb + k) * 32 + h, r[k]);
        }
    }
}

// Narrow strided kernel, 12x16 (one zmm per row, 12 rows to keep 12 FMA chains), for a
// last column panel of at most 16: with N = 10 a 6x32 tile would leave 70% of lanes idle.
static NABLA_AVX512 void sgemm_narrow_avx512(long kc, const float *a, long rsa, long csa,
                                             const float *b, long rsb, float alpha, float beta,
                                             float *c, long ldc, long mr, long nr) {
    __mmask16 m = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    __m512 acc[12];
    long o[12];
    for (int i = 0; i < 12; i++) {
        acc[i] = _mm512_setzero_ps();
        o[i] = i < mr ? i * rsa : 0;
    }
    for (long k = 0; k < kc; k++) {
        __m512 bv = _mm512_maskz_loadu_ps(m, b);
        for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[o[i]]), bv, acc[i]);
        a += csa;
        b += rsb;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < 12; i++) {
        if (i >= mr) break;
        __m512 v = _mm512_mul_ps(va, acc[i]);
        if (beta != 0) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, c + i * ldc), v);
        _mm512_mask_storeu_ps(c + i * ldc, m, v);
    }
}
// The lane sums of sixteen vectors at once: lane 4q + j of the result is the sum of v[4j + q].
// Each sum is added in the order _mm512_reduce_add_ps uses (lane i + lane i+8, then i + i+4,
// i + i+2, i + i+1), so the bits are the same, but the sixteen reductions share their
// shuffles: 30 shuffles and 15 adds instead of about 100 instructions. In the 10 x 30 x 784
// product of Nielsen's first layer the separate reductions were ~10 % of the instructions.
NABLA_INLINE NABLA_AVX512 __m512 reduce16_avx512(const __m512 *v) {
    __m512 t[8], w[4], x[2];
    for (int p = 0; p < 8; p++)  // lanes 8h..8h+7: v[2p+h], i + i+8
        t[p] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0xEE));
    for (int p = 0; p < 4; p++)  // quad h: v[4p+h], i + i+4
        w[p] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * p], t[2 * p + 1], 0x88),
                             _mm512_shuffle_f32x4(t[2 * p], t[2 * p + 1], 0xDD));
    for (int p = 0; p < 2; p++)  // quad q, lanes 0-1: v[8p+q], lanes 2-3: v[8p+4+q]; i + i+2
        x[p] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * p], w[2 * p + 1], 0x44),
                             _mm512_shuffle_ps(w[2 * p], w[2 * p + 1], 0xEE));
    // quad q: v[q], v[4+q], v[8+q], v[12+q]; i + i+1
    return _mm512_add_ps(_mm512_shuffle_ps(x[0], x[1], 0x88), _mm512_shuffle_ps(x[0], x[1], 0xDD));
}

// C = alpha·A·Bᵀ + beta·C as dot products of rows: R rows of A against S rows of B at a
// time, 5 x 5 where they fit (25 accumulators + 5 A vectors + 1 B vector = 31 of the 32 zmm
// registers; 25 FMAs per 10 loads) and smaller tiles at the edges, so no output is computed
// only to be thrown away (10 x 30 x 784, Nielsen's first layer, is 2 x 6 full tiles; the 4 x 4
// tiles used before computed 12 x 32 outputs for it). Each accumulator runs along K in 16
// lanes and is summed across its lanes once; a K not divisible by 16 ends in masked loads.
// Every output has the same bits whatever tile it falls in: the tiles differ only in the
// all-zero stretches they skip (nabla_dot_chunks).
NABLA_INLINE NABLA_AVX512 void dot_tile_avx512(const int R, const int S, long K, __mmask16 tail,
                                               const nabla_dot_chunks *chunks, float alpha,
                                               const float *A, long lda, const float *B, long ldb,
                                               float beta, float *C, long ldc) {
    const long kfull = K & ~15L;
    __m512 acc[5][5];
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) acc[r][s] = _mm512_setzero_ps();
    const long steps = chunks->count < 0 ? (K + 15) / 16 : chunks->count;
    for (long c = 0; c < steps; c++) {
        const long k = chunks->count < 0 ? 16 * c : 16L * chunks->start[c];
        const __mmask16 m = k < kfull ? (__mmask16)0xFFFF : tail;
        __m512 va[5];
        for (int r = 0; r < R; r++) va[r] = _mm512_maskz_loadu_ps(m, A + r * lda + k);
        for (int s = 0; s < S; s++) {
            __m512 vb = _mm512_maskz_loadu_ps(m, B + s * ldb + k);
            for (int r = 0; r < R; r++) acc[r][s] = _mm512_fmadd_ps(va[r], vb, acc[r][s]);
        }
    }
    // Sum each accumulator's lanes, sixteen accumulators at a time (see reduce16_avx512).
    __m512 v[32];
    for (int i = 0; i < 32; i++) v[i] = _mm512_setzero_ps();
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) v[r * S + s] = acc[r][s];
    float sums[32];
    _mm512_storeu_ps(sums, reduce16_avx512(v));
    if (R * S > 16) _mm512_storeu_ps(sums + 16, reduce16_avx512(v + 16));
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) {
            const int i = r * S + s, g = i & ~15, j = i & 15;  // v[i] summed into lane 4(j%4) + j/4
            float x = alpha * sums[g + 4 * (j & 3) + (j >> 2)];
            float *c = C + r * ldc + s;
            *c = beta == 0 ? x : x + beta * *c;
        }
}

// One band of R rows of A against all N rows of B: 5 rows of B at a time, then the rest.
NABLA_INLINE NABLA_AVX512 void dot_band_avx512(const int R, long N, long K, __mmask16 tail,
                                               float alpha, const float *A, long lda,
                                               const float *B, long ldb, float beta, float *C,
                                               long ldc) {
    // The stretches of 16 along K where all R rows of A are zero (see nabla_dot_chunks).
    nabla_dot_chunks chunks;
    chunks.count = -1;
    if (N > 5 && (K + 15) / 16 <= NABLA_DOT_MAX_CHUNKS) {
        const long kfull = K & ~15L;
        int n = 0;
        for (long k = 0; k < K; k += 16) {
            const __mmask16 m = k < kfull ? (__mmask16)0xFFFF : tail;
            // Lanes that are not ±0 (a NaN counts as nonzero).
            __mmask16 any = 0;
            for (int r = 0; r < R; r++)
                any |= _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, A + r * lda + k), _mm512_setzero_ps(), _CMP_NEQ_UQ);
            if (any) chunks.start[n++] = (short)(k / 16);
        }
        if (n < (K + 15) / 16) chunks.count = n;
    }
    long j = 0;
    for (; j + 5 <= N; j += 5)
        dot_tile_avx512(R, 5, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc);
    switch (N - j) {
    case 4: dot_tile_avx512(R, 4, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc); break;
    case 3: dot_tile_avx512(R, 3, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc); break;
    case 2: dot_tile_avx512(R, 2, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc); break;
    case 1: dot_tile_avx512(R, 1, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc); break;
    default: break;
    }
}

NABLA_AVX512 static void sgemm_dot_avx512(long M, long N, long K, float alpha, const float *A, long lda,
                                          const float *B, long ldb, float beta, float *C, long ldc) {
    const __mmask16 tail = (__mmask16)((1u << (K & 15)) - 1);
    long i = 0;
    for (; i + 5 <= M; i += 5)
        dot_band_avx512(5, N, K, tail, alpha, A + i * lda, lda, B, ldb, beta, C + i * ldc, ldc);
    const float *a = A + i * lda;
    float *c = C + i * ldc;
    switch (M - i) {
    case 4: dot_band_avx512(4, N, K, tail, alpha, a, lda, B, ldb, beta, c, ldc); break;
    case 3: dot_band_avx512(3, N, K, tail, alpha, a, lda, B, ldb, beta, c, ldc); break;
    case 2: dot_band_avx512(2, N, K, tail, alpha, a, lda, B, ldb, beta, c, ldc); break;
    case 1: dot_band_avx512(1, N, K, tail, alpha, a, lda, B, ldb, beta, c, ldc); break;
    default: break;
    }
}

const nabla_gemm_f32_impl nabla_sgemm_avx512 = {6, 32, sgemm_packed_avx512, sgemm_general_avx512,
                                                sgemm_pack_bt_avx512, 12, 16, sgemm_narrow_avx512,
                                                sgemm_dot_avx512, 512, 256, 5, 12};

NABLA_INLINE NABLA_AVX512 void k_f64_6x16(const int ROWS, long kc, const double *a, long rsa, long csa,
                                          const double *b, long rsb, double alpha, double beta,
                                          double *c, long ldc, long mra, long mr, long nr,
                                          int maskb) {
    __mmask8 m0 = nr >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << nr) - 1);
    __mmask8 m1 = nr >= 16 ? (__mmask8)0xFF : nr > 8 ? (__mmask8)((1u << (nr - 8)) - 1) : 0;
    __m512d c00 = _mm512_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const long o1 = mra > 1 ? rsa : 0, o2 = mra > 2 ? 2 * rsa : 0, o3 = mra > 3 ? 3 * rsa : 0,
               o4 = mra > 4 ? 4 * rsa : 0, o5 = mra > 5 ? 5 * rsa : 0;
#pragma clang loop unroll_count(4)
    for (long k = 0; k < kc; k++) {
        __m512d b0, b1;
        if (maskb) { b0 = _mm512_maskz_loadu_pd(m0, b); b1 = _mm512_maskz_loadu_pd(m1, b + 8); }
        else { b0 = _mm512_loadu_pd(b); b1 = _mm512_loadu_pd(b + 8); }
        __m512d x;
        x = _mm512_set1_pd(a[0]);  c00 = _mm512_fmadd_pd(x, b0, c00); c01 = _mm512_fmadd_pd(x, b1, c01);
        x = _mm512_set1_pd(a[o1]); c10 = _mm512_fmadd_pd(x, b0, c10); c11 = _mm512_fmadd_pd(x, b1, c11);
        x = _mm512_set1_pd(a[o2]); c20 = _mm512_fmadd_pd(x, b0, c20); c21 = _mm512_fmadd_pd(x, b1, c21);
        x = _mm512_set1_pd(a[o3]); c30 = _mm512_fmadd_pd(x, b0, c30); c31 = _mm512_fmadd_pd(x, b1, c31);
        x = _mm512_set1_pd(a[o4]); c40 = _mm512_fmadd_pd(x, b0, c40); c41 = _mm512_fmadd_pd(x, b1, c41);
        if (ROWS > 5) { x = _mm512_set1_pd(a[o5]); c50 = _mm512_fmadd_pd(x, b0, c50); c51 = _mm512_fmadd_pd(x, b1, c51); }
        a += csa;
        b += rsb;
    }
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

#define NR 16
static NABLA_AVX512 void dgemm_packed_avx512(long kc, const double *a, long rsa, long csa,
                                             const double *b, long rsb, double alpha, double beta,
                                             double *c, long ldc, long mr, long nr) {
    (void)rsa; (void)csa; (void)rsb;
    k_f64_6x16(6, kc, a, 1, 6, b, 16, alpha, beta, c, ldc, 6, mr, nr, 0);
}
static NABLA_AVX512 void dgemm_general_avx512(long kc, const double *a, long rsa, long csa,
                                              const double *b, long rsb, double alpha, double beta,
                                              double *c, long ldc, long mr, long nr) {
    if (mr <= 5) k_f64_6x16(5, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr, nr < NR);
    else k_f64_6x16(6, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr, nr < NR);
}
#undef NR

// Transposed-B packing for double: 8x8 register transposes, as for float.
static NABLA_AVX512 void dgemm_pack_bt_avx512(const double *B, long ldb, long kc, long cols,
                                              double *bp) {
    for (long h = 0; h < 16; h += 8) {
        long nj = cols - h < 0 ? 0 : cols - h > 8 ? 8 : cols - h;
        for (long kb = 0; kb < kc; kb += 8) {
            long nk = kc - kb < 8 ? kc - kb : 8;
            __m512d r[8], t[8], u[8];
            if (nj == 0) {
                for (long k = 0; k < nk; k++) _mm512_storeu_pd(bp + (kb + k) * 16 + h, _mm512_setzero_pd());
                continue;
            }
            __mmask8 km = (__mmask8)((1u << nk) - 1);
            for (int j = 0; j < 8; j++)
                r[j] = j < nj ? _mm512_maskz_loadu_pd(km, B + (h + j) * ldb + kb) : _mm512_setzero_pd();
            for (int j = 0; j < 8; j += 2) {
                t[j] = _mm512_unpacklo_pd(r[j], r[j + 1]);
                t[j + 1] = _mm512_unpackhi_pd(r[j], r[j + 1]);
            }
            for (int q = 0; q < 8; q += 4) {
                u[q + 0] = _mm512_shuffle_f64x2(t[q], t[q + 2], 0x88);      // k 0, 4
                u[q + 1] = _mm512_shuffle_f64x2(t[q], t[q + 2], 0xdd);      // k 2, 6
                u[q + 2] = _mm512_shuffle_f64x2(t[q + 1], t[q + 3], 0x88);  // k 1, 5
                u[q + 3] = _mm512_shuffle_f64x2(t[q + 1], t[q + 3], 0xdd);  // k 3, 7
            }
            r[0] = _mm512_shuffle_f64x2(u[0], u[4], 0x88);
            r[4] = _mm512_shuffle_f64x2(u[0], u[4], 0xdd);
            r[2] = _mm512_shuffle_f64x2(u[1], u[5], 0x88);
            r[6] = _mm512_shuffle_f64x2(u[1], u[5], 0xdd);
            r[1] = _mm512_shuffle_f64x2(u[2], u[6], 0x88);
            r[5] = _mm512_shuffle_f64x2(u[2], u[6], 0xdd);
            r[3] = _mm512_shuffle_f64x2(u[3], u[7], 0x88);
            r[7] = _mm512_shuffle_f64x2(u[3], u[7], 0xdd);
            for (long k = 0; k < nk; k++) _mm512_storeu_pd(bp + (kb + k) * 16 + h, r[k]);
        }
    }
}

// Narrow strided kernel for double: 12x8, as for float.
static NABLA_AVX512 void dgemm_narrow_avx512(long kc, const double *a, long rsa, long csa,
                                             const double *b, long rsb, double alpha, double beta,
                                             double *c, long ldc, long mr, long nr) {
    __mmask8 m = nr >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << nr) - 1);
    __m512d acc[12];
    long o[12];
    for (int i = 0; i < 12; i++) {
        acc[i] = _mm512_setzero_pd();
        o[i] = i < mr ? i * rsa : 0;
    }
    for (long k = 0; k < kc; k++) {
        __m512d bv = _mm512_maskz_loadu_pd(m, b);
        for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_pd(_mm512_set1_pd(a[o[i]]), bv, acc[i]);
        a += csa;
        b += rsb;
    }
    __m512d va = _mm512_set1_pd(alpha), vb = _mm512_set1_pd(beta);
    for (int i = 0; i < 12; i++) {
        if (i >= mr) break;
        __m512d v = _mm512_mul_pd(va, acc[i]);
        if (beta != 0) v = _mm512_fmadd_pd(vb, _mm512_maskz_loadu_pd(m, c + i * ldc), v);
        _mm512_mask_storeu_pd(c + i * ldc, m, v);
    }
}
const nabla_gemm_f64_impl nabla_dgemm_avx512 = {6, 16, dgemm_packed_avx512, dgemm_general_avx512,
                                                dgemm_pack_bt_avx512, 12, 8, dgemm_narrow_avx512,
                                                0, 0, 0, 5, 0};
#endif
