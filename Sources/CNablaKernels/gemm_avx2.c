// AVX2+FMA GEMM micro-kernels: 6x16 for float and 6x8 for double.
// 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers.
// Ragged tiles use vmaskmov loads/stores of C, and of B in the strided kernel, which
// reads B in place (vmaskmov never touches masked-off memory).
#include "internal.h"
#if NABLA_X86
#include <immintrin.h>

// ROWS (5 or 6, a constant once inlined): how many rows are multiplied; a tile of at most 5
// rows skips the sixth row's FMAs (see mr_short in internal.h). Likewise for double below.
NABLA_INLINE NABLA_AVX2 void k_f32_6x16(const int ROWS, long kc, const float *a, long rsa, long csa,
                                        const float *b, long rsb, float alpha, float beta,
                                        float *c, long ldc, long mra, long mr, long nr,
                                        int maskb) {
    // The column masks are made before the loop only when B is read through them; kept
    // live across it they would take the 16th and 17th registers and push accumulators
    // to the stack (measured: 100 x 784 x 10 ran at 33 GFLOPS that way).
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m0 = _mm256_setzero_si256(), m1 = m0;
    if (maskb) {
        m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr), iota);
        m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr - 8), iota);
    }
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const long o1 = mra > 1 ? rsa : 0, o2 = mra > 2 ? 2 * rsa : 0, o3 = mra > 3 ? 3 * rsa : 0,
               o4 = mra > 4 ? 4 * rsa : 0, o5 = mra > 5 ? 5 * rsa : 0;
    // Unrolled twice, not four times: with four the compiler loaded B for all four steps
    // up front and spilled them (strided kernel, one thread, medians of five alternating
    // runs: 100 x 784 x 10 at 55 -> 63 GFLOPS, 128^3 69 -> 90; the packed n = 1024 kernel
    // unchanged at 88).
#pragma clang loop unroll_count(2)
    for (long k = 0; k < kc; k++) {
        __m256 b0, b1;
        if (maskb) { b0 = _mm256_maskload_ps(b, m0); b1 = _mm256_maskload_ps(b + 8, m1); }
        else { b0 = _mm256_loadu_ps(b); b1 = _mm256_loadu_ps(b + 8); }
        __m256 x;
        x = _mm256_broadcast_ss(a);      c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + o1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + o2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + o3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + o4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        if (ROWS > 5) { x = _mm256_broadcast_ss(a + o5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51); }
        a += csa;
        b += rsb;
    }
    const int full = nr >= 16;
    if (!maskb && !full) {
        m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr), iota);
        m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr - 8), iota);
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#define ROW(i, r0, r1)                                                                   \
    if (i < mr) {                                                                        \
        float *cr = c + i * ldc;                                                         \
        __m256 v0 = _mm256_mul_ps(va, r0), v1 = _mm256_mul_ps(va, r1);                   \
        if (full) {                                                                      \
            if (beta != 0) {                                                             \
                v0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), v0);                       \
                v1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), v1);                   \
            }                                                                            \
            _mm256_storeu_ps(cr, v0);                                                    \
            _mm256_storeu_ps(cr + 8, v1);                                                \
        } else {                                                                         \
            if (beta != 0) {                                                             \
                v0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr, m0), v0);                \
                v1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8, m1), v1);            \
            }                                                                            \
            _mm256_maskstore_ps(cr, m0, v0);                                             \
            _mm256_maskstore_ps(cr + 8, m1, v1);                                         \
        }                                                                                \
    }
    ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21)
    ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
#undef ROW
}

