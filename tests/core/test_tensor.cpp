// Tensor handles: metadata, element access, in-place ops and the shape utilities behind them.

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <voxgrad/voxgrad.h>
#include "test_util.h"

namespace vg = voxgrad;
using vg::Tensor;
using vg::testing::expect_values;
using vg::testing::values;

namespace {

/// [[0, 1, 2], [3, 4, 5]] as float32.
Tensor two_by_three() { return vg::arange(6.0).view({2, 3}); }

}  // namespace

// --- metadata -------------------------------------------------------------------------------------

TEST(Tensor, SizesStridesAndDimDescribeARowMajorLayout) {
  const Tensor t = vg::zeros({2, 3, 4});
  EXPECT_EQ(t.sizes(), (vg::Shape{2, 3, 4}));
  EXPECT_EQ(t.strides(), (vg::Shape{12, 4, 1}));
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dtype(), vg::kFloat32);
  EXPECT_EQ(t.storage_offset(), 0);
  EXPECT_TRUE(t.is_contiguous());
}

TEST(Tensor, SizeAndStrideAcceptNegativeDims) {
  const Tensor t = vg::zeros({2, 3, 4});
  EXPECT_EQ(t.size(0), 2);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.size(-3), 2);
  EXPECT_EQ(t.stride(1), 4);
  EXPECT_EQ(t.stride(-1), 1);
  EXPECT_EQ(t.stride(-3), 12);
}

TEST(Tensor, SizeOutOfRangeNamesTheValidRange) {
  const Tensor t = vg::zeros({2, 3});
  EXPECT_ERROR_CONTAINS(t.size(2), "expected to be in range of [-2, 1], but got 2");
  EXPECT_ERROR_CONTAINS(t.size(-3), "but got -3");
  EXPECT_ERROR_CONTAINS(t.stride(5), "dimension out of range");
}

TEST(Tensor, ZeroDimTensorHasNoSizesAndOneElement) {
  const Tensor s = vg::scalar_tensor(2.5);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_TRUE(s.sizes().empty());
  EXPECT_TRUE(s.strides().empty());
  EXPECT_EQ(s.numel(), 1);
  EXPECT_TRUE(s.is_contiguous());
  EXPECT_ERROR_CONTAINS(s.size(0), "tensor has no dimensions");
  EXPECT_ERROR_CONTAINS(s.stride(0), "tensor has no dimensions");
}

TEST(Tensor, ViewsReportTheirStorageOffsetAndStrides) {
  const Tensor t = two_by_three();
  const Tensor row = t.select(0, 1);
  EXPECT_EQ(row.storage_offset(), 3);
  EXPECT_EQ(row.sizes(), (vg::Shape{3}));
  const Tensor col = t.select(1, 2);
  EXPECT_EQ(col.storage_offset(), 2);
  EXPECT_EQ(col.strides(), (vg::Shape{3}));
  const Tensor tt = t.t();
  EXPECT_EQ(tt.sizes(), (vg::Shape{3, 2}));
  EXPECT_EQ(tt.strides(), (vg::Shape{1, 3}));
  EXPECT_EQ(tt.storage_offset(), 0);
}

TEST(Tensor, TransposedAndSteppedViewsAreNotContiguous) {
  const Tensor t = two_by_three();
  EXPECT_FALSE(t.t().is_contiguous());
  EXPECT_FALSE(t.select(1, 0).is_contiguous());
  EXPECT_FALSE(vg::arange(10.0).slice(0, 0, 10, 2).is_contiguous());
  EXPECT_TRUE(t.select(0, 1).is_contiguous());
  EXPECT_TRUE(t.t().contiguous().is_contiguous());
}

TEST(Tensor, SizeOneDimsDoNotAffectContiguity) {
  // A [1, 4] row of a [3, 4] matrix is contiguous whatever its dim-0 stride; a [3, 1] column is not.
  const Tensor m = vg::zeros({3, 4});
  const Tensor row = m.narrow(0, 1, 1);
  EXPECT_EQ(row.strides(), (vg::Shape{4, 1}));
  EXPECT_TRUE(row.is_contiguous());
  const Tensor col = m.narrow(1, 2, 1);
  EXPECT_EQ(col.sizes(), (vg::Shape{3, 1}));
  EXPECT_FALSE(col.is_contiguous());
  // Unsqueezed or transposed size-1 dims keep a tensor contiguous.
  const Tensor v = vg::zeros({5});
  EXPECT_TRUE(v.unsqueeze(0).is_contiguous());
  EXPECT_TRUE(v.unsqueeze(1).is_contiguous());
  EXPECT_TRUE(v.unsqueeze(0).t().is_contiguous());
  EXPECT_TRUE(vg::zeros({1, 1, 1}).permute({2, 0, 1}).is_contiguous());
}

