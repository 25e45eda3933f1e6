// The normalisation loops for AVX-512 (x86-64-v4): compiled for it (ops/CMakeLists.txt), run only when
// cpu_isa() says avx512.

#include "voxgrad/ops/detail/norm_loops.h"

#if defined(__x86_64__) && defined(__AVX512F__)

#define VOXGRAD_ISA avx512
#include "voxgrad/ops/detail/norm_loops_impl.h"

namespace voxgrad::detail {
const NormKernels* norm_kernels_avx512() { return &avx512::kNorm; }
}  // namespace voxgrad::detail

#else  // not x86-64, or a compiler without AVX-512

namespace voxgrad::detail {
const NormKernels* norm_kernels_avx512() { return nullptr; }
}  // namespace voxgrad::detail

#endif
