// F::group_norm_relu: relu(group_norm(x)) as one op. Its outputs and gradients must equal the two ops'
// bit for bit on every path of the fused kernels (stat group by stat group or in passes over all
// planes, planes shorter and longer than a chunk, float32 and float64, with and without affine, views,
// zeros and NaN), under create_graph, with recomputation, on any thread count; plus float64 gradcheck
// and gradgradcheck, and the error messages.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;
namespace F = voxgrad::nn::functional;

struct Result {
  std::vector<Tensor> values;  // y, dx, and dw and db with affine
};

// y = relu(group_norm(x)) (or the fused op) and its gradients for the upstream gradient go.
Result run(bool fused, const Tensor& x0, const Tensor& w0, const Tensor& b0, std::int64_t groups, const Tensor& go) {
  const Tensor x = x0.detach().requires_grad_();
  const bool affine = w0.defined();
  const Tensor w = affine ? w0.detach().requires_grad_() : Tensor();
  const Tensor b = affine ? b0.detach().requires_grad_() : Tensor();
  const auto opts = F::GroupNormFuncOptions(groups).weight(w).bias(b);
  const Tensor y = fused ? F::group_norm_relu(x, opts) : F::group_norm(x, opts).relu();
  y.backward(go);
  Result r{{y, x.grad()}};
  if (affine) {
    r.values.push_back(w.grad());
    r.values.push_back(b.grad());
  }
  return r;
}

void expect_same_as_unfused(const Tensor& x, const Tensor& w, const Tensor& b, std::int64_t groups, const Tensor& go,
                            const std::string& what) {
  const Result fused = run(true, x, w, b, groups, go), plain = run(false, x, w, b, groups, go);
  const char* names[4] = {"y", "dx", "dw", "db"};
  ASSERT_EQ(fused.values.size(), plain.values.size());
  for (std::size_t i = 0; i < fused.values.size(); ++i) {
    vt::expect_bitwise_equal(fused.values[i], plain.values[i], what + " " + names[i]);
  }
}

TEST(GroupNormRelu, SameBitsAsGroupNormThenReluOnEveryPathOfTheKernels) {
  vt::RestoreTwoThreads restore;
  set_num_threads(2);
  struct Case {
    Shape shape;
    std::int64_t groups;
    const char* what;
  };
  // (4, 8, …) with 2 groups: 8 stat groups of a few KiB, taken group by group. (1, 4, …) with 1 group:
  // one stat group, in passes over all planes. 8 400 and 20 000 elements per plane run over several
  // chunks and a partial one (128 for the ReLU and its mask, 2 048 for the statistics); 105 over one
  // partial chunk.
  const Case cases[] = {{{4, 8, 3, 5, 7}, 2, "by group, short planes"},
                        {{4, 8, 20, 20, 21}, 2, "by group, long planes"},
                        {{1, 4, 3, 5, 7}, 1, "in passes, short planes"},
                        {{1, 4, 20, 25, 40}, 1, "in passes, long planes"},
                        {{2, 6, 11}, 3, "1-D"}};
  std::uint64_t seed = 100;
  for (DType dt : {kFloat32, kFloat64}) {
    for (const Case& c : cases) {
      for (bool affine : {true, false}) {
        manual_seed(++seed);
        const Tensor x = randn(c.shape, dt), go = randn(c.shape, dt);
        const Tensor w = affine ? rand({c.shape[1]}, dt) + 0.5 : Tensor();
        const Tensor b = affine ? randn({c.shape[1]}, dt) : Tensor();
        expect_same_as_unfused(
            x, w, b, c.groups, go,
            std::string(c.what) + (dt == kFloat32 ? " float32" : " float64") + (affine ? " affine" : ""));
      }
    }
  }
}

TEST(GroupNormRelu, SameBitsOnViewsAtExactZerosAndWithNaN) {
  manual_seed(7);
  // A permuted view and a strided slice as input.
  const Tensor base = randn({4, 6, 5, 8});
  const Tensor go = randn({4, 6, 5, 4});
  const Tensor w = rand({6}) + 0.5, b = randn({6});
  expect_same_as_unfused(base.permute({0, 1, 3, 2}).slice(2, 0, 8, 2).contiguous().permute({0, 1, 3, 2}), w, b, 3, go,
                         "contiguous copy");
  expect_same_as_unfused(base.slice(3, 0, 8, 2), w, b, 3, go, "strided slice");
  // Symmetric groups without affine: the middle element normalises to exactly 0, where ReLU's output
  // and its gradient are 0.
  const Tensor sym = tensor({-2.0, -1.0, 0.0, 1.0, 2.0, -3.0, 0.0, 3.0, -1.0, 1.0}).reshape({2, 1, 5});
  const Tensor sgo = ones({2, 1, 5});
  expect_same_as_unfused(sym, Tensor(), Tensor(), 1, sgo, "exact zeros");
  // A NaN makes its whole stat group NaN: ReLU keeps NaN and passes the gradient (as relu does).
  Tensor nan = randn({2, 4, 3});
  nan.data_ptr<float>()[5] = std::numeric_limits<float>::quiet_NaN();  // sample 0, group 0
  expect_same_as_unfused(nan, w.slice(0, 0, 4), b.slice(0, 0, 4), 2, randn({2, 4, 3}), "NaN");
}