TEST(Tensor, EveryEmptyTensorIsContiguous) {
  const Tensor e = vg::zeros({2, 0, 3});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_TRUE(e.is_contiguous());
  // Whatever the strides, a tensor without elements has nothing out of order (as in PyTorch).
  EXPECT_TRUE(vg::zeros({0, 3, 2}).transpose(1, 2).is_contiguous());
  EXPECT_TRUE(vg::zeros({3, 0}).t().is_contiguous());
}

TEST(Tensor, DataPtrGivesTheFirstElementOfAView) {
  const Tensor t = two_by_three();
  EXPECT_EQ(t.data_ptr<float>()[4], 4.0f);
  EXPECT_EQ(*t.select(0, 1).data_ptr<float>(), 3.0f);
  EXPECT_EQ(t.select(0, 1).data_ptr<float>(), t.data_ptr<float>() + 3);
  EXPECT_EQ(t.raw_data_ptr(), static_cast<void*>(t.data_ptr<float>()));
  const Tensor d = vg::tensor({1.0, 2.0}, vg::kFloat64);
  EXPECT_EQ(d.data_ptr<double>()[1], 2.0);
  const Tensor i = vg::tensor({7, 8}, vg::kInt64);
  EXPECT_EQ(i.data_ptr<std::int64_t>()[1], 8);
}

TEST(Tensor, DataPtrOfTheWrongTypeNamesBothDtypes) {
  const Tensor t = vg::zeros({2});
  EXPECT_ERROR_CONTAINS(t.data_ptr<double>(), "expected a tensor of dtype float64, but it has dtype float32");
  EXPECT_ERROR_CONTAINS(t.data_ptr<std::int64_t>(), "expected a tensor of dtype int64, but it has dtype float32");
  EXPECT_ERROR_CONTAINS(vg::zeros({2}, vg::kInt64).data_ptr<float>(), "dtype float32, but it has dtype int64");
}

TEST(Tensor, ItemConvertsToRequestedType) {
  const Tensor f = vg::scalar_tensor(2.75);
  EXPECT_EQ(f.item<float>(), 2.75f);
  EXPECT_EQ(f.item<double>(), 2.75);
  EXPECT_EQ(f.item<std::int64_t>(), 2);
  EXPECT_EQ(f.item<int>(), 2);
  const Tensor i = vg::full({1, 1}, -9.0, vg::kInt64);
  EXPECT_EQ(i.item<double>(), -9.0);
  EXPECT_EQ(i.item<std::int64_t>(), -9);
  // A one-element view reads its own element, not element 0 of the storage.
  EXPECT_EQ(two_by_three().select(0, 1).select(0, 2).item<double>(), 5.0);
}

TEST(Tensor, ItemOfSeveralElementsIsAnError) {
  EXPECT_ERROR_CONTAINS(vg::zeros({2, 3}).item<float>(), "a Tensor with 6 elements cannot be converted to a scalar");
  EXPECT_ERROR_CONTAINS(vg::zeros({0}).item<float>(), "a Tensor with 0 elements");
}

TEST(Tensor, UndefinedTensorReportsNotDefined) {
  const Tensor u;
  EXPECT_FALSE(u.defined());
  EXPECT_TRUE(vg::zeros({1}).defined());
  EXPECT_EQ(u.impl(), nullptr);
}

TEST(Tensor, UndefinedTensorMetadataThrowsInsteadOfCrashing) {
  const Tensor u;
  EXPECT_ERROR_CONTAINS(u.sizes(), "undefined");
  EXPECT_ERROR_CONTAINS(u.strides(), "undefined");
  EXPECT_ERROR_CONTAINS(u.size(0), "undefined");
  EXPECT_ERROR_CONTAINS(u.stride(0), "undefined");
  EXPECT_ERROR_CONTAINS(u.dim(), "undefined");
  EXPECT_ERROR_CONTAINS(u.numel(), "undefined");
  EXPECT_ERROR_CONTAINS(u.dtype(), "undefined");
  EXPECT_ERROR_CONTAINS(u.storage_offset(), "undefined");
  EXPECT_ERROR_CONTAINS(u.is_contiguous(), "undefined");
  EXPECT_ERROR_CONTAINS(u.version(), "undefined");
  EXPECT_ERROR_CONTAINS(u.data_ptr<float>(), "undefined");
  EXPECT_ERROR_CONTAINS(u.raw_data_ptr(), "undefined");
  EXPECT_ERROR_CONTAINS(u.item<float>(), "undefined");
  EXPECT_ERROR_CONTAINS(u.requires_grad(), "undefined");
  EXPECT_ERROR_CONTAINS(u.to(vg::kFloat64), "undefined");
  EXPECT_ERROR_CONTAINS(u.clone(), "undefined");
}

