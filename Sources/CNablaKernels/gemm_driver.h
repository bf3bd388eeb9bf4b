// GEMM driver (a template, not a normal header), included by gemm.c for float and double.
// Expects: T (element type), SUF (f32/f64), IMPL (impl struct type), UKR (kernel type),
// API (public function name), and the three impl tables IMPL_PORTABLE/AVX2/AVX512.
//
// Layout follows BLIS: B is packed into KC x NR column panels, A into MR x KC row panels,
// and a register-tiled micro-kernel multiplies one A panel by one B panel. Transposes
// are absorbed by the packing routines. Products whose inputs fit in a few MiB skip
// packing A (the kernel reads A through strides) and pack B only when it is transposed:
// there the copies cost more than they save (measurements in gemm.c).

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SUF)

// Per-thread packing buffers (see nabla_thread_buffer), and scratch for a product computed
// transposed (see API).
static __thread void *FN(tls_apack) = 0, *FN(tls_bpack) = 0, *FN(tls_tpose) = 0;
static __thread size_t FN(tls_acap) = 0, FN(tls_bcap) = 0, FN(tls_tcap) = 0;

static T *FN(buffer)(void **p, size_t *cap, size_t need) {
    return (T *)nabla_thread_buffer(p, cap, need * sizeof(T));
}

// Packs rows [i0, i0+mc) x columns [k0, k0+kc) of op(A) into panels of mr rows:
// panel p holds element (i, k) at ap[p*mr*kc + k*mr + i], zero rows past the end.
static void FN(pack_a)(int tA, const T *A, long lda, long i0, long mc, long k0, long kc,
                       int mr, T *ap) {
    for (long p = 0; p < mc; p += mr, ap += (long)mr * kc) {
        long rows = mc - p < mr ? mc - p : mr;
        if (tA) {  // op(A)(i,k) = A[k*lda + i]: mr contiguous values per k
            const T *src = A + (k0)*lda + i0 + p;
            for (long k = 0; k < kc; k++, src += lda) {
                long i = 0;
                for (; i < rows; i++) ap[k * mr + i] = src[i];
                for (; i < mr; i++) ap[k * mr + i] = 0;
            }
        } else if (rows == 6 && mr == 6) {
            // A full panel of the 6-row kernels (AVX2, AVX-512): six row streams read in
            // step, so the panel is written in order rather than with a stride of mr.
            const T *r0 = A + (i0 + p) * lda + k0, *r1 = r0 + lda, *r2 = r1 + lda,
                    *r3 = r2 + lda, *r4 = r3 + lda, *r5 = r4 + lda;
            for (long k = 0; k < kc; k++) {
                T *d = ap + k * 6;
                d[0] = r0[k]; d[1] = r1[k]; d[2] = r2[k];
                d[3] = r3[k]; d[4] = r4[k]; d[5] = r5[k];
            }
        } else {   // op(A)(i,k) = A[i*lda + k]: walk each row contiguously
            for (long i = 0; i < rows; i++) {
                const T *src = A + (i0 + p + i) * lda + k0;
                for (long k = 0; k < kc; k++) ap[k * mr + i] = src[k];
            }
            for (long i = rows; i < mr; i++)
                for (long k = 0; k < kc; k++) ap[k * mr + i] = 0;
        }
    }
}

