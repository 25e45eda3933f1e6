// ops/repeat.h (repeat, tile) and the smaller matrix ops of ops/linalg.h (dot, outer, tril, triu) and argsort
// (ops/sort.h): shapes and values against loops over the indices, copies that never alias the input, gradients
// (gradcheck and gradgradcheck in float64), and the errors. PyTorch 1.13's values and gradients:
// tests/ops/test_sort_scan_fixtures.cpp; views of every argument: tests/ops/test_views.cpp.

#include <voxgrad/voxgrad.h>

#include <cstdint>
#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;

TEST(Repeat, RepeatAndTileAreTheLoopOverTheIndices) {
  const Tensor x = arange(0, 6, 1, kFloat64).reshape({2, 3});
  // repeat({2, 2, 3}): out[a][i][j] = x[i % 2][j % 3] with out of shape [2, 4, 9].
  const Tensor r = repeat(x, {2, 2, 3});
  ASSERT_EQ(r.sizes(), (Shape{2, 4, 9}));
  for (std::int64_t a = 0; a < 2; ++a) {
    for (std::int64_t i = 0; i < 4; ++i) {
      for (std::int64_t j = 0; j < 9; ++j) {
        EXPECT_EQ(r.index({a, i, j}).item<double>(), x.index({i % 2, j % 3}).item<double>());
      }
    }
  }
  // tile pads reps with leading 1s; repeat does not accept fewer repeats than dims.
  EXPECT_TRUE(vt::bit_identical(tile(x, {2}), repeat(x, {1, 2})));
  EXPECT_TRUE(vt::bit_identical(x.tile({3, 1, 1}), x.repeat({3, 1, 1})));
  EXPECT_EQ(repeat(x, {0, 1}).sizes(), (Shape{0, 3}));
  EXPECT_EQ(repeat(scalar_tensor(2.0), {}).sizes(), (Shape{}));
  EXPECT_EQ(repeat(scalar_tensor(2.0), {3}).sizes(), (Shape{3}));
  // Always a copy of its own, as torch's: with every repeat 1, and with repeats only along new or size-1 dims
  // (which a view of stride 0 could express, but torch copies, and writes to the copy must work).
  Tensor y = x.clone();
  y.repeat({1, 1}).fill_(7.0);
  Tensor lead = y.repeat({4, 1, 1});
  lead.fill_(7.0);
  Tensor ones_dim = y.unsqueeze(1).repeat({1, 3, 1});
  ones_dim.fill_(7.0);
  Tensor from_0d = scalar_tensor(1.0, kFloat64).repeat({3});
  from_0d.fill_(7.0);
  Tensor tiled = tile(arange(0, 3, 1, kFloat64), {4, 1});
  tiled.fill_(7.0);
  EXPECT_TRUE(vt::bit_identical(y, x));
  EXPECT_TRUE(lead.is_contiguous() && ones_dim.is_contiguous() && from_0d.is_contiguous() && tiled.is_contiguous());
  // On a transposed, strided view.
  const Tensor v = arange(0, 24, 1, kFloat64).reshape({4, 6}).t().slice(0, 1, 6, 2);  // [3, 4]
  EXPECT_TRUE(vt::bit_identical(repeat(v, {2, 1}), repeat(v.contiguous(), {2, 1})));
  // The gradient sums the copies: gradcheck and gradgradcheck.
  const Tensor leaf = vt::uniform_leaf({2, 3}, -1.0, 1.0, 81);
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return repeat(in[0], {3, 1, 2}); }, {leaf});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return tile(in[0], {2}).pow(2.0); }, {leaf});
}

