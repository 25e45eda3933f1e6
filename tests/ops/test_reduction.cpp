// Reductions: values over all and selected dims, keepdim, ties and NaN, empty inputs, error messages,
// float32 accuracy, independence from the thread count, and gradchecks for every reduction.

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using voxgrad::testing::bit_identical;
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

std::vector<std::int64_t> indices_of(const Tensor& t) {
  EXPECT_EQ(t.dtype(), kInt64);
  return raw<std::int64_t>(t);
}

// --- values in float32 and float64 -----------------------------------------------------------------

class ReductionValues : public ::testing::TestWithParam<DType> {
 protected:
  DType dt() const { return GetParam(); }
  Tensor make(const std::vector<double>& v, const Shape& sizes) const { return tensor(v, dt()).reshape(sizes); }
  Tensor make(const std::vector<double>& v) const { return tensor(v, dt()); }
  /// [[1, 2, 3], [4, 5, 6]].
  Tensor m23() const { return make({1, 2, 3, 4, 5, 6}, {2, 3}); }
  /// arange(24) as [2, 3, 4]: element [i, j, k] is 12 i + 4 j + k.
  Tensor c234() const { return arange(24, dt()).reshape({2, 3, 4}); }
  void check(const Tensor& t, const Shape& sizes, const std::vector<double>& expected) const {
    EXPECT_EQ(t.dtype(), dt());
    ASSERT_EQ(t.sizes(), sizes);
    const std::vector<double> v = values(t);
    ASSERT_EQ(v.size(), expected.size());
    const double rtol = dt() == kFloat32 ? 1e-6 : 1e-15;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (std::isnan(expected[i])) {
        EXPECT_TRUE(std::isnan(v[i])) << "at flat index " << i << ": " << v[i];
      } else if (std::isinf(expected[i])) {
        EXPECT_EQ(v[i], expected[i]) << "at flat index " << i;
      } else {
        EXPECT_NEAR(v[i], expected[i], rtol * std::abs(expected[i])) << "at flat index " << i;
      }
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Dtypes, ReductionValues, ::testing::Values(kFloat32, kFloat64),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(dtype_name(info.param));
                         });

TEST_P(ReductionValues, SumOfAllElementsIsZeroDim) {
  check(sum(m23()), {}, {21});
  check(m23().sum(), {}, {21});
  check(c234().sum(), {}, {276});
}

TEST_P(ReductionValues, SumOverOneDimWithAndWithoutKeepdim) {
  check(sum(m23(), 0), {3}, {5, 7, 9});
  check(sum(m23(), 1), {2}, {6, 15});
  check(m23().sum(0, true), {1, 3}, {5, 7, 9});
  check(m23().sum(1, true), {2, 1}, {6, 15});
}

TEST_P(ReductionValues, SumOverNegativeDims) {
  check(sum(m23(), -1), {2}, {6, 15});
  check(sum(m23(), -2, true), {1, 3}, {5, 7, 9});
}

TEST_P(ReductionValues, SumOverSeveralDims) {
  // sum over i, k of 12 i + 4 j + k = 32 j + 60.
  check(c234().sum({0, 2}), {3}, {60, 92, 124});
  check(c234().sum({2, 0}, true), {1, 3, 1}, {60, 92, 124});
  check(c234().sum({-1, 0}), {3}, {60, 92, 124});
  // sum over j, k = 144 i + 66.
  check(c234().sum({1, 2}), {2}, {66, 210});
  check(c234().sum({0, 1, 2}), {}, {276});
  check(c234().sum({0, 1, 2}, true), {1, 1, 1}, {276});
}

TEST_P(ReductionValues, MeanOverAllAndSelectedDims) {
  check(mean(m23()), {}, {3.5});
  check(m23().mean(0), {3}, {2.5, 3.5, 4.5});
  check(m23().mean(-1, true), {2, 1}, {2, 5});
  check(c234().mean({0, 2}), {3}, {7.5, 11.5, 15.5});
  check(c234().mean({-3, -1}, true), {1, 3, 1}, {7.5, 11.5, 15.5});
}

