// Elementwise ops: values against hand-computed results, NumPy broadcasting, strided inputs, the
// parallel path, dtype promotion, error messages, and float64 gradchecks for every differentiable op.

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using voxgrad::testing::expect_close;
using voxgrad::testing::expect_values;
using voxgrad::testing::raw;
using voxgrad::testing::values;

using voxgrad::testing::expect_gradcheck;
using voxgrad::testing::expect_gradgradcheck;
using voxgrad::testing::f64;
using voxgrad::testing::kInf;
using voxgrad::testing::kNaN;
using voxgrad::testing::leaf;
using voxgrad::testing::uniform_leaf;
using Fn = autograd::SingleOutputFn;

// --- values in float32 and float64 -----------------------------------------------------------------

class ElementwiseValues : public ::testing::TestWithParam<DType> {
 protected:
  DType dt() const { return GetParam(); }
  Tensor make(const std::vector<double>& v, const Shape& sizes) const { return tensor(v, dt()).reshape(sizes); }
  Tensor make(const std::vector<double>& v) const { return tensor(v, dt()); }
  /// Same dtype as the parameter, the given shape, and values within float rounding of `expected`.
  void check(const Tensor& t, const Shape& sizes, const std::vector<double>& expected) const {
    EXPECT_EQ(t.dtype(), dt());
    ASSERT_EQ(t.sizes(), sizes);
    const std::vector<double> v = values(t);
    ASSERT_EQ(v.size(), expected.size());
    const double rtol = dt() == kFloat32 ? 1e-6 : 4e-15;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (std::isnan(expected[i])) {
        EXPECT_TRUE(std::isnan(v[i])) << "at flat index " << i << ": " << v[i];
      } else if (std::isinf(expected[i])) {
        EXPECT_EQ(v[i], expected[i]) << "at flat index " << i;
      } else {
        EXPECT_NEAR(v[i], expected[i], 1e-300 + rtol * std::abs(expected[i])) << "at flat index " << i;
      }
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Dtypes, ElementwiseValues, ::testing::Values(kFloat32, kFloat64),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(dtype_name(info.param));
                         });

TEST_P(ElementwiseValues, AddSumsTensorsElementByElement) {
  check(make({1, 2, 3, 4}, {2, 2}) + make({10, 20, 30, 40}, {2, 2}), {2, 2}, {11, 22, 33, 44});
}

TEST_P(ElementwiseValues, AddWithAlphaScalesTheSecondOperand) {
  check(add(make({1, 2}), make({10, 20}), 0.5), {2}, {6, 12});
  check(make({1, 2}).add(make({10, 20}), -2.0), {2}, {-19, -38});
}

TEST_P(ElementwiseValues, AddAcceptsAScalarOnEitherSide) {
  check(make({1, -2, 0.5}) + 2.0, {3}, {3, 0, 2.5});
  check(2.0 + make({1, -2, 0.5}), {3}, {3, 0, 2.5});
  check(add(make({1}), 0.25), {1}, {1.25});
}

TEST_P(ElementwiseValues, SubSubtractsTensorsAndScalars) {
  check(make({5, 7, 9}) - make({1, 2, 3}), {3}, {4, 5, 6});
  check(sub(make({5, 7, 9}), make({1, 2, 3}), 2.0), {3}, {3, 3, 3});
  check(make({5, 7, 9}) - 1.5, {3}, {3.5, 5.5, 7.5});
  check(10.0 - make({5, 7, 9}), {3}, {5, 3, 1});
  check(rsub(make({5, 7, 9}), 1.0), {3}, {-4, -6, -8});
}

TEST_P(ElementwiseValues, MulMultipliesTensorsAndScalars) {
  check(make({1, -2, 3}) * make({4, 5, -6}), {3}, {4, -10, -18});
  check(make({1, -2, 3}) * 0.5, {3}, {0.5, -1, 1.5});
  check(-3.0 * make({1, -2, 3}), {3}, {-3, 6, -9});
}

TEST_P(ElementwiseValues, DivDividesTensorsAndScalars) {
  check(make({1, -6, 9}) / make({4, 3, -2}), {3}, {0.25, -2, -4.5});
  check(make({1, -6, 9}) / 4.0, {3}, {0.25, -1.5, 2.25});
  check(6.0 / make({1, -3, 4}), {3}, {6, -2, 1.5});
  check(rdiv(make({2}), 1.0), {1}, {0.5});
}

TEST_P(ElementwiseValues, DivByZeroGivesSignedInfinityAndZeroByZeroGivesNaN) {
  check(make({1, -1, 0}) / make({0, 0, 0}), {3}, {kInf, -kInf, kNaN});
}

TEST_P(ElementwiseValues, NegFlipsTheSign) {
  check(neg(make({1, -2, 0.5})), {3}, {-1, 2, -0.5});
  check(-make({3}), {1}, {-3});
}

TEST_P(ElementwiseValues, PowWithExponentsTwoThreeAndOneHalf) {
  const Tensor x = make({0.5, 1, 2, 4});
  check(pow(x, 2.0), {4}, {0.25, 1, 4, 16});
  check(x.pow(3.0), {4}, {0.125, 1, 8, 64});
  check(pow(x, 0.5), {4}, {std::sqrt(0.5), 1, 1.4142135623730951, 2});
  check(pow(make({-3}), 2.0), {1}, {9});
  check(pow(make({-2}), 3.0), {1}, {-8});
}

TEST_P(ElementwiseValues, PowWithExponentsMinusOneZeroAndOnePointSeven) {
  const Tensor x = make({0.5, 1, 2, 4});
  check(pow(x, -1.0), {4}, {2, 1, 0.5, 0.25});
  check(pow(make({0.0, -2, 3}), 0.0), {3}, {1, 1, 1});  // 0 ** 0 == 1, as in PyTorch
  check(pow(x, 1.7), {4}, {0.3077861033362291, 1, 3.249009585424942, 10.556063286183154});
  check(pow(x, -0.5), {4}, {std::sqrt(2.0), 1, 1 / std::sqrt(2.0), 0.5});
  check(pow(x, -2.0), {4}, {4, 1, 0.25, 0.0625});
}