// Packs rows [k0, k0+kc) x columns [j0, j0+nc) of op(B) into panels of nr columns:
// panel q holds element (k, j) at bp[q*nr*kc + k*nr + j], zero columns past the end.
static void FN(pack_b)(const IMPL *im, int tB, const T *B, long ldb, long k0, long kc,
                       long j0, long nc, T *bp) {
    const int nr = im->nr;
    for (long q = 0; q < nc; q += nr, bp += (long)nr * kc) {
        long cols = nc - q < nr ? nc - q : nr;
        if (tB && im->pack_bt) {
            im->pack_bt(B + (j0 + q) * ldb + k0, ldb, kc, cols, bp);
        } else if (!tB) {  // op(B)(k,j) = B[k*ldb + j]: nr contiguous values per k
            const T *src = B + k0 * ldb + j0 + q;
            // Full panels copy nr values per k; a constant size lets the copy be inlined
            // (a memcpy call per 64-byte row cost about as much as the copy itself).
            if (cols == nr && nr * sizeof(T) == 64) {
                for (long k = 0; k < kc; k++, src += ldb) memcpy(bp + k * nr, src, 64);
            } else if (cols == nr && nr * sizeof(T) == 128) {
                for (long k = 0; k < kc; k++, src += ldb) memcpy(bp + k * nr, src, 128);
            } else if (cols == nr) {
                for (long k = 0; k < kc; k++, src += ldb) memcpy(bp + k * nr, src, nr * sizeof(T));
            } else {
                for (long k = 0; k < kc; k++, src += ldb) {
                    long j = 0;
                    for (; j < cols; j++) bp[k * nr + j] = src[j];
                    for (; j < nr; j++) bp[k * nr + j] = 0;
                }
            }
        } else {    // op(B)(k,j) = B[j*ldb + k]: a transpose, done in blocks of 8 k so
                    // the 8 destination rows stay in L1 while the nr source rows stream
            const T *src = B + (j0 + q) * ldb + k0;
            for (long kb = 0; kb < kc; kb += 8) {
                long ke = kc - kb < 8 ? kc : kb + 8;
                for (long j = 0; j < cols; j++)
                    for (long k = kb; k < ke; k++) bp[k * nr + j] = src[j * ldb + k];
            }
            for (long k = 0; k < kc; k++)
                for (long j = cols; j < nr; j++) bp[k * nr + j] = 0;
        }
    }
}

typedef struct {
    const IMPL *impl;
    int tA, tB;
    long M, N, K;
    T alpha, beta;
    const T *A, *B;
    long lda, ldb, ldc;
    T *C;
    int split_n;  // threads split columns (else rows)
    long chunk;   // columns or rows per task, a multiple of nr or mr
    const T *bpacked;  // strided path with transposed B: B already packed (K x nr panels)
    int strided;       // path, chosen once for the whole product: packing blocks K, so a
                       // task must not choose differently from a single-threaded call
} FN(gemm_job);

// With a kernel set that has short tiles (mr_short = mr - 1; AVX-512 and AVX2: 6 and 5
// rows): how many of M's last rows to cover with short tiles so that no tile is ragged,
// e.g. M = 20 as 5 + 5 + 5 + 5 rather than 6 + 6 + 6 + 2 (a ragged tile does a full tile's
// FMAs), M = 40 as 6·5 + 5·2. 0 when M is a multiple of mr or cannot be split so. Each
// element of C goes through the same operations whatever the height of its tile.
static long FN(short_tile_rows)(const IMPL *im, long M) {
    const long mr = im->mr, ms = im->mr_short;
    if (!ms || M % mr == 0) return 0;
    for (long b = 1; b < mr && ms * b <= M; b++)
        if ((M - ms * b) % mr == 0) return ms * b;
    return 0;
}

// Small and mid-sized products: A is read in place through strides, and so is B unless
// it is transposed (then it is copied into panels first). Loop order: one B panel
// (K x NR, kept in L1/L2) against all row tiles of A.
static void FN(gemm_unpacked)(const FN(gemm_job) *g) {
    const IMPL *im = g->impl;
    const int mr = im->mr, nr = im->nr;
    const long M = g->M, N = g->N, K = g->K;
    const long rsa = g->tA ? 1 : g->lda, csa = g->tA ? g->lda : 1;
    const T *bp = g->bpacked;
    const long short_rows = FN(short_tile_rows)(im, M);
    if (g->tB && !bp) {
        size_t need = (size_t)K * (size_t)(((N + nr - 1) / nr) * nr);
        T *buf = FN(buffer)(&FN(tls_bpack), &FN(tls_bcap), need);
        if (!buf) return;
        FN(pack_b)(im, 1, g->B, g->ldb, 0, K, 0, N, buf);
        bp = buf;
    }
    for (long j = 0; j < N; j += nr) {
        long nrr = N - j < nr ? N - j : nr;
        const T *b = bp ? bp + j * K : g->B + j;
        long rsb = bp ? nr : g->ldb;
        UKR kern = im->general;
        long step = mr, tail = short_rows;
        if (im->narrow && nrr <= im->nr_n) { kern = im->narrow; step = im->mr_n; tail = 0; }
        for (long i = 0; i < M;) {
            long h = M - i <= tail ? im->mr_short : step;
            long mrr = M - i < h ? M - i : h;
            kern(K, g->A + i * rsa, rsa, csa, b, rsb, g->alpha, g->beta,
                 g->C + i * g->ldc + j, g->ldc, mrr, nrr);
            i += mrr;
        }
    }
}

