// Shape ops: views share storage and the version counter; copies do not; cat/stack; errors use
// PyTorch's wording; every op is differentiable (float64 gradcheck, gradgradcheck for a few).

#include <functional>
#include <optional>
#include <vector>

#include <voxgrad/core/tensor_impl.h>
#include <voxgrad/voxgrad.h>
#include "test_util.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::expect_close;
using voxgrad::testing::expect_values;
using voxgrad::testing::values;

/// 0, 1, ..., n-1 as float32 (or `dt`), shaped `sizes`.
Tensor iota(const Shape& sizes, DType dt = kFloat32) {
  std::int64_t n = 1;
  for (std::int64_t s : sizes) n *= s;
  return arange(static_cast<double>(n), dt).reshape(sizes);
}

bool shares_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }

/// Writes 7 through `v` (outside autograd) and checks that `base` sees it at the view's elements
/// and that the version counter is shared.
void expect_write_through(const Tensor& base, Tensor v) {
  ASSERT_TRUE(shares_storage(base, v));
  const auto before = base.version();
  {
    NoGradGuard guard;
    v.fill_(7);
  }
  EXPECT_GT(base.version(), before) << "the base must see the view's in-place write";
  EXPECT_EQ(base.version(), v.version());
  for (double x : values(v)) EXPECT_EQ(x, 7.0);
}

double count_of(const Tensor& t, double value) {
  double n = 0;
  for (double x : values(t)) n += (x == value);
  return n;
}

/// A fixed random float64 tensor (seeded, so every run checks the same Jacobian).
Tensor weights(const Shape& sizes, std::uint64_t seed = 7) {
  manual_seed(seed);
  return randn(sizes, kFloat64);
}

/// A float64 leaf that requires grad.
Tensor leaf(const Shape& sizes, std::uint64_t seed = 1) {
  manual_seed(seed);
  return randn(sizes, dtype(kFloat64).requires_grad(true));
}

/// gradcheck of x -> sum(op(x) * w) and of x -> op(x) (the full Jacobian), w fixed and random.
void check_grad(const std::function<Tensor(const Tensor&)>& op, const Shape& in_sizes) {
  const Tensor x = leaf(in_sizes);
  Tensor probe;
  {
    NoGradGuard guard;
    probe = op(x);
  }
  const Tensor w = weights(probe.sizes());
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return (op(in[0]) * w).sum(); }, {x}));
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return op(in[0]); }, {x}));
}

/// gradgradcheck of x -> op(x) * op(x) * w (non-linear, so the second derivative is non-zero).
void check_gradgrad(const std::function<Tensor(const Tensor&)>& op, const Shape& in_sizes) {
  const Tensor x = leaf(in_sizes, 3);
  Tensor probe;
  {
    NoGradGuard guard;
    probe = op(x);
  }
  const Tensor w = weights(probe.sizes(), 11);
  EXPECT_TRUE(autograd::gradgradcheck(
      [&](const std::vector<Tensor>& in) {
        const Tensor y = op(in[0]);
        return y * y * w;
      },
      {x}));
}

// --- view ---------------------------------------------------------------------------------------

TEST(ShapeOps, ViewInfersMinusOneAndKeepsContiguousStrides) {
  const Tensor a = iota({2, 3, 4});
  const Tensor v = a.view({4, -1});
  EXPECT_EQ(v.sizes(), (Shape{4, 6}));
  EXPECT_EQ(v.strides(), (Shape{6, 1}));
  EXPECT_EQ(v.storage_offset(), 0);
  EXPECT_TRUE(v.is_contiguous());
  EXPECT_EQ(values(v), values(a));
  EXPECT_EQ(a.view({-1}).sizes(), (Shape{24}));
  EXPECT_EQ(a.view({2, -1, 3}).sizes(), (Shape{2, 4, 3}));
}

TEST(ShapeOps, ViewSharesStorageAndVersionWithItsBase) {
  const Tensor a = iota({2, 3});
  expect_write_through(a, a.view({3, 2}));
  EXPECT_EQ(count_of(a, 7.0), 6);
}

TEST(ShapeOps, ViewOfANarrowedTensorKeepsItsOffset) {
  const Tensor a = iota({4, 6});
  const Tensor rows = a.narrow(0, 1, 2);  // rows 1..2, contiguous
  const Tensor v = rows.view({3, 4});
  EXPECT_EQ(v.storage_offset(), 6);
  EXPECT_EQ(v.strides(), (Shape{4, 1}));
  expect_values(v, {3, 4}, {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17});
}

TEST(ShapeOps, ViewSplitsAndMergesDimsOfANonContiguousTensorWhenStridesAllow) {
  // A column slice [4, 6] -> [4, 3] (strides [6, 1]); splitting the last dim and merging nothing
  // across the gap is a valid view.
  const Tensor a = iota({4, 6});
  const Tensor cols = a.narrow(1, 0, 3);
  const Tensor v = cols.view({4, 3, 1});
  EXPECT_EQ(v.strides(), (Shape{6, 1, 1}));
  EXPECT_TRUE(shares_storage(a, v));
  // A transposed tensor may still be viewed with an added size-1 dim.
  const Tensor tt = iota({2, 3}).t();
  EXPECT_EQ(tt.view({3, 1, 2}).sizes(), (Shape{3, 1, 2}));
}

TEST(ShapeOps, ViewDropsAndAddsSizeOneDimsOfAnyStride) {
  const Tensor u = iota({2, 3}).t().unsqueeze(1);  // [3, 1, 2], strides [1, 6, 3]
  const Tensor v = u.view({3, 2});
  EXPECT_EQ(v.strides(), (Shape{1, 3}));
  expect_values(v, {3, 2}, {0, 3, 1, 4, 2, 5});
  EXPECT_ERROR_CONTAINS(u.view({6}), "reshape");
}

