// Saved outputs computed again in backward instead of kept (autograd/recompute.h): GroupNorm's and
// ReLU's outputs, saved by a later op, are recipes. The gradients must be bitwise those of the run that
// keeps every saved tensor, the outputs' memory must be free between forward and backward, and
// in-place changes must not make a recipe return a value the consumer never saw.

#include <memory>

#include "test_util.h"

#include <voxgrad/core/tensor_impl.h>
#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
namespace F = nn::functional;
using voxgrad::testing::expect_bitwise_equal;

struct Params {
  Tensor x, w1, gamma, beta, w2;
};

Params make_params(DType dt, std::uint64_t seed) {
  manual_seed(seed);
  const auto leaf = [dt](Tensor t) { return t.to(dt).detach().requires_grad_(true); };
  return {leaf(randn({2, 2, 5, 4, 6})), leaf(randn({4, 2, 3, 3, 3}) * 0.3), leaf(rand({4}) + 0.5),
          leaf(randn({4}) * 0.2), leaf(randn({3, 4, 3, 3, 3}) * 0.3)};
}

// conv → GroupNorm → ReLU (in place or not) → conv: the second conv saves the ReLU output.
Tensor block(const Params& p, bool inplace_relu) {
  Tensor z = F::group_norm(conv3d(p.x, p.w1, {}, 1, 1), F::GroupNormFuncOptions(2).weight(p.gamma).bias(p.beta));
  Tensor h = inplace_relu ? z.relu_() : z.relu();
  return conv3d(h, p.w2, {}, 1, 1);
}

std::vector<Tensor> grads_of(const Params& p, bool recompute, bool inplace_relu) {
  const autograd::RecomputeGuard mode(recompute);
  const Tensor y = block(p, inplace_relu);
  manual_seed(9);
  const Tensor gy = randn(y.sizes(), y.dtype());
  return autograd::grad({y}, {p.x, p.w1, p.gamma, p.beta, p.w2}, {gy});
}

TEST(Recompute, GradientsAreBitwiseThoseOfKeepingEveryTensor) {
  for (DType dt : {kFloat32, kFloat64}) {
    for (bool inplace : {false, true}) {
      const Params p = make_params(dt, 1);
      const std::vector<Tensor> kept = grads_of(p, false, inplace), recomputed = grads_of(p, true, inplace);
      for (std::size_t i = 0; i < kept.size(); ++i) {
        expect_bitwise_equal(recomputed[i], kept[i], fmt::format("gradient {} (inplace ReLU {})", i, inplace));
      }
    }
  }
}

TEST(Recompute, GradcheckAndGradgradcheckThroughRecipes) {
  const Params p = make_params(kFloat64, 2);
  for (bool inplace : {false, true}) {
    const auto fn = [inplace](const std::vector<Tensor>& in) {
      return block({in[0], in[1], in[2], in[3], in[4]}, inplace);
    };
    voxgrad::testing::expect_gradcheck(fn, {p.x, p.w1, p.gamma, p.beta, p.w2});
  }
  // Second order: the recomputed input of the conv keeps its history (ReLU, GroupNorm, conv).
  const Tensor x = p.x.narrow(2, 0, 3).detach().requires_grad_(true);
  voxgrad::testing::expect_gradgradcheck(
      [](const std::vector<Tensor>& in) {
        return (F::group_norm(in[0], F::GroupNormFuncOptions(2).weight(in[1]).bias(in[2])).relu() * in[3]).sum();
      },
      {x, voxgrad::testing::uniform_leaf({2}, 0.5, 1.5, 12), voxgrad::testing::uniform_leaf({2}, -0.2, 0.2, 13),
       voxgrad::testing::uniform_leaf(x.sizes(), -1.0, 1.0, 8)});
}

TEST(Recompute, SavedOutputsAreFreedBetweenForwardAndBackward) {
  for (bool recompute : {true, false}) {
    const autograd::RecomputeGuard mode(recompute);
    const Params p = make_params(kFloat32, 3);
    std::weak_ptr<Storage> h_memory;
    Tensor y;
    {
      const Tensor z = F::group_norm(conv3d(p.x, p.w1, {}, 1, 1), F::GroupNormFuncOptions(2).weight(p.gamma));
      const Tensor h = z.relu();
      h_memory = h.impl()->storage;
      y = (h * p.w2.sum()).sum();  // mul saves h for w2's gradient
    }
    EXPECT_EQ(h_memory.expired(), recompute) << "recompute " << recompute;
    y.backward();
    EXPECT_TRUE(p.w2.grad().defined());
  }
}