TEST(Tensor, InPlaceOpsOnUndefinedTensorsThrow) {
  Tensor u;
  EXPECT_ERROR_CONTAINS(u.add_(1.0), "undefined");
  EXPECT_ERROR_CONTAINS(u.zero_(), "undefined");
  Tensor t = vg::zeros({2});
  EXPECT_ERROR_CONTAINS(t.add_(Tensor()), "undefined");
  EXPECT_ERROR_CONTAINS(t.copy_(Tensor()), "undefined");
  EXPECT_ERROR_CONTAINS(u.copy_(t), "undefined");
}

TEST(Tensor, CopiesOfAHandleShareTheTensor) {
  Tensor a = vg::zeros({3});
  Tensor b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_TRUE(a.is_same(b));
  b.fill_(4.0);
  expect_values(a, {3}, {4, 4, 4});
  b.requires_grad_(true);
  EXPECT_TRUE(a.requires_grad());
  EXPECT_FALSE(a.is_same(a.clone()));
  EXPECT_FALSE(a.is_same(a.view({3})));
  EXPECT_FALSE(a.is_same(Tensor()));
  EXPECT_TRUE(Tensor().is_same(Tensor()));
}

TEST(Tensor, ToConvertsTheDtypeAndKeepsValues) {
  const Tensor f = vg::tensor({1.5, -2.25, 3.0});
  const Tensor d = f.to(vg::kFloat64);
  EXPECT_EQ(d.dtype(), vg::kFloat64);
  expect_values(d, {3}, {1.5, -2.25, 3.0});
  const Tensor i = f.to(vg::kInt64);
  EXPECT_EQ(i.dtype(), vg::kInt64);
  // Conversion to an integer truncates toward zero, as a C++ cast (and PyTorch) does.
  expect_values(i, {3}, {1, -2, 3});
  // Converting a non-contiguous view yields its logical order.
  expect_values(two_by_three().t().to(vg::kFloat64), {3, 2}, {0, 3, 1, 4, 2, 5});
}

TEST(Tensor, ToTheSameDtypeReturnsTheSameTensor) {
  const Tensor f = vg::zeros({2});
  EXPECT_TRUE(f.to(vg::kFloat32).is_same(f));
  EXPECT_FALSE(f.to(vg::kFloat64).is_same(f));
}

TEST(Tensor, ToCopiesSoTheResultDoesNotAliasTheSource) {
  Tensor f = vg::zeros({2});
  const Tensor d = f.to(vg::kFloat64);
  f.fill_(1.0);
  expect_values(d, {2}, {0, 0});
}

TEST(Tensor, DetachSharesStorageButDropsGradientTracking) {
  Tensor a = vg::ones({2}).requires_grad_();
  Tensor d = a.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.data_ptr<float>(), a.data_ptr<float>());
  d.fill_(3.0);
  expect_values(a, {2}, {3, 3});
}

// --- in-place arithmetic ---------------------------------------------------------------------------

TEST(TensorInPlace, AddWithAlphaScalesTheOther) {
  Tensor a = vg::tensor({1, 2, 3});
  Tensor& r = a.add_(vg::tensor({10, 20, 30}), 0.5);
  EXPECT_EQ(&r, &a);
  expect_values(a, {3}, {6, 12, 18});
  a.add_(vg::tensor({1, 1, 1}));
  expect_values(a, {3}, {7, 13, 19});
}

TEST(TensorInPlace, SubWithAlphaAndScalar) {
  Tensor a = vg::tensor({10, 20, 30}, vg::kFloat64);
  a.sub_(vg::tensor({1, 2, 3}, vg::kFloat64), 2.0);
  expect_values(a, {3}, {8, 16, 24});
  a.sub_(1.5);
  expect_values(a, {3}, {6.5, 14.5, 22.5});
  a.add_(0.5);
  expect_values(a, {3}, {7, 15, 23});
}

TEST(TensorInPlace, MulAndDivByTensorAndScalar) {
  Tensor a = vg::tensor({1, 2, 3, 4});
  a.mul_(vg::tensor({2, 3, 4, 5}));
  expect_values(a, {4}, {2, 6, 12, 20});
  a.div_(vg::tensor({2, 2, 4, 5}));
  expect_values(a, {4}, {1, 3, 3, 4});
  a.mul_(2.5);
  expect_values(a, {4}, {2.5, 7.5, 7.5, 10});
  a.div_(2.5);
  expect_values(a, {4}, {1, 3, 3, 4});
}