TEST(ShapeOps, ViewOfAnExpandedTensorSplitsTheBroadcastDim) {
  const Tensor e = iota({3, 1}).expand({3, 4});  // strides [1, 0]
  const Tensor v = e.view({3, 2, 2});
  EXPECT_EQ(v.strides(), (Shape{1, 0, 0}));
  expect_values(v.select(0, 2), {2, 2}, {2, 2, 2, 2});
  EXPECT_ERROR_CONTAINS(e.view({12}), "reshape");
  expect_values(e.reshape({12}), {12}, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
}

TEST(ShapeOps, ViewOfANonContiguousTensorThatNeedsACopySuggestsReshape) {
  const Tensor tt = iota({2, 3}).t();
  EXPECT_ERROR_CONTAINS(tt.view({6}), "use reshape() instead");
  EXPECT_ERROR_CONTAINS(tt.view({6}),
                        "size [6] is not compatible with the input tensor's size [3, 2] and stride [1, 3]");
  EXPECT_ERROR_CONTAINS(iota({4, 6}).narrow(1, 0, 3).view({12}), "reshape");
}

TEST(ShapeOps, ViewWithTheWrongNumberOfElementsNamesShapeAndSize) {
  EXPECT_ERROR_CONTAINS(iota({2, 3}).view({2, 5}), "shape '[2, 5]' is invalid for input of size 6");
  EXPECT_ERROR_CONTAINS(iota({2, 3}).view({4, -1}), "shape '[4, -1]' is invalid for input of size 6");
  EXPECT_ERROR_CONTAINS(iota({2, 3}).reshape({7}), "shape '[7]' is invalid for input of size 6");
}

TEST(ShapeOps, ViewWithTwoInferredDimsIsRejected) {
  EXPECT_ERROR_CONTAINS(iota({2, 3}).view({-1, -1}), "only one dimension can be inferred");
  EXPECT_ERROR_CONTAINS(iota({2, 3}).reshape({-1, 2, -1}), "only one dimension can be inferred");
  EXPECT_ERROR_CONTAINS(iota({2, 3}).view({-2, 3}), "invalid shape dimension -2");
}

TEST(ShapeOps, ViewOfAZeroDimTensor) {
  const Tensor s = scalar_tensor(5.0);
  const Tensor v = s.view({1, 1});
  EXPECT_EQ(v.sizes(), (Shape{1, 1}));
  EXPECT_EQ(v.strides(), (Shape{1, 1}));
  EXPECT_EQ(v.view({}).dim(), 0);
  EXPECT_EQ(v.view({}).item<double>(), 5.0);
  EXPECT_ERROR_CONTAINS(s.view({2}), "shape '[2]' is invalid for input of size 1");
}

TEST(ShapeOps, ViewOfAnEmptyTensor) {
  const Tensor e = zeros({0, 3});
  EXPECT_EQ(e.view({3, 0}).sizes(), (Shape{3, 0}));
  EXPECT_EQ(e.view({0, 1, 3}).sizes(), (Shape{0, 1, 3}));
  EXPECT_EQ(e.view({-1}).sizes(), (Shape{0}));
  EXPECT_ERROR_CONTAINS(e.view({-1, 0}), "[-1, 0]");  // -1 is ambiguous with 0 elements
}

// --- reshape / flatten --------------------------------------------------------------------------

TEST(ShapeOps, ReshapeIsAViewWhenStridesAllow) {
  const Tensor a = iota({2, 3, 4});
  const Tensor r = a.reshape({6, -1});
  EXPECT_EQ(r.sizes(), (Shape{6, 4}));
  EXPECT_EQ(r.strides(), (Shape{4, 1}));
  expect_write_through(a, r);
  EXPECT_EQ(count_of(a, 7.0), 24);
}

TEST(ShapeOps, ReshapeOfATransposedTensorCopies) {
  const Tensor a = iota({2, 3});
  const Tensor r = a.t().reshape({6});
  EXPECT_FALSE(shares_storage(a, r));
  EXPECT_TRUE(r.is_contiguous());
  expect_values(r, {6}, {0, 3, 1, 4, 2, 5});
  const auto version = a.version();
  {
    NoGradGuard guard;
    Tensor(r).fill_(-1);
  }
  EXPECT_EQ(a.version(), version);
  expect_values(a, {2, 3}, {0, 1, 2, 3, 4, 5});
}

TEST(ShapeOps, FlattenMergesARangeOfDims) {
  const Tensor a = iota({2, 3, 4, 5});
  EXPECT_EQ(a.flatten().sizes(), (Shape{120}));
  EXPECT_EQ(a.flatten(1).sizes(), (Shape{2, 60}));
  EXPECT_EQ(a.flatten(1, 2).sizes(), (Shape{2, 12, 5}));
  EXPECT_EQ(a.flatten(1, 2).strides(), (Shape{60, 5, 1}));
  EXPECT_EQ(a.flatten(-3, -2).sizes(), (Shape{2, 12, 5}));
  EXPECT_EQ(a.flatten(0, 0).sizes(), (Shape{2, 3, 4, 5}));
  EXPECT_TRUE(a.flatten(2, 2).is_same(a));
  expect_write_through(a, a.flatten(0, 2));
}

TEST(ShapeOps, FlattenOfAZeroDimTensorHasOneElement) {
  const Tensor f = scalar_tensor(3.5).flatten();
  expect_values(f, {1}, {3.5});
}

TEST(ShapeOps, FlattenOfANonContiguousTensorCopiesInLogicalOrder) {
  const Tensor a = iota({2, 3});
  const Tensor f = a.t().flatten();
  EXPECT_FALSE(shares_storage(a, f));
  expect_values(f, {6}, {0, 3, 1, 4, 2, 5});
}

TEST(ShapeOps, FlattenWithStartAfterEndIsRejected) {
  EXPECT_ERROR_CONTAINS(iota({2, 3, 4}).flatten(2, 1), "start_dim (2) cannot come after end_dim (1)");
}

// --- permute / transpose / t -----------------------------------------------------------------

TEST(ShapeOps, PermuteReordersSizesAndStrides) {
  const Tensor a = iota({2, 3, 4});
  const Tensor p = a.permute({2, 0, 1});
  EXPECT_EQ(p.sizes(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  EXPECT_EQ(p.storage_offset(), 0);
  EXPECT_FALSE(p.is_contiguous());
  // p[i][j][k] = a[j][k][i] = 12 j + 4 k + i.
  std::vector<double> expected;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) expected.push_back(12 * j + 4 * k + i);
  expect_values(p, {4, 2, 3}, expected);
  EXPECT_EQ(a.permute({-1, 0, -2}).sizes(), (Shape{4, 2, 3}));
  expect_write_through(a, p.select(0, 1));  // a[:, :, 1]
  EXPECT_EQ(count_of(a, 7.0), 6 + 1);       // the 6 written plus the original 7 at a[0][1][3]
}

TEST(ShapeOps, PermuteWithARepeatedDimIsRejected) {
  EXPECT_ERROR_CONTAINS(iota({2, 3, 4}).permute({0, 1, 1}), "repeated dim");
  EXPECT_ERROR_CONTAINS(iota({2, 3, 4}).permute({0, -1, 2}), "repeated dim");
}

TEST(ShapeOps, PermuteWithTheWrongNumberOfDimsIsRejected) {
  EXPECT_ERROR_CONTAINS(iota({2, 3, 4}).permute({0, 1}), "number of dims don't match");
  EXPECT_ERROR_CONTAINS(iota({2, 3}).permute({0, 1, 2}), "number of dims don't match");
  EXPECT_ERROR_CONTAINS(iota({2, 3}).permute({0, 2}), "out of range");
}

TEST(ShapeOps, TransposeSwapsTwoDims) {
  const Tensor a = iota({2, 3, 4});
  const Tensor tr = a.transpose(0, 2);
  EXPECT_EQ(tr.sizes(), (Shape{4, 3, 2}));
  EXPECT_EQ(tr.strides(), (Shape{1, 4, 12}));
  EXPECT_EQ(a.transpose(-1, -2).sizes(), (Shape{2, 4, 3}));
  EXPECT_EQ(a.transpose(-1, -2).strides(), (Shape{12, 1, 4}));
  EXPECT_EQ(a.transpose(1, 1).strides(), a.strides());
  expect_values(a.transpose(-1, -2).select(0, 0), {4, 3}, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  expect_write_through(a, tr);
}

TEST(ShapeOps, TOfAMatrixTransposesIt) {
  const Tensor a = iota({2, 3});
  const Tensor tt = a.t();
  EXPECT_EQ(tt.sizes(), (Shape{3, 2}));
  EXPECT_EQ(tt.strides(), (Shape{1, 3}));
  EXPECT_FALSE(tt.is_contiguous());
  expect_values(tt, {3, 2}, {0, 3, 1, 4, 2, 5});
  EXPECT_TRUE(tt.t().is_contiguous());
  expect_write_through(a, tt);
}

TEST(ShapeOps, TOfAVectorOrScalarIsAnAliasOfTheSameShape) {
  const Tensor v = iota({4});
  EXPECT_EQ(v.t().sizes(), (Shape{4}));
  EXPECT_TRUE(shares_storage(v, v.t()));
  expect_values(v.t(), {4}, {0, 1, 2, 3});
  const Tensor s = scalar_tensor(2.0);
  EXPECT_EQ(s.t().dim(), 0);
  EXPECT_EQ(s.t().item<double>(), 2.0);
}

TEST(ShapeOps, TOfA3dTensorIsRejected) {
  EXPECT_ERROR_CONTAINS(iota({2, 3, 4}).t(), "expects a tensor with <= 2 dimensions");
}

// --- squeeze / unsqueeze ------------------------------------------------------------------------

TEST(ShapeOps, SqueezeRemovesEverySizeOneDim) {
  const Tensor a = iota({1, 3, 1, 2});
  const Tensor s = a.squeeze();
  EXPECT_EQ(s.sizes(), (Shape{3, 2}));
  EXPECT_EQ(s.strides(), (Shape{2, 1}));
  expect_write_through(a, s);
  EXPECT_EQ(iota({1, 1}).squeeze().dim(), 0);
}

TEST(ShapeOps, SqueezeDimRemovesOnlyThatDimAndOnlyIfItHasSizeOne) {
  const Tensor a = iota({1, 3, 1, 2});
  EXPECT_EQ(a.squeeze(0).sizes(), (Shape{3, 1, 2}));
  EXPECT_EQ(a.squeeze(-2).sizes(), (Shape{1, 3, 2}));
  EXPECT_EQ(a.squeeze(-2).strides(), (Shape{6, 2, 1}));
  EXPECT_EQ(a.squeeze(1).sizes(), (Shape{1, 3, 1, 2}));  // size 3: unchanged
  EXPECT_EQ(scalar_tensor(1.0).squeeze(0).dim(), 0);
  EXPECT_ERROR_CONTAINS(a.squeeze(4), "out of range");
}

TEST(ShapeOps, UnsqueezeInsertsASizeOneDim) {
  const Tensor a = iota({2, 3});
  EXPECT_EQ(a.unsqueeze(0).sizes(), (Shape{1, 2, 3}));
  EXPECT_EQ(a.unsqueeze(0).strides(), (Shape{6, 3, 1}));
  EXPECT_EQ(a.unsqueeze(1).sizes(), (Shape{2, 1, 3}));
  EXPECT_EQ(a.unsqueeze(1).strides(), (Shape{3, 3, 1}));
  EXPECT_EQ(a.unsqueeze(-1).sizes(), (Shape{2, 3, 1}));
  EXPECT_EQ(a.unsqueeze(-1).strides(), (Shape{3, 1, 1}));
  EXPECT_EQ(a.unsqueeze(-3).sizes(), (Shape{1, 2, 3}));
  EXPECT_TRUE(a.unsqueeze(-1).is_contiguous());
  EXPECT_EQ(scalar_tensor(4.0).unsqueeze(0).sizes(), (Shape{1}));
  EXPECT_ERROR_CONTAINS(a.unsqueeze(3), "out of range");
  EXPECT_ERROR_CONTAINS(a.unsqueeze(-4), "out of range");
  expect_write_through(a, a.unsqueeze(-2));
}

TEST(ShapeOps, UnsqueezeOfATransposedTensorKeepsItsLayout) {
  const Tensor tt = iota({2, 3}).t();  // strides [1, 3]
  const Tensor u = tt.unsqueeze(1);
  EXPECT_EQ(u.sizes(), (Shape{3, 1, 2}));
  EXPECT_EQ(u.strides(), (Shape{1, 6, 3}));  // PyTorch: size[d] * stride[d] of the dim it precedes
  expect_values(u, {3, 1, 2}, {0, 3, 1, 4, 2, 5});
}

// --- narrow / slice / select -------------------------------------------------------------------

TEST(ShapeOps, NarrowSharesStorageWithItsBase) {
  const Tensor a = iota({6, 2});
  const Tensor n = a.narrow(0, 2, 3);
  EXPECT_EQ(n.sizes(), (Shape{3, 2}));
  EXPECT_EQ(n.strides(), (Shape{2, 1}));
  EXPECT_EQ(n.storage_offset(), 4);
  expect_values(n, {3, 2}, {4, 5, 6, 7, 8, 9});
  expect_write_through(a, n);
  expect_values(a, {6, 2}, {0, 1, 2, 3, 7, 7, 7, 7, 7, 7, 10, 11});
}

TEST(ShapeOps, NarrowAcceptsANegativeStart) {
  const Tensor a = iota({6, 2});
  const Tensor n = a.narrow(0, -4, 2);
  EXPECT_EQ(n.storage_offset(), 4);
  expect_values(n, {2, 2}, {4, 5, 6, 7});
  const Tensor c = a.narrow(-1, 1, 1);
  EXPECT_EQ(c.sizes(), (Shape{6, 1}));
  EXPECT_EQ(c.strides(), (Shape{2, 1}));
  EXPECT_EQ(c.storage_offset(), 1);
  EXPECT_FALSE(c.is_contiguous());
  expect_values(c, {6, 1}, {1, 3, 5, 7, 9, 11});
  EXPECT_EQ(a.narrow(0, 6, 0).sizes(), (Shape{0, 2}));
}

TEST(ShapeOps, NarrowPastTheEndNamesStartLengthAndSize) {
  const Tensor a = iota({6, 2});
  EXPECT_ERROR_CONTAINS(a.narrow(0, 5, 3), "start (5) + length (3) exceeds dimension size (6)");
  EXPECT_ERROR_CONTAINS(a.narrow(0, -1, 2), "start (5) + length (2) exceeds dimension size (6)");
  EXPECT_ERROR_CONTAINS(a.narrow(0, 7, 0), "start out of range");
  EXPECT_ERROR_CONTAINS(a.narrow(0, -7, 1), "start out of range");
  EXPECT_ERROR_CONTAINS(a.narrow(0, 0, -1), "length must be non-negative");
  EXPECT_ERROR_CONTAINS(scalar_tensor(1.0).narrow(0, 0, 1), "0-dim");
}

TEST(ShapeOps, SliceWithStepTwoAndThreeStridesThroughTheBase) {
  const Tensor a = iota({10});
  const Tensor s2 = a.slice(0, 1, std::nullopt, 2);
  EXPECT_EQ(s2.strides(), (Shape{2}));
  EXPECT_EQ(s2.storage_offset(), 1);
  expect_values(s2, {5}, {1, 3, 5, 7, 9});
  const Tensor s3 = a.slice(0, 2, 8, 3);
  EXPECT_EQ(s3.strides(), (Shape{3}));
  EXPECT_EQ(s3.storage_offset(), 2);
  expect_values(s3, {2}, {2, 5});
  expect_values(a.slice(0, 0, 10, 3), {4}, {0, 3, 6, 9});
  expect_values(a.slice(0, 0, 9, 3), {3}, {0, 3, 6});
  expect_write_through(a, s3);
  expect_values(a, {10}, {0, 1, 7, 3, 4, 7, 6, 7, 8, 9});
}

TEST(ShapeOps, SliceClampsOutOfRangeBoundsLikePython) {
  const Tensor a = iota({10});
  expect_values(a.slice(0, -3), {3}, {7, 8, 9});                // a[-3:]
  expect_values(a.slice(0, std::nullopt, -7), {3}, {0, 1, 2});  // a[:-7]
  expect_values(a.slice(0, -100, 100), {10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_values(a.slice(0, 8, 100), {2}, {8, 9});
  expect_values(a.slice(0, -2, -1), {1}, {8});
  EXPECT_EQ(a.slice(0, 8, 2).sizes(), (Shape{0}));  // a[8:2] is empty
  EXPECT_EQ(a.slice(0, 20, 30).sizes(), (Shape{0}));
  EXPECT_EQ(a.slice(0, -20, -15).sizes(), (Shape{0}));
  EXPECT_EQ(a.slice(0, 12, 30, 2).sizes(), (Shape{0}));
}

TEST(ShapeOps, SliceAlongAnInnerDim) {
  const Tensor a = iota({3, 5});
  const Tensor s = a.slice(1, 1, std::nullopt, 2);
  EXPECT_EQ(s.sizes(), (Shape{3, 2}));
  EXPECT_EQ(s.strides(), (Shape{5, 2}));
  EXPECT_EQ(s.storage_offset(), 1);
  expect_values(s, {3, 2}, {1, 3, 6, 8, 11, 13});
  const Tensor last = a.slice(-1, -2);
  expect_values(last, {3, 2}, {3, 4, 8, 9, 13, 14});
}

TEST(ShapeOps, SliceStepMustBePositive) {
  EXPECT_ERROR_CONTAINS(iota({4}).slice(0, 0, 4, 0), "slice step must be positive");
  EXPECT_ERROR_CONTAINS(iota({4}).slice(0, 0, 4, -1), "slice step must be positive");
}

TEST(ShapeOps, SelectRemovesTheDimAndAcceptsANegativeIndex) {
  const Tensor a = iota({2, 3, 4});
  const Tensor s = a.select(1, -1);
  EXPECT_EQ(s.sizes(), (Shape{2, 4}));
  EXPECT_EQ(s.strides(), (Shape{12, 1}));
  EXPECT_EQ(s.storage_offset(), 8);
  expect_values(s, {2, 4}, {8, 9, 10, 11, 20, 21, 22, 23});
  const Tensor s0 = a.select(0, 1);
  EXPECT_EQ(s0.storage_offset(), 12);
  EXPECT_TRUE(s0.is_contiguous());
  const Tensor e = iota({4}).select(0, 2);
  EXPECT_EQ(e.dim(), 0);
  EXPECT_EQ(e.item<double>(), 2.0);
  expect_write_through(a, s);
  EXPECT_EQ(count_of(a, 7.0), 8 + 1);  // the 8 written plus the original 7
}

TEST(ShapeOps, SelectIndexOutOfRangeNamesIndexSizeAndDim) {
  const Tensor a = iota({2, 3});
  EXPECT_ERROR_CONTAINS(a.select(1, 3), "index 3 out of range for tensor of size [2, 3] at dimension 1");
  EXPECT_ERROR_CONTAINS(a.select(-1, -4), "index -4 out of range for tensor of size [2, 3] at dimension 1");
  EXPECT_ERROR_CONTAINS(a.select(2, 0), "out of range");
  EXPECT_ERROR_CONTAINS(scalar_tensor(1.0).select(0, 0), "0-dim");
}

// --- expand -------------------------------------------------------------------------------------

TEST(ShapeOps, ExpandGrowsSizeOneDimsWithStrideZero) {
  const Tensor a = iota({3, 1});
  const Tensor e = a.expand({3, 4});
  EXPECT_EQ(e.sizes(), (Shape{3, 4}));
  EXPECT_EQ(e.strides(), (Shape{1, 0}));
  EXPECT_FALSE(e.is_contiguous());
  expect_values(e, {3, 4}, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  EXPECT_TRUE(shares_storage(a, e));
}

TEST(ShapeOps, ExpandKeepsSizesGivenAsMinusOneAndAddsLeadingDims) {
  const Tensor a = iota({3, 1});
  const Tensor e = a.expand({2, -1, 4});
  EXPECT_EQ(e.sizes(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  expect_values(e.select(0, 1), {3, 4}, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  const Tensor same = a.expand({3, 1});
  EXPECT_EQ(same.strides(), a.strides());
  EXPECT_EQ(iota({3}).expand({2, 3}).strides(), (Shape{0, 1}));
  const Tensor s = scalar_tensor(5.0).expand({2, 2});
  EXPECT_EQ(s.strides(), (Shape{0, 0}));
  expect_values(s, {2, 2}, {5, 5, 5, 5});
}

TEST(ShapeOps, WritingToTheBaseShowsThroughEveryExpandedElement) {
  const Tensor a = iota({3, 1});
  const Tensor e = a.expand({3, 4});
  {
    NoGradGuard guard;
    Tensor(a.select(0, 1)).fill_(9);
  }
  expect_values(e, {3, 4}, {0, 0, 0, 0, 9, 9, 9, 9, 2, 2, 2, 2});
  EXPECT_EQ(e.version(), a.version());
}

TEST(ShapeOps, WritingIntoAnExpandedTensorIsRejected) {
  Tensor e = iota({3, 1}).expand({3, 4});
  NoGradGuard guard;
  EXPECT_ERROR_CONTAINS(e.fill_(1), "more than one element of the written-to tensor");
}

TEST(ShapeOps, ExpandAsUsesTheOtherTensorsShape) {
  const Tensor a = iota({1, 3});
  const Tensor e = a.expand_as(zeros({2, 3}));
  EXPECT_EQ(e.sizes(), (Shape{2, 3}));
  EXPECT_EQ(e.strides(), (Shape{0, 1}));
  expect_values(e, {2, 3}, {0, 1, 2, 0, 1, 2});
}

TEST(ShapeOps, ExpandToAMismatchedSizeNamesBothSizes) {
  EXPECT_ERROR_CONTAINS(iota({3, 1}).expand({2, 4}),
                        "expanded size of the tensor (2) must match the existing size (3) at "
                        "non-singleton dimension 0");
  EXPECT_ERROR_CONTAINS(iota({3, 1}).expand({2, 4}), "Target sizes: [2, 4]. Tensor sizes: [3, 1]");
  EXPECT_ERROR_CONTAINS(iota({2, 3}).expand({3}), "must be greater or equal to the number of dimensions");
  EXPECT_ERROR_CONTAINS(iota({3}).expand({-1, 3}), "-1 isn't allowed in a leading, non-existing dimension");
}

// --- contiguous / clone / to / detach ------------------------------------------------------------

TEST(ShapeOps, ContiguousReturnsTheSameTensorWhenAlreadyContiguous) {
  const Tensor a = iota({2, 3});
  EXPECT_TRUE(a.contiguous().is_same(a));
  EXPECT_TRUE(contiguous(a).is_same(a));
  const Tensor n = a.narrow(0, 1, 1);  // contiguous with an offset
  EXPECT_TRUE(n.contiguous().is_same(n));
}

TEST(ShapeOps, ContiguousOfATransposedTensorCopiesInRowMajorOrder) {
  const Tensor a = iota({2, 3});
  const Tensor c = a.t().contiguous();
  EXPECT_FALSE(c.is_same(a));
  EXPECT_FALSE(shares_storage(a, c));
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.strides(), (Shape{2, 1}));
  EXPECT_EQ(c.storage_offset(), 0);
  expect_values(c, {3, 2}, {0, 3, 1, 4, 2, 5});
  const Tensor e = iota({3, 1}).expand({3, 2}).contiguous();
  EXPECT_EQ(e.strides(), (Shape{2, 1}));
  expect_values(e, {3, 2}, {0, 0, 1, 1, 2, 2});
}

TEST(ShapeOps, CloneOwnsItsStorage) {
  const Tensor a = iota({2, 3});
  Tensor c = a.clone();
  EXPECT_FALSE(shares_storage(a, c));
  EXPECT_EQ(c.sizes(), a.sizes());
  EXPECT_EQ(c.dtype(), a.dtype());
  expect_values(c, {2, 3}, {0, 1, 2, 3, 4, 5});
  const auto version = a.version();
  {
    NoGradGuard guard;
    c.fill_(7);
  }
  EXPECT_EQ(a.version(), version);
  expect_values(a, {2, 3}, {0, 1, 2, 3, 4, 5});
  const Tensor ct = a.slice(1, 0, 3, 2).clone();
  EXPECT_TRUE(ct.is_contiguous());
  expect_values(ct, {2, 2}, {0, 2, 3, 5});
}

TEST(ShapeOps, ToConvertsBetweenFloat32Float64AndInt64) {
  const Tensor f = tensor({1.5, -2.75, 3.0, -0.5});
  const Tensor d = f.to(kFloat64);
  EXPECT_EQ(d.dtype(), kFloat64);
  expect_values(d, {4}, {1.5, -2.75, 3.0, -0.5});
  EXPECT_FALSE(shares_storage(f, d));
  const Tensor i = d.to(kInt64);
  EXPECT_EQ(i.dtype(), kInt64);
  expect_values(i, {4}, {1, -2, 3, 0});  // truncation toward zero, as C++ and PyTorch do
  const Tensor back = i.to(kFloat32);
  EXPECT_EQ(back.dtype(), kFloat32);
  expect_values(back, {4}, {1, -2, 3, 0});
  const Tensor narrowed = tensor({0.1}, kFloat64).to(kFloat32);
  EXPECT_EQ(narrowed.item<float>(), 0.1f);
  EXPECT_TRUE(f.to(kFloat32).is_same(f));
}

TEST(ShapeOps, ToOfANonContiguousTensorKeepsLogicalOrder) {
  const Tensor d = iota({2, 3}, kFloat64).t().to(kFloat32);
  EXPECT_TRUE(d.is_contiguous());
  expect_values(d, {3, 2}, {0, 3, 1, 4, 2, 5});
}

TEST(ShapeOps, ToInt64IsNotDifferentiable) {
  const Tensor x = leaf({3});
  const Tensor i = x.to(kInt64);
  EXPECT_FALSE(i.requires_grad());
  EXPECT_TRUE(x.to(kFloat32).requires_grad());
}

TEST(ShapeOps, DetachSharesStorageButLeavesTheGraph) {
  const Tensor x = leaf({2, 3});
  const Tensor y = x * 2.0;
  const Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  EXPECT_EQ(d.grad_fn(), nullptr);
  EXPECT_TRUE(shares_storage(y, d));
  EXPECT_EQ(d.sizes(), y.sizes());
  EXPECT_EQ(d.strides(), y.strides());
  expect_write_through(y, d);
}

TEST(ShapeOps, ViewsOfATensorThatRequiresGradAreNonLeavesThatRequireGrad) {
  const Tensor x = leaf({2, 3});
  for (const Tensor& v : {x.view({3, 2}), x.t(), x.narrow(1, 0, 2), x.select(0, 1), x.unsqueeze(0), x.expand({4, 2, 3}),
                          x.slice(1, 0, 3, 2), x.permute({1, 0})}) {
    EXPECT_TRUE(v.requires_grad());
    EXPECT_FALSE(v.is_leaf());
    EXPECT_NE(v.grad_fn(), nullptr);
    EXPECT_TRUE(shares_storage(x, v));
  }
  NoGradGuard guard;
  EXPECT_FALSE(x.view({6}).requires_grad());
}

// --- cat / stack --------------------------------------------------------------------------------

TEST(ShapeOps, CatAlongDimZero) {
  const Tensor a = iota({2, 3});
  const Tensor b = iota({1, 3}) + 10.0;
  expect_values(cat({a, b}, 0), {3, 3}, {0, 1, 2, 3, 4, 5, 10, 11, 12});
  const Tensor c = cat({a, b, a});
  EXPECT_EQ(c.sizes(), (Shape{5, 3}));
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(shares_storage(a, c));
}

TEST(ShapeOps, CatAlongDimOneAndMinusOne) {
  const Tensor a = iota({2, 2});
  const Tensor b = iota({2, 3}) + 10.0;
  const std::vector<double> expected{0, 1, 10, 11, 12, 2, 3, 13, 14, 15};
  expect_values(cat({a, b}, 1), {2, 5}, expected);
  expect_values(cat({a, b}, -1), {2, 5}, expected);
}

TEST(ShapeOps, CatAlongDimTwoOfNonContiguousInputs) {
  const Tensor a = iota({3, 2}).t().unsqueeze(2);  // [2, 3, 1], non-contiguous
  const Tensor b = iota({2, 3, 2}) + 100.0;
  const Tensor c = cat({a, b}, 2);
  EXPECT_EQ(c.sizes(), (Shape{2, 3, 3}));
  expect_values(c, {2, 3, 3}, {0, 100, 101, 2, 102, 103, 4, 104, 105, 1, 106, 107, 3, 108, 109, 5, 110, 111});
}

TEST(ShapeOps, CatJoinsUNetSkipConnectionsOnTheChannelDim) {
  const Tensor up = iota({2, 3, 2, 2, 2});
  const Tensor skip = iota({2, 5, 2, 2, 2}) + 1000.0;
  const Tensor c = cat({up, skip}, 1);
  EXPECT_EQ(c.sizes(), (Shape{2, 8, 2, 2, 2}));
  expect_close(c.narrow(1, 0, 3), up);
  expect_close(c.narrow(1, 3, 5), skip);
  expect_close(c.select(0, 1).select(0, 4), skip.select(0, 1).select(0, 1));
}

TEST(ShapeOps, CatPromotesMixedFloat32AndFloat64) {
  const Tensor a = tensor({0.1, 0.2});
  const Tensor b = tensor({0.3}, kFloat64);
  const Tensor c = cat({a, b});
  EXPECT_EQ(c.dtype(), kFloat64);
  expect_values(c, {3}, {static_cast<double>(0.1f), static_cast<double>(0.2f), 0.3});
  EXPECT_EQ(cat({b, a}).dtype(), kFloat64);
  EXPECT_EQ(cat({a, tensor({4.0}, kInt64)}).dtype(), kFloat32);
}

TEST(ShapeOps, CatAcceptsAnEmptyTensorAlongTheDim) {
  const Tensor a = iota({2, 3});
  const Tensor e = zeros({2, 0});
  expect_values(cat({e, a, e}, 1), {2, 3}, {0, 1, 2, 3, 4, 5});
  expect_values(cat({a, zeros({0, 3})}, 0), {2, 3}, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(cat({e, e}, 1).sizes(), (Shape{2, 0}));
  EXPECT_EQ(cat({a}, 0).sizes(), (Shape{2, 3}));
}

TEST(ShapeOps, CatWithMismatchedSizesNamesTheDim) {
  EXPECT_ERROR_CONTAINS(cat({iota({2, 3}), iota({3, 4})}, 1), "sizes of tensors must match except in dimension 1");
  EXPECT_ERROR_CONTAINS(cat({iota({2, 3}), iota({3, 4})}, 1),
                        "Expected size 2 but got size 3 for tensor number 1 in the list");
  EXPECT_ERROR_CONTAINS(cat({iota({2, 3}), iota({2, 4})}, 0), "sizes of tensors must match except in dimension 0");
  EXPECT_ERROR_CONTAINS(cat({iota({2, 3}), iota({2, 3, 1})}, 0), "tensors must have the same number of dimensions");
  EXPECT_ERROR_CONTAINS(cat({iota({2, 3})}, 2), "out of range");
  EXPECT_ERROR_CONTAINS(cat({}, 0), "expected a non-empty list of tensors");
}

TEST(ShapeOps, CatOfZeroDimTensorsIsRejected) {
  EXPECT_ERROR_CONTAINS(cat({scalar_tensor(1.0), scalar_tensor(2.0)}),
                        "zero-dimensional tensor (at position 0) cannot be concatenated");
  EXPECT_ERROR_CONTAINS(cat({iota({1}), scalar_tensor(2.0)}),
                        "zero-dimensional tensor (at position 1) cannot be concatenated");
}

TEST(ShapeOps, StackInsertsANewDimAtTheFront) {
  const Tensor a = iota({2, 3});
  const Tensor b = iota({2, 3}) + 10.0;
  const Tensor s = stack({a, b});
  EXPECT_EQ(s.sizes(), (Shape{2, 2, 3}));
  expect_values(s, {2, 2, 3}, {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15});
}

TEST(ShapeOps, StackInsertsANewDimInTheMiddleOrAtTheEnd) {
  const Tensor a = iota({2, 3});
  const Tensor b = iota({2, 3}) + 10.0;
  const Tensor c = iota({2, 3}) + 20.0;
  const Tensor mid = stack({a, b, c}, 1);
  EXPECT_EQ(mid.sizes(), (Shape{2, 3, 3}));
  expect_values(mid.select(0, 1), {3, 3}, {3, 4, 5, 13, 14, 15, 23, 24, 25});
  const Tensor end = stack({a, b, c}, 2);
  EXPECT_EQ(end.sizes(), (Shape{2, 3, 3}));
  expect_values(end.select(0, 0), {3, 3}, {0, 10, 20, 1, 11, 21, 2, 12, 22});
  expect_close(stack({a, b, c}, -1), end);
  expect_close(stack({a, b, c}, -2), mid);
  expect_close(stack({a, b, c}, -3), stack({a, b, c}, 0));
  EXPECT_ERROR_CONTAINS(stack({a, b}, 3), "out of range");
}

TEST(ShapeOps, StackOfZeroDimTensorsMakesAVector) {
  expect_values(stack({scalar_tensor(1.0), scalar_tensor(2.0)}), {2}, {1, 2});
}

TEST(ShapeOps, StackOfDifferentShapesNamesBothShapes) {
  EXPECT_ERROR_CONTAINS(stack({iota({2, 3}), iota({3, 2})}),
                        "expects each tensor to be equal size, but got [2, 3] at entry 0 and [3, 2] at entry 1");
  EXPECT_ERROR_CONTAINS(stack({}), "expected a non-empty list of tensors");
}

// --- gradients ----------------------------------------------------------------------------------

TEST(ShapeOpsGrad, ViewAndReshape) {
  check_grad([](const Tensor& x) { return x.view({4, -1}); }, {2, 3, 2});
  check_grad([](const Tensor& x) { return x.reshape({3, 4}); }, {2, 6});
  check_grad([](const Tensor& x) { return x.t().reshape({6}); }, {2, 3});  // the copy path
  check_grad([](const Tensor& x) { return x.view({}); }, {1, 1});
}

TEST(ShapeOpsGrad, Flatten) {
  check_grad([](const Tensor& x) { return x.flatten(1, 2); }, {2, 3, 2, 2});
  check_grad([](const Tensor& x) { return x.transpose(0, 1).flatten(); }, {3, 4});
  check_grad([](const Tensor& x) { return x.flatten(); }, {});
}

TEST(ShapeOpsGrad, PermuteTransposeAndT) {
  check_grad([](const Tensor& x) { return x.permute({2, 0, 1}); }, {2, 3, 4});
  check_grad([](const Tensor& x) { return x.permute({1, 3, 0, 2}); }, {2, 3, 2, 2});
  check_grad([](const Tensor& x) { return x.transpose(0, -1); }, {2, 3, 4});
  check_grad([](const Tensor& x) { return x.t(); }, {3, 5});
  check_grad([](const Tensor& x) { return x.t(); }, {4});
}

TEST(ShapeOpsGrad, SqueezeAndUnsqueeze) {
  check_grad([](const Tensor& x) { return x.squeeze(); }, {1, 3, 1, 2});
  check_grad([](const Tensor& x) { return x.squeeze(-2); }, {1, 3, 1, 2});
  check_grad([](const Tensor& x) { return x.unsqueeze(-1); }, {2, 3});
  check_grad([](const Tensor& x) { return x.t().unsqueeze(1); }, {2, 3});
}

TEST(ShapeOpsGrad, NarrowAndSliceWithStep) {
  check_grad([](const Tensor& x) { return x.narrow(0, -3, 2); }, {5, 3});
  check_grad([](const Tensor& x) { return x.slice(1, 1, std::nullopt, 2); }, {3, 6});
  check_grad([](const Tensor& x) { return x.slice(0, 0, 7, 3); }, {8, 2});
  check_grad([](const Tensor& x) { return x.slice(-1, -100, 100, 3); }, {2, 7});
  check_grad([](const Tensor& x) { return x.t().slice(0, 1, 4, 2); }, {3, 5});
}

TEST(ShapeOpsGrad, SelectScattersIntoOneSlice) {
  check_grad([](const Tensor& x) { return x.select(1, -1); }, {2, 3, 4});
  check_grad([](const Tensor& x) { return x.select(0, 2); }, {3, 4});
  check_grad([](const Tensor& x) { return x.select(0, 1); }, {3});
  // The gradient is exactly one-hot on the selected slice.
  const Tensor x = leaf({3, 2});
  x.select(0, 1).sum().backward();
  expect_values(x.grad(), {3, 2}, {0, 0, 1, 1, 0, 0});
}

TEST(ShapeOpsGrad, ExpandSumsTheGradientOverTheBroadcastDims) {
  check_grad([](const Tensor& x) { return x.expand({2, 3, 4}); }, {3, 1});
  check_grad([](const Tensor& x) { return x.expand({4, -1}); }, {3});
  check_grad([](const Tensor& x) { return x.expand_as(zeros({2, 3})); }, {1, 3});
  check_grad([](const Tensor& x) { return x.expand({3, 2}); }, {});
  const Tensor x = leaf({3, 1});
  x.expand({2, 3, 4}).sum().backward();
  expect_values(x.grad(), {3, 1}, {8, 8, 8});
}

TEST(ShapeOpsGrad, CatSplitsTheGradientBetweenItsInputs) {
  const Tensor a = leaf({2, 3}, 1), b = leaf({2, 1}, 2), c = leaf({2, 2}, 3);
  const Tensor w = weights({2, 6});
  EXPECT_TRUE(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        return (cat({in[0], in[1], in[2]}, 1) * w).sum();
      },
      {a, b, c}));
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return cat({in[0], in[1]}, 1); }, {a, b}));
  EXPECT_TRUE(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        return cat({in[0], in[1].t()}, 0);
      },
      {a, leaf({3, 2}, 4)}));
  // The same tensor twice: both slices of the gradient accumulate into it.
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return cat({in[0], in[0]}, 0) * 1.0; }, {a}));
  const Tensor x = leaf({2});
  (cat({x, x}) * tensor({1, 2, 3, 4}, kFloat64)).sum().backward();
  expect_values(x.grad(), {2}, {4, 6});
  // Only some inputs require grad.
  const Tensor fixed = weights({2, 3}, 5);
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return cat({fixed, in[0]}, -1); }, {b}));
}

