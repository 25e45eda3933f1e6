// Factory functions, TensorOptions and the global random generator.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include <voxgrad/voxgrad.h>
#include "test_util.h"

namespace vg = voxgrad;
using vg::Tensor;
using vg::testing::expect_values;
using vg::testing::values;

// --- constant fills --------------------------------------------------------------------------------

TEST(Factory, ZerosHasShapeDtypeAndZeroValues) {
  const Tensor t = vg::zeros({2, 3});
  EXPECT_EQ(t.dtype(), vg::kFloat32);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_FALSE(t.requires_grad());
  expect_values(t, {2, 3}, {0, 0, 0, 0, 0, 0});
  const Tensor d = vg::zeros({4}, vg::kFloat64);
  EXPECT_EQ(d.dtype(), vg::kFloat64);
  expect_values(d, {4}, {0, 0, 0, 0});
  const Tensor i = vg::zeros({2}, vg::kInt64);
  EXPECT_EQ(i.dtype(), vg::kInt64);
  expect_values(i, {2}, {0, 0});
}

TEST(Factory, OnesFillsWithOne) {
  expect_values(vg::ones({3}), {3}, {1, 1, 1});
  expect_values(vg::ones({1, 2}, vg::kInt64), {1, 2}, {1, 1});
  EXPECT_EQ(vg::ones({2}, vg::kFloat64).dtype(), vg::kFloat64);
}

TEST(Factory, FullFillsWithTheValueConvertedToTheDtype) {
  expect_values(vg::full({2, 2}, -2.5), {2, 2}, {-2.5, -2.5, -2.5, -2.5});
  expect_values(vg::full({2}, 0.1, vg::kFloat64), {2}, {0.1, 0.1});
  expect_values(vg::full({3}, 7.9, vg::kInt64), {3}, {7, 7, 7});
  EXPECT_EQ(values(vg::full({1}, 0.1))[0], static_cast<double>(0.1f));
}

TEST(Factory, EmptyHasShapeAndDtype) {
  const Tensor e = vg::empty({3, 4}, vg::kFloat64);
  EXPECT_EQ(e.sizes(), (vg::Shape{3, 4}));
  EXPECT_EQ(e.strides(), (vg::Shape{4, 1}));
  EXPECT_EQ(e.dtype(), vg::kFloat64);
  EXPECT_EQ(e.numel(), 12);
  EXPECT_NE(e.data_ptr<double>(), nullptr);
}

TEST(Factory, ZeroDimAndZeroSizeShapes) {
  const Tensor s = vg::zeros({});
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item<float>(), 0.0f);
  const Tensor z = vg::ones({2, 0, 3});
  EXPECT_EQ(z.numel(), 0);
  EXPECT_EQ(z.sizes(), (vg::Shape{2, 0, 3}));
  EXPECT_EQ(z.strides(), (vg::Shape{3, 3, 1}));
}

TEST(Factory, DataIsSixtyFourByteAligned) {
  for (std::int64_t n : {1, 3, 17, 1000}) {
    const auto addr = reinterpret_cast<std::uintptr_t>(vg::empty({n}).data_ptr<float>());
    EXPECT_EQ(addr % 64, 0u) << n;
  }
}

TEST(Factory, NegativeSizeErrorNamesTheFactoryAndSize) {
  EXPECT_ERROR_CONTAINS(vg::zeros({2, -1}), "zeros: negative dimension -1 in size [2, -1]");
  EXPECT_ERROR_CONTAINS(vg::empty({-5}), "empty: negative dimension -5");
  EXPECT_ERROR_CONTAINS(vg::ones({-1}), "negative dimension -1");
  EXPECT_ERROR_CONTAINS(vg::full({3, -2}, 1.0), "negative dimension -2 in size [3, -2]");
  EXPECT_ERROR_CONTAINS(vg::rand({-1}), "negative dimension");
  EXPECT_ERROR_CONTAINS(vg::randn({-1}), "negative dimension");
  EXPECT_ERROR_CONTAINS(vg::randint(0, 3, {-1}), "negative dimension");
}