TEST(TensorInPlace, DivisionByZeroFollowsIeee) {
  Tensor a = vg::tensor({1, -1, 0});
  a.div_(0.0);
  const auto v = values(a);
  EXPECT_EQ(v[0], std::numeric_limits<double>::infinity());
  EXPECT_EQ(v[1], -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(v[2]));
}

TEST(TensorInPlace, OtherIsBroadcastToSelf) {
  Tensor a = vg::zeros({2, 3});
  a.add_(vg::tensor({1, 2, 3}));
  expect_values(a, {2, 3}, {1, 2, 3, 1, 2, 3});
  a.mul_(vg::tensor({10, 100}).view({2, 1}));
  expect_values(a, {2, 3}, {10, 20, 30, 100, 200, 300});
  a.sub_(vg::scalar_tensor(5.0));
  expect_values(a, {2, 3}, {5, 15, 25, 95, 195, 295});
}

TEST(TensorInPlace, OtherOfAnotherDtypeIsConverted) {
  Tensor a = vg::tensor({1, 2});
  a.add_(vg::tensor({0.25, 0.5}, vg::kFloat64));
  EXPECT_EQ(a.dtype(), vg::kFloat32);
  expect_values(a, {2}, {1.25, 2.5});
  a.mul_(vg::tensor({2, 4}, vg::kInt64));
  expect_values(a, {2}, {2.5, 10});
}

TEST(TensorInPlace, ZeroAndFillWorkForEveryDtype) {
  Tensor f = vg::ones({2, 2});
  f.zero_();
  expect_values(f, {2, 2}, {0, 0, 0, 0});
  f.fill_(-1.5);
  expect_values(f, {2, 2}, {-1.5, -1.5, -1.5, -1.5});
  Tensor i = vg::ones({3}, vg::kInt64);
  i.fill_(7.0);
  expect_values(i, {3}, {7, 7, 7});
  i.zero_();
  expect_values(i, {3}, {0, 0, 0});
  Tensor d = vg::ones({0}, vg::kFloat64);
  d.fill_(3.0);  // nothing to write, no error
  EXPECT_EQ(d.numel(), 0);
}

TEST(TensorInPlace, FillThroughAViewWritesOnlyTheView) {
  Tensor t = vg::zeros({3, 3});
  t.select(1, 1).fill_(5.0);
  expect_values(t, {3, 3}, {0, 5, 0, 0, 5, 0, 0, 5, 0});
  t.narrow(0, 2, 1).zero_();
  expect_values(t, {3, 3}, {0, 5, 0, 0, 5, 0, 0, 0, 0});
}

TEST(TensorInPlace, OperatorsUpdateInPlace) {
  Tensor a = vg::tensor({2, 4});
  Tensor alias = a;
  a += vg::tensor({1, 1});
  a -= 0.5;
  a *= vg::tensor({2, 4});
  a /= 2.0;
  expect_values(alias, {2}, {2.5, 9});
  a += 1.0;
  a -= vg::tensor({0.5, 0.5});
  a *= 2.0;
  a /= vg::tensor({1, 2});
  expect_values(alias, {2}, {6, 9.5});
  EXPECT_TRUE(alias.is_same(a));
}

TEST(TensorInPlace, CopyBroadcastsTheSource) {
  Tensor t = vg::zeros({2, 3});
  t.copy_(vg::tensor({1, 2, 3}));
  expect_values(t, {2, 3}, {1, 2, 3, 1, 2, 3});
  t.copy_(vg::scalar_tensor(9.0));
  expect_values(t, {2, 3}, {9, 9, 9, 9, 9, 9});
}

TEST(TensorInPlace, CopyConvertsTheDtype) {
  Tensor i = vg::zeros({3}, vg::kInt64);
  i.copy_(vg::tensor({1.9, -1.9, 5.0}, vg::kFloat64));
  EXPECT_EQ(i.dtype(), vg::kInt64);
  expect_values(i, {3}, {1, -1, 5});
  Tensor d = vg::zeros({3}, vg::kFloat64);
  d.copy_(vg::tensor({0.1, 0.2, 0.3}));  // float32 source
  EXPECT_EQ(values(d)[0], static_cast<double>(0.1f));
  Tensor f = vg::zeros({2});
  f.copy_(vg::full({2}, 3.0, vg::kInt64));
  expect_values(f, {2}, {3, 3});
}