TEST(Recompute, ChangeInPlaceAfterSavingRecomputesTheValueUsed) {
  const Params p = make_params(kFloat64, 4);
  const Tensor s = voxgrad::testing::uniform_leaf(p.x.sizes(), -1.0, 1.0, 10);
  const auto run = [&](bool recompute, bool change) {
    const autograd::RecomputeGuard mode(recompute);
    Tensor h = F::group_norm(p.x, F::GroupNormFuncOptions(2).weight(p.gamma.narrow(0, 0, 2))).relu();
    const Tensor y = (h * s).sum();  // saves h for s's gradient
    if (change) {
      NoGradGuard no_grad;
      h.mul_(3.0);  // after it was saved
    }
    return autograd::grad({y}, {p.x, s});
  };
  // Keeping h, PyTorch's rule applies: the change is an error. Recomputed, the gradient is that of
  // the value the product saw.
  EXPECT_ERROR_CONTAINS(run(false, true), "modified by an inplace operation");
  const std::vector<Tensor> changed = run(true, true), unchanged = run(true, false), kept = run(false, false);
  for (std::size_t i = 0; i < 2; ++i) {
    expect_bitwise_equal(changed[i], unchanged[i], fmt::format("gradient {} after an in-place change", i));
    expect_bitwise_equal(unchanged[i], kept[i], fmt::format("gradient {} without a change", i));
  }
}

TEST(Recompute, ChangeInPlaceBeforeSavingKeepsTheChangedTensor) {
  const Params p = make_params(kFloat64, 5);
  const Tensor s = voxgrad::testing::uniform_leaf(p.x.sizes(), -1.0, 1.0, 11);
  const auto run = [&](bool clone) {
    Tensor h = F::group_norm(p.x, F::GroupNormFuncOptions(2)).relu();
    {
      NoGradGuard no_grad;
      h.add_(1.0);  // h no longer equals its recipe
    }
    // The reference saves a clone of the changed value, which is never a recipe.
    const Tensor y = ((clone ? h.clone() : h) * s).sum();
    return autograd::grad({y}, {p.x, s});
  };
  const std::vector<Tensor> direct = run(false), reference = run(true);
  expect_bitwise_equal(direct[0], reference[0], "x gradient with the changed value");
  expect_bitwise_equal(direct[1], reference[1], "s gradient with the changed value");
}

TEST(Recompute, RetainedGraphRecomputesOnEveryPass) {
  const Params p = make_params(kFloat32, 6);
  const Tensor b = block(p, false);
  const Tensor y = (b * b).sum();
  const std::vector<Tensor> first = autograd::grad({y}, {p.w1, p.w2}, {}, /*retain_graph=*/true);
  const std::vector<Tensor> second = autograd::grad({y}, {p.w1, p.w2});
  expect_bitwise_equal(first[0], second[0], "w1 gradient");
  expect_bitwise_equal(first[1], second[1], "w2 gradient");
}

TEST(Recompute, ChainsStopAtTheMaximumDepth) {
  // relu(relu(group_norm(x))): the second ReLU's input is already a depth-2 recipe, so it keeps its
  // output; the gradient is the same either way.
  const Params p = make_params(kFloat64, 7);
  const auto g = [&](bool recompute) {
    const autograd::RecomputeGuard mode(recompute);
    const Tensor h = F::group_norm(p.x, F::GroupNormFuncOptions(2)).relu();
    EXPECT_EQ(autograd::recompute_depth(h), recompute ? 2u : 0u);
    const Tensor h2 = h.relu();
    EXPECT_EQ(autograd::recompute_depth(h2), 0u);
    return autograd::grad({(h2 * h2).sum()}, {p.x})[0];
  };
  expect_bitwise_equal(g(true), g(false), "gradient");
}

TEST(Recompute, BatchNormAndInstanceNormOutputsAreRecipesToo) {
  for (bool instance : {false, true}) {
    const Params p = make_params(kFloat64, 12);
    const auto g = [&](bool recompute) {
      const autograd::RecomputeGuard mode(recompute);
      const Tensor c = conv3d(p.x, p.w1, {}, 1, 1);
      const Tensor z =
          instance ? F::instance_norm(c, F::InstanceNormFuncOptions().weight(p.gamma).bias(p.beta))
                   : F::batch_norm(c, {}, {}, F::BatchNormFuncOptions().weight(p.gamma).bias(p.beta).training(true));
      const Tensor h = z.relu();
      EXPECT_EQ(autograd::recompute_depth(h), recompute ? 2u : 0u);
      return autograd::grad({conv3d(h, p.w2, {}, 1, 1).sum()}, {p.x, p.w1, p.gamma, p.beta, p.w2});
    };
    const std::vector<Tensor> a = g(true), b = g(false);
    for (std::size_t i = 0; i < a.size(); ++i) {
      expect_bitwise_equal(a[i], b[i], fmt::format("{} gradient {}", instance ? "instance_norm" : "batch_norm", i));
    }
  }
}

