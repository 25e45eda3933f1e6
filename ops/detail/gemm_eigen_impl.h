// Internal: Eigen's GEMM for one instruction set. Included only by gemm_<isa>.cpp, each compiled for
// its instruction set after defining VOXGRAD_ISA and renaming Eigen's namespace
// (`#define Eigen voxgrad_eigen_<isa>` before this header): every Eigen function then has a name of
// its own per instruction set, so the linker cannot let one build's AVX-512 copy of an inline Eigen
// function serve the baseline callers (ops.isa_objects_share_no_symbols checks the objects).

#ifndef VOXGRAD_ISA
#error "define VOXGRAD_ISA (and rename Eigen) before including gemm_eigen_impl.h"
#endif

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics trip -Wmaybe-uninitialized inside Eigen's kernels (a known false
// positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#include "voxgrad/ops/detail/gemm_kernels.h"

namespace voxgrad::detail::VOXGRAD_ISA {

namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using MutMap = Eigen::Map<RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <typename T>
void eigen_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  MutMap<T> C(c, m, n, Eigen::OuterStride<>(ldc));
  if (k <= 0) {
    if (beta == T(0))
      C.setZero();
    else
      C *= beta;
    return;
  }
  // A stored row-major as (m×k), or as (k×m) when transposed; likewise B.
  const ConstMap<T> A(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  const ConstMap<T> B(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  auto run = [&](const auto& opA, const auto& opB) {
    if (beta == T(0)) {
      C.noalias() = alpha * (opA * opB);
    } else {
      if (beta != T(1)) C *= beta;
      C.noalias() += alpha * (opA * opB);
    }
  };
  if (!trans_a && !trans_b)
    run(A, B);
  else if (trans_a && !trans_b)
    run(A.transpose(), B);
  else if (!trans_a && trans_b)
    run(A, B.transpose());
  else
    run(A.transpose(), B.transpose());
}

constexpr GemmKernels kGemm{&eigen_gemm<float>, &eigen_gemm<double>};

}  // namespace

}  // namespace voxgrad::detail::VOXGRAD_ISA
