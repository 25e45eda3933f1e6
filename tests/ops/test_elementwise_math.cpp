// ops/elementwise_math.h: log1p, expm1, log2, log10, exp2, square, reciprocal, rsqrt,
// floor/ceil/round (also to decimals)/trunc, maximum/minimum, xlogy, clamp with tensor bounds, the NaN/infinity
// masks and the logical ops; any/all (ops/reduction.h) and movedim (ops/shape_ops.h).
// - values: bit for bit against the C++ library's function applied element by element (float32 on
//   floats), over special values (±0, ±inf, NaN, halves, tiny and huge values), on contiguous and
//   viewed operands;
// - gradients: gradcheck and gradgradcheck in float64, and PyTorch 1.13's gradients at the special
//   points (ties, NaN, ±0, infinities), taken from torch by hand and written below;
// - errors: the op, the argument and the values in the message.
// Views of every argument, with gradients: tests/ops/test_views.cpp.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_reference.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;
using vt::kInf;
using vt::kNaN;

const std::vector<double> kSpecial = {0.0,    -0.0, 0.5,   -0.5,   1.5,   -1.5,   2.5,  -2.5,   1e-10,  -1e-10,
                                      1e-300, -0.3, 0.999, -0.999, 3.0,   -7.25,  1e30, -1e30,  1e300,  kInf,
                                      -kInf,  kNaN, -1.0,  100.5,  1e-40, -1e-40, 88.7, -103.0, 4.5e15, 1.0 / 3};

using UnaryOp = std::function<Tensor(const Tensor&)>;

// got holds exactly `want` (as float64 values, ±0 told apart; any NaN for a NaN), in got's dtype.
void expect_bits(const Tensor& got, const std::vector<double>& want) {
  ASSERT_EQ(got.numel(), static_cast<std::int64_t>(want.size()));
  EXPECT_TRUE(vt::same_bits_any_nan(got, vt::f64(want).reshape(got.sizes()).to(got.dtype())));
}

struct UnaryCase {
  std::string name;
  UnaryOp op;
  double (*f64)(double);
  float (*f32)(float);
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"log1p", [](const Tensor& t) { return log1p(t); }, [](double v) { return std::log1p(v); },
       [](float v) { return std::log1p(v); }},
      {"expm1", [](const Tensor& t) { return expm1(t); }, [](double v) { return std::expm1(v); },
       [](float v) { return std::expm1(v); }},
      {"log2", [](const Tensor& t) { return log2(t); }, [](double v) { return std::log2(v); },
       [](float v) { return std::log2(v); }},
      {"log10", [](const Tensor& t) { return log10(t); }, [](double v) { return std::log10(v); },
       [](float v) { return std::log10(v); }},
      {"exp2", [](const Tensor& t) { return exp2(t); }, [](double v) { return std::exp2(v); },
       [](float v) { return std::exp2(v); }},
      {"square", [](const Tensor& t) { return square(t); }, [](double v) { return v * v; },
       [](float v) { return v * v; }},
      {"reciprocal", [](const Tensor& t) { return reciprocal(t); }, [](double v) { return 1.0 / v; },
       [](float v) { return 1.0F / v; }},
      {"rsqrt", [](const Tensor& t) { return rsqrt(t); }, [](double v) { return 1.0 / std::sqrt(v); },
       [](float v) { return 1.0F / std::sqrt(v); }},
      {"floor", [](const Tensor& t) { return floor(t); }, [](double v) { return std::floor(v); },
       [](float v) { return std::floor(v); }},
      {"ceil", [](const Tensor& t) { return ceil(t); }, [](double v) { return std::ceil(v); },
       [](float v) { return std::ceil(v); }},
      {"round", [](const Tensor& t) { return round(t); }, [](double v) { return std::nearbyint(v); },
       [](float v) { return std::nearbyint(v); }},
      {"trunc", [](const Tensor& t) { return trunc(t); }, [](double v) { return std::trunc(v); },
       [](float v) { return std::trunc(v); }},
      // To decimals: the scale 10^|d| in the tensor's dtype, as torch's loop.
      {"round", [](const Tensor& t) { return round(t, 2); }, [](double v) { return std::nearbyint(v * 100.0) / 100.0; },
       [](float v) { return std::nearbyint(v * 100.0F) / 100.0F; }},
      {"round", [](const Tensor& t) { return t.round(-1); }, [](double v) { return std::nearbyint(v / 10.0) * 10.0; },
       [](float v) { return std::nearbyint(v / 10.0F) * 10.0F; }},
  };
}

