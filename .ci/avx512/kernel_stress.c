// Stress test of one kernel path (argument: 0 portable, 1 AVX2, 2 AVX-512, emulated or not)
// against reference loops or the portable path, on random shapes, with exact-size heap
// buffers so that AddressSanitizer flags any access past a buffer (e.g. a masked lane
// enabled by mistake). Built and run by .ci/avx512/run.
#include "CNablaKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 88172645463325252ULL;
static double urand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (rng >> 11) * (1.0 / 9007199254740992.0); }
static long irand(long lo, long hi) { return lo + (long)(urand() * (hi - lo + 1)); }
static int fails = 0;
#define FAIL(...) do { if (fails++ < 40) { printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } while (0)

static void use(int isa, int threads, long strided) {
    nabla_settings s = {isa, threads, 1, strided};
    nabla_set_thread_settings(s);
}

static void test_gemm(int isa, int big) {
    for (int it = 0; it < (big ? 24 : 2500); it++) {
        int tA = irand(0, 1), tB = irand(0, 1);
        long M = irand(1, it % 10 == 0 ? 140 : 40), N = irand(1, it % 10 == 1 ? 140 : 70), K = irand(1, it % 7 == 0 ? 600 : 40);
        if (big) { M = irand(100, 400); N = irand(30, it % 3 == 0 ? 2200 : 300); K = irand(200, 700); }
        if (!big && it % 13 == 0) { tA = 0; tB = 1; M = irand(1, 30); N = irand(1, 512 / M); K = irand(256, 700); }  // dot path
        int threads = irand(1, 2);
        long strided = (it % 3 == 0) ? 0 : -1;
        float alpha = (it % 5 == 0) ? -0.5f : 1.0f, beta = (it % 4 == 0) ? 0.0f : (it % 4 == 1 ? 1.0f : 0.25f);
        long lda = tA ? M : K, ldb = tB ? K : N, ldc = N;
        if (it % 6 == 0) { lda += irand(0, 3); ldb += irand(0, 3); ldc += irand(0, 3); }
        long asz = (tA ? (K - 1) * lda + M : (M - 1) * lda + K), bsz = (tB ? (N - 1) * ldb + K : (K - 1) * ldb + N), csz = (M - 1) * ldc + N;
        float *A = malloc(asz * 4), *B = malloc(bsz * 4), *C = malloc(csz * 4);
        double *Ad = malloc(asz * 8), *Bd = malloc(bsz * 8), *Cd = malloc(csz * 8), *C0 = malloc(csz * 8);
        for (long i = 0; i < asz; i++) Ad[i] = A[i] = (float)(urand() * 2 - 1);
        for (long i = 0; i < bsz; i++) Bd[i] = B[i] = (float)(urand() * 2 - 1);
        for (long i = 0; i < csz; i++) { C0[i] = Cd[i] = C[i] = (float)(urand() * 2 - 1); }
        if (beta == 0) for (long i = 0; i < csz; i++) C[i] = Cd[i] = NAN;
        use(isa, threads, strided);
        nabla_sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        nabla_dgemm(tA, tB, M, N, K, alpha, Ad, lda, Bd, ldb, beta, Cd, ldc);
        nabla_clear_thread_settings();
        for (long i = 0; i < M; i++)
            for (long j = 0; j < N; j++) {
                double s = 0, mag = 0;
                for (long k = 0; k < K; k++) {
                    double a = tA ? Ad[k * lda + i] : Ad[i * lda + k], b = tB ? Bd[j * ldb + k] : Bd[k * ldb + j];
                    s += a * b; mag += fabs(a * b);
                }
                double want = alpha * s + (beta == 0 ? 0 : beta * C0[i * ldc + j]);
                double tol = 1e-5 * (mag + 1);
                if (!(fabs(C[i * ldc + j] - want) <= tol)) { FAIL("sgemm isa %d tA %d tB %d M %ld N %ld K %ld (%ld,%ld) got %g want %g", isa, tA, tB, M, N, K, i, j, C[i * ldc + j], want); goto done; }
                if (!(fabs(Cd[i * ldc + j] - want) <= 1e-12 * (mag + 1))) { FAIL("dgemm isa %d tA %d tB %d M %ld N %ld K %ld (%ld,%ld) got %g want %g", isa, tA, tB, M, N, K, i, j, Cd[i * ldc + j], want); goto done; }
            }
        // padding columns of C (ldc > N) must be untouched
        for (long i = 0; i + 1 < M; i++) for (long j = N; j < ldc; j++) if (C[i * ldc + j] != (beta == 0 ? (float)NAN : (float)C0[i * ldc + j]) && !(beta == 0 && isnan(C[i * ldc + j]))) { FAIL("sgemm wrote padding isa %d M %ld N %ld ldc %ld", isa, M, N, ldc); goto done; }
    done:
        free(A); free(B); free(C); free(Ad); free(Bd); free(Cd); free(C0);
    }
}

