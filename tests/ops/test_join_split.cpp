// ops/join_split.h (split, chunk, unbind, meshgrid; cat and stack: tests/ops/test_shape_ops.cpp) and linspace
// (core/factory.h), against PyTorch 1.13's shapes and values (taken from torch by hand, written below): the views share
// their input's storage, gradients flow back (gradcheck in float64), and bad arguments raise voxgrad::Error naming the
// op and the values. Views of the input: tests/ops/test_views.cpp.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;

std::vector<Shape> shapes_of(const std::vector<Tensor>& ts) {
  std::vector<Shape> s;
  for (const Tensor& t : ts) s.push_back(t.sizes());
  return s;
}

// The pieces back together along `dim`, to compare with the input.
void expect_pieces_of(const std::vector<Tensor>& pieces, const Tensor& whole, std::int64_t dim) {
  ASSERT_FALSE(pieces.empty());
  EXPECT_TRUE(vt::bit_identical(cat(pieces, dim), whole));
}

TEST(Split, SplitChunkAndUnbindAreTorchs) {
  const Tensor x = arange(0, 60, 1, kFloat64).reshape({3, 5, 4});
  // torch.split(x, 2, 1): sizes 2, 2, 1.
  const std::vector<Tensor> s = split(x, 2, 1);
  EXPECT_EQ(shapes_of(s), (std::vector<Shape>{{3, 2, 4}, {3, 2, 4}, {3, 1, 4}}));
  expect_pieces_of(s, x, 1);
  EXPECT_TRUE(vt::bit_identical(s[1], x.slice(1, 2, 4)));
  expect_pieces_of(x.split(4, -1), x, 2);
  EXPECT_EQ(x.split(4, -1).size(), 1U);
  expect_pieces_of(x.split(10), x, 0);
  // With sizes, zeros included.
  const std::vector<Tensor> w = split(x, {0, 3, 2}, 1);
  EXPECT_EQ(shapes_of(w), (std::vector<Shape>{{3, 0, 4}, {3, 3, 4}, {3, 2, 4}}));
  expect_pieces_of(w, x, 1);
  expect_pieces_of(x.split({1, 2}, 0), x, 0);
  // torch.chunk: 5 in 3 → 2, 2, 1; 6 in 4 → 2, 2, 2 (three chunks); 5 in 10 → five of 1.
  EXPECT_EQ(shapes_of(chunk(x, 3, 1)), (std::vector<Shape>{{3, 2, 4}, {3, 2, 4}, {3, 1, 4}}));
  EXPECT_EQ(shapes_of(chunk(zeros({6}), 4)), (std::vector<Shape>{{2}, {2}, {2}}));
  EXPECT_EQ(x.chunk(10, 1).size(), 5U);
  expect_pieces_of(x.chunk(2, 2), x, 2);
  // Empty dims: split gives one empty view (split_size 0 allowed), chunk gives `chunks` of them.
  EXPECT_EQ(shapes_of(split(zeros({0, 2}), 0)), (std::vector<Shape>{{0, 2}}));
  EXPECT_EQ(shapes_of(split(zeros({0, 2}), 3)), (std::vector<Shape>{{0, 2}}));
  EXPECT_EQ(shapes_of(chunk(zeros({2, 0}), 3, 1)), (std::vector<Shape>{{2, 0}, {2, 0}, {2, 0}}));
  // unbind: the slices without the dim.
  const std::vector<Tensor> u = unbind(x, -1);
  ASSERT_EQ(u.size(), 4U);
  for (std::int64_t i = 0; i < 4; ++i) EXPECT_TRUE(vt::bit_identical(u[i], x.select(2, i)));
  EXPECT_TRUE(vt::bit_identical(stack(x.unbind(1), 1), x));
  EXPECT_TRUE(unbind(zeros({0, 3})).empty());
  // Views into the input's storage, not copies: writing through a piece writes the input.
  Tensor y = arange(0, 6, 1, kFloat64);
  split(y, 4)[1].zero_();
  chunk(y, 3)[0].zero_();
  unbind(y)[2].zero_();
  vt::expect_values(y, {6}, {0, 0, 0, 3, 0, 0}, 0.0);
  // On a view: a transposed, strided input.
  const Tensor v = x.transpose(0, 2).slice(1, 0, 5, 2);  // [4, 3, 3]
  expect_pieces_of(split(v, 2, 1), v, 1);
  expect_pieces_of(chunk(v, 2, 0), v, 0);
  EXPECT_TRUE(vt::bit_identical(stack(unbind(v, 2), 2), v));
}

