// max_pool3d / avg_pool3d: PyTorch's output-size rule, values and indices against a naive reference
// over a sweep of kernel/stride/padding/dilation/ceil_mode on odd sizes, NaN/tie rules, unbatched
// input, gradients (routed to the arg-max; spread over windows), float64 gradcheck and gradgradcheck,
// every error message, and bit-identical results for 1 and 2 threads. (PyTorch's own numbers are
// checked in tests/nn/test_pool_modules.cpp from the committed fixtures.)

#include <voxgrad/ops/pool.h>
#include <voxgrad/voxgrad.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
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

struct PoolCase {
  std::int64_t N = 1, C = 1;
  Dims in{4, 4, 4}, k{2, 2, 2}, s{2, 2, 2}, p{0, 0, 0}, d{1, 1, 1};
  bool ceil = false, include_pad = true;
  std::int64_t divisor = 0;  // 0: none

  std::string str() const {
    std::ostringstream os;
    auto t = [&](const Dims& v) { os << "(" << v[0] << "," << v[1] << "," << v[2] << ")"; };
    os << "N=" << N << " C=" << C << " in=";
    t(in);
    os << " k=";
    t(k);
    os << " s=";
    t(s);
    os << " p=";
    t(p);
    os << " d=";
    t(d);
    os << " ceil=" << ceil << " include_pad=" << include_pad << " divisor=" << divisor;
    return os.str();
  }
  Shape shape() const { return {N, C, in[0], in[1], in[2]}; }
  Dims out() const {
    Dims o{};
    for (std::size_t i = 0; i < 3; ++i) o[i] = pool_output_size(in[i], k[i], p[i], s[i], d[i], ceil);
    return o;
  }
};

Tensor run_max(const PoolCase& c, const Tensor& x) { return max_pool3d(x, c.k, c.s, c.p, c.d, c.ceil); }
Tensor run_avg(const PoolCase& c, const Tensor& x) {
  return avg_pool3d(x, c.k, c.s, c.p, c.ceil, c.include_pad,
                    c.divisor != 0 ? std::optional<std::int64_t>(c.divisor) : std::nullopt);
}

// Naive max pooling straight from the definition: visit every kernel tap of every window in the
// padded input, skip the taps in the padding, keep the largest (first on ties, any NaN takes over).
void naive_max(const PoolCase& c, const std::vector<double>& x, std::vector<double>& y,
               std::vector<std::int64_t>& idx) {
  const Dims o = c.out();
  const std::int64_t iv = c.in[0] * c.in[1] * c.in[2];
  for (std::int64_t pl = 0; pl < c.N * c.C; ++pl) {
    for (std::int64_t a = 0; a < o[0]; ++a)
      for (std::int64_t b = 0; b < o[1]; ++b)
        for (std::int64_t e = 0; e < o[2]; ++e) {
          double best = -std::numeric_limits<double>::infinity();
          std::int64_t best_i = -1;
          for (std::int64_t i = 0; i < c.k[0]; ++i)
            for (std::int64_t j = 0; j < c.k[1]; ++j)
              for (std::int64_t l = 0; l < c.k[2]; ++l) {
                const std::int64_t z = a * c.s[0] - c.p[0] + i * c.d[0];
                const std::int64_t h = b * c.s[1] - c.p[1] + j * c.d[1];
                const std::int64_t w = e * c.s[2] - c.p[2] + l * c.d[2];
                if (z < 0 || h < 0 || w < 0 || z >= c.in[0] || h >= c.in[1] || w >= c.in[2]) continue;
                const std::int64_t flat = (z * c.in[1] + h) * c.in[2] + w;
                const double v = x[pl * iv + flat];
                if (best_i < 0 || v > best || std::isnan(v)) {
                  best = v;
                  best_i = flat;
                }
              }
          y.push_back(best);
          idx.push_back(best_i);
        }
  }
}

