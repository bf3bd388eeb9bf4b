// Plain-C emulation of the AVX-512 intrinsics used by CNablaKernels, for testing the
// AVX-512 code paths on a CPU without AVX-512 (.ci/avx512/run). Included right after the
// compiler's <immintrin.h> by .ci/avx512/immintrin.h.
// Every emulated intrinsic is a lane loop following Intel's documented semantics; masked
// loads read only the lanes whose mask bit is set, masked stores write only those lanes.
#ifndef NABLA_AVX512_EMU_H
#define NABLA_AVX512_EMU_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <stdlib.h>

#define EMU_FN static inline __attribute__((always_inline, target("avx2,fma")))

typedef struct { float f[16]; } emu_m512;
typedef struct { double d[8]; } emu_m512d;
typedef union { int32_t i32[16]; uint32_t u32[16]; int64_t i64[8]; uint8_t u8[64]; } emu_m512i;

// ---- float helpers ------------------------------------------------------------------------
EMU_FN uint32_t emu_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
EMU_FN float emu_float(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
EMU_FN float emu_qnan(float x) { return emu_float(emu_bits(x) | 0x00400000u); }  // QNaN(SRC)
EMU_FN int emu_isnan(float x) { return (emu_bits(x) & 0x7fffffffu) > 0x7f800000u; }
EMU_FN int emu_isnand(double x) { return x != x; }

// ---- set / load / store -------------------------------------------------------------------
EMU_FN emu_m512 emu_mm512_setzero_ps(void) { emu_m512 r; for (int i = 0; i < 16; i++) r.f[i] = 0.0f; return r; }
EMU_FN emu_m512d emu_mm512_setzero_pd(void) { emu_m512d r; for (int i = 0; i < 8; i++) r.d[i] = 0.0; return r; }
EMU_FN emu_m512 emu_mm512_set1_ps(float a) { emu_m512 r; for (int i = 0; i < 16; i++) r.f[i] = a; return r; }
EMU_FN emu_m512d emu_mm512_set1_pd(double a) { emu_m512d r; for (int i = 0; i < 8; i++) r.d[i] = a; return r; }
EMU_FN emu_m512i emu_mm512_set1_epi32(int a) { emu_m512i r; for (int i = 0; i < 16; i++) r.i32[i] = a; return r; }
EMU_FN emu_m512i emu_mm512_setr_epi32(int e0, int e1, int e2, int e3, int e4, int e5, int e6, int e7,
                                      int e8, int e9, int e10, int e11, int e12, int e13, int e14, int e15) {
    emu_m512i r;
    int e[16] = {e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15};
    for (int i = 0; i < 16; i++) r.i32[i] = e[i];   // lane i = e_i (setr: memory order)
    return r;
}
EMU_FN emu_m512 emu_mm512_loadu_ps(const void *p) { emu_m512 r; memcpy(r.f, p, 64); return r; }
EMU_FN emu_m512d emu_mm512_loadu_pd(const void *p) { emu_m512d r; memcpy(r.d, p, 64); return r; }
EMU_FN void emu_mm512_storeu_ps(void *p, emu_m512 a) { memcpy(p, a.f, 64); }
EMU_FN void emu_mm512_storeu_pd(void *p, emu_m512d a) { memcpy(p, a.d, 64); }
// Masked loads: lanes whose bit is 0 are zero and their memory is NOT read.
EMU_FN emu_m512 emu_mm512_maskz_loadu_ps(__mmask16 k, const void *p) {
    emu_m512 r;
    const float *q = (const float *)p;
    for (int i = 0; i < 16; i++) r.f[i] = ((k >> i) & 1) ? q[i] : 0.0f;
    return r;
}
EMU_FN emu_m512d emu_mm512_maskz_loadu_pd(__mmask8 k, const void *p) {
    emu_m512d r;
    const double *q = (const double *)p;
    for (int i = 0; i < 8; i++) r.d[i] = ((k >> i) & 1) ? q[i] : 0.0;
    return r;
}
EMU_FN void emu_mm512_mask_storeu_ps(void *p, __mmask16 k, emu_m512 a) {
    float *q = (float *)p;
    for (int i = 0; i < 16; i++) if ((k >> i) & 1) q[i] = a.f[i];
}
EMU_FN void emu_mm512_mask_storeu_pd(void *p, __mmask8 k, emu_m512d a) {
    double *q = (double *)p;
    for (int i = 0; i < 8; i++) if ((k >> i) & 1) q[i] = a.d[i];
}
EMU_FN void emu_mm512_mask_storeu_epi32(void *p, __mmask16 k, emu_m512i a) {
    int32_t *q = (int32_t *)p;
    for (int i = 0; i < 16; i++) if ((k >> i) & 1) q[i] = a.i32[i];
}
// AVX-512VL 256-bit masked moves.
EMU_FN __m256 emu_mm256_maskz_loadu_ps(__mmask8 k, const void *p) {
    float t[8];
    const float *q = (const float *)p;
    for (int i = 0; i < 8; i++) t[i] = ((k >> i) & 1) ? q[i] : 0.0f;
    return _mm256_loadu_ps(t);
}
EMU_FN void emu_mm256_mask_storeu_ps(void *p, __mmask8 k, __m256 a) {
    float t[8];
    _mm256_storeu_ps(t, a);
    float *q = (float *)p;
    for (int i = 0; i < 8; i++) if ((k >> i) & 1) q[i] = t[i];
}

// ---- arithmetic -----------------------------------------------------------------------------
#define EMU_BIN_PS(NAME, EXPR)                                                              \
    EMU_FN emu_m512 NAME(emu_m512 a, emu_m512 b) {                                          \
        emu_m512 r;                                                                         \
        for (int i = 0; i < 16; i++) { float x = a.f[i], y = b.f[i]; r.f[i] = (EXPR); }     \
        return r;                                                                           \
    }
#define EMU_BIN_PD(NAME, EXPR)                                                              \
    EMU_FN emu_m512d NAME(emu_m512d a, emu_m512d b) {                                       \
        emu_m512d r;                                                                        \
        for (int i = 0; i < 8; i++) { double x = a.d[i], y = b.d[i]; r.d[i] = (EXPR); }     \
        return r;                                                                           \
    }
EMU_BIN_PS(emu_mm512_add_ps, x + y)
EMU_BIN_PS(emu_mm512_sub_ps, x - y)
EMU_BIN_PS(emu_mm512_mul_ps, x * y)
EMU_BIN_PS(emu_mm512_div_ps, x / y)
// MINPS/MAXPS: (a < b) ? a : b, (a > b) ? a : b: the second operand wins on NaN and on ±0.
EMU_BIN_PS(emu_mm512_min_ps, x < y ? x : y)
EMU_BIN_PS(emu_mm512_max_ps, x > y ? x : y)
EMU_BIN_PD(emu_mm512_add_pd, x + y)
EMU_BIN_PD(emu_mm512_sub_pd, x - y)
EMU_BIN_PD(emu_mm512_mul_pd, x * y)

EMU_FN emu_m512 emu_mm512_fmadd_ps(emu_m512 a, emu_m512 b, emu_m512 c) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = __builtin_fmaf(a.f[i], b.f[i], c.f[i]);
    return r;
}
EMU_FN emu_m512 emu_mm512_fnmadd_ps(emu_m512 a, emu_m512 b, emu_m512 c) {  // -(a*b) + c, one rounding
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = __builtin_fmaf(-a.f[i], b.f[i], c.f[i]);
    return r;
}
EMU_FN emu_m512d emu_mm512_fmadd_pd(emu_m512d a, emu_m512d b, emu_m512d c) {
    emu_m512d r;
    for (int i = 0; i < 8; i++) r.d[i] = __builtin_fma(a.d[i], b.d[i], c.d[i]);
    return r;
}
EMU_FN emu_m512 emu_mm512_abs_ps(emu_m512 a) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = emu_float(emu_bits(a.f[i]) & 0x7fffffffu);
    return r;
}
EMU_FN emu_m512 emu_mm512_mask_mov_ps(emu_m512 src, __mmask16 k, emu_m512 a) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = ((k >> i) & 1) ? a.f[i] : src.f[i];
    return r;
}
EMU_FN emu_m512i emu_mm512_mask_mov_epi32(emu_m512i src, __mmask16 k, emu_m512i a) {
    emu_m512i r;
    for (int i = 0; i < 16; i++) r.i32[i] = ((k >> i) & 1) ? a.i32[i] : src.i32[i];
    return r;
}
EMU_FN emu_m512 emu_mm512_mask_add_ps(emu_m512 src, __mmask16 k, emu_m512 a, emu_m512 b) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = ((k >> i) & 1) ? a.f[i] + b.f[i] : src.f[i];
    return r;
}
EMU_FN emu_m512 emu_mm512_mask_sub_ps(emu_m512 src, __mmask16 k, emu_m512 a, emu_m512 b) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = ((k >> i) & 1) ? a.f[i] - b.f[i] : src.f[i];
    return r;
}
// Horizontal sum in the order clang's reassociated reduction uses (halving tree).
EMU_FN float emu_mm512_reduce_add_ps(emu_m512 a) {
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) a.f[i] = a.f[i] + a.f[i + w];
    return a.f[0];
}

