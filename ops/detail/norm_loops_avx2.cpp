// The normalisation loops for AVX2 + FMA (x86-64-v3): compiled for them (ops/CMakeLists.txt), run only
// when cpu_isa() says avx2 (or avx512 where this build has no AVX-512 loops).

#include "voxgrad/ops/detail/norm_loops.h"

#if defined(__x86_64__) && defined(__AVX2__)

#define VOXGRAD_ISA avx2
#include "voxgrad/ops/detail/norm_loops_impl.h"

namespace voxgrad::detail {
const NormKernels* norm_kernels_avx2() { return &avx2::kNorm; }
}  // namespace voxgrad::detail

#else  // not x86-64, or a compiler without AVX2

namespace voxgrad::detail {
const NormKernels* norm_kernels_avx2() { return nullptr; }
}  // namespace voxgrad::detail

#endif
