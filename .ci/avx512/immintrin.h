// Put first on the include path by .ci/avx512/run: the compiler's <immintrin.h>, then the
// plain-C AVX-512 emulation, so the kernel sources build unchanged with their AVX-512
// paths runnable on a CPU that has only AVX2.
#ifndef NABLA_CI_IMMINTRIN_WRAPPER
#define NABLA_CI_IMMINTRIN_WRAPPER
#include_next <immintrin.h>
#include "avx512_emu.h"
#endif
