#include "voxgrad/ops/detail/gemm.h"

#include <algorithm>
#include <type_traits>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/gemm_kernels.h"

namespace voxgrad::detail {

namespace {

// Work below this many multiply-adds is not worth a task.
constexpr std::int64_t kParallelMacs = std::int64_t{1} << 18;
// Block width for gemm_parallel: fixed, so results never depend on the thread count.
constexpr std::int64_t kBlock = 256;

// The GEMM of cpu_isa(): Eigen compiled for that instruction set.
const GemmKernels& active_gemm() {
  return *widest_kernels(gemm_kernels_avx512(), gemm_kernels_avx2(), gemm_kernels_baseline());
}

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    active_gemm().f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    active_gemm().f64(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                   std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (m * n * std::max<std::int64_t>(k, 1) < kParallelMacs || (m <= kBlock && n <= kBlock)) {
    gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (n >= m) {
    // Column blocks of C use column blocks of op(B).
    detail::parallel_chunks(n, kBlock, [&](std::int64_t, std::int64_t j0, std::int64_t j1) {
      const T* bj = trans_b ? b + j0 * ldb : b + j0;
      gemm(trans_a, trans_b, m, j1 - j0, k, alpha, a, lda, bj, ldb, beta, c + j0, ldc);
    });
  } else {
    // Row blocks of C use row blocks of op(A).
    detail::parallel_chunks(m, kBlock, [&](std::int64_t, std::int64_t i0, std::int64_t i1) {
      const T* ai = trans_a ? a + i0 : a + i0 * lda;
      gemm(trans_a, trans_b, i1 - i0, n, k, alpha, ai, lda, b, ldb, beta, c + i0 * ldc, ldc);
    });
  }
}

template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                          const float*, std::int64_t, float, float*, std::int64_t);
template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*, std::int64_t,
                           const double*, std::int64_t, double, double*, std::int64_t);
template void gemm_parallel<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                                   std::int64_t, const float*, std::int64_t, float, float*, std::int64_t);
template void gemm_parallel<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*,
                                    std::int64_t, const double*, std::int64_t, double, double*, std::int64_t);

}  // namespace voxgrad::detail