static NABLA_AVX2 void sgemm_packed_avx2(long kc, const float *a, long rsa, long csa,
                                         const float *b, long rsb, float alpha, float beta,
                                         float *c, long ldc, long mr, long nr) {
    (void)rsa; (void)csa; (void)rsb;
    k_f32_6x16(6, kc, a, 1, 6, b, 16, alpha, beta, c, ldc, 6, mr, nr, 0);
}
static NABLA_AVX2 void sgemm_general_avx2(long kc, const float *a, long rsa, long csa,
                                          const float *b, long rsb, float alpha, float beta,
                                          float *c, long ldc, long mr, long nr) {
    // Two copies of the kernel: whole panels read B plainly, the last ragged one masked.
    if (mr <= 5) {
        if (nr >= 16) k_f32_6x16(5, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, 16, 0);
        else k_f32_6x16(5, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr, 1);
    } else {
        if (nr >= 16) k_f32_6x16(6, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, 16, 0);
        else k_f32_6x16(6, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr, 1);
    }
}
// Transposed-B packing (see nabla_packbt_f32): 8x8 blocks through registers, 8 rows of B
// (8 output columns) by 8 values of k at a time. Ragged k uses masked loads (which never
// touch masked-off memory); missing columns are zero rows.
static NABLA_AVX2 void sgemm_pack_bt_avx2(const float *B, long ldb, long kc, long cols, float *bp) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (long h = 0; h < 16; h += 8) {
        long nj = cols - h < 0 ? 0 : cols - h > 8 ? 8 : cols - h;
        for (long kb = 0; kb < kc; kb += 8) {
            long nk = kc - kb < 8 ? kc - kb : 8;
            if (nj == 0) {
                for (long k = 0; k < nk; k++) _mm256_storeu_ps(bp + (kb + k) * 16 + h, _mm256_setzero_ps());
                continue;
            }
            __m256i km = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nk), iota);
            __m256 r[8], t[8], u[8];
            for (int j = 0; j < 8; j++)
                r[j] = j >= nj ? _mm256_setzero_ps()
                     : nk == 8 ? _mm256_loadu_ps(B + (h + j) * ldb + kb)
                               : _mm256_maskload_ps(B + (h + j) * ldb + kb, km);
            for (int j = 0; j < 8; j += 2) {
                t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
                t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
            }
            for (int q = 0; q < 8; q += 4) {
                u[q + 0] = _mm256_shuffle_ps(t[q], t[q + 2], 0x44);
                u[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], 0xEE);
                u[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0x44);
                u[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
            }
            // u[m] (m < 4) holds rows 0-3 at k = m and m + 4; u[4 + m] rows 4-7.
            for (int m = 0; m < 4; m++) {
                r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
                r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
            }
            for (long k = 0; k < nk; k++) _mm256_storeu_ps(bp + (kb + k) * 16 + h, r[k]);
        }
    }
}

// C = alpha·A·Bᵀ + beta·C as dot products of rows (see nabla_dot_f32): R rows of A against
// S rows of B at a time, 3 x 4 where they fit (12 accumulators + 3 A vectors + 1 B vector =
// 16 ymm registers) and smaller tiles at the edges, so a 10-row product does not compute
// two rows it throws away (10 x 30 x 784, Nielsen's first layer: 3 x 4 tiles everywhere
// computed 12 x 32 outputs for 10 x 30). Lane sums are reduced once per output; a K not
// divisible by 8 ends in masked loads. Every output has the same bits whatever tile it
// falls in: the tiles differ only in the all-zero stretches they skip (nabla_dot_chunks).
NABLA_INLINE NABLA_AVX2 void dot_tile_f32(const int R, const int S, long K, __m256i tail,
                                          const nabla_dot_chunks *chunks, float alpha,
                                          const float *A, long lda, const float *B, long ldb,
                                          float beta, float *C, long ldc) {
    const long kfull = K & ~7L;
    __m256 acc[3][4];
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) acc[r][s] = _mm256_setzero_ps();
    const long steps = chunks->count < 0 ? (K + 7) / 8 : chunks->count;
    long c = 0, k = 0;
    for (; c < steps; c++) {
        k = chunks->count < 0 ? 8 * c : 8L * chunks->start[c];
        if (k >= kfull) break;
        __m256 va[3];
        for (int r = 0; r < R; r++) va[r] = _mm256_loadu_ps(A + r * lda + k);
        for (int s = 0; s < S; s++) {
            __m256 vb = _mm256_loadu_ps(B + s * ldb + k);
            for (int r = 0; r < R; r++) acc[r][s] = _mm256_fmadd_ps(va[r], vb, acc[r][s]);
        }
    }
    if (c < steps) {  // the last, partial stretch
        __m256 va[3];
        for (int r = 0; r < R; r++) va[r] = _mm256_maskload_ps(A + r * lda + k, tail);
        for (int s = 0; s < S; s++) {
            __m256 vb = _mm256_maskload_ps(B + s * ldb + k, tail);
            for (int r = 0; r < R; r++) acc[r][s] = _mm256_fmadd_ps(va[r], vb, acc[r][s]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) {
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[r][s]), _mm256_extractf128_ps(acc[r][s], 1));
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            h = _mm_add_ss(h, _mm_movehdup_ps(h));
            float v = alpha * _mm_cvtss_f32(h);
            float *c = C + r * ldc + s;
            *c = beta == 0 ? v : v + beta * *c;
        }
}

