// Winograd convolution for 5x5 kernels, stride 1, float32: F(4x4, 5x5) for the forward
// pass and, through its adjoint, the input gradient; F(5x5, 4x4) for the weight gradient.
//
// One 8x8 tile of input d and one 5x5 kernel g give a 4x4 tile of output:
//     y = AT [(G g Gᵀ) ⊙ (BT d BTᵀ)] ATᵀ
// The ⊙ is 64 independent products, so over channels and tiles it becomes 64 matrix
// products (one per position ξ of the 8x8 transformed tile):
//     M[ξ] (K x T) = U[ξ] (K x C) · V[ξ] (C x T)
// for C input channels, K output channels and T tiles: 64·K·C·T multiply-adds where the
// direct (im2col) product needs 16·25·K·C·T = 6.25 times as many. The transforms are the
// price; they pay when C and K are both a few or more (the caller decides).
//
// The transform matrices (below) come from evaluating polynomials at 0, ±1, ±2, ±1/2 and
// infinity (Toom-Cook). Float rounding stays near 1e-6 of the sum of the terms' sizes
// (measured on random data; about 1e-7 for the direct sum).
//
// Results do not depend on the thread count: images are processed in chunks of a fixed
// number of tiles, and every phase computes each value on one thread in a fixed order.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

static int g_winograd = -1;  // -1: not read from NABLA_WINOGRAD yet

int nabla_winograd_enabled(void) {
    const nabla_settings *own = nabla_thread_override();
    if (own) return own->winograd;
    int on = __atomic_load_n(&g_winograd, __ATOMIC_RELAXED);
    if (on >= 0) return on;
    const char *s = getenv("NABLA_WINOGRAD");
    on = !(s && s[0] == '0');
    __atomic_store_n(&g_winograd, on, __ATOMIC_RELAXED);
    return on;
}

void nabla_set_winograd(int on) { __atomic_store_n(&g_winograd, on != 0, __ATOMIC_RELAXED); }

// ---- transforms -------------------------------------------------------------------------
// Points 0, ±1, ±2, ±1/2 and infinity. With E the 8x8 evaluation matrix (row j: powers of
// point j; infinity: the leading coefficient), BT = (E⁻¹)ᵀ with each row scaled to a
// largest entry of 1, G evaluates the kernel (rows scaled back by the same factors:
// 21/4, 17/18, 17/18, 1/36, 1/36, 32/9, 32/9, 21/4), and AT is the transposed evaluation
// of the output. BT is applied through its even/odd structure (rows 1-2, 3-4 and 5-6 are
// e ± o), about half the operations of the dense 8x8 product; G and AT likewise.

// The per-tile transforms work on 8 tiles at once, one tile per vector lane (clang's
// vector extension: ymm registers under the AVX2 and AVX-512 attributes, SSE pairs in the
// portable build). A tile's values then never cross lanes, and the transformed values of
// 8 consecutive tiles are one contiguous vector in V, U and M.
typedef float v8 __attribute__((vector_size(32), aligned(4)));

// The 1-D data transform: out[j·os] = sum over i of BT[j][i] in[i·is].
NABLA_INLINE void bt_1d(const v8 *in, long is, v8 *out, long os) {
    const float q = 4.f / 21, r = 4.f / 17;
    v8 d0 = in[0], d1 = in[is], d2 = in[2 * is], d3 = in[3 * is];
    v8 d4 = in[4 * is], d5 = in[5 * is], d6 = in[6 * is], d7 = in[7 * is];
    out[0] = q * (d0 - d6) + (d4 - d2);
    v8 e = d4 - r * (d2 + d6), o = d3 - r * (d1 + d5);
    out[os] = e + o;
    out[2 * os] = e - o;
    e = 0.1f * d2 - 0.5f * d4 + 0.4f * d6;
    o = 0.2f * d1 - d3 + 0.8f * d5;
    out[3 * os] = e + o;
    out[4 * os] = e - o;
    e = 0.8f * d2 - d4 + 0.2f * d6;
    o = 0.4f * d1 - 0.5f * d3 + 0.1f * d5;
    out[5 * os] = e + o;
    out[6 * os] = e - o;
    out[7 * os] = q * (d7 - d1) + (d3 - d5);
}

