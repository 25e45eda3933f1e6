#pragma once
// Internal: the forward map of a pointwise geometry (kernel 1, stride 1, no padding) on the direct
// forward tiles. Per sample and group it is y (cout_g × V) = w (cout_g × cin_g) · x (cin_g × V). The
// rows of x lie a channel's volume apart, often a multiple of 4 KiB: a tile that reads the same
// positions of every channel would keep them all in one L1 set. So each task first copies a block of
// positions of every input channel into one small buffer (channel after channel, in L1), and the
// tiles read their inputs from there.

#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// Whether pointwise_conv3d serves g: a pointwise geometry, direct kernels available, enough output
/// channels per group (on AVX-512 at least 2; on AVX2 at least 8, with at least 128 channel pairs),
/// and one tile's positions of every input channel of a group within the per-task buffer (at most 341
/// input channels per group on AVX-512, 682 on AVX2).
bool suits_pointwise_tiles(const ConvGeometry& g);

/// y (N, Cout, V) = w (Cout, Cin/groups) · x (N, Cin, V) per sample and group, plus bias (or null).
/// Each output sums bias, then its input channels in order: the same bits at any thread count.
void pointwise_conv3d(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g);

}  // namespace voxgrad::detail