TEST(TensorInPlace, CopyFromANonContiguousSource) {
  Tensor dst = vg::zeros({3, 2});
  dst.copy_(two_by_three().t());
  expect_values(dst, {3, 2}, {0, 3, 1, 4, 2, 5});
  Tensor strided = vg::zeros({3});
  strided.copy_(vg::arange(6.0).slice(0, 0, 6, 2));
  expect_values(strided, {3}, {0, 2, 4});
}

TEST(TensorInPlace, CopyIntoANonContiguousView) {
  Tensor base = vg::zeros({2, 3});
  base.t().copy_(vg::arange(6.0).view({3, 2}));
  expect_values(base, {2, 3}, {0, 2, 4, 1, 3, 5});
  Tensor m = vg::zeros({3, 3});
  m.select(1, 0).copy_(vg::tensor({1, 2, 3}));
  expect_values(m, {3, 3}, {1, 0, 0, 2, 0, 0, 3, 0, 0});
  Tensor v = vg::zeros({6});
  v.slice(0, 1, 6, 2).copy_(vg::tensor({7, 8, 9}));
  expect_values(v, {6}, {0, 7, 0, 8, 0, 9});
}

TEST(TensorInPlace, ArithmeticThroughANonContiguousView) {
  Tensor m = two_by_three();
  m.t().add_(vg::tensor({100, 200}));  // [3, 2] view: adds 100 to row 0, 200 to row 1 of m
  expect_values(m, {2, 3}, {100, 101, 102, 203, 204, 205});
  m.select(1, 1).mul_(0.0);
  expect_values(m, {2, 3}, {100, 0, 102, 203, 0, 205});
}

TEST(TensorInPlace, EveryOpBumpsTheVersionCounter) {
  Tensor t = vg::zeros({2});
  std::uint32_t v = t.version();
  auto bumped = [&] {
    const std::uint32_t now = t.version();
    const bool ok = now == v + 1;
    v = now;
    return ok;
  };
  t.add_(1.0);
  EXPECT_TRUE(bumped());
  t.add_(vg::ones({2}), 2.0);
  EXPECT_TRUE(bumped());
  t.sub_(1.0);
  EXPECT_TRUE(bumped());
  t.sub_(vg::ones({2}));
  EXPECT_TRUE(bumped());
  t.mul_(2.0);
  EXPECT_TRUE(bumped());
  t.mul_(vg::ones({2}));
  EXPECT_TRUE(bumped());
  t.div_(2.0);
  EXPECT_TRUE(bumped());
  t.div_(vg::ones({2}));
  EXPECT_TRUE(bumped());
  t.zero_();
  EXPECT_TRUE(bumped());
  t.fill_(1.0);
  EXPECT_TRUE(bumped());
  t.copy_(vg::zeros({2}));
  EXPECT_TRUE(bumped());
  t += 1.0;
  EXPECT_TRUE(bumped());
}

TEST(TensorInPlace, OutOfPlaceOpsAndReadsDoNotBumpTheVersion) {
  const Tensor t = vg::ones({3});
  const std::uint32_t v = t.version();
  (void)(t + t);
  (void)t.sum();
  (void)t.clone();
  (void)t.view({3, 1});
  EXPECT_EQ(t.version(), v);
}

TEST(TensorInPlace, VersionCounterIsSharedBetweenViewsOfOneStorage) {
  Tensor base = vg::zeros({2, 3});
  Tensor row = base.select(0, 1);
  Tensor tr = base.t();
  const std::uint32_t v = base.version();
  EXPECT_EQ(row.version(), v);
  row.fill_(1.0);
  EXPECT_EQ(base.version(), v + 1);
  EXPECT_EQ(tr.version(), v + 1);
  tr.mul_(2.0);
  EXPECT_EQ(row.version(), v + 2);
  EXPECT_EQ(base.detach().version(), v + 2);
  // A clone has its own storage and its own counter.
  Tensor c = base.clone();
  const std::uint32_t cv = c.version();
  c.add_(1.0);
  EXPECT_EQ(base.version(), v + 2);
  EXPECT_EQ(c.version(), cv + 1);
}

TEST(TensorInPlace, WritingIntoAnExpandedTensorIsAnError) {
  Tensor e = vg::tensor({1, 2}).view({2, 1}).expand({2, 3});
  EXPECT_ERROR_CONTAINS(e.add_(1.0), "more than one element");
  EXPECT_ERROR_CONTAINS(e.fill_(0.0), "more than one element");
  EXPECT_ERROR_CONTAINS(e.copy_(vg::zeros({2, 3})), "more than one element");
  EXPECT_ERROR_CONTAINS(e.mul_(vg::ones({2, 3})), "more than one element");
  // The failed writes left the data alone.
  expect_values(e, {2, 3}, {1, 1, 1, 2, 2, 2});
}