// Naive average pooling from PyTorch's definition: the window clipped to the padded input gives the
// count_include_pad divisor; the taps inside the input are summed.
std::vector<double> naive_avg(const PoolCase& c, const std::vector<double>& x) {
  const Dims o = c.out();
  const std::int64_t iv = c.in[0] * c.in[1] * c.in[2];
  std::vector<double> y;
  for (std::int64_t pl = 0; pl < c.N * c.C; ++pl) {
    for (std::int64_t a = 0; a < o[0]; ++a)
      for (std::int64_t b = 0; b < o[1]; ++b)
        for (std::int64_t e = 0; e < o[2]; ++e) {
          const Dims pos{a, b, e};
          std::int64_t padded = 1;
          for (std::size_t i = 0; i < 3; ++i) {
            const std::int64_t start = pos[i] * c.s[i] - c.p[i];
            padded *= std::min(start + c.k[i], c.in[i] + c.p[i]) - start;
          }
          double sum = 0;
          std::int64_t count = 0;
          for (std::int64_t i = 0; i < c.k[0]; ++i)
            for (std::int64_t j = 0; j < c.k[1]; ++j)
              for (std::int64_t l = 0; l < c.k[2]; ++l) {
                const std::int64_t z = a * c.s[0] - c.p[0] + i, h = b * c.s[1] - c.p[1] + j,
                                   w = e * c.s[2] - c.p[2] + l;
                if (z < 0 || h < 0 || w < 0 || z >= c.in[0] || h >= c.in[1] || w >= c.in[2]) continue;
                sum += x[pl * iv + (z * c.in[1] + h) * c.in[2] + w];
                ++count;
              }
          const std::int64_t div = c.divisor != 0 ? c.divisor : c.include_pad ? padded : count;
          y.push_back(sum / static_cast<double>(div));
        }
  }
  return y;
}

// A deterministic sweep of valid configurations (padding ≤ kernel / 2, output ≥ 1).
std::vector<PoolCase> sweep(bool with_dilation, int count, std::uint64_t seed) {
  std::vector<PoolCase> cases;
  std::uint64_t state = seed;
  auto next = [&](std::int64_t lo, std::int64_t hi) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + static_cast<std::int64_t>((state >> 33) % static_cast<std::uint64_t>(hi - lo + 1));
  };
  while (static_cast<int>(cases.size()) < count) {
    PoolCase c;
    c.N = next(1, 2);
    c.C = next(1, 3);
    for (std::size_t i = 0; i < 3; ++i) {
      c.in[i] = next(1, 7);
      c.k[i] = next(1, 4);
      c.s[i] = next(1, 3);
      c.p[i] = next(0, c.k[i] / 2);
      c.d[i] = with_dilation ? next(1, 2) : 1;
    }
    c.ceil = next(0, 1) == 1;
    c.include_pad = next(0, 1) == 1;
    c.divisor = next(0, 3) == 0 ? next(1, 9) : 0;
    const Dims o = c.out();
    if (o[0] < 1 || o[1] < 1 || o[2] < 1) continue;
    cases.push_back(c);
  }
  return cases;
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// Output size
// -------------------------------------------------------------------------------------------------

TEST(PoolOutputSize, FloorModeIsPyTorchsFormula) {
  EXPECT_EQ(pool_output_size(5, 2, 0, 2, 1, false), 2);
  EXPECT_EQ(pool_output_size(7, 3, 1, 2, 1, false), 4);
  EXPECT_EQ(pool_output_size(7, 3, 1, 1, 2, false), 5);  // dilated span 5
  EXPECT_EQ(pool_output_size(4, 5, 0, 1, 1, false), 0);  // too small: the pools reject it
}

TEST(PoolOutputSize, CeilModeKeepsOnlyWindowsStartingInsideTheInputOrLeftPadding) {
  // Cross-checked with torch 1.13 (F.max_pool3d(..., ceil_mode=True).shape).
  EXPECT_EQ(pool_output_size(5, 2, 0, 2, 1, true), 3);
  EXPECT_EQ(pool_output_size(6, 3, 1, 2, 1, true), 4);
  EXPECT_EQ(pool_output_size(7, 3, 1, 3, 1, true), 3);
  // (4 + 2 − 2 + 2) / 3 + 1 = 3, but the third window would start at 6 − 1 = 5 ≥ 4 + 1: dropped.
  EXPECT_EQ(pool_output_size(4, 2, 1, 3, 1, true), 2);
  EXPECT_EQ(pool_output_size(4, 2, 1, 3, 1, false), 2);
}

// -------------------------------------------------------------------------------------------------
// max_pool3d values
// -------------------------------------------------------------------------------------------------

