#pragma once
// Internal: the raw-pointer GEMM behind conv and matmul (not installed; Eigen stays in gemm.cpp).

#include <cstdint>

namespace voxgrad::detail {

/// Row-major C = alpha * op(A) * op(B) + beta * C, where op(X) is X or Xᵀ, A is m×k after op, B is
/// k×n after op, and ld* are row strides. Eigen does the work inside one .cpp; this call runs on
/// the calling thread only (callers parallelise around it). beta == 0 ignores C's old contents.
template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

/// gemm() split into fixed column (or row) blocks run in parallel with oneTBB. The blocks depend
/// only on the sizes, so results are bit-identical for any thread count.
template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                   std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

extern template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                                 std::int64_t, const float*, std::int64_t, float, float*, std::int64_t);
extern template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*,
                                  std::int64_t, const double*, std::int64_t, double, double*, std::int64_t);
extern template void gemm_parallel<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                                          std::int64_t, const float*, std::int64_t, float, float*, std::int64_t);
extern template void gemm_parallel<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*,
                                           std::int64_t, const double*, std::int64_t, double, double*, std::int64_t);

}  // namespace voxgrad::detail
