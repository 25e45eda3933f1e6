// upsample_nearest3d / upsample_trilinear3d: PyTorch's source-index rules (nearest: floor(o·scale)
// with scale = 1/scale_factor or in/out; trilinear with align_corners false and true), values against
// a naive reference over up- and down-sampling with odd sizes, float64 gradcheck and gradgradcheck,
// error messages, and bit-identical results for 1 and 2 threads. PyTorch's own numbers are checked in
// tests/nn/test_pool_modules.cpp from the committed fixtures.

#include <voxgrad/ops/upsample.h>
#include <voxgrad/voxgrad.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
using autograd::gradcheck;
using autograd::gradgradcheck;
using voxgrad::testing::bit_identical;
using voxgrad::testing::expect_close;
using voxgrad::testing::RestoreTwoThreads;
using voxgrad::testing::values;
namespace vt = voxgrad::testing;
using Dims = std::array<std::int64_t, 3>;
using Scales = std::array<std::optional<double>, 3>;

struct UpCase {
  std::int64_t N = 1, C = 1;
  Dims in{2, 3, 4}, out{4, 6, 8};
  Scales scales;
  bool align = false;

  std::string str() const {
    std::ostringstream os;
    os << "N=" << N << " C=" << C << " in=(" << in[0] << "," << in[1] << "," << in[2] << ") out=(" << out[0] << ","
       << out[1] << "," << out[2] << ") scales=(";
    for (const auto& s : scales) os << (s ? std::to_string(*s) : "none") << ",";
    os << ") align=" << align;
    return os.str();
  }
  Shape shape() const { return {N, C, in[0], in[1], in[2]}; }
};

Tensor nearest(const UpCase& c, const Tensor& x) {
  return upsample_nearest3d(x, {c.out[0], c.out[1], c.out[2]}, c.scales[0], c.scales[1], c.scales[2]);
}
Tensor trilinear(const UpCase& c, const Tensor& x) {
  return upsample_trilinear3d(x, {c.out[0], c.out[1], c.out[2]}, c.align, c.scales[0], c.scales[1], c.scales[2]);
}

// Nearest source index straight from PyTorch 1.13's CPU kernel (float arithmetic).
std::int64_t nearest_src(std::int64_t o, std::int64_t in, std::int64_t out, std::optional<double> s) {
  const float scale = s && *s > 0 ? static_cast<float>(1.0 / *s) : static_cast<float>(in) / static_cast<float>(out);
  return std::min(static_cast<std::int64_t>(std::floor(scale * static_cast<float>(o))), in - 1);
}

// Linear taps in double, from the definition.
struct Tap {
  std::int64_t i0, i1;
  double l1;
};
Tap linear_src(std::int64_t o, std::int64_t in, std::int64_t out, std::optional<double> s, bool align) {
  if (in == out) return {o, o, 0.0};  // PyTorch copies an unchanged size, whatever the scale factor
  double real;
  if (align) {
    real = out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) * static_cast<double>(o) : 0.0;
  } else {
    const double scale = s && *s > 0 ? 1.0 / *s : static_cast<double>(in) / static_cast<double>(out);
    real = std::max(0.0, scale * (static_cast<double>(o) + 0.5) - 0.5);
  }
  const std::int64_t i0 = std::min(static_cast<std::int64_t>(std::floor(real)), in - 1);
  return {i0, std::min(i0 + 1, in - 1), std::clamp(real - static_cast<double>(i0), 0.0, 1.0)};
}