TEST(MaxPool3d, PicksTheLargestOfEachWindowWithItsFlatIndex) {
  const Tensor x = arange(0, 8, 1, kFloat64).reshape({1, 1, 2, 2, 2});
  auto [y, idx] = max_pool3d_with_indices(x, 2);
  vt::expect_values(y, {1, 1, 1, 1, 1}, {7});
  EXPECT_EQ(idx.dtype(), kInt64);
  vt::expect_values(idx, {1, 1, 1, 1, 1}, {7});
}

TEST(MaxPool3d, MatchesNaiveReferenceOverSweep) {
  for (const PoolCase& c : sweep(/*with_dilation=*/true, 300, 7)) {
    SCOPED_TRACE(c.str());
    manual_seed(static_cast<std::uint64_t>(c.in[0] * 100 + c.in[1] * 10 + c.in[2]));
    for (DType dt : {kFloat64, kFloat32}) {
      // Rounded values create ties, which must resolve to the first maximum.
      const Tensor x = (randn(c.shape(), kFloat64) * 2.0).to(dt);
      std::vector<double> ref;
      std::vector<std::int64_t> ref_idx;
      naive_max(c, values(x), ref, ref_idx);
      auto [y, idx] = max_pool3d_with_indices(x, c.k, c.s, c.p, c.d, c.ceil);
      const Dims o = c.out();
      ASSERT_EQ(y.sizes(), (Shape{c.N, c.C, o[0], o[1], o[2]}));
      EXPECT_EQ(y.dtype(), dt);
      EXPECT_EQ(values(y), ref);
      const Tensor ci = idx.contiguous();
      EXPECT_EQ(std::vector<std::int64_t>(ci.data_ptr<std::int64_t>(), ci.data_ptr<std::int64_t>() + ci.numel()),
                ref_idx);
    }
  }
}

TEST(MaxPool3d, TiesKeepTheFirstMaximum) {
  const Tensor x = vt::f64({1, 3, 3, 0}, {1, 1, 1, 1, 4});
  auto [y, idx] = max_pool3d_with_indices(x, {1, 1, 4});
  EXPECT_EQ(values(y), std::vector<double>{3});
  EXPECT_EQ(idx.item<std::int64_t>(), 1);
}

TEST(MaxPool3d, NaNWinsAndTheLastNaNIsChosenAsInPyTorch) {
  const Tensor x = vt::f64({1, vt::kNaN, 3, vt::kNaN}, {1, 1, 1, 1, 4});
  auto [y, idx] = max_pool3d_with_indices(x, {1, 1, 4});
  EXPECT_TRUE(std::isnan(y.item<double>()));
  EXPECT_EQ(idx.item<std::int64_t>(), 3);
}

TEST(MaxPool3d, AllMinusInfinityWindowGivesTheWindowStart) {
  const Tensor x = full({1, 1, 2, 2, 2}, -vt::kInf, kFloat64);
  auto [y, idx] = max_pool3d_with_indices(x, 2, 1, 1);
  EXPECT_EQ(values(y)[0], -vt::kInf);
  // The window at (0,0,0) starts in the padding; its first in-input position is (0,0,0).
  EXPECT_EQ(values(idx)[0], 0);
  // The last window covers (1..2, 1..2, 1..2): its first position is flat index 7.
  EXPECT_EQ(values(idx)[26], 7);
}

TEST(MaxPool3d, DilatedWindowMissingTheInputGivesMinusInfinityIndexMinusOneAndNoGradient) {
  // Depth 1, kernel 2 with dilation 2 and padding 1: the taps sit at depth −1 and 1, both outside.
  // (PyTorch 1.13 reports index 2 here, outside the 2-element plane.)
  const Tensor x = vt::leaf({1, 2}, {1, 1, 1, 1, 2});
  auto [y, idx] = max_pool3d_with_indices(x, {2, 1, 1}, ExpandingArray<3>({2, 1, 2}), {1, 0, 0}, {2, 1, 1});
  EXPECT_EQ(values(y), std::vector<double>{-vt::kInf});
  EXPECT_EQ(values(idx), std::vector<double>{-1});
  autograd::backward({y}, {ones_like(y)});
  vt::expect_values(x.grad(), {1, 1, 1, 1, 2}, {0, 0});
}

