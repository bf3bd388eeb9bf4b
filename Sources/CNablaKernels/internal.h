// Private declarations shared by the CNablaKernels source files (not part of the API).
#ifndef CNABLA_INTERNAL_H
#define CNABLA_INTERNAL_H

#include "CNablaKernels.h"
#include <stddef.h>
#include <stdlib.h>

// Attributes for per-function instruction sets. SwiftPM compiles C for baseline x86-64
// and we may not use unsafeFlags, so every fast function carries its own target.
#if defined(__x86_64__) || defined(__i386__)
#define NABLA_X86 1
#ifdef NABLA_EMULATE_AVX512
// Testing only (.ci/avx512/run): the AVX-512 intrinsics are plain-C lane loops
// (.ci/avx512/avx512_emu.h), so the AVX-512 paths run, slowly, on an AVX2 CPU.
#define NABLA_AVX512 __attribute__((target("avx2,fma")))
#else
#define NABLA_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,fma")))
#endif
#define NABLA_AVX2 __attribute__((target("avx2,fma")))
#else
#define NABLA_X86 0
#endif
#define NABLA_INLINE static inline __attribute__((always_inline))

// The largest K that every GEMM path sums in one pass (see gemm.c).
long nabla_gemm_one_pass_depth(void);

// The calling thread's own settings (nabla_set_thread_settings), or 0 if it has none. Every
// setting's getter looks here first.
const nabla_settings *nabla_thread_override(void);
// Installs `s` (already clamped) as the calling thread's own settings; 0 removes them. The
// pool uses it to run a caller's tasks under the caller's settings.
void nabla_install_thread_override(const nabla_settings *s);

// A scratch buffer owned by the calling thread (*p, *cap bytes in thread-local variables),
// grown on demand, 64-byte aligned, and kept between calls: page-faulting fresh megabytes
// on every call would cost more than a mid-sized product or convolution. Returns 0 if the
// memory could not be had (the buffer is then empty).
NABLA_INLINE void *nabla_thread_buffer(void **p, size_t *cap, size_t bytes) {
    if (bytes > *cap) {
        free(*p);
        *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        *cap = *p ? bytes : 0;
    }
    return *p;
}

// ---- GEMM micro-kernels ------------------------------------------------------------------
// A micro-kernel computes an MR x NR tile:
//   C[i][j] = alpha * sum_k A(i,k) * B(k,j) + beta * C[i][j]   for i < mr, j < nr
// with A(i,k) = a[i*rsa + k*csa] (only rows i < mr are read) and B(k,j) = b[k*rsb + j].
// The packed kernel reads all NR columns of B (packed panels are zero-padded); the
// general kernel reads only columns j < nr, so it can run on B in place.
// beta == 0 overwrites C without reading it.
typedef void (*nabla_ukr_f32)(long kc, const float *a, long rsa, long csa,
                              const float *b, long rsb, float alpha, float beta,
                              float *c, long ldc, long mr, long nr);
typedef void (*nabla_ukr_f64)(long kc, const double *a, long rsa, long csa,
                              const double *b, long rsb, double alpha, double beta,
                              double *c, long ldc, long mr, long nr);

// Packs one nr-wide panel of a transposed B: bp[k*nr + j] = B[j*ldb + k] for j < cols,
// zero for cols <= j < nr, k < kc. Optional (0: the driver's scalar loop is used).
typedef void (*nabla_packbt_f32)(const float *B, long ldb, long kc, long cols, float *bp);
typedef void (*nabla_packbt_f64)(const double *B, long ldb, long kc, long cols, double *bp);

// Optional: C = alpha * A·Bᵀ + beta * C (beta == 0: C not read) with A (M x K) and B (N x K)
// both row-major, as dot products of rows. For tiny outputs with a long K (a convolution's
// weight gradient: 20 x 25 outputs, K = 576), where a register tile 32 columns wide would
// leave most of its lanes idle.
typedef void (*nabla_dot_f32)(long M, long N, long K, float alpha, const float *A, long lda,
                              const float *B, long ldb, float beta, float *C, long ldc);