static void test_vmath(int isa) {
    for (long n = 1; n <= 70; n++) {
        float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4);
        for (int f = 0; f < 4; f++) {
            for (long i = 0; i < n; i++) x[i] = f == 1 ? (float)(exp((urand() - 0.5) * 170)) : (float)((urand() - 0.5) * 40);
            void (*fn)(const float *, float *, long) = f == 0 ? nabla_vexp_f32 : f == 1 ? nabla_vlog_f32 : f == 2 ? nabla_vsigmoid_f32 : nabla_vtanh_f32;
            use(isa, 1, -1); fn(x, y, n); use(0, 1, -1); fn(x, z, n); nabla_clear_thread_settings();
            for (long i = 0; i < n; i++) {
                double w = f == 0 ? exp(x[i]) : f == 1 ? log(x[i]) : f == 2 ? 1 / (1 + exp(-(double)x[i])) : tanh(x[i]);
                double err = fabs(y[i] - w), tol = 3e-7 * fabs(w) + (f >= 2 ? 1.2e-7 : 1e-38);
                if (!(err <= tol)) FAIL("vmath f %d isa %d n %ld x %.9g got %.9g want %.9g portable %.9g", f, isa, n, x[i], y[i], w, z[i]);
            }
        }
        free(x); free(y); free(z);
    }
    // special values
    float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, 1e-40f, 1.17549435e-38f, -1.0f, 88.7f, 88.73f, 89.0f, -87.0f, -103.0f, -104.5f, -200.0f,
                  0.625f, -0.625f, 0.62499994f, 9.0f, -9.0f, 20.0f, -20.0f, 1.0f, 0.70710677f, 0.7071068f, 1.4142135f, 3e38f};
    long n = sizeof sp / sizeof sp[0];
    float y[64], z[64];
    for (int f = 0; f < 4; f++) {
        void (*fn)(const float *, float *, long) = f == 0 ? nabla_vexp_f32 : f == 1 ? nabla_vlog_f32 : f == 2 ? nabla_vsigmoid_f32 : nabla_vtanh_f32;
        use(isa, 1, -1); fn(sp, y, n); use(0, 1, -1); fn(sp, z, n); nabla_clear_thread_settings();
        for (long i = 0; i < n; i++) {
            double w = f == 0 ? exp(sp[i]) : f == 1 ? log(sp[i]) : f == 2 ? 1 / (1 + exp(-(double)sp[i])) : tanh(sp[i]);
            float wf = (float)w;
            int ok = (isnan(wf) && isnan(y[i])) || (isinf(wf) && y[i] == wf) || (!isinf(wf) && !isnan(wf) && fabs(y[i] - w) <= 3e-7 * fabs(w) + (f >= 2 ? 1.2e-7 : 2e-45));
            if (wf == 0 && y[i] == 0 && signbit(wf) != signbit(y[i])) ok = 0;
            if (!ok || memcmp(&y[i], &z[i], 4) != 0 && !(isnan(y[i]) && isnan(z[i])))
                printf("%s vmath special f %d isa %d x %.9g: got %.9g want %.9g portable %.9g\n", ok ? "note" : "FAIL", f, isa, sp[i], y[i], wf, z[i]);
            if (!ok) fails++;
        }
    }
}