TEST(ElementwiseMath, UnaryOpsMatchTheLibraryFunctionBitForBit) {
  manual_seed(11);
  // kSpecial, then random values over 9 decades.
  const Tensor base = vt::special_then_random(kSpecial, 40, 37, 9);
  for (const UnaryCase& c : unary_cases()) {
    for (DType dt : {kFloat32, kFloat64}) {
      SCOPED_TRACE(c.name + (dt == kFloat32 ? " float32" : " float64"));
      vt::expect_matches_elementwise(c.op, c.f64, c.f32, base.to(dt));
    }
  }
  // Tensor's methods are the same functions.
  const Tensor x = base.to(kFloat32);
  EXPECT_TRUE(vt::bit_identical(x.log1p(), log1p(x)));
  EXPECT_TRUE(vt::bit_identical(x.expm1(), expm1(x)));
  EXPECT_TRUE(vt::same_bits_any_nan(x.reciprocal(), reciprocal(x)));
  EXPECT_TRUE(vt::same_bits_any_nan(x.rsqrt(), rsqrt(x)));
  EXPECT_TRUE(vt::bit_identical(x.floor(), floor(x)));
  EXPECT_TRUE(vt::bit_identical(x.ceil(), ceil(x)));
  EXPECT_TRUE(vt::bit_identical(x.round(), round(x)));
  EXPECT_TRUE(vt::bit_identical(x.trunc(), trunc(x)));
  EXPECT_TRUE(vt::same_bits_any_nan(x.log2(), log2(x)));
  EXPECT_TRUE(vt::same_bits_any_nan(x.log10(), log10(x)));
  EXPECT_TRUE(vt::bit_identical(x.exp2(), exp2(x)));
  EXPECT_TRUE(vt::bit_identical(x.square(), square(x)));
  EXPECT_TRUE(vt::bit_identical(x.round(3), round(x, 3)));
}

TEST(ElementwiseMath, KnownValues) {
  // Exact near 0 where log(1 + x) and exp(x) − 1 are not.
  EXPECT_EQ(log1p(vt::f64({1e-20})).item<double>(), 1e-20);
  EXPECT_EQ(expm1(vt::f64({1e-20})).item<double>(), 1e-20);
  expect_bits(round(vt::f64({0.5, 1.5, 2.5, -0.5, -2.5, 3.5000001})), {0.0, 2.0, 2.0, -0.0, -2.0, 4.0});
  EXPECT_TRUE(std::signbit(round(vt::f64({-0.4})).item<double>()));
  EXPECT_TRUE(std::signbit(ceil(vt::f64({-0.5})).item<double>()));
  EXPECT_TRUE(std::signbit(trunc(vt::f64({-0.9})).item<double>()));
  expect_bits(floor(vt::f64({-1.5, 1.5, -0.0})), {-2.0, 1.0, -0.0});
  expect_bits(reciprocal(vt::f64({0.0, -0.0, kInf, -4.0})), {kInf, -kInf, 0.0, -0.25});
  EXPECT_TRUE(std::isnan(rsqrt(vt::f64({-1.0})).item<double>()));
  EXPECT_EQ(rsqrt(vt::f64({0.25})).item<double>(), 2.0);
  expect_bits(log2(vt::f64({1024.0, 0.5, 0.0, 1.0})), {10.0, -1.0, -kInf, 0.0});
  expect_bits(log10(vt::f64({1000.0, 1.0, kInf})), {3.0, 0.0, kInf});
  expect_bits(exp2(vt::f64({10.0, -1.0, -kInf, 1024.0})), {1024.0, 0.5, 0.0, kInf});
  expect_bits(square(vt::f64({-3.0, -0.0, 1e200})), {9.0, 0.0, kInf});
  // torch.round(x, decimals): 2.675 · 100 rounds up to 267.5, which then rounds to even, 268 (Python's
  // round(2.675, 2), exact in decimal, gives 2.67); 0.125 · 100 = 12.5 rounds to even as well.
  expect_bits(round(vt::f64({2.675, 0.125, 0.135, -0.001, 1234.5678}), 2), {2.68, 0.12, 0.14, -0.0, 1234.57});
  expect_bits(round(vt::f64({15.0, 25.0, -35.0, 4.9}), -1), {20.0, 20.0, -40.0, 0.0});
  expect_bits(round(vt::f64({1.5, 2.5}), 0), {2.0, 2.0});
  // 10^400 is inf: x · inf / inf is NaN, as torch's.
  EXPECT_TRUE(std::isnan(round(vt::f64({1.0}), 400).item<double>()));
}

// PyTorch 1.13's gradients at the special points (torch.ones_like as the upstream gradient).
TEST(ElementwiseMath, GradientsAtSpecialPointsAreTorchs) {
  const auto grad_of = [](const UnaryOp& op, const std::vector<double>& v) {
    Tensor x = vt::leaf(v);
    op(x).sum().backward();
    return x.grad();
  };
  expect_bits(grad_of([](const Tensor& t) { return reciprocal(t); }, {0.0, -0.0, kInf, -1.0}),
              {-kInf, -kInf, -0.0, -1.0});
  expect_bits(grad_of([](const Tensor& t) { return rsqrt(t); }, {0.0, 4.0, kInf}), {-kInf, -0.0625, -0.0});
  EXPECT_TRUE(std::isnan(grad_of([](const Tensor& t) { return rsqrt(t); }, {-1.0}).item<double>()));
  expect_bits(grad_of([](const Tensor& t) { return log1p(t); }, {-1.0, 0.0, kInf, -2.0}), {kInf, 1.0, 0.0, -1.0});
  // From the result: expm1(1) + 1 (libm's expm1 at run time, not the compiler's at compile time).
  const double e = expm1(vt::f64({1.0})).item<double>() + 1.0;
  expect_bits(grad_of([](const Tensor& t) { return expm1(t); }, {0.0, -kInf, 1.0}), {1.0, 0.0, e});
  for (const UnaryCase& c : unary_cases()) {
    if (c.name == "floor" || c.name == "ceil" || c.name == "round" || c.name == "trunc") {
      SCOPED_TRACE(c.name);
      expect_bits(grad_of(c.op, {1.5, -0.5, kInf, kNaN}), {0.0, 0.0, 0.0, 0.0});
    }
  }
  // torch 1.13: log2'(0) = inf, log10'(−0) = −inf, exp2'(−inf) = 0, square'(−0) = −0.
  expect_bits(grad_of([](const Tensor& t) { return log2(t); }, {0.0, 2.0}), {kInf, 0.5 / 0.6931471805599453});
  expect_bits(grad_of([](const Tensor& t) { return log10(t); }, {-0.0, 10.0}),
              {-kInf, 1.0 / (10.0 * 2.3025850929940456)});
  expect_bits(grad_of([](const Tensor& t) { return exp2(t); }, {-kInf, 1.0}), {0.0, 2.0 * 0.6931471805599453});
  expect_bits(grad_of([](const Tensor& t) { return square(t); }, {-0.0, 3.0}), {-0.0, 6.0});
}