TEST(Factory, HugeSizesThrowInsteadOfAllocating) {
  constexpr std::int64_t k40 = std::int64_t{1} << 40;
  EXPECT_ERROR_CONTAINS(vg::zeros({k40, k40}), "zeros: size [1099511627776, 1099511627776]");
  EXPECT_ERROR_CONTAINS(vg::empty({k40, k40, 2}), "more elements than int64 can count");
  // Countable, but more bytes than any machine can address.
  EXPECT_ERROR_CONTAINS(vg::empty({std::int64_t{1} << 61}), "needs more memory than can be addressed");
  EXPECT_ERROR_CONTAINS(vg::zeros({std::int64_t{1} << 31, std::int64_t{1} << 31}, vg::kFloat64),
                        "needs more memory than can be addressed");
  EXPECT_ERROR_CONTAINS(vg::ones({k40, k40}), "ones: size");
  EXPECT_ERROR_CONTAINS(vg::rand({k40, k40}), "int64");
}

// --- arange ----------------------------------------------------------------------------------------

TEST(Arange, CountsUpByOneFromZero) {
  const Tensor a = vg::arange(5.0);
  EXPECT_EQ(a.dtype(), vg::kFloat32);
  expect_values(a, {5}, {0, 1, 2, 3, 4});
  expect_values(vg::arange(2.0, 6.0), {4}, {2, 3, 4, 5});
}

TEST(Arange, EndIsExcludedAndCountIsRoundedUp) {
  expect_values(vg::arange(0.0, 10.0, 3.0), {4}, {0, 3, 6, 9});
  expect_values(vg::arange(0.0, 9.0, 3.0), {3}, {0, 3, 6});
  expect_values(vg::arange(1.0, 1.0), {0}, {});
}

TEST(Arange, FractionalStep) {
  const Tensor a = vg::arange(0.0, 1.0, 0.25, vg::kFloat64);
  expect_values(a, {4}, {0, 0.25, 0.5, 0.75});
  const Tensor b = vg::arange(0.0, 1.0, 0.1, vg::kFloat64);
  EXPECT_EQ(b.numel(), 10);
  EXPECT_NEAR(values(b)[9], 0.9, 1e-15);
  const Tensor c = vg::arange(-1.0, 0.5, 0.5);
  expect_values(c, {3}, {-1, -0.5, 0});
}

TEST(Arange, NegativeStepCountsDown) {
  expect_values(vg::arange(5.0, 0.0, -1.0), {5}, {5, 4, 3, 2, 1});
  expect_values(vg::arange(1.0, -1.0, -0.5, vg::kFloat64), {4}, {1, 0.5, 0, -0.5});
}

TEST(Arange, Float64AndInt64Dtypes) {
  const Tensor d = vg::arange(3.0, vg::kFloat64);
  EXPECT_EQ(d.dtype(), vg::kFloat64);
  expect_values(d, {3}, {0, 1, 2});
  const Tensor i = vg::arange(-2.0, 3.0, 1.0, vg::kInt64);
  EXPECT_EQ(i.dtype(), vg::kInt64);
  EXPECT_EQ(i.data_ptr<std::int64_t>()[0], -2);
  expect_values(i, {5}, {-2, -1, 0, 1, 2});
  expect_values(vg::arange(0.0, 10.0, 4.0, vg::kInt64), {3}, {0, 4, 8});
}

TEST(Arange, LargeRangesAreExact) {
  const Tensor a = vg::arange(0.0, 100000.0, 1.0, vg::kInt64);
  EXPECT_EQ(a.numel(), 100000);
  EXPECT_EQ(a.data_ptr<std::int64_t>()[99999], 99999);
  EXPECT_EQ(vg::arange(20000000.0).data_ptr<float>()[16777217], 16777216.0f);  // float32 rounding
}

TEST(Arange, StepOfTheWrongSignIsAnError) {
  EXPECT_ERROR_CONTAINS(vg::arange(0.0, 5.0, -1.0), "upper bound and larger bound inconsistent with step sign");
  EXPECT_ERROR_CONTAINS(vg::arange(5.0, 0.0, 1.0), "inconsistent with step sign (start 5, end 0, step 1)");
  EXPECT_ERROR_CONTAINS(vg::arange(-3.0), "inconsistent with step sign");
}

TEST(Arange, ZeroStepIsAnError) { EXPECT_ERROR_CONTAINS(vg::arange(0.0, 5.0, 0.0), "arange: step must be nonzero"); }

TEST(Arange, NonFiniteBoundsAreAnError) {
  EXPECT_ERROR_CONTAINS(vg::arange(0.0, INFINITY), "arange: unsupported range");
  EXPECT_ERROR_CONTAINS(vg::arange(NAN, 1.0), "unsupported range");
}

// --- random ----------------------------------------------------------------------------------------