TEST(TensorInPlace, ExpandingOnlySizeOneDimsToSizeOneIsWritable) {
  Tensor e = vg::tensor({1, 2, 3}).expand({1, 3});
  e.add_(1.0);
  expect_values(e, {1, 3}, {2, 3, 4});
}

TEST(TensorInPlace, OtherThatBroadcastsBeyondSelfIsAnError) {
  Tensor a = vg::zeros({3});
  EXPECT_ERROR_CONTAINS(a.add_(vg::ones({2, 3})),
                        "add_: output with shape [3] doesn't match the broadcast shape [2, 3]");
  EXPECT_ERROR_CONTAINS(a.copy_(vg::ones({2, 3})), "doesn't match the broadcast shape");
  EXPECT_ERROR_CONTAINS(a.mul_(vg::ones({4})), "cannot be broadcast");
  Tensor b = vg::zeros({2, 1});
  EXPECT_ERROR_CONTAINS(b.sub_(vg::ones({2, 3})), "sub_: output with shape [2, 1] doesn't match");
  expect_values(a, {3}, {0, 0, 0});
}

TEST(TensorInPlace, ArithmeticOnInt64IsRejectedWithTheDtype) {
  Tensor i = vg::zeros({2}, vg::kInt64);
  EXPECT_ERROR_CONTAINS(i.add_(1.0), "int64");
  EXPECT_ERROR_CONTAINS(i.mul_(vg::ones({2})), "int64");
}

TEST(TensorInPlace, OnALeafRequiringGradInGradModeIsAnError) {
  Tensor w = vg::ones({2}).requires_grad_();
  // PyTorch's rule: a leaf that requires grad may only be modified under NoGradGuard.
  EXPECT_ERROR_CONTAINS(w.add_(1.0),
                        "add_: a leaf Variable that requires grad is being used in an in-place operation.");
  EXPECT_ERROR_CONTAINS(w.copy_(vg::zeros({2})), "copy_: a leaf Variable");
  EXPECT_ERROR_CONTAINS(w.zero_(), "zero_: a leaf Variable");
  expect_values(w, {2}, {1, 1});
}

TEST(TensorInPlace, OnATensorRequiringGradIsAllowedUnderNoGradGuard) {
  Tensor w = vg::ones({2}).requires_grad_();
  const std::uint32_t v = w.version();
  {
    vg::NoGradGuard guard;
    w.sub_(vg::tensor({0.5, 0.25}), 2.0);
    w *= 2.0;
  }
  expect_values(w, {2}, {0, 1});
  EXPECT_EQ(w.version(), v + 2);
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(vg::GradMode::is_enabled());
}

TEST(TensorInPlace, CopyFromItsOwnTransposeGivesTheTranspose) {
  Tensor x = vg::arange(9.0).view({3, 3});
  x.copy_(x.t());
  expect_values(x, {3, 3}, {0, 3, 6, 1, 4, 7, 2, 5, 8});
}

TEST(TensorInPlace, AddOwnTransposeGivesTheSymmetricSum) {
  Tensor x = vg::arange(16.0, vg::kFloat64).view({4, 4});
  const Tensor expected = x + x.t();
  x.add_(x.t());
  vg::testing::expect_close(x, expected);
  vg::testing::expect_close(x, x.t().contiguous());
}

TEST(TensorInPlace, OverlappingShiftedSliceReadsTheOriginalValues) {
  // x[1:] = x[:-1] must shift the old values, not smear x[0] across the tensor.
  Tensor x = vg::arange(6.0);
  x.slice(0, 1).copy_(x.slice(0, 0, 5));
  expect_values(x, {6}, {0, 0, 1, 2, 3, 4});
  Tensor y = vg::arange(6.0);
  y.slice(0, 0, 5).add_(y.slice(0, 1));
  expect_values(y, {6}, {1, 3, 5, 7, 9, 5});
  Tensor z = vg::arange(1.0, 5.0);
  z.slice(0, 1).mul_(z.slice(0, 0, 3));
  expect_values(z, {4}, {1, 2, 6, 12});
}

TEST(TensorInPlace, SelfAsOtherUsesEachElementOnce) {
  Tensor x = vg::tensor({1, 2, 3});
  x.mul_(x);
  expect_values(x, {3}, {1, 4, 9});
  x.add_(x, -1.0);
  expect_values(x, {3}, {0, 0, 0});
  Tensor row = vg::arange(6.0).view({2, 3});
  row.add_(row.select(0, 0));  // broadcast an alias of row 0 over both rows
  expect_values(row, {2, 3}, {0, 2, 4, 3, 5, 7});
}