std::vector<double> naive(const UpCase& c, const std::vector<double>& x, bool linear) {
  std::vector<double> y;
  const std::int64_t iv = c.in[0] * c.in[1] * c.in[2];
  auto at = [&](std::int64_t pl, std::int64_t d, std::int64_t h, std::int64_t w) {
    return x[static_cast<std::size_t>(pl * iv + (d * c.in[1] + h) * c.in[2] + w)];
  };
  for (std::int64_t pl = 0; pl < c.N * c.C; ++pl)
    for (std::int64_t a = 0; a < c.out[0]; ++a)
      for (std::int64_t b = 0; b < c.out[1]; ++b)
        for (std::int64_t e = 0; e < c.out[2]; ++e) {
          if (!linear) {
            y.push_back(at(pl, nearest_src(a, c.in[0], c.out[0], c.scales[0]),
                           nearest_src(b, c.in[1], c.out[1], c.scales[1]),
                           nearest_src(e, c.in[2], c.out[2], c.scales[2])));
            continue;
          }
          const Tap td = linear_src(a, c.in[0], c.out[0], c.scales[0], c.align);
          const Tap th = linear_src(b, c.in[1], c.out[1], c.scales[1], c.align);
          const Tap tw = linear_src(e, c.in[2], c.out[2], c.scales[2], c.align);
          double v = 0;
          for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j)
              for (int k = 0; k < 2; ++k) {
                const double wgt = (i ? td.l1 : 1 - td.l1) * (j ? th.l1 : 1 - th.l1) * (k ? tw.l1 : 1 - tw.l1);
                v += wgt * at(pl, i ? td.i1 : td.i0, j ? th.i1 : th.i0, k ? tw.i1 : tw.i0);
              }
          y.push_back(v);
        }
  return y;
}

// Up- and down-sampling with odd sizes; about a third with explicit scale factors (whose output
// size is floor(in · factor), as F.interpolate computes it).
std::vector<UpCase> sweep(int count, std::uint64_t seed) {
  std::vector<UpCase> cases;
  std::uint64_t state = seed;
  auto next = [&](std::int64_t lo, std::int64_t hi) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + static_cast<std::int64_t>((state >> 33) % static_cast<std::uint64_t>(hi - lo + 1));
  };
  const double factors[] = {0.5, 0.75, 1.3, 1.5, 1.7, 2.0, 2.5, 3.0};
  while (static_cast<int>(cases.size()) < count) {
    UpCase c;
    c.N = next(1, 2);
    c.C = next(1, 2);
    c.align = next(0, 1) == 1;
    const bool by_scale = next(0, 2) == 0;
    bool ok = true;
    for (std::size_t i = 0; i < 3; ++i) {
      c.in[i] = next(1, 6);
      if (by_scale) {
        const double f = factors[next(0, 7)];
        c.scales[i] = f;
        c.out[i] = static_cast<std::int64_t>(static_cast<double>(c.in[i]) * f);
      } else {
        c.out[i] = next(1, 9);
      }
      ok = ok && c.out[i] > 0;
    }
    if (ok) cases.push_back(c);
  }
  return cases;
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// Nearest
// -------------------------------------------------------------------------------------------------

TEST(UpsampleNearest3d, DoublingRepeatsEachVoxel) {
  const Tensor x = vt::f64({1, 2}, {1, 1, 1, 1, 2});
  vt::expect_values(upsample_nearest3d(x, {2, 1, 4}), {1, 1, 2, 1, 4}, {1, 1, 2, 2, 1, 1, 2, 2});
}

TEST(UpsampleNearest3d, SourceIsFloorOfOutputIndexTimesInOverOut) {
  // in 3 → out 5: scale 0.6, sources floor(0, .6, 1.2, 1.8, 2.4) = 0 0 1 1 2.
  const Tensor x = vt::f64({10, 20, 30}, {1, 1, 1, 1, 3});
  vt::expect_values(upsample_nearest3d(x, {1, 1, 5}), {1, 1, 1, 1, 5}, {10, 10, 20, 20, 30});
  // Downsampling 3 → 2: scale 1.5, sources 0 and 1.
  vt::expect_values(upsample_nearest3d(x, {1, 1, 2}), {1, 1, 1, 1, 2}, {10, 20});
}