TEST(ElementwiseMath, SmoothOpsPassGradcheckAndGradgradcheck) {
  const std::vector<std::pair<std::string, UnaryOp>> ops = {
      {"log1p", [](const Tensor& t) { return log1p(t); }},
      {"expm1", [](const Tensor& t) { return expm1(t); }},
      {"reciprocal", [](const Tensor& t) { return reciprocal(t); }},
      {"rsqrt", [](const Tensor& t) { return rsqrt(t); }},
      {"log2", [](const Tensor& t) { return log2(t); }},
      {"log10", [](const Tensor& t) { return t.log10(); }},
      {"exp2", [](const Tensor& t) { return exp2(t); }},
      {"square", [](const Tensor& t) { return t.square(); }},
      {"methods",
       [](const Tensor& t) { return t.log1p() * t.expm1() + t.sin() * t.cos() - t.reciprocal() * t.rsqrt(); }},
  };
  for (const auto& [name, op] : ops) {
    SCOPED_TRACE(name);
    const Tensor x = vt::uniform_leaf({3, 4}, 0.2, 3.0, 31);
    const auto& f = op;
    vt::expect_gradcheck([&](const std::vector<Tensor>& in) { return f(in[0]); }, {x});
    vt::expect_gradgradcheck([&](const std::vector<Tensor>& in) { return f(in[0]); }, {x});
  }
  // The roundings away from their jumps: a zero gradient, also numerically.
  const Tensor x = vt::leaf({0.3, 1.7, -2.6, 4.2});
  for (const UnaryCase& c : unary_cases()) {
    if (c.name == "floor" || c.name == "ceil" || c.name == "round" || c.name == "trunc") {
      SCOPED_TRACE(c.name);
      const UnaryOp op = c.op;
      vt::expect_gradcheck([&](const std::vector<Tensor>& in) { return op(in[0]) * in[0]; }, {x});
    }
  }
}

// ---- maximum / minimum --------------------------------------------------------------------------

// IEEE 754-2019 maximum/minimum on one pair: a NaN operand as is, +0 above −0.
double ieee_max(double p, double q, bool is_max) {
  if (std::isnan(p)) return p;
  if (std::isnan(q)) return q;
  if (p == q) return std::signbit(p) == is_max ? q : p;
  return (is_max ? p > q : p < q) ? p : q;
}

TEST(ElementwiseMath, MaximumMinimumValuesBroadcastAndViews) {
  // Every pair of special values, both ways round.
  std::vector<double> a, b;
  for (double p : kSpecial) {
    for (double q : kSpecial) {
      a.push_back(p);
      b.push_back(q);
    }
  }
  for (bool is_max : {true, false}) {
    for (DType dt : {kFloat32, kFloat64}) {
      SCOPED_TRACE(std::string(is_max ? "maximum " : "minimum ") + (dt == kFloat32 ? "float32" : "float64"));
      const Tensor ta = vt::f64(a).to(dt), tb = vt::f64(b).to(dt);
      const Tensor got = is_max ? maximum(ta, tb) : minimum(ta, tb);
      Tensor want = empty(ta.sizes(), kFloat64);
      const Tensor a64 = ta.to(kFloat64), b64 = tb.to(kFloat64);
      for (std::int64_t i = 0; i < ta.numel(); ++i) {
        want.data_ptr<double>()[i] = ieee_max(a64.data_ptr<double>()[i], b64.data_ptr<double>()[i], is_max);
      }
      EXPECT_TRUE(vt::bit_identical(got, want.to(dt)));
      EXPECT_TRUE(vt::bit_identical(is_max ? ta.maximum(tb) : ta.minimum(tb), got));
    }
  }
  // ±0 either way round: +0 for maximum, −0 for minimum.
  EXPECT_FALSE(std::signbit(maximum(vt::f64({0.0}), vt::f64({-0.0})).item<double>()));
  EXPECT_FALSE(std::signbit(maximum(vt::f64({-0.0}), vt::f64({0.0})).item<double>()));
  EXPECT_TRUE(std::signbit(minimum(vt::f64({0.0}), vt::f64({-0.0})).item<double>()));
  EXPECT_TRUE(std::signbit(minimum(vt::f64({-0.0}), vt::f64({0.0})).item<double>()));

  // Broadcasting and views against the same op on contiguous broadcast copies.
  manual_seed(5);
  const Tensor row = randn({8}, kFloat64), col = randn({5, 1}, kFloat64);
  // [6, 5, 8] permuted from a [8, 6, 5] layout, strided at an offset, and contiguous.
  const std::vector<Tensor> views = {randn({8, 6, 5}, kFloat64).permute({1, 2, 0}),
                                     randn({7, 5, 17}, kFloat64).slice(0, 1).slice(2, 1, 17, 2),
                                     randn({6, 5, 8}, kFloat64)};
  for (const Tensor& v : views) {
    ASSERT_EQ(v.sizes(), (Shape{6, 5, 8}));
    EXPECT_TRUE(vt::bit_identical(maximum(v, row), maximum(v.contiguous(), row.expand({6, 5, 8}).contiguous())));
    EXPECT_TRUE(vt::bit_identical(minimum(col, v), minimum(col.expand({6, 5, 8}).contiguous(), v.contiguous())));
  }
  // Promotion: a float64 0-d operand does not promote a float32 tensor; float64 tensors do.
  EXPECT_EQ(maximum(ones({3}), scalar_tensor(2.0, kFloat64)).dtype(), kFloat32);
  EXPECT_EQ(minimum(ones({3}), ones({3}, kFloat64)).dtype(), kFloat64);
}

