#pragma once
// Internal: float32 direct convolution for CPUs with AVX-512 (no column matrix, no GEMM packing).
//
// Each sample is copied once into a zero-padded layout in which every output row's inputs are
// contiguous: rows of the padded volume are split into `stride_w` phases, so a run of 16 output
// positions along W reads 16 consecutive floats for every kernel tap, whatever the stride. The
// forward kernel then keeps an 8-channel × 32-position tile of outputs in registers over all
// (input channel, tap) pairs; the weight-gradient kernel keeps an 8-channel × 3-tap tile of dot
// products over the output positions. A transposed convolution splits its outputs into stride
// classes, each a stride-1 correlation with a subset of the taps. All sum in an order fixed by the
// shapes alone.

#include <array>
#include <cstdint>

namespace voxgrad::detail {

/// Sizes and hyper-parameters of a conv3d (or of the conv3d form of a gradient).
struct DirectConv {
  std::int64_t N = 0, Cin = 0, Cout = 0, groups = 1;
  std::array<std::int64_t, 3> vol{}, out{}, kernel{}, stride{}, padding{}, dilation{};
};

/// True when this build has the direct kernels and they suit `c`: output rows wide enough to fill
/// most of each 16-lane vector, non-negative padding, and the path is enabled.
bool direct_conv_suits(const DirectConv& c);

/// y (N, Cout, out) = conv3d of x (N, Cin, vol) with w (Cout, Cin/groups, kernel), plus bias (or null).
void direct_conv3d(const float* x, const float* w, const float* bias, float* y, const DirectConv& c);

/// dw (Cout, Cin/groups, kernel): the weight gradient of that conv3d for x and dy (N, Cout, out).
void direct_conv3d_weight_grad(const float* x, const float* dy, float* dw, const DirectConv& c);

/// True when the direct kernels suit the transposed convolution `c` (vol = its input, out = its
/// output, Cin/Cout its channels): stride ≤ 2 along W, output rows filling ≥ 50% of the lanes.
bool direct_conv_transpose3d_suits(const DirectConv& c);

/// y (N, Cout, out) = conv_transpose3d of x (N, Cin, vol) with w (Cin, Cout/groups, kernel), plus
/// bias (or null); the output size (and so any output_padding) is c.out.
void direct_conv_transpose3d(const float* x, const float* w, const float* bias, float* y, const DirectConv& c);

/// Turns the direct path on or off (tests compare it with the im2col path); returns the old value.
bool set_direct_conv_enabled(bool enabled);

}  // namespace voxgrad::detail