TEST(Random, RandIsUniformInHalfOpenUnitInterval) {
  vg::manual_seed(1);
  const Tensor r = vg::rand({100000});
  EXPECT_EQ(r.dtype(), vg::kFloat32);
  const auto v = values(r);
  EXPECT_GE(*std::min_element(v.begin(), v.end()), 0.0);
  EXPECT_LT(*std::max_element(v.begin(), v.end()), 1.0);
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  EXPECT_NEAR(mean, 0.5, 0.01);
  const auto below_tenth = std::count_if(v.begin(), v.end(), [](double x) { return x < 0.1; });
  EXPECT_NEAR(static_cast<double>(below_tenth) / 100000.0, 0.1, 0.01);
}

TEST(Random, RandFloat64IsInHalfOpenUnitInterval) {
  vg::manual_seed(2);
  const Tensor r = vg::rand({2, 5000}, vg::kFloat64);
  EXPECT_EQ(r.dtype(), vg::kFloat64);
  EXPECT_EQ(r.sizes(), (vg::Shape{2, 5000}));
  const auto v = values(r);
  EXPECT_GE(*std::min_element(v.begin(), v.end()), 0.0);
  EXPECT_LT(*std::max_element(v.begin(), v.end()), 1.0);
}

TEST(Random, RandnHasZeroMeanAndUnitVariance) {
  vg::manual_seed(3);
  const auto v = values(vg::randn({100000}));
  const double n = static_cast<double>(v.size());
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double ss = 0.0;
  for (double x : v) ss += (x - mean) * (x - mean);
  const double var = ss / (n - 1);
  EXPECT_NEAR(mean, 0.0, 0.015);
  EXPECT_NEAR(var, 1.0, 0.02);
  // About 68.3% of a standard normal lies within one standard deviation.
  const auto within = std::count_if(v.begin(), v.end(), [](double x) { return std::abs(x) < 1.0; });
  EXPECT_NEAR(static_cast<double>(within) / n, 0.6827, 0.01);
  for (double x : v) ASSERT_TRUE(std::isfinite(x));
}

TEST(Random, RandAndRandnRejectIntegerDtypes) {
  EXPECT_ERROR_CONTAINS(vg::rand({2}, vg::kInt64), "rand: expected a floating dtype, got int64");
  EXPECT_ERROR_CONTAINS(vg::randn({2}, vg::kInt64), "randn: expected a floating dtype, got int64");
}

TEST(Random, RandintStaysInRangeAndIsInt64) {
  vg::manual_seed(4);
  const Tensor r = vg::randint(-3, 4, {20000});
  EXPECT_EQ(r.dtype(), vg::kInt64);
  const auto v = values(r);
  EXPECT_EQ(*std::min_element(v.begin(), v.end()), -3.0);
  EXPECT_EQ(*std::max_element(v.begin(), v.end()), 3.0);
  for (int k = -3; k <= 3; ++k) {
    const auto c = std::count(v.begin(), v.end(), static_cast<double>(k));
    EXPECT_NEAR(static_cast<double>(c) / 20000.0, 1.0 / 7.0, 0.015) << k;
  }
}

TEST(Random, RandintWithAFloatDtypeGivesWholeNumbers) {
  vg::manual_seed(5);
  const Tensor r = vg::randint(0, 10, {1000}, vg::kFloat64);
  EXPECT_EQ(r.dtype(), vg::kFloat64);
  for (double x : values(r)) {
    EXPECT_EQ(x, std::floor(x));
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 10.0);
  }
}

TEST(Random, RandintOfASingleValueRangeAlwaysGivesIt) { expect_values(vg::randint(7, 8, {5}), {5}, {7, 7, 7, 7, 7}); }

TEST(Random, RandintNeedsLowBelowHigh) {
  EXPECT_ERROR_CONTAINS(vg::randint(3, 3, {2}), "randint: expected low < high, but got low=3 and high=3");
  EXPECT_ERROR_CONTAINS(vg::randint(5, 1, {2}), "low=5 and high=1");
}

TEST(Random, ManualSeedMakesDrawsReproducible) {
  vg::manual_seed(42);
  const auto a = values(vg::rand({64}));
  const auto an = values(vg::randn({64}));
  const auto ai = values(vg::randint(0, 1000, {64}));
  vg::manual_seed(42);
  EXPECT_EQ(values(vg::rand({64})), a);
  EXPECT_EQ(values(vg::randn({64})), an);
  EXPECT_EQ(values(vg::randint(0, 1000, {64})), ai);
}

