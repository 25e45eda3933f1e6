// index / index_put (basic indexing as views, advanced indexing with int64 and mask tensors),
// masked_fill, index_select, gather, scatter_add, flip, roll, argmax/argmin, norm and where with
// scalars: values against plain loops on many shapes, views sharing storage, float64 gradcheck and
// gradgradcheck, the in-place forms and the error messages. PyTorch's values and gradients are checked
// in test_indexing_fixtures.cpp, the ops on viewed arguments in test_views.cpp.

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using namespace voxgrad::indexing;
namespace vt = voxgrad::testing;
using vt::expect_close;
using vt::expect_gradcheck;
using vt::expect_gradgradcheck;
using vt::expect_values;
using vt::f64;
using vt::values;
using V = const std::vector<Tensor>&;

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor longs(const std::vector<std::int64_t>& v, const Shape& sizes) {
  return from_blob(v.data(), {static_cast<std::int64_t>(v.size())}).reshape(sizes);
}

std::vector<std::int64_t> int_values(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::vector<std::int64_t>(c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel());
}

// Row-major flat position of a multi-index in `sizes`.
std::int64_t flat(const Shape& sizes, const Shape& idx) {
  std::int64_t f = 0;
  for (std::size_t d = 0; d < sizes.size(); ++d) f = f * sizes[d] + idx[d];
  return f;
}

// Calls f(multi-index) for every element of `sizes`, in row-major order.
template <typename F>
void for_each_index(const Shape& sizes, F&& f) {
  std::int64_t n = 1;
  for (std::int64_t s : sizes) n *= s;
  Shape idx(sizes.size(), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    f(idx);
    for (std::size_t d = sizes.size(); d-- > 0 && ++idx[d] == sizes[d];) idx[d] = 0;
  }
}

Tensor random_longs(std::mt19937_64& rng, const Shape& sizes, std::int64_t lo, std::int64_t hi) {
  std::uniform_int_distribution<std::int64_t> u(lo, hi - 1);
  std::int64_t n = 1;
  for (std::int64_t s : sizes) n *= s;
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (auto& e : v) e = u(rng);
  return longs(v, sizes);
}

Tensor random_leaf(std::uint64_t seed, const Shape& sizes) { return vt::uniform_leaf(sizes, -1.0, 1.0, seed); }

// =================================================================================================
// Basic indexing: views
// =================================================================================================

TEST(Index, BasicIndexingReturnsAViewSharingStorage) {
  const Tensor x = arange(240.0, kFloat64).reshape({4, 3, 10, 2});
  const Tensor y = x.index({Slice(), 0, Slice(0, 8, 2), None, Ellipsis});
  EXPECT_EQ(y.sizes(), (Shape{4, 4, 1, 2}));
  EXPECT_EQ(y.strides(), (Shape{60, 4, 2, 1}));
  EXPECT_EQ(y.raw_data_ptr(), x.raw_data_ptr());
  EXPECT_EQ(x.index({1, Slice(1)}).storage_offset(), 60 + 20);
  for_each_index(y.sizes(), [&](const Shape& i) {
    EXPECT_EQ(values(y)[flat(y.sizes(), i)], static_cast<double>(i[0] * 60 + i[1] * 4 + i[3]));
  });
  // Writing through the view changes x.
  Tensor row = x.index({1, 2});
  row.fill_(-1.0);
  EXPECT_EQ(values(x.index({1, 2, 3, 1}))[0], -1.0);
  EXPECT_EQ(x.index({}).raw_data_ptr(), x.raw_data_ptr());
  EXPECT_EQ(x.index({Ellipsis}).sizes(), x.sizes());
}

TEST(Index, PythonSliceSemantics) {
  const Tensor x = arange(10.0, kFloat64);
  expect_values(x.index({Slice(-3)}), {3}, {7, 8, 9});
  expect_values(x.index({Slice(None, -7)}), {3}, {0, 1, 2});
  expect_values(x.index({Slice(2, 100, 3)}), {3}, {2, 5, 8});
  expect_values(x.index({Slice(-100, 2)}), {2}, {0, 1});
  expect_values(x.index({Slice(7, 3)}), {0}, {});
  expect_values(x.index({-1}), {}, {9});
  expect_values(x.index({None, Slice(None, None, 4), None}), {1, 3, 1}, {0, 4, 8});
  expect_values(x.index({Slice(1, 3), true}), {2, 1}, {1, 2});
  EXPECT_EQ(x.index({false}).sizes(), (Shape{0, 10}));
  expect_values(x.index({scalar_tensor(4.0, kInt64)}), {}, {4});
}