// ---- xlogy --------------------------------------------------------------------------------------------

TEST(ElementwiseMath, XlogyValuesAndGradientsAreTorchs) {
  // torch 1.13: 0 wherever a = 0 (b = 0, inf or negative too) unless b is NaN; a·log b elsewhere.
  for (DType dt : {kFloat64, kFloat32}) {
    SCOPED_TRACE(dt == kFloat32 ? "float32" : "float64");
    const Tensor a = tensor({0.0, 0.0, 0.0, 0.0, 2.0, -3.0, kNaN, 1.0, 2.0}, dt);
    const Tensor b = tensor({0.0, kInf, -1.0, kNaN, 0.5, 0.0, 1.0, -1.0, kInf}, dt);
    const Tensor got = xlogy(a, b);
    EXPECT_EQ(got.dtype(), dt);
    const std::vector<double> v = vt::values(got);
    EXPECT_EQ(v[0], 0.0);
    EXPECT_EQ(v[1], 0.0);
    EXPECT_EQ(v[2], 0.0);
    EXPECT_TRUE(std::isnan(v[3]));
    EXPECT_EQ(v[4], dt == kFloat32 ? static_cast<double>(2.0f * std::log(0.5f)) : 2.0 * std::log(0.5));
    EXPECT_EQ(v[5], kInf);
    EXPECT_TRUE(std::isnan(v[6]));
    EXPECT_TRUE(std::isnan(v[7]));
    EXPECT_EQ(v[8], kInf);
  }
  // Gradients, torch 1.13's for a = [0, 2, 0, 0, 2], b = [0, 4, 3, −1, 0]: a gets xlogy(grad, b), 0 where
  // a = 0 and b ≤ 0; b gets grad · a / b (NaN at a = b = 0).
  Tensor a = vt::leaf({0.0, 2.0, 0.0, 0.0, 2.0}), b = vt::leaf({0.0, 4.0, 3.0, -1.0, 0.0});
  xlogy(a, b).sum().backward();
  const std::vector<double> ga = vt::values(a.grad()), gb = vt::values(b.grad());
  EXPECT_EQ(ga[0], 0.0);
  EXPECT_EQ(ga[1], std::log(4.0));
  EXPECT_EQ(ga[2], std::log(3.0));
  EXPECT_EQ(ga[3], 0.0);
  EXPECT_EQ(ga[4], -kInf);
  EXPECT_TRUE(std::isnan(gb[0]));
  EXPECT_EQ(gb[1], 0.5);
  EXPECT_EQ(gb[2], 0.0);
  EXPECT_EQ(gb[3], 0.0);
  EXPECT_EQ(gb[4], kInf);
  // A zero incoming gradient gives a zero gradient, also where b = 0 (xlogy(0, 0) = 0).
  Tensor a0 = vt::leaf({2.0}), b0 = vt::leaf({0.0});
  (xlogy(a0, b0) * 0.0).sum().backward();
  EXPECT_EQ(a0.grad().item<double>(), 0.0);
  // Broadcast, gradcheck and gradgradcheck away from 0.
  const Tensor x = vt::uniform_leaf({3, 4}, -1.0, 1.0, 43), y = vt::uniform_leaf({4}, 0.2, 2.0, 44);
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return xlogy(in[0], in[1]); }, {x, y});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return xlogy(in[0], in[1]); }, {x, y});
  // Views against contiguous copies, and mixed dtypes promoted.
  manual_seed(6);
  const Tensor p = randn({8, 6, 5}, kFloat64).permute({1, 2, 0}), q = rand({8}, kFloat64) + 0.1;
  EXPECT_TRUE(vt::bit_identical(xlogy(p, q), xlogy(p.contiguous(), q.expand({6, 5, 8}).contiguous())));
  EXPECT_EQ(xlogy(ones({2}), ones({2}, kFloat64)).dtype(), kFloat64);
  EXPECT_ERROR_EQ(xlogy(ones({2}), ones({3})), "xlogy: shapes [2] and [3] cannot be broadcast");
  EXPECT_EQ(xlogy(ones({2}, kInt64), ones({2})).dtype(), kFloat32);  // promoted, as torch's
  EXPECT_ERROR_CONTAINS(xlogy(ones({2}, kInt64), ones({2}, kInt64)), "xlogy");
}