TEST(Random, DifferentSeedsGiveDifferentDraws) {
  vg::manual_seed(42);
  const auto a = values(vg::rand({64}));
  vg::manual_seed(43);
  const auto b = values(vg::rand({64}));
  EXPECT_NE(a, b);
  // Consecutive draws without reseeding differ too.
  EXPECT_NE(values(vg::rand({64})), b);
}

TEST(Random, GeneratorObjectsAreIndependentStreams) {
  vg::Generator g1(7), g2(7);
  EXPECT_EQ(g1.next_u64(), g2.next_u64());
  const double d = g1.next_double();
  EXPECT_GE(d, 0.0);
  EXPECT_LT(d, 1.0);
  EXPECT_EQ(g2.next_double(), d);
  g2.seed_(8);
  EXPECT_NE(g1.next_u64(), g2.next_u64());
}

// --- copies from memory and lists ------------------------------------------------------------------

TEST(FromBlob, CopiesFloatData) {
  std::vector<float> src{1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f};
  const Tensor t = vg::from_blob(src.data(), {2, 3});
  EXPECT_EQ(t.dtype(), vg::kFloat32);
  src[0] = 100.0f;
  expect_values(t, {2, 3}, {1.5, 2.5, 3.5, 4.5, 5.5, 6.5});
  EXPECT_NE(t.data_ptr<float>(), src.data());
}

TEST(FromBlob, CopiesDoubleData) {
  double src[] = {0.1, 0.2, 0.3};
  const Tensor t = vg::from_blob(src, {3});
  EXPECT_EQ(t.dtype(), vg::kFloat64);
  src[1] = -1.0;
  expect_values(t, {3}, {0.1, 0.2, 0.3});
}

TEST(FromBlob, CopiesInt64Data) {
  std::vector<std::int64_t> src{std::int64_t{1} << 53, -7, 0, 9};
  const Tensor t = vg::from_blob(src.data(), {2, 2});
  EXPECT_EQ(t.dtype(), vg::kInt64);
  src.assign(4, 0);
  EXPECT_EQ(t.data_ptr<std::int64_t>()[0], std::int64_t{1} << 53);
  EXPECT_EQ(t.data_ptr<std::int64_t>()[1], -7);
  EXPECT_EQ(t.data_ptr<std::int64_t>()[3], 9);
}

TEST(FromBlob, ConvertsToTheRequestedDtypeAndCanRequireGrad) {
  const std::vector<double> src{1.25, 2.75};
  const Tensor t = vg::from_blob(src.data(), {2}, vg::dtype(vg::kFloat32).requires_grad(true));
  EXPECT_EQ(t.dtype(), vg::kFloat32);
  EXPECT_TRUE(t.requires_grad());
  EXPECT_TRUE(t.is_leaf());
  expect_values(t, {2}, {1.25, 2.75});
}

TEST(FromBlob, NullDataIsAnErrorUnlessEmpty) {
  EXPECT_ERROR_CONTAINS(vg::from_blob<float>(nullptr, {2}), "from_blob: data is null for size [2]");
  EXPECT_EQ(vg::from_blob<float>(nullptr, {0, 3}).numel(), 0);
}

TEST(Factory, TensorFromAListIsFloat32ByDefault) {
  const Tensor t = vg::tensor({1.0, 2.5, -3.0});
  EXPECT_EQ(t.dtype(), vg::kFloat32);
  EXPECT_FALSE(t.requires_grad());
  expect_values(t, {3}, {1.0, 2.5, -3.0});
  expect_values(vg::tensor(std::vector<double>{4.0, 5.0}), {2}, {4, 5});
  expect_values(vg::tensor(std::vector<double>{}), {0}, {});
}

TEST(Factory, TensorFromAListTakesOptions) {
  const Tensor t = vg::tensor({1.0, 2.0}, vg::dtype(vg::kFloat64).requires_grad(true));
  EXPECT_EQ(t.dtype(), vg::kFloat64);
  EXPECT_TRUE(t.requires_grad());
  EXPECT_TRUE(t.is_leaf());
  EXPECT_EQ(values(t), (std::vector<double>{1.0, 2.0}));
  const Tensor i = vg::tensor({3, 4}, vg::kInt64);
  EXPECT_EQ(i.dtype(), vg::kInt64);
  EXPECT_EQ(i.data_ptr<std::int64_t>()[1], 4);
}

