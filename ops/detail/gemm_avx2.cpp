// The GEMM for AVX2 + FMA (x86-64-v3) CPUs: compiled for them (ops/CMakeLists.txt), run only when cpu_isa() says
// avx2.

#include "voxgrad/ops/detail/gemm_kernels.h"

#if defined(__AVX2__) && defined(__FMA__)

#define VOXGRAD_ISA avx2
#define Eigen voxgrad_eigen_avx2
#include "voxgrad/ops/detail/gemm_eigen_impl.h"

namespace voxgrad::detail {

const GemmKernels* gemm_kernels_avx2() { return &avx2::kGemm; }

}  // namespace voxgrad::detail

#else  // a compiler or architecture without it

namespace voxgrad::detail {
const GemmKernels* gemm_kernels_avx2() { return nullptr; }
}  // namespace voxgrad::detail

#endif