TEST_P(ReductionValues, MaxAndMinOfAllElements) {
  const Tensor x = make({3, -1, 7, 2, 7, 0}, {2, 3});
  check(max(x), {}, {7});
  check(x.min(), {}, {-1});
  check(make({-kInf, -kInf}).max(), {}, {-kInf});
  check(make({kInf}).min(), {}, {kInf});
}

TEST_P(ReductionValues, MaxAndMinAlongADimGiveValuesAndIndices) {
  const Tensor x = make({3, -1, 7, 2, 8, 0}, {2, 3});
  auto [v1, i1] = max(x, 1);
  check(v1, {2}, {7, 8});
  EXPECT_EQ(indices_of(i1), (std::vector<std::int64_t>{2, 1}));
  auto [v0, i0] = x.max(0);
  check(v0, {3}, {3, 8, 7});
  EXPECT_EQ(indices_of(i0), (std::vector<std::int64_t>{0, 1, 0}));
  auto [w1, j1] = min(x, -1);
  check(w1, {2}, {-1, 0});
  EXPECT_EQ(indices_of(j1), (std::vector<std::int64_t>{1, 2}));
  auto [w0, j0] = x.min(-2);
  check(w0, {3}, {2, -1, 0});
  EXPECT_EQ(indices_of(j0), (std::vector<std::int64_t>{1, 0, 1}));
}

TEST_P(ReductionValues, MaxAndMinAlongADimPickTheFirstOfEqualValues) {
  const Tensor x = make({1, 5, 5, 4, 4, 2, 3, 3, 3}, {3, 3});
  auto [v, i] = max(x, 1);
  check(v, {3}, {5, 4, 3});
  EXPECT_EQ(indices_of(i), (std::vector<std::int64_t>{1, 0, 0}));
  auto [w, j] = min(x, 1);
  check(w, {3}, {1, 2, 3});
  EXPECT_EQ(indices_of(j), (std::vector<std::int64_t>{0, 2, 0}));
}

TEST_P(ReductionValues, MaxAlongADimWithKeepdim) {
  auto [v, i] = max(c234(), 1, true);
  check(v, {2, 1, 4}, {8, 9, 10, 11, 20, 21, 22, 23});
  EXPECT_EQ(i.sizes(), (Shape{2, 1, 4}));
  EXPECT_EQ(indices_of(i), (std::vector<std::int64_t>(8, 2)));
  auto [w, j] = min(c234(), -1, true);
  check(w, {2, 3, 1}, {0, 4, 8, 12, 16, 20});
  EXPECT_EQ(indices_of(j), (std::vector<std::int64_t>(6, 0)));
}

TEST_P(ReductionValues, VarWithCorrectionOneAndZero) {
  const Tensor a = make({1, 2, 3, 4});
  check(var(a), {}, {5.0 / 3.0});
  check(a.var({}, 0), {}, {1.25});
  // 3.5 is the mean of m23; the squared deviations sum to 17.5.
  check(var(m23()), {}, {3.5});
  check(var(m23(), {}, 0), {}, {17.5 / 6});
}

TEST_P(ReductionValues, VarOverDimsWithKeepdim) {
  check(var(m23(), Shape{1}), {2}, {1, 1});
  check(var(m23(), 1), {2}, {1, 1});  // a bare int is a dim, never the correction
  check(m23().var(1, 0), {2}, {2.0 / 3.0, 2.0 / 3.0});
  check(m23().var(0, 1, true), {1, 3}, {4.5, 4.5, 4.5});
  check(var(m23(), -2, 0, false), {3}, {2.25, 2.25, 2.25});
  check(var(m23(), {0, 1}), {}, {3.5});
  // Over dims 0 and 2 of c234: for each j the values 4 j + {0..3, 12..15}, squared deviations 298.
  check(c234().var({0, 2}, 0), {3}, {37.25, 37.25, 37.25});
}