// One band of R rows of A against all N rows of B: 4 rows of B at a time, then the rest.
NABLA_INLINE NABLA_AVX2 void dot_band_f32(const int R, long N, long K, __m256i tail, float alpha,
                                          const float *A, long lda, const float *B, long ldb,
                                          float beta, float *C, long ldc) {
    // The stretches of 8 along K where all R rows of A are zero (see nabla_dot_chunks).
    nabla_dot_chunks chunks;
    chunks.count = -1;
    if (N > 4 && (K + 7) / 8 <= NABLA_DOT_MAX_CHUNKS) {
        const long kfull = K & ~7L;
        const __m256i magnitude = _mm256_set1_epi32(0x7FFFFFFF);
        int n = 0;
        for (long k = 0; k < K; k += 8) {
            __m256i any = _mm256_setzero_si256();
            for (int r = 0; r < R; r++) {
                const float *a = A + r * lda + k;
                __m256 v = k < kfull ? _mm256_loadu_ps(a) : _mm256_maskload_ps(a, tail);
                any = _mm256_or_si256(any, _mm256_castps_si256(v));
            }
            // −0 counts as zero: its products are ±0 too.
            if (!_mm256_testz_si256(any, magnitude)) chunks.start[n++] = (short)(k / 8);
        }
        if (n < (K + 7) / 8) chunks.count = n;
    }
    long j = 0;
    for (; j + 4 <= N; j += 4)
        dot_tile_f32(R, 4, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc);
    switch (N - j) {
    case 3: dot_tile_f32(R, 3, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc); break;
    case 2: dot_tile_f32(R, 2, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc); break;
    case 1: dot_tile_f32(R, 1, K, tail, &chunks, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc); break;
    default: break;
    }
}

NABLA_AVX2 static void sgemm_dot_avx2(long M, long N, long K, float alpha, const float *A, long lda,
                                      const float *B, long ldb, float beta, float *C, long ldc) {
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(K & 7)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    long i = 0;
    for (; i + 3 <= M; i += 3)
        dot_band_f32(3, N, K, tail, alpha, A + i * lda, lda, B, ldb, beta, C + i * ldc, ldc);
    if (M - i == 2) dot_band_f32(2, N, K, tail, alpha, A + i * lda, lda, B, ldb, beta, C + i * ldc, ldc);
    if (M - i == 1) dot_band_f32(1, N, K, tail, alpha, A + i * lda, lda, B, ldb, beta, C + i * ldc, ldc);
}

const nabla_gemm_f32_impl nabla_sgemm_avx2 = {6, 16, sgemm_packed_avx2, sgemm_general_avx2,
                                              sgemm_pack_bt_avx2, 0, 0, 0, sgemm_dot_avx2, 8192, 64, 5, 0};