TEST(Index, GradientOfAViewFlowsToSelf) {
  const Tensor x = random_leaf(1, {4, 5, 6});
  expect_gradcheck([](V a) { return a[0].index({Slice(1, None, 2), -1, None, Slice(None, 4)}); }, {x});
  expect_gradcheck([](V a) { return a[0].index({Ellipsis, 2}) * a[0].index({0}).sum(); }, {x});
}

// =================================================================================================
// Advanced indexing against plain loops
// =================================================================================================

TEST(Index, OneIntegerTensorPerDimMatchesLoops) {
  std::mt19937_64 rng(3);
  for (const Shape& shape : std::vector<Shape>{{7}, {4, 5}, {3, 4, 5}, {2, 3, 4, 5}}) {
    const std::int64_t nd = static_cast<std::int64_t>(shape.size());
    const Tensor x = random_leaf(static_cast<std::uint64_t>(nd), shape);
    for (std::int64_t d = 0; d < nd; ++d) {
      SCOPED_TRACE(shape_str(shape) + " dim " + std::to_string(d));
      const Tensor idx = random_longs(rng, {2, 3}, -shape[d], shape[d]);
      std::vector<TensorIndex> list(static_cast<std::size_t>(d), Slice());
      list.emplace_back(idx);
      const Tensor y = index(x, list);
      Shape want_shape = shape;
      want_shape.erase(want_shape.begin() + d);
      want_shape.insert(want_shape.begin() + d, {2, 3});
      ASSERT_EQ(y.sizes(), want_shape);
      const std::vector<double> xv = values(x), yv = values(y);
      const std::vector<std::int64_t> iv = int_values(idx);
      for_each_index(want_shape, [&](const Shape& o) {
        Shape src(o.begin(), o.begin() + d);
        std::int64_t k = iv[static_cast<std::size_t>(o[d] * 3 + o[d + 1])];
        src.push_back(k < 0 ? k + shape[d] : k);
        src.insert(src.end(), o.begin() + d + 2, o.end());
        EXPECT_EQ(yv[flat(want_shape, o)], xv[flat(shape, src)]);
      });
      expect_gradcheck([list](V a) { return index(a[0], list); }, {x});
    }
  }
}

TEST(Index, SeparatedTensorIndicesGoFirstAndMasksSelectNonzeros) {
  const Tensor x = arange(60.0, kFloat64).reshape({3, 4, 5});
  const Tensor i = longs({2, 0}, {2}), j = longs({4, -1}, {2});
  // Separated by a slice: the broadcast index dim goes first, the sliced dim follows.
  const Tensor y = x.index({i, Slice(1, 3), j});
  expect_values(y, {2, 2}, {49, 54, 9, 14});
  // A 2-D mask over the leading dims selects the rows where it is 1, in row-major order.
  const Tensor m = f64({0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1}, {3, 4});
  const Tensor z = x.index({m});
  ASSERT_EQ(z.sizes(), (Shape{3, 5}));
  expect_close(z, cat({x.index({0, 1, None}), x.index({1, 0, None}), x.index({2, 3, None})}, 0));
  expect_values(nonzero(m), {3, 2}, {0, 1, 1, 0, 2, 3});
  expect_values(nonzero(f64({0, 2, 0, -1, 0, 0}, {1, 2, 3})), {2, 3}, {0, 0, 1, 0, 1, 0});
  EXPECT_EQ(nonzero(scalar_tensor(3.0)).sizes(), (Shape{1, 0}));
  EXPECT_EQ(nonzero(scalar_tensor(0.0)).sizes(), (Shape{0, 0}));
  EXPECT_EQ(nonzero(zeros({2, 0}, kFloat64)).sizes(), (Shape{0, 2}));
  // Comparisons return masks that index directly.
  expect_values(x.index({Slice(), Slice(), 0}).index({x.index({Slice(), Slice(), 0}).gt(52.0)}), {1}, {55});
}

