// sort, topk, cumsum, cumprod, logsumexp, amax, amin, prod and lerp: values against naive references
// on random shapes and on permuted, strided, offset and expanded views of every argument, 0-d and
// empty tensors, ties and NaN, independence from the thread count, error messages, and float64
// gradchecks (inputs chosen away from ties, where these ops are not differentiable).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_util.h"
#include "view_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using voxgrad::testing::expect_bitwise_equal;
using voxgrad::testing::expect_close;
using voxgrad::testing::expect_gradcheck;
using voxgrad::testing::expect_gradgradcheck;
using voxgrad::testing::expect_values;
using voxgrad::testing::f64;
using voxgrad::testing::kInf;
using voxgrad::testing::kNaN;
using voxgrad::testing::leaf;
using voxgrad::testing::split_at;
using voxgrad::testing::uniform_leaf;
using voxgrad::testing::values;
using Fn = autograd::SingleOutputFn;

// Views holding the same values as `x` in other layouts: permuted (dims reversed over a contiguous
// copy), strided (every other element of a wider tensor) and offset (the second half of a buffer).
std::vector<std::pair<std::string, Tensor>> layouts(const Tensor& x) {
  std::vector<std::int64_t> rev(static_cast<std::size_t>(x.dim()));
  std::iota(rev.rbegin(), rev.rend(), std::int64_t{0});
  std::vector<std::pair<std::string, Tensor>> v = {
      {"contiguous", x},
      {"permuted", x.permute(rev).contiguous().permute(rev)},
      {"strided", stack({x, zeros_like(x)}, -1).select(-1, 0)},
      {"offset", stack({zeros_like(x), x}, 0).select(0, 1)},
  };
  if (x.numel() > 1) {
    EXPECT_FALSE(v[2].second.is_contiguous());
  }
  return v;
}

// A random float64 tensor whose shape has 1 to 4 dims of sizes 1..5, from a seed.
Tensor random_tensor(std::uint64_t seed) {
  manual_seed(seed);
  const std::int64_t nd = 1 + static_cast<std::int64_t>(seed % 4);
  Shape s;
  for (std::int64_t d = 0; d < nd; ++d) s.push_back(1 + static_cast<std::int64_t>((seed * 7 + d * 3) % 5));
  return randn(s, kFloat64);
}

bool nan_last_less(double x, double y, bool descending) {
  if (std::isnan(x)) return descending && !std::isnan(y);
  if (std::isnan(y)) return !descending;
  return descending ? x > y : x < y;
}

// Naive stable sort of every slice along d: values and indices in row-major order.
std::pair<std::vector<double>, std::vector<double>> naive_sort(const Tensor& x, std::int64_t d, bool descending) {
  // Plain variables: a lambda below captures them (clang 14 does not capture structured bindings).
  const auto split = split_at(x.sizes(), d);
  const std::int64_t outer = std::get<0>(split), n = std::get<1>(split), inner = std::get<2>(split);
  const std::vector<double> v = values(x);
  std::vector<double> vals(v.size()), idx(v.size());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j = 0; j < inner; ++j) {
      std::vector<std::int64_t> order(static_cast<std::size_t>(n));
      std::iota(order.begin(), order.end(), std::int64_t{0});
      const auto at = [&](std::int64_t i) { return v[(o * n + i) * inner + j]; };
      std::stable_sort(order.begin(), order.end(),
                       [&](std::int64_t a, std::int64_t b) { return nan_last_less(at(a), at(b), descending); });
      for (std::int64_t i = 0; i < n; ++i) {
        vals[(o * n + i) * inner + j] = at(order[i]);
        idx[(o * n + i) * inner + j] = static_cast<double>(order[i]);
      }
    }
  }
  return {vals, idx};
}