TEST(Recompute, SecondOrderThroughInPlaceRelu) {
  const Params p = make_params(kFloat64, 13);
  const Tensor x = p.x.narrow(2, 0, 3).detach().requires_grad_(true);
  voxgrad::testing::expect_gradgradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor z = F::group_norm(in[0], F::GroupNormFuncOptions(2).weight(in[1]).bias(in[2]));
        return (z.relu_() * in[3]).sum();
      },
      {x, voxgrad::testing::uniform_leaf({2}, 0.5, 1.5, 14), voxgrad::testing::uniform_leaf({2}, -0.2, 0.2, 15),
       voxgrad::testing::uniform_leaf(x.sizes(), -1.0, 1.0, 16)});
}

TEST(Recompute, SetDataOnTheOutputKeepsTheTensor) {
  // set_data gives the handle other memory (and history it keeps): never the recipe's value.
  const Params p = make_params(kFloat64, 17);
  const Tensor s = voxgrad::testing::uniform_leaf(p.x.sizes(), -1.0, 1.0, 18);
  Tensor z = F::group_norm(p.x, F::GroupNormFuncOptions(2));
  z.set_data(zeros(p.x.sizes(), kFloat64));  // the first storage is freed here
  z.set_data(full(p.x.sizes(), 5.0, kFloat64));
  EXPECT_EQ(autograd::recompute_depth(z), 0u);
  const Tensor ds = autograd::grad({(z * s).sum()}, {s})[0];
  expect_bitwise_equal(ds, full(p.x.sizes(), 5.0, kFloat64), "gradient of s");
}

TEST(Recompute, ParametersSteppedBeforeBackwardDoNotChangeTheRecomputedValue) {
  // The bias (not saved by GroupNorm's own backward) may be changed between forward and backward, as
  // with a kept output; the recipe holds copies of weight and bias.
  const Params p = make_params(kFloat32, 19);
  const auto g = [&](bool recompute) {
    const autograd::RecomputeGuard mode(recompute);
    const Tensor gamma = p.gamma.detach();  // frozen weight, trained bias
    const Tensor beta = p.beta.detach().clone().requires_grad_(true);
    const Tensor h = F::group_norm(conv3d(p.x, p.w1, {}, 1, 1), F::GroupNormFuncOptions(2).weight(gamma).bias(beta));
    const Tensor y = conv3d(h.relu(), p.w2, {}, 1, 1).sum();
    {
      NoGradGuard no_grad;
      Tensor b = beta;
      b.add_(0.25);
    }
    return autograd::grad({y}, {p.w2, beta});
  };
  const std::vector<Tensor> a = g(true), b = g(false);
  expect_bitwise_equal(a[0], b[0], "w2 gradient");
  expect_bitwise_equal(a[1], b[1], "beta gradient");
}

TEST(Recompute, InputChangedBeforeAPartialPassNamesTheRecompute) {
  // Keeping h, a pass that never reaches GroupNorm's backward does not mind its input changing;
  // recomputing h needs that input, so the error says so and how to keep h instead.
  const Params p = make_params(kFloat64, 20);
  const Tensor s = voxgrad::testing::uniform_leaf(p.x.sizes(), -1.0, 1.0, 21);
  for (bool recompute : {false, true}) {
    const autograd::RecomputeGuard mode(recompute);
    Tensor x = p.x.detach().clone().requires_grad_(true) * 1.0;  // a non-leaf GroupNorm saves
    const Tensor y = (F::group_norm(x, F::GroupNormFuncOptions(2)).relu() * s).sum();
    x.mul_(2.0);
    if (recompute) {
      EXPECT_ERROR_CONTAINS(autograd::grad({y}, {s}), "RecomputeGuard(false)");
    } else {
      EXPECT_NO_THROW(autograd::grad({y}, {s}));
    }
  }
}

TEST(Recompute, AHookKeepingTheGradientSeesItUnmasked) {
  // ReLU's backward masks its incoming gradient in place only when nothing else holds it.
  const Params p = make_params(kFloat64, 22);
  const Tensor s = voxgrad::testing::uniform_leaf(p.x.sizes(), -1.0, 1.0, 23);
  const Tensor h = F::group_norm(p.x, F::GroupNormFuncOptions(2)).relu();
  Tensor seen;
  h.register_hook([&seen](const Tensor& g) {
    seen = g;
    return Tensor();
  });
  autograd::grad({(h * s).sum()}, {p.x});
  expect_bitwise_equal(seen, s.detach(), "gradient the hook kept");
}

TEST(Recompute, GraphsWithRecipesFreeEverything) {
  const std::int64_t nodes = autograd::Node::live_count(), impls = TensorImpl::live_count();
  {
    const Params p = make_params(kFloat32, 24);
    const std::int64_t base = TensorImpl::live_count();
    {
      const Tensor y = block(p, false).sum();
      y.backward();
    }
    {
      const Tensor y = block(p, true).sum();  // dropped without backward
    }
    for (const Tensor* t : {&p.x, &p.w1, &p.gamma, &p.beta, &p.w2}) const_cast<Tensor*>(t)->set_grad({});
    EXPECT_EQ(TensorImpl::live_count(), base);
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(TensorImpl::live_count(), impls);
}

}  // namespace
