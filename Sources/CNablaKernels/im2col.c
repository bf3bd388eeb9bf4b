// im2col / col2im for one NCHW image, float and double.
// For each kernel offset (c, ki, kj) and output row oi, the input columns that land inside
// the image form one contiguous range of output columns [lo, hi): we compute it once and
// then copy (a memcpy when the stride is 1) or accumulate without a test per element;
// everything outside the range is padding (zeros for im2col, skipped for col2im).
#include "internal.h"
#include <string.h>

// Copies n bytes in 32-byte pieces. The rows here are short (8 to 28 floats for the
// MNIST shapes), where a memcpy call costs more than the copy; fixed-size memcpys
// compile to plain vector moves.
static inline void copy_short(void *dst, const void *src, size_t n) {
    char *d = (char *)dst;
    const char *s = (const char *)src;
    for (; n >= 32; n -= 32, d += 32, s += 32) memcpy(d, s, 32);
    if (n >= 16) { memcpy(d, s, 16); n -= 16; d += 16; s += 16; }
    if (n >= 8) { memcpy(d, s, 8); n -= 8; d += 8; s += 8; }
    if (n >= 4) { memcpy(d, s, 4); }
}

// Output columns oj in [0, OW) with 0 <= oj*s + off < W form [*lo, *hi).
static void valid_range(long off, long s, long W, long OW, long *lo, long *hi) {
    long a = off >= 0 ? 0 : (-off + s - 1) / s;
    long b = W - off <= 0 ? 0 : (W - off + s - 1) / s;
    if (b > OW) b = OW;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

// The float32 generic loops are private: the public entry points below choose a path.
static void im2col_f32_generic(const float *x, long C, long H, long W, long KH, long KW, long sh, long sw,
                               long ph, long pw, long dh, long dw, long OH, long OW, float *cols);
static void col2im_f32_generic(const float *cols, long C, long H, long W, long KH, long KW, long sh, long sw,
                               long ph, long pw, long dh, long dw, long OH, long OW, float *x);

#define IM2COL(NAME, T)                                                                   \
    void NAME(const T *x, long C, long H, long W, long KH, long KW, long sh, long sw,    \
              long ph, long pw, long dh, long dw, long OH, long OW, T *cols) {            \
        if (OH <= 0 || OW <= 0) return;                                                  \
        T *dst = cols;                                                                   \
        for (long c = 0; c < C; c++)                                                     \
            for (long ki = 0; ki < KH; ki++)                                             \
                for (long kj = 0; kj < KW; kj++) {                                       \
                    long off = kj * dw - pw, lo, hi;                                     \
                    valid_range(off, sw, W, OW, &lo, &hi);                               \
                    for (long oi = 0; oi < OH; oi++, dst += OW) {                        \
                        long ii = oi * sh - ph + ki * dh;                                \
                        if (ii < 0 || ii >= H) {                                         \
                            memset(dst, 0, (size_t)OW * sizeof(T));                      \
                            continue;                                                    \
                        }                                                                \
                        const T *src = x + (c * H + ii) * W + off;                       \
                        for (long oj = 0; oj < lo; oj++) dst[oj] = 0;                    \
                        if (sw == 1)                                                     \
                            copy_short(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(T)); \
                        else                                                             \
                            for (long oj = lo; oj < hi; oj++) dst[oj] = src[oj * sw];    \
                        for (long oj = hi; oj < OW; oj++) dst[oj] = 0;                   \
                    }                                                                    \
                }                                                                        \
    }

#define COL2IM(NAME, T)                                                                   \
    void NAME(const T *cols, long C, long H, long W, long KH, long KW, long sh, long sw, \
              long ph, long pw, long dh, long dw, long OH, long OW, T *x) {              \
        if (OH <= 0 || OW <= 0) return;                                                  \
        const T *src = cols;                                                             \
        for (long c = 0; c < C; c++)                                                     \
            for (long ki = 0; ki < KH; ki++)                                             \
                for (long kj = 0; kj < KW; kj++) {                                       \
                    long off = kj * dw - pw, lo, hi;                                     \
                    valid_range(off, sw, W, OW, &lo, &hi);                               \
                    for (long oi = 0; oi < OH; oi++, src += OW) {                        \
                        long ii = oi * sh - ph + ki * dh;                                \
                        if (ii < 0 || ii >= H) continue;                                 \
                        T *dst = x + (c * H + ii) * W + off;                             \
                        if (sw == 1)                                                     \
                            for (long oj = lo; oj < hi; oj++) dst[oj] += src[oj];        \
                        else                                                             \
                            for (long oj = lo; oj < hi; oj++) dst[oj * sw] += src[oj];   \
                    }                                                                    \
                }                                                                        \
    }

IM2COL(im2col_f32_generic, float)
IM2COL(nabla_im2col_f64, double)
COL2IM(col2im_f32_generic, float)
COL2IM(nabla_col2im_f64, double)

// ---- float32, column stride 1 ------------------------------------------------------------------
//
// With sw == 1, output row oi of kernel offset (c, ki, kj) reads input row ii at columns
// oj + off, oj in [lo, hi), and is zero elsewhere. These loops do no division and no test
// per element, and give exactly the values of the generic loops: im2col copies, and
// col2im makes the same additions in the same order (for one element of x: by ki, then
// by kj), so the result is bit-identical on every path.

// Columns oj in [0, OW) with 0 <= oj + off < W, for stride 1.
NABLA_INLINE void valid_range_s1(long off, long W, long OW, long *lo, long *hi) {
    long a = off >= 0 ? 0 : -off, b = W - off;
    if (b > OW) b = OW;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

// Copies n >= 1 floats with fixed-size moves; the last move of a row overlaps the one
// before it instead of finishing element by element (it rewrites the same values).
// Compiled inside a function with a target attribute, the 64-byte moves become one
// AVX-512 register move, or two AVX ones.
NABLA_INLINE void copy_row(float *d, const float *s, long n) {
    if (n >= 16) {
        long j = 0;
        for (; j + 16 <= n; j += 16) memcpy(d + j, s + j, 64);
        if (j < n) memcpy(d + n - 16, s + n - 16, 64);
    } else if (n >= 8) {
        memcpy(d, s, 32);
        memcpy(d + n - 8, s + n - 8, 32);
    } else if (n >= 4) {
        memcpy(d, s, 16);
        memcpy(d + n - 4, s + n - 4, 16);
    } else {
        for (long j = 0; j < n; j++) d[j] = s[j];
    }
}

// Output rows oi in [0, OH) whose input row oi*sh - ph + ki*dh lies in [0, H) form
// [*r0, *r1); the division is only needed for a row stride above 1.
NABLA_INLINE void inside_rows(long ki, long H, long OH, long sh, long ph, long dh, long *r0, long *r1) {
    long first = ph - ki * dh, end = H + ph - ki * dh;   // oi*sh in [first, end)
    long a, b;
    if (sh == 1) {
        a = first;
        b = end;
    } else {
        a = first <= 0 ? 0 : (first + sh - 1) / sh;
        b = end <= 0 ? 0 : (end + sh - 1) / sh;
    }
    if (a < 0) a = 0;
    if (b > OH) b = OH;
    if (a > b) a = b;
    *r0 = a;
    *r1 = b;
}

// The rows of one kernel offset are a block of OH*OW values: the rows that miss the image
// are zeroed with one memset each side, the others copied.
#define IM2COL_S1(NAME, ATTR)                                                                 \
    ATTR static void NAME(const float *x, long C, long H, long W, long KH, long KW, long sh, \
                          long ph, long pw, long dh, long dw, long OH, long OW, float *cols) { \
        float *dst = cols;                                                                    \
        for (long c = 0; c < C; c++)                                                          \
            for (long ki = 0; ki < KH; ki++) {                                                \
                long r0, r1;                                                                  \
                inside_rows(ki, H, OH, sh, ph, dh, &r0, &r1);                                 \
                for (long kj = 0; kj < KW; kj++, dst += OH * OW) {                            \
                    long off = kj * dw - pw, lo, hi;                                          \
                    valid_range_s1(off, W, OW, &lo, &hi);                                     \
                    long a = hi > lo ? r0 : OH, b = hi > lo ? r1 : OH;                        \
                    if (a > 0) memset(dst, 0, (size_t)(a * OW) * sizeof(float));              \
                    if (b < OH) memset(dst + b * OW, 0, (size_t)((OH - b) * OW) * sizeof(float)); \
                    const float *src = x + (c * H + a * sh - ph + ki * dh) * W + off + lo;    \
                    for (long oi = a; oi < b; oi++, src += sh * W) {                          \
                        float *d = dst + oi * OW;                                             \
                        for (long oj = 0; oj < lo; oj++) d[oj] = 0;                           \
                        copy_row(d + lo, src, hi - lo);                                       \
                        for (long oj = hi; oj < OW; oj++) d[oj] = 0;                          \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
    }

IM2COL_S1(im2col_s1_portable, )

#if NABLA_X86
#include <immintrin.h>

IM2COL_S1(im2col_s1_avx2, NABLA_AVX2)

// Bits [from, to) of a 16-lane mask (clamped to the 16 lanes).
NABLA_INLINE __mmask16 lanes16(long from, long to) {
    if (from < 0) from = 0;
    if (to > 16) to = 16;
    if (to <= from) return 0;
    return (__mmask16)((((unsigned)1 << (to - from)) - 1) << from);
}

// AVX-512: each output row is one masked load (only the lanes [lo, hi) that fall inside
// the image are read; masked-off lanes cannot fault) and one masked store of the whole
// row, zeros included. Rows of at most 8 use 256-bit moves: on Zen 4 a masked 512-bit
// store costs about twice as much.
NABLA_AVX512 static void im2col_s1_avx512(const float *x, long C, long H, long W, long KH, long KW,
                                          long sh, long ph, long pw, long dh, long dw,
                                          long OH, long OW, float *cols) {
    float *dst = cols;
    for (long c = 0; c < C; c++)
        for (long ki = 0; ki < KH; ki++) {
            long r0, r1;
            inside_rows(ki, H, OH, sh, ph, dh, &r0, &r1);
            for (long kj = 0; kj < KW; kj++, dst += OH * OW) {
                long off = kj * dw - pw, lo, hi;
                valid_range_s1(off, W, OW, &lo, &hi);
                long a = hi > lo ? r0 : OH, b = hi > lo ? r1 : OH;
                if (a > 0) memset(dst, 0, (size_t)(a * OW) * sizeof(float));
                if (b < OH) memset(dst + b * OW, 0, (size_t)((OH - b) * OW) * sizeof(float));
                const float *src = x + (c * H + a * sh - ph + ki * dh) * W + off;
                long step = sh * W;
                if (OW <= 8) {
                    __mmask8 store = (__mmask8)lanes16(0, OW), load = (__mmask8)lanes16(lo, hi);
                    float *d = dst + a * OW;
                    for (long oi = a; oi < b; oi++, src += step, d += OW)
                        _mm256_mask_storeu_ps(d, store, _mm256_maskz_loadu_ps(load, src));
                } else {
                    for (long t = 0; t < OW; t += 16) {
                        __mmask16 store = lanes16(0, OW - t), load = lanes16(lo - t, hi - t);
                        const float *s = src + t;
                        float *d = dst + a * OW + t;
                        for (long oi = a; oi < b; oi++, s += step, d += OW)
                            _mm512_mask_storeu_ps(d, store, _mm512_maskz_loadu_ps(load, s));
                    }
                }
            }
        }
}

// col2im, one row of x at a time: each 16-column piece of the row stays in a register
// while every (ki, kj) that lands on it adds its shifted row of cols (a masked load picks
// the lanes it covers), then the piece is stored once. Adding into memory one (ki, kj) at
// a time instead makes loads wait on masked stores to the same row, which cannot be
// forwarded. Per element the additions come in the generic order (ki, then kj).
NABLA_AVX512 static void col2im_s1_avx512(const float *cols, long C, long H, long W, long KH, long KW,
                                          long sh, long ph, long pw, long dh, long dw,
                                          long OH, long OW, float *x) {
    long plane = OH * OW, pieces = (W + 15) / 16;
    __mmask16 masks[KW * pieces];   // lanes of piece t that kernel column kj covers
    long shift[KW];                 // cols column of x column 0, for kernel column kj
    for (long kj = 0; kj < KW; kj++) {
        long off = kj * dw - pw, lo, hi;
        valid_range_s1(off, W, OW, &lo, &hi);
        shift[kj] = -off;
        for (long p = 0; p < pieces; p++) masks[kj * pieces + p] = lanes16(lo + off - 16 * p, hi + off - 16 * p);
    }
    for (long c = 0; c < C; c++)
        for (long ii = 0; ii < H; ii++) {
            float *row = x + (c * H + ii) * W;
            for (long p = 0; p < pieces; p++) {
                long t = 16 * p;
                __mmask16 keep = lanes16(0, W - t);
                __m512 acc = _mm512_maskz_loadu_ps(keep, row + t);
                for (long ki = 0; ki < KH; ki++) {
                    long r = ii + ph - ki * dh, oi = r;    // r = oi * sh
                    if (r < 0) continue;
                    if (sh != 1) {                          // (a division costs as much as the adds)
                        if (r % sh != 0) continue;
                        oi = r / sh;
                    }
                    if (oi >= OH) continue;
                    const float *src = cols + (c * KH + ki) * KW * plane + oi * OW + t;
                    for (long kj = 0; kj < KW; kj++) {
                        __mmask16 m = masks[kj * pieces + p];
                        if (m) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, src + kj * plane + shift[kj]));
                    }
                }
                _mm512_mask_storeu_ps(row + t, keep, acc);
            }
        }
}

#endif

void nabla_im2col_f32(const float *x, long C, long H, long W, long KH, long KW, long sh, long sw,
                      long ph, long pw, long dh, long dw, long OH, long OW, float *cols) {
#if NABLA_X86
    if (sw == 1 && OH > 0 && OW > 0) {
        switch (nabla_kernels_isa()) {
        case NABLA_ISA_AVX512: im2col_s1_avx512(x, C, H, W, KH, KW, sh, ph, pw, dh, dw, OH, OW, cols); return;
        case NABLA_ISA_AVX2: im2col_s1_avx2(x, C, H, W, KH, KW, sh, ph, pw, dh, dw, OH, OW, cols); return;
        default: break;
        }
    }
#endif
    if (sw == 1 && OH > 0 && OW > 0) { im2col_s1_portable(x, C, H, W, KH, KW, sh, ph, pw, dh, dw, OH, OW, cols); return; }
    im2col_f32_generic(x, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, cols);
}

void nabla_col2im_f32(const float *cols, long C, long H, long W, long KH, long KW, long sh, long sw,
                      long ph, long pw, long dh, long dw, long OH, long OW, float *x) {
#if NABLA_X86
    if (sw == 1 && OH > 0 && OW > 0) {
        switch (nabla_kernels_isa()) {
        case NABLA_ISA_AVX512:
            if (KW * ((W + 15) / 16) > 4096) break;   // keeps the mask table on the stack small
            col2im_s1_avx512(cols, C, H, W, KH, KW, sh, ph, pw, dh, dw, OH, OW, x); return;
        default: break;   // AVX2's masked loads made the same loop 2x slower than this one
        }
    }
#endif
    col2im_f32_generic(cols, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, x);
}