// Naive running sum (is_sum) or product along d, in long double.
std::vector<double> naive_scan(const Tensor& x, std::int64_t d, bool is_sum) {
  const auto [outer, n, inner] = split_at(x.sizes(), d);
  const std::vector<double> v = values(x);
  std::vector<double> r(v.size());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j = 0; j < inner; ++j) {
      long double acc = is_sum ? 0.0L : 1.0L;
      for (std::int64_t i = 0; i < n; ++i) {
        const std::size_t k = static_cast<std::size_t>((o * n + i) * inner + j);
        acc = is_sum ? acc + v[k] : acc * v[k];
        r[k] = static_cast<double>(acc);
      }
    }
  }
  return r;
}

// Naive reduction of every slice along d (the result has d removed) with f(values of the slice).
template <typename F>
std::vector<double> naive_reduce(const Tensor& x, std::int64_t d, F f) {
  const auto [outer, n, inner] = split_at(x.sizes(), d);
  const std::vector<double> v = values(x);
  std::vector<double> r;
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t j = 0; j < inner; ++j) {
      std::vector<double> slice;
      for (std::int64_t i = 0; i < n; ++i) slice.push_back(v[(o * n + i) * inner + j]);
      r.push_back(f(slice));
    }
  }
  return r;
}

Shape without(const Shape& s, std::int64_t d) {
  Shape r = s;
  r.erase(r.begin() + d);
  return r;
}

double naive_logsumexp(const std::vector<double>& s) {
  const double m = *std::max_element(s.begin(), s.end());
  long double acc = 0.0L;
  for (double x : s) acc += std::exp(static_cast<long double>(x - m));
  return static_cast<double>(std::log(acc) + m);
}

// --- values against naive references, in every layout -----------------------------------------------

TEST(SortScan, SortMatchesANaiveStableSortOnRandomShapesAndLayouts) {
  for (std::uint64_t seed = 0; seed < 12; ++seed) {
    // Rounded to halves: many ties, whose order must be the original one.
    const Tensor base = (random_tensor(seed) * 2.0).clamp(-2.0, 2.0);
    for (std::int64_t d = 0; d < base.dim(); ++d) {
      for (const bool desc : {false, true}) {
        const auto [want_v, want_i] = naive_sort(base, d, desc);
        for (const auto& [name, x] : layouts(base)) {
          SCOPED_TRACE(fmt::format("seed {} dim {} descending {} {}", seed, d, desc, name));
          const auto [v, i] = sort(x, d, desc);
          expect_values(v, base.sizes(), want_v, 0.0);
          expect_values(i, base.sizes(), want_i, 0.0);
          const auto [sv, si] = sort(x, d - base.dim(), desc, true);  // negative dim, stable: the same
          expect_bitwise_equal(sv, v, "stable values");
          expect_bitwise_equal(si, i, "stable indices");
        }
      }
    }
  }
}

TEST(SortScan, SortOfAnExpandedViewKeepsTheRepeatsInIndexOrder) {
  const Tensor x = f64({3, 1, 2}, {1, 3}).expand({2, 3});
  const auto [v, i] = sort(x, 0);
  expect_values(v, {2, 3}, {3, 1, 2, 3, 1, 2}, 0.0);
  expect_values(i, {2, 3}, {0, 0, 0, 1, 1, 1}, 0.0);
  const auto [v1, i1] = x.sort(1, true);
  expect_values(v1, {2, 3}, {3, 2, 1, 3, 2, 1}, 0.0);
  expect_values(i1, {2, 3}, {0, 2, 1, 0, 2, 1}, 0.0);
}

TEST(SortScan, SortPutsNaNLastAscendingAndFirstDescending) {
  const Tensor x = f64({kNaN, 1, -kInf, kNaN, 1, kInf});
  const auto [v, i] = sort(x);
  expect_values(i, {6}, {2, 1, 4, 5, 0, 3}, 0.0);
  EXPECT_TRUE(std::isnan(values(v)[4]) && std::isnan(values(v)[5]));
  const auto [vd, id] = sort(x, 0, true);
  expect_values(id, {6}, {0, 3, 5, 1, 4, 2}, 0.0);
}