TEST(Split, GradientsFlowBackThroughEveryPiece) {
  const Tensor x = vt::uniform_leaf({4, 5}, -1.0, 1.0, 61);
  // Each piece weighted differently, so a gradient sent to the wrong place shows.
  vt::expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> p = split(in[0], 2, 1);
        return cat({p[0] * 2.0, p[1] * p[1], p[2].exp()}, 1);
      },
      {x});
  vt::expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> p = in[0].split({1, 3}, 0);
        return p[1].sum(0) * p[0].squeeze(0);
      },
      {x});
  vt::expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> p = chunk(in[0], 3, 1);
        return p[0].sum() + (p[1] * 3.0).sum() - p[2].pow(2.0).sum();
      },
      {x});
  vt::expect_gradgradcheck(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> p = unbind(in[0], 1);
        return p[0] * p[1] * p[4];
      },
      {x});
  // A piece left unused gets a zero gradient.
  Tensor y = vt::leaf({1.0, 2.0, 3.0});
  unbind(y)[1].backward();
  vt::expect_values(y.grad(), {3}, {0.0, 1.0, 0.0}, 0.0);
}

TEST(Split, MeshgridIsTorchs) {
  const Tensor a = arange(0, 2, 1, kFloat64), b = arange(10, 13, 1, kFloat64), c = arange(20, 24, 1, kFloat64);
  // "ij": (2, 3); torch: g[0] = [[0, 0, 0], [1, 1, 1]], g[1] = [[10, 11, 12], [10, 11, 12]].
  std::vector<Tensor> g = meshgrid({a, b});
  EXPECT_EQ(shapes_of(g), (std::vector<Shape>{{2, 3}, {2, 3}}));
  vt::expect_values(g[0], {2, 3}, {0, 0, 0, 1, 1, 1}, 0.0);
  vt::expect_values(g[1], {2, 3}, {10, 11, 12, 10, 11, 12}, 0.0);
  // "xy": (3, 2); torch: g[0] = [[0, 1], [0, 1], [0, 1]].
  g = meshgrid({a, b}, "xy");
  EXPECT_EQ(shapes_of(g), (std::vector<Shape>{{3, 2}, {3, 2}}));
  vt::expect_values(g[0], {3, 2}, {0, 1, 0, 1, 0, 1}, 0.0);
  vt::expect_values(g[1], {3, 2}, {10, 10, 11, 11, 12, 12}, 0.0);
  // Three inputs, "xy": (3, 2, 4); a 0-d input counts as one element.
  g = meshgrid({a, b, c}, "xy");
  EXPECT_EQ(shapes_of(g), (std::vector<Shape>{{3, 2, 4}, {3, 2, 4}, {3, 2, 4}}));
  for (std::int64_t i = 0; i < 3; ++i) {
    for (std::int64_t j = 0; j < 2; ++j) {
      for (std::int64_t k = 0; k < 4; ++k) {
        EXPECT_EQ(g[0].index({i, j, k}).item<double>(), static_cast<double>(j));
        EXPECT_EQ(g[1].index({i, j, k}).item<double>(), 10.0 + static_cast<double>(i));
        EXPECT_EQ(g[2].index({i, j, k}).item<double>(), 20.0 + static_cast<double>(k));
      }
    }
  }
  g = meshgrid({scalar_tensor(5.0, kFloat64), b});
  EXPECT_EQ(shapes_of(g), (std::vector<Shape>{{1, 3}, {1, 3}}));
  EXPECT_EQ(shapes_of(meshgrid({b})), (std::vector<Shape>{{3}}));
  // Gradients sum over the expanded dims; an input given as a strided view reads only its elements.
  const Tensor la = vt::uniform_leaf({3}, -1.0, 1.0, 62), lb = vt::uniform_leaf({6}, -1.0, 1.0, 63);
  vt::expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> m = meshgrid({in[0], in[1].slice(0, 1, 6, 2)}, "xy");
        return m[0] * m[1] * m[1];
      },
      {la, lb});
}

