// The Winograd transforms (winograd_impl.h) for AVX-512 (x86-64-v4), compiled with that -march
// (ops/CMakeLists.txt); run only when cpu_isa() allows it.

#include "voxgrad/ops/detail/winograd_kernels.h"

#if defined(__AVX512F__)

#define VOXGRAD_ISA avx512
#include "voxgrad/ops/detail/winograd_impl.h"

#else  // a compiler or architecture without it

namespace voxgrad::detail::winograd::avx512 {
const Transforms* transforms() { return nullptr; }
}  // namespace voxgrad::detail::winograd::avx512

#endif