TEST(SortScan, TopkIsThePrefixOfTheSortOnRandomShapesAndLayouts) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const Tensor base = random_tensor(seed + 100);
    const std::int64_t d = base.dim() - 1;
    const std::int64_t n = base.size(d);
    for (const bool largest : {true, false}) {
      for (std::int64_t k = 0; k <= n; ++k) {
        const auto [sv, si] = sort(base, d, largest);
        for (const auto& [name, x] : layouts(base)) {
          SCOPED_TRACE(fmt::format("seed {} k {} largest {} {}", seed, k, largest, name));
          const auto [v, i] = topk(x, k, -1, largest);
          expect_bitwise_equal(v, sv.narrow(d, 0, k).contiguous(), "values");
          expect_bitwise_equal(i, si.narrow(d, 0, k).contiguous(), "indices");
        }
      }
    }
  }
}

TEST(SortScan, CumsumAndCumprodMatchNaiveScansOnRandomShapesAndLayouts) {
  for (std::uint64_t seed = 0; seed < 12; ++seed) {
    const Tensor base = random_tensor(seed + 200);
    for (std::int64_t d = 0; d < base.dim(); ++d) {
      for (const auto& [name, x] : layouts(base)) {
        SCOPED_TRACE(fmt::format("seed {} dim {} {}", seed, d, name));
        expect_values(cumsum(x, d), base.sizes(), naive_scan(base, d, true), 1e-13);
        expect_values(x.cumprod(d - base.dim()), base.sizes(), naive_scan(base, d, false), 1e-13);
      }
    }
  }
  const Tensor e = f64({1, 2, 3}, {3, 1}).expand({3, 4});
  expect_values(cumsum(e, 1), {3, 4}, {1, 2, 3, 4, 2, 4, 6, 8, 3, 6, 9, 12});
  expect_values(cumprod(e, 0), {3, 4}, {1, 1, 1, 1, 2, 2, 2, 2, 6, 6, 6, 6});
}

TEST(SortScan, Float32CumsumIsAccumulatedInDoubleAsATenDoes) {
  // 1 + 1e-8 * k: each step alone rounds away in float32, the double running sum does not.
  const Tensor x = cat({ones({1}, kFloat32), full({1000}, 1e-8, kFloat32)});
  const Tensor c = cumsum(x, 0);
  EXPECT_EQ(c.dtype(), kFloat32);
  const float f_eps = 1e-8f;
  EXPECT_EQ(values(c).back(), static_cast<double>(static_cast<float>(1.0 + 1000.0 * static_cast<double>(f_eps))));
  EXPECT_NE(values(c).back(), 1.0);
}

TEST(SortScan, ReductionsMatchNaiveReferencesOnRandomShapesAndLayouts) {
  for (std::uint64_t seed = 0; seed < 12; ++seed) {
    const Tensor base = random_tensor(seed + 300) * 3.0;
    for (std::int64_t d = 0; d < base.dim(); ++d) {
      const Shape out = without(base.sizes(), d);
      const auto mx = [](const std::vector<double>& s) { return *std::max_element(s.begin(), s.end()); };
      const auto mn = [](const std::vector<double>& s) { return *std::min_element(s.begin(), s.end()); };
      const auto pr = [](const std::vector<double>& s) {
        long double p = 1.0L;
        for (double x : s) p *= x;
        return static_cast<double>(p);
      };
      for (const auto& [name, x] : layouts(base)) {
        SCOPED_TRACE(fmt::format("seed {} dim {} {}", seed, d, name));
        expect_values(logsumexp(x, d), out, naive_reduce(base, d, naive_logsumexp), 1e-13);
        expect_values(amax(x, d), out, naive_reduce(base, d, mx), 0.0);
        expect_values(x.amin(d), out, naive_reduce(base, d, mn), 0.0);
        expect_values(prod(x, d), out, naive_reduce(base, d, pr), 1e-12);
      }
    }
    for (const auto& [name, x] : layouts(base)) {
      const std::vector<double> all = values(base);
      expect_values(x.amax(), {}, {*std::max_element(all.begin(), all.end())}, 0.0);
      expect_close(prod(x), prod(base.reshape({-1}), 0), 1e-12, 1e-12);
      expect_close(logsumexp(x, {}), logsumexp(base.reshape({-1}), 0), 1e-13, 1e-13);
    }
  }
}

