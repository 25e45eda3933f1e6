#pragma once
// Internal: the forward and weight maps of a pointwise geometry (kernel 1, stride 1, no padding) on the
// direct tiles.
//
// Forward: on the forward tiles. Per sample and group it is y (cout_g × V) = w (cout_g × cin_g) ·
// x (cin_g × V). The rows of x lie a channel's volume apart, often a multiple of 4 KiB: a tile that
// reads the same positions of every channel would keep them all in one L1 set. So each task first copies a block of
// positions of every input channel into one small buffer (channel after channel, in L1), and the
// tiles read their inputs from there.
//
// Weight: dw (cout_g × cin_g) = Σ over positions dy (cout_g × V) · xᵀ (V × cin_g), per group. Both
// operands run along positions, so one of them is transposed a block of positions at a time into L1
// (vectors over its channels) while the other's values are broadcast, on the channel-vector weight
// tiles (direct_kernels.h). The positions of the batch are cut into at most 32 chunks, fixed by the
// shape: each task sums one chunk, and each weight adds up the chunks' sums in order.
//
// Backward: the input gradient (the forward map of dy with wᵀ) and the weight gradient both read dY; where
// a sample's dY does not stay in L2, one pass over it serves both (each block of dY copied into L1 once).

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

/// Whether pointwise_conv3d_weight_grad serves g: a pointwise geometry, direct kernels available, and
/// at least a vector of output channels per group.
bool suits_pointwise_weight_tiles(const ConvGeometry& g);

/// dw (Cout × Cin/groups) += Σ over samples and positions dy (N, Cout, V) · x (N, Cin, V) per group;
/// with db, db (Cout) += Σ dy per channel (Sum32 per chunk, the chunks added in order). The chunks are
/// fixed by g: the same bits at any thread count.
void pointwise_conv3d_weight_grad(const float* x, const float* dy, float* dw, const ConvGeometry& g, double* db);

/// Whether pointwise_conv3d_backward can run g: both maps above serve its weight gradient and its input
/// gradient (pointwise_conv3d of dy with wᵀ), the weight map's vectors run over dY's channels, and all
/// of a group's output channels fit one block of them (at most 64 on AVX-512, 16 on AVX2).
bool pointwise_backward_fits(const ConvGeometry& g);

/// Whether it also pays to (pointwise_backward_fits, a sample's dY larger than L2, and at least two of the
/// weight map's tasks, groups × chunks, a thread): what conv_fuses_adjoint_and_weight says.
bool suits_pointwise_backward(const ConvGeometry& g);

/// dx (N, Cin, V) = wᵀ · dy per sample and group, and dw, db as pointwise_conv3d_weight_grad, in one pass
/// over dY (pointwise_backward_fits): each block of positions of dY is copied into L1 once, for dX's
/// tiles and for its transposition. The same bits as the two maps apart (conv_adjoint's and the weight
/// map's), at any thread count. A geometry that does not fit throws voxgrad::Error. (db's sums read each
/// chunk's dY once more, as the weight map alone does.)
void pointwise_conv3d_backward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                               const ConvGeometry& g, double* db);

/// dw from zero and db (float32, or null: summed in double, then rounded once) by the weight map, and with
/// dx (and w) the input gradient too by pointwise_conv3d_backward: what direct_conv3d_weight_grad and
/// conv_adjoint_and_weight run.
void pointwise_gradients(const float* x, const float* dy, float* dw, const ConvGeometry& g, float* db,
                         const float* w = nullptr, float* dx = nullptr);

}  // namespace voxgrad::detail