// ---- compare --------------------------------------------------------------------------------
// Predicate imm: bits 3:0 select the relation (bit 4 only switches quiet/signalling).
EMU_FN int emu_cmp1(float a, float b, int imm) {
    int un = emu_isnan(a) || emu_isnan(b);
    switch (imm & 15) {
    case 0: return !un && a == b;          // EQ_OQ
    case 1: return !un && a < b;           // LT_OS
    case 2: return !un && a <= b;          // LE_OS
    case 3: return un;                     // UNORD_Q
    case 4: return un || a != b;           // NEQ_UQ
    case 5: return un || !(a < b);         // NLT_US
    case 6: return un || !(a <= b);        // NLE_US
    case 7: return !un;                    // ORD_Q
    case 8: return un || a == b;           // EQ_UQ
    case 9: return un || !(a >= b);        // NGE_US
    case 10: return un || !(a > b);        // NGT_US
    case 11: return 0;                     // FALSE_OQ
    case 12: return !un && a != b;         // NEQ_OQ
    case 13: return !un && a >= b;         // GE_OS
    case 14: return !un && a > b;          // GT_OS
    default: return 1;                     // TRUE_UQ
    }
}
EMU_FN __mmask16 emu_mm512_cmp_ps_mask(emu_m512 a, emu_m512 b, int imm) {
    unsigned k = 0;
    for (int i = 0; i < 16; i++) k |= (unsigned)emu_cmp1(a.f[i], b.f[i], imm) << i;
    return (__mmask16)k;
}