TEST(UpsampleNearest3d, AGivenScaleFactorReplacesInOverOut) {
  // in 3 with scale_factor 1.3: output floor(3.9) = 3, but the sources use 1/1.3 (as PyTorch):
  // floor(0, 0.77, 1.54) = 0 0 1 — not the identity that in/out = 1 would give.
  const Tensor x = vt::f64({10, 20, 30}, {1, 1, 1, 1, 3});
  vt::expect_values(upsample_nearest3d(x, {1, 1, 3}, std::nullopt, std::nullopt, 1.3), {1, 1, 1, 1, 3}, {10, 10, 20});
  vt::expect_values(upsample_nearest3d(x, {1, 1, 3}), {1, 1, 1, 1, 3}, {10, 20, 30});
  // A non-positive scale is ignored, as in PyTorch.
  vt::expect_values(upsample_nearest3d(x, {1, 1, 3}, std::nullopt, std::nullopt, 0.0), {1, 1, 1, 1, 3}, {10, 20, 30});
}

TEST(UpsampleNearest3d, MatchesNaiveReferenceOverSweep) {
  for (const UpCase& c : sweep(200, 5)) {
    SCOPED_TRACE(c.str());
    manual_seed(static_cast<std::uint64_t>(c.in[0] * 100 + c.in[1] * 10 + c.in[2]));
    const Tensor x = randn(c.shape(), kFloat64);
    const Tensor y = nearest(c, x);
    ASSERT_EQ(y.sizes(), (Shape{c.N, c.C, c.out[0], c.out[1], c.out[2]}));
    EXPECT_EQ(values(y), naive(c, values(x), false));
    EXPECT_EQ(values(nearest(c, x.to(kFloat32))), naive(c, values(x.to(kFloat32)), false));
  }
}

TEST(UpsampleNearest3d, GradientSumsOverTheCopies) {
  const Tensor x = vt::leaf({1, 2, 3}, {1, 1, 1, 1, 3});
  const Tensor y = upsample_nearest3d(x, {1, 1, 5});  // sources 0 0 1 1 2
  (y * vt::f64({1, 2, 3, 4, 5}, {1, 1, 1, 1, 5})).sum().backward();
  vt::expect_values(x.grad(), {1, 1, 1, 1, 3}, {3, 7, 5});
}

TEST(UpsampleNearest3d, GradcheckAndGradgradcheck) {
  int n = 0;
  for (const UpCase& c : sweep(16, 9)) {
    SCOPED_TRACE(c.str());
    const Tensor x = vt::uniform_leaf(c.shape(), -1.0, 1.0, static_cast<std::uint64_t>(++n));
    const autograd::SingleOutputFn fn = [c](const std::vector<Tensor>& in) { return nearest(c, in[0]); };
    EXPECT_TRUE(gradcheck(fn, {x}));
    EXPECT_TRUE(gradgradcheck(fn, {x}));
  }
}

// -------------------------------------------------------------------------------------------------
// Trilinear
// -------------------------------------------------------------------------------------------------

TEST(UpsampleTrilinear3d, HalfPixelCentresWithoutAlignCorners) {
  // [0, 1] → 4: sources −0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the end: the last value).
  const Tensor x = vt::f64({0, 1}, {1, 1, 1, 1, 2});
  vt::expect_values(upsample_trilinear3d(x, {1, 1, 4}, false), {1, 1, 1, 1, 4}, {0, 0.25, 0.75, 1}, 1e-15);
}

TEST(UpsampleTrilinear3d, AlignCornersMatchesTheCornerSamples) {
  const Tensor x = vt::f64({0, 1}, {1, 1, 1, 1, 2});
  vt::expect_values(upsample_trilinear3d(x, {1, 1, 4}, true), {1, 1, 1, 1, 4}, {0, 1.0 / 3, 2.0 / 3, 1}, 1e-15);
  // An output of size 1 samples the first input.
  vt::expect_values(upsample_trilinear3d(x, {1, 1, 1}, true), {1, 1, 1, 1, 1}, {0});
}