TEST(Split, LinspaceIsTorchs) {
  // torch.linspace(-1, 1, 7) (float32): the middle value is 1 − 3·step, not 0.
  const std::vector<float> want = {-1.0F,
                                   -0.6666666269302368F,
                                   -0.3333333134651184F,
                                   -2.9802322387695312e-08F,
                                   0.3333333134651184F,
                                   0.6666666269302368F,
                                   1.0F};
  const Tensor l = linspace(-1.0, 1.0, 7);
  ASSERT_EQ(l.dtype(), kFloat32);
  EXPECT_TRUE(vt::bit_identical(l, from_blob(want.data(), {7}, kFloat32)));
  // torch.linspace(0.1, 0.9, 5, dtype=torch.float64) = [0.1, 0.30000000000000004, 0.5, 0.7, 0.9].
  const std::vector<double> want64 = {0.1, 0.30000000000000004, 0.5, 0.7, 0.9};
  EXPECT_TRUE(vt::bit_identical(linspace(0.1, 0.9, 5, kFloat64), vt::f64(want64)));
  EXPECT_TRUE(vt::bit_identical(linspace(0.0, 1.0, 1), zeros({1})));
  EXPECT_EQ(linspace(0.0, 1.0, 0).sizes(), (Shape{0}));
  // Both ends exact, and descending ranges.
  const Tensor d = linspace(3.0, -2.0, 1001, kFloat64);
  EXPECT_EQ(d.index({0}).item<double>(), 3.0);
  EXPECT_EQ(d.index({1000}).item<double>(), -2.0);
  EXPECT_EQ(d.index({500}).item<double>(), 3.0 + (-5.0 / 1000.0) * 500.0);
  EXPECT_TRUE(linspace(0.0, 1.0, 3, TensorOptions().requires_grad(true)).requires_grad());
}

TEST(Split, ErrorsNameTheOpAndTheValues) {
  const Tensor x = zeros({5, 2});
  EXPECT_ERROR_EQ(split(x, 0), "split: split_size can be 0 only if dim 0 is empty, but its size is 5");
  EXPECT_ERROR_EQ(split(x, -1), "split: split_size must be non-negative, but got -1");
  EXPECT_ERROR_EQ(split(x, {2, 2}), "split: split_sizes [2, 2] must sum to 5 (the size of dim 0), but sum to 4");
  EXPECT_ERROR_EQ(split(x, {6, -1}), "split: split_sizes must be non-negative, but got [6, -1]");
  EXPECT_ERROR_EQ(split(x, 2, 2), "split: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_EQ(split(scalar_tensor(1.0), 1), "split: expected a tensor with at least one dim, but got a 0-d tensor");
  EXPECT_ERROR_EQ(split(Tensor(), 1), "split: argument 'self' is an undefined tensor");
  EXPECT_ERROR_EQ(chunk(x, 0), "chunk: chunks must be greater than 0, but got 0");
  EXPECT_ERROR_EQ(chunk(x, 2, -3), "chunk: dimension out of range (expected to be in range of [-2, 1], but got -3)");
  EXPECT_ERROR_EQ(unbind(scalar_tensor(1.0)), "unbind: expected a tensor with at least one dim, but got a 0-d tensor");
  EXPECT_ERROR_EQ(meshgrid({zeros({2}), zeros({2})}, "foo"),
                  "meshgrid: indexing must be \"ij\" or \"xy\", but got \"foo\"");
  EXPECT_ERROR_EQ(meshgrid({}), "meshgrid: expected a non-empty list of tensors");
  EXPECT_ERROR_EQ(meshgrid({zeros({2}), zeros({2, 2})}),
                  "meshgrid: expected 0-d or 1-D tensors, but tensor 1 has shape [2, 2]");
  EXPECT_ERROR_EQ(meshgrid({zeros({2}), zeros({2}, kFloat64)}),
                  "meshgrid: expected tensors of one dtype, but tensor 0 is float32 and tensor 1 is float64");
  EXPECT_ERROR_EQ(meshgrid({zeros({2}), Tensor()}), "meshgrid: tensor 1 is undefined");
  EXPECT_ERROR_EQ(linspace(0.0, 1.0, -1), "linspace: steps must be non-negative, but got -1");
  EXPECT_ERROR_EQ(linspace(0.0, 1.0, 3, kInt64), "linspace: expected a floating dtype, got int64");
}

}  // namespace