TEST_P(ReductionValues, VarOfOneElementWithCorrectionOneIsNaN) {
  check(make({3}).var(), {}, {kNaN});
  check(make({3}).var({}, 0), {}, {0});
}

TEST_P(ReductionValues, SumToSizeSumsBroadcastDimsAway) {
  check(m23().sum_to_size({1, 3}), {1, 3}, {5, 7, 9});
  check(sum_to_size(m23(), {3}), {3}, {5, 7, 9});
  check(m23().sum_to_size({2, 1}), {2, 1}, {6, 15});
  check(m23().sum_to_size({1, 1}), {1, 1}, {21});
  check(m23().sum_to_size({}), {}, {21});
  check(m23().sum_to_size({2, 3}), {2, 3}, {1, 2, 3, 4, 5, 6});
  check(c234().sum_to_size({3, 1}), {3, 1}, {60, 92, 124});
}

TEST_P(ReductionValues, SumsOverEmptyDimsAreZero) {
  const Tensor e = zeros({0, 3}, dt());
  check(e.sum(0), {3}, {0, 0, 0});
  check(e.sum(0, true), {1, 3}, {0, 0, 0});
  check(e.sum(), {}, {0});
  check(e.sum(1), {0}, {});
  check(e.sum_to_size({1, 3}), {1, 3}, {0, 0, 0});
}

TEST_P(ReductionValues, MeanOverEmptyDimsIsNaN) {
  check(zeros({0, 3}, dt()).mean(0), {3}, {kNaN, kNaN, kNaN});
  check(zeros({0}, dt()).mean(), {}, {kNaN});
}

TEST_P(ReductionValues, ReductionsOfAZeroDimTensor) {
  const Tensor s = scalar_tensor(5, dt());
  check(s.sum(), {}, {5});
  check(s.sum(0), {}, {5});
  check(s.sum(-1, true), {}, {5});
  check(s.mean(0), {}, {5});
  check(s.max(), {}, {5});
  auto [v, i] = s.max(0);
  check(v, {}, {5});
  EXPECT_EQ(indices_of(i), (std::vector<std::int64_t>{0}));
}

// --- NaN and non-contiguous inputs ----------------------------------------------------------------

TEST(Reduction, MaxAndMinPropagateNaN) {
  for (DType d : {kFloat32, kFloat64}) {
    const Tensor x = tensor({1, kNaN, 3}, d);
    EXPECT_TRUE(std::isnan(x.max().item<double>())) << d;
    EXPECT_TRUE(std::isnan(x.min().item<double>())) << d;
    EXPECT_TRUE(std::isnan(x.sum().item<double>())) << d;
    EXPECT_TRUE(std::isnan(tensor({kNaN, 1}, d).max().item<double>())) << d;
  }
}

TEST(Reduction, MaxAndMinAlongADimReturnTheFirstNaNAndItsIndex) {
  const Tensor x = f64({1, kNaN, 3, kNaN, 4, 6, 5, 0, 2}, {3, 3});
  auto [v, i] = x.max(1);
  const std::vector<double> vv = values(v);
  EXPECT_TRUE(std::isnan(vv[0]));
  EXPECT_TRUE(std::isnan(vv[1]));
  EXPECT_EQ(vv[2], 5);
  EXPECT_EQ(indices_of(i), (std::vector<std::int64_t>{1, 0, 0}));
  auto [w, j] = x.min(1);
  const std::vector<double> ww = values(w);
  EXPECT_TRUE(std::isnan(ww[0]));
  EXPECT_TRUE(std::isnan(ww[1]));
  EXPECT_EQ(ww[2], 0);
  EXPECT_EQ(indices_of(j), (std::vector<std::int64_t>{1, 0, 1}));
}

