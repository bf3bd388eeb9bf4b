// Portable float32 exp/log/sigmoid/tanh: the same polynomials as the SIMD paths, in
// scalar C (the SIMD files call these for nothing; they have their own tails).
#include "internal.h"
#include "vmath_consts.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float bits_f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t f_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float exp_1(float x) {
    if (x != x) return x;
    if (x > EXP_OVF) return INFINITY;
    if (x < EXP_LO) return 0.0f;
    float n = nearbyintf(x * LOG2E);
    float r = x - n * LN2_HI - n * LN2_LO;
    float p = EXP_P0;
    p = p * r + EXP_P1; p = p * r + EXP_P2; p = p * r + EXP_P3;
    p = p * r + EXP_P4; p = p * r + EXP_P5;
    p = p * r * r + r + 1.0f;
    // 2^n in two halves so that n down to -150 (denormal results) and up to 128 work.
    int ni = (int)n, n1 = ni / 2, n2 = ni - n1;
    return p * bits_f((uint32_t)(n1 + 127) << 23) * bits_f((uint32_t)(n2 + 127) << 23);
}

static inline float log_1(float x) {
    if (x != x || x < 0) return NAN;
    if (x == 0) return -INFINITY;
    if (x == INFINITY) return x;
    int e = 0;
    if (x < 1.17549435e-38f) { x *= 8388608.0f; e = -23; }  // denormal: scale by 2^23
    uint32_t u = f_bits(x);
    e += (int)(u >> 23) - 126;
    float m = bits_f((u & 0x007fffffu) | 0x3f000000u);  // [0.5, 1)
    if (m < SQRTHF) { e -= 1; m = m + m - 1.0f; } else m = m - 1.0f;
    float z = m * m;
    float q = LOG_Q0;
    q = q * m + LOG_Q1; q = q * m + LOG_Q2; q = q * m + LOG_Q3; q = q * m + LOG_Q4;
    q = q * m + LOG_Q5; q = q * m + LOG_Q6; q = q * m + LOG_Q7; q = q * m + LOG_Q8;
    float fe = (float)e;
    float y = q * m * z + fe * LN2_LO - 0.5f * z;
    return m + y + fe * LN2_HI;
}

static inline float tanh_1(float x) {
    float a = fabsf(x);
    if (a < TANH_SMALL) {
        float z = a * a, r = TANH_R0;
        r = r * z + TANH_R1; r = r * z + TANH_R2; r = r * z + TANH_R3; r = r * z + TANH_R4;
        return copysignf(a + a * z * r, x);  // on |x|, so tanh(-0) = -0
    }
    float t = 1.0f - 2.0f / (exp_1(2.0f * a) + 1.0f);
    return copysignf(t, x);
}

void nabla_vexp_portable(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = exp_1(x[i]);
}
void nabla_vlog_portable(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = log_1(x[i]);
}
void nabla_vsigmoid_portable(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp_1(-x[i]));
}
void nabla_vtanh_portable(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = tanh_1(x[i]);
}