TEST(ElementwiseMath, MaximumMinimumGradientsAreTorchs) {
  // Torch 1.13: a = [1, 2, nan, 3, 0], b = [1, 3, 1, nan, -0]; ties split, a NaN passes to both.
  for (bool is_max : {true, false}) {
    SCOPED_TRACE(is_max ? "maximum" : "minimum");
    Tensor a = vt::leaf({1.0, 2.0, kNaN, 3.0, 0.0}), b = vt::leaf({1.0, 3.0, 1.0, kNaN, -0.0});
    (is_max ? maximum(a, b) : minimum(a, b)).sum().backward();
    expect_bits(a.grad(), {0.5, is_max ? 0.0 : 1.0, 1.0, 1.0, 0.5});
    expect_bits(b.grad(), {0.5, is_max ? 1.0 : 0.0, 1.0, 1.0, 0.5});
  }
  // Broadcast gradients sum back to each operand's shape; gradcheck and gradgradcheck away from ties.
  const Tensor x = vt::uniform_leaf({3, 4}, -1.0, 1.0, 41), y = vt::uniform_leaf({4}, -1.0, 1.0, 42);
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return maximum(in[0], in[1]); }, {x, y});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return maximum(in[0], in[1]) * in[0]; }, {x, y});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return minimum(in[1], in[0]); }, {x, y});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return minimum(in[0], in[1]) * in[1]; }, {x, y});
  // A constant operand: the leaf's gradient alone.
  Tensor w = vt::leaf({1.0, 5.0});
  maximum(w, vt::f64({2.0, 2.0})).sum().backward();
  expect_bits(w.grad(), {0.0, 1.0});
  // Mixed dtypes compute in float64; each gradient comes back in its operand's dtype.
  Tensor f = tensor({1.0, 4.0}, kFloat32).requires_grad_(), d = vt::leaf({2.0, 3.0});
  const Tensor mixed = minimum(f, d);
  EXPECT_EQ(mixed.dtype(), kFloat64);
  mixed.sum().backward();
  EXPECT_EQ(f.grad().dtype(), kFloat32);
  expect_bits(f.grad(), {1.0, 0.0});
  expect_bits(d.grad(), {0.0, 1.0});
}

// ---- masks --------------------------------------------------------------------------------------

TEST(ElementwiseMath, MasksOfNanAndInfinity) {
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = vt::f64({1.0, kNaN, -kNaN, kInf, -kInf, -0.0, 1e300}).to(dt).requires_grad_();
    const Tensor n = isnan(x), i = isinf(x), f = isfinite(x);
    EXPECT_EQ(n.dtype(), dt);
    EXPECT_FALSE(n.requires_grad() || i.requires_grad() || f.requires_grad());
    const std::vector<double> inf64 = {0, 0, 0, 1, 1, 0, 0}, inf32 = {0, 0, 0, 1, 1, 0, 1};  // 1e300 → inf in float32
    expect_bits(n, {0, 1, 1, 0, 0, 0, 0});
    expect_bits(i, dt == kFloat64 ? inf64 : inf32);
    expect_bits(f, {1, 0, 0, 0, 0, 1, dt == kFloat64 ? 1.0 : 0.0});
    EXPECT_TRUE(vt::bit_identical(x.isnan(), n));
    EXPECT_TRUE(vt::bit_identical(x.isinf(), i));
    EXPECT_TRUE(vt::bit_identical(x.isfinite(), f));
    // A view: the transposed and strided elements, not their neighbours.
    const Tensor m = vt::f64({kNaN, 1.0, kInf, 2.0, 3.0, kNaN}, {2, 3}).to(dt);
    expect_bits(isnan(m.t()), {1, 0, 0, 0, 0, 1});
    expect_bits(isinf(m.slice(1, 0, 3, 2)), {0, 1, 0, 0});
  }
}

// ---- clamp with tensor bounds ---------------------------------------------------------------------