// The 1-D output transform of F(4x4, 5x5): out[i·os] = sum over j of AT4[i][j] in[j·is].
NABLA_INLINE void at4_1d(const v8 *in, long is, v8 *out, long os) {
    v8 a = in[is] + in[2 * is], b = in[is] - in[2 * is];
    v8 c = in[3 * is] + in[4 * is], d = in[3 * is] - in[4 * is];
    v8 e = in[5 * is] + in[6 * is], f = in[5 * is] - in[6 * is];
    out[0] = in[0] + a + c + e;
    out[os] = b + 2 * d + 0.5f * f;
    out[2 * os] = a + 4 * c + 0.25f * e;
    out[3 * os] = b + 8 * d + 0.125f * f + in[7 * is];
}

// The 1-D transform of a 4-long output-gradient row (G4: G for 4 inputs, F(5x5, 4x4)).
NABLA_INLINE void g4_1d(const v8 *in, long is, v8 *out, long os) {
    const float s = 17.f / 18, w = 21.f / 4;
    v8 g0 = in[0], g1 = in[is], g2 = in[2 * is], g3 = in[3 * is];
    out[0] = w * g0;
    v8 e = g0 + g2, o = g1 + g3;
    out[os] = s * (e + o);
    out[2 * os] = s * (e - o);
    e = (1.f / 36) * g0 + (1.f / 9) * g2;
    o = (1.f / 18) * g1 + (2.f / 9) * g3;
    out[3 * os] = e + o;
    out[4 * os] = e - o;
    e = (32.f / 9) * g0 + (8.f / 9) * g2;
    o = (16.f / 9) * g1 + (4.f / 9) * g3;
    out[5 * os] = e + o;
    out[6 * os] = e - o;
    out[7 * os] = w * g3;
}

// The input gradient is the adjoint of the forward pass, tile by tile: the output
// gradient's 4x4 tile is expanded by ATᵀ (z = ATᵀ gy AT), multiplied by Uᵀ per position,
// and mapped back by BTᵀ (w = BTᵀ X BT) onto the tile's 8x8 input window; overlapping
// windows add up. Same tiles and products as the forward pass, so the same 6.25-fold
// saving, without the zero padding a "full" correlation would transform.

// out[j·os] = sum over i of AT4[i][j] in[i·is]: 8 values from 4.
NABLA_INLINE void at4t_1d(const v8 *in, long is, v8 *out, long os) {
    v8 g0 = in[0], g1 = in[is], g2 = in[2 * is], g3 = in[3 * is];
    v8 e = g0 + g2, o = g1 + g3;
    out[0] = g0;
    out[os] = e + o;
    out[2 * os] = e - o;
    e = g0 + 4 * g2;
    o = 2 * g1 + 8 * g3;
    out[3 * os] = e + o;
    out[4 * os] = e - o;
    e = g0 + 0.25f * g2;
    o = 0.5f * g1 + 0.125f * g3;
    out[5 * os] = e + o;
    out[6 * os] = e - o;
    out[7 * os] = g3;
}

// out[i·os] = sum over j of BT[j][i] in[j·is]: the transpose of bt_1d.
NABLA_INLINE void btt_1d(const v8 *in, long is, v8 *out, long os) {
    const float q = 4.f / 21, r = 4.f / 17;
    v8 z0 = in[0], z7 = in[7 * is];
    v8 s12 = in[is] + in[2 * is], t12 = in[is] - in[2 * is];
    v8 s34 = in[3 * is] + in[4 * is], t34 = in[3 * is] - in[4 * is];
    v8 s56 = in[5 * is] + in[6 * is], t56 = in[5 * is] - in[6 * is];
    out[0] = q * z0;
    out[os] = -r * t12 + 0.2f * t34 + 0.4f * t56 - q * z7;
    out[2 * os] = -z0 - r * s12 + 0.1f * s34 + 0.8f * s56;
    out[3 * os] = t12 - t34 - 0.5f * t56 + z7;
    out[4 * os] = z0 + s12 - 0.5f * s34 - s56;
    out[5 * os] = -r * t12 + 0.8f * t34 + 0.1f * t56 - z7;
    out[6 * os] = -q * z0 - r * s12 + 0.4f * s34 + 0.2f * s56;
    out[7 * os] = q * z7;
}

// The 1-D kernel transform of F(4x4, 5x5): 8 values from 5 (G5, rows scaled as BT's).
NABLA_INLINE void g5_1d(const v8 *in, long is, v8 *out, long os) {
    const float s = 17.f / 18, w = 21.f / 4;
    v8 g0 = in[0], g1 = in[is], g2 = in[2 * is], g3 = in[3 * is], g4 = in[4 * is];
    out[0] = w * g0;
    v8 e = g0 + g2 + g4, o = g1 + g3;
    out[os] = s * (e + o);
    out[2 * os] = s * (e - o);
    e = (1.f / 36) * g0 + (1.f / 9) * g2 + (4.f / 9) * g4;
    o = (1.f / 18) * g1 + (2.f / 9) * g3;
    out[3 * os] = e + o;
    out[4 * os] = e - o;
    e = (32.f / 9) * g0 + (8.f / 9) * g2 + (2.f / 9) * g4;
    o = (16.f / 9) * g1 + (4.f / 9) * g3;
    out[5 * os] = e + o;
    out[6 * os] = e - o;
    out[7 * os] = w * g4;
}

