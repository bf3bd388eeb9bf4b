// CNablaKernels: the hot loops of Nabla, in C so that each function can carry its own
// __attribute__((target(...))) and be chosen at run time (AVX-512, AVX2+FMA, portable).
// Kernels know nothing about tensors or graphs: they take raw pointers and sizes.
// All matrices are row-major. Sizes are `long` (64-bit on Linux x86_64).
#ifndef CNABLA_KERNELS_H
#define CNABLA_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- instruction set and threads -------------------------------------------------------

/// Instruction-set paths a kernel can take.
typedef enum {
    NABLA_ISA_PORTABLE = 0,
    NABLA_ISA_AVX2 = 1,
    NABLA_ISA_AVX512 = 2,
} nabla_isa;

/// The path in use on the calling thread (see nabla_set_thread_settings). The process's
/// path is, on first use, the best the CPU supports, unless the environment variable
/// NABLA_KERNELS is "portable", "avx2" or "avx512" (never above what the CPU has).
int nabla_kernels_isa(void);
/// Forces a path for the process (clamped to what the CPU supports) and returns it.
int nabla_kernels_set_isa(int isa);
/// "portable", "avx2" or "avx512".
const char *nabla_kernels_isa_name(int isa);

/// Number of threads large kernels may use (on the calling thread's own settings, if any).
/// Default: NABLA_THREADS if set, else the number of online CPUs.
int nabla_num_threads(void);
/// Sets the process's thread count (values below 1 mean 1).
void nabla_set_num_threads(int n);

/// The settings above, with the Winograd switch and the GEMM strided limit (further down),
/// as one value.
typedef struct {
    int isa;             // a nabla_isa
    int threads;         // at least 1
    int winograd;        // 0 or 1
    long strided_limit;  // as nabla_gemm_set_strided_limit takes it (negative: the default)
} nabla_settings;
/// The settings in effect on the calling thread: its own (below) if it has some, else the
/// process-wide ones.
nabla_settings nabla_settings_in_effect(void);
/// Gives the calling thread settings of its own, used by every kernel it calls and by the
/// pool workers while they run tasks it started, until nabla_clear_thread_settings; other
/// threads keep the process-wide settings. Values are clamped as the process-wide setters
/// clamp them. Tests use this to force a path without changing what tests running at the
/// same time on other threads compute.
void nabla_set_thread_settings(nabla_settings s);
/// Drops the calling thread's own settings: it follows the process-wide ones again.
void nabla_clear_thread_settings(void);
/// 1 if the calling thread has settings of its own, else 0.
int nabla_thread_has_settings(void);

// ---- matrix products ---------------------------------------------------------------------

/// C = alpha * op(A) * op(B) + beta * C, where op(A) is M×K and op(B) is K×N.
/// transA == 0: A is M×K with row stride lda; transA != 0: A is K×M with row stride lda.
/// Likewise for B (K×N, or N×K when transB). C is M×N with row stride ldc.
/// beta == 0 means C is overwritten (its old contents may be NaN).
void nabla_sgemm(int transA, int transB, long M, long N, long K, float alpha,
                 const float *A, long lda, const float *B, long ldb,
                 float beta, float *C, long ldc);
/// Double-precision version of nabla_sgemm.
void nabla_dgemm(int transA, int transB, long M, long N, long K, double alpha,
                 const double *A, long lda, const double *B, long ldb,
                 double beta, double *C, long ldc);

/// Tuning and testing knob for both GEMMs (process-wide): products whose op(A) and op(B) together take at
/// most `bytes` bytes use the strided path (no copies; A and B read in place), larger
/// ones the packed, cache-blocked path. A negative value restores the measured default
/// (4 MiB with AVX-512, 384 KiB otherwise). 0 forces packing for every product.
void nabla_gemm_set_strided_limit(long bytes);
/// The value set by nabla_gemm_set_strided_limit, or by nabla_set_thread_settings on the
/// calling thread (-1 when the default is in effect).
long nabla_gemm_strided_limit(void);

// ---- elementwise transcendental functions (float32) -----------------------------------

