// The normalisation loops for any CPU: compiled for plain x86-64 (SSE2) on x86, for the target elsewhere.

#define VOXGRAD_ISA baseline
#include "voxgrad/ops/detail/norm_loops_impl.h"

namespace voxgrad::detail {
const NormKernels* norm_kernels_baseline() { return &baseline::kNorm; }
}  // namespace voxgrad::detail