TEST(TensorInPlace, LargeTensorsGiveTheSameResultAsSmallOnes) {
  // Above the parallel grain, chunks are processed by several threads.
  const std::int64_t n = 200000;
  Tensor a = vg::arange(static_cast<double>(n), vg::kFloat64).view({n / 100, 100});
  a.t().mul_(2.0);
  a.add_(vg::ones({100}, vg::kFloat64), 3.0);
  const auto v = values(a);
  for (std::int64_t i = 0; i < n; i += 9973) EXPECT_EQ(v[i], 2.0 * i + 3.0) << i;
  EXPECT_EQ(v[n - 1], 2.0 * (n - 1) + 3.0);
}

// --- shape utilities -------------------------------------------------------------------------------

TEST(Shape, BroadcastShapesFollowsNumPyRules) {
  EXPECT_EQ(vg::broadcast_shapes({2, 1, 3}, {4, 3}, "t"), (vg::Shape{2, 4, 3}));
  EXPECT_EQ(vg::broadcast_shapes({}, {5}, "t"), (vg::Shape{5}));
  EXPECT_EQ(vg::broadcast_shapes({3, 1}, {1, 4}, "t"), (vg::Shape{3, 4}));
  EXPECT_EQ(vg::broadcast_shapes({0, 1}, {1, 3}, "t"), (vg::Shape{0, 3}));
  EXPECT_EQ(vg::broadcast_shapes({2, 3}, {2, 3}, "t"), (vg::Shape{2, 3}));
  EXPECT_EQ(vg::broadcast_shapes({}, {}, "t"), vg::Shape{});
}

TEST(Shape, BroadcastShapesErrorNamesOpAndBothShapes) {
  EXPECT_ERROR_CONTAINS(vg::broadcast_shapes({2, 3}, {4, 3}, "myop"),
                        "myop: shapes [2, 3] and [4, 3] cannot be broadcast");
  EXPECT_ERROR_CONTAINS(vg::broadcast_shapes({0}, {2}, "x"), "[0] and [2]");
}

TEST(Shape, ContiguousStridesAreRowMajor) {
  EXPECT_EQ(vg::contiguous_strides({2, 3, 4}), (vg::Shape{12, 4, 1}));
  EXPECT_EQ(vg::contiguous_strides({5}), (vg::Shape{1}));
  EXPECT_EQ(vg::contiguous_strides({}), vg::Shape{});
  // Size-0 dims count as 1, as PyTorch does.
  EXPECT_EQ(vg::contiguous_strides({2, 0, 3}), (vg::Shape{3, 3, 1}));
}

TEST(Shape, WrapDimResolvesNegativeDims) {
  EXPECT_EQ(vg::wrap_dim(-1, 3, "t"), 2);
  EXPECT_EQ(vg::wrap_dim(-3, 3, "t"), 0);
  EXPECT_EQ(vg::wrap_dim(1, 3, "t"), 1);
  // A 0-d tensor accepts dims 0 and -1.
  EXPECT_EQ(vg::wrap_dim(0, 0, "t"), 0);
  EXPECT_EQ(vg::wrap_dim(-1, 0, "t"), 0);
}

TEST(Shape, WrapDimOutOfRangeNamesOpRangeAndValue) {
  EXPECT_ERROR_CONTAINS(vg::wrap_dim(3, 3, "sum"),
                        "sum: dimension out of range (expected to be in range of [-3, 2], but got 3)");
  EXPECT_ERROR_CONTAINS(vg::wrap_dim(-4, 3, "sum"), "but got -4");
  EXPECT_ERROR_CONTAINS(vg::wrap_dim(1, 0, "op"), "[-1, 0], but got 1");
}

TEST(Shape, CheckedNumelMultipliesSizes) {
  EXPECT_EQ(vg::checked_numel({2, 3, 4}, "t"), 24);
  EXPECT_EQ(vg::checked_numel({}, "t"), 1);
  EXPECT_EQ(vg::checked_numel({5, 0, 7}, "t"), 0);
  EXPECT_EQ(vg::checked_numel({std::int64_t{1} << 31, std::int64_t{1} << 31}, "t"), std::int64_t{1} << 62);
}

TEST(Shape, CheckedNumelRejectsOverflowAndNegativeSizes) {
  EXPECT_ERROR_CONTAINS(vg::checked_numel({std::int64_t{1} << 40, std::int64_t{1} << 40}, "zeros"),
                        "zeros: size [1099511627776, 1099511627776] has more elements than int64 can count");
  EXPECT_ERROR_CONTAINS(vg::checked_numel({std::int64_t{1} << 62, 4}, "t"), "more elements than int64");
  EXPECT_ERROR_CONTAINS(vg::checked_numel({2, -3}, "empty"), "empty: negative dimension -3 in size [2, -3]");
}