/// y[i] = exp(x[i]). x and y may be the same buffer.
void nabla_vexp_f32(const float *x, float *y, long n);
/// y[i] = log(x[i]).
void nabla_vlog_f32(const float *x, float *y, long n);
/// y[i] = 1 / (1 + exp(-x[i])). x and y may be the same buffer.
void nabla_vsigmoid_f32(const float *x, float *y, long n);
/// y[i] = tanh(x[i]). x and y may be the same buffer.
void nabla_vtanh_f32(const float *x, float *y, long n);
/// y[i] = x[i] if x[i] > 0, else +0 (NaN too). x and y may be the same buffer.
void nabla_vrelu_f32(const float *x, float *y, long n);
/// y[i] = g[i] if x[i] > 0, else +0: ReLU's backward. y may be g or x.
void nabla_vrelu_backward_f32(const float *g, const float *x, float *y, long n);

// ---- threads ---------------------------------------------------------------------------

/// Runs fn(ctx, i) for every i in [0, n) on the calling thread plus up to nthreads-1 pool
/// workers, handing tasks out dynamically; returns when all are done. Callers must make
/// each task's result independent of the thread that runs it (then results do not depend
/// on timing or thread count). A call made while the pool is busy (nested, or from
/// another thread) runs all tasks on the calling thread.
void nabla_parallel_for(long n, int nthreads, void (*fn)(void *ctx, long i), void *ctx);

// ---- convolution helpers (one image, NCHW) ---------------------------------------------

/// Whether the convolution ops may use the Winograd kernels below (1, the default) or
/// always the direct im2col + GEMM path (0). Read from NABLA_WINOGRAD=0 at first use;
/// nabla_set_winograd changes it for the process (nabla_set_thread_settings for one thread).
int nabla_winograd_enabled(void);
void nabla_set_winograd(int on);
/// Winograd F(4x4, 5x5) convolution of a batch, float32, stride 1, no dilation (results
/// within about 1e-6 of the largest term of their 4x4 tile; with padding above 4 an output
/// that sees only padding is then not exactly 0):
/// y[n][k] = sum over c of w[k][c] correlated with x[n][c], zero padding ph, pw, so
/// y is N x K x (H + 2ph - 4) x (W + 2pw - 4) and is overwritten. Returns 0, writing
/// nothing, if the shapes are empty or scratch memory could not be had.
int nabla_conv5x5_forward_f32(const float *x, long N, long C, long H, long W, const float *w, long K,
                              long ph, long pw, float *y);
/// Input gradient of that convolution: gx[n][c] (N x C x H x W, overwritten) from the
/// output gradient gy (N x K x (H + 2ph - 4) x (W + 2pw - 4)) and the weights w[K][C][5][5],
/// by the adjoint of the forward transforms. Returns 0 as above.
int nabla_conv5x5_backward_input_f32(const float *gy, long N, long K, long C, long H, long W, const float *w,
                                     long ph, long pw, float *gx);
/// Weight gradient of that convolution (F(5x5, 4x4)): gw[k][c][5][5] = sum over images
/// and output positions of gy[n][k] times the matching 5x5 window of x[n][c]; gy is
/// N x K x (H + 2ph - 4) x (W + 2pw - 4). Overwrites gw; returns 0 as above.
int nabla_conv5x5_weight_grad_f32(const float *x, const float *gy, long N, long C, long H, long W, long K,
                                  long ph, long pw, float *gw);

/// Unfolds one image x[C][H][W] into cols[C*KH*KW][OH*OW] (zero where the window
/// covers padding). Stride sh/sw, padding ph/pw, dilation dh/dw.
void nabla_im2col_f32(const float *x, long C, long H, long W, long KH, long KW,
                      long sh, long sw, long ph, long pw, long dh, long dw,
                      long OH, long OW, float *cols);
void nabla_im2col_f64(const double *x, long C, long H, long W, long KH, long KW,
                      long sh, long sw, long ph, long pw, long dh, long dw,
                      long OH, long OW, double *cols);
/// The adjoint of im2col: adds cols[C*KH*KW][OH*OW] back into x[C][H][W] (x is not
/// cleared first).
void nabla_col2im_f32(const float *cols, long C, long H, long W, long KH, long KW,
                      long sh, long sw, long ph, long pw, long dh, long dw,
                      long OH, long OW, float *x);