// Within an ulp: the compiler may fuse the formula's multiply-add (-march=native), as ATen's own build may.
TEST(SortScan, LerpMatchesThePyTorchFormulaOnBroadcastLayouts) {
  manual_seed(7);
  const Tensor s = randn({3, 4}, kFloat64), e = randn({4}, kFloat64), w = rand({3, 1}, kFloat64) * 3.0 - 1.0;
  const std::vector<double> vs = values(s), ve = values(e), vw = values(w);
  std::vector<double> want_t, want_s;
  for (std::int64_t i = 0; i < 3; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) {
      const double a = vs[i * 4 + j], b = ve[j], wt = vw[i];
      // One rounding per branch, as ATen's kernel: the bits are exact.
      want_t.push_back(std::abs(wt) < 0.5 ? std::fma(wt, b - a, a) : std::fma(wt - 1.0, b - a, b));
      want_s.push_back(std::fma(0.9 - 1.0, b - a, b));
    }
  }
  for (const auto& [ns, xs] : layouts(s)) {
    for (const auto& [ne, xe] : layouts(e)) {
      for (const auto& [nw, xw] : layouts(w)) {
        SCOPED_TRACE(ns + " " + ne + " " + nw);
        expect_values(lerp(xs, xe, xw), {3, 4}, want_t, 0.0);
      }
      expect_values(xs.lerp(xe, 0.9), {3, 4}, want_s, 0.0);
    }
  }
  // Expanded weight and end.
  expect_values(lerp(s, e.expand({3, 4}), w.expand({3, 4})), {3, 4}, want_t, 0.0);
  // Weight 1 gives end exactly, weight 0 start.
  expect_bitwise_equal(lerp(s, e, 1.0), e.expand({3, 4}).contiguous(), "weight 1");
  expect_bitwise_equal(lerp(s, e, 0.0), s, "weight 0");
}

// Long contiguous rows take the op's vectorised loops (a scalar weight, a weight tensor); each element
// must still be the formula's one fused multiply-add per branch, bit for bit, on values with zeros of
// both signs, infinities and NaN, and weights on both sides of ±0.5.
template <typename T>
void check_long_lerp_rows() {
  const DType dt = sizeof(T) == 4 ? kFloat32 : kFloat64;
  constexpr std::int64_t n = 1037;  // vectors and a tail
  const T specials[] = {T(0), T(-0.0), T(INFINITY), T(-INFINITY), T(NAN), T(0.5), T(-0.5), T(1e30)};
  manual_seed(21);
  Tensor s = randn({n}, dt) * 100.0, e = randn({n}, dt), w = rand({n}, dt) * 3.0 - 1.0;
  for (std::int64_t i = 0; i < n; i += 7) {
    s.data_ptr<T>()[i] = specials[(i / 7) % 8];
    e.data_ptr<T>()[i + 3 < n ? i + 3 : i] = specials[(i / 7 + 3) % 8];
    w.data_ptr<T>()[i + 1 < n ? i + 1 : i] = specials[(i / 7 + 5) % 8];
  }
  const auto formula = [](T a, T b, T t) {
    return std::abs(t) < T(0.5) ? std::fma(t, b - a, a) : std::fma(t - T(1), b - a, b);
  };
  const T* ps = s.data_ptr<T>();
  const T* pe = e.data_ptr<T>();
  const T* pw = w.data_ptr<T>();
  for (const T scalar : {T(0.3), T(-0.7), T(0.5), T(1.0)}) {
    Tensor want = empty({n}, dt);
    for (std::int64_t i = 0; i < n; ++i) want.data_ptr<T>()[i] = formula(ps[i], pe[i], scalar);
    EXPECT_TRUE(voxgrad::testing::same_bits_any_nan(lerp(s, e, static_cast<double>(scalar)), want))
        << "scalar weight " << scalar;
  }
  Tensor want = empty({n}, dt);
  for (std::int64_t i = 0; i < n; ++i) want.data_ptr<T>()[i] = formula(ps[i], pe[i], pw[i]);
  EXPECT_TRUE(voxgrad::testing::same_bits_any_nan(lerp(s, e, w), want)) << "weight tensor";
}