// The packed path's blocking for this kernel's tile width (see gemm.c).
static inline long FN(kc_block)(const IMPL *im) { return im->nr * sizeof(T) >= 128 ? GEMM_KC_WIDE : GEMM_KC; }
static inline long FN(mc_block)(const IMPL *im) { return im->nr * sizeof(T) >= 128 ? GEMM_MC_WIDE : GEMM_MC; }

// Rows [r0, r0+m) of C, columns [jc, jc+nc), accumulate op(A)(rows, pc..pc+kc) times a
// packed block of B (kc x nc, at bp): A is packed MC rows at a time into this thread's
// buffer, and each register tile runs the packed micro-kernel.
static void FN(packed_rows)(const FN(gemm_job) *g, const T *bp, long jc, long nc, long pc,
                            long kc, long r0, long m) {
    const IMPL *im = g->impl;
    const int mr = im->mr, nr = im->nr;
    const long MC = FN(mc_block)(im);
    long mcmax = m < MC ? ((m + mr - 1) / mr) * mr : MC;
    T *ap = FN(buffer)(&FN(tls_apack), &FN(tls_acap), (size_t)mcmax * kc);
    if (!ap) return;
    T beta = pc == 0 ? g->beta : (T)1;
    for (long ic = r0; ic < r0 + m; ic += MC) {
        long mc = r0 + m - ic < MC ? r0 + m - ic : MC;
        FN(pack_a)(g->tA, g->A, g->lda, ic, mc, pc, kc, mr, ap);
        for (long jr = 0; jr < nc; jr += nr) {
            long nrr = nc - jr < nr ? nc - jr : nr;
            for (long ir = 0; ir < mc; ir += mr) {
                long mrr = mc - ir < mr ? mc - ir : mr;
                im->packed(kc, ap + ir * kc, 1, mr, bp + jr * kc, nr, g->alpha, beta,
                           g->C + (ic + ir) * g->ldc + jc + jr, g->ldc, mrr, nrr);
            }
        }
    }
}

// The packed B block of a GEMM for its steps (jc, pc).
static T *FN(packed_b_buffer)(const FN(gemm_job) *g) {
    const int nr = g->impl->nr;
    const long KC = FN(kc_block)(g->impl);
    long kcmax = g->K < KC ? g->K : KC;
    long ncmax = g->N < GEMM_NC ? ((g->N + nr - 1) / nr) * nr : GEMM_NC;
    return FN(buffer)(&FN(tls_bpack), &FN(tls_bcap), (size_t)ncmax * kcmax);
}

static void FN(gemm_packed)(const FN(gemm_job) *g) {
    T *bp = FN(packed_b_buffer)(g);
    if (!bp) return;
    const long KC = FN(kc_block)(g->impl);
    for (long jc = 0; jc < g->N; jc += GEMM_NC) {
        long nc = g->N - jc < GEMM_NC ? g->N - jc : GEMM_NC;
        for (long pc = 0; pc < g->K; pc += KC) {
            long kc = g->K - pc < KC ? g->K - pc : KC;
            FN(pack_b)(g->impl, g->tB, g->B, g->ldb, pc, kc, jc, nc, bp);
            FN(packed_rows)(g, bp, jc, nc, pc, kc, 0, g->M);
        }
    }
}