TEST(MaxPool3d, StrideDefaultsToKernel) {
  manual_seed(3);
  const Tensor x = randn({2, 2, 5, 6, 7}, kFloat64);
  expect_close(max_pool3d(x, {2, 3, 2}), max_pool3d(x, {2, 3, 2}, ExpandingArray<3>({2, 3, 2})), 0.0);
  EXPECT_EQ(max_pool3d(x, {2, 3, 2}).sizes(), (Shape{2, 2, 2, 2, 3}));
}

TEST(MaxPool3d, UnbatchedInputGivesUnbatchedValuesAndIndices) {
  manual_seed(4);
  const Tensor x = randn({3, 5, 4, 6}, kFloat64);
  auto [y, idx] = max_pool3d_with_indices(x, 3, 2, 1, 1, true);
  auto [yb, idxb] = max_pool3d_with_indices(x.unsqueeze(0), 3, 2, 1, 1, true);
  EXPECT_EQ(y.sizes(), (Shape{3, 3, 3, 4}));
  expect_close(y, yb.squeeze(0), 0.0);
  expect_close(idx, idxb.squeeze(0), 0.0);
}

TEST(MaxPool3d, EmptyBatchGivesEmptyOutput) {
  const Tensor x = zeros({0, 2, 4, 4, 4}, kFloat64);
  EXPECT_EQ(max_pool3d(x, 2).sizes(), (Shape{0, 2, 2, 2, 2}));
  EXPECT_EQ(avg_pool3d(x, 2).sizes(), (Shape{0, 2, 2, 2, 2}));
}

TEST(MaxPool3d, NonContiguousInputIsHandled) {
  manual_seed(5);
  const Tensor base = randn({2, 3, 6, 5, 4}, kFloat64);
  const Tensor x = base.permute({1, 0, 2, 3, 4});
  ASSERT_FALSE(x.is_contiguous());
  expect_close(max_pool3d(x, 2, 1), max_pool3d(x.contiguous(), 2, 1), 0.0);
  expect_close(avg_pool3d(x, 3, 2, 1), avg_pool3d(x.contiguous(), 3, 2, 1), 0.0);
}

// -------------------------------------------------------------------------------------------------
// max_pool3d gradients
// -------------------------------------------------------------------------------------------------

TEST(MaxPool3d, GradientGoesToTheArgMaxAndAccumulatesOverOverlappingWindows) {
  // Along w: [0, 5, 1, 2]; windows of 2 with stride 1 pick 5, 5, 2.
  const Tensor x = vt::leaf({0, 5, 1, 2}, {1, 1, 1, 1, 4});
  const Tensor y = max_pool3d(x, {1, 1, 2}, ExpandingArray<3>(1));
  vt::expect_values(y, {1, 1, 1, 1, 3}, {5, 5, 2});
  (y * vt::f64({1, 10, 100}, {1, 1, 1, 1, 3})).sum().backward();
  vt::expect_values(x.grad(), {1, 1, 1, 1, 4}, {0, 11, 0, 100});
}

TEST(MaxPool3d, GradcheckOverConfigurations) {
  int n = 0;
  for (const PoolCase& c : sweep(/*with_dilation=*/true, 24, 11)) {
    SCOPED_TRACE(c.str());
    // Distinct values far apart relative to gradcheck's step, so no finite difference crosses a tie.
    const Tensor x = vt::uniform_leaf(c.shape(), -1.0, 1.0, static_cast<std::uint64_t>(++n));
    const autograd::SingleOutputFn fn = [c](const std::vector<Tensor>& in) { return run_max(c, in[0]); };
    EXPECT_TRUE(gradcheck(fn, {x}));
    EXPECT_TRUE(gradgradcheck(fn, {x}));
  }
}

TEST(MaxPool3d, UnbatchedGradcheckAndGradgradcheck) {
  const Tensor x = vt::uniform_leaf({2, 3, 4, 5}, -1.0, 1.0, 21);
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    return max_pool3d(in[0], {2, 2, 3}, ExpandingArray<3>({1, 2, 2}), {1, 1, 1}, 1, true);
  };
  EXPECT_TRUE(gradcheck(fn, {x}));
  EXPECT_TRUE(gradgradcheck(fn, {x}));
}