// ---- shuffles -------------------------------------------------------------------------------
EMU_FN emu_m512 emu_mm512_shuffle_ps(emu_m512 a, emu_m512 b, int imm) {
    emu_m512 r;
    for (int l = 0; l < 4; l++) {
        r.f[4 * l + 0] = a.f[4 * l + ((imm >> 0) & 3)];
        r.f[4 * l + 1] = a.f[4 * l + ((imm >> 2) & 3)];
        r.f[4 * l + 2] = b.f[4 * l + ((imm >> 4) & 3)];
        r.f[4 * l + 3] = b.f[4 * l + ((imm >> 6) & 3)];
    }
    return r;
}
// shuffle_f32x4 and shuffle_f64x2: 128-bit block l of the result is block (imm >> 2l) & 3
// of a (blocks 0 and 1) or of b (blocks 2 and 3).
EMU_FN void emu_shuffle_blocks(const void *a, const void *b, int imm, void *r) {
    for (int l = 0; l < 4; l++)
        memcpy((char *)r + 16 * l, (const char *)(l < 2 ? a : b) + 16 * ((imm >> (2 * l)) & 3), 16);
}
EMU_FN emu_m512 emu_mm512_shuffle_f32x4(emu_m512 a, emu_m512 b, int imm) {
    emu_m512 r;
    emu_shuffle_blocks(&a, &b, imm, &r);
    return r;
}
EMU_FN emu_m512d emu_mm512_shuffle_f64x2(emu_m512d a, emu_m512d b, int imm) {
    emu_m512d r;
    emu_shuffle_blocks(&a, &b, imm, &r);
    return r;
}
// unpacklo (h = 0) and unpackhi (h = 2): per 128-bit lane, elements h and h + 1 of a and b
// interleaved.
EMU_FN emu_m512 emu_unpack_ps(emu_m512 a, emu_m512 b, int h) {
    emu_m512 r;
    for (int l = 0; l < 4; l++) {
        r.f[4 * l + 0] = a.f[4 * l + h]; r.f[4 * l + 1] = b.f[4 * l + h];
        r.f[4 * l + 2] = a.f[4 * l + h + 1]; r.f[4 * l + 3] = b.f[4 * l + h + 1];
    }
    return r;
}
EMU_FN emu_m512 emu_mm512_unpacklo_ps(emu_m512 a, emu_m512 b) { return emu_unpack_ps(a, b, 0); }
EMU_FN emu_m512 emu_mm512_unpackhi_ps(emu_m512 a, emu_m512 b) { return emu_unpack_ps(a, b, 2); }
EMU_FN emu_m512d emu_mm512_unpacklo_pd(emu_m512d a, emu_m512d b) {
    emu_m512d r;
    for (int l = 0; l < 4; l++) { r.d[2 * l] = a.d[2 * l]; r.d[2 * l + 1] = b.d[2 * l]; }
    return r;
}
EMU_FN emu_m512d emu_mm512_unpackhi_pd(emu_m512d a, emu_m512d b) {
    emu_m512d r;
    for (int l = 0; l < 4; l++) { r.d[2 * l] = a.d[2 * l + 1]; r.d[2 * l + 1] = b.d[2 * l + 1]; }
    return r;
}
// VPERMT2PS: lane i = (idx[i] bit 4 ? b : a)[idx[i] & 15].
EMU_FN emu_m512 emu_mm512_permutex2var_ps(emu_m512 a, emu_m512i idx, emu_m512 b) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) {
        unsigned j = idx.u32[i];
        r.f[i] = (j & 16) ? b.f[j & 15] : a.f[j & 15];
    }
    return r;
}