TEST(Factory, IntegerTensorsCannotRequireGrad) {
  EXPECT_ERROR_CONTAINS(vg::tensor({1.0}, vg::dtype(vg::kInt64).requires_grad(true)),
                        "only floating point tensors can require gradients");
  EXPECT_ERROR_CONTAINS(vg::zeros({2}, vg::dtype(vg::kInt64).requires_grad(true)), "int64");
}

TEST(Factory, ScalarTensorIsZeroDim) {
  const Tensor s = vg::scalar_tensor(3.5);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.dtype(), vg::kFloat32);
  EXPECT_EQ(s.item<float>(), 3.5f);
  const Tensor d = vg::scalar_tensor(0.1, vg::dtype(vg::kFloat64).requires_grad(true));
  EXPECT_EQ(d.item<double>(), 0.1);
  EXPECT_TRUE(d.requires_grad());
  EXPECT_EQ(vg::scalar_tensor(-4.0, vg::kInt64).item<std::int64_t>(), -4);
}

TEST(Factory, FactoriesRequireGradOnlyWhenAsked) {
  EXPECT_TRUE(vg::zeros({2}, vg::requires_grad()).requires_grad());
  EXPECT_TRUE(vg::ones({2}, vg::requires_grad()).requires_grad());
  EXPECT_TRUE(vg::empty({2}, vg::requires_grad()).requires_grad());
  EXPECT_TRUE(vg::full({2}, 3.0, vg::requires_grad()).requires_grad());
  EXPECT_TRUE(vg::rand({2}, vg::requires_grad()).requires_grad());
  EXPECT_TRUE(vg::randn({2}, vg::requires_grad()).requires_grad());
  EXPECT_TRUE(vg::arange(0.0, 3.0, 1.0, vg::requires_grad()).requires_grad());
  EXPECT_FALSE(vg::zeros({2}, vg::requires_grad(false)).requires_grad());
  const Tensor z = vg::zeros({2}, vg::requires_grad());
  EXPECT_TRUE(z.is_leaf());
  EXPECT_EQ(z.grad_fn(), nullptr);
  expect_values(z, {2}, {0, 0});
}

// --- *_like ----------------------------------------------------------------------------------------

TEST(FactoryLike, CopyShapeAndDtypeButNotValuesOrGrad) {
  const Tensor src = vg::arange(6.0, vg::dtype(vg::kFloat64).requires_grad(true)).view({2, 3});
  const Tensor z = vg::zeros_like(src);
  EXPECT_EQ(z.dtype(), vg::kFloat64);
  EXPECT_FALSE(z.requires_grad());
  expect_values(z, {2, 3}, {0, 0, 0, 0, 0, 0});
  expect_values(vg::ones_like(src), {2, 3}, {1, 1, 1, 1, 1, 1});
  expect_values(vg::full_like(src, -2.0), {2, 3}, {-2, -2, -2, -2, -2, -2});
  const Tensor e = vg::empty_like(src);
  EXPECT_EQ(e.sizes(), (vg::Shape{2, 3}));
  EXPECT_EQ(e.dtype(), vg::kFloat64);
  EXPECT_FALSE(e.is_same(src));
}

TEST(FactoryLike, OfANonContiguousTensorIsContiguous) {
  const Tensor t = vg::zeros({2, 3}).t();
  const Tensor o = vg::ones_like(t);
  EXPECT_EQ(o.sizes(), (vg::Shape{3, 2}));
  EXPECT_TRUE(o.is_contiguous());
}

TEST(FactoryLike, RandomLikeUseTheGlobalGenerator) {
  const Tensor src = vg::zeros({3, 4}, vg::kFloat64);
  vg::manual_seed(9);
  const Tensor r = vg::rand_like(src);
  const Tensor n = vg::randn_like(src);
  EXPECT_EQ(r.dtype(), vg::kFloat64);
  EXPECT_EQ(n.sizes(), (vg::Shape{3, 4}));
  vg::manual_seed(9);
  EXPECT_EQ(values(vg::rand({3, 4}, vg::kFloat64)), values(r));
  EXPECT_EQ(values(vg::randn({3, 4}, vg::kFloat64)), values(n));
  for (double x : values(r)) {
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
  }
}

TEST(FactoryLike, IntegerLikeKeepsInt64) {
  const Tensor i = vg::full_like(vg::zeros({2}, vg::kInt64), 3.0);
  EXPECT_EQ(i.dtype(), vg::kInt64);
  expect_values(i, {2}, {3, 3});
  EXPECT_ERROR_CONTAINS(vg::rand_like(i), "expected a floating dtype");
}