// The 1-D output transform of F(5x5, 4x4): 5 values from 8 (AT5).
NABLA_INLINE void at5_1d(const v8 *in, long is, v8 *out, long os) {
    v8 a = in[is] + in[2 * is], b = in[is] - in[2 * is];
    v8 c = in[3 * is] + in[4 * is], d = in[3 * is] - in[4 * is];
    v8 e = in[5 * is] + in[6 * is], f = in[5 * is] - in[6 * is];
    out[0] = in[0] + a + c + e;
    out[os] = b + 2 * d + 0.5f * f;
    out[2 * os] = a + 4 * c + 0.25f * e;
    out[3 * os] = b + 8 * d + 0.125f * f;
    out[4 * os] = a + 16 * c + 0.0625f * e + in[7 * is];
}

// out = T in Tᵀ for a 1-D transform T from n values to m: the columns of the n x n input
// (row length n), then the rows of the m x n result; out has row length m.
#define TRANSFORM_2D(NAME, F1D, N, M)                                              \
    NABLA_INLINE void NAME(const v8 in[(N) * (N)], v8 out[(M) * (M)]) {            \
        v8 t[(M) * (N)];                                                           \
        for (int l = 0; l < (N); l++) F1D(in + l, N, t + l, N);                    \
        for (int j = 0; j < (M); j++) F1D(t + (N) * j, 1, out + (M) * j, 1);       \
    }
TRANSFORM_2D(tf_data, bt_1d, 8, 8)      // v = BT d BTᵀ
TRANSFORM_2D(tf_kernel5, g5_1d, 5, 8)   // u = G5 g G5ᵀ, a 5x5 kernel
TRANSFORM_2D(tf_out4, at4_1d, 8, 4)     // y = AT4 m AT4ᵀ
TRANSFORM_2D(tf_grad, g4_1d, 4, 8)      // u = G4 gy G4ᵀ, weight gradient
TRANSFORM_2D(tf_out5, at5_1d, 8, 5)     // gw = AT5 m AT5ᵀ
TRANSFORM_2D(tf_gradin, at4t_1d, 4, 8)  // z = AT4ᵀ gy AT4, input gradient
TRANSFORM_2D(tf_window, btt_1d, 8, 8)   // w = BTᵀ x BT
#undef TRANSFORM_2D

// ---- the batch: shapes, scratch, phases ----------------------------------------------------

typedef struct {
    const float *x, *w, *gy;
    float *y;
    long C, H, W, K, ph, pw, OH, OW;
    long th, tw;          // tiles per image, down and across
    long n0, T, Tp;       // this chunk: first image, tiles, tiles rounded up to 8 (row length)
    float *U, *V, *M;     // [64][K][C] (or [64][K][Tp] for the weight gradient), [64][C][Tp],
                          // [64][K][Tp] (or [64][K][C])
    long su, sv, sm;      // distance between the 64 matrices of U, V, M (see xi_stride)
    float *U2;            // input gradient: the transformed windows, [C][Tp/8][64][8]
} wino_job;

// Distance between consecutive ξ matrices: at least n floats, and an odd number of 64-byte
// lines. At a distance of a multiple of 4 KiB (20 x 256 floats, say) the 64 values of a
// tile would all fall in one set of the L1 cache (it made the transforms 5x slower).
static long xi_stride(long n) {
    long lines = (n + 15) / 16;
    return (lines | 1) * 16;
}

// Image, tile row and tile column of tile t of the chunk.
NABLA_INLINE void tile_at(const wino_job *j, long t, long *n, long *ty, long *tx) {
    long per = j->th * j->tw;
    *n = j->n0 + t / per;
    *ty = (t % per) / j->tw;
    *tx = t % j->tw;
}