// ---- integer / casts / conversions --------------------------------------------------------
EMU_FN emu_m512i emu_mm512_add_epi32(emu_m512i a, emu_m512i b) {
    emu_m512i r;
    for (int i = 0; i < 16; i++) r.u32[i] = a.u32[i] + b.u32[i];
    return r;
}
EMU_FN __mmask16 emu_mm512_cmpeq_epi32_mask(emu_m512i a, emu_m512i b) {
    unsigned k = 0;
    for (int i = 0; i < 16; i++) k |= (unsigned)(a.i32[i] == b.i32[i]) << i;
    return (__mmask16)k;
}
EMU_FN emu_m512i emu_mm512_setzero_si512(void) {
    emu_m512i r;
    memset(&r, 0, sizeof r);
    return r;
}
EMU_FN emu_m512i emu_mm512_slli_epi32(emu_m512i a, unsigned imm) {
    emu_m512i r;
    for (int i = 0; i < 16; i++) r.u32[i] = imm > 31 ? 0 : a.u32[i] << imm;
    return r;
}
EMU_FN emu_m512i emu_mm512_and_si512(emu_m512i a, emu_m512i b) {
    emu_m512i r;
    for (int i = 0; i < 16; i++) r.u32[i] = a.u32[i] & b.u32[i];
    return r;
}
EMU_FN emu_m512i emu_mm512_or_si512(emu_m512i a, emu_m512i b) {
    emu_m512i r;
    for (int i = 0; i < 16; i++) r.u32[i] = a.u32[i] | b.u32[i];
    return r;
}
EMU_FN emu_m512i emu_mm512_castps_si512(emu_m512 a) { emu_m512i r; memcpy(&r, &a, 64); return r; }
EMU_FN emu_m512 emu_mm512_castsi512_ps(emu_m512i a) { emu_m512 r; memcpy(&r, &a, 64); return r; }
EMU_FN __m256i emu_mm512_castsi512_si256(emu_m512i a) { return _mm256_loadu_si256((const __m256i *)&a.u8[0]); }
EMU_FN __m256i emu_mm512_extracti64x4_epi64(emu_m512i a, int imm) {
    return _mm256_loadu_si256((const __m256i *)&a.u8[(imm & 1) * 32]);
}
EMU_FN emu_m512i emu_mm512_cvtepu8_epi32(__m128i a) {
    uint8_t t[16];
    _mm_storeu_si128((__m128i *)t, a);
    emu_m512i r;
    for (int i = 0; i < 16; i++) r.i32[i] = (int32_t)t[i];
    return r;
}
EMU_FN emu_m512d emu_mm512_cvtepi32_pd(__m256i a) {
    int32_t t[8];
    _mm256_storeu_si256((__m256i *)t, a);
    emu_m512d r;
    for (int i = 0; i < 8; i++) r.d[i] = (double)t[i];
    return r;
}
EMU_FN emu_m512 emu_mm512_cvtepi32_ps(emu_m512i a) {  // rounds per MXCSR (nearest-even)
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = (float)a.i32[i];
    return r;
}
EMU_FN __m256 emu_mm512_cvtpd_ps(emu_m512d a) {  // rounds per MXCSR (nearest-even)
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = (float)a.d[i];
    return _mm256_loadu_ps(t);
}

