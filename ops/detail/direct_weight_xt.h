#pragma once
// Internal: the direct weight map on tiles over the transposed input. Each sample's input is copied
// transposed, as rows of positions each holding one vector per lanes input channels (zeros in the
// padding along W), and each tile keeps the sums of a few output channels × the kernel's three taps
// along W, vectors over input channels, while dY values are broadcast. Along a row the three taps read
// the input vectors of positions w, w + 1 and w + 2, so one new load per position serves them all.
// It serves convolutions whose input channels fill whole vectors and whose kernel has three taps along
// W at stride and dilation 1 there, with few output channels (more go to the channel-vector tiles over
// dY, direct_conv.h): the U-Net's 16- and 32-channel layers, whose lane-wise weight maps ran at 45% of
// the FMA peak at full size (bench/README).

#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// True when direct_conv3d_weight_grad runs g's weight map on the transposed-input tiles: the direct
/// kernels run and serve g's weight map, one group, input channels a multiple of the lanes, three taps
/// along W at stride and dilation 1, output rows of at least one vector, and at most one vector of
/// output channels (two, over at most two vectors of input channels, with 32 vector registers).
bool direct_weight_transposed_input(const ConvGeometry& g);

/// dw (Cout × Cin × kernel) += the weight gradient of the convolution g from x and dy, sample by
/// sample; with db, db (Cout) = Σ dy per channel (Sum32 over chunks of output rows, added in order, in
/// double until stored). The chunks of output rows are fixed by g, so every sum runs in the same order
/// at any thread count.
void direct_weight_transposed_input_grad(const float* x, const float* dy, float* dw, const ConvGeometry& g, float* db);

}  // namespace voxgrad::detail
