#pragma once
// Internal: float32 convolutions with a 3×3×3 kernel at stride 1 by Winograd's F(2×2×2, 3×3×3)
// (the transforms in winograd_kernels.h): 64 products per tile of 8 outputs and channel pair instead
// of 216, so 3.4× fewer multiply-adds than the direct sum, run as 64 matrix products on the direct
// kernels' register tiles (direct_kernels.h).
//
// The forward map transforms blocks of tiles of x (Bᵀ d B), multiplies them per transformed position
// ξ by the transformed weight (G g Gᵀ, in double, rounded once) and transforms the sums back (Aᵀ m A);
// a stride-1 adjoint is the forward map with the flipped weight (conv_kernels.cpp), so it runs here too.
// Each output sums in an order fixed by the shapes alone, whatever the thread count or the batch.
//
// Rounding: the transforms add and subtract inputs (their only factor, ½, is in the weight's), and the
// sums over input channels are 64 short ones instead of one of 27 · Cin terms: on 64-channel layers of
// uniform data the largest error against a float64 reference is below the direct sum's
// (test_conv_winograd.cpp). The weight map stays on the direct kernels: its Winograd form (the adjoint,
// Gᵀ [(Bᵀ d) ⊙ (A dy)]) recovers each tap from sums over whole tiles, so a tap whose gradient nearly
// cancels would carry the rounding of its neighbours' larger sums (README, "Conv pair").

#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// True when g runs on the Winograd path: float32 direct kernels and transforms for this CPU, kernel 3
/// with stride and dilation 1 in every dim, one group, at least kWinogradMinChannels input and output
/// channels and kWinogradMinWider on one side, output rows of at least kWinogradMinWidth, a non-empty
/// batch, volume and output, and neither
/// VOXGRAD_NO_WINOGRAD (environment, set to anything) nor set_winograd_enabled() has turned it off.
bool suits_winograd(const ConvGeometry& g);

/// The channels for which the 64 products beat the direct tiles (bench/README, AVX-512): 16 → 32 at
/// 32³ 0.71× of the direct forward map's time, 32 → 16 at 64³ 0.97×, but 16 → 16 at 64³ 1.13× (its
/// products sum over 16 channels only, and the transforms cost as much as for wider layers).
constexpr std::int64_t kWinogradMinChannels = 16;
constexpr std::int64_t kWinogradMinWider = 32;

/// The shortest output rows it takes: 16, a whole step of 8 tiles. Shorter rows run every step
/// part-empty through a staged copy: the flagship's 12³ and 6³ layers (base 8, 24³ patches) made its
/// training 1.09× slower (train_brain 61.6 s against 56.3).
constexpr std::int64_t kWinogradMinWidth = 16;

/// Turns the Winograd path on or off (tests compare it with the direct one); returns the old value.
bool set_winograd_enabled(bool enabled);

/// y (N, Cout, out) = the forward map of g (suits_winograd) applied to x (N, Cin, vol) with
/// w (Cout, Cin, 3, 3, 3), plus bias (or null).
void winograd_conv3d(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g);

}  // namespace voxgrad::detail
