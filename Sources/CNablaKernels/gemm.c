// Public sgemm/dgemm: blocking, packing and threading (see gemm_driver.h); the
// micro-kernels live in gemm_avx512.c, gemm_avx2.c and gemm_portable.c.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

// Blocking, as measured on Zen 4 (32 KiB L1d, 1 MiB L2): a KC x NR panel of B stays in L1
// while the MC x KC block of A sits in L2.
#ifndef GEMM_KC
#define GEMM_KC 256
#endif
#ifndef GEMM_MC
#define GEMM_MC 144
#endif
#ifndef GEMM_NC
#define GEMM_NC 2048
#endif
// M*N*K at or below which the unpacked path is used.
#define GEMM_SMALL_MNK (64.0 * 64.0 * 64.0)
// 2*M*N*K at or above which the work is split across threads.
#define GEMM_PARALLEL_FLOPS 2.0e6

#define T float
#define SUF f32
#define IMPL nabla_gemm_f32_impl
#define API nabla_sgemm
#define IMPL_PORTABLE nabla_sgemm_portable
#define IMPL_AVX2 nabla_sgemm_avx2
#define IMPL_AVX512 nabla_sgemm_avx512
#include "gemm_driver.h"
#undef T
#undef SUF
#undef IMPL
#undef API
#undef IMPL_PORTABLE
#undef IMPL_AVX2
#undef IMPL_AVX512

#define T double
#define SUF f64
#define IMPL nabla_gemm_f64_impl
#define API nabla_dgemm
#define IMPL_PORTABLE nabla_dgemm_portable
#define IMPL_AVX2 nabla_dgemm_avx2
#define IMPL_AVX512 nabla_dgemm_avx512
#include "gemm_driver.h"