typedef void (*nabla_dot_f64)(long M, long N, long K, double alpha, const double *A, long lda,
                              const double *B, long ldb, double beta, double *C, long ldc);

// The stretches along K (one vector wide: 16 floats with AVX-512, 8 with AVX2) that a band
// of rows of the float dot-product kernel computes: `start` lists them, in vectors, when
// some are skipped; count < 0 means all of them. A stretch where every row of the band's A
// is ±0 is skipped: each of its products is ±0, and adding ±0 to an accumulator that starts
// at +0 leaves it as it was, so a finite result has the same bits either way. (An infinite
// or NaN value of B facing only zeros is then not seen, as in the reference BLAS, which
// also skips zero factors; a NaN in A is never skipped.) The band computes the list once
// for all its tiles, when it has more than one tile. MNIST images are mostly zero: a band
// of five has 38 of its 49 stretches of 16 pixels nonzero on average, so Nielsen's first
// layer does about a fifth less work.
#define NABLA_DOT_MAX_CHUNKS 1024
typedef struct {
    long count;
    short start[NABLA_DOT_MAX_CHUNKS];
} nabla_dot_chunks;

typedef struct {
    int mr, nr;               // register tile
    nabla_ukr_f32 packed;     // A packed (rsa = 1, csa = mr), B packed (rsb = nr)
    nabla_ukr_f32 general;    // any rsa/csa/rsb
    nabla_packbt_f32 pack_bt;
    // Optional strided kernel for a last panel at most nr_n wide (mr_n x nr_n tiles):
    // keeps more lanes busy than an nr-wide tile when N is small, e.g. N = 10.
    int mr_n, nr_n;
    nabla_ukr_f32 narrow;
    nabla_dot_f32 dot;        // optional (0: not used)
    // A·Bᵀ goes to `dot` when M·N <= dot_max_outputs and K >= dot_min_k (see use_dot).
    long dot_max_outputs, dot_min_k;
    // Optional (0: none): `general` given at most mr_short rows does only mr_short rows of
    // work, so the strided path covers M exactly with tiles of mr and mr_short rows.
    int mr_short;
    // A·Bᵀ also goes to `dot` when M <= dot_max_rows and K >= dot_min_k, whatever N (a
    // small batch through a dense layer; 0: no such rule).
    long dot_max_rows;
} nabla_gemm_f32_impl;
typedef struct {
    int mr, nr;
    nabla_ukr_f64 packed;
    nabla_ukr_f64 general;
    nabla_packbt_f64 pack_bt;
    int mr_n, nr_n;
    nabla_ukr_f64 narrow;
    nabla_dot_f64 dot;
    long dot_max_outputs, dot_min_k;
    int mr_short;
    long dot_max_rows;
} nabla_gemm_f64_impl;

extern const nabla_gemm_f32_impl nabla_sgemm_portable, nabla_sgemm_avx2, nabla_sgemm_avx512;
extern const nabla_gemm_f64_impl nabla_dgemm_portable, nabla_dgemm_avx2, nabla_dgemm_avx512;

// ---- vector math (vmath_*.c) ---------------------------------------------------------------
void nabla_vexp_portable(const float *x, float *y, long n);
void nabla_vlog_portable(const float *x, float *y, long n);
void nabla_vsigmoid_portable(const float *x, float *y, long n);
void nabla_vtanh_portable(const float *x, float *y, long n);
#if NABLA_X86
void nabla_vexp_avx2(const float *x, float *y, long n);
void nabla_vlog_avx2(const float *x, float *y, long n);
void nabla_vsigmoid_avx2(const float *x, float *y, long n);
void nabla_vtanh_avx2(const float *x, float *y, long n);
void nabla_vexp_avx512(const float *x, float *y, long n);
void nabla_vlog_avx512(const float *x, float *y, long n);
void nabla_vsigmoid_avx512(const float *x, float *y, long n);
void nabla_vtanh_avx512(const float *x, float *y, long n);
#endif

#endif