TEST(Reduction, NonContiguousInputsGiveTheSameResultsAsContiguousCopies) {
  manual_seed(1);
  const Tensor t = randn({4, 5, 6}, kFloat64).permute({2, 0, 1});  // [6, 4, 5]
  const Tensor c = t.contiguous();
  ASSERT_FALSE(t.is_contiguous());
  expect_close(t.sum(), c.sum(), 1e-12);
  expect_close(t.sum({0, 2}), c.sum({0, 2}), 1e-12);
  expect_close(t.mean(1, true), c.mean(1, true), 1e-12);
  expect_close(t.var({0, 1}), c.var({0, 1}), 1e-12);
  expect_close(t.max(), c.max(), 0.0);
  expect_close(std::get<0>(t.min(2)), std::get<0>(c.min(2)), 0.0);
  EXPECT_EQ(indices_of(std::get<1>(t.max(0))), indices_of(std::get<1>(c.max(0))));
  const Tensor sliced = t.slice(0, 1, std::nullopt, 2).select(2, 3);  // [3, 4]
  expect_close(sliced.sum(1), sliced.contiguous().sum(1), 1e-12);
  expect_close(std::get<0>(sliced.max(0)), std::get<0>(sliced.contiguous().max(0)), 0.0);
  expect_close(sliced.sum_to_size({1, 4}), sliced.contiguous().sum_to_size({1, 4}), 1e-12);
}

TEST(Reduction, SumOfAnExpandedTensorCountsEveryRepeat) {
  const Tensor e = f64({1, 2, 3}).expand({4, 3});
  expect_values(e.sum(0), {3}, {4, 8, 12});
  expect_values(e.sum(), {}, {24});
  auto [v, i] = e.max(0);
  expect_values(v, {3}, {1, 2, 3});
  EXPECT_EQ(indices_of(i), (std::vector<std::int64_t>{0, 0, 0}));
}

TEST(Reduction, SumOverNonAdjacentDimsOfAFourDimTensorMatchesAnIndexedReference) {
  manual_seed(4);
  const Tensor x = randn({3, 4, 5, 6}, kFloat64);
  const std::vector<double> v = raw<double>(x);
  std::vector<double> expected(3 * 5, 0.0);
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 4; ++b) {
      for (int c = 0; c < 5; ++c) {
        for (int d = 0; d < 6; ++d) expected[a * 5 + c] += v[((a * 4 + b) * 5 + c) * 6 + d];
      }
    }
  }
  expect_values(x.sum({1, 3}), {3, 5}, expected, 1e-12);
  expect_values(x.sum({-1, 1}, true), {3, 1, 5, 1}, expected, 1e-12);
  // The same reduction through a permuted view: dims (b, d) of x are dims (0, 2) of the view.
  expect_values(
      x.permute({1, 0, 3, 2}).sum({0, 2}).t(), {5, 3},
      [&] {
        std::vector<double> t(15);
        for (int a = 0; a < 3; ++a)
          for (int c = 0; c < 5; ++c) t[c * 3 + a] = expected[a * 5 + c];
        return t;
      }(),
      1e-12);
  std::vector<double> means = expected;
  for (double& m : means) m /= 24.0;
  expect_values(x.mean({3, 1}), {3, 5}, means, 1e-12);
}

TEST(Reduction, LargeMaxAlongADimMatchesAnIndexedReference) {
  manual_seed(5);
  const Tensor x = randn({3000, 50}, kFloat32);
  const std::vector<float> v = raw<float>(x);
  auto [rv, ri] = x.max(1);  // many outputs, contiguous rows
  auto [cv, ci] = x.min(0);  // few outputs, strided columns
  const std::vector<float> rvv = raw<float>(rv), cvv = raw<float>(cv);
  const std::vector<std::int64_t> riv = indices_of(ri), civ = indices_of(ci);
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < 3000; ++r) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < 50; ++c)
      if (v[r * 50 + c] > v[r * 50 + best]) best = c;
    mismatches += rvv[r] != v[r * 50 + best] || riv[r] != static_cast<std::int64_t>(best);
  }
  for (std::size_t c = 0; c < 50; ++c) {
    std::size_t best = 0;
    for (std::size_t r = 1; r < 3000; ++r)
      if (v[r * 50 + c] < v[best * 50 + c]) best = r;
    mismatches += cvv[c] != v[best * 50 + c] || civ[c] != static_cast<std::int64_t>(best);
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Reduction, MaxAlongADimOfSizeOneReturnsTheInput) {
  const Tensor x = f64({4, 5, 6}, {3, 1});
  auto [v, i] = x.max(1);
  expect_values(v, {3}, {4, 5, 6});
  EXPECT_EQ(indices_of(i), (std::vector<std::int64_t>{0, 0, 0}));
  auto [w, j] = x.min(1, true);
  expect_values(w, {3, 1}, {4, 5, 6});
}