TEST(ElementwiseMath, ClampWithTensorBoundsIsTorchs) {
  // torch 1.13: clamp(x, lo, hi) with NaN bounds, crossed bounds (hi wins) and a NaN x.
  const Tensor x = vt::f64({1.0, kNaN, 3.0, 5.0, 0.5, 7.0, 2.0}), lo = vt::f64({2.0, 0.0, kNaN, 6.0, 1.0, 1.0, 2.0}),
               hi = vt::f64({4.0, 1.0, 4.0, 5.5, 1.0, 0.5, 2.0});
  EXPECT_TRUE(vt::same_bits_any_nan(clamp(x, lo, hi), vt::f64({2.0, kNaN, kNaN, 5.5, 1.0, 0.5, 2.0})));
  EXPECT_TRUE(vt::same_bits_any_nan(clamp(x, lo), vt::f64({2.0, kNaN, kNaN, 6.0, 1.0, 7.0, 2.0})));
  EXPECT_TRUE(vt::same_bits_any_nan(x.clamp(std::nullopt, hi), vt::f64({1.0, kNaN, 3.0, 5.0, 0.5, 0.5, 2.0})));
  // Broadcasting and views of every operand, against the double bounds element by element.
  manual_seed(61);
  const Tensor v = randn({4, 6, 5}, kFloat64).permute({1, 2, 0}).slice(0, 1);  // [5, 5, 4], permuted and offset
  const Tensor l = randn({9}, kFloat64).slice(0, 0, 8, 2) - 0.5, h = (randn({5, 1}, kFloat64) + 0.5).expand({5, 4});
  const Tensor got = clamp(v, l, h.unsqueeze(0).expand({5, 5, 4}));
  ASSERT_EQ(got.sizes(), (Shape{5, 5, 4}));
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t j = 0; j < 5; ++j) {
      for (std::int64_t k = 0; k < 4; ++k) {
        const double want = std::min(std::max(v.index({i, j, k}).item<double>(), l.index({k}).item<double>()),
                                     h.index({j, k}).item<double>());
        EXPECT_EQ(got.index({i, j, k}).item<double>(), want);
      }
    }
  }
  // float32 with a float64 0-d bound stays float32; with a float64 tensor it becomes float64.
  EXPECT_EQ(clamp(ones({3}), scalar_tensor(2.0, kFloat64)).dtype(), kFloat32);
  EXPECT_EQ(clamp(ones({3}), std::nullopt, ones({3}, kFloat64)).dtype(), kFloat64);
  // The dtype over the three at once, as torch's: a float32 bound with dims decides over a 0-d float64 input and
  // max (promoting pairwise, first with min and then with max, would end in float64).
  const Tensor one_plus = scalar_tensor(1.0 + std::ldexp(1.0, -30), kFloat64);
  const Tensor r = clamp(one_plus, ones({2}), scalar_tensor(2.0, kFloat64));
  EXPECT_EQ(r.dtype(), kFloat32);
  expect_bits(r, {1.0, 1.0});
  EXPECT_EQ(clamp(scalar_tensor(0.5), ones({2}, kFloat64), scalar_tensor(2.0)).dtype(), kFloat64);
  EXPECT_EQ(clamp(scalar_tensor(0.5), scalar_tensor(1.0, kFloat64)).dtype(), kFloat64);
}

TEST(ElementwiseMath, ClampWithTensorBoundsGradientsAreTorchs) {
  // torch 1.13 (ones as the upstream gradient): x gets it where lo ≤ x ≤ hi, lo where x < lo < hi, hi where
  // x > hi or hi < lo; at x < lo = hi nobody does.
  Tensor x = vt::leaf({1.0, 3.0, 5.0, 0.5, 7.0, 2.0, 0.0}), lo = vt::leaf({2.0, 2.0, 2.0, 1.0, 1.0, 2.0, 1.0}),
         hi = vt::leaf({4.0, 4.0, 4.0, 1.0, 0.5, 2.0, 1.0});
  clamp(x, lo, hi).sum().backward();
  expect_bits(x.grad(), {0, 1, 0, 0, 0, 1, 0});
  expect_bits(lo.grad(), {1, 0, 0, 0, 0, 0, 0});
  expect_bits(hi.grad(), {0, 0, 1, 0, 1, 0, 0});
  // Broadcast bounds: gradients summed back to their shapes; gradcheck and gradgradcheck away from the kinks.
  const Tensor a = vt::uniform_leaf({3, 4}, -1.0, 1.0, 71), b = vt::uniform_leaf({4}, -0.6, -0.1, 72),
               c = vt::uniform_leaf({3, 1}, 0.1, 0.6, 73);
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return clamp(in[0], in[1], in[2]); }, {a, b, c});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return in[0].clamp(in[1]); }, {a, b});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return clamp(in[0], std::nullopt, in[1]); }, {a, c});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return clamp(in[0], in[1], in[2]) * in[0]; }, {a, b, c});
  // A bound that is a constant: only x's gradient; mixed dtypes give each its own.
  Tensor f = tensor({0.0, 3.0}, kFloat32).requires_grad_();
  const Tensor y = clamp(f, vt::f64({1.0, 1.0}));
  EXPECT_EQ(y.dtype(), kFloat64);
  y.sum().backward();
  EXPECT_EQ(f.grad().dtype(), kFloat32);
  expect_bits(f.grad(), {0.0, 1.0});
}

// ---- logical ops, any and all -------------------------------------------------------------------