TEST(SortScan, LerpIsTheFormulaBitForBitOnLongContiguousRows) {
  check_long_lerp_rows<float>();
  check_long_lerp_rows<double>();
}

// --- 0-d, empty, infinities ---------------------------------------------------------------------------

TEST(SortScan, ZeroDimInputsAreTheirOwnSortScanAndReduction) {
  const Tensor x = f64({2.5}).reshape({});
  const auto [v, i] = sort(x);
  expect_values(v, {}, {2.5});
  expect_values(i, {}, {0});
  const auto [tv, ti] = topk(x, 1, 0);
  expect_values(tv, {}, {2.5});
  expect_values(std::get<0>(topk(x, 0)), {}, {2.5});  // PyTorch 1.13 returns the 0-d input for k = 0 too
  expect_values(cumsum(x, 0), {}, {2.5});
  expect_values(cumprod(x, -1), {}, {2.5});
  expect_values(logsumexp(x, 0), {}, {2.5});
  expect_values(amax(x), {}, {2.5});
  expect_values(amin(x, 0, true), {}, {2.5});
  expect_values(prod(x), {}, {2.5});
  expect_values(prod(x, 0), {}, {2.5});
  expect_values(lerp(x, f64({4.5}).reshape({}), 0.5), {}, {3.5});
}

TEST(SortScan, EmptyInputsGiveEmptyResultsAndTheIdentities) {
  const Tensor x = zeros({0, 3}, kFloat64);
  EXPECT_EQ(std::get<0>(sort(x, 0)).sizes(), (Shape{0, 3}));
  EXPECT_EQ(std::get<1>(sort(x, 1)).sizes(), (Shape{0, 3}));
  EXPECT_EQ(std::get<0>(topk(x, 0, 0)).sizes(), (Shape{0, 3}));
  EXPECT_EQ(std::get<0>(topk(x, 2, 1)).sizes(), (Shape{0, 2}));
  EXPECT_EQ(cumsum(x, 0).sizes(), (Shape{0, 3}));
  EXPECT_EQ(cumprod(x, 1).sizes(), (Shape{0, 3}));
  EXPECT_EQ(values(logsumexp(x, 0)), (std::vector<double>{-kInf, -kInf, -kInf}));
  EXPECT_EQ(logsumexp(x, 1).sizes(), (Shape{0}));
  expect_values(prod(x), {}, {1});
  expect_values(prod(x, 0, true), {1, 3}, {1, 1, 1});
  EXPECT_EQ(amax(x, 1).sizes(), (Shape{0}));
  EXPECT_EQ(lerp(x, zeros({3}, kFloat64), 0.2).sizes(), (Shape{0, 3}));
  // Gradients of empty inputs have the input's shape.
  const Tensor l = zeros({0, 3}, kFloat64).requires_grad_(true);
  prod(l, 0).sum().backward();
  expect_values(l.grad(), {0, 3}, {});
}

TEST(SortScan, LogsumexpHandlesInfinitiesAndHugeValuesAsPyTorch) {
  const Tensor x = f64({1000, 1000, -kInf, -kInf, kInf, 0, kInf, -kInf, kNaN, 1}, {5, 2});
  const std::vector<double> r = values(logsumexp(x, 1));
  EXPECT_NEAR(r[0], 1000 + std::log(2.0), 1e-12);
  EXPECT_EQ(r[1], -kInf);
  EXPECT_EQ(r[2], kInf);
  EXPECT_EQ(r[3], kInf);
  EXPECT_TRUE(std::isnan(r[4]));
  // The float64 sum under it keeps an infinite total (its compensation would be inf - inf).
  EXPECT_EQ(values(sum(f64({kInf, 1.0, 2.0})))[0], kInf);
  EXPECT_TRUE(std::isnan(values(sum(f64({kInf, -kInf, 1.0})))[0]));
}