// --- errors ---------------------------------------------------------------------------------------

TEST(Reduction, MaxAndMinOfAnEmptyTensorAreErrors) {
  EXPECT_ERROR_CONTAINS(zeros({0, 3}).max(),
                        "max: expected a reduction dim to be specified for an input with no elements");
  EXPECT_ERROR_CONTAINS(zeros({0}).min(),
                        "min: expected a reduction dim to be specified for an input with no elements");
  EXPECT_ERROR_CONTAINS(zeros({0, 3}).max(0), "max: expected reduction dim 0 to have non-zero size");
  EXPECT_ERROR_CONTAINS(zeros({3, 0}).min(-1), "min: expected reduction dim 1 to have non-zero size");
}

TEST(Reduction, MaxAlongANonEmptyDimOfAnEmptyTensorIsEmpty) {
  auto [v, i] = zeros({0, 3}).max(1);
  EXPECT_EQ(v.sizes(), (Shape{0}));
  EXPECT_EQ(i.sizes(), (Shape{0}));
}

TEST(Reduction, DuplicateDimsAreErrors) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_CONTAINS(x.sum({0, -2}), "sum: dim 0 appears multiple times in the list of dims");
  EXPECT_ERROR_CONTAINS(x.mean({1, 1}), "mean: dim 1 appears multiple times in the list of dims");
  EXPECT_ERROR_CONTAINS(x.var({-1, 1}), "var: dim 1 appears multiple times in the list of dims");
}

TEST(Reduction, DimOutOfRangeNamesTheRange) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_CONTAINS(x.sum(2), "sum: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_CONTAINS(x.sum({0, -3}), "sum: dimension out of range (expected to be in range of [-2, 1], but got -3)");
  EXPECT_ERROR_CONTAINS(x.mean(5), "mean: dimension out of range (expected to be in range of [-2, 1], but got 5)");
  EXPECT_ERROR_CONTAINS(x.max(2), "max: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_CONTAINS(x.min(-3), "min: dimension out of range (expected to be in range of [-2, 1], but got -3)");
  EXPECT_ERROR_CONTAINS(x.var(Shape{2}), "var: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_CONTAINS(scalar_tensor(1).sum(1),
                        "sum: dimension out of range (expected to be in range of [-1, 0], but got 1)");
}

TEST(Reduction, SumToSizeRejectsSizesThatDoNotExpandToTheInput) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_CONTAINS(x.sum_to_size({4}), "sum_to_size: size [4] is not expandable to size [2, 3]");
  EXPECT_ERROR_CONTAINS(x.sum_to_size({2, 2}), "sum_to_size: size [2, 2] is not expandable to size [2, 3]");
  EXPECT_ERROR_CONTAINS(x.sum_to_size({1, 2, 3}), "sum_to_size: size [1, 2, 3] is not expandable to size [2, 3]");
}