// ---- AVX-512 float specials ------------------------------------------------------------------
// VSCALEFPS: a * 2^floor(b) (one rounding), with the SDM's special cases.
EMU_FN float emu_scalef1(float a, float b) {
    if (emu_isnan(a)) return emu_qnan(a);
    if (emu_isnan(b)) return emu_qnan(b);
    if (isinf(b)) {
        if (b > 0) {
            if (a == 0) return emu_float(0xffc00000u);   // 0 * 2^+inf: QNaN indefinite
            return copysignf(INFINITY, a);
        } else {
            if (isinf(a)) return emu_float(0xffc00000u);  // QNaN indefinite
            return copysignf(0.0f, a);
        }
    }
    float fb = floorf(b);
    int e = fb > 2000.0f ? 2000 : fb < -2000.0f ? -2000 : (int)fb;
    return ldexpf(a, e);  // exact scaling, one correct rounding on overflow/underflow; ±0, ±inf kept
}
EMU_FN emu_m512 emu_mm512_scalef_ps(emu_m512 a, emu_m512 b) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = emu_scalef1(a.f[i], b.f[i]);
    return r;
}
// VRNDSCALEPS: 2^-M * round(2^M * x), M = imm[7:4], rounding imm[1:0] unless imm[2] (MXCSR).
EMU_FN float emu_roundscale1(float x, int imm) {
    if (emu_isnan(x)) return emu_qnan(x);
    if (isinf(x) || x == 0) return x;
    int M = (imm >> 4) & 15;
    if (fabsf(x) >= ldexpf(1.0f, 23 - M)) return x;  // already a multiple of 2^-M
    float s = ldexpf(x, M), t;
    switch ((imm & 4) ? 4 : (imm & 3)) {
    case 0: t = __builtin_roundevenf(s); break;
    case 1: t = floorf(s); break;
    case 2: t = ceilf(s); break;
    case 3: t = truncf(s); break;
    default: t = nearbyintf(s); break;
    }
    return copysignf(ldexpf(t, -M), x);  // keeps the sign of x on a zero result
}
EMU_FN emu_m512 emu_mm512_roundscale_ps(emu_m512 a, int imm) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = emu_roundscale1(a.f[i], imm);
    return r;
}
// VGETEXPPS: floor(log2|x|) as a float; denormals normalized; ±0 -> -inf, ±inf -> +inf.
EMU_FN float emu_getexp1(float x) {
    if (emu_isnan(x)) return emu_qnan(x);
    if (x == 0) return -INFINITY;
    if (isinf(x)) return INFINITY;
    int e;
    frexpf(x, &e);            // |x| = m * 2^e, m in [0.5, 1), denormals included
    return (float)(e - 1);
}
EMU_FN emu_m512 emu_mm512_getexp_ps(emu_m512 a) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = emu_getexp1(a.f[i]);
    return r;
}
// VGETMANTPS with imm = interv | sc << 2 (SDM Table "GetMant() Special Values Behavior").
EMU_FN float emu_getmant1(float x, int interv, int sc) {
    uint32_t neg = emu_bits(x) >> 31;
    if (emu_isnan(x)) return emu_qnan(x);
    if (neg && (sc & 2) && x != 0) return emu_float(0xffc00000u);  // negative, sc=nan: QNaN indefinite
    float sign = (neg && !(sc & 1)) ? -1.0f : 1.0f;
    if (x == 0 || isinf(x)) return sign;                            // ±0, ±inf: ±1.0, interval ignored
    int e;
    float m = fabsf(frexpf(x, &e));   // m in [0.5, 1): 1.f * 2^-1 (denormals normalized)
    float s = 2.0f * m;               // significand in [1, 2)
    float out;
    switch (interv & 3) {
    case 0: out = s; break;                         // [1, 2)
    case 2: out = m; break;                         // [0.5, 1)
    case 3: out = s >= 1.5f ? m : s; break;         // [0.75, 1.5)
    default: abort();                               // [0.5, 2): not used by the kernels
    }
    return sign * out;
}
EMU_FN emu_m512 emu_mm512_getmant_ps_(emu_m512 a, int interv, int sc) {
    emu_m512 r;
    for (int i = 0; i < 16; i++) r.f[i] = emu_getmant1(a.f[i], interv, sc);
    return r;
}