TEST_P(ElementwiseValues, PowOfNegativeBaseWithFractionalExponentIsNaN) {
  check(pow(make({-2}), 1.7), {1}, {kNaN});
  check(pow(make({-4}), 0.5), {1}, {kNaN});
}

TEST_P(ElementwiseValues, PowWithTensorExponentBroadcasts) {
  check(pow(make({2, 3, 4}), make({3, 0.5, -1})), {3}, {8, 1.7320508075688772, 0.25});
  // Column of bases against a row of exponents.
  check(make({2, 3}, {2, 1}).pow(make({0, 1, 2}, {1, 3})), {2, 3}, {1, 2, 4, 1, 3, 9});
}

TEST_P(ElementwiseValues, PowWithScalarBaseRaisesItToEachElement) {
  check(pow(2.0, make({0, 1, 3, -1, 0.5})), {5}, {1, 2, 8, 0.5, 1.4142135623730951});
  check(pow(0.5, make({2}, {1, 1})), {1, 1}, {0.25});
}

TEST_P(ElementwiseValues, ExpLogAndSqrt) {
  check(exp(make({0, 1, -1, 2})), {4}, {1, 2.718281828459045, 0.36787944117144233, 7.38905609893065});
  check(log(make({1, 2, 0.5})), {3}, {0, 0.6931471805599453, -0.6931471805599453});
  check(log(make({0, -1})), {2}, {-kInf, kNaN});
  check(sqrt(make({0, 1, 2, 9})), {4}, {0, 1, 1.4142135623730951, 3});
  check(sqrt(make({-1})), {1}, {kNaN});
}

TEST_P(ElementwiseValues, AbsAndSignIncludingZero) {
  check(abs(make({-2, 0, 3.5, -0.25})), {4}, {2, 0, 3.5, 0.25});
  check(sign(make({-2, 0, 3.5, -0.25})), {4}, {-1, 0, 1, -1});
  check(make({0}).sign(), {1}, {0});
}

TEST_P(ElementwiseValues, ClampWithMinOnlyMaxOnlyAndBoth) {
  const Tensor x = make({-3, -1, 0, 1, 3});
  check(clamp(x, -1.5), {5}, {-1.5, -1, 0, 1, 3});
  check(clamp(x, std::nullopt, 0.5), {5}, {-3, -1, 0, 0.5, 0.5});
  check(x.clamp(-1.0, 1.0), {5}, {-1, -1, 0, 1, 1});
}

TEST_P(ElementwiseValues, ClampWithMinAboveMaxGivesMax) {
  // PyTorch evaluates min(max(x, lo), hi).
  check(clamp(make({-1, 0, 5}), 2.0, 1.0), {3}, {1, 1, 1});
}

TEST_P(ElementwiseValues, ReluZeroesNegatives) { check(relu(make({-2, -0.5, 0, 0.5, 2})), {5}, {0, 0, 0, 0.5, 2}); }

TEST_P(ElementwiseValues, LeakyReluScalesNegativesBySlope) {
  check(leaky_relu(make({-2, 0, 3})), {3}, {-0.02, 0, 3});
  check(make({-2, 0, 3}).leaky_relu(0.2), {3}, {-0.4, 0, 3});
}

TEST_P(ElementwiseValues, SigmoidAndTanh) {
  check(sigmoid(make({0, 2, -1})), {3}, {0.5, 0.8807970779778823, 0.2689414213699951});
  check(tanh(make({0, 1, -0.5})), {3}, {0, 0.7615941559557649, -0.46211715726000974});
}

TEST_P(ElementwiseValues, SigmoidAndTanhSaturateWithoutNaN) {
  check(sigmoid(make({100, -1000})), {2}, {1, 0});
  check(tanh(make({100, -1000})), {2}, {1, -1});
}

TEST_P(ElementwiseValues, WhereTakesFirstBranchWhereConditionIsNonzero) {
  const Tensor cond = make({1, 0, 2, 0});
  check(where(cond, make({1, 2, 3, 4}), make({-1, -2, -3, -4})), {4}, {1, -2, 3, -4});
}

TEST_P(ElementwiseValues, WhereAcceptsAnInt64Condition) {
  const Tensor cond = tensor({0, 1, 1}, kInt64);
  check(where(cond, make({1, 2, 3}), make({7, 8, 9})), {3}, {7, 2, 3});
}

TEST_P(ElementwiseValues, ComparisonsWithATensorGiveZeroOneMasks) {
  const Tensor a = make({1, 2, 3}), b = make({2, 2, 2});
  check(eq(a, b), {3}, {0, 1, 0});
  check(ne(a, b), {3}, {1, 0, 1});
  check(lt(a, b), {3}, {1, 0, 0});
  check(le(a, b), {3}, {1, 1, 0});
  check(gt(a, b), {3}, {0, 0, 1});
  check(ge(a, b), {3}, {0, 1, 1});
  check(a.gt(make({0, 5, 1}, {3, 1})), {3, 3}, {1, 1, 1, 0, 0, 0, 0, 1, 1});
}

TEST_P(ElementwiseValues, ComparisonsWithAScalarGiveZeroOneMasks) {
  const Tensor a = make({1, 2, 3});
  check(a.eq(2.0), {3}, {0, 1, 0});
  check(a.ne(2.0), {3}, {1, 0, 1});
  check(a.lt(2.0), {3}, {1, 0, 0});
  check(a.le(2.0), {3}, {1, 1, 0});
  check(a.gt(2.0), {3}, {0, 0, 1});
  check(a.ge(2.0), {3}, {0, 1, 1});
  check(eq(a, 5.0), {3}, {0, 0, 0});
}