void nabla_col2im_f64(const double *cols, long C, long H, long W, long KH, long KW,
                      long sh, long sw, long ph, long pw, long dh, long dw,
                      long OH, long OW, double *x);

/// 2×2 max pooling with stride 2 and no padding over `planes` planes of H×W floats:
/// y[p][oi][oj] is the largest of the window at rows 2·oi, 2·oi+1 and columns 2·oj, 2·oj+1
/// (a NaN wins, the last one if several; among tied maxima the first in row-major order
/// stays), and idx the index of the chosen element within its input plane.
/// OH ≤ H/2, OW ≤ W/2.
void nabla_maxpool2x2_f32(const float *x, float *y, int32_t *idx, long planes, long H, long W,
                          long OH, long OW);
/// The same pooling over max(x, 0) (NaN giving 0, as nabla_vrelu_f32), computed in
/// registers: y and idx are those of nabla_maxpool2x2_f32 applied to nabla_vrelu_f32's output.
void nabla_relu_maxpool2x2_f32(const float *x, float *y, int32_t *idx, long planes, long H, long W,
                               long OH, long OW);

/// The backward of nabla_maxpool2x2_f32: gx[p][idx[p][o]] = gy[p][o] + 0 (−0 becomes +0, as
/// when adding into zeros) for every window o, and 0 at every other element of the H×W
/// planes (including rows and columns no window covers). gx is written in full, once.
void nabla_maxpool2x2_backward_f32(const float *gy, const int32_t *idx, float *gx, long planes, long H,
                                   long W, long OH, long OW);

// ---- data loading ---------------------------------------------------------------------

/// Gathers `count` rows of `rowBytes` bytes each, row `rows[k]` of `src`, into `dst` as
/// floats: dst[k * rowBytes + j] = (float)((double)src[rows[k] * rowBytes + j] * scale),
/// the same bits on every kernel path. Every row is prefetched first, so the random rows of
/// a shuffled mini-batch are fetched from memory in parallel instead of one cache miss
/// after another.
void nabla_gather_rows_u8_f32(const uint8_t *src, long rowBytes, const long *rows, long count,
                              double scale, float *dst);

/// Hints the CPU to fetch rows `rows[k]` of `src` (rowBytes each) into the caches.
void nabla_prefetch_rows(const uint8_t *src, long rowBytes, const long *rows, long count);

/// Plain SGD on a parameter buffer: w[j] ← w[j] − lr·(g[j] + wd·w[j]) for j < n (wd = 0:
/// w[j] − lr·g[j]), each element with separate multiplies and adds in that order, so every
/// path and thread count gives the scalar formula's bits. Updates of more than 256 Ki
/// elements are split across the kernel threads.
void nabla_sgd_update_f32(float *w, const float *g, long n, float lr, float wd);
void nabla_sgd_update_f64(double *w, const double *g, long n, double lr, double wd);

/// Plain SGD whose gradient is a product: W ← W − lr·op(A)·op(B), W being M×N with row
/// stride N and op(A), op(B) as in nabla_sgemm. The result has exactly the bits of forming
/// G = op(A)·op(B) with nabla_sgemm (alpha 1, beta 0) and then calling nabla_sgd_update_f32
/// with wd = 0, for any thread count. When K fits one pass of the GEMM (K ≤ 256) and lr ≠ 0
/// the product is added to W directly (alpha = −lr, beta = 1), with no buffer for G: each
/// element of G is the same sum as before, and W + (−lr·sum) rounds as W − lr·G does.
/// Otherwise G is formed in a temporary buffer first. Returns 0, or −1 if that buffer could
/// not be allocated (W is then unchanged).
int nabla_sgd_product_update_f32(int transA, int transB, long M, long N, long K,
                                 const float *A, long lda, const float *B, long ldb,
                                 float *W, float lr);
int nabla_sgd_product_update_f64(int transA, int transB, long M, long N, long K,
                                 const double *A, long lda, const double *B, long ldb,
                                 double *W, double lr);

#ifdef __cplusplus
}
#endif
#endif