// --- gradients ----------------------------------------------------------------------------------------

TEST(SortScan, SortAndTopkGradientsScatterIntoTheIndices) {
  const Tensor x = leaf({3, 1, 2, 5}, {2, 2});
  const auto [v, i] = sort(x, 0, true);
  (v * f64({10, 20, 30, 40}, {2, 2})).sum().backward();
  expect_values(x.grad(), {2, 2}, {10, 40, 30, 20});
  EXPECT_FALSE(i.requires_grad());
  const Tensor y = leaf({4, 9, 1, 7});
  std::get<0>(topk(y, 2)).mul(f64({1, 2})).sum().backward();
  expect_values(y.grad(), {4}, {0, 1, 0, 2});
}

TEST(SortScan, CumprodGradientWithZerosMatchesTheProductOfTheOthers) {
  // y = cumprod(x): dy_j/dx_k = prod_{i<=j, i!=k} x_i; the sum over j of that is the gradient of sum(y).
  const std::vector<double> xs = {2, 0, 3, 0, 5};
  const Tensor x = leaf(xs);
  cumprod(x, 0).sum().backward();
  std::vector<double> want(5, 0.0);
  for (int k = 0; k < 5; ++k) {
    for (int j = k; j < 5; ++j) {
      double p = 1;
      for (int i = 0; i <= j; ++i) p *= i == k ? 1.0 : xs[i];
      want[k] += p;
    }
  }
  expect_values(x.grad(), {5}, want);
}

TEST(SortScan, ProdGradientWithOneZeroIsTheProductOfTheOthersAndWithTwoIsZero) {
  const Tensor x = leaf({2, 0, 3, 4}, {2, 2});
  prod(x).backward();
  expect_values(x.grad(), {2, 2}, {0, 24, 0, 0});
  const Tensor y = leaf({2, 0, 0, 4}, {2, 2});
  prod(y).backward();
  expect_values(y.grad(), {2, 2}, {0, 0, 0, 0});
  const Tensor z = leaf({2, 0, 0, 4}, {2, 2});
  prod(z, 1).sum().backward();
  expect_values(z.grad(), {2, 2}, {0, 2, 4, 0});
}

TEST(SortScan, AmaxAndAminSplitTheGradientEvenlyAmongTies) {
  const Tensor x = leaf({1, 3, 3, 0, 0, -1}, {2, 3});
  amax(x, 1).sum().backward();
  expect_values(x.grad(), {2, 3}, {0, 0.5, 0.5, 0.5, 0.5, 0});
  const Tensor y = leaf({1, 3, 3, 0, 0, -1}, {2, 3});
  amin(y).backward();
  expect_values(y.grad(), {2, 3}, {0, 0, 0, 0, 0, 1});
}