TEST_P(ElementwiseValues, ComparisonsWithNaNAreFalseExceptNotEqual) {
  const Tensor a = make({kNaN, 1});
  check(a.eq(a), {2}, {0, 1});
  check(a.ne(a), {2}, {1, 0});
  check(a.lt(5.0), {2}, {0, 1});
  check(a.ge(0.0), {2}, {0, 1});
}

// --- NaN ------------------------------------------------------------------------------------------

TEST(Elementwise, ReluOfNaNIsNaN) {
  for (DType d : {kFloat32, kFloat64}) {
    const std::vector<double> v = values(relu(tensor({kNaN, -1, 1}, d)));
    EXPECT_TRUE(std::isnan(v[0])) << d;
    EXPECT_EQ(v[1], 0.0);
    EXPECT_EQ(v[2], 1.0);
  }
}

TEST(Elementwise, ClampOfNaNIsNaNWithAnyBounds) {
  for (DType d : {kFloat32, kFloat64}) {
    const Tensor x = tensor({kNaN, 5}, d);
    EXPECT_TRUE(std::isnan(values(clamp(x, 0.0, 1.0))[0])) << d;
    EXPECT_TRUE(std::isnan(values(clamp(x, 0.0))[0])) << d;
    EXPECT_TRUE(std::isnan(values(clamp(x, std::nullopt, 1.0))[0])) << d;
    EXPECT_EQ(values(clamp(x, 0.0, 1.0))[1], 1.0);
  }
}

TEST(Elementwise, NaNPropagatesThroughArithmeticAndActivations) {
  const Tensor x = f64({kNaN});
  for (const Tensor& y : {x + 1.0, x * 0.0, leaky_relu(x), sigmoid(x), tanh(x), abs(x), exp(x), x.pow(2.0)}) {
    EXPECT_TRUE(std::isnan(values(y)[0]));
  }
}

// --- broadcasting ---------------------------------------------------------------------------------

TEST(Elementwise, AddBroadcastsRowAgainstMatrix) {
  const Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(a + f64({10, 20, 30}), {2, 3}, {11, 22, 33, 14, 25, 36});
  expect_values(f64({10, 20, 30}) + a, {2, 3}, {11, 22, 33, 14, 25, 36});
}

TEST(Elementwise, MulBroadcastsColumnAgainstRow) {
  expect_values(f64({1, 2}, {2, 1}) * f64({3, 4, 5}, {1, 3}), {2, 3}, {3, 4, 5, 6, 8, 10});
}

TEST(Elementwise, SubBroadcastsThreeDimsAgainstTwo) {
  // [4, 1, 3] - [2, 1] -> [4, 2, 3]: out[i, j, k] = a[i, 0, k] - b[j, 0].
  const Tensor a = arange(12, kFloat64).reshape({4, 1, 3});
  const Tensor b = f64({100, 200}, {2, 1});
  const Tensor out = a - b;
  std::vector<double> expected;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 2; ++j) {
      for (int k = 0; k < 3; ++k) expected.push_back(i * 3 + k - (j + 1) * 100.0);
    }
  }
  expect_values(out, {4, 2, 3}, expected);
  expect_values(b - a, {4, 2, 3}, [&] {
    std::vector<double> e = expected;
    for (double& v : e) v = -v;
    return e;
  }());
}

TEST(Elementwise, ZeroDimTensorBroadcastsAgainstAnything) {
  const Tensor s = scalar_tensor(2.0, kFloat64);
  expect_values(s * f64({1, 2, 3, 4, 5, 6}, {2, 3}), {2, 3}, {2, 4, 6, 8, 10, 12});
  expect_values(f64({1, 2, 3}, {3, 1, 1}) - s, {3, 1, 1}, {-1, 0, 1});
  expect_values(s + s, {}, {4});
  expect_values(s / f64({4}), {1}, {0.5});
  expect_values(pow(f64({3}, {1, 1}), s), {1, 1}, {9});
}

TEST(Elementwise, EmptyTensorBroadcastsToAnEmptyResult) {
  const Tensor out = zeros({0, 3}, kFloat64) + f64({1, 2, 3});
  EXPECT_EQ(out.sizes(), (Shape{0, 3}));
  EXPECT_EQ(exp(zeros({2, 0}, kFloat32)).sizes(), (Shape{2, 0}));
}

TEST(Elementwise, WhereBroadcastsConditionAndBothBranches) {
  // condition [2, 1], a [3], b 0-d -> [2, 3].
  const Tensor out = where(f64({1, 0}, {2, 1}), f64({1, 2, 3}), scalar_tensor(-1.0, kFloat64));
  expect_values(out, {2, 3}, {1, 2, 3, -1, -1, -1});
  // A condition wider than both branches decides the shape.
  expect_values(where(f64({0, 1, 0, 1}, {2, 2}), f64({5}), f64({6})), {2, 2}, {6, 5, 6, 5});
}

TEST(Elementwise, ComparisonsBroadcast) {
  expect_values(f64({1, 2, 3}, {3, 1}).lt(f64({2, 3})), {3, 2}, {1, 1, 0, 1, 0, 0});
}

// --- non-contiguous inputs ------------------------------------------------------------------------

TEST(Elementwise, TransposedInputsGiveTheSameResultsAsContiguousCopies) {
  manual_seed(1);
  const Tensor a = randn({4, 5}, kFloat64).t();  // [5, 4], strides [1, 5]
  const Tensor b = randn({5, 4}, kFloat64);
  ASSERT_FALSE(a.is_contiguous());
  const Tensor ac = a.contiguous();
  expect_close(a + b, ac + b);
  expect_close(b * a, b * ac);
  expect_close(a / (b.abs() + 1.0), ac / (b.abs() + 1.0));
  expect_close(exp(a), exp(ac));
  expect_close(tanh(a), tanh(ac));
  expect_close(a.gt(b), ac.gt(b));
  expect_close(where(a.gt(0.0), a, b), where(ac.gt(0.0), ac, b));
  expect_close(a + a, ac + ac);
}