static void test_im2col(int isa) {
    for (int it = 0; it < 1500; it++) {
        long C = irand(1, 3), H = irand(1, 40), W = irand(1, 40), KH = irand(1, 6), KW = irand(1, 6);
        long sh = irand(1, 3), sw = irand(1, 2), ph = irand(0, 3), pw = irand(0, 3), dh = irand(1, 2), dw = irand(1, 2);
        long OH = (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1, OW = (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1;
        if (OH <= 0 || OW <= 0) continue;
        long xs = C * H * W, cs = C * KH * KW * OH * OW;
        float *x = malloc(xs * 4), *c1 = malloc(cs * 4), *c2 = malloc(cs * 4), *g1 = malloc(xs * 4), *g2 = malloc(xs * 4);
        for (long i = 0; i < xs; i++) x[i] = (float)urand();
        use(isa, 1, -1); nabla_im2col_f32(x, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, c1);
        use(0, 1, -1); nabla_im2col_f32(x, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, c2);
        if (memcmp(c1, c2, cs * 4)) FAIL("im2col isa %d C%ld H%ld W%ld K%ldx%ld s%ld,%ld p%ld,%ld d%ld,%ld", isa, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw);
        for (long i = 0; i < cs; i++) c1[i] = (float)urand();
        for (long i = 0; i < xs; i++) g1[i] = g2[i] = (float)urand();
        use(isa, 1, -1); nabla_col2im_f32(c1, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, g1);
        use(0, 1, -1); nabla_col2im_f32(c1, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, g2);
        nabla_clear_thread_settings();
        if (memcmp(g1, g2, xs * 4)) FAIL("col2im isa %d C%ld H%ld W%ld K%ldx%ld s%ld,%ld p%ld,%ld d%ld,%ld", isa, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw);
        free(x); free(c1); free(c2); free(g1); free(g2);
    }
}

static void test_pool(int isa) {
    for (int it = 0; it < 1500; it++) {
        long P = irand(1, 3), H = irand(2, 20), W = irand(2, 70), OH = H / 2, OW = W / 2;
        if (it % 4 == 0) OW = irand(1, OW);
        float *x = malloc(P * H * W * 4), *y1 = malloc(P * OH * OW * 4), *y2 = malloc(P * OH * OW * 4);
        int32_t *i1 = malloc(P * OH * OW * 4), *i2 = malloc(P * OH * OW * 4);
        for (long i = 0; i < P * H * W; i++) {
            double u = urand();
            x[i] = u < 0.05 ? NAN : u < 0.3 ? (float)(int)(urand() * 3) : u < 0.35 ? -0.0f : (float)(urand() * 4 - 2);
        }
        use(isa, 1, -1); nabla_maxpool2x2_f32(x, y1, i1, P, H, W, OH, OW);
        use(0, 1, -1); nabla_maxpool2x2_f32(x, y2, i2, P, H, W, OH, OW);
        nabla_clear_thread_settings();
        if (memcmp(y1, y2, P * OH * OW * 4) || memcmp(i1, i2, P * OH * OW * 4)) FAIL("maxpool isa %d P%ld H%ld W%ld OW%ld", isa, P, H, W, OW);
        // over max(x, 0): the pooling of the ReLU's output
        float *xr = malloc(P * H * W * 4);
        for (long i = 0; i < P * H * W; i++) xr[i] = x[i] > 0 ? x[i] : 0.0f;
        use(isa, 1, -1); nabla_relu_maxpool2x2_f32(x, y1, i1, P, H, W, OH, OW);
        use(0, 1, -1); nabla_maxpool2x2_f32(xr, y2, i2, P, H, W, OH, OW);
        nabla_clear_thread_settings();
        if (memcmp(y1, y2, P * OH * OW * 4) || memcmp(i1, i2, P * OH * OW * 4)) FAIL("relu maxpool isa %d P%ld H%ld W%ld OW%ld", isa, P, H, W, OW);
        free(xr);
        // the backward through those indices, into exact-size planes
        float *g1 = malloc(P * H * W * 4), *g2 = malloc(P * H * W * 4);
        for (long i = 0; i < P * H * W; i++) g1[i] = g2[i] = NAN;
        use(isa, 1, -1); nabla_maxpool2x2_backward_f32(y1, i1, g1, P, H, W, OH, OW);
        use(0, 1, -1); nabla_maxpool2x2_backward_f32(y1, i1, g2, P, H, W, OH, OW);
        nabla_clear_thread_settings();
        if (memcmp(g1, g2, P * H * W * 4)) FAIL("maxpool backward isa %d P%ld H%ld W%ld OW%ld", isa, P, H, W, OW);
        free(g1); free(g2);
        free(x); free(y1); free(y2); free(i1); free(i2);
    }
}

static void test_gather(int isa) {
    for (long rb = 1; rb <= 100; rb++) {
        long rows = 5, cnt = 4;
        uint8_t *src = malloc(rows * rb);
        for (long i = 0; i < rows * rb; i++) src[i] = (uint8_t)irand(0, 255);
        long idx[4] = {3, 0, 4, 3};
        float *d1 = malloc(cnt * rb * 4);
        // 1/255 takes the float path; 0.3 is refused it (see gather.c)
        double scale = rb % 3 == 0 ? 1.0 / 255 : rb % 3 == 1 ? 0.3081 : 0.3;
        use(isa, 1, -1); nabla_gather_rows_u8_f32(src, rb, idx, cnt, scale, d1); nabla_clear_thread_settings();
        for (long k = 0; k < cnt; k++) for (long j = 0; j < rb; j++)
            if (d1[k * rb + j] != (float)((double)src[idx[k] * rb + j] * scale)) { FAIL("gather isa %d rb %ld", isa, rb); k = cnt; break; }
        free(src); free(d1);
    }
}

// ReLU and its backward against the portable path bit for bit, exact-size buffers.
static void test_relu(int isa) {
    for (long n = 1; n <= 100; n++) {
        float *x = malloc(n * 4), *g = malloc(n * 4), *y1 = malloc(n * 4), *y2 = malloc(n * 4);
        float *b1 = malloc(n * 4), *b2 = malloc(n * 4);
        for (long i = 0; i < n; i++) {
            double u = urand();
            x[i] = u < 0.05 ? NAN : u < 0.1 ? -0.0f : u < 0.15 ? 0.0f : (float)(urand() * 4 - 2);
            g[i] = (float)(urand() * 4 - 2);
        }
        use(isa, 1, -1); nabla_vrelu_f32(x, y1, n); nabla_vrelu_backward_f32(g, x, b1, n);
        use(0, 1, -1); nabla_vrelu_f32(x, y2, n); nabla_vrelu_backward_f32(g, x, b2, n);
        nabla_clear_thread_settings();
        if (memcmp(y1, y2, n * 4) || memcmp(b1, b2, n * 4)) FAIL("relu isa %d n %ld", isa, n);
        free(x); free(g); free(y1); free(y2); free(b1); free(b2);
    }
}

// Plain SGD against the portable path bit for bit, on exact-size buffers of every length up
// to 100 and a few past the 256 Ki thread split, with and without decay, float and double.
static void test_sgd(int isa) {
    for (long n = 1; n <= 100 + 3; n++) {
        long len = n <= 100 ? n : 262144 * (n - 100) + irand(1, 40);
        float *w1 = malloc(len * 4), *w2 = malloc(len * 4), *g = malloc(len * 4);
        double *d1 = malloc(len * 8), *d2 = malloc(len * 8), *gd = malloc(len * 8);
        for (long i = 0; i < len; i++) {
            w1[i] = w2[i] = (float)(urand() * 2 - 1); g[i] = (float)(urand() * 2 - 1);
            d1[i] = d2[i] = urand() * 2 - 1; gd[i] = urand() * 2 - 1;
        }
        float wd = n % 2 ? 0.0f : 1e-3f;
        use(isa, irand(1, 2), -1);
        nabla_sgd_update_f32(w1, g, len, 0.37f, wd); nabla_sgd_update_f64(d1, gd, len, 0.37, wd);
        use(0, 1, -1);
        nabla_sgd_update_f32(w2, g, len, 0.37f, wd); nabla_sgd_update_f64(d2, gd, len, 0.37, wd);
        nabla_clear_thread_settings();
        if (memcmp(w1, w2, len * 4) || memcmp(d1, d2, len * 8)) FAIL("sgd isa %d n %ld", isa, len);
        free(w1); free(w2); free(g); free(d1); free(d2); free(gd);
    }
}

static void test_wino(int isa) {
    for (int it = 0; it < 40; it++) {
        long N = irand(1, 3), C = irand(1, 10), K = irand(1, 10), H = irand(5, 19), W = irand(5, 19), ph = irand(0, 2), pw = irand(0, 2);
        long OH = H + 2 * ph - 4, OW = W + 2 * pw - 4;
        long xs = N * C * H * W, ws = K * C * 25, ys = N * K * OH * OW;
        float *x = malloc(xs * 4), *w = malloc(ws * 4), *y1 = malloc(ys * 4), *y2 = malloc(ys * 4), *gw1 = malloc(ws * 4), *gw2 = malloc(ws * 4), *gx1 = malloc(xs * 4), *gx2 = malloc(xs * 4), *gy = malloc(ys * 4);
        for (long i = 0; i < xs; i++) x[i] = (float)(urand() - 0.5);
        for (long i = 0; i < ws; i++) w[i] = (float)(urand() - 0.5);
        for (long i = 0; i < ys; i++) gy[i] = (float)(urand() - 0.5);
        int th = irand(1, 2);
        use(isa, th, -1);
        nabla_conv5x5_forward_f32(x, N, C, H, W, w, K, ph, pw, y1);
        nabla_conv5x5_weight_grad_f32(x, gy, N, C, H, W, K, ph, pw, gw1);
        nabla_conv5x5_backward_input_f32(gy, N, K, C, H, W, w, ph, pw, gx1);
        use(0, 1, -1);
        nabla_conv5x5_forward_f32(x, N, C, H, W, w, K, ph, pw, y2);
        nabla_conv5x5_weight_grad_f32(x, gy, N, C, H, W, K, ph, pw, gw2);
        nabla_conv5x5_backward_input_f32(gy, N, K, C, H, W, w, ph, pw, gx2);
        nabla_clear_thread_settings();
        double e1 = 0, e2 = 0, e3 = 0;
        for (long i = 0; i < ys; i++) e1 = fmax(e1, fabs(y1[i] - y2[i]));
        for (long i = 0; i < ws; i++) e2 = fmax(e2, fabs(gw1[i] - gw2[i]));
        for (long i = 0; i < xs; i++) e3 = fmax(e3, fabs(gx1[i] - gx2[i]));
        if (!(e1 < 1e-4 * C && e2 < 1e-4 * N * OH * OW && e3 < 1e-4 * K)) FAIL("winograd isa %d N%ld C%ld K%ld H%ld W%ld p%ld,%ld errs %g %g %g", isa, N, C, K, H, W, ph, pw, e1, e2, e3);
        free(x); free(w); free(y1); free(y2); free(gw1); free(gw2); free(gx1); free(gx2); free(gy);
    }
}

int main(int argc, char **argv) {
    int isa = argc > 1 ? atoi(argv[1]) : 2;
    use(isa, 1, -1);
    printf("testing isa %d (in effect: %d %s)\n", isa, nabla_kernels_isa(), nabla_kernels_isa_name(nabla_kernels_isa()));
    nabla_clear_thread_settings();
    test_gather(isa); printf("gather done, fails %d\n", fails);
    test_sgd(isa); printf("sgd done, fails %d\n", fails);
    test_pool(isa); printf("pool done, fails %d\n", fails);
    test_relu(isa); printf("relu done, fails %d\n", fails);
    test_im2col(isa); printf("im2col done, fails %d\n", fails);
    test_vmath(isa); printf("vmath done, fails %d\n", fails);
    test_gemm(isa, 0); test_gemm(isa, 1); printf("gemm done, fails %d\n", fails);
    test_wino(isa); printf("winograd done, fails %d\n", fails);
    printf("TOTAL FAILS %d\n", fails);
    return fails != 0;
}