TEST(Repeat, TrilTriuDotOuterAndArgsort) {
  const Tensor m = arange(1, 13, 1, kFloat64).reshape({3, 4});
  vt::expect_values(tril(m), {3, 4}, {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}, 0.0);
  vt::expect_values(m.triu(1), {3, 4}, {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12}, 0.0);
  vt::expect_values(m.tril(-2), {3, 4}, {0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0}, 0.0);
  vt::expect_values(triu(m, 10), {3, 4}, std::vector<double>(12, 0.0), 0.0);
  // Batched over leading dims, and the gradient is the same triangle of the incoming one.
  const Tensor b = vt::uniform_leaf({2, 3, 3}, -1.0, 1.0, 82);
  EXPECT_TRUE(vt::bit_identical(tril(b).select(0, 1), tril(b.select(0, 1))));
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return tril(in[0], 1) * 2.0; }, {b});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return triu(in[0]).pow(2.0); }, {b});
  // dot and outer.
  const Tensor u = vt::f64({1.0, 2.0, 3.0}), w = vt::f64({4.0, -5.0, 6.0});
  EXPECT_EQ(dot(u, w).item<double>(), 12.0);
  EXPECT_EQ(dot(u, w).dim(), 0);
  vt::expect_values(u.outer(w.slice(0, 0, 2)), {3, 2}, {4, -5, 8, -10, 12, -15}, 0.0);
  const Tensor p = vt::uniform_leaf({4}, -1.0, 1.0, 83), q = vt::uniform_leaf({5}, -1.0, 1.0, 84);
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return outer(in[0], in[1]); }, {p, q});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return dot(in[0], in[1].slice(0, 0, 4)); }, {p, q});
  // argsort: sort's indices, ties in index order, never requiring grad.
  const Tensor s = vt::leaf({3.0, 1.0, 3.0, 2.0});
  const Tensor idx = argsort(s);
  EXPECT_EQ(idx.dtype(), kInt64);
  EXPECT_FALSE(idx.requires_grad());
  vt::expect_values(idx, {4}, {1, 3, 0, 2}, 0.0);
  vt::expect_values(s.argsort(0, true), {4}, {0, 2, 3, 1}, 0.0);
}

TEST(Repeat, ErrorsNameTheOpAndTheValues) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_EQ(repeat(x, {2}), "repeat: repeats [2] name fewer dims than the tensor of shape [2, 3] has");
  EXPECT_ERROR_EQ(repeat(x, {1, -1}), "repeat: repeats must be non-negative, but got [1, -1]");
  EXPECT_ERROR_EQ(repeat(x, {1, std::int64_t{1} << 62}),
                  "repeat: repeats [1, 4611686018427387904] of shape [2, 3] give more elements than an int64 counts");
  EXPECT_ERROR_EQ(repeat(x, {std::int64_t{1} << 31, std::int64_t{1} << 31}),
                  "repeat: repeats [2147483648, 2147483648] of shape [2, 3] give more elements than an int64 counts");
  EXPECT_ERROR_EQ(tile(x, {-2}), "tile: repeats must be non-negative, but got [1, -2]");
  EXPECT_ERROR_EQ(tile(Tensor(), {2}), "tile: argument 'self' is an undefined tensor");
  EXPECT_ERROR_EQ(tril(zeros({3})), "tril: the input needs at least 2 dims, but has shape [3]");
  EXPECT_ERROR_EQ(triu(zeros({2, 2}, kInt64)), "triu: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(dot(x, zeros({3})), "dot: expected 1-D tensors, but got shapes [2, 3] and [3]");
  EXPECT_ERROR_EQ(dot(zeros({2}), zeros({3})), "dot: expected tensors of one size, but got shapes [2] and [3]");
  EXPECT_ERROR_EQ(outer(zeros({2}), Tensor()), "outer: argument 'vec2' is an undefined tensor");
  EXPECT_ERROR_EQ(outer(zeros({2}), x), "outer: expected 1-D tensors, but got shapes [2] and [2, 3]");
  EXPECT_ERROR_EQ(argsort(x, 2), "argsort: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_EQ(argsort(zeros({2}, kInt64)), "argsort: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(argsort(scalar_tensor(1.0), 1),
                  "argsort: dimension out of range (expected to be in range of [-1, 0], but got 1)");
}

}  // namespace
