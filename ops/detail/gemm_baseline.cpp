// The GEMM for any CPU: compiled for plain x86-64 (SSE2) on x86, for the target elsewhere.

#define VOXGRAD_ISA baseline
#define Eigen voxgrad_eigen_baseline
#include "voxgrad/ops/detail/gemm_eigen_impl.h"

namespace voxgrad::detail {

const GemmKernels* gemm_kernels_baseline() { return &baseline::kGemm; }

}  // namespace voxgrad::detail