TEST(GroupNormRelu, GradcheckGradgradcheckAndTheRecordedBackward) {
  // Inputs away from the kink: the normalised values are at least 1e-3 from 0 (checked), far beyond
  // what gradcheck's perturbations of 1e-6 move them.
  const Tensor x = vt::uniform_leaf({2, 4, 2, 2, 3}, -2.0, 2.0, 31);
  const Tensor w = vt::uniform_leaf({4}, 0.5, 1.5, 32), b = vt::uniform_leaf({4}, -1.0, 1.0, 33);
  {
    NoGradGuard no_grad;
    const Tensor y = F::group_norm(x, F::GroupNormFuncOptions(2).weight(w).bias(b));
    ASSERT_GT(y.abs().min().item<double>(), 1e-3);
  }
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    return F::group_norm_relu(in[0], F::GroupNormFuncOptions(2).weight(in[1]).bias(in[2]));
  };
  EXPECT_TRUE(autograd::gradcheck(fn, {x, w, b}));
  EXPECT_TRUE(autograd::gradgradcheck(fn, {x, w, b}));
  // Under create_graph the backward is built from differentiable ops; the first-order gradients agree.
  const Tensor go = vt::uniform_leaf({2, 4, 2, 2, 3}, -1.0, 1.0, 34).detach();
  const std::vector<Tensor> fused = autograd::grad({fn({x, w, b})}, {x, w, b}, {go});
  const std::vector<Tensor> recorded = autograd::grad({fn({x, w, b})}, {x, w, b}, {go}, std::nullopt, true);
  ASSERT_EQ(fused.size(), recorded.size());
  EXPECT_TRUE(recorded[0].requires_grad());
  for (std::size_t i = 0; i < fused.size(); ++i) vt::expect_close(recorded[i], fused[i], 1e-12, 1e-12);
}

TEST(GroupNormRelu, RecomputedForALaterConvolutionGivesTheSameGradients) {
  // A convolution saves its input; with recomputation on (the default) that input is kept as a recipe
  // and computed again in backward, by the same kernel.
  manual_seed(9);
  const Tensor x0 = randn({2, 4, 6, 6, 6}), w0 = rand({4}) + 0.5, b0 = randn({4});
  const Tensor k0 = randn({3, 4, 3, 3, 3}), go = randn({2, 3, 6, 6, 6});
  std::vector<Tensor> grads[2];
  for (bool recompute : {false, true}) {
    const autograd::RecomputeGuard mode(recompute);
    const Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    const Tensor k = k0.clone().requires_grad_();
    const Tensor y = conv3d(F::group_norm_relu(x, F::GroupNormFuncOptions(2).weight(w).bias(b)), k, {}, 1, 1);
    y.backward(go);
    grads[recompute ? 1 : 0] = {x.grad(), w.grad(), b.grad(), k.grad()};
  }
  for (std::size_t i = 0; i < grads[0].size(); ++i) {
    vt::expect_bitwise_equal(grads[1][i], grads[0][i], "gradient " + std::to_string(i));
  }
}

TEST(GroupNormRelu, OneTwoAndEightThreadsGiveBitIdenticalResults) {
  vt::RestoreTwoThreads restore;
  manual_seed(51);
  const Tensor x = randn({3, 8, 9, 10, 11}), go = randn({3, 8, 9, 10, 11});
  const Tensor w = rand({8}) + 0.5, b = randn({8});
  const int threads[3] = {1, 2, 8};
  Result results[3];
  for (int t = 0; t < 3; ++t) {
    set_num_threads(threads[t]);
    results[t] = run(true, x, w, b, 2, go);
  }
  for (int t = 1; t < 3; ++t) {
    for (std::size_t i = 0; i < results[0].values.size(); ++i) {
      EXPECT_TRUE(vt::bit_identical(results[0].values[i], results[t].values[i]))
          << "result " << i << ", " << threads[t] << " threads";
    }
  }
}

TEST(GroupNormRelu, MixedDtypesFallBackToTheTwoOps) {
  manual_seed(65);
  const Tensor x = randn({2, 4, 3, 2, 3}, kFloat64);
  const Tensor w32 = rand({4}) + 0.5;
  const Tensor fused = F::group_norm_relu(x, F::GroupNormFuncOptions(2).weight(w32));
  EXPECT_EQ(fused.dtype(), kFloat64);
  vt::expect_bitwise_equal(fused, F::group_norm(x, F::GroupNormFuncOptions(2).weight(w32)).relu(), "mixed");
}

TEST(GroupNormRelu, ErrorsNameTheOp) {
  EXPECT_ERROR_EQ(F::group_norm_relu(zeros({2, 8, 2, 2, 2}), 3),
                  "group_norm_relu: Expected number of channels in input to be divisible by num_groups, but got "
                  "input of shape [2, 8, 2, 2, 2] and num_groups=3");
  EXPECT_ERROR_EQ(F::group_norm_relu(zeros({8}), 4),
                  "group_norm_relu: Expected at least 2 dimensions for input tensor but received 1");
  EXPECT_ERROR_EQ(F::group_norm_relu(zeros({2, 4, 3}), F::GroupNormFuncOptions(2).weight(ones({3}))),
                  "group_norm_relu: Expected weight to be a vector of size equal to the number of channels in "
                  "input, but got weight of shape [3] and input of shape [2, 4, 3]");
  EXPECT_ERROR_EQ(F::group_norm_relu(Tensor(), 4), "group_norm_relu: argument 'input' is an undefined tensor");
}

}  // namespace