TEST(Reduction, NegativeCorrectionAndUndefinedInputsAreErrors) {
  EXPECT_ERROR_CONTAINS(zeros({3}).var({}, -1), "var: correction must be non-negative, but got -1");
  const Tensor u;
  EXPECT_ERROR_CONTAINS(sum(u), "sum: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(mean(u, 0), "mean: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(max(u), "max: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(min(u, 0), "min: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(var(u), "var: argument 'self' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(sum_to_size(u, {1}), "sum_to_size: argument 'self' is an undefined tensor");
}

// --- gradient values --------------------------------------------------------------------------------

TEST(Reduction, SumGradientBroadcastsTheUpstreamGradient) {
  const Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  x.sum(1).backward(f64({1, 2}));
  expect_values(x.grad(), {2, 3}, {1, 1, 1, 2, 2, 2});
  x.set_grad(Tensor());
  x.sum(0, true).backward(f64({1, 2, 3}, {1, 3}));
  expect_values(x.grad(), {2, 3}, {1, 2, 3, 1, 2, 3});
  x.set_grad(Tensor());
  x.sum().backward();
  expect_values(x.grad(), {2, 3}, {1, 1, 1, 1, 1, 1});
}

TEST(Reduction, MeanGradientIsOneOverTheCount) {
  const Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  x.mean().backward();
  expect_values(x.grad(), {2, 3}, std::vector<double>(6, 1.0 / 6));
  x.set_grad(Tensor());
  x.mean(-1).backward(f64({3, 6}));
  expect_values(x.grad(), {2, 3}, {1, 1, 1, 2, 2, 2});
}

TEST(Reduction, MaxOfAllSplitsTheGradientEvenlyAmongTies) {
  const Tensor x = leaf({1, 3, 3});
  x.max().backward();
  expect_values(x.grad(), {3}, {0, 0.5, 0.5});
  const Tensor y = leaf({2, 1, 1, 1}, {2, 2});
  y.min().backward(scalar_tensor(3.0, kFloat64));
  expect_values(y.grad(), {2, 2}, {0, 1, 1, 1});
}

TEST(Reduction, MaxOfAllSendsTheGradientToTheNaNElements) {
  // A NaN result matches every NaN element, as in PyTorch's evenly_distribute_backward.
  const Tensor x = leaf({1, kNaN, 3, kNaN});
  x.max().backward();
  expect_values(x.grad(), {4}, {0, 0.5, 0, 0.5});
  const Tensor y = leaf({kNaN, -1});
  y.min().backward();
  expect_values(y.grad(), {2}, {1, 0});
}

TEST(Reduction, MaxAlongADimSendsTheGradientToTheFirstMaximum) {
  const Tensor x = leaf({1, 5, 5, 4, 4, 2}, {2, 3});
  std::get<0>(x.max(1)).backward(f64({10, 20}));
  expect_values(x.grad(), {2, 3}, {0, 10, 0, 20, 0, 0});
  x.set_grad(Tensor());
  std::get<0>(x.min(0, true)).backward(f64({1, 2, 3}, {1, 3}));
  expect_values(x.grad(), {2, 3}, {1, 0, 0, 0, 2, 3});
}

TEST(Reduction, GradientOfASumOverAnEmptyDimHasTheInputShape) {
  const Tensor x = zeros({0, 3}, kFloat64).requires_grad_(true);
  x.sum(0).backward(f64({1, 2, 3}));
  EXPECT_EQ(x.grad().sizes(), (Shape{0, 3}));
}

TEST(Reduction, IndicesNeverRequireGrad) {
  const Tensor x = leaf({1, 5, 2});
  auto [v, i] = x.max(0);
  EXPECT_TRUE(v.requires_grad());
  EXPECT_FALSE(i.requires_grad());
}

TEST(Reduction, VarGradientIsTwiceTheDeviationOverTheDivisor) {
  const Tensor x = leaf({1, 2, 3, 4});
  x.var().backward();
  expect_values(x.grad(), {4}, {-1, -1.0 / 3, 1.0 / 3, 1}, 1e-15);
  x.set_grad(Tensor());
  x.var({}, 0).backward();
  expect_values(x.grad(), {4}, {-0.75, -0.25, 0.25, 0.75}, 1e-15);
}

// std is √var (the same bits); its gradient is PyTorch's std_backward, 0 on a constant slice where
// differentiating √ then var would give NaN. (Called as voxgrad::std: a bare `std` also names the
// namespace under `using namespace voxgrad`.)
TEST(Reduction, StdIsTheRootOfVarWithTorchsGradientOnConstantSlices) {
  EXPECT_EQ(voxgrad::std(f64({1, 2, 4})).item<double>(), 1.5275252316519468);  // torch.std([1., 2., 4.])
  const Tensor x = uniform_leaf({3, 4, 5}, -2, 2, 17).detach();
  for (const Tensor& v : {x, x.transpose(0, 2), x.to(kFloat32)}) {
    EXPECT_TRUE(bit_identical(voxgrad::std(v), sqrt(var(v))));
    EXPECT_TRUE(bit_identical(v.std(1), sqrt(v.var(1))));
    EXPECT_TRUE(bit_identical(v.std({0, 2}, 0, true), sqrt(v.var({0, 2}, 0, true))));
    EXPECT_TRUE(bit_identical(v.std(-1, 2), sqrt(v.var(-1, 2))));
  }
  // Row 0 is constant: gradient 0. Row 1 = [1, 5, 3]: std 2, gradient (x − 3) / (2·2) = [−0.5, 0.5, 0].
  const Tensor c = leaf({2, 2, 2, 1, 5, 3}, {2, 3});
  c.std(1).sum().backward();
  expect_values(c.grad(), {2, 3}, {0, 0, 0, -0.5, 0.5, 0}, 0.0);
  EXPECT_ERROR_EQ(voxgrad::std(x, {0}, -1), "std: correction must be non-negative, but got -1");
  EXPECT_ERROR_CONTAINS(x.std(3), "std");
  EXPECT_ERROR_EQ(voxgrad::std(Tensor()), "std: argument 'self' is an undefined tensor");
}

TEST(Reduction, SumToSizeGradientExpandsBack) {
  const Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  x.sum_to_size({1, 3}).backward(f64({1, 2, 3}, {1, 3}));
  expect_values(x.grad(), {2, 3}, {1, 2, 3, 1, 2, 3});
}

TEST(Reduction, Float32InputGetsAFloat32Gradient) {
  const Tensor x = tensor({1, 2, 3}, kFloat32).requires_grad_(true);
  x.mean().backward();
  EXPECT_EQ(x.grad().dtype(), kFloat32);
  expect_values(x.grad(), {3}, {1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-7);
}

// --- gradcheck and gradgradcheck --------------------------------------------------------------------

TEST(ReductionGradcheck, Sum) {
  const Tensor x = uniform_leaf({2, 3, 4}, -1, 1, 10);
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].sum(); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].sum(1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].sum({0, 2}, true); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].sum({-1, -3}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].permute({2, 0, 1}).sum(0); }, {x});
}