TEST(FactoryLike, OfAnUndefinedTensorThrows) {
  EXPECT_ERROR_CONTAINS(vg::zeros_like(Tensor()), "undefined");
  EXPECT_ERROR_CONTAINS(vg::randn_like(Tensor()), "undefined");
}

// --- TensorOptions ---------------------------------------------------------------------------------

TEST(TensorOptions, DefaultsToFloat32WithoutGrad) {
  const vg::TensorOptions o;
  EXPECT_EQ(o.dtype(), vg::kFloat32);
  EXPECT_FALSE(o.requires_grad());
}

TEST(TensorOptions, BuilderReturnsModifiedCopies) {
  const vg::TensorOptions base = vg::dtype(vg::kFloat64);
  const vg::TensorOptions grad = base.requires_grad(true);
  EXPECT_EQ(base.dtype(), vg::kFloat64);
  EXPECT_FALSE(base.requires_grad());
  EXPECT_EQ(grad.dtype(), vg::kFloat64);
  EXPECT_TRUE(grad.requires_grad());
  const vg::TensorOptions back = grad.dtype(vg::kInt64).requires_grad(false);
  EXPECT_EQ(back.dtype(), vg::kInt64);
  EXPECT_FALSE(back.requires_grad());
  EXPECT_TRUE(vg::requires_grad().requires_grad());
  EXPECT_EQ(vg::requires_grad().dtype(), vg::kFloat32);
  EXPECT_EQ(vg::requires_grad().dtype(vg::kFloat64).dtype(), vg::kFloat64);
}

TEST(TensorOptions, ABareDtypeConvertsToOptions) {
  const vg::TensorOptions o = vg::kDouble;
  EXPECT_EQ(o.dtype(), vg::kFloat64);
  EXPECT_FALSE(o.requires_grad());
  EXPECT_EQ(vg::kFloat, vg::kFloat32);
  EXPECT_EQ(vg::kLong, vg::kInt64);
}

TEST(DType, NamesSizesAndPromotion) {
  EXPECT_EQ(vg::dtype_name(vg::kFloat32), "float32");
  EXPECT_EQ(vg::dtype_name(vg::kFloat64), "float64");
  EXPECT_EQ(vg::dtype_name(vg::kInt64), "int64");
  EXPECT_EQ(fmt::format("{}", vg::kInt64), "int64");
  EXPECT_EQ(vg::element_size(vg::kFloat32), 4u);
  EXPECT_EQ(vg::element_size(vg::kFloat64), 8u);
  EXPECT_EQ(vg::element_size(vg::kInt64), 8u);
  EXPECT_TRUE(vg::is_floating_point(vg::kFloat32));
  EXPECT_FALSE(vg::is_floating_point(vg::kInt64));
  EXPECT_EQ(vg::promote_types(vg::kFloat32, vg::kFloat64), vg::kFloat64);
  EXPECT_EQ(vg::promote_types(vg::kInt64, vg::kFloat32), vg::kFloat32);
  EXPECT_EQ(vg::promote_types(vg::kInt64, vg::kFloat64), vg::kFloat64);
  EXPECT_EQ(vg::promote_types(vg::kInt64, vg::kInt64), vg::kInt64);
}

TEST(Factory, NestedListsBuildMatricesAndVolumes) {
  const Tensor m = vg::tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, vg::kFloat64);
  expect_values(m, {2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor v =
      vg::tensor({{{1.0, 2.0}, {3.0, 4.0}}, {{5.0, 6.0}, {7.0, 8.0}}}, vg::dtype(vg::kFloat32).requires_grad(true));
  expect_values(v, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(v.dtype(), vg::kFloat32);
  EXPECT_TRUE(v.is_leaf());
  EXPECT_TRUE(v.requires_grad());
  EXPECT_ERROR_CONTAINS(vg::tensor({{1.0, 2.0}, {3.0}}), "expected rows of length 2, but got one of length 1");
}

TEST(Factory, StorageLargerThanPhysicalMemoryIsRefusedBeforeAllocating) {
  // 2^42 float32 elements = 16 TiB: more than any machine this runs on, but no int64 overflow.
  EXPECT_ERROR_CONTAINS(vg::zeros({std::int64_t{1} << 42}), "GiB of memory");
  EXPECT_ERROR_CONTAINS(vg::empty({std::int64_t{1} << 21, std::int64_t{1} << 21}), "cannot allocate");
}