// ---- name mapping -----------------------------------------------------------------------------
#undef __m512
#undef __m512d
#undef __m512i
#define __m512 emu_m512
#define __m512d emu_m512d
#define __m512i emu_m512i
#undef _mm512_setzero_ps
#define _mm512_setzero_ps emu_mm512_setzero_ps
#undef _mm512_setzero_pd
#define _mm512_setzero_pd emu_mm512_setzero_pd
#undef _mm512_set1_ps
#define _mm512_set1_ps emu_mm512_set1_ps
#undef _mm512_set1_pd
#define _mm512_set1_pd emu_mm512_set1_pd
#undef _mm512_set1_epi32
#define _mm512_set1_epi32 emu_mm512_set1_epi32
#undef _mm512_setr_epi32
#define _mm512_setr_epi32 emu_mm512_setr_epi32
#undef _mm512_loadu_ps
#define _mm512_loadu_ps emu_mm512_loadu_ps
#undef _mm512_loadu_pd
#define _mm512_loadu_pd emu_mm512_loadu_pd
#undef _mm512_storeu_ps
#define _mm512_storeu_ps emu_mm512_storeu_ps
#undef _mm512_storeu_pd
#define _mm512_storeu_pd emu_mm512_storeu_pd
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps emu_mm512_maskz_loadu_ps
#undef _mm512_maskz_loadu_pd
#define _mm512_maskz_loadu_pd emu_mm512_maskz_loadu_pd
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps emu_mm512_mask_storeu_ps
#undef _mm512_mask_storeu_pd
#define _mm512_mask_storeu_pd emu_mm512_mask_storeu_pd
#undef _mm512_mask_storeu_epi32
#define _mm512_mask_storeu_epi32 emu_mm512_mask_storeu_epi32
#undef _mm256_maskz_loadu_ps
#define _mm256_maskz_loadu_ps emu_mm256_maskz_loadu_ps
#undef _mm256_mask_storeu_ps
#define _mm256_mask_storeu_ps emu_mm256_mask_storeu_ps
#undef _mm512_add_ps
#define _mm512_add_ps emu_mm512_add_ps
#undef _mm512_sub_ps
#define _mm512_sub_ps emu_mm512_sub_ps
#undef _mm512_mul_ps
#define _mm512_mul_ps emu_mm512_mul_ps
#undef _mm512_div_ps
#define _mm512_div_ps emu_mm512_div_ps
#undef _mm512_min_ps
#define _mm512_min_ps emu_mm512_min_ps
#undef _mm512_max_ps
#define _mm512_max_ps emu_mm512_max_ps
#undef _mm512_mul_pd
#define _mm512_mul_pd emu_mm512_mul_pd
#undef _mm512_add_pd
#define _mm512_add_pd emu_mm512_add_pd
#undef _mm512_sub_pd
#define _mm512_sub_pd emu_mm512_sub_pd
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps emu_mm512_fmadd_ps
#undef _mm512_fnmadd_ps
#define _mm512_fnmadd_ps emu_mm512_fnmadd_ps
#undef _mm512_fmadd_pd
#define _mm512_fmadd_pd emu_mm512_fmadd_pd
#undef _mm512_abs_ps
#define _mm512_abs_ps emu_mm512_abs_ps
#undef _mm512_mask_mov_ps
#define _mm512_mask_mov_ps emu_mm512_mask_mov_ps
#undef _mm512_mask_mov_epi32
#define _mm512_mask_mov_epi32 emu_mm512_mask_mov_epi32
#undef _mm512_mask_add_ps
#define _mm512_mask_add_ps emu_mm512_mask_add_ps
#undef _mm512_mask_sub_ps
#define _mm512_mask_sub_ps emu_mm512_mask_sub_ps
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps emu_mm512_reduce_add_ps
#undef _mm512_cmp_ps_mask
#define _mm512_cmp_ps_mask emu_mm512_cmp_ps_mask
#undef _mm512_shuffle_ps
#define _mm512_shuffle_ps emu_mm512_shuffle_ps
#undef _mm512_shuffle_f32x4
#define _mm512_shuffle_f32x4 emu_mm512_shuffle_f32x4
#undef _mm512_shuffle_f64x2
#define _mm512_shuffle_f64x2 emu_mm512_shuffle_f64x2
#undef _mm512_unpacklo_ps
#define _mm512_unpacklo_ps emu_mm512_unpacklo_ps
#undef _mm512_unpackhi_ps
#define _mm512_unpackhi_ps emu_mm512_unpackhi_ps
#undef _mm512_unpacklo_pd
#define _mm512_unpacklo_pd emu_mm512_unpacklo_pd
#undef _mm512_unpackhi_pd
#define _mm512_unpackhi_pd emu_mm512_unpackhi_pd
#undef _mm512_permutex2var_ps
#define _mm512_permutex2var_ps emu_mm512_permutex2var_ps
#undef _mm512_add_epi32
#define _mm512_add_epi32 emu_mm512_add_epi32
#undef _mm512_cmpeq_epi32_mask
#define _mm512_cmpeq_epi32_mask emu_mm512_cmpeq_epi32_mask
#undef _mm512_setzero_si512
#define _mm512_setzero_si512 emu_mm512_setzero_si512
#undef _mm512_slli_epi32
#define _mm512_slli_epi32 emu_mm512_slli_epi32
#undef _mm512_and_si512
#define _mm512_and_si512 emu_mm512_and_si512
#undef _mm512_or_si512
#define _mm512_or_si512 emu_mm512_or_si512
#undef _mm512_castps_si512
#define _mm512_castps_si512 emu_mm512_castps_si512
#undef _mm512_castsi512_ps
#define _mm512_castsi512_ps emu_mm512_castsi512_ps
#undef _mm512_castsi512_si256
#define _mm512_castsi512_si256 emu_mm512_castsi512_si256
#undef _mm512_extracti64x4_epi64
#define _mm512_extracti64x4_epi64 emu_mm512_extracti64x4_epi64
#undef _mm512_cvtepu8_epi32
#define _mm512_cvtepu8_epi32 emu_mm512_cvtepu8_epi32
#undef _mm512_cvtepi32_pd
#define _mm512_cvtepi32_pd emu_mm512_cvtepi32_pd
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps emu_mm512_cvtepi32_ps
#undef _mm512_cvtpd_ps
#define _mm512_cvtpd_ps emu_mm512_cvtpd_ps
#undef _mm512_scalef_ps
#define _mm512_scalef_ps emu_mm512_scalef_ps
#undef _mm512_roundscale_ps
#define _mm512_roundscale_ps emu_mm512_roundscale_ps
#undef _mm512_getexp_ps
#define _mm512_getexp_ps emu_mm512_getexp_ps
#undef _mm512_getmant_ps
#define _mm512_getmant_ps(A, B, C) emu_mm512_getmant_ps_((A), (int)(B), (int)(C))

#endif