TEST(MaxPool3d, BackwardIsDifferentiableAndItsGradientGathersByTheIndices) {
  const Tensor x = vt::uniform_leaf({1, 2, 3, 4, 5}, -1.0, 1.0, 31);
  auto [y, idx] = max_pool3d_with_indices(x, 2, 1);
  const Tensor go = vt::uniform_leaf(y.sizes(), -1.0, 1.0, 32);
  const Tensor gi = autograd::grad({y}, {x}, {go}, std::nullopt, /*create_graph=*/true)[0];
  ASSERT_TRUE(gi.requires_grad());
  // d(Σ gi·v)/d go = v gathered at the indices.
  const Tensor v = vt::uniform_leaf(x.sizes(), -1.0, 1.0, 33).detach();
  const Tensor ggo = autograd::grad({(gi * v).sum()}, {go})[0];
  const std::vector<double> vv = values(v), got = values(ggo);
  const Tensor ci = idx.contiguous();
  const std::int64_t* pi = ci.data_ptr<std::int64_t>();
  const std::int64_t ov = y.size(2) * y.size(3) * y.size(4), iv = 3 * 4 * 5;
  for (std::int64_t i = 0; i < ci.numel(); ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)], vv[static_cast<std::size_t>((i / ov) * iv + pi[i])]);
  }
}

// -------------------------------------------------------------------------------------------------
// avg_pool3d
// -------------------------------------------------------------------------------------------------

TEST(AvgPool3d, AveragesEachWindow) {
  const Tensor x = arange(0, 8, 1, kFloat64).reshape({1, 1, 2, 2, 2});
  vt::expect_values(avg_pool3d(x, 2), {1, 1, 1, 1, 1}, {3.5});
}

TEST(AvgPool3d, CountIncludePadChoosesTheDivisor) {
  const Tensor x = ones({1, 1, 1, 1, 3}, kFloat64);
  // Windows of 3 with padding 1 over [1 1 1]: the edge windows cover two ones and one zero.
  vt::expect_values(avg_pool3d(x, {1, 1, 3}, ExpandingArray<3>(1), {0, 0, 1}), {1, 1, 1, 1, 3}, {2.0 / 3, 1, 2.0 / 3});
  vt::expect_values(avg_pool3d(x, {1, 1, 3}, ExpandingArray<3>(1), {0, 0, 1}, false, false), {1, 1, 1, 1, 3},
                    {1, 1, 1});
  vt::expect_values(avg_pool3d(x, {1, 1, 3}, ExpandingArray<3>(1), {0, 0, 1}, false, true, 4), {1, 1, 1, 1, 3},
                    {0.5, 0.75, 0.5});
}

TEST(AvgPool3d, CeilModeWindowsAreClippedToThePaddedInputForTheDivisor) {
  // in = 5, k = 2, s = 2, ceil: the third window starts at 4 and covers only [4, 5): divisor 1 even
  // with count_include_pad (PyTorch's rule clips the window to in + padding).
  const Tensor x = vt::f64({1, 2, 3, 4, 5}, {1, 1, 1, 1, 5});
  vt::expect_values(avg_pool3d(x, {1, 1, 2}, std::nullopt, 0, true), {1, 1, 1, 1, 3}, {1.5, 3.5, 5});
}

TEST(AvgPool3d, MatchesNaiveReferenceOverSweep) {
  for (const PoolCase& c : sweep(/*with_dilation=*/false, 300, 13)) {
    SCOPED_TRACE(c.str());
    manual_seed(static_cast<std::uint64_t>(c.in[0] * 100 + c.in[1] * 10 + c.in[2] + 1));
    const Tensor x = randn(c.shape(), kFloat64);
    const Dims o = c.out();
    const Tensor y = run_avg(c, x);
    ASSERT_EQ(y.sizes(), (Shape{c.N, c.C, o[0], o[1], o[2]}));
    expect_close(y, vt::f64(naive_avg(c, values(x)), y.sizes()), 1e-14, 1e-14);
    const Tensor yf = run_avg(c, x.to(kFloat32));
    EXPECT_EQ(yf.dtype(), kFloat32);
    expect_close(yf, y, 1e-6, 1e-6);
  }
}