TEST(ReductionGradcheck, Mean) {
  const Tensor x = uniform_leaf({2, 3, 4}, -1, 1, 11);
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].mean(); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].mean(-1, true); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].mean({0, 1}); }, {x});
}

TEST(ReductionGradcheck, MaxAndMinOfAllElements) {
  const Tensor x = uniform_leaf({3, 4}, -1, 1, 12);
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].max(); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].min(); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].max() * v[0].min(); }, {x});
}

TEST(ReductionGradcheck, MaxAndMinAlongADim) {
  const Tensor x = uniform_leaf({2, 3, 4}, -1, 1, 13);
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(v[0].max(1)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(v[0].max(-1, true)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(v[0].min(0)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(v[0].min(2, true)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(v[0].transpose(0, 2).max(1)); }, {x});
}

TEST(ReductionGradcheck, Var) {
  const Tensor x = uniform_leaf({3, 4}, -1, 1, 14);
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].var(); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].var({}, 0); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].var(1, 1, true); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].var(-2, 0); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].var({0, 1}, 2); }, {x});
}

TEST(ReductionGradcheck, StdAndGradgradcheck) {
  const Tensor x = uniform_leaf({3, 4}, -1, 1, 18);
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].std(); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].std({}, 0); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].std(1, 1, true); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].t().std(-1, 0) * 2.0; }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].std(); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].std(0, 1, true) * v[0]; }, {x});
}

