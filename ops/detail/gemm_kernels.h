#pragma once
// Internal: the GEMM of gemm.h compiled once per instruction set (gemm_avx512.cpp, gemm_avx2.cpp,
// gemm_baseline.cpp, each Eigen's own copy under a namespace of its own: see gemm_eigen_impl.h).
// Plain declarations only: this header is shared by those translation units and the rest.

#include <cstdint>

namespace voxgrad::detail {

/// Row-major C = alpha · op(A) · op(B) + beta · C on the calling thread (the contract of gemm()).
template <typename T>
using GemmFn = void (*)(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                        std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

/// One instruction set's GEMM for both dtypes.
struct GemmKernels {
  GemmFn<float> f32;
  GemmFn<double> f64;
};

/// Each instruction set's GEMM (null where this build or architecture has none; baseline always exists).
const GemmKernels* gemm_kernels_avx512();
const GemmKernels* gemm_kernels_avx2();
const GemmKernels* gemm_kernels_baseline();

}  // namespace voxgrad::detail
