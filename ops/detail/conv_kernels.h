#pragma once
// Internal: the three maps of a conv geometry (conv_geometry.h) on contiguous NCDHW buffers, each
// picking its kernel in one place: the float32 direct kernels where the geometry suits them, else
// im2col + GEMM; a stride-1 adjoint runs as a forward convolution with the flipped weight.

#include <cstdint>

#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// y (N, Cout, out) = the forward map of x (N, Cin, vol) with w (Cout, Cin/groups, kernel), + bias.
/// With x_sums, also x_sums (Cin) = Σ x over samples and positions, in double (the direct kernels sum
/// each sample as they copy it): a transposed convolution's bias gradient, when x is its output's.
template <typename T>
void conv_forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g, T* x_sums = nullptr);

/// x (N, Cin, vol) = the adjoint map of y (N, Cout, out) with w (Cout, Cin/groups, kernel), + bias
/// (Cin values, or null); x need not be initialised.
template <typename T>
void conv_adjoint(const T* y, const T* w, const T* bias, T* x, const ConvGeometry& g);

/// dw (Cout, Cin/groups, kernel) = the weight map of x (N, Cin, vol) and dy (N, Cout, out); with db,
/// also the bias gradient db (Cout) = Σ dy over samples and positions, in double (the direct kernels
/// sum dy as they read it for dw: no pass of its own).
template <typename T>
void conv_weight(const T* x, const T* dy, T* dw, const ConvGeometry& g, T* db = nullptr);

/// y (N, Cout, out) = the forward map of x with w (no bias) and dw = the weight map of x and dy: a
/// transposed convolution's input and weight gradients, which both read x (its output gradient);
/// the direct kernels pad each sample of x once for both. x_sums as in conv_forward.
template <typename T>
void conv_forward_and_weight(const T* x, const T* w, T* y, const T* dy, T* dw, const ConvGeometry& g,
                             T* x_sums = nullptr);

/// Whether conv_adjoint_and_weight serves g (float32): a pointwise geometry whose two maps read dY in one
/// pass (suits_pointwise_backward).
bool conv_fuses_adjoint_and_weight(const ConvGeometry& g);

/// dx (N, Cin, vol) = the adjoint map of dy with w (no bias) and dw = the weight map of x and dy, with db
/// as in conv_weight: a convolution's input and weight gradients, which both read dy, in one pass over
/// it (conv_fuses_adjoint_and_weight). The same bits as conv_adjoint and conv_weight apart.
void conv_adjoint_and_weight(const float* dy, const float* w, const float* x, float* dx, float* dw,
                             const ConvGeometry& g, float* db = nullptr);

/// db[c] = Σ over samples and positions of dy (N, C, V), accumulated in double.
template <typename T>
void channel_sum(const T* dy, T* db, std::int64_t N, std::int64_t C, std::int64_t V);

}  // namespace voxgrad::detail
