// The float32 Winograd path (ops/detail/winograd.h: kernel 3 at stride 1, at least 16 channels each
// way and 32 on one side): conv3d and conv_transpose3d against the naive float64 reference
// (conv_reference.h) on a randomized sweep — odd and even sizes, rows of 8 to 14 tiles (whole and
// partial 8-tile steps), paddings 0-3 (the stride-1 adjoint runs as a forward map, on this path, up to
// padding 2), unbatched inputs, with and without bias — every tensor argument drawn as a view; a
// sample's results the same bits alone as in a batch; and the rounding against the direct sum's on a
// 64-channel layer.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "conv_reference.h"

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/winograd.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;

struct RestoreWinograd {
  ~RestoreWinograd() { detail::set_winograd_enabled(true); }
};

// small: few channels and planes (for emulated CPUs), the rows as long.
Cfg draw_winograd_config(std::mt19937_64& rng, bool transposed, bool small) {
  Cfg c;
  c.transposed = transposed;
  c.unbatched = pick(rng, 0, 9) == 0;
  c.N = c.unbatched ? 1 : pick(rng, 1, 2);
  // One side 16-20 channels, the other 32-36 (small: 16 and 32).
  const std::int64_t narrow = pick(rng, detail::kWinogradMinChannels, small ? 16 : 20);
  const std::int64_t wide = pick(rng, detail::kWinogradMinWider, small ? 32 : 36);
  const bool wide_out = pick(rng, 0, 1) == 1;
  c.cin = wide_out ? narrow : wide;
  c.cout = wide_out ? wide : narrow;
  c.k = {3, 3, 3};
  c.p = {pick(rng, 0, 3), pick(rng, 0, 3), pick(rng, 0, 3)};
  // Output rows (the conv3d form's) of 16-27: 8 to 14 tiles, one or two steps of 8.
  const std::int64_t ow = pick(rng, detail::kWinogradMinWidth, 27);
  c.in = {pick(rng, 1, small ? 4 : 7), pick(rng, 1, small ? 4 : 9), transposed ? ow : ow + 2 - 2 * c.p[2]};
  c.bias = pick(rng, 0, 3) != 0;  // most of the time: the bias must come as every kind of view
  return c;
}

void winograd_sweep(bool transposed, std::uint64_t seed, int configs, bool small = false) {
  RestoreWinograd restore;
  detail::set_winograd_enabled(true);
  std::mt19937_64 rng(seed);
  int accepted = 0, served = 0, adjoint_served = 0, adjoint_forms = 0, partial_steps = 0, two_steps = 0, odd = 0;
  ViewStats views;
  while (accepted < configs) {
    const Cfg c = draw_winograd_config(rng, transposed, small);
    if (!c.valid()) continue;
    ++accepted;
    const detail::ConvGeometry g = conv3d_form(c);
    served += detail::suits_winograd(g);
    // The adjoint (conv3d's input gradient, conv_transpose3d's forward) where it is a forward map with
    // rows long enough for the path.
    if (g.adjoint_is_forward() && g.adjoint_as_forward().out[2] >= detail::kWinogradMinWidth) {
      ++adjoint_forms;
      adjoint_served += detail::suits_winograd(g.adjoint_as_forward());
    }
    const std::int64_t tiles_w = (g.out[2] + 1) / 2;
    partial_steps += tiles_w % 8 != 0;
    two_steps += tiles_w > 8;
    odd += g.out[0] % 2 + g.out[1] % 2 + g.out[2] % 2 > 0;
    std::mt19937_64 vrng(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(accepted)));
    const std::string m = check_config(c, kFloat32, vrng, &views);
    EXPECT_TRUE(m.empty()) << "float32, config #" << accepted << ": " << c.str() << "\n" << m;
  }
  std::cout << "[ sweep    ] " << (transposed ? "conv_transpose3d" : "conv3d") << " Winograd shapes: " << accepted
            << " configs, " << served << " on the Winograd path (the adjoint " << adjoint_served << " of "
            << adjoint_forms << " that are forward maps), " << partial_steps << " with a partial step along W, "
            << two_steps << " with two steps, " << odd << " with an odd output size; arguments as views:" << views.str()
            << "\n";
  if (!detail::direct_conv_available()) {
    // The baseline instruction set (VOXGRAD_MAX_ISA=baseline, or a CPU without AVX2) has no Winograd
    // path: every config above ran on the im2col path.
    EXPECT_EQ(served + adjoint_served, 0);
    return;
  }
  EXPECT_EQ(served, configs);
  EXPECT_EQ(adjoint_served, adjoint_forms);
  if (small) return;
  EXPECT_GE(adjoint_forms, configs / 4);  // every padding ≤ 2: (3/4)³ of conv3d's configs
  EXPECT_LT(adjoint_forms, configs);      // padding 3 somewhere: the adjoint on the direct kernels
  EXPECT_GE(partial_steps, configs / 2);
  EXPECT_GE(two_steps, configs / 5);
  EXPECT_GE(odd, configs / 2);
  views.expect_each_kind(5);
}