TEST(AvgPool3d, InputSmallerThanKernelIsFineWhenThePaddedInputFits) {
  // PyTorch 1.13's avg_pool3d alone rejects this ("input image ... smaller than kernel size"), although
  // max_pool3d and avg_pool2d accept it; the windows are well defined, so we accept it too.
  const Tensor x = ones({1, 1, 2, 2, 2}, kFloat64);
  const Tensor y = avg_pool3d(x, 3, 1, 1, false, false);
  vt::expect_values(y, {1, 1, 2, 2, 2}, std::vector<double>(8, 1.0));
}

TEST(AvgPool3d, GradientSpreadsEvenlyOverEachWindow) {
  const Tensor x = vt::leaf({1, 2, 3, 4, 5}, {1, 1, 1, 1, 5});
  const Tensor y = avg_pool3d(x, {1, 1, 2}, ExpandingArray<3>({1, 1, 1}), {0, 0, 1}, false, false);
  // windows: [0], [0,1], [1,2], [2,3], [3,4], [4] → divisors 1, 2, 2, 2, 2, 1
  y.sum().backward();
  vt::expect_values(x.grad(), {1, 1, 1, 1, 5}, {1.5, 1, 1, 1, 1.5});
}

TEST(AvgPool3d, GradcheckAndGradgradcheckOverConfigurations) {
  int n = 100;
  for (const PoolCase& c : sweep(/*with_dilation=*/false, 24, 17)) {
    SCOPED_TRACE(c.str());
    const Tensor x = vt::uniform_leaf(c.shape(), -1.0, 1.0, static_cast<std::uint64_t>(++n));
    const autograd::SingleOutputFn fn = [c](const std::vector<Tensor>& in) { return run_avg(c, in[0]); };
    EXPECT_TRUE(gradcheck(fn, {x}));
    EXPECT_TRUE(gradgradcheck(fn, {x}));
  }
  const Tensor u = vt::uniform_leaf({2, 3, 4, 5}, -1.0, 1.0, 3);
  const autograd::SingleOutputFn unbatched = [](const std::vector<Tensor>& in) {
    return avg_pool3d(in[0], 3, 2, 1, true, false);
  };
  EXPECT_TRUE(gradcheck(unbatched, {u}));
  EXPECT_TRUE(gradgradcheck(unbatched, {u}));
}

// -------------------------------------------------------------------------------------------------
// Errors (PyTorch's texts, prefixed by the op)
// -------------------------------------------------------------------------------------------------

TEST(Pool3dErrors, KernelStrideDilationMustBePositive) {
  const Tensor x = zeros({1, 1, 4, 4, 4});
  EXPECT_ERROR_EQ(max_pool3d(x, 0, 1),
                  "max_pool3d: kernel size should be greater than zero, but got kT: 0 kH: 0 kW: 0");
  EXPECT_ERROR_EQ(avg_pool3d(x, {2, -1, 2}, 1),
                  "avg_pool3d: kernel size should be greater than zero, but got kT: 2 kH: -1 kW: 2");
  EXPECT_ERROR_EQ(max_pool3d(x, 2, -1), "max_pool3d: stride should be greater than zero, but got dT: -1 dH: -1 dW: -1");
  EXPECT_ERROR_EQ(avg_pool3d(x, 2, ExpandingArray<3>({1, 0, 1})),
                  "avg_pool3d: stride should be greater than zero, but got dT: 1 dH: 0 dW: 1");
  EXPECT_ERROR_EQ(max_pool3d(x, 2, std::nullopt, 0, 0),
                  "max_pool3d: dilation should be greater than zero, but got dilationT: 0 dilationH: 0 dilationW: 0");
}

TEST(Pool3dErrors, PaddingMustBeNonNegativeAndAtMostHalfTheKernel) {
  const Tensor x = zeros({1, 1, 4, 4, 4});
  EXPECT_ERROR_EQ(max_pool3d(x, 2, std::nullopt, -1), "max_pool3d: pad must be non-negative, but got pad: -1");
  EXPECT_ERROR_EQ(max_pool3d(x, 2, std::nullopt, 2),
                  "max_pool3d: pad should be at most half of kernel size, but got pad=2 and kernel_size=2");
  // As in PyTorch 1.13 the limit is half the kernel size, not of the dilated span.
  EXPECT_ERROR_EQ(max_pool3d(x, 3, std::nullopt, 2, 2),
                  "max_pool3d: pad should be at most half of kernel size, but got pad=2 and kernel_size=3");
  EXPECT_NO_THROW(max_pool3d(x, 3, std::nullopt, 1, 2));
  EXPECT_ERROR_EQ(avg_pool3d(x, {2, 2, 3}, std::nullopt, {0, 0, 2}),
                  "avg_pool3d: pad should be at most half of kernel size, but got pad=2 and kernel_size=3");
}

