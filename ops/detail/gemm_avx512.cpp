// The GEMM for AVX-512 (x86-64-v4) CPUs: compiled for them (ops/CMakeLists.txt), run only when cpu_isa() says
// avx512.

#include "voxgrad/ops/detail/gemm_kernels.h"

#if defined(__AVX512F__)

#define VOXGRAD_ISA avx512
#define Eigen voxgrad_eigen_avx512
#include "voxgrad/ops/detail/gemm_eigen_impl.h"

namespace voxgrad::detail {

const GemmKernels* gemm_kernels_avx512() { return &avx512::kGemm; }

}  // namespace voxgrad::detail

#else  // a compiler or architecture without it

namespace voxgrad::detail {
const GemmKernels* gemm_kernels_avx512() { return nullptr; }
}  // namespace voxgrad::detail

#endif
