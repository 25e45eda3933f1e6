#pragma once
// Internal: the geometry of one convolution in its conv3d form, and the predicates that pick the
// kernel that runs it.
//
// Every kernel of the conv pair works on the conv3d form: a volume x of N × Cin × vol is correlated
// with a weight of Cout × Cin/groups × kernel into y of N × Cout × out, where along each dim
//   y[o] = Σ_k w[k] · x[o·stride − padding + k·dilation]     (0 where that index is outside vol).
// The same geometry describes three linear maps:
//   forward    x → y    conv3d, and the input gradient of conv_transpose3d;
//   adjoint    y → x    conv_transpose3d (its input is y, its output x), and conv3d's input gradient;
//   weight     (x, dy) → dw, the weight gradient of both.
// So a conv_transpose3d with input (N, C, in) and output (N, C', o) has the geometry vol = o, out = in,
// Cin = C', Cout = C. `out` may be smaller than the natural output (a transposed convolution with
// output_padding ≥ stride reads fewer positions): positions past `out` are not computed.

#include <cstdint>

#include "voxgrad/ops/detail/spatial.h"

namespace voxgrad::detail {

/// A convolution in its conv3d form (see the file comment).
struct ConvGeometry {
  std::int64_t N = 0, Cin = 0, Cout = 0, groups = 1;
  Dims vol{}, out{}, kernel{}, stride{1, 1, 1}, padding{}, dilation{1, 1, 1};

  std::int64_t cin_g() const { return Cin / groups; }
  std::int64_t cout_g() const { return Cout / groups; }
  std::int64_t kernel_volume() const { return volume(kernel); }
  std::int64_t vol_size() const { return volume(vol); }
  std::int64_t out_size() const { return volume(out); }
  /// Rows of one group's column matrix: one per (input channel, tap).
  std::int64_t rows() const { return cin_g() * kernel_volume(); }

  /// A 1×1×1 kernel at stride 1 without padding: the volume already is its column matrix.
  bool is_pointwise() const;
  /// The adjoint is itself a convolution: stride 1 and padding ≤ dilation·(kernel − 1) in every dim.
  /// Its geometry is adjoint_as_forward(), with the weight flipped in space and its channel axes
  /// swapped; that form gathers (im2col, deep GEMM) where the adjoint scatters.
  bool adjoint_is_forward() const;
  /// The geometry of that convolution (vol and out swapped, Cin and Cout swapped, padding
  /// dilation·(kernel − 1) − padding).
  ConvGeometry adjoint_as_forward() const;
  /// The float32 direct kernels serve the forward and weight maps: this build and CPU have them, output
  /// rows fill at least 70% of the vector lanes of some set of tiles, and the padded copy of a sample
  /// stays comparable in size to its input and output.
  bool suits_direct() const;
  /// The direct kernels serve the forward map: suits_direct(), and not pointwise. A pointwise
  /// convolution is one GEMM per sample over the volume as it lies, with no copy: the blocked GEMM
  /// beats the tiles there (1.1–3× on every shape tried, 1 to 256 channels; bench/README).
  bool direct_forward() const;
  /// The direct kernels serve the weight map: a pointwise convolution with a vector of output channels
  /// per group on the pointwise weight tiles (suits_pointwise_weight_tiles, pointwise_conv.h); else on
  /// channel-vector tiles (direct_weight_channel_vectors: any row width) with a bounded padded copy, or
  /// else suits_direct() and not a pointwise convolution with fewer outputs per group than a tile has
  /// rows (4), whose tiles would run mostly empty.
  bool direct_weight() const;
  /// The float32 direct kernels serve the adjoint map (stride ≤ 2 along W, strides ≤ 4, kernels ≤ 16,
  /// output rows filling ≥ 50% of the lanes, a bounded padded copy).
  bool suits_direct_adjoint() const;
  /// Every size lies in the range the direct kernels' int64 offset arithmetic is written for (2^40).
  bool within_direct_range() const;
};

}  // namespace voxgrad::detail