// One step (jc, pc) of the threaded packed path: the threads first pack the B block
// together (panels in parts), then each multiplies its block of rows by it.
typedef struct {
    const FN(gemm_job) *g;
    T *bp;
    long jc, nc, pc, kc;
    long panels;  // B panels per packing task
    long rows;    // rows of C per multiplying task, a multiple of mr
} FN(packed_step);

static void FN(packed_step_pack)(void *ctx, long t) {
    const FN(packed_step) *s = (const FN(packed_step) *)ctx;
    const FN(gemm_job) *g = s->g;
    long q0 = t * s->panels * g->impl->nr;
    if (q0 >= s->nc) return;
    long cols = s->nc - q0 < s->panels * g->impl->nr ? s->nc - q0 : s->panels * g->impl->nr;
    FN(pack_b)(g->impl, g->tB, g->B, g->ldb, s->pc, s->kc, s->jc + q0, cols, s->bp + q0 * s->kc);
}

static void FN(packed_step_rows)(void *ctx, long t) {
    const FN(packed_step) *s = (const FN(packed_step) *)ctx;
    long r0 = t * s->rows;
    if (r0 >= s->g->M) return;
    long m = s->g->M - r0 < s->rows ? s->g->M - r0 : s->rows;
    FN(packed_rows)(s->g, s->bp, s->jc, s->nc, s->pc, s->kc, r0, m);
}

// The packed path on nt threads, splitting rows: one packed copy of each B block serves
// every thread (packing it once per thread cost each thread as much as packing its A).
// Every element of C goes through the same operations as in gemm_packed.
static void FN(gemm_packed_threads)(const FN(gemm_job) *g, long nt) {
    const int mr = g->impl->mr, nr = g->impl->nr;
    T *bp = FN(packed_b_buffer)(g);
    if (!bp) return;
    long mtiles = (g->M + mr - 1) / mr;
    long rows = ((mtiles + nt - 1) / nt) * mr;
    long rtasks = (g->M + rows - 1) / rows;
    const long KC = FN(kc_block)(g->impl);
    for (long jc = 0; jc < g->N; jc += GEMM_NC) {
        long nc = g->N - jc < GEMM_NC ? g->N - jc : GEMM_NC;
        long ntiles = (nc + nr - 1) / nr;
        long ptasks = 4 * nt < ntiles ? 4 * nt : ntiles;
        long panels = (ntiles + ptasks - 1) / ptasks;
        ptasks = (ntiles + panels - 1) / panels;
        for (long pc = 0; pc < g->K; pc += KC) {
            long kc = g->K - pc < KC ? g->K - pc : KC;
            FN(packed_step) s = {g, bp, jc, nc, pc, kc, panels, rows};
            nabla_parallel_for(ptasks, (int)nt, FN(packed_step_pack), &s);
            nabla_parallel_for(rtasks, (int)nt, FN(packed_step_rows), &s);
        }
    }
}

// Whether the strided (no-copy) path is used: inputs small enough that the copies made
// by packing cost more than they save. The limit depends on the tile width (see gemm.c).
static int FN(use_strided)(const IMPL *im, long M, long N, long K) {
    double bytes = ((double)M + (double)N) * (double)K * sizeof(T);
    double limit = im->nr * sizeof(T) >= 128 ? GEMM_UNPACKED_BYTES : GEMM_UNPACKED_BYTES_NARROW;
    long forced = nabla_gemm_strided_limit();
    if (forced >= 0) limit = (double)forced;
    return bytes <= limit;
}

static void FN(gemm_serial)(const FN(gemm_job) *g) {
    if (g->strided)
        FN(gemm_unpacked)(g);
    else
        FN(gemm_packed)(g);
}

// One thread's share: a block of rows or of columns, itself a complete smaller GEMM.
static void FN(gemm_part)(void *ctx, long t) {
    const FN(gemm_job) *g = (const FN(gemm_job) *)ctx;
    FN(gemm_job) s = *g;
    long lo = t * g->chunk;
    if (g->split_n) {
        if (lo >= g->N) return;
        s.N = g->N - lo < g->chunk ? g->N - lo : g->chunk;
        s.B = g->tB ? g->B + lo * g->ldb : g->B + lo;
        if (g->bpacked) s.bpacked = g->bpacked + lo * g->K;
        s.C = g->C + lo;
    } else {
        if (lo >= g->M) return;
        s.M = g->M - lo < g->chunk ? g->M - lo : g->chunk;
        s.A = g->tA ? g->A + lo : g->A + lo * g->lda;
        s.C = g->C + lo * g->ldc;
    }
    FN(gemm_serial)(&s);
}