TEST(SortScanGradcheck, SortAndTopk) {
  // Distinct values (a permutation of well-separated numbers): no ties.
  const Tensor x = (f64({5, 2, 9, 1, 7, 3, 11, 0, 4, 8, 6, 10}, {3, 4}) * 0.37).detach().requires_grad_(true);
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(sort(v[0])); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(sort(v[0], 0, true)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(v[0].t().sort(-1)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(topk(v[0], 2)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(topk(v[0], 2, 0, false)); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return std::get<0>(sort(v[0])).pow(2.0); }, {x});
}

TEST(SortScanGradcheck, CumsumAndCumprod) {
  const Tensor x = uniform_leaf({3, 4}, 0.5, 1.5, 1);
  expect_gradcheck([](const std::vector<Tensor>& v) { return cumsum(v[0], 1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].t().cumsum(-1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return cumprod(v[0], 0); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return cumprod(v[0], -1); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return cumsum(v[0], 1).pow(2.0); }, {x});
  // A zero in the input (cumprod is polynomial, so the numerical derivative is exact there too).
  const Tensor z = leaf({1.5, 0, 2, -0.5, 0, 3, 0.7, 0.9}, {2, 4});
  expect_gradcheck([](const std::vector<Tensor>& v) { return cumprod(v[0], 1); }, {z});
  expect_gradcheck([](const std::vector<Tensor>& v) { return cumprod(v[0], 0); }, {z});
  // Second derivatives with zeros: d²L/dx_k dx_z after the first zero z is not 0 (the O(n²) form).
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return cumprod(v[0], 1); }, {z});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return cumprod(v[0], 0); }, {z});
  // An infinity after a zero: y there is 0·inf = NaN, masked before the sums, as PyTorch (finite
  // gradients before the zero).
  const Tensor inf_after_zero = leaf({2.0, 0.0, INFINITY}, {3});
  cumprod(inf_after_zero, 0).backward(ones({3}, kFloat64));
  const std::vector<double> g = values(inf_after_zero.grad());
  EXPECT_EQ(g[0], 1.0);       // dy0/dx0 = 1; y1 = y2 = 0·… contribute nothing
  EXPECT_EQ(g[1], INFINITY);  // x0 + x0·x2 = 2 + 2·inf
  EXPECT_EQ(g[2], 0.0);
}

TEST(SortScanGradcheck, LogsumexpAmaxAminProd) {
  const Tensor x = uniform_leaf({2, 3, 4}, -2.0, 2.0, 2);
  expect_gradcheck([](const std::vector<Tensor>& v) { return logsumexp(v[0], {0, 2}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return logsumexp(v[0], -1, true); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return logsumexp(v[0], 1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return amax(v[0], {1, 2}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return amin(v[0], 0, true); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0], 1); }, {x});
  const Tensor z = leaf({1.5, 0, 2, -0.5, 0.8, 3}, {2, 3});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0]); }, {z});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0], 1, true); }, {z});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0], 0); }, {z});
  // Second derivatives with one zero and with two (whose pair's entry is the product of the others).
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return prod(v[0]); }, {z});
  const Tensor two = leaf({1.5, 0, 2, 0, 0.8, 3}, {2, 3});
  expect_gradcheck([](const std::vector<Tensor>& v) { return prod(v[0]); }, {two});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return prod(v[0]); }, {two});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return prod(v[0], 1); }, {two});
}

TEST(SortScan, Float64SumWithAnInfinityInALaterChunk) {
  // More than one chunk of the single-output sum: the chunks' merge keeps the infinity (not inf − inf).
  std::vector<double> v(100000, 0.25);
  v[70000] = INFINITY;
  EXPECT_EQ(sum(tensor(v, kFloat64)).item<double>(), INFINITY);
  v[90000] = -INFINITY;
  EXPECT_TRUE(std::isnan(sum(tensor(v, kFloat64)).item<double>()));
  v[70000] = v[90000] = 0.25;
  EXPECT_EQ(sum(tensor(v, kFloat64)).item<double>(), 25000.0);
  v[99999] = 1e308;
  v[99998] = 1e308;
  EXPECT_EQ(sum(tensor(v, kFloat64)).item<double>(), INFINITY);  // an overflow, as PyTorch
}

TEST(SortScanGradcheck, Lerp) {
  const Tensor s = uniform_leaf({3, 4}, -1.0, 1.0, 3), e = uniform_leaf({4}, -1.0, 1.0, 4);
  const Tensor w = uniform_leaf({3, 1}, -1.0, 2.0, 5);
  expect_gradcheck([](const std::vector<Tensor>& v) { return lerp(v[0], v[1], v[2]); }, {s, e, w});
  expect_gradcheck([](const std::vector<Tensor>& v) { return lerp(v[0], v[1], 0.3); }, {s, e});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].lerp(v[1], 0.8); }, {s, e});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return lerp(v[0], v[1], v[2]); }, {s, e, w});
}