TEST(ShapeOpsGrad, CatOfMixedDtypesSendsAGradientOfEachInputsDtype) {
  const Tensor a = zeros({2}, dtype(kFloat32).requires_grad(true));
  const Tensor b = zeros({3}, dtype(kFloat64).requires_grad(true));
  const Tensor w = tensor({1, 2, 3, 4, 5}, kFloat64);
  (cat({a, b}) * w).sum().backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_EQ(b.grad().dtype(), kFloat64);
  expect_values(a.grad(), {2}, {1, 2});
  expect_values(b.grad(), {3}, {3, 4, 5});
}

TEST(ShapeOpsGrad, Stack) {
  const Tensor a = leaf({2, 3}, 1), b = leaf({2, 3}, 2);
  for (std::int64_t dim : {0, 1, 2, -1}) {
    const Tensor w = weights(stack({a, b}, dim).sizes());
    EXPECT_TRUE(autograd::gradcheck(
        [&](const std::vector<Tensor>& in) {
          return (stack({in[0], in[1]}, dim) * w).sum();
        },
        {a, b}))
        << "dim " << dim;
  }
}

TEST(ShapeOpsGrad, CloneContiguousAndTo) {
  check_grad([](const Tensor& x) { return x.clone(); }, {2, 3});
  check_grad([](const Tensor& x) { return x.t().clone(); }, {2, 3});
  check_grad([](const Tensor& x) { return x.contiguous(); }, {2, 3});
  check_grad([](const Tensor& x) { return x.permute({1, 0, 2}).contiguous(); }, {2, 3, 2});
  check_grad([](const Tensor& x) { return x.to(kFloat64); }, {2, 3});
  // Through float32 and back: the function is linear, so a large step gives an exact slope while
  // keeping float32 rounding out of the finite differences.
  const Tensor x = leaf({2, 3});
  const Tensor w = weights({2, 3});
  autograd::GradcheckOptions o;
  o.eps = 1e-2;
  o.atol = 1e-4;
  EXPECT_TRUE(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return (in[0].to(kFloat32).to(kFloat64) * w).sum(); }, {x}, o));
  x.to(kFloat32).sum().backward();
  EXPECT_EQ(x.grad().dtype(), kFloat64);
  expect_values(x.grad(), {2, 3}, {1, 1, 1, 1, 1, 1});
}