// Whether A·Bᵀ goes to the dot-product kernel: a small output over a long K, where a
// register tile would leave lanes idle or spend its time loading and storing C. The
// bounds are the kernel set's, measured (one thread):
// - AVX-512 (Zen 4): at most 512 outputs and K >= 256. A conv layer's 25 x 20 weight
//   gradient over K = 576 ran at 41-52 GFLOPS as register tiles and 68-78 as dot
//   products, the 10 x 30 x 784 first layer of Nielsen's network at 45 and 67-71; but
//   32 x 32 and 16 x 64 outputs (K = 512) ran faster as tiles (78-89 against 49-67).
//   With the 5 x 5 dot tiles (2026-12-02), also any number of outputs when M <= 12 and
//   K >= 256: a batch of ten through a dense layer, x·Wᵀ, went as Cᵀ = W·xᵀ through the
//   12 x 16 narrow tiles with 10 of 16 lanes used (C harness, one thread: 10 x 100 x 784
//   16.4 against 25.4 us, 8 x 100 x 784 13.3 against 25.4, 12 x 100 x 784 19.8 against
//   25.5, 10 x 1000 x 1000 216 against 287, 10 x 1000 x 640 144 against 186, 12 x 2000 x
//   512 equal); at 16 rows the tiles win again (16 x 100 x 784: 25.7 against 27.5).
// - AVX2 (Zen 3): at most 8192 outputs and K >= 64. Dot products won at 40 x 20 x 256
//   (a Winograd weight gradient: 50 against 25 GFLOPS), 10 x 100 x 640 (75 against 38),
//   64 x 20 x 64 (36 against 26) and 64 x 100 x 640 (71 against 60); tiles won at
//   128 x 128 x 128 (81 against 67), 512 x 64 x 64 and 40 x 40 x 32.
static int FN(use_dot)(const IMPL *im, long M, long N, long K) {
    return im->dot && K >= im->dot_min_k && (M * N <= im->dot_max_outputs || M <= im->dot_max_rows);
}

typedef struct {
    const IMPL *impl;
    long M, N, K;
    T alpha, beta;
    const T *A;
    long lda;
    const T *B;
    long ldb;
    T *C;
    long ldc, rows;
} FN(dot_job);

static void FN(dot_part)(void *ctx, long t) {
    const FN(dot_job) *d = (const FN(dot_job) *)ctx;
    long i = t * d->rows, m = d->M - i < d->rows ? d->M - i : d->rows;
    d->impl->dot(m, d->N, d->K, d->alpha, d->A + i * d->lda, d->lda, d->B, d->ldb, d->beta,
                 d->C + i * d->ldc, d->ldc);
}