TEST(ConvWinograd, Conv3dMatchesTheReference) { winograd_sweep(false, 0x3141A, 80); }
TEST(ConvWinograd, ConvTranspose3dMatchesTheReference) { winograd_sweep(true, 0x3141B, 80); }
// A few small configs of each op, for emulated CPUs (scripts/qemu_isa_check.sh), where the sweeps
// above would take minutes; those check the views' coverage.
TEST(ConvWinograd, QuickSweep) {
  winograd_sweep(false, 0x3141D, 8, true);
  winograd_sweep(true, 0x3141E, 8, true);
}

// Largest |got − reference| over the largest |reference|.
double relative_error(const Tensor& got, const std::vector<double>& want) {
  const std::vector<double> v = values(got);
  double err = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    err = std::max(err, std::abs(v[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return err / scale;
}

TEST(ConvWinograd, RoundsWithinAFewTimesTheDirectSum) {
  // 64 → 64 channels at 8 × 8 × 16 with padding 1 (C3's layer, smaller): the forward map and the input gradient
  // (the same map with the flipped weight), each against float64, on and off the Winograd path.
  RestoreWinograd restore;
  Cfg c;
  c.N = 2, c.cin = 64, c.cout = 64, c.in = {8, 8, 16}, c.k = {3, 3, 3}, c.p = {1, 1, 1};
  std::mt19937_64 rng(0x3141C);
  const std::vector<double> x = rounded_to_float(uniform_values(rng, numel_of(c.x_shape())));
  const std::vector<double> w = rounded_to_float(uniform_values(rng, numel_of(c.w_shape())));
  const std::vector<double> gy = rounded_to_float(uniform_values(rng, numel_of(c.y_shape())));
  const Reference r = reference(c, x, w, {}, gy);
  double errors[2][2];
  for (int wino = 0; wino < 2; ++wino) {
    detail::set_winograd_enabled(wino == 1);
    ASSERT_EQ(detail::suits_winograd(conv3d_form(c)), wino == 1 && detail::direct_conv_available());
    const Tensor xt = make(x, c.x_shape(), kFloat32).requires_grad_();
    const Tensor wt = make(w, c.w_shape(), kFloat32);
    const Tensor y = conv3d(xt, wt, Tensor(), 1, 1);
    const std::vector<Tensor> g = autograd::grad({y}, {xt}, {make(gy, c.y_shape(), kFloat32)});
    errors[wino][0] = relative_error(y, r.y);
    errors[wino][1] = relative_error(g[0], r.dx);
  }
  const char* names[2] = {"output", "grad input"};
  for (int i = 0; i < 2; ++i) {
    std::cout << "[ rounding ] " << names[i] << ": direct " << errors[0][i] << ", Winograd " << errors[1][i] << "\n";
    // Uniform data in [−1, 1): the direct sums stray by about 1e-7 of the largest value.
    EXPECT_LE(errors[1][i], std::max(4.0 * errors[0][i], 1e-7)) << names[i];
    // On the path (not on the baseline instruction set, where both runs are the im2col path's).
    if (detail::direct_conv_available()) {
      EXPECT_LE(errors[1][i], 1e-6) << names[i];
    }
  }
}

TEST(ConvWinograd, TakesOnlyTheShapesItServes) {
  RestoreWinograd restore;
  detail::set_winograd_enabled(true);
  detail::ConvGeometry g;
  g.N = 2, g.Cin = 32, g.Cout = 32, g.vol = {8, 8, 16}, g.out = {8, 8, 16}, g.kernel = {3, 3, 3}, g.padding = {1, 1, 1};
  // The baseline instruction set has no direct kernels, so no Winograd path either.
  EXPECT_EQ(detail::suits_winograd(g), detail::direct_conv_available());
  if (!detail::direct_conv_available()) return;
  auto with = [&](auto change) {
    detail::ConvGeometry h = g;
    change(h);
    return detail::suits_winograd(h);
  };
  EXPECT_FALSE(with([](auto& h) { h.stride = {1, 1, 2}; }));
  EXPECT_FALSE(with([](auto& h) { h.dilation = {2, 1, 1}; }));
  EXPECT_FALSE(with([](auto& h) { h.kernel = {3, 3, 1}; }));
  EXPECT_FALSE(with([](auto& h) { h.groups = 2; }));
  EXPECT_FALSE(with([](auto& h) { h.Cin = detail::kWinogradMinChannels - 1; }));
  EXPECT_FALSE(with([](auto& h) { h.Cout = detail::kWinogradMinChannels - 1; }));
  EXPECT_FALSE(with([](auto& h) { h.Cin = h.Cout = detail::kWinogradMinWider - 1; }));
  EXPECT_TRUE(with([](auto& h) { h.Cin = detail::kWinogradMinChannels; }));
  EXPECT_FALSE(with([](auto& h) { h.vol[2] = h.out[2] = detail::kWinogradMinWidth - 1; }));
  EXPECT_FALSE(with([](auto& h) { h.N = 0; }));
  detail::set_winograd_enabled(false);
  EXPECT_FALSE(detail::suits_winograd(g));
}

TEST(ConvWinograd, ASampleHasTheSameBitsAloneAsInABatch) {
  // A data-parallel run splits a batch over processes: each sample's output and input gradient must
  // not depend on the samples around it (odd sizes: partial tiles, a partial last block).
  RestoreWinograd restore;
  detail::set_winograd_enabled(true);
  manual_seed(11);
  const Tensor x = randn({3, 20, 9, 11, 19}), w = randn({32, 20, 3, 3, 3}) * 0.1, b = randn({32});
  Cfg c;
  c.N = 3, c.cin = 20, c.cout = 32, c.in = {9, 11, 19}, c.k = {3, 3, 3}, c.p = {1, 1, 1};
  EXPECT_EQ(detail::suits_winograd(conv3d_form(c)), detail::direct_conv_available());
  const Tensor gy = randn({3, 32, 9, 11, 19});
  const Tensor xb = x.clone().requires_grad_();
  const Tensor yb = conv3d(xb, w, b, 1, 1);
  const Tensor gb = autograd::grad({yb}, {xb}, {gy})[0];
  for (std::int64_t n = 0; n < 3; ++n) {
    const Tensor xn = x.narrow(0, n, 1).clone().requires_grad_();
    const Tensor yn = conv3d(xn, w, b, 1, 1);
    const Tensor gn = autograd::grad({yn}, {xn}, {gy.narrow(0, n, 1)})[0];
    expect_bitwise_equal(yn, yb.narrow(0, n, 1), "output of sample " + std::to_string(n));
    expect_bitwise_equal(gn, gb.narrow(0, n, 1), "grad input of sample " + std::to_string(n));
  }
}

TEST(ConvWinograd, LargeSamplesRunInSlabsOfTilePlanes) {
  // A sample whose padded copy exceeds the path's budget (8 MiB: here 32 channels, 30 × 15 × 17
  // tiles, 9.1 MB) is padded and run in slabs of tile planes along D; two samples. Against the direct
  // kernels (the sweeps check both against the float64 reference).
  RestoreWinograd restore;
  manual_seed(12);
  const Tensor x = randn({2, 32, 60, 30, 33}), w = randn({16, 32, 3, 3, 3}) * 0.05, b = randn({16});
  detail::set_winograd_enabled(true);
  Cfg c;
  c.N = 2, c.cin = 32, c.cout = 16, c.in = {60, 30, 33}, c.k = {3, 3, 3}, c.p = {1, 1, 1};
  EXPECT_EQ(detail::suits_winograd(conv3d_form(c)), detail::direct_conv_available());
  const Tensor got = conv3d(x, w, b, 1, 1);
  detail::set_winograd_enabled(false);
  const Tensor want = conv3d(x, w, b, 1, 1);
  const double scale = want.abs().max().item<double>();
  EXPECT_LE((got - want).abs().max().item<double>(), 1e-5 * scale);
}

}  // namespace