TEST(Shape, ShapeStrFormatsAsABracketedList) {
  EXPECT_EQ(vg::shape_str({2, 3}), "[2, 3]");
  EXPECT_EQ(vg::shape_str({}), "[]");
  EXPECT_TRUE(vg::IntArrayRef({1, 2}) == vg::IntArrayRef(vg::Shape{1, 2}));
  EXPECT_FALSE(vg::IntArrayRef({1, 2}) == vg::IntArrayRef({1, 2, 3}));
}

// A view with an offset into an empty tensor, whose storage has no data, gives nullptr rather than
// nullptr + offset (undefined behaviour; UBSan: "applying non-zero offset to null pointer").
TEST(Tensor, DataPtrOfAnOffsetViewOfAnEmptyTensorIsNull) {
  const vg::Tensor empty = vg::zeros({3, 0}, vg::kFloat64);
  const vg::Tensor view = empty.narrow(0, 1, 2);
  EXPECT_EQ(view.numel(), 0);
  EXPECT_EQ(view.raw_data_ptr(), nullptr);
  EXPECT_EQ(view.data_ptr<double>(), nullptr);
  EXPECT_EQ(view.contiguous().sizes(), vg::Shape({2, 0}));
}

// --- set_data (PyTorch's `t.data = new_data`) -----------------------------------------------------

TEST(TensorSetData, EveryHandleSeesTheNewStorageSizesStridesOffsetAndDtype) {
  const Tensor t = vg::zeros({2, 2});
  const Tensor handle = t;                                                  // a second handle to the same tensor
  Tensor src = vg::arange(8.0, vg::kFloat64).view({2, 4}).narrow(1, 1, 2);  // offset 1, strides {4, 1}
  t.set_data(src);
  EXPECT_EQ(handle.dtype(), vg::kFloat64);
  EXPECT_EQ(handle.sizes(), (vg::Shape{2, 2}));
  EXPECT_EQ(handle.strides(), (vg::Shape{4, 1}));
  EXPECT_EQ(handle.storage_offset(), 1);
  expect_values(handle, {2, 2}, {1.0, 2.0, 5.0, 6.0});
  // The elements are shared, not copied: writing through the source shows in t.
  src.fill_(7.0);
  expect_values(t, {2, 2}, {7.0, 7.0, 7.0, 7.0});
}

TEST(TensorSetData, KeepsRequiresGradTheGradientAndTheGradientAccumulator) {
  Tensor w = vg::tensor({1.0, 2.0}, vg::kFloat64).requires_grad_();
  (w * w).sum().backward();  // grad = 2w
  expect_values(w.grad(), {2}, {2.0, 4.0});
  // A graph recorded before set_data still accumulates into the same leaf afterwards.
  const Tensor pending = (w * 3.0).sum();
  w.set_data(vg::tensor({10.0, 20.0}, vg::kFloat64));
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
  expect_values(w, {2}, {10.0, 20.0});
  expect_values(w.grad(), {2}, {2.0, 4.0});
  pending.backward();
  expect_values(w.grad(), {2}, {5.0, 7.0});
  // New ops see the new values.
  w.set_grad({});
  (w * w).sum().backward();
  expect_values(w.grad(), {2}, {20.0, 40.0});
}

TEST(TensorSetData, TheSourceKeepsItsOwnAutogradState) {
  const Tensor w = vg::tensor({1.0}, vg::kFloat64);
  const Tensor src = vg::tensor({3.0}, vg::kFloat64).requires_grad_();
  w.set_data(src);
  EXPECT_FALSE(w.requires_grad());
  EXPECT_TRUE(src.requires_grad());
}

TEST(TensorSetData, SettingATensorToItselfChangesNothing) {
  const Tensor t = two_by_three();
  t.set_data(t);
  expect_values(t, {2, 3}, {0, 1, 2, 3, 4, 5});
}

TEST(TensorSetData, UndefinedTensorsAndIntegerDataForAGradTensorAreErrors) {
  const Tensor w = vg::zeros({2}).requires_grad_();
  EXPECT_ERROR_CONTAINS(w.set_data(Tensor()), "set_data: new_data is an undefined tensor");
  EXPECT_ERROR_CONTAINS(Tensor().set_data(w), "set_data: the tensor is undefined");
  EXPECT_ERROR_CONTAINS(w.set_data(vg::zeros({2}, vg::kInt64)),
                        "set_data: the tensor requires grad, so new_data must be float32 or float64, not int64");
  // Nothing changed.
  EXPECT_EQ(w.dtype(), vg::kFloat32);
}
