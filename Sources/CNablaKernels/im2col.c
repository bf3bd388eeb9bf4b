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

IM2COL(nabla_im2col_f32, float)
IM2COL(nabla_im2col_f64, double)
COL2IM(nabla_col2im_f32, float)
COL2IM(nabla_col2im_f64, double)