void API(int transA, int transB, long M, long N, long K, T alpha, const T *A, long lda,
         const T *B, long ldb, T beta, T *C, long ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0) {  // nothing to multiply: C = beta * C
        for (long i = 0; i < M; i++)
            for (long j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0 ? (T)0 : beta * C[i * ldc + j];
        return;
    }
    const IMPL *impl;
    switch (nabla_kernels_isa()) {
#if NABLA_X86
    case NABLA_ISA_AVX512: impl = &IMPL_AVX512; break;
    case NABLA_ISA_AVX2: impl = &IMPL_AVX2; break;
#endif
    default: impl = &IMPL_PORTABLE; break;
    }
    if (!transA && transB && FN(use_dot)(impl, M, N, K)) {
        long nt = nabla_num_threads();
        if (nt > 1 && 2.0 * (double)M * (double)N * (double)K >= GEMM_PARALLEL_FLOPS && M >= 2 * nt) {
            // Rows in blocks, one per thread: each output is one dot product, computed the
            // same way whichever block holds its row.
            FN(dot_job) d = {impl, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, (M + nt - 1) / nt};
            nabla_parallel_for((M + d.rows - 1) / d.rows, (int)nt, FN(dot_part), &d);
        } else {
            impl->dot(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        }
        return;
    }
    // A transposed B is copied into panels (K x N values) before use. With few rows that
    // copy costs as much as the product — a batch of 10 through a 1000 x 1000 Dense layer
    // (y = x·Wᵀ) spent 14 % of its training step packing W — so the product is then
    // computed transposed, Cᵀ = op(B)ᵀ·op(A)ᵀ: B is read in place, at most the small A is
    // copied, and the M x N result is transposed into C. The inner call never swaps back
    // (its rows are N, not few), and its path depends only on the shapes and the thread
    // count, so results stay reproducible.
    if (transB && (double)M * ((double)N + (double)K) * 2 < (double)N * (double)K) {
        T *t = FN(buffer)(&FN(tls_tpose), &FN(tls_tcap), (size_t)M * (size_t)N);
        if (t) {
            // op(B)ᵀ(j, k) = B[j*ldb + k]: B untransposed; op(A)ᵀ(k, i) = op(A)(i, k).
            API(0, !transA, N, M, K, alpha, B, ldb, A, lda, 0, t, M);
            for (long i = 0; i < M; i++) {
                T *c = C + i * ldc;
                if (beta == 0)
                    for (long j = 0; j < N; j++) c[j] = t[j * M + i];
                else
                    for (long j = 0; j < N; j++) c[j] = t[j * M + i] + beta * c[j];
            }
            return;
        }
    }
    FN(gemm_job) g = {impl, transA != 0, transB != 0, M, N, K, alpha, beta, A, B,
                      lda, ldb, ldc, C, 0, 0, 0, FN(use_strided)(impl, M, N, K)};
    long nt = nabla_num_threads();
    double flops = 2.0 * (double)M * (double)N * (double)K;
    if (nt > 1 && flops >= GEMM_PARALLEL_FLOPS) {
        // Split the longer side into chunks of whole register tiles; every element of C
        // goes through the same operations whatever the chunking, so results do not
        // depend on the thread count.
        // Rows are the better split: the strided path keeps a B panel hot and streams A,
        // so each thread then streams only its own rows of A (n = 512, 2 threads: 220
        // GFLOPS splitting rows, 190-205 splitting columns). Columns only when there are
        // too few row tiles to go round.
        long mtiles = (M + impl->mr - 1) / impl->mr;
        g.split_n = mtiles < 4 * nt && N > M;
        if (!g.strided && !g.split_n) {
            FN(gemm_packed_threads)(&g, nt);
            return;
        }
        // Otherwise each chunk is a complete smaller GEMM. Chunks are handed out
        // dynamically (a descheduled thread just takes fewer); a packed product split by
        // columns repacks A per chunk, so it gets one chunk per thread.
        long tile = g.split_n ? impl->nr : impl->mr;
        long len = g.split_n ? N : M;
        long tiles = (len + tile - 1) / tile;
        long chunks = g.strided ? GEMM_CHUNKS_PER_THREAD * nt : nt;
        if (chunks > tiles) chunks = tiles;
        if (transB && g.strided) {
            // Pack the transposed B once here rather than once per task.
            size_t need = (size_t)K * (size_t)(((N + impl->nr - 1) / impl->nr) * impl->nr);
            T *buf = FN(buffer)(&FN(tls_bpack), &FN(tls_bcap), need);
            if (!buf) return;
            FN(pack_b)(impl, 1, B, ldb, 0, K, 0, N, buf);
            g.bpacked = buf;
        }
        g.chunk = ((tiles + chunks - 1) / chunks) * tile;
        chunks = (len + g.chunk - 1) / g.chunk;
        nabla_parallel_for(chunks, (int)nt, FN(gemm_part), &g);
    } else {
        FN(gemm_serial)(&g);
    }
}

#undef FN
#undef CAT
#undef CAT_