TEST(Elementwise, PermutedInputsGiveTheSameResultsAsContiguousCopies) {
  manual_seed(2);
  const Tensor a = randn({2, 3, 4}, kFloat32).permute({2, 0, 1});  // [4, 2, 3]
  const Tensor b = randn({4, 2, 3}, kFloat32).permute({1, 2, 0}).contiguous().permute({2, 0, 1});
  ASSERT_FALSE(a.is_contiguous());
  ASSERT_FALSE(b.is_contiguous());
  expect_close(a * b, a.contiguous() * b.contiguous(), 0.0);
  expect_close(sigmoid(a), sigmoid(a.contiguous()), 0.0);
  expect_close(a.clamp(-0.5, 0.5), a.contiguous().clamp(-0.5, 0.5), 0.0);
  expect_close(a - f64({1, 2, 3}), a.contiguous() - f64({1, 2, 3}), 0.0);
}

TEST(Elementwise, SlicedInputsWithStepAndOffsetGiveTheSameResultsAsContiguousCopies) {
  const Tensor base = arange(60, kFloat64).reshape({6, 10});
  const Tensor a = base.slice(0, 1, 6, 2).slice(1, 3, std::nullopt, 3);  // [3, 3], offset, strides [20, 3]
  ASSERT_FALSE(a.is_contiguous());
  expect_values(a, {3, 3}, {13, 16, 19, 33, 36, 39, 53, 56, 59});
  expect_values(a - 10.0, {3, 3}, {3, 6, 9, 23, 26, 29, 43, 46, 49});
  expect_close(a * a.t(), a.contiguous() * a.t().contiguous());
  expect_close(sqrt(a), sqrt(a.contiguous()));
  const Tensor col = base.select(1, 7);  // [6], stride 10
  expect_values(col + f64({1}), {6}, {8, 18, 28, 38, 48, 58});
  expect_close(base.narrow(1, 2, 5) / 2.0, base.narrow(1, 2, 5).contiguous() / 2.0);
}

TEST(Elementwise, ExpandedInputsGiveTheSameResultsAsContiguousCopies) {
  const Tensor row = f64({1, 2, 3});
  const Tensor e = row.expand({4, 3});  // stride 0 on dim 0
  const Tensor m = arange(12, kFloat64).reshape({4, 3});
  expect_close(e * m, e.contiguous() * m);
  expect_close(m - e, m - e.contiguous());
  expect_close(e + e.t().t(), e.contiguous() * 2.0);
  expect_close(log(e), log(e.contiguous()));
  const Tensor col = f64({1, 2}, {2, 1}).expand({2, 3});
  expect_close(col.pow(e.narrow(0, 0, 2)), col.contiguous().pow(e.narrow(0, 0, 2).contiguous()));
}

TEST(Elementwise, NonContiguousInputsToUnaryOpsKeepTheLogicalLayoutInTheResult) {
  const Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3}).t();
  const Tensor out = neg(a);
  EXPECT_TRUE(out.is_contiguous());
  expect_values(out, {3, 2}, {-1, -4, -2, -5, -3, -6});
}

// --- the parallel path ----------------------------------------------------------------------------