// Transposes 8 vectors as an 8x8 matrix: afterwards r[b][L] is what r[L][b] was.
NABLA_INLINE void transpose8(v8 r[8]) {
    v8 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int q = 0; q < 8; q += 4) {  // u[q + m] holds columns m and m + 4 of rows q..q+3
        u[q] = __builtin_shufflevector(t[q], t[q + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[q + 1] = __builtin_shufflevector(t[q], t[q + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[q + 2] = __builtin_shufflevector(t[q + 1], t[q + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[q + 3] = __builtin_shufflevector(t[q + 1], t[q + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int m = 0; m < 4; m++) {
        r[m] = __builtin_shufflevector(u[m], u[m + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[m + 4] = __builtin_shufflevector(u[m], u[m + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

// d[a*8 + b] = the windows of 8 tiles t0 .. t0+7 of channel c (lane L: tile t0 + L), when
// all 8 lie inside the image: each window row is one vector load, and 8 rows (one per
// tile) are turned into 8 lane vectors by a transpose. Returns 0, loading nothing,
// otherwise (a tile past the chunk's end or a window over the padding).
NABLA_INLINE int load_windows_inside(const wino_job *j, long c, long t0, v8 d[64]) {
    if (t0 + 8 > j->T) return 0;
    const float *at[8];
    for (int L = 0; L < 8; L++) {
        long n, ty, tx;
        tile_at(j, t0 + L, &n, &ty, &tx);
        long y0 = ty * 4 - j->ph, x0 = tx * 4 - j->pw;
        if (y0 < 0 || x0 < 0 || y0 + 8 > j->H || x0 + 8 > j->W) return 0;
        at[L] = j->x + ((n * j->C + c) * j->H + y0) * j->W + x0;
    }
    for (int a = 0; a < 8; a++) {
        v8 r[8];
        for (int L = 0; L < 8; L++) memcpy(&r[L], at[L] + a * j->W, sizeof(v8));
        transpose8(r);
        for (int b = 0; b < 8; b++) d[a * 8 + b] = r[b];
    }
    return 1;
}

// Lane L of d[0..63] = the 8x8 input window of tile t in channel c (zero outside the image).
NABLA_INLINE void load_window(const wino_job *j, long c, long t, int L, v8 d[64]) {
    long n, ty, tx;
    tile_at(j, t, &n, &ty, &tx);
    const float *plane = j->x + (n * j->C + c) * j->H * j->W;
    long y0 = ty * 4 - j->ph, x0 = tx * 4 - j->pw;
    int inside = y0 >= 0 && x0 >= 0 && y0 + 8 <= j->H && x0 + 8 <= j->W;
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++) {
            long yy = y0 + a, xx = x0 + b;
            d[a * 8 + b][L] = inside || (yy >= 0 && yy < j->H && xx >= 0 && xx < j->W) ? plane[yy * j->W + xx] : 0;
        }
}

// The first element of the 4x4 output tiles t0 .. t0+7 in channel k of `base` (y or gy),
// when all 8 lie inside the output; 0 otherwise.
NABLA_INLINE int tiles_inside(const wino_job *j, const float *base, long k, long t0, const float *at[8]) {
    if (t0 + 8 > j->T) return 0;
    for (int L = 0; L < 8; L++) {
        long n, ty, tx;
        tile_at(j, t0 + L, &n, &ty, &tx);
        if (ty * 4 + 4 > j->OH || tx * 4 + 4 > j->OW) return 0;
        at[L] = base + ((n * j->K + k) * j->OH + ty * 4) * j->OW + tx * 4;
    }
    return 1;
}

// Lane L of g[0..15] = the 4x4 tile t0 + L of output-gradient channel k (zero outside).
// Inside the output, two rows of each tile are one vector, turned into lanes by a transpose.
NABLA_INLINE void load_grad_tiles(const wino_job *j, long k, long t0, v8 g[16]) {
    const float *at[8];
    if (tiles_inside(j, j->gy, k, t0, at)) {
        for (int a = 0; a < 4; a += 2) {
            v8 r[8];
            for (int L = 0; L < 8; L++) {
                memcpy(&r[L], at[L] + a * j->OW, 4 * sizeof(float));
                memcpy((float *)&r[L] + 4, at[L] + (a + 1) * j->OW, 4 * sizeof(float));
            }
            transpose8(r);
            for (int b = 0; b < 4; b++) {
                g[a * 4 + b] = r[b];
                g[(a + 1) * 4 + b] = r[4 + b];
            }
        }
        return;
    }
    for (int L = 0; L < 8; L++) {
        long n, ty, tx;
        tile_at(j, t0 + L, &n, &ty, &tx);
        const float *plane = j->gy + (n * j->K + k) * j->OH * j->OW;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                long yy = ty * 4 + a, xx = tx * 4 + b;
                g[a * 4 + b][L] = t0 + L < j->T && yy < j->OH && xx < j->OW ? plane[yy * j->OW + xx] : 0;
            }
    }
}

// Input gradient of channel c of one image of the chunk: the windows of its tiles added in
// tile order (a fixed order, whatever the threads), the parts outside the image dropped.
static void plane_task(void *ctx, long i) {
    const wino_job *j = (const wino_job *)ctx;
    long per = j->th * j->tw, images = j->T / per;
    long c = i / images, n = i % images, groups = j->Tp / 8;
    float *plane = j->y + ((j->n0 + n) * j->C + c) * j->H * j->W;
    memset(plane, 0, (size_t)(j->H * j->W) * sizeof(float));
    for (long t = n * per; t < (n + 1) * per; t++) {
        const float *w = j->U2 + ((c * groups + t / 8) * 64) * 8 + t % 8;  // value e at w[8e]
        long ty = (t % per) / j->tw, tx = t % j->tw;
        long y0 = ty * 4 - j->ph, x0 = tx * 4 - j->pw;
        for (int a = 0; a < 8; a++) {
            long yy = y0 + a;
            if (yy < 0 || yy >= j->H) continue;
            for (int b = 0; b < 8; b++) {
                long xx = x0 + b;
                if (xx >= 0 && xx < j->W) plane[yy * j->W + xx] += w[(a * 8 + b) * 8];
            }
        }
    }
}

// A task transforming 8 tiles of output-gradient channel k (task k * groups + group) with
// TF into the matrices BUF[ξ][k][t..t+8], STRIDE apart.
#define GRAD_TILE_TASK(NAME, ATTR, TF, BUF, STRIDE)                                         \
    ATTR static void NAME(void *ctx, long i) {                                               \
        const wino_job *j = (const wino_job *)ctx;                                           \
        long groups = j->Tp / 8, k = i / groups, t0 = (i % groups) * 8;                      \
        v8 g[16], x[64];                                                                     \
        load_grad_tiles(j, k, t0, g);                                                        \
        TF(g, x);                                                                            \
        float *dst = j->BUF + k * j->Tp + t0;                                                \
        for (int e = 0; e < 64; e++) memcpy(dst + e * j->STRIDE, &x[e], sizeof(v8));        \
    }

#define WINO_PHASES(S, ATTR)                                                                  \
    /* V[ξ][c][t..t+8] for channel c and group of 8 tiles g (task c * groups + g). */       \
    ATTR static void data_task_##S(void *ctx, long i) {                                      \
        const wino_job *j = (const wino_job *)ctx;                                           \
        long groups = j->Tp / 8, c = i / groups, t0 = (i % groups) * 8;                      \
        v8 d[64], v[64];                                                                     \
        if (!load_windows_inside(j, c, t0, d))                                               \
            for (int L = 0; L < 8; L++) {                                                    \
                if (t0 + L < j->T) load_window(j, c, t0 + L, L, d);                          \
                else for (int e = 0; e < 64; e++) d[e][L] = 0;                               \
            }                                                                                \
        tf_data(d, v);                                                                       \
        float *dst = j->V + c * j->Tp + t0;                                                  \
        for (int e = 0; e < 64; e++) memcpy(dst + e * j->sv, &v[e], sizeof(v8));            \
    }                                                                                        \
    /* U[ξ][k][c..c+8] for output channel k and 8 input channels (task k * groups + g). */  \
    ATTR static void kernel_task_##S(void *ctx, long i) {                                    \
        const wino_job *j = (const wino_job *)ctx;                                           \
        long groups = (j->C + 7) / 8, k = i / groups, c0 = (i % groups) * 8;                 \
        int lanes = j->C - c0 < 8 ? (int)(j->C - c0) : 8;                                    \
        v8 g[25], u[64];                                                                     \
        for (int L = 0; L < 8; L++)                                                          \
            for (int e = 0; e < 25; e++)                                                     \
                g[e][L] = L < lanes ? j->w[(k * j->C + c0 + L) * 25 + e] : 0;                \
        tf_kernel5(g, u);                                                                    \
        float *dst = j->U + k * j->C + c0;                                                   \
        for (int e = 0; e < 64; e++) {                                                       \
            if (lanes == 8) memcpy(dst + e * j->su, &u[e], sizeof(v8));                      \
            else for (int L = 0; L < lanes; L++) dst[e * j->su + L] = u[e][L];               \
        }                                                                                    \
    }                                                                                        \
    /* y for output channel k and group of 8 tiles, from M[ξ][k][t..t+8]. */                \
    ATTR static void out_task_##S(void *ctx, long i) {                                       \
        const wino_job *j = (const wino_job *)ctx;                                           \
        long groups = j->Tp / 8, k = i / groups, t0 = (i % groups) * 8;                      \
        v8 m[64], o[16];                                                                     \
        const float *src = j->M + k * j->Tp + t0;                                            \
        for (int e = 0; e < 64; e++) memcpy(&m[e], src + e * j->sm, sizeof(v8));            \
        tf_out4(m, o);                                                                       \
        const float *at[8];                                                                  \
        if (tiles_inside(j, j->y, k, t0, at)) {                                              \
            for (int a = 0; a < 4; a += 2) {  /* rows a, a+1 of each tile: one vector */     \
                v8 r[8];                                                                     \
                for (int b = 0; b < 4; b++) { r[b] = o[a * 4 + b]; r[4 + b] = o[(a + 1) * 4 + b]; } \
                transpose8(r);                                                               \
                for (int L = 0; L < 8; L++) {                                                \
                    float *p = (float *)at[L];                                               \
                    memcpy(p + a * j->OW, &r[L], 4 * sizeof(float));                         \
                    memcpy(p + (a + 1) * j->OW, (float *)&r[L] + 4, 4 * sizeof(float));       \
                }                                                                            \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        for (int L = 0; L < 8 && t0 + L < j->T; L++) {                                       \
            long n, ty, tx;                                                                  \
            tile_at(j, t0 + L, &n, &ty, &tx);                                                \
            float *plane = j->y + (n * j->K + k) * j->OH * j->OW;                            \
            long rows = j->OH - ty * 4 < 4 ? j->OH - ty * 4 : 4;                             \
            long cols = j->OW - tx * 4 < 4 ? j->OW - tx * 4 : 4;                             \
            for (long a = 0; a < rows; a++)                                                  \
                for (long b = 0; b < cols; b++)                                              \
                    plane[(ty * 4 + a) * j->OW + tx * 4 + b] = o[a * 4 + b][L];              \
        }                                                                                    \
    }                                                                                        \
    /* U[ξ][k][t..t+8] = G4 gy G4ᵀ (weight gradient), Z[ξ][k][t..t+8] = AT4ᵀ gy AT4 kept  \
       in V (input gradient), for channel k of the output gradient and 8 tiles. */          \
    GRAD_TILE_TASK(grad_task_##S, ATTR, tf_grad, U, su)                                      \
    GRAD_TILE_TASK(gradin_task_##S, ATTR, tf_gradin, V, sv)                                  \
    /* The 8x8 windows BTᵀ X BT of channel c for 8 tiles, from M[ξ][c][t..t+8], kept as    \
       W[c][group][64] vectors for plane_task to add up. */                                  \
    ATTR static void window_task_##S(void *ctx, long i) {                                    \
        const wino_job *j = (const wino_job *)ctx;                                           \
        long groups = j->Tp / 8, c = i / groups, g0 = i % groups;                            \
        v8 x[64], w[64];                                                                     \
        const float *src = j->M + c * j->Tp + g0 * 8;                                        \
        for (int e = 0; e < 64; e++) memcpy(&x[e], src + e * j->sm, sizeof(v8));            \
        tf_window(x, w);                                                                     \
        memcpy(j->U2 + (c * groups + g0) * 64 * 8, w, sizeof w);                             \
    }                                                                                        \
    /* gw[k][c..c+8] (5x5 each) from M[ξ][k][c..c+8] (task k * groups + g). */            \
    ATTR static void wout_task_##S(void *ctx, long i) {                                      \
        const wino_job *j = (const wino_job *)ctx;                                           \
        long groups = (j->C + 7) / 8, k = i / groups, c0 = (i % groups) * 8;                 \
        int lanes = j->C - c0 < 8 ? (int)(j->C - c0) : 8;                                    \
        v8 m[64], o[25];                                                                     \
        const float *src = j->M + k * j->C + c0;                                             \
        for (int e = 0; e < 64; e++) {                                                       \
            if (lanes == 8) memcpy(&m[e], src + e * j->sm, sizeof(v8));                      \
            else for (int L = 0; L < 8; L++) m[e][L] = L < lanes ? src[e * j->sm + L] : 0;   \
        }                                                                                    \
        tf_out5(m, o);                                                                       \
        for (int L = 0; L < lanes; L++)                                                      \
            for (int e = 0; e < 25; e++) j->y[(k * j->C + c0 + L) * 25 + e] = o[e][L];      \
    }

typedef void (*wino_task)(void *, long);
typedef struct { wino_task data, kernel, out, grad, wout, gradin, window; } wino_phases;

WINO_PHASES(portable, )
#if NABLA_X86
WINO_PHASES(avx2, NABLA_AVX2)
WINO_PHASES(avx512, NABLA_AVX512)
#endif

static wino_phases phases_for_isa(void) {
#if NABLA_X86
    switch (nabla_kernels_isa()) {
    case NABLA_ISA_AVX512:
        return (wino_phases){data_task_avx512, kernel_task_avx512, out_task_avx512, grad_task_avx512,
                             wout_task_avx512, gradin_task_avx512, window_task_avx512};
    case NABLA_ISA_AVX2:
        return (wino_phases){data_task_avx2, kernel_task_avx2, out_task_avx2, grad_task_avx2,
                             wout_task_avx2, gradin_task_avx2, window_task_avx2};
    default: break;
    }
#endif
    return (wino_phases){data_task_portable, kernel_task_portable, out_task_portable, grad_task_portable,
                         wout_task_portable, gradin_task_portable, window_task_portable};
}

// About this many tiles per chunk of images: the transformed chunk (64 values per tile
// and channel) then stays in the L2/L3 caches between the phases.
#define WINO_TILES_PER_CHUNK 256

// Scratch of the calling thread (see nabla_thread_buffer).
static __thread void *tls_scratch = 0;
static __thread size_t tls_cap = 0;

static float *scratch(size_t n) { return (float *)nabla_thread_buffer(&tls_scratch, &tls_cap, n * sizeof(float)); }

// The matrix product of one position ξ, run for every ξ on the pool (each call single-
// threaded: nested parallel loops run serially).
typedef struct {
    const wino_job *j;
    int mode;  // 0: forward, 1: weight gradient, 2: input gradient
    float beta;
} gemm_ctx;

static void gemm_task(void *ctx, long e) {
    const gemm_ctx *g = (const gemm_ctx *)ctx;
    const wino_job *j = g->j;
    if (g->mode == 2)    // M[ξ] (C x T) = U[ξ]ᵀ (C x K) · Z[ξ] (K x T), Z kept in V
        nabla_sgemm(1, 0, j->C, j->Tp, j->K, 1, j->U + e * j->su, j->C, j->V + e * j->sv, j->Tp,
                    0, j->M + e * j->sm, j->Tp);
    else if (g->mode == 1)  // M[ξ] (K x C) = Σ_t U[ξ] (K x T) · V[ξ]ᵀ (T x C)
        nabla_sgemm(0, 1, j->K, j->C, j->Tp, 1, j->U + e * j->su, j->Tp, j->V + e * j->sv, j->Tp,
                    g->beta, j->M + e * j->sm, j->C);
    else                 // M[ξ] (K x T) = U[ξ] (K x C) · V[ξ] (C x T)
        nabla_sgemm(0, 0, j->K, j->Tp, j->C, 1, j->U + e * j->su, j->C, j->V + e * j->sv, j->Tp,
                    0, j->M + e * j->sm, j->Tp);
}

// Runs fn(ctx, i) for i < n on the pool in a few contiguous blocks per thread: a task per
// (channel, image) is a microsecond of work, and handing out thousands of them costs more
// than they do (2 threads were slower than 1).
typedef struct {
    wino_task fn;
    void *ctx;
    long n, per;
} blocks_ctx;

static void block_task(void *ctx, long b) {
    const blocks_ctx *k = (const blocks_ctx *)ctx;
    long end = (b + 1) * k->per < k->n ? (b + 1) * k->per : k->n;
    for (long i = b * k->per; i < end; i++) k->fn(k->ctx, i);
}

static void run_blocks(long n, int nt, wino_task fn, void *ctx) {
    long blocks = (long)nt * 4 < n ? (long)nt * 4 : n;
    blocks_ctx k = {fn, ctx, n, (n + blocks - 1) / blocks};
    nabla_parallel_for((n + k.per - 1) / k.per, nt, block_task, &k);
}

// Output size and tiles; 0 for shapes with nothing to do or unsupported padding.
static int setup(wino_job *j, long N, long H, long W, long ph, long pw) {
    if (N <= 0 || j->C <= 0 || j->K <= 0 || ph < 0 || pw < 0) return 0;
    j->OH = H + 2 * ph - 4;
    j->OW = W + 2 * pw - 4;
    if (j->OH < 1 || j->OW < 1) return 0;
    j->th = (j->OH + 3) / 4;
    j->tw = (j->OW + 3) / 4;
    return 1;
}

// Images per chunk, and the row length of a chunk's transformed matrices.
static long chunk_images(const wino_job *j, long N, long *Tpmax) {
    long per_image = j->th * j->tw;
    long chunk = WINO_TILES_PER_CHUNK / per_image < 1 ? 1 : WINO_TILES_PER_CHUNK / per_image;
    if (chunk > N) chunk = N;
    *Tpmax = (chunk * per_image + 7) / 8 * 8;
    return chunk;
}

// Scratch for 64 matrices of nu, nv and nm floats (U, V, M; see xi_stride) and `extra`
// floats after them (U2). Returns 0 if it could not be had.
static int alloc_scratch(wino_job *j, long nu, long nv, long nm, size_t extra) {
    j->su = xi_stride(nu);
    j->sv = xi_stride(nv);
    j->sm = xi_stride(nm);
    float *s = scratch((size_t)64 * (size_t)(j->su + j->sv + j->sm) + extra);
    if (!s) return 0;
    j->U = s;
    j->V = s + 64 * j->su;
    j->M = j->V + 64 * j->sv;
    j->U2 = j->M + 64 * j->sm;
    return 1;
}

static void start_chunk(wino_job *j, long n0, long N, long chunk) {
    j->n0 = n0;
    j->T = (N - n0 < chunk ? N - n0 : chunk) * j->th * j->tw;
    j->Tp = (j->T + 7) / 8 * 8;
}

int nabla_conv5x5_forward_f32(const float *x, long N, long C, long H, long W, const float *w, long K,
                              long ph, long pw, float *y) {
    wino_job j = {x, w, 0, y, C, H, W, K, ph, pw};
    if (!setup(&j, N, H, W, ph, pw)) return 0;
    long Tpmax, chunk = chunk_images(&j, N, &Tpmax);
    if (!alloc_scratch(&j, K * C, C * Tpmax, K * Tpmax, 0)) return 0;
    int nt = nabla_num_threads();
    wino_phases ph5 = phases_for_isa();
    run_blocks(K * ((C + 7) / 8), nt, ph5.kernel, &j);
    gemm_ctx g = {&j, 0, 0};
    for (long n0 = 0; n0 < N; n0 += chunk) {
        start_chunk(&j, n0, N, chunk);
        run_blocks(C * (j.Tp / 8), nt, ph5.data, &j);
        nabla_parallel_for(64, nt, gemm_task, &g);
        run_blocks(K * (j.Tp / 8), nt, ph5.out, &j);
    }
    return 1;
}

int nabla_conv5x5_weight_grad_f32(const float *x, const float *gy, long N, long C, long H, long W, long K,
                                  long ph, long pw, float *gw) {
    wino_job j = {x, 0, gy, gw, C, H, W, K, ph, pw};
    if (!setup(&j, N, H, W, ph, pw)) return 0;
    long Tpmax, chunk = chunk_images(&j, N, &Tpmax);
    if (!alloc_scratch(&j, K * Tpmax, C * Tpmax, K * C, 0)) return 0;
    int nt = nabla_num_threads();
    wino_phases ph5 = phases_for_isa();
    gemm_ctx g = {&j, 1, 0};  // weight gradient
    for (long n0 = 0; n0 < N; n0 += chunk) {
        start_chunk(&j, n0, N, chunk);
        run_blocks(C * (j.Tp / 8), nt, ph5.data, &j);
        run_blocks(K * (j.Tp / 8), nt, ph5.grad, &j);
        g.beta = n0 == 0 ? 0 : 1;  // chunks accumulate in the transformed domain
        nabla_parallel_for(64, nt, gemm_task, &g);
    }
    run_blocks(K * ((C + 7) / 8), nt, ph5.wout, &j);
    return 1;
}

int nabla_conv5x5_backward_input_f32(const float *gy, long N, long K, long C, long H, long W, const float *w,
                                     long ph, long pw, float *gx) {
    wino_job j = {0, w, gy, gx, C, H, W, K, ph, pw};
    if (!setup(&j, N, H, W, ph, pw)) return 0;
    long Tpmax, chunk = chunk_images(&j, N, &Tpmax);
    if (!alloc_scratch(&j, K * C, K * Tpmax, C * Tpmax, (size_t)C * (size_t)Tpmax * 64)) return 0;
    int nt = nabla_num_threads();
    wino_phases ph5 = phases_for_isa();
    run_blocks(K * ((C + 7) / 8), nt, ph5.kernel, &j);
    gemm_ctx g = {&j, 2, 0};
    for (long n0 = 0; n0 < N; n0 += chunk) {
        start_chunk(&j, n0, N, chunk);
        run_blocks(K * (j.Tp / 8), nt, ph5.gradin, &j);
        nabla_parallel_for(64, nt, gemm_task, &g);
        run_blocks(C * (j.Tp / 8), nt, ph5.window, &j);
        run_blocks(C * (j.T / (j.th * j.tw)), nt, plane_task, &j);
    }
    return 1;
}