TEST(ReductionGradcheck, SumToSize) {
  const Tensor x = uniform_leaf({2, 3, 4}, -1, 1, 15);
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].sum_to_size({3, 1}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].sum_to_size({1, 3, 4}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].sum_to_size({4}); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].sum_to_size({2, 3, 4}) * 2.0; }, {x});
}

TEST(ReductionGradgradcheck, SumMeanAndVar) {
  const Tensor x = uniform_leaf({2, 3}, -1, 1, 16);
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].sum(); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].sum(1, true) * v[0]; }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].mean(); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].mean(0).pow(2.0); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].var(); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].var(1, 0); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return v[0].var(0, 1, true); }, {x});
}

TEST(Reduction, NansumAndNanmeanSkipNaNsWithTorchsGradient) {
  const Tensor x = f64({1.0, kNaN, -2.5, 4.0, kNaN, kNaN, 0.5, 2.0}, {2, 4});
  // Without NaNs, the same bits as sum and mean; on views too (transposed, strided).
  const Tensor y = f64({1.0, 3.0, -2.5, 4.0, 7.0, 0.25, 0.5, 2.0}, {2, 4});
  EXPECT_TRUE(bit_identical(nansum(y), sum(y)));
  EXPECT_TRUE(bit_identical(y.t().nanmean({1}), y.t().mean({1})));
  EXPECT_TRUE(bit_identical(nansum(y.slice(1, 0, 4, 2), {0}, true), sum(y.slice(1, 0, 4, 2), {0}, true)));
  using voxgrad::testing::same_bits_any_nan;
  EXPECT_TRUE(same_bits_any_nan(nansum(x), f64({5.0}).reshape({})));
  EXPECT_TRUE(same_bits_any_nan(nansum(x, {1}), f64({2.5, 2.5})));
  EXPECT_TRUE(same_bits_any_nan(x.nanmean({0}), f64({1.0, kNaN, -1.0, 3.0})));  // a column of NaNs only: NaN
  EXPECT_TRUE(same_bits_any_nan(nanmean(x, {1}, true), f64({2.5 / 3.0, 1.25}, {2, 1})));
  EXPECT_TRUE(same_bits_any_nan(x.nansum({0, 1}), f64({5.0}).reshape({})));
  EXPECT_TRUE(same_bits_any_nan(x.nanmean(), f64({1.0}).reshape({})));
  // The gradient is the upstream one but at the NaNs (0 there, −0 for a negative upstream, as torch's mask).
  const Tensor l = x.detach().requires_grad_(true);
  nansum(l, {1}).backward(f64({2.0, -3.0}));
  EXPECT_TRUE(bit_identical(l.grad(), f64({2.0, 0.0, 2.0, 2.0, -0.0, -0.0, -3.0, -3.0}, {2, 4})));
  const Tensor m = x.detach().requires_grad_(true);
  nanmean(m).backward();
  EXPECT_TRUE(bit_identical(m.grad(), f64({0.2, 0.0, 0.2, 0.2, 0.0, 0.0, 0.2, 0.2}, {2, 4})));
  const Tensor z = uniform_leaf({3, 4}, -1, 1, 19);
  expect_gradcheck([](const std::vector<Tensor>& v) { return nansum(v[0], {1}) * 2.0; }, {z});
  expect_gradcheck([](const std::vector<Tensor>& v) { return v[0].nanmean({0}, true); }, {z});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return nansum(v[0]) * v[0]; }, {z});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return nanmean(v[0].pow(2.0), {1}); }, {z});
  EXPECT_ERROR_EQ(nansum(zeros({2}, kInt64)), "nansum: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(nanmean(Tensor()), "nanmean: argument 'self' is an undefined tensor");
  EXPECT_ERROR_EQ(nanmean(x, {2}), "nanmean: dimension out of range (expected to be in range of [-2, 1], but got 2)");
}

}  // namespace