TEST(Pool3dErrors, InputMustBeNonEmpty4Dor5DFloat) {
  EXPECT_ERROR_EQ(max_pool3d(zeros({4, 4, 4}), 2),
                  "max_pool3d: non-empty 4D or 5D (batch mode) tensor expected for input, but got input of size "
                  "[4, 4, 4]");
  EXPECT_ERROR_CONTAINS(avg_pool3d(zeros({1, 1, 1, 4, 4, 4}), 2), "avg_pool3d: non-empty 4D or 5D");
  EXPECT_ERROR_EQ(max_pool3d(zeros({1, 0, 4, 4, 4}), 2),
                  "max_pool3d: Expected input's non-batch dimensions to have positive length, but input has a shape "
                  "of [1, 0, 4, 4, 4] and non-batch dimension 1 has length zero!");
  EXPECT_ERROR_EQ(avg_pool3d(zeros({2, 4, 0, 4}), 2),
                  "avg_pool3d: Expected input's non-batch dimensions to have positive length, but input has a shape "
                  "of [2, 4, 0, 4] and non-batch dimension 2 has length zero!");
  EXPECT_ERROR_EQ(max_pool3d(zeros({1, 1, 4, 4, 4}, kInt64), 2),
                  "max_pool3d: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_CONTAINS(max_pool3d(Tensor(), 2), "max_pool3d");
}

TEST(Pool3dErrors, OutputTooSmallNamesBothSizes) {
  EXPECT_ERROR_EQ(max_pool3d(zeros({1, 3, 4, 4, 4}), 5),
                  "max_pool3d: Given input size: (3x4x4x4). Calculated output size: (3x0x0x0). Output size is too "
                  "small");
  EXPECT_ERROR_EQ(avg_pool3d(zeros({2, 5, 6, 7}), {1, 7, 1}),
                  "avg_pool3d: Given input size: (2x5x6x7). Calculated output size: (2x5x0x7). Output size is too "
                  "small");
  EXPECT_ERROR_CONTAINS(max_pool3d(zeros({1, 1, 4, 4, 4}), 2, 1, 0, 4), "Output size is too small");
}

TEST(Pool3dErrors, DivisorOverrideMustBeNonZero) {
  EXPECT_ERROR_EQ(avg_pool3d(zeros({1, 1, 4, 4, 4}), 2, std::nullopt, 0, false, true, 0),
                  "avg_pool3d: divisor must be not zero");
}

// -------------------------------------------------------------------------------------------------
// Threads
// -------------------------------------------------------------------------------------------------

TEST(Pool3dThreads, OneAndTwoThreadsGiveBitIdenticalResultsAndGradients) {
  RestoreTwoThreads restore;
  manual_seed(41);
  const Tensor x0 = randn({3, 8, 13, 12, 11});
  const Tensor go_max = randn({3, 8, 7, 7, 6});
  const Tensor go_avg = randn({3, 8, 7, 6, 6});
  std::vector<Tensor> results[2];
  for (int t = 0; t < 2; ++t) {
    set_num_threads(t + 1);
    const Tensor x = x0.clone().requires_grad_();
    auto [ym, idx] = max_pool3d_with_indices(x, 3, 2, 1, 1, true);
    const Tensor ya = avg_pool3d(x, {3, 2, 3}, ExpandingArray<3>({2, 2, 2}), {1, 0, 1}, false, false);
    ASSERT_EQ(ym.sizes(), go_max.sizes());
    ASSERT_EQ(ya.sizes(), go_avg.sizes());
    ((ym * go_max).sum() + (ya * go_avg).sum()).backward();
    results[t] = {ym, idx, ya, x.grad()};
  }
  for (std::size_t i = 0; i < results[0].size(); ++i) {
    EXPECT_TRUE(bit_identical(results[0][i], results[1][i])) << "result " << i;
  }
}