TEST(UpsampleTrilinear3d, InterpolatesInAllThreeDims) {
  // A linear function of (d, h, w) is reproduced exactly by align_corners=True.
  const Tensor d = arange(0, 2, 1, kFloat64).reshape({1, 1, 2, 1, 1});
  const Tensor h = arange(0, 3, 1, kFloat64).reshape({1, 1, 1, 3, 1});
  const Tensor w = arange(0, 2, 1, kFloat64).reshape({1, 1, 1, 1, 2});
  const Tensor x = d * 100.0 + h * 10.0 + w + zeros({1, 1, 2, 3, 2}, kFloat64);
  const Tensor y = upsample_trilinear3d(x, {3, 5, 4}, true);
  const Tensor dd = arange(0, 3, 1, kFloat64).reshape({1, 1, 3, 1, 1}) * 0.5;
  const Tensor hh = arange(0, 5, 1, kFloat64).reshape({1, 1, 1, 5, 1}) * 0.5;
  const Tensor ww = arange(0, 4, 1, kFloat64).reshape({1, 1, 1, 1, 4}) / 3.0;
  expect_close(y, dd * 100.0 + hh * 10.0 + ww + zeros({1, 1, 3, 5, 4}, kFloat64), 1e-12);
}

TEST(UpsampleTrilinear3d, MatchesNaiveReferenceOverSweep) {
  for (const UpCase& c : sweep(200, 6)) {
    SCOPED_TRACE(c.str());
    manual_seed(static_cast<std::uint64_t>(c.in[0] * 100 + c.in[1] * 10 + c.in[2] + 7));
    const Tensor x = randn(c.shape(), kFloat64);
    const Tensor y = trilinear(c, x);
    ASSERT_EQ(y.sizes(), (Shape{c.N, c.C, c.out[0], c.out[1], c.out[2]}));
    expect_close(y, vt::f64(naive(c, values(x), true), y.sizes()), 1e-13);
    const Tensor yf = trilinear(c, x.to(kFloat32));
    EXPECT_EQ(yf.dtype(), kFloat32);
    expect_close(yf, y, 2e-6);
  }
}

TEST(UpsampleTrilinear3d, GradcheckAndGradgradcheck) {
  int n = 50;
  for (const UpCase& c : sweep(16, 10)) {
    SCOPED_TRACE(c.str());
    const Tensor x = vt::uniform_leaf(c.shape(), -1.0, 1.0, static_cast<std::uint64_t>(++n));
    const autograd::SingleOutputFn fn = [c](const std::vector<Tensor>& in) { return trilinear(c, in[0]); };
    EXPECT_TRUE(gradcheck(fn, {x}));
    EXPECT_TRUE(gradgradcheck(fn, {x}));
  }
}

TEST(UpsampleTrilinear3d, AnUnchangedSizeIsCopiedEvenWithAScaleFactor) {
  // As PyTorch: size 3 with scale_factor 1.3 stays 3 and is copied (in/out = 1), not resampled.
  const Tensor x = vt::f64({10, 20, 30}, {1, 1, 1, 1, 3});
  vt::expect_values(upsample_trilinear3d(x, {1, 1, 3}, false, std::nullopt, std::nullopt, 1.3), {1, 1, 1, 1, 3},
                    {10, 20, 30});
}

TEST(Upsample3d, BackwardsAreTheExactAdjoints) {
  // <up(x), g> = <x, upᵀ(g)> for random x and g, including nearest's size-preserving case with a
  // scale factor, where PyTorch's backward takes an identity shortcut its forward does not.
  UpCase c;
  c.in = {3, 4, 5};
  c.out = {3, 9, 5};
  c.scales = {1.2, 2.3, 1.1};
  const Tensor x = vt::uniform_leaf(c.shape(), -1.0, 1.0, 1);
  const Tensor g = vt::uniform_leaf({1, 1, 3, 9, 5}, -1.0, 1.0, 2).detach();
  const Tensor yn = nearest(c, x);
  const Tensor gxn = autograd::grad({yn}, {x}, {g})[0];
  EXPECT_NEAR((yn * g).sum().item<double>(), (x * gxn).sum().item<double>(), 1e-12);
  // Nearest with scale 1/1.2 along depth reads sources 0 0 1: depth 2 receives nothing.
  EXPECT_EQ(values(gxn.select(2, 2).abs().sum())[0], 0.0);
  const Tensor y = trilinear(c, x);
  const Tensor gx = autograd::grad({y}, {x}, {g})[0];
  EXPECT_NEAR((y * g).sum().item<double>(), (x * gx).sum().item<double>(), 1e-12);
}