TEST(ShapeOpsGrad, GradOfGradThroughViewsAndCat) {
  check_gradgrad([](const Tensor& x) { return x.expand({2, 3, 4}); }, {3, 1});
  check_gradgrad([](const Tensor& x) { return x.slice(1, 1, std::nullopt, 2); }, {3, 6});
  check_gradgrad([](const Tensor& x) { return x.permute({2, 0, 1}); }, {2, 3, 2});
  check_gradgrad([](const Tensor& x) { return x.t().reshape({6}); }, {2, 3});
  check_gradgrad([](const Tensor& x) { return x.reshape({3, 4}); }, {2, 6});
  check_gradgrad([](const Tensor& x) { return x.select(0, -1); }, {3, 2});
  const Tensor a = leaf({2, 2}, 1), b = leaf({2, 3}, 2);
  EXPECT_TRUE(autograd::gradgradcheck(
      [](const std::vector<Tensor>& in) {
        const Tensor c = cat({in[0], in[1]}, 1);
        return c * c;
      },
      {a, b}));
  EXPECT_TRUE(autograd::gradgradcheck(
      [](const std::vector<Tensor>& in) {
        const Tensor s = stack({in[0], in[1].narrow(1, 0, 2)}, 1);
        return s * s;
      },
      {a, b}));
}

}  // namespace