NABLA_INLINE NABLA_AVX2 void k_f64_6x8(const int ROWS, long kc, const double *a, long rsa, long csa,
                                       const double *b, long rsb, double alpha, double beta,
                                       double *c, long ldc, long mra, long mr, long nr,
                                       int maskb) {
    // Masks as in k_f32_6x16: before the loop only when B is read through them.
    const __m256i iota = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256i m0 = _mm256_setzero_si256(), m1 = m0;
    if (maskb) {
        m0 = _mm256_cmpgt_epi64(_mm256_set1_epi64x(nr), iota);
        m1 = _mm256_cmpgt_epi64(_mm256_set1_epi64x(nr - 4), iota);
    }
    __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const long o1 = mra > 1 ? rsa : 0, o2 = mra > 2 ? 2 * rsa : 0, o3 = mra > 3 ? 3 * rsa : 0,
               o4 = mra > 4 ? 4 * rsa : 0, o5 = mra > 5 ? 5 * rsa : 0;
#pragma clang loop unroll_count(2)  // as in k_f32_6x16
    for (long k = 0; k < kc; k++) {
        __m256d b0, b1;
        if (maskb) { b0 = _mm256_maskload_pd(b, m0); b1 = _mm256_maskload_pd(b + 4, m1); }
        else { b0 = _mm256_loadu_pd(b); b1 = _mm256_loadu_pd(b + 4); }
        __m256d x;
        x = _mm256_broadcast_sd(a);      c00 = _mm256_fmadd_pd(x, b0, c00); c01 = _mm256_fmadd_pd(x, b1, c01);
        x = _mm256_broadcast_sd(a + o1); c10 = _mm256_fmadd_pd(x, b0, c10); c11 = _mm256_fmadd_pd(x, b1, c11);
        x = _mm256_broadcast_sd(a + o2); c20 = _mm256_fmadd_pd(x, b0, c20); c21 = _mm256_fmadd_pd(x, b1, c21);
        x = _mm256_broadcast_sd(a + o3); c30 = _mm256_fmadd_pd(x, b0, c30); c31 = _mm256_fmadd_pd(x, b1, c31);
        x = _mm256_broadcast_sd(a + o4); c40 = _mm256_fmadd_pd(x, b0, c40); c41 = _mm256_fmadd_pd(x, b1, c41);
        if (ROWS > 5) { x = _mm256_broadcast_sd(a + o5); c50 = _mm256_fmadd_pd(x, b0, c50); c51 = _mm256_fmadd_pd(x, b1, c51); }
        a += csa;
        b += rsb;
    }
    const int full = nr >= 8;
    if (!maskb && !full) {
        m0 = _mm256_cmpgt_epi64(_mm256_set1_epi64x(nr), iota);
        m1 = _mm256_cmpgt_epi64(_mm256_set1_epi64x(nr - 4), iota);
    }
    __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
#define ROW(i, r0, r1)                                                                   \
    if (i < mr) {                                                                        \
        double *cr = c + i * ldc;                                                        \
        __m256d v0 = _mm256_mul_pd(va, r0), v1 = _mm256_mul_pd(va, r1);                  \
        if (full) {                                                                      \
            if (beta != 0) {                                                             \
                v0 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(cr), v0);                       \
                v1 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(cr + 4), v1);                   \
            }                                                                            \
            _mm256_storeu_pd(cr, v0);                                                    \
            _mm256_storeu_pd(cr + 4, v1);                                                \
        } else {                                                                         \
            if (beta != 0) {                                                             \
                v0 = _mm256_fmadd_pd(vb, _mm256_maskload_pd(cr, m0), v0);                \
                v1 = _mm256_fmadd_pd(vb, _mm256_maskload_pd(cr + 4, m1), v1);            \
            }                                                                            \
            _mm256_maskstore_pd(cr, m0, v0);                                             \
            _mm256_maskstore_pd(cr + 4, m1, v1);                                         \
        }                                                                                \
    }
    ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21)
    ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
#undef ROW
}

static NABLA_AVX2 void dgemm_packed_avx2(long kc, const double *a, long rsa, long csa,
                                         const double *b, long rsb, double alpha, double beta,
                                         double *c, long ldc, long mr, long nr) {
    (void)rsa; (void)csa; (void)rsb;
    k_f64_6x8(6, kc, a, 1, 6, b, 8, alpha, beta, c, ldc, 6, mr, nr, 0);
}
static NABLA_AVX2 void dgemm_general_avx2(long kc, const double *a, long rsa, long csa,
                                          const double *b, long rsb, double alpha, double beta,
                                          double *c, long ldc, long mr, long nr) {
    if (mr <= 5) {
        if (nr >= 8) k_f64_6x8(5, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, 8, 0);
        else k_f64_6x8(5, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr, 1);
    } else {
        if (nr >= 8) k_f64_6x8(6, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, 8, 0);
        else k_f64_6x8(6, kc, a, rsa, csa, b, rsb, alpha, beta, c, ldc, mr, mr, nr, 1);
    }
}
const nabla_gemm_f64_impl nabla_dgemm_avx2 = {6, 8, dgemm_packed_avx2, dgemm_general_avx2, 0, 0, 0, 0,
                                              0, 0, 0, 5};
#endif
