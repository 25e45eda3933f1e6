// The Winograd transforms (winograd_impl.h) for AVX2 + FMA (x86-64-v3), compiled with that -march
// (ops/CMakeLists.txt); run only when cpu_isa() allows it.

#include "voxgrad/ops/detail/winograd_kernels.h"

#if defined(__AVX2__) && defined(__FMA__)

#define VOXGRAD_ISA avx2
#include "voxgrad/ops/detail/winograd_impl.h"

#else  // a compiler or architecture without it

namespace voxgrad::detail::winograd::avx2 {
const Transforms* transforms() { return nullptr; }
}  // namespace voxgrad::detail::winograd::avx2

#endif