TEST(Elementwise, LargeFloat32BinaryOpsEqualASerialReference) {
  manual_seed(3);
  const Tensor a = randn({347, 401}, kFloat32), b = randn({347, 401}, kFloat32);  // 139147 elements
  const std::vector<float> va = raw<float>(a), vb = raw<float>(b);
  const std::vector<float> sum = raw<float>(a + b), prod = raw<float>(a * b), quot = raw<float>(a / b);
  const std::vector<float> diff = raw<float>(a - b);
  ASSERT_EQ(sum.size(), va.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < va.size(); ++i) {
    mismatches += sum[i] != va[i] + vb[i];
    mismatches += prod[i] != va[i] * vb[i];
    mismatches += quot[i] != va[i] / vb[i];
    mismatches += diff[i] != va[i] - vb[i];
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Elementwise, LargeFloat64UnaryOpsEqualASerialReference) {
  manual_seed(4);
  const Tensor a = randn({150001}, kFloat64);
  const std::vector<double> va = raw<double>(a);
  const std::vector<double> e = raw<double>(exp(a)), t = raw<double>(tanh(a)), r = raw<double>(relu(a));
  const std::vector<double> ab = raw<double>(abs(a)), sq = raw<double>(a.pow(2.0));
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < va.size(); ++i) {
    mismatches += e[i] != std::exp(va[i]);
    mismatches += t[i] != std::tanh(va[i]);
    mismatches += r[i] != (va[i] > 0 ? va[i] : 0.0);
    mismatches += ab[i] != std::abs(va[i]);
    mismatches += sq[i] != va[i] * va[i];
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Elementwise, LargeBroadcastAndTransposedInputsEqualASerialReference) {
  manual_seed(5);
  const Tensor col = randn({400, 1}, kFloat64), row = randn({1, 300}, kFloat64);
  const Tensor m = randn({300, 400}, kFloat64).t();  // [400, 300], non-contiguous
  const std::vector<double> out = raw<double>(col * row + m);
  const std::vector<double> vc = raw<double>(col), vr = raw<double>(row), vm = raw<double>(m);
  ASSERT_EQ(out.size(), 120000u);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < 400; ++i) {
    for (std::size_t j = 0; j < 300; ++j) {
      volatile double prod = vc[i] * vr[j];  // rounded on its own: no fused multiply-add
      mismatches += out[i * 300 + j] != prod + vm[i * 300 + j];
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Elementwise, LargePermutedThreeDimInputsEqualAnIndexedReference) {
  // Parallel chunks start in the middle of rows and carry across two outer dims.
  manual_seed(8);
  const Tensor base = randn({50, 60, 70}, kFloat64);
  const Tensor p = base.permute({2, 0, 1});  // [70, 50, 60], strides [1, 4200, 70]
  const Tensor q = randn({70, 1, 60}, kFloat64);
  const std::vector<double> out = raw<double>(p - q);
  const std::vector<double> vb = raw<double>(base), vq = raw<double>(q);
  ASSERT_EQ(out.size(), 210000u);
  std::size_t mismatches = 0, flat = 0;
  for (std::size_t i = 0; i < 70; ++i) {
    for (std::size_t j = 0; j < 50; ++j) {
      for (std::size_t k = 0; k < 60; ++k, ++flat) {
        mismatches += out[flat] != vb[j * 4200 + k * 70 + i] - vq[i * 60 + k];
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Elementwise, LargeWhereEqualsASerialReference) {
  manual_seed(6);
  const Tensor a = randn({300, 400}, kFloat32);
  const Tensor b = randn({400, 300}, kFloat32).t();  // transposed
  const Tensor row = randn({400}, kFloat32);
  const std::vector<float> va = raw<float>(a), vb = raw<float>(b), vr = raw<float>(row);
  std::size_t mismatches = 0;
  const std::vector<float> pick_max = raw<float>(where(a.gt(b), a, b));
  const std::vector<float> by_row = raw<float>(where(row.gt(0.0), a, b));  // condition broadcast
  for (std::size_t i = 0; i < 300; ++i) {
    for (std::size_t j = 0; j < 400; ++j) {
      const std::size_t k = i * 400 + j;
      mismatches += pick_max[k] != std::max(va[k], vb[k]);
      mismatches += by_row[k] != (vr[j] > 0 ? va[k] : vb[k]);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Elementwise, LargeResultsDoNotDependOnTheThreadCount) {
  manual_seed(7);
  const Tensor a = randn({200, 700}, kFloat32), b = randn({700}, kFloat32);
  const int saved = get_num_threads();
  set_num_threads(1);
  const std::vector<float> one = raw<float>(sigmoid(a * b) - a.t().t() / 3.0);
  set_num_threads(2);
  const std::vector<float> two = raw<float>(sigmoid(a * b) - a.t().t() / 3.0);
  set_num_threads(saved);
  EXPECT_TRUE(one == two);
}

// --- dtype promotion ------------------------------------------------------------------------------

TEST(Elementwise, Float32PlusFloat64IsFloat64) {
  const Tensor a = tensor({0.1, 2}, kFloat32), b = tensor({0.2, 3}, kFloat64);
  const Tensor out = a + b;
  EXPECT_EQ(out.dtype(), kFloat64);
  // The float32 operand is widened exactly, then added in float64.
  expect_values(out, {2}, {static_cast<double>(0.1f) + 0.2, 5}, 0.0);
  EXPECT_EQ((b * a).dtype(), kFloat64);
  EXPECT_EQ(pow(a, b).dtype(), kFloat64);
  EXPECT_EQ(where(f64({1, 0}), a, b).dtype(), kFloat64);
}

TEST(Elementwise, Int64OperandIsConvertedToTheFloatDtypeOfTheOther) {
  const Tensor out = tensor({1.5, -1}, kFloat32) + tensor({2, 3}, kInt64);
  EXPECT_EQ(out.dtype(), kFloat32);
  expect_values(out, {2}, {3.5, 2});
  EXPECT_EQ((tensor({4}, kInt64) / tensor({8}, kFloat64)).dtype(), kFloat64);
}

TEST(Elementwise, ScalarOperandsKeepTheTensorDtype) {
  EXPECT_EQ((tensor({1}, kFloat32) + 0.1).dtype(), kFloat32);
  EXPECT_EQ((2.0 * tensor({1}, kFloat32)).dtype(), kFloat32);
  EXPECT_EQ(pow(2.0, tensor({1}, kFloat32)).dtype(), kFloat32);
  EXPECT_EQ(tensor({1}, kFloat32).gt(0.5).dtype(), kFloat32);
}

TEST(Elementwise, ComparisonOfMixedDtypesGivesAFloat64Mask) {
  const Tensor m = tensor({1, 2}, kFloat32).lt(tensor({1.5, 1.5}, kFloat64));
  EXPECT_EQ(m.dtype(), kFloat64);
  expect_values(m, {2}, {1, 0});
}

TEST(Elementwise, GradientOfTheFloat32OperandIsFloat32) {
  const Tensor a = tensor({1, 2}, kFloat32).requires_grad_(true);
  const Tensor b = tensor({3, 4}, kFloat64).requires_grad_(true);
  (a * b).sum().backward();
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_EQ(b.grad().dtype(), kFloat64);
  expect_values(a.grad(), {2}, {3, 4});
  expect_values(b.grad(), {2}, {1, 2});
}

TEST(Elementwise, GradientOfBroadcastFloat32OperandIsFloat32WithItsOwnShape) {
  const Tensor a = tensor({1, 2, 3}, kFloat32).requires_grad_(true);
  const Tensor b = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  (a + b).sum().backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  expect_values(a.grad(), {3}, {2, 2, 2});
}

// --- errors ---------------------------------------------------------------------------------------

TEST(Elementwise, ShapesThatCannotBroadcastNameOpAndShapes) {
  const Tensor a = zeros({2, 3}), b = zeros({4});
  EXPECT_ERROR_CONTAINS(add(a, b), "add: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(a + b, "add: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(a * b, "mul: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(a - b, "sub: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(a / b, "div: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(pow(a, b), "pow: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(a.lt(b), "lt: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(zeros({2, 1, 3}) + zeros({4, 2}), "add: shapes [2, 1, 3] and [4, 2] cannot be broadcast");
}

TEST(Elementwise, WhereWithShapesThatCannotBroadcastIsAnError) {
  EXPECT_ERROR_CONTAINS(where(zeros({3}), zeros({2, 3}), zeros({2})),
                        "where: shapes [2, 3] and [2] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(where(zeros({4}), zeros({3}), zeros({3})), "where: shapes [4] and [3] cannot be broadcast");
}

TEST(Elementwise, Int64ArithmeticIsRefused) {
  const Tensor i = tensor({1, 2}, kInt64);
  EXPECT_ERROR_CONTAINS(i + i, "add: expected float32 or float64 operands, but got int64 and int64");
  EXPECT_ERROR_CONTAINS(i * 2.0, "mul: expected float32 or float64 operands, but got int64 and int64");
  EXPECT_ERROR_CONTAINS(i.eq(i), "eq: expected float32 or float64 operands");
  EXPECT_ERROR_CONTAINS(exp(i), "exp: expected a float32 or float64 tensor, but got int64");
  EXPECT_ERROR_CONTAINS(neg(i), "neg: expected a float32 or float64 tensor, but got int64");
  EXPECT_ERROR_CONTAINS(relu(i), "relu: expected a float32 or float64 tensor, but got int64");
}

TEST(Elementwise, ClampWithNeitherBoundIsRefused) {
  EXPECT_ERROR_CONTAINS(clamp(zeros({2}), std::optional<double>(), std::nullopt),
                        "clamp: at least one of 'min' or 'max' must not be None");
}

TEST(Elementwise, UndefinedTensorArgumentIsNamed) {
  const Tensor x = zeros({2}), u;
  EXPECT_ERROR_CONTAINS(add(u, x), "add: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(mul(x, u), "mul: argument 'other' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(exp(u), "exp: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(clamp(u, 0.0), "clamp: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(pow(u, 2.0), "pow: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(where(u, x, x), "where: argument 'condition' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(where(x, x, u), "where: argument 'other' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(gt(x, u), "gt: argument 'other' is an undefined tensor");
}

// --- autograd: comparison masks and gradient values at the kinks ------------------------------------

TEST(Elementwise, ComparisonsNeverRequireGrad) {
  const Tensor x = leaf({1, 2, 3});
  for (const Tensor& m : {x.eq(x), x.ne(2.0), x.lt(x * 2.0), x.le(1.0), x.gt(x), x.ge(0.0)}) {
    EXPECT_FALSE(m.requires_grad());
    EXPECT_EQ(m.grad_fn(), nullptr);
  }
}

TEST(Elementwise, BroadcastOperandGradientIsReducedToItsShape) {
  const Tensor a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor row = leaf({1, 2, 3});
  const Tensor col = leaf({2, 4}, {2, 1});
  (a * row + col).sum().backward();
  expect_values(row.grad(), {3}, {5, 7, 9});
  expect_values(col.grad(), {2, 1}, {3, 3});
  expect_values(a.grad(), {2, 3}, {1, 2, 3, 1, 2, 3});
  const Tensor zero_d = scalar_tensor(3.0, kFloat64).requires_grad_(true);
  (zero_d * a.detach()).sum().backward();
  EXPECT_EQ(zero_d.grad().sizes(), Shape{});
  expect_values(zero_d.grad(), {}, {21});
}

TEST(Elementwise, GradientsAtTheKinksFollowPyTorch) {
  const Tensor x = leaf({-1, 0, 1});
  abs(x).sum().backward();
  expect_values(x.grad(), {3}, {-1, 0, 1});  // abs'(0) = 0
  x.set_grad(Tensor());
  relu(x).sum().backward();
  expect_values(x.grad(), {3}, {0, 0, 1});  // relu'(0) = 0
  x.set_grad(Tensor());
  leaky_relu(x, 0.1).sum().backward();
  expect_values(x.grad(), {3}, {0.1, 0.1, 1});  // the negative slope at 0
  x.set_grad(Tensor());
  clamp(x, -1.0, 0.0).sum().backward();
  expect_values(x.grad(), {3}, {1, 1, 0});  // gradient passes at the bounds themselves
  x.set_grad(Tensor());
  sign(x).sum().backward();
  expect_values(x.grad(), {3}, {0, 0, 0});
}

TEST(Elementwise, ReluAndClampGradientsSelectRatherThanMultiply) {
  // Like PyTorch's threshold_backward and clamp_backward: where the gradient is blocked, even an
  // infinite or NaN upstream gradient becomes 0; relu passes the gradient at a NaN input.
  const Tensor x = leaf({kNaN, -1, 2});
  relu(x).backward(f64({1, kInf, 3}));
  expect_values(x.grad(), {3}, {1, 0, 3});
  const Tensor y = leaf({-2, 0.5, 3});
  clamp(y, 0.0, 1.0).backward(f64({kInf, 2, kNaN}));
  expect_values(y.grad(), {3}, {0, 2, 0});
  y.set_grad(Tensor());
  clamp(y, 0.0).backward(f64({kNaN, 2, 5}));
  expect_values(y.grad(), {3}, {0, 2, 5});
}

TEST(Elementwise, PowGradientsAtZeroFollowPyTorch) {
  const Tensor x = leaf({0, 2});
  x.pow(0.0).sum().backward();
  expect_values(x.grad(), {2}, {0, 0});  // d/dx x^0 = 0, even at 0
  const Tensor base = leaf({0, 2, 0});
  const Tensor e = leaf({2, 3, 0});
  pow(base, e).sum().backward();
  // d/db b^e = e * b^(e-1) (0 where e == 0); d/de b^e = b^e log b (0 where b == 0 and e >= 0).
  expect_values(base.grad(), {3}, {0, 12, 0});
  expect_values(e.grad(), {3}, {0, 8 * 0.6931471805599453, 0}, 1e-12);
}

TEST(Elementwise, WhereSendsGradientToTheChosenBranch) {
  const Tensor a = leaf({1, 2, 3}), b = leaf({4, 5, 6});
  (where(f64({1, 0, 1}), a, b) * f64({1, 10, 100})).sum().backward();
  expect_values(a.grad(), {3}, {1, 0, 100});
  expect_values(b.grad(), {3}, {0, 10, 0});
}

// --- gradcheck: every differentiable op -----------------------------------------------------------

TEST(ElementwiseGradcheck, AddSubMulDivOfSameShapes) {
  const Tensor a = uniform_leaf({2, 3}, -2, 2, 10), b = uniform_leaf({2, 3}, 0.5, 2, 11);
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] + x[1]; }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return add(x[0], x[1], -1.5); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] - x[1]; }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sub(x[0], x[1], 0.25); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] * x[1]; }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] / x[1]; }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] * x[0]; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] / x[0]; }, {b});
}

TEST(ElementwiseGradcheck, ArithmeticWithBroadcastingReducesToEachShape) {
  const Tensor m = uniform_leaf({2, 3}, -2, 2, 12), row = uniform_leaf({3}, 0.5, 2, 13);
  const Tensor col = uniform_leaf({2, 1}, 0.5, 2, 14), s = uniform_leaf({}, 0.5, 2, 15);
  const Tensor cube = uniform_leaf({2, 1, 3}, -1, 1, 16), wide = uniform_leaf({2, 1}, 0.5, 1.5, 17);
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] + x[1]; }, {m, row});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sub(x[0], x[1], 2.0); }, {col, row});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] * x[1]; }, {col, row});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] / x[1]; }, {m, col});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[1] / x[0]; }, {row, m});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] * x[1] - x[1]; }, {m, s});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] / x[1]; }, {cube, wide});
}