TEST(ElementwiseMath, LogicalOpsAnyAndAllAreTorchs) {
  for (DType dt : {kFloat32, kFloat64}) {
    SCOPED_TRACE(dt == kFloat32 ? "float32" : "float64");
    // NaN and −0: NaN is true (nonzero), −0 false.
    const Tensor a = vt::f64({0.0, 1.0, -0.0, kNaN, 2.0, 0.0}).to(dt).requires_grad_(),
                 b = vt::f64({1.0, 0.0, 3.0, 0.0, kInf, 0.0}).to(dt);
    expect_bits(logical_and(a, b), {0, 0, 0, 0, 1, 0});
    expect_bits(a.logical_or(b), {1, 1, 1, 1, 1, 0});
    expect_bits(logical_xor(a, b), {1, 1, 1, 1, 0, 0});
    expect_bits(a.logical_not(), {1, 0, 1, 0, 0, 1});
    EXPECT_EQ(logical_and(a, b).dtype(), dt);
    EXPECT_FALSE(logical_or(a, b).requires_grad() || logical_not(a).requires_grad() || any(a).requires_grad());
    // Broadcast and on views.
    const Tensor m = vt::f64({0.0, 1.0, 0.0, 0.0, kNaN, 0.0, 2.0, 3.0, -1.0}, {3, 3}).to(dt);
    expect_bits(logical_and(m.t(), vt::f64({1.0, 0.0, 1.0}).to(dt)), {0, 0, 1, 1, 0, 1, 0, 0, 1});
    expect_bits(any(m, 1), {1, 1, 1});
    expect_bits(all(m, 1), {0, 0, 1});
    expect_bits(m.t().all(1), {0, 1, 0});
    expect_bits(any(m.slice(0, 0, 3, 2), 0, true), {1, 1, 1});
    expect_bits(all(m.slice(1, 0, 1), -1, true), {0, 0, 1});
    EXPECT_EQ(all(m, 1, true).sizes(), (Shape{3, 1}));
    expect_bits(any(m), {1.0});
    expect_bits(m.all(), {0.0});
    EXPECT_EQ(any(m).dim(), 0);
    // No elements: any is 0, all is 1 (torch: False, True); an empty dim likewise per slice.
    expect_bits(any(zeros({0}, dt)), {0.0});
    expect_bits(all(zeros({0}, dt)), {1.0});
    expect_bits(any(zeros({2, 0}, dt), 1), {0.0, 0.0});
    expect_bits(all(zeros({2, 0}, dt), 1), {1.0, 1.0});
  }
  // Mixed dtypes: the mask in the promoted dtype.
  EXPECT_EQ(logical_or(ones({2}), ones({2}, kFloat64)).dtype(), kFloat64);
}

// ---- movedim ------------------------------------------------------------------------------------

TEST(ElementwiseMath, MovedimIsThePermuteTorchMakes) {
  const Tensor x = arange(0, 120, 1, kFloat64).reshape({2, 3, 4, 5});
  EXPECT_EQ(movedim(x, {0, 1}, {2, 3}).sizes(), (Shape{4, 5, 2, 3}));  // torch: [4, 5, 2, 3]
  EXPECT_TRUE(vt::bit_identical(movedim(x, {0, 1}, {2, 3}), x.permute({2, 3, 0, 1})));
  EXPECT_TRUE(vt::bit_identical(movedim(x, 1, -1), x.permute({0, 2, 3, 1})));
  EXPECT_TRUE(vt::bit_identical(x.movedim(-1, 0), x.permute({3, 0, 1, 2})));
  EXPECT_TRUE(vt::bit_identical(movedim(x, {3, 0}, {0, 3}), x.permute({3, 1, 2, 0})));
  EXPECT_TRUE(vt::bit_identical(movedim(x, {}, {}), x));
  EXPECT_TRUE(vt::bit_identical(movedim(x, {2, 0, 1}, {0, 1, 2}), x.permute({2, 0, 1, 3})));
  // A view of the same storage, on views too.
  const Tensor v = x.slice(3, 1, 5, 2);
  EXPECT_EQ(movedim(v, 3, 0).data_ptr<double>(), v.data_ptr<double>());
  EXPECT_TRUE(vt::bit_identical(movedim(v, 3, 0), v.permute({3, 0, 1, 2})));
  // 0-d: dim 0 or −1, as torch.
  EXPECT_TRUE(vt::bit_identical(movedim(scalar_tensor(2.0, kFloat64), 0, -1), scalar_tensor(2.0, kFloat64)));
  // The gradient is the inverse move.
  const Tensor leaf = vt::uniform_leaf({2, 3, 4}, -1.0, 1.0, 51);
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return movedim(in[0], {0, 2}, {1, 0}) * 2.0; }, {leaf});
}

TEST(ElementwiseMath, LogaddexpAndNanToNumEdgesAndGradients) {
  const Tensor a = vt::f64({kInf, -kInf, kInf, 1e308, 0.0, -100.0}),
               b = vt::f64({kInf, -kInf, -kInf, 1e308, -0.0, -101.0});
  const std::vector<double> e = vt::values(logaddexp(a, b)), e2 = vt::values(logaddexp2(a, b));
  EXPECT_EQ(e[0], kInf);  // equal infinities as they are
  EXPECT_EQ(e[1], -kInf);
  EXPECT_EQ(e[2], kInf);
  EXPECT_EQ(e[3], 1e308 + std::log1p(1.0));  // no overflow
  EXPECT_EQ(e2[4], 1.0);                     // log2(2^0 + 2^0)
  EXPECT_EQ(e[5], -100.0 + std::log1p(std::exp(-1.0)));
  const Tensor x = vt::uniform_leaf({3, 1}, -3.0, 3.0, 61), y = vt::uniform_leaf({4}, -3.0, 3.0, 62);
  for (const auto& fn : {std::function<Tensor(const std::vector<Tensor>&)>(
                             [](const std::vector<Tensor>& v) { return logaddexp(v[0], v[1]); }),
                         std::function<Tensor(const std::vector<Tensor>&)>(
                             [](const std::vector<Tensor>& v) { return logaddexp2(v[0], v[1]); })}) {
    vt::expect_gradcheck(fn, {x, y});
    vt::expect_gradgradcheck(fn, {x, y});
  }
  // nan_to_num: the defaults are the dtype's extremes; the gradient passes where the input is finite only.
  const Tensor n = vt::leaf({kNaN, kInf, -kInf, -0.0, 2.5});
  const Tensor r = nan_to_num(n);
  vt::expect_bitwise_equal(
      r, vt::f64({0.0, std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(), -0.0, 2.5}),
      "nan_to_num defaults");
  vt::expect_bitwise_equal(nan_to_num(tensor({kInf}, kFloat32)), tensor({std::numeric_limits<float>::max()}, kFloat32),
                           "float32 +inf");
  r.backward(vt::f64({1, 1, 1, 1, 1}));
  vt::expect_values(n.grad(), {5}, {0, 0, 0, 1, 1});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& v) { return nan_to_num(v[0] * v[0], 1.0); }, {x});
  EXPECT_ERROR_CONTAINS(logaddexp(tensor({1}, kInt64), tensor({1}, kInt64)), "logaddexp: expected float32 or float64");
  EXPECT_ERROR_CONTAINS(logaddexp2(tensor({1}, kInt64), tensor({1}, kInt64)),
                        "logaddexp2: expected float32 or float64");
  // int64: copied, as PyTorch's; float32: replacements rounded to the dtype (past its range to inf).
  EXPECT_TRUE(vt::bit_identical(nan_to_num(tensor({1, 2}, kInt64)), tensor({1, 2}, kInt64)));
  vt::expect_bitwise_equal(nan_to_num(tensor({kInf, kNaN}, kFloat32), 1e-50, 1e300), tensor({kInf, 0.0}, kFloat32),
                           "float32 replacements");
  // log1p keeps the small term that PyTorch 1.13's log(1 + exp(−40)) rounds away.
  EXPECT_EQ(vt::values(logaddexp(vt::f64({0.0}), vt::f64({-40.0})))[0], std::log1p(std::exp(-40.0)));
  EXPECT_GT(vt::values(logaddexp2(vt::f64({0.0}), vt::f64({-60.0})))[0], 0.0);
}