TEST(Index, AdvancedIndexingIsDifferentiableTwiceAndAccumulatesRepeats) {
  const Tensor x = random_leaf(5, {4, 3, 5});
  const Tensor i = longs({0, 3, 0, 0}, {2, 2}), j = longs({4, 1}, {2});
  const Tensor m = f64({1, 0, 1}, {3});
  expect_gradcheck([&](V a) { return a[0].index({i, Slice(), j}); }, {x});
  expect_gradcheck([&](V a) { return a[0].index({Slice(1), m, None, j}); }, {x});
  expect_gradgradcheck([&](V a) { return a[0].index({i}).pow(2.0); }, {x});
  // Row 0 is taken three times: its gradient is 3.
  const Tensor y = x.index({i});
  y.sum().backward();
  expect_values(x.grad().index({Slice(), 0, 0}), {4}, {3, 0, 0, 1});
}

// =================================================================================================
// index_put
// =================================================================================================

TEST(IndexPut, OutOfPlaceWritesBroadcastValuesAndIsDifferentiable) {
  const Tensor x = zeros({3, 4}, kFloat64);
  expect_values(index_put(x, {Slice(), longs({3, 0}, {2})}, f64({1, 2})), {3, 4}, {2, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1});
  expect_values(x.index_put({1}, f64({1, 2, 3, 4})), {3, 4}, {0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0});
  expect_values(index_put(x, {f64({1, 0, 1}, {3})}, 7.0), {3, 4}, {7, 7, 7, 7, 0, 0, 0, 0, 7, 7, 7, 7});
  // Accumulate: repeated positions add up.
  expect_values(index_put(x, {0, longs({1, 1, 2}, {3})}, f64({1, 2, 4}), true), {3, 4},
                {0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(values(x.sum())[0], 0.0) << "index_put must not write into self";
  const Tensor s = random_leaf(6, {4, 5}), v = random_leaf(7, {2, 1});
  const Tensor idx = longs({3, 1}, {2});
  expect_gradcheck([&](V a) { return index_put(a[0], {idx}, a[1]); }, {s, v});
  expect_gradcheck([&](V a) { return index_put(a[0], {Slice(1, 3), Slice(None, None, 2)}, a[1]); }, {s, v});
  expect_gradcheck(
      [&](V a) {
        return index_put(a[0], {longs({1, 1, 3}, {3}), 2}, a[1], true);
      },
      {s, random_leaf(10, {3})});
  expect_gradgradcheck([&](V a) { return index_put(a[0] * a[0], {idx}, a[1] * a[1]); }, {s, v});
}

TEST(IndexPut, InPlaceWritesThroughStridesAndBumpsTheVersion) {
  Tensor base = zeros({4, 6}, kFloat64);
  Tensor x = base.index({Slice(), Slice(None, None, 2)});  // a strided view, shape (4, 3)
  const auto v0 = x.version();
  x.index_put_({longs({2, 0}, {2}), 1}, f64({5, 6}));
  x.index_put_({-1}, 9.0);
  x.index_put_({f64({0, 1, 0, 0}, {4})}, f64({1, 2, 3}), true);
  EXPECT_GT(x.version(), v0);
  expect_values(base, {4, 6}, {0, 0, 6, 0, 0, 0,  //
                               1, 0, 2, 0, 3, 0,  //
                               0, 0, 5, 0, 0, 0,  //
                               9, 0, 9, 0, 9, 0});
  // PyTorch's in-place rule: a leaf that requires grad is refused; anything else is recorded
  // (gradchecked with the other in-place ops in tests/autograd/test_inplace.cpp).
  Tensor leaf = zeros({3}, kFloat64).requires_grad_();
  EXPECT_ERROR_CONTAINS(leaf.index_put_({0}, 1.0),
                        "index_put_: a leaf Variable that requires grad is being used in an in-place operation.");
  Tensor plain = zeros({3}, kFloat64);
  Tensor value = f64({4}).requires_grad_();
  plain.index_put_({longs({1}, {1})}, value);
  (plain * plain).sum().backward();
  expect_values(value.grad(), {1}, {8});
  Tensor expanded = zeros({1, 3}, kFloat64).expand({2, 3});
  EXPECT_ERROR_CONTAINS(expanded.index_put_({longs({0}, {1})}, 1.0), "index_put_: unsupported operation");
}

// =================================================================================================
// masked_fill, index_select, gather, scatter_add
// =================================================================================================

TEST(MaskedFill, FillsWhereTheMaskIsOneAndBroadcasts) {
  const Tensor x = arange(6.0, kFloat64).reshape({2, 3});
  expect_values(x.masked_fill(f64({1, 0, 1}), -1.0), {2, 3}, {-1, 1, -1, -1, 4, -1});
  expect_values(masked_fill(x, f64({0, 1}, {2, 1}), scalar_tensor(9.0, kFloat64)), {2, 3}, {0, 1, 2, 9, 9, 9});
  Tensor y = x.clone();
  y.masked_fill_(x.gt(3.0), 0.5);
  expect_values(y, {2, 3}, {0, 1, 2, 3, 0.5, 0.5});
  const Tensor s = random_leaf(8, {3, 4}), v = random_leaf(9, {});
  const Tensor m = f64({1, 0, 0, 1}, {4});
  expect_gradcheck([&](V a) { return a[0].masked_fill(m, 2.0); }, {s});
  expect_gradcheck([&](V a) { return masked_fill(a[0], m, a[1]); }, {s, v});
  EXPECT_ERROR_CONTAINS(x.masked_fill(f64({0.5, 0, 1}), 1.0),
                        "masked_fill: a mask must hold only 0 and 1 (voxgrad's boolean masks, as eq/lt/... return), "
                        "but element 0 of the mask of shape [3] is 0.5");
  EXPECT_ERROR_CONTAINS(x.masked_fill(f64({1, 0, 1}), f64({1, 2})),
                        "masked_fill: only supports a 0-dimensional value tensor, but got a tensor of shape [2]");
  EXPECT_ERROR_CONTAINS(y.masked_fill_(f64({1, 0}, {2, 1, 1}), 1.0), "masked_fill_: output with shape [2, 3]");
}

TEST(IndexSelect, MatchesLoopsOnEveryDim) {
  std::mt19937_64 rng(11);
  const Shape shape{3, 4, 5};
  const Tensor x = random_leaf(12, shape);
  for (std::int64_t d = 0; d < 3; ++d) {
    const Tensor idx = random_longs(rng, {6}, 0, shape[d]);
    const Tensor y = x.index_select(d, idx);
    Shape ys = shape;
    ys[d] = 6;
    ASSERT_EQ(y.sizes(), ys);
    const std::vector<double> xv = values(x), yv = values(y);
    const std::vector<std::int64_t> iv = int_values(idx);
    for_each_index(ys, [&](const Shape& o) {
      Shape src = o;
      src[d] = iv[static_cast<std::size_t>(o[d])];
      EXPECT_EQ(yv[flat(ys, o)], xv[flat(shape, src)]);
    });
    expect_gradcheck([d, idx](V a) { return index_select(a[0], d, idx); }, {x});
  }
  EXPECT_EQ(x.index_select(1, scalar_tensor(2.0, kInt64)).sizes(), (Shape{3, 1, 5}));
  EXPECT_ERROR_EQ(x.index_select(1, longs({4}, {1})),
                  "index_select: index 4 is out of bounds for dimension 1 with size 4");
  EXPECT_ERROR_EQ(x.index_select(0, longs({-1}, {1})),
                  "index_select: index -1 is out of bounds for dimension 0 with size 3");
  EXPECT_ERROR_EQ(x.index_select(0, longs({0, 1}, {1, 2})),
                  "index_select: index is supposed to be a vector, but got a tensor of shape [1, 2]");
  EXPECT_ERROR_EQ(x.index_select(0, f64({0})), "index_select: expected an int64 index, but got float64");
}

TEST(GatherScatterAdd, MatchLoopsOnEveryDimAndAreAdjoint) {
  std::mt19937_64 rng(13);
  const Shape shape{3, 4, 5};
  for (std::int64_t d = 0; d < 3; ++d) {
    SCOPED_TRACE("dim " + std::to_string(d));
    Shape is = {2, 3, 4};
    is[d] = 6;  // longer than self along dim (repeats), shorter elsewhere
    const Tensor idx = random_longs(rng, is, 0, shape[d]);
    const Tensor x = random_leaf(20 + d, shape);
    Shape ss = is;
    for (auto& s : ss) s += 1;  // src larger than index: only its corner is used
    const Tensor src = random_leaf(30 + d, ss);
    const Tensor g = gather(x, d, idx);
    const Tensor sa = scatter_add(x, d, idx, src);
    const std::vector<double> xv = values(x), gv = values(g), srcv = values(src);
    const std::vector<std::int64_t> iv = int_values(idx);
    std::vector<double> want = xv;
    for_each_index(is, [&](const Shape& o) {
      Shape at = o;
      at[d] = iv[static_cast<std::size_t>(flat(is, o))];
      EXPECT_EQ(gv[flat(is, o)], xv[flat(shape, at)]);
      want[flat(shape, at)] += srcv[flat(ss, o)];
    });
    expect_close(sa, f64(want, shape), 1e-14);
    expect_gradcheck([d, idx](V a) { return gather(a[0], d, idx); }, {x});
    expect_gradcheck([d, idx](V a) { return scatter_add(a[0], d, idx, a[1]); }, {x, src});
    expect_gradgradcheck([d, idx](V a) { return gather(a[0] * a[0], d, idx); }, {x});
    // Adjointness: <gather(x), y> = <x, scatter_add(0, idx, y)>.
    const Tensor y = random_leaf(40 + d, is).detach();
    EXPECT_NEAR(values((g * y).sum())[0], values((x * scatter_add(zeros_like(x), d, idx, y)).sum())[0], 1e-12);
  }
  Tensor acc = zeros({2, 3}, kFloat64);
  acc.scatter_add_(1, longs({2, 2, 0, 1}, {2, 2}), f64({1, 2, 3, 4}, {2, 2}));
  expect_values(acc, {2, 3}, {0, 0, 3, 3, 4, 0});
}

TEST(GatherScatterAdd, ErrorsNameTheOpTheArgumentAndTheValues) {
  const Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_ERROR_EQ(gather(x, 1, longs({3}, {1, 1})), "gather: index 3 is out of bounds for dimension 1 with size 3");
  EXPECT_ERROR_EQ(gather(x, 1, longs({-1}, {1, 1})), "gather: index -1 is out of bounds for dimension 1 with size 3");
  EXPECT_ERROR_EQ(gather(x, 1, longs({0}, {1})),
                  "gather: index tensor must have the same number of dimensions as input tensor (got index of "
                  "shape [1] and input of shape [2, 3])");
  EXPECT_ERROR_EQ(gather(x, 1, longs({0, 0, 0}, {3, 1})),
                  "gather: size does not match at dimension 0: expected index [3, 1] to be smaller than self [2, 3] "
                  "apart from dimension 1");
  EXPECT_ERROR_EQ(gather(x, 2, longs({0}, {1, 1})),
                  "gather: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_EQ(gather(x, 0, f64({0}, {1, 1})), "gather: expected an int64 index, but got float64");
  EXPECT_ERROR_EQ(scatter_add(x, 1, longs({0, 0}, {1, 2}), zeros({1, 1}, kFloat64)),
                  "scatter_add: size does not match at dimension 1: expected index [1, 2] to be smaller than src "
                  "[1, 1]");
  EXPECT_ERROR_EQ(scatter_add(x, 1, longs({0}, {1, 1}), zeros({1}, kFloat64)),
                  "scatter_add: src must have the same number of dimensions as self (got src of shape [1] and self "
                  "of shape [2, 3])");
  Tensor leaf = zeros({2, 3}, kFloat64).requires_grad_();
  EXPECT_ERROR_CONTAINS(leaf.scatter_add_(0, longs({0}, {1, 1}), zeros({1, 1}, kFloat64)),
                        "scatter_add_: a leaf Variable that requires grad is being used in an in-place operation.");
}

// =================================================================================================
// flip, roll
// =================================================================================================

TEST(FlipRoll, MatchLoopsAndAreDifferentiable) {
  const Shape shape{3, 4, 5};
  const Tensor x = random_leaf(50, shape);
  const std::vector<double> xv = values(x);
  const Tensor f = x.flip({0, -1});
  const Tensor r = x.roll({5, -6, 2}, {1, 2, 1});  // dim 1 by 7 ≡ 3, dim 2 by -6 ≡ 4
  const Tensor rf = x.roll(-23);
  const std::vector<double> fv = values(f), rv = values(r), rfv = values(rf);
  for_each_index(shape, [&](const Shape& o) {
    EXPECT_EQ(fv[flat(shape, o)], xv[flat(shape, {2 - o[0], o[1], 4 - o[2]})]);
    EXPECT_EQ(rv[flat(shape, o)], xv[flat(shape, {o[0], (o[1] + 4 - 3) % 4, (o[2] + 5 - 4) % 5})]);
    EXPECT_EQ(rfv[flat(shape, o)], xv[(flat(shape, o) + 23) % 60]);
  });
  EXPECT_TRUE(vt::bit_identical(x.flip({}), x));
  EXPECT_TRUE(vt::bit_identical(x.roll(std::numeric_limits<std::int64_t>::max(), 0), x.roll(1, 0)));
  expect_gradcheck([](V a) { return a[0].flip({1, 2}); }, {x});
  expect_gradcheck([](V a) { return a[0].roll({1, -2}, {0, 2}); }, {x});
  expect_gradcheck([](V a) { return a[0].roll(11); }, {x});
  EXPECT_ERROR_EQ(x.flip({0, -3}), "flip: dim 0 appears multiple times in the list of dims [0, -3]");
  EXPECT_ERROR_EQ(x.roll({1, 2}, {0}), "roll: shifts and dimensions must align. shifts: 2, dims: 1");
  EXPECT_ERROR_CONTAINS(x.roll({1, 2}), "roll: shifts and dimensions must align: without dims one shift is expected");
  EXPECT_ERROR_CONTAINS(x.roll(1, 3), "roll: dimension out of range");
}

TEST(FlipRoll, Rot90TurnsFromTheFirstDimTowardsTheSecond) {
  const Tensor x = f64({0, 1, 2, 3, 4, 5}, {2, 3});
  expect_values(rot90(x), {3, 2}, {2, 5, 1, 4, 0, 3});  // as torch.rot90
  expect_values(rot90(x, 2), {2, 3}, {5, 4, 3, 2, 1, 0});
  expect_values(rot90(x, -1), {3, 2}, {3, 0, 4, 1, 5, 2});
  EXPECT_TRUE(vt::bit_identical(rot90(x, 1, {1, 0}), rot90(x, 3)));
  const Tensor same = rot90(x, 8);  // a copy
  EXPECT_TRUE(vt::bit_identical(same, x));
  EXPECT_NE(same.data_ptr<double>(), x.data_ptr<double>());
  const Tensor y = random_leaf(51, {2, 3, 4});
  for (const std::int64_t k : {1, 2, 3, 4}) {
    expect_gradcheck([k](V a) { return rot90(a[0], k, {2, 0}); }, {y});
  }
  expect_gradgradcheck([](V a) { return rot90(a[0] * a[0], 1, {2, 0}); }, {y});
  // The result is a tensor of its own: made without grad, it can be modified in place with grad.
  Tensor r;
  {
    NoGradGuard guard;
    r = rot90(x, 1);
  }
  const Tensor w = vt::leaf({2.0});
  r.mul_(w);
  r.sum().backward();
  EXPECT_EQ(values(w.grad())[0], 15.0);
  EXPECT_ERROR_EQ(rot90(x, 1, {0}), "rot90: expected 2 rotation dims, but got [0]");
  EXPECT_ERROR_EQ(rot90(x, 1, {1, -1}), "rot90: expected two different rotation dims, but got 1 and -1 (both dim 1)");
  EXPECT_ERROR_CONTAINS(rot90(x, 1, {0, 5}), "rot90: dimension out of range");
  EXPECT_ERROR_EQ(rot90(f64({1, 2})), "rot90: expected a tensor of at least 2 dims, but got shape [2]");
}

// =================================================================================================
// argmax / argmin
// =================================================================================================

constexpr std::array<std::int64_t, 4> kColumnArgmin{2, 2, 2, 0};

TEST(ArgmaxArgmin, FirstOccurrenceNaNAndShapes) {
  const double nan = vt::kNaN;
  const Tensor x = f64({1, 5, 5, 0, -2, 3, -2, 3, nan, 0, nan, 9}, {3, 4});
  EXPECT_EQ(int_values(x.argmax(1)), (std::vector<std::int64_t>{1, 1, 0}));
  EXPECT_EQ(int_values(x.argmin(1)), (std::vector<std::int64_t>{3, 0, 0}));
  // Compared with a file-scope constant: GCC 12.2 at -O3 -march=native built the braced list
  // {2, 2, 2, 0} in this function as {2, 2, 2, 2} (-O2, or -O3 without -march=native, are fine).
  EXPECT_EQ(int_values(x.argmin(0, true)), std::vector<std::int64_t>(kColumnArgmin.begin(), kColumnArgmin.end()));
  EXPECT_EQ(x.argmin(0, true).sizes(), (Shape{1, 4}));
  EXPECT_EQ(int_values(x.argmax()), (std::vector<std::int64_t>{8}));
  EXPECT_EQ(int_values(x.index({Slice(None, 2)}).argmin()), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(x.argmax(std::nullopt, true).sizes(), (Shape{1, 1}));
  EXPECT_EQ(x.argmax().dim(), 0);
  EXPECT_EQ(x.argmax().dtype(), kInt64);
  EXPECT_FALSE(x.requires_grad());
  EXPECT_FALSE(argmax(vt::leaf({1, 2}, {2}), 0).requires_grad());
  EXPECT_ERROR_EQ(argmax(zeros({0}, kFloat64)),
                  "argmax: expected a reduction dim to be specified for an input with no elements (shape [0])");
  EXPECT_ERROR_EQ(argmin(zeros({2, 0}, kFloat64), 1),
                  "argmin: expected reduction dim 1 to have non-zero size (input shape [2, 0])");
  EXPECT_ERROR_CONTAINS(argmax(x, 2), "argmax: dimension out of range");
}

// =================================================================================================
// norm
// =================================================================================================

TEST(Norm, MatchesSumsOfPowersForEveryP) {
  const Shape shape{3, 4, 5};
  const Tensor x = random_leaf(60, shape);
  for (double p : {1.0, 2.0, 3.0, 0.5, 1.5, -1.0, kInf, -kInf, 0.0}) {
    SCOPED_TRACE("p = " + std::to_string(p));
    const Tensor y = x.norm(p, {0, 2}, true);
    ASSERT_EQ(y.sizes(), (Shape{1, 4, 1}));
    const std::vector<double> xv = values(x), yv = values(y);
    for (std::int64_t j = 0; j < 4; ++j) {
      double acc = p == kInf ? 0.0 : (p == -kInf ? kInf : 0.0);
      for (std::int64_t i = 0; i < 3; ++i) {
        for (std::int64_t k = 0; k < 5; ++k) {
          const double a = std::abs(xv[flat(shape, {i, j, k})]);
          if (p == kInf)
            acc = std::max(acc, a);
          else if (p == -kInf)
            acc = std::min(acc, a);
          else if (p == 0.0)
            acc += a != 0.0;
          else
            acc += std::pow(a, p);
        }
      }
      const double want = std::isinf(p) || p == 0.0 ? acc : std::pow(acc, 1.0 / p);
      EXPECT_NEAR(yv[static_cast<std::size_t>(j)], want, 1e-12 * std::max(1.0, want));
    }
    if (p != 0.0) expect_gradcheck([p](V a) { return a[0].norm(p, {0, 2}); }, {x});
  }
  EXPECT_NEAR(values(x.norm())[0], std::sqrt(values((x * x).sum())[0]), 1e-14);
  expect_close(x.to(kFloat32).norm(3, {1}), x.norm(3, {1}).to(kFloat32), 1e-6, 1e-6);
  expect_gradgradcheck([](V a) { return a[0].norm(2, {1}); }, {x});
  expect_gradgradcheck([](V a) { return a[0].norm(3); }, {x});
}

TEST(Norm, GradientAtZeroAndTiesIsPyTorchs) {
  const Tensor z = vt::leaf({0, 0, 0, 3, 0, -4}, {2, 3});
  z.norm(2, {1}).sum().backward();
  expect_values(z.grad(), {2, 3}, {0, 0, 0, 0.6, 0, -0.8});
  const Tensor t = vt::leaf({1, -3, 3, 2, 0, -2}, {2, 3});
  t.norm(kInf, {1}).sum().backward();
  expect_values(t.grad(), {2, 3}, {0, -0.5, 0.5, 0.5, 0, -0.5});
  const Tensor o = vt::leaf({0, 2, -1}, {3});
  o.norm(1).backward();
  expect_values(o.grad(), {3}, {0, 1, -1});
  EXPECT_ERROR_EQ(zeros({2, 0}, kFloat64).norm(kInf, {1}),
                  "norm: the inf norm of no elements is undefined (input shape [2, 0], reducing [1]); reduce over "
                  "non-empty dims");
  EXPECT_EQ(values(zeros({2, 0}, kFloat64).norm(2, {1}))[0], 0.0);
  EXPECT_ERROR_EQ(z.norm(vt::kNaN), "norm: the order p must not be NaN");
  EXPECT_ERROR_EQ(zeros({2}, kInt64).norm(), "norm: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(z.norm(2, {1, -1}), "norm: dim 1 appears multiple times in the list of dims");
}

// =================================================================================================
// where with scalars
// =================================================================================================

TEST(WhereScalars, ScalarsTakeTheTensorsDtypeOrFloat32) {
  const Tensor c = f64({1, 0, 1});
  const Tensor a = vt::leaf({1, 2, 3}, {3});
  expect_values(where(c, a, -1.0), {3}, {1, -1, 3});
  expect_values(where(c, 7.0, a), {3}, {7, 2, 7});
  expect_values(a.where(c, 0.0), {3}, {1, 0, 3});
  expect_values(a.where(c, f64({9})), {3}, {1, 9, 3});
  const Tensor s = where(c, 1.5, 2.5);
  EXPECT_EQ(s.dtype(), kFloat32);
  expect_values(s, {3}, {1.5, 2.5, 1.5});
  EXPECT_EQ(where(c, a.to(kFloat32), 0.1).dtype(), kFloat32);
  expect_gradcheck([&](V x) { return where(c, x[0], 0.5) * where(c, -2.0, x[0]); }, {a});
}

// =================================================================================================
// Errors of index / index_put
// =================================================================================================

TEST(Index, ErrorsNameTheOpTheIndexAndTheValues) {
  const Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_ERROR_EQ(x.index({5}), "index: index 5 is out of bounds for dimension 0 with size 2");
  EXPECT_ERROR_EQ(x.index({Slice(), -4}), "index: index -4 is out of bounds for dimension 1 with size 3");
  EXPECT_ERROR_EQ(x.index({Slice(), longs({0, 3}, {2})}),
                  "index: index 3 is out of bounds for dimension 1 with size 3");
  EXPECT_ERROR_EQ(x.index({0, 0, 0}), "index: too many indices for tensor of dimension 2 (got 3)");
  EXPECT_ERROR_EQ(x.index({Ellipsis, 0, Ellipsis}),
                  "index: an index can only have a single ellipsis (Ellipsis), but got 2");
  EXPECT_ERROR_EQ(x.index({Slice(None, None, -1)}),
                  "index: slice step must be greater than zero, but got -1 (for dimension 0)");
  EXPECT_ERROR_EQ(x.index({Slice(None, None, 0)}),
                  "index: slice step must be greater than zero, but got 0 (for dimension 0)");
  EXPECT_ERROR_EQ(x.index({f64({1, 0}, {1, 2})}),
                  "index: the shape of the mask [1, 2] at index 0 does not match the shape of the indexed tensor "
                  "[2, 3] at index 0");
  EXPECT_ERROR_CONTAINS(x.index({f64({2, 0, 1})}), "index: a mask must hold only 0 and 1");
  EXPECT_ERROR_CONTAINS(x.index({longs({0, 1}, {2}), longs({0, 1, 2}, {3})}), "index: ");
  EXPECT_ERROR_EQ(x.index({Tensor()}), "index: argument 'indices' is an undefined tensor");
  EXPECT_ERROR_EQ(index_put(x, {0}, zeros({2}, kFloat64)),
                  "index_put: shape mismatch: value tensor of shape [2] cannot be broadcast to indexing result of "
                  "shape [3]");
  EXPECT_ERROR_EQ(index_put(x, {0}, Tensor()), "index_put: argument 'values' is an undefined tensor");
  EXPECT_ERROR_EQ(index(Tensor(), {0}), "index: argument 'self' is an undefined tensor");
}

}  // namespace