TEST(ElementwiseGradcheck, ScalarOperandsOnEitherSide) {
  const Tensor a = uniform_leaf({5}, 0.5, 2, 18);
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] + 2.0; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return 2.0 - x[0]; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] - 2.0; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return -3.0 * x[0]; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return x[0] / 4.0; }, {a});
  expect_gradcheck([](const std::vector<Tensor>& x) { return 3.0 / x[0]; }, {a});
}

TEST(ElementwiseGradcheck, NegAndUnaryFunctions) {
  const Tensor any = uniform_leaf({2, 3}, -2, 2, 19), pos = uniform_leaf({2, 3}, 0.3, 3, 20);
  expect_gradcheck([](const std::vector<Tensor>& x) { return neg(x[0]); }, {any});
  expect_gradcheck([](const std::vector<Tensor>& x) { return exp(x[0]); }, {any});
  expect_gradcheck([](const std::vector<Tensor>& x) { return log(x[0]); }, {pos});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sqrt(x[0]); }, {pos});
  expect_gradcheck([](const std::vector<Tensor>& x) { return sigmoid(x[0]); }, {any});
  expect_gradcheck([](const std::vector<Tensor>& x) { return tanh(x[0]); }, {any});
}

TEST(ElementwiseGradcheck, PowWithEveryKindOfScalarExponent) {
  const Tensor pos = uniform_leaf({2, 3}, 0.3, 2, 21), any = uniform_leaf({2, 3}, -2, 2, 22);
  for (double e : {2.0, 3.0, 0.5, -1.0, 0.0, 1.7, -0.5, -2.0, 1.0}) {
    SCOPED_TRACE(e);
    expect_gradcheck([e](const std::vector<Tensor>& x) { return pow(x[0], e); }, {pos});
  }
  for (double e : {2.0, 3.0, 0.0, 1.0}) {  // integer exponents are fine on negative bases too
    SCOPED_TRACE(e);
    expect_gradcheck([e](const std::vector<Tensor>& x) { return x[0].pow(e); }, {any});
  }
}