TEST(ElementwiseMath, ErrorsNameTheOpAndTheValues) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_EQ(movedim(x, {0}, {1, 0}),
                  "movedim: source [0] and destination [1, 0] must name the same number of dims");
  EXPECT_ERROR_EQ(movedim(x, {0, 0}, {1, 0}), "movedim: repeated dim 0 in source [0, 0]");
  EXPECT_ERROR_EQ(movedim(x, {0, 1}, {1, -1}), "movedim: repeated dim 1 in destination [1, -1]");
  EXPECT_ERROR_EQ(movedim(x, 0, 5),
                  "movedim: destination dim out of range (expected to be in range of [-2, 1], but got 5)");
  EXPECT_ERROR_EQ(movedim(x, {1, -3}, {0, 1}),
                  "movedim: source dim out of range (expected to be in range of [-2, 1], but got -3)");
  EXPECT_ERROR_EQ(movedim(scalar_tensor(1.0), 1, 0),
                  "movedim: source dim out of range (expected to be in range of [-1, 0], but got 1)");
  EXPECT_ERROR_CONTAINS(movedim(Tensor(), 0, 0), "movedim: argument 'self' is an undefined tensor");
  const Tensor ints = zeros({2}, kInt64);
  for (const UnaryCase& c : unary_cases()) {
    EXPECT_ERROR_EQ(c.op(ints), c.name + ": expected a float32 or float64 tensor, but got int64");
    EXPECT_ERROR_EQ(c.op(Tensor()), c.name + ": argument 'self' is an undefined tensor");
  }
  EXPECT_ERROR_EQ(isnan(ints), "isnan: expected a float32 or float64 tensor, but got int64");
  EXPECT_ERROR_EQ(isfinite(Tensor()), "isfinite: argument 'self' is an undefined tensor");
  EXPECT_ERROR_EQ(maximum(ints, ints), "maximum: expected float32 or float64 operands, but got int64 and int64");
  EXPECT_ERROR_EQ(minimum(x, Tensor()), "minimum: argument 'other' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(maximum(x, zeros({4})), "maximum");
  EXPECT_ERROR_CONTAINS(maximum(x, zeros({4})), "[2, 3]");
  EXPECT_ERROR_EQ(clamp(x, std::optional<Tensor>(), std::nullopt),
                  "clamp: at least one of 'min' or 'max' must not be None");
  EXPECT_ERROR_EQ(clamp(x, Tensor()), "clamp: argument 'min' is an undefined tensor");
  EXPECT_ERROR_EQ(clamp(x, x, Tensor()), "clamp: argument 'max' is an undefined tensor");
  EXPECT_ERROR_EQ(clamp(x, std::nullopt, ints), "clamp: expected a float32 or float64 max, but got int64");
  EXPECT_ERROR_EQ(clamp(Tensor(), x), "clamp: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(clamp(x, zeros({4})), "[2, 3]");
  EXPECT_ERROR_EQ(clamp(ints, ints), "clamp: expected a float32 or float64 tensor, but got int64");
  EXPECT_ERROR_EQ(logical_and(ints, ints),
                  "logical_and: expected float32 or float64 operands, but got int64 and int64");
  EXPECT_ERROR_EQ(logical_xor(Tensor(), x), "logical_xor: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(logical_or(x, zeros({4})), "logical_or");
  EXPECT_ERROR_EQ(logical_not(ints), "logical_not: expected a float32 or float64 tensor, but got int64");
  EXPECT_ERROR_EQ(any(ints), "any: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(all(x, 2), "all: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_EQ(any(Tensor()), "any: argument 'self' is an undefined tensor");
}

}  // namespace
