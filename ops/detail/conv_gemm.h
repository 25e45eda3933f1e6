#pragma once
// Internal: the conv maps as im2col + GEMM (Caffe's formulation), for float32 and float64:
//   forward:  Y[n,g] = W[g] · im2col(X[n,g])                 (+ bias)
//   adjoint:  X[n,g] = col2im(W[g]ᵀ · Y[n,g])                (+ bias)
//   weight:   dW[g]  = Σ_n dY[n,g] · im2col(X[n,g])ᵀ
// Columns are built per tile of output positions into per-thread buffers reused across calls, so
// memory does not grow with the batch. All reductions run in an order fixed by the shapes alone,
// so results are bit-identical for any number of threads. Buffers are contiguous NCDHW.

#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// The three maps on the GEMM path, for T = float or double.
template <typename T>
struct GemmConv {
  /// y (N, Cout, out) from x (N, Cin, vol) and w (Cout, Cin/groups, kernel), plus bias (or null).
  static void forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g);
  /// x (N, Cin, vol) from y (N, Cout, out) and w, plus bias (Cin values, or null); x need not be
  /// initialised.
  static void adjoint(const T* y, const T* w, const T* bias, T* x, const ConvGeometry& g);
  /// dw (Cout, Cin/groups, kernel) from x (N, Cin, vol) and dy (N, Cout, out).
  static void weight(const T* x, const T* dy, T* dw, const ConvGeometry& g);
};

extern template struct GemmConv<float>;
extern template struct GemmConv<double>;

}  // namespace voxgrad::detail