TEST(ElementwiseGradcheck, PowWithTensorExponentOnPositiveBase) {
  const Tensor base = uniform_leaf({2, 3}, 0.5, 2, 23), e = uniform_leaf({2, 3}, -1.5, 2.5, 24);
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(x[0], x[1]); }, {base, e});
  const Tensor col = uniform_leaf({2, 1}, 0.5, 2, 25), row = uniform_leaf({3}, -1, 2, 26);
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(x[0], x[1]); }, {col, row});
  const Tensor prow = uniform_leaf({3}, 0.5, 2, 35);
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(x[0], x[1]); }, {prow, col});
}

TEST(ElementwiseGradcheck, PowWithScalarBase) {
  const Tensor e = uniform_leaf({4}, -2, 2, 27);
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(2.0, x[0]); }, {e});
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(0.3, x[0]); }, {e});
}

TEST(ElementwiseGradcheck, AbsReluLeakyReluAwayFromZero) {
  const Tensor x = leaf({-1.5, -0.4, 0.3, 2.0, -0.7, 0.9}, {2, 3});
  expect_gradcheck([](const std::vector<Tensor>& v) { return abs(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return relu(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return leaky_relu(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return leaky_relu(v[0], 0.3); }, {x});
}

// relu's backward is one fused op with its own backward (the mask is constant), so double backward
// through it works: relu(x)·x has second derivative 2 where x > 0.
TEST(ElementwiseGradcheck, ReluDoubleBackwardAwayFromZero) {
  const Tensor x = leaf({-1.5, -0.4, 0.3, 2.0, -0.7, 0.9}, {2, 3});
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& v) { return relu(v[0]) * v[0]; }, {x}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& v) { return relu(v[0]).sum(); }, {x}));
}

TEST(ElementwiseGradcheck, ClampAwayFromItsBounds) {
  const Tensor x = leaf({-1.5, -0.4, 0.3, 2.0, -0.7, 0.9}, {2, 3});
  expect_gradcheck([](const std::vector<Tensor>& v) { return clamp(v[0], -0.5); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return clamp(v[0], std::nullopt, 0.5); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return clamp(v[0], -0.5, 0.5); }, {x});
}

TEST(ElementwiseGradcheck, SignHasAZeroGradient) {
  const Tensor x = leaf({-1.5, 0.3, 2.0});
  expect_gradcheck([](const std::vector<Tensor>& v) { return sign(v[0]) * v[0]; }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return sign(v[0]); }, {x});
}