// --- thread count ---------------------------------------------------------------------------------------

TEST(SortScan, ResultsAreBitwiseIdenticalForOneAndTwoThreads) {
  voxgrad::testing::RestoreTwoThreads restore;
  manual_seed(11);
  // Clamped: many ties at -1 and 1, whose order must not depend on the threads.
  const Tensor x = (randn({300, 400}, kFloat32) * 4.0).clamp(-1.0, 1.0).requires_grad_(true);
  const auto run = [&] {
    std::vector<Tensor> r;
    for (std::int64_t d : {0, 1}) {
      const auto [v, i] = sort(x, d, d == 1);
      const auto [tv, ti] = topk(x, 7, d);
      r.insert(r.end(), {v, i, tv, ti, cumsum(x, d), cumprod(x * 0.01 + 1.0, d), logsumexp(x, d), amax(x, d),
                         prod(x * 0.01 + 1.0, d), lerp(x, x.t().t() * 2.0, 0.6)});
      const Tensor loss = (v * v).sum() + tv.sum() + logsumexp(x, d).sum();
      r.push_back(autograd::grad({loss}, {x})[0]);
    }
    return r;
  };
  set_num_threads(1);
  const std::vector<Tensor> one = run();
  set_num_threads(2);
  const std::vector<Tensor> two = run();
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t k = 0; k < one.size(); ++k) expect_bitwise_equal(one[k], two[k], "result " + std::to_string(k));
}

// --- errors ---------------------------------------------------------------------------------------------

TEST(SortScanErrors, MessagesNameTheOpTheArgumentAndTheValues) {
  const Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_ERROR_CONTAINS(
      topk(x, 4), "topk: selected index k out of range (k = 4, but dim 1 of the input (shape [2, 3]) has size 3)");
  EXPECT_ERROR_CONTAINS(topk(x, -1, 0), "topk: selected index k out of range (k = -1, but dim 0");
  EXPECT_ERROR_CONTAINS(topk(zeros({}, kFloat64), 2), "topk: selected index k out of range (k = 2");
  EXPECT_ERROR_CONTAINS(sort(x, 2), "sort: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_CONTAINS(cumsum(x, -3),
                        "cumsum: dimension out of range (expected to be in range of [-2, 1], but got -3)");
  EXPECT_ERROR_CONTAINS(cumprod(x, 5), "cumprod: dimension out of range");
  EXPECT_ERROR_CONTAINS(logsumexp(x, {0, 0}), "logsumexp: dim 0 appears multiple times in the list of dims");
  EXPECT_ERROR_CONTAINS(prod(x, 2), "prod: dimension out of range");
  EXPECT_ERROR_CONTAINS(amax(zeros({0, 3}, kFloat64), 0),
                        "amax: expected reduction dim 0 to have non-zero size (input shape [0, 3])");
  EXPECT_ERROR_CONTAINS(amin(zeros({2, 0}, kFloat64)), "amin: expected reduction dim 1 to have non-zero size");
  EXPECT_ERROR_CONTAINS(lerp(x, zeros({2, 3}, kFloat32), 0.5),
                        "lerp: expected dtype float64 for `end` but got dtype float32");
  EXPECT_ERROR_CONTAINS(lerp(x, x, zeros({3}, kFloat32)),
                        "lerp: expected dtype float64 for `weight` but got dtype float32");
  EXPECT_ERROR_CONTAINS(lerp(x, zeros({4}, kFloat64), 0.5), "lerp");
  EXPECT_ERROR_CONTAINS(lerp(x, x, zeros({4}, kFloat64)), "lerp");
  EXPECT_ERROR_CONTAINS(sort(Tensor()), "sort");
  EXPECT_ERROR_CONTAINS(cumsum(zeros({2}, kInt64), 0), "cumsum: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_CONTAINS(sort(zeros({2}, kInt64)), "sort: expected a float32 or float64 input");
}

}  // namespace
