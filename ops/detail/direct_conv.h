#pragma once
// Internal: float32 direct convolution for CPUs with AVX-512 or AVX2: no column matrix, no GEMM
// packing. The drivers here are plain C++; the register tiles are compiled per instruction set
// (direct_kernels.h) and picked at run time.
//
// Each sample is copied once into a zero-padded layout in which every output row's inputs are
// contiguous (direct_layout.h). The forward kernel keeps a tile of output channels × positions in
// registers over all (input channel, tap) pairs; the weight-gradient kernel keeps a tile of dot
// products over the output positions (direct_kernels.h), or, for few output channels over whole
// vectors of input channels, runs over a transposed copy of the input (direct_weight_xt.h). The
// adjoint (a transposed convolution) splits its outputs into stride classes, each a stride-1
// correlation over a subset of the taps, run on the forward tiles. Every output sums in an order fixed
// by the shapes alone. ConvGeometry's suits_direct() and suits_direct_adjoint() say when these serve.

#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// True when the CPU (capped by VOXGRAD_MAX_ISA) has direct kernels in this build and
/// set_direct_conv_enabled() has not turned them off.
bool direct_conv_available();

/// True when the channel-vector tiles (vectors of output channels, each input broadcast) suit g's
/// direct weight map: at least 128 (input channel, tap) pairs and more than one vector of output
/// channels per group, or exactly one when g is strided or its output rows end in a partial vector.
/// Their lanes do not run along W, so any row width suits them. They run it unless the pointwise weight
/// map (suits_pointwise_weight_tiles, pointwise_conv.h; then this is false) or the transposed-input
/// tiles (direct_weight_transposed_input, direct_weight_xt.h), tried first, take it.
bool direct_weight_channel_vectors(const ConvGeometry& g);

/// True when g's weight map runs on the lane-wise tiles (none of the paths above takes it) and asks for
/// each next block of dY while a block's tiles run: where a sample's dY is at least twice the threads'
/// L2 (read from memory, as rows a channel apart that the hardware prefetchers do not follow). The same
/// holds for direct_conv3d_and_weight_grad's weight map (a transposed convolution's).
bool direct_weight_prefetches_dy(const ConvGeometry& g);

/// float32 lanes per vector of the widest direct kernels that run (16 when none do).
std::int64_t direct_lanes();

/// Lanes of the direct kernels whose vectors run along g's output rows (the forward and lane-wise
/// weight maps), the widest set that uses at least 70% of them; 0 when none does. On an AVX-512 CPU,
/// 8 for rows of 8 (the AVX2 tiles). (A forward map in tap pairs, direct_forward_tap_pairs, holds two
/// taps per position and may run a wider set: 16 lanes for rows of 8.)
std::int64_t direct_forward_lanes(const ConvGeometry& g);

/// The same for g's adjoint map along the rows of g.vol (stride 2 along W: the two W classes in pairs
/// of vectors, at least 50% of the lanes used).
std::int64_t direct_adjoint_lanes(const ConvGeometry& g);

/// True when g's forward map runs on the tap-pair tiles (tap_pair_kernels, direct_layout.h: stride 2,
/// dilation 1 and an even kernel along W), in direct_conv3d and direct_conv3d_and_weight_grad alike.
bool direct_forward_tap_pairs(const ConvGeometry& g);

/// Turns the direct path on or off (tests compare it with the im2col path); returns the old value.
bool set_direct_conv_enabled(bool enabled);

/// y (N, Cout, out) = the forward map of g applied to x (N, Cin, vol) with w (Cout, Cin/groups,
/// kernel), plus bias (or null). With x_sums, also x_sums (Cin) = Σ x over samples and positions, in
/// double, taken as each sample is copied (a transposed convolution's bias gradient).
void direct_conv3d(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g,
                   float* x_sums = nullptr);

/// dw (Cout, Cin/groups, kernel) = the weight map of g for x (N, Cin, vol) and dy (N, Cout, out); with
/// db, also db (Cout) = Σ dy over samples and positions, summed in double from the blocks of dY the
/// tiles read (in an order fixed by the shapes alone).
void direct_conv3d_weight_grad(const float* x, const float* dy, float* dw, const ConvGeometry& g, float* db = nullptr);

/// Both maps that read x, sharing its padded copy per sample where both read one layout: y = the
/// forward map of x with w (no bias), dw = the weight map of x and dy (a transposed convolution's input
/// and weight gradients); x_sums as in direct_conv3d. y has the same bits as direct_conv3d's.
void direct_conv3d_and_weight_grad(const float* x, const float* w, float* y, const float* dy, float* dw,
                                   const ConvGeometry& g, float* x_sums = nullptr);

/// x (N, Cin, vol) = the adjoint map of g (a transposed convolution) applied to y (N, Cout, out) with
/// w (Cout, Cin/groups, kernel), plus bias (Cin, or null).
void direct_conv3d_adjoint(const float* y, const float* w, const float* bias, float* x, const ConvGeometry& g);

/// The range [lo, hi] of y positions per dim that the adjoint's stride classes read; false when no
/// output reads any input (every output is the bias).
bool direct_adjoint_reads(const ConvGeometry& g, Dims& lo, Dims& hi);

}  // namespace voxgrad::detail
