// Public sgemm/dgemm: blocking, packing and threading (see gemm_driver.h); the
// micro-kernels live in gemm_avx512.c, gemm_avx2.c and gemm_portable.c.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

// Blocking of the packed path: an MC x KC block of A sits in L2 while the kernel runs it
// against KC x NR panels of B. For tiles 64 bytes wide (AVX2, portable), KC = 256 and
// MC = 144, as measured on Zen 3 and Zen 4 (32 KiB L1d, 512 KiB / 1 MiB L2). For tiles
// 128 bytes wide (AVX-512), KC = 512 and MC = 96: each element of C is loaded and stored
// half as often, which measured 8 % faster at n = 1024 on a Zen 4 (C harness, one thread,
// three alternating rounds: 101.6-104.3 against 95.3-97.5 GFLOPS; two threads 193-211
// against 188-200; n = 2048 205-214 against 182-189), with n = 512 unchanged.
#ifndef GEMM_KC
#define GEMM_KC 256
#endif
#ifndef GEMM_MC
#define GEMM_MC 144
#endif
#ifndef GEMM_KC_WIDE
#define GEMM_KC_WIDE 512
#endif
#ifndef GEMM_MC_WIDE
#define GEMM_MC_WIDE 96
#endif
#ifndef GEMM_NC
#define GEMM_NC 2048
#endif
// The strided (unpacked) path is used while op(A) and op(B) together take at most this
// many bytes. Measured on Zen 4 (thread CPU time, AVX-512): it beats packing at every
// size up to n = 1024 (e.g. 64x20x500: 19 vs 30 us; 128^3: 109 vs 96 GFLOPS; 1024^3: 96
// vs 92), because Zen 4 streams six strided A rows and a K x 32 B panel well, and no
// copies are made. At n = 2048 (32 MiB of inputs) it collapses to 38 GFLOPS (TLB and
// L3 misses) while the packed path holds 95.
// That holds for tiles 128 bytes wide (AVX-512: 32 floats or 16 doubles). With 64-byte
// tiles (AVX2, portable) A is streamed twice as often: strided wins at 64x128x784
// (97 vs 82 GFLOPS, 600 KiB of inputs) and loses at 256^3 (92 vs 103, 512 KiB).
// On two threads each thread streams all of B for its rows, and the packed path shares
// one packed B: at n = 1024 (8 MiB) packing won on a Zen 4, 2026-12-02 (C harness,
// six alternating rounds, medians: 171 against 160 GFLOPS; one thread 87 either way),
// so the limit is 4 MiB (n <= 724); n = 512 (2 MiB) stays strided (200 against 199).
#ifndef GEMM_UNPACKED_BYTES
#define GEMM_UNPACKED_BYTES (4.0 * 1024 * 1024)
#endif
#ifndef GEMM_UNPACKED_BYTES_NARROW
#define GEMM_UNPACKED_BYTES_NARROW (384.0 * 1024)
#endif
// 2*M*N*K at or above which the work is split across threads. Measured (2 threads):
// 64x64x128 (1 MFLOP) takes 10.5 us on one thread, 7.8 us on two when the workers are
// spinning but 19 us when they must be woken (~15 us); 64x128x256 (4 MFLOP): 38 us on
// one, 22 us (spinning) or 36 us (woken) on two.
#ifndef GEMM_CHUNKS_PER_THREAD
#define GEMM_CHUNKS_PER_THREAD 4
#endif
#ifndef GEMM_PARALLEL_FLOPS
#define GEMM_PARALLEL_FLOPS 3.0e6
#endif

// Products with K at most this are summed in one pass on every path (the strided and dot
// paths never split K; the packed path splits it into blocks of GEMM_KC or GEMM_KC_WIDE),
// so with beta = 1 each element of C gets alpha times its whole sum added with one rounding.
long nabla_gemm_one_pass_depth(void) { return GEMM_KC < GEMM_KC_WIDE ? GEMM_KC : GEMM_KC_WIDE; }

static long g_strided_limit = -1;  // < 0: the measured defaults above
void nabla_gemm_set_strided_limit(long bytes) {
    __atomic_store_n(&g_strided_limit, bytes, __ATOMIC_RELAXED);
}
long nabla_gemm_strided_limit(void) {
    const nabla_settings *own = nabla_thread_override();
    return own ? own->strided_limit : __atomic_load_n(&g_strided_limit, __ATOMIC_RELAXED);
}

#define T float
#define SUF f32
#define IMPL nabla_gemm_f32_impl
#define UKR nabla_ukr_f32
#define API nabla_sgemm
#define IMPL_PORTABLE nabla_sgemm_portable
#define IMPL_AVX2 nabla_sgemm_avx2
#define IMPL_AVX512 nabla_sgemm_avx512
#include "gemm_driver.h"
#undef T
#undef SUF
#undef IMPL
#undef UKR
#undef API
#undef IMPL_PORTABLE
#undef IMPL_AVX2
#undef IMPL_AVX512

#define T double
#define SUF f64
#define IMPL nabla_gemm_f64_impl
#define UKR nabla_ukr_f64
#define API nabla_dgemm
#define IMPL_PORTABLE nabla_dgemm_portable
#define IMPL_AVX2 nabla_dgemm_avx2
#define IMPL_AVX512 nabla_dgemm_avx512
#include "gemm_driver.h"