TEST(ElementwiseGradcheck, WhereThroughBothBranches) {
  const Tensor a = uniform_leaf({2, 3}, -1, 1, 28), b = uniform_leaf({2, 3}, -1, 1, 29);
  const Tensor cond = f64({1, 0, 0, 1, 1, 0}, {2, 3});
  expect_gradcheck([cond](const std::vector<Tensor>& x) { return where(cond, x[0], x[1]); }, {a, b});
  // Broadcasting: a [3] row, b 0-d, condition [2, 1].
  const Tensor row = uniform_leaf({3}, -1, 1, 30), s = uniform_leaf({}, -1, 1, 31);
  const Tensor ccol = f64({0, 1}, {2, 1});
  expect_gradcheck([ccol](const std::vector<Tensor>& x) { return where(ccol, x[0], x[1]); }, {row, s});
  // The condition computed from the inputs themselves (an elementwise max), away from ties.
  expect_gradcheck([](const std::vector<Tensor>& x) { return where(x[0].gt(x[1]), x[0], x[1]); }, {a, b});
}

TEST(ElementwiseGradcheck, ChainsOfOps) {
  const Tensor a = uniform_leaf({2, 3}, 0.5, 1.5, 32), b = uniform_leaf({3}, -1, 1, 33);
  expect_gradcheck([](const std::vector<Tensor>& x) { return tanh(x[0] * x[1]) + sigmoid(x[1] - x[0]).pow(2.0); },
                   {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return log(x[0] + exp(x[1])) / sqrt(x[0]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& x) { return pow(x[0], x[1] * 2.0).sum() * x[1]; }, {a, b});
}

TEST(ElementwiseGradcheck, Float32InputPromotedToFloat64) {
  // Only the float64 operand is checked; the float32 one enters as a constant.
  const Tensor a = tensor({0.5, 1.5, -2}, kFloat32);
  const Tensor b = uniform_leaf({3}, -1, 1, 34);
  expect_gradcheck([a](const std::vector<Tensor>& x) { return a * x[0] + a; }, {b});
}

// --- gradgradcheck --------------------------------------------------------------------------------

TEST(ElementwiseGradgradcheck, MulAndDiv) {
  const Tensor a = uniform_leaf({2, 3}, -2, 2, 40), b = uniform_leaf({3}, 0.5, 2, 41);
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return x[0] * x[1]; }, {a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return x[0] / x[1]; }, {a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return x[0] * x[0]; }, {a});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return 2.0 / x[0]; }, {b});
}

TEST(ElementwiseGradgradcheck, PowWithScalarAndTensorExponents) {
  const Tensor pos = uniform_leaf({2, 3}, 0.5, 2, 42), e = uniform_leaf({3}, -1, 2, 43);
  for (double k : {2.0, 3.0, 0.5, -1.0, 1.7}) {
    SCOPED_TRACE(k);
    expect_gradgradcheck([k](const std::vector<Tensor>& x) { return pow(x[0], k); }, {pos});
  }
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return pow(x[0], x[1]); }, {pos, e});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return pow(1.5, x[0]); }, {e});
}

TEST(ElementwiseGradgradcheck, ExpLogSqrtTanhSigmoid) {
  const Tensor any = uniform_leaf({2, 3}, -2, 2, 44), pos = uniform_leaf({2, 3}, 0.3, 2, 45);
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return exp(x[0]); }, {any});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return log(x[0]); }, {pos});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return sqrt(x[0]); }, {pos});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return tanh(x[0]); }, {any});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return sigmoid(x[0]); }, {any});
}

TEST(ElementwiseGradgradcheck, PiecewiseOpsAwayFromTheirKinks) {
  const Tensor x = leaf({-1.5, -0.4, 0.3, 2.0, -0.7, 0.9}, {2, 3});
  // The second derivative is zero, but the first derivative must stay differentiable in the seed.
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return relu(v[0]); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return clamp(v[0], -0.5, 0.5); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return leaky_relu(v[0], 0.2); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return abs(v[0]) * v[0]; }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return relu(v[0]) * v[0]; }, {x});
}

TEST(ElementwiseGradgradcheck, ChainsOfOps) {
  const Tensor a = uniform_leaf({2, 3}, 0.5, 1.5, 46), b = uniform_leaf({3}, -1, 1, 47);
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return tanh(x[0] * x[1]) + sigmoid(x[1] - x[0]).pow(2.0); },
                       {a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return log(x[0] + exp(x[1])) / sqrt(x[0]); }, {a, b});
  expect_gradgradcheck([](const std::vector<Tensor>& x) { return where(x[1].gt(0.0), x[0] * x[1], x[0].pow(3.0)); },
                       {a, b});
}

}  // namespace

TEST(Elementwise, ZeroDimOperandDoesNotPromoteATensorWithDims) {
  // PyTorch's result_type: a 0-d float64 does not turn a float32 tensor into float64...
  const Tensor x = ones({3}, kFloat32);
  EXPECT_EQ((x + scalar_tensor(1.0, kFloat64)).dtype(), kFloat32);
  EXPECT_EQ((scalar_tensor(1.0, kFloat64) * x).dtype(), kFloat32);
  EXPECT_EQ(result_type(x, scalar_tensor(1.0, kFloat64)), kFloat32);
  // ...but two tensors with dims, or two 0-d tensors, promote as usual.
  EXPECT_EQ((x + ones({3}, kFloat64)).dtype(), kFloat64);
  EXPECT_EQ((scalar_tensor(1.0, kFloat32) + scalar_tensor(1.0, kFloat64)).dtype(), kFloat64);
  // The 0-d float64 operand still gets a float64 gradient.
  Tensor s = scalar_tensor(2.0, dtype(kFloat64).requires_grad(true));
  (x * s).sum().backward();
  EXPECT_EQ(s.grad().dtype(), kFloat64);
  EXPECT_DOUBLE_EQ(s.grad().item<double>(), 3.0);
}
