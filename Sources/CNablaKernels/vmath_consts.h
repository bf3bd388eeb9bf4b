// Constants shared by the vector-math kernels (vmath_*.c).
// exp: x = n*ln2 + r with |r| <= ln2/2, ln2 split in two so n*LN2_HI is exact, then
// e^r = 1 + r + r^2*P(r) with a degree-5 minimax P (the classic Cephes expf fit).
// log: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), f = m-1,
// log(1+f) = f - f^2/2 + f^3*Q(f) with a degree-8 Q (Cephes logf fit).
// tanh: |x| < 0.625 uses x + x^3*R(x^2) (Cephes tanhf fit); larger |x| uses
// 1 - 2/(e^(2|x|) + 1), which is accurate to an absolute 1e-7 there and saturates to 1.
#ifndef CNABLA_VMATH_CONSTS_H
#define CNABLA_VMATH_CONSTS_H
#define EXP_HI 88.8f            // above: overflow (clamped input gives n = 128 -> inf)
#define EXP_LO (-104.0f)        // below: underflow to 0 (n = -150)
#define EXP_OVF 88.72283935546875f   // largest x whose exp is finite
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO (-2.12194440e-4f)
#define EXP_P0 1.9875691500e-4f
#define EXP_P1 1.3981999507e-3f
#define EXP_P2 8.3334519073e-3f
#define EXP_P3 4.1665795894e-2f
#define EXP_P4 1.6666665459e-1f
#define EXP_P5 5.0000001201e-1f
#define SQRTHF 0.707106781186547524f
#define LOG_Q0 7.0376836292e-2f
#define LOG_Q1 (-1.1514610310e-1f)
#define LOG_Q2 1.1676998740e-1f
#define LOG_Q3 (-1.2420140846e-1f)
#define LOG_Q4 1.4249322787e-1f
#define LOG_Q5 (-1.6668057665e-1f)
#define LOG_Q6 2.0000714765e-1f
#define LOG_Q7 (-2.4999993993e-1f)
#define LOG_Q8 3.3333331174e-1f
#define TANH_SMALL 0.625f
#define TANH_R0 (-5.70498872745e-3f)
#define TANH_R1 2.06390887954e-2f
#define TANH_R2 (-5.37397155531e-2f)
#define TANH_R3 1.33314422036e-1f
#define TANH_R4 (-3.33332819422e-1f)
#endif