// -------------------------------------------------------------------------------------------------
// Errors
// -------------------------------------------------------------------------------------------------

TEST(Upsample3dErrors, InputMustBeNonEmpty5DFloat) {
  EXPECT_ERROR_EQ(upsample_nearest3d(zeros({1, 3, 4, 5}), {2, 2, 2}),
                  "upsample_nearest3d: Non-empty 5D data tensor expected but got a tensor with sizes [1, 3, 4, 5]");
  EXPECT_ERROR_EQ(upsample_trilinear3d(zeros({1, 0, 3, 4, 5}), {2, 2, 2}, false),
                  "upsample_trilinear3d: Non-empty 5D data tensor expected but got a tensor with sizes "
                  "[1, 0, 3, 4, 5]");
  EXPECT_ERROR_EQ(upsample_nearest3d(zeros({1, 1, 3, 4, 5}, kInt64), {2, 2, 2}),
                  "upsample_nearest3d: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_CONTAINS(upsample_nearest3d(Tensor(), {2, 2, 2}), "upsample_nearest3d");
}

TEST(Upsample3dErrors, OutputSizeNeedsThreePositiveEntries) {
  EXPECT_ERROR_EQ(upsample_nearest3d(zeros({1, 1, 3, 4, 5}), {2, 2}),
                  "upsample_nearest3d: It is expected output_size equals to 3, but got size 2 ([2, 2])");
  EXPECT_ERROR_EQ(upsample_trilinear3d(zeros({1, 1, 3, 4, 5}), {2, 0, 2}, true),
                  "upsample_trilinear3d: Input and output sizes should be greater than 0, but got input (D: 3, H: "
                  "4, W: 5) output (D: 2, H: 0, W: 2)");
  EXPECT_ERROR_EQ(upsample_nearest3d(zeros({1, 1, 0, 4, 5}), {2, 1, 2}),
                  "upsample_nearest3d: Input and output sizes should be greater than 0, but got input (D: 0, H: 4, "
                  "W: 5) output (D: 2, H: 1, W: 2)");
}

TEST(Upsample3d, EmptyBatchGivesEmptyOutput) {
  EXPECT_EQ(upsample_nearest3d(zeros({0, 2, 3, 4, 5}), {6, 8, 10}).sizes(), (Shape{0, 2, 6, 8, 10}));
  EXPECT_EQ(upsample_trilinear3d(zeros({0, 2, 3, 4, 5}), {6, 8, 10}, false).sizes(), (Shape{0, 2, 6, 8, 10}));
}

// -------------------------------------------------------------------------------------------------
// Threads
// -------------------------------------------------------------------------------------------------

TEST(Upsample3dThreads, OneAndTwoThreadsGiveBitIdenticalResultsAndGradients) {
  RestoreTwoThreads restore;
  manual_seed(43);
  const Tensor x0 = randn({2, 8, 7, 9, 10});
  const Tensor g_near = randn({2, 8, 14, 18, 20});
  const Tensor g_tri = randn({2, 8, 13, 17, 21});
  std::vector<Tensor> results[2];
  for (int t = 0; t < 2; ++t) {
    set_num_threads(t + 1);
    const Tensor x = x0.clone().requires_grad_();
    const Tensor yn = upsample_nearest3d(x, {14, 18, 20});
    const Tensor yt = upsample_trilinear3d(x, {13, 17, 21}, false);
    ((yn * g_near).sum() + (yt * g_tri).sum()).backward();
    results[t] = {yn, yt, x.grad()};
  }
  for (std::size_t i = 0; i < results[0].size(); ++i) {
    EXPECT_TRUE(bit_identical(results[0][i], results[1][i])) << "result " << i;
  }
}
