#include "voxgrad/ops/detail/conv_geometry.h"

#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/pointwise_conv.h"

namespace voxgrad::detail {

bool ConvGeometry::is_pointwise() const {
  return kernel == Dims{1, 1, 1} && stride == Dims{1, 1, 1} && padding == Dims{0, 0, 0} && vol == out;
}

bool ConvGeometry::adjoint_is_forward() const {
  for (std::size_t i = 0; i < 3; ++i) {
    if (stride[i] != 1 || dilation[i] * (kernel[i] - 1) - padding[i] < 0) return false;
  }
  return true;
}

ConvGeometry ConvGeometry::adjoint_as_forward() const {
  ConvGeometry g = *this;
  g.Cin = Cout;
  g.Cout = Cin;
  g.vol = out;
  g.out = vol;
  for (std::size_t i = 0; i < 3; ++i) g.padding[i] = dilation[i] * (kernel[i] - 1) - padding[i];
  return g;
}

bool ConvGeometry::within_direct_range() const {
  constexpr std::int64_t kMax = std::int64_t{1} << 40;
  if (N < 1 || Cin < 1 || Cout < 1 || groups < 1 || N > kMax || Cin > kMax || Cout > kMax) return false;
  for (std::size_t i = 0; i < 3; ++i) {
    if (padding[i] < 0 || stride[i] < 1 || dilation[i] < 1 || kernel[i] < 1 || out[i] < 1 || vol[i] < 1) return false;
    if (padding[i] > kMax || stride[i] > kMax || dilation[i] > kMax || kernel[i] > kMax || out[i] > kMax ||
        vol[i] > kMax || kernel[i] - 1 > kMax / dilation[i]) {
      return false;
    }
  }
  return true;
}

namespace {

// At least 70% of the vector lanes along each output row do useful work (on some set of tiles).
bool fills_direct_lanes(const ConvGeometry& g) { return direct_forward_lanes(g) > 0; }

// The padded copy of a sample stays comparable to its input and output (not so with huge dilations or
// paddings): sizes in double, so nothing here can overflow.
bool padded_copy_bounded(const ConvGeometry& g) {
  auto extent = [&](std::size_t i) {
    return double(g.out[i] - 1) * double(g.stride[i]) + double(g.kernel[i] - 1) * double(g.dilation[i]) + 1.0;
  };
  const double padded = double(g.Cin) * extent(0) * extent(1) * (extent(2) + double(g.stride[2]));
  const double in_size = double(g.Cin) * double(g.vol[0]) * double(g.vol[1]) * double(g.vol[2]);
  const double out_size = double(g.Cout) * double(g.out[0]) * double(g.out[1]) * double(g.out[2]);
  return padded <= 2.0 * (in_size + out_size) + 65536.0;
}

}  // namespace

bool ConvGeometry::suits_direct() const {
  return direct_conv_available() && within_direct_range() && fills_direct_lanes(*this) && padded_copy_bounded(*this);
}

bool ConvGeometry::direct_forward() const { return suits_direct() && !is_pointwise(); }

bool ConvGeometry::direct_weight() const {
  if (suits_pointwise_weight_tiles(*this)) return true;
  if (!direct_conv_available() || !within_direct_range() || !padded_copy_bounded(*this)) return false;
  // Channel-vector tiles waste no lanes along W, whatever its width (W = 4-20 on AVX-512: 1.6-2.7×
  // the GEMM path).
  if (direct_weight_channel_vectors(*this)) return true;
  return fills_direct_lanes(*this) && !(is_pointwise() && cout_g() < 4);
}

bool ConvGeometry::suits_direct_adjoint() const {
  if (!direct_conv_available() || !within_direct_range()) return false;
  for (std::size_t i = 0; i < 3; ++i) {
    // Strides and kernels beyond these are not worth a class each (and keep the plan small).
    if (stride[i] > 4 || kernel[i] > 16) return false;
  }
  if (stride[2] > 2) return false;
  // Lanes along the adjoint's output rows (vol) well used on some set of tiles.
  const std::int64_t lanes = direct_adjoint_lanes(*this);
  if (lanes == 0) return false;
  Dims lo{}, hi{};
  if (!direct_adjoint_reads(*this, lo, hi)) return true;
  // The padded copy of the adjoint's input (Cout channels over [lo, hi]) stays bounded.
  double padded = double(Cout);
  for (std::size_t i = 0; i < 3; ++i) padded *= double(hi[i] - lo[i] + 1) + (i == 2 ? double(lanes) : 0.0);
  const double in_size = double(Cout) * double(out[0]) * double(out[1]) * double(out[2]);
  const double out_size = double(Cin) * double(vol[0]) * double(vol[1]) * double(vol[2]);
  return padded <= 2.0 * (in_size + out_size) + 65536.0;
}

}  // namespace voxgrad::detail
