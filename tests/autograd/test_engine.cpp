// The autograd engine: how gradients flow, accumulate and are freed, and the errors a user can hit.
// Expected values are worked out by hand in the comments next to each check.

#include <cmath>
#include <thread>

#include "test_util.h"

#include <voxgrad/core/tensor_impl.h>
#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

using testing::expect_close;
using testing::expect_values;
using testing::values;

/// A 1-D float64 leaf that requires grad.
Tensor leaf(std::initializer_list<double> v) { return tensor(v, kFloat64).requires_grad_(); }

/// A 1-D float64 tensor that does not require grad.
Tensor constant(std::initializer_list<double> v) { return tensor(v, kFloat64); }

// --- how gradients flow ------------------------------------------------------------------------

TEST(Engine, DiamondGraphSumsBothPaths) {
  // a = 2x and b = x^2 both depend on x; z = sum(a * b) = sum(2x^3), so dz/dx = 6x^2.
  Tensor x = leaf({1.0, 2.0, -3.0});
  Tensor a = x * 2.0;
  Tensor b = x * x;
  Tensor z = (a * b).sum();
  z.backward();
  expect_values(x.grad(), {3}, {6.0, 24.0, 54.0});
}

TEST(Engine, TensorUsedTwiceGetsTheGradientOfBothUses) {
  // z = sum(x*x + (x+x)): dz/dx = 2x + 2.
  Tensor x = leaf({1.0, 2.0, 3.0});
  Tensor z = (x * x + (x + x)).sum();
  z.backward();
  expect_values(x.grad(), {3}, {4.0, 6.0, 8.0});
}

TEST(Engine, GradientAccumulatesAcrossBackwardCallsUntilTheUserClearsIt) {
  // d/dx sum(x^2) = 2x; two passes add up to 4x; set_grad({}) is zero_grad.
  Tensor x = leaf({1.0, -2.0});
  (x * x).sum().backward();
  expect_values(x.grad(), {2}, {2.0, -4.0});
  (x * x).sum().backward();
  expect_values(x.grad(), {2}, {4.0, -8.0});
  x.set_grad({});
  EXPECT_FALSE(x.grad().defined());
  (x * x).sum().backward();
  expect_values(x.grad(), {2}, {2.0, -4.0});
}

TEST(Engine, AccumulatedGradientIsNotAnAliasOfTheSeed) {
  // Backward straight from a leaf with a user gradient: the leaf's grad must be a copy, so the
  // second pass (which adds in place) does not write into the user's tensor.
  Tensor x = leaf({1.0, 2.0});
  Tensor seed = constant({10.0, 20.0});
  x.backward(seed);
  x.backward(seed);
  expect_values(x.grad(), {2}, {20.0, 40.0});
  expect_values(seed, {2}, {10.0, 20.0});
}

TEST(Engine, LeavesThatReceiveTheSameGradientGetIndependentGradBuffers) {
  // AddBackward hands one tensor to both leaves; in-place accumulation on the second pass must not
  // write into the other leaf's grad. z = sum(2(x + w)): both gradients are 2, then 4.
  Tensor x = leaf({1.0, 2.0});
  Tensor w = leaf({3.0, 4.0});
  for (int pass = 1; pass <= 2; ++pass) {
    ((x + w) * 2.0).sum().backward();
    expect_values(x.grad(), {2}, {2.0 * pass, 2.0 * pass});
    expect_values(w.grad(), {2}, {2.0 * pass, 2.0 * pass});
  }
  EXPECT_NE(x.grad().raw_data_ptr(), w.grad().raw_data_ptr());
}

TEST(Engine, ExplicitGradientSeedsANonScalarOutput) {
  // y = x^2 elementwise; backward(v) gives v * 2x.
  Tensor x = leaf({1.0, 2.0, 3.0});
  Tensor y = x * x;
  y.backward(constant({1.0, 0.5, -2.0}));
  expect_values(x.grad(), {3}, {2.0, 2.0, -12.0});
}

TEST(Engine, SeedOfAnotherDtypeIsCastToTheOutputDtype) {
  // As in PyTorch, a float32 seed for a float64 output flows as float64 (here into a retained grad).
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 2.0;
  y.retain_grad();
  y.backward(tensor({1.0, 3.0}, kFloat32));
  EXPECT_EQ(y.grad().dtype(), kFloat64);
  expect_values(y.grad(), {2}, {1.0, 3.0});
  expect_values(x.grad(), {2}, {2.0, 6.0});
  Tensor g = autograd::grad({x}, {x}, {tensor({4.0, 5.0}, kFloat32)})[0];
  EXPECT_EQ(g.dtype(), kFloat64);
  expect_values(g, {2}, {4.0, 5.0});
}

TEST(Engine, ImplicitGradientOnANonScalarOutputIsAnError) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 3.0;
  EXPECT_ERROR_CONTAINS(y.backward(), "one-element");
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, ImplicitGradientWorksForAOneElementNonScalarOutput) {
  // A shape-[1] output is "one-element" too: d(3x)/dx = 3.
  Tensor x = leaf({5.0});
  (x * 3.0).backward();
  expect_values(x.grad(), {1}, {3.0});
}

TEST(Engine, ExplicitGradientOfTheWrongShapeIsAnError) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 3.0;
  EXPECT_ERROR_CONTAINS(y.backward(constant({1.0, 2.0, 3.0})), "shape");
}

TEST(Engine, BackwardOnATensorThatDoesNotRequireGradIsAnError) {
  Tensor c = constant({1.0, 2.0});
  Tensor y = (c * 2.0).sum();
  EXPECT_FALSE(y.requires_grad());
  EXPECT_ERROR_CONTAINS(y.backward(), "does not require grad");
}

TEST(Engine, BackwardOnALeafSeedsItsOwnGrad) {
  Tensor x = leaf({4.0});
  x.backward();
  expect_values(x.grad(), {1}, {1.0});
}

TEST(Engine, SeveralRootsEachTakeTheirOwnGradient) {
  // y1 = 2x, y2 = x^2; v1 * 2 + v2 * 2x.
  Tensor x = leaf({1.0, 3.0});
  autograd::backward({x * 2.0, x * x}, {constant({1.0, 10.0}), constant({0.5, -1.0})});
  expect_values(x.grad(), {2}, {3.0, 14.0});
}

TEST(Engine, ANumberOfGradientsThatDoesNotMatchTheRootsIsAnError) {
  Tensor x = leaf({1.0});
  EXPECT_ERROR_CONTAINS(autograd::backward({x * 2.0, x * 3.0}, {constant({1.0})}), "got 2 tensors but 1 gradients");
}

TEST(Engine, BackwardWorksUnderNoGradGuard) {
  // The graph was recorded before; NoGradGuard only stops recording new ops.
  Tensor x = leaf({2.0});
  Tensor z = (x * x).sum();
  NoGradGuard guard;
  z.backward();
  expect_values(x.grad(), {1}, {4.0});
  EXPECT_FALSE(x.grad().requires_grad());
}

// --- freeing the graph ---------------------------------------------------------------------------

TEST(Engine, SecondBackwardThroughAFreedGraphAsksForRetainGraph) {
  Tensor x = leaf({1.0, 2.0});
  Tensor z = (x * x).sum();
  z.backward();
  expect_values(x.grad(), {2}, {2.0, 4.0});
  EXPECT_ERROR_CONTAINS(z.backward(), "retain_graph=true");
}

TEST(Engine, RetainGraphAllowsASecondBackwardThatDoublesTheGradient) {
  Tensor x = leaf({1.0, 2.0});
  Tensor z = (x * x).sum();
  z.backward({}, /*retain_graph=*/true);
  expect_values(x.grad(), {2}, {2.0, 4.0});
  z.backward();
  expect_values(x.grad(), {2}, {4.0, 8.0});
  // The second call did not retain the graph, so a third one fails.
  EXPECT_ERROR_CONTAINS(z.backward(), "retain_graph=true");
}

// --- in-place ops and the version counter -----------------------------------------------------------

TEST(Engine, ModifyingASavedTensorInPlaceIsDetectedAtBackward) {
  // MulBackward saves `a` to compute dy/dw = a; changing `a` afterwards would give a wrong gradient.
  Tensor a = constant({1.0, 2.0});
  Tensor w = leaf({3.0, 4.0});
  Tensor y = a * w;
  const std::uint32_t before = a.version();
  a.mul_(2.0);
  EXPECT_EQ(a.version(), before + 1);
  try {
    y.sum().backward();
    ADD_FAILURE() << "expected an error about an in-place modification";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("MulBackward"), std::string::npos) << msg;
    EXPECT_NE(msg.find("version"), std::string::npos) << msg;
    EXPECT_NE(msg.find("inplace"), std::string::npos) << msg;
  }
}

TEST(Engine, ModifyingAViewOfASavedTensorBumpsTheSharedVersion) {
  // Views share the storage's version counter: writing through a view invalidates the saved base.
  Tensor a = constant({1.0, 2.0, 3.0});
  Tensor w = leaf({1.0, 1.0, 1.0});
  Tensor y = (a * w).sum();
  Tensor view = a.narrow(0, 1, 1);
  view.fill_(7.0);
  EXPECT_EQ(a.version(), view.version());
  EXPECT_ERROR_CONTAINS(y.backward(), "version");
}

TEST(Engine, ModifyingATensorThatWasNotSavedIsHarmless) {
  // y = a * w with only w requiring grad saves a, not w; updating w (under NoGradGuard) is fine.
  Tensor a = constant({1.0, 2.0});
  Tensor w = leaf({3.0, 4.0});
  Tensor y = (a * w).sum();
  {
    NoGradGuard guard;
    w.mul_(10.0);
  }
  y.backward();
  expect_values(w.grad(), {2}, {1.0, 2.0});
  expect_values(w, {2}, {30.0, 40.0});
}

TEST(Engine, ModifyingASavedOutputInPlaceIsDetectedAtBackward) {
  // ExpBackward saves its output e^x (dy/dx = y); scaling y afterwards would corrupt it.
  Tensor x = leaf({0.0, 1.0});
  Tensor y = x.exp();
  {
    NoGradGuard guard;
    y.mul_(2.0);
  }
  EXPECT_ERROR_CONTAINS(y.sum().backward(), "ExpBackward");
}

TEST(Engine, InPlaceOpWithAnOperandThatRequiresGradIsRecorded) {
  // c += w makes c depend on w: c becomes a non-leaf whose grad_fn is the in-place add.
  Tensor c = constant({1.0, 2.0});
  Tensor w = leaf({3.0, 4.0});
  c.add_(w);
  expect_values(c, {2}, {4.0, 6.0});
  ASSERT_NE(c.grad_fn(), nullptr);
  EXPECT_EQ(c.grad_fn()->name(), "AddBackward");
  (c * c).sum().backward();  // d/dw sum((1 + w)^2) = 2 (1 + w)
  expect_values(w.grad(), {2}, {8.0, 12.0});
}

TEST(Engine, InPlaceOpOnALeafThatRequiresGradFailsInGradMode) {
  Tensor w = leaf({1.0, 2.0});
  EXPECT_ERROR_CONTAINS(w.add_(1.0), "a leaf Variable that requires grad is being used in an in-place operation.");
  EXPECT_ERROR_CONTAINS(w.mul_(constant({2.0, 2.0})), "mul_: a leaf Variable that requires grad");
  expect_values(w, {2}, {1.0, 2.0});
}

TEST(Engine, InPlaceOpOnALeafThatRequiresGradIsAllowedUnderNoGradGuard) {
  // The optimizer step: w -= lr * grad.
  Tensor w = leaf({1.0, 2.0});
  (w * w).sum().backward();
  {
    NoGradGuard guard;
    w.sub_(w.grad(), 0.25);
  }
  expect_values(w, {2}, {0.5, 1.0});
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
}

// --- grad mode ---------------------------------------------------------------------------------------

TEST(Engine, NoGradGuardResultsDoNotRequireGradAndHaveNoGradFn) {
  Tensor x = leaf({1.0, 2.0});
  {
    NoGradGuard guard;
    EXPECT_FALSE(GradMode::is_enabled());
    Tensor y = (x * 2.0).exp();
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_TRUE(y.is_leaf());
    expect_close(y, constant({std::exp(2.0), std::exp(4.0)}), 1e-12);
  }
  EXPECT_TRUE(GradMode::is_enabled());
  Tensor z = x * 2.0;
  EXPECT_TRUE(z.requires_grad());
  ASSERT_NE(z.grad_fn(), nullptr);
}

TEST(Engine, NoGradGuardsNestAndRestoreThePreviousMode) {
  {
    NoGradGuard outer;
    {
      NoGradGuard inner;
      EXPECT_FALSE(GradMode::is_enabled());
    }
    EXPECT_FALSE(GradMode::is_enabled());
    AutoGradMode on(true);
    EXPECT_TRUE(GradMode::is_enabled());
  }
  EXPECT_TRUE(GradMode::is_enabled());
}

TEST(Engine, NoGradGuardIsThreadLocal) {
  Tensor x = leaf({1.0, 2.0});
  NoGradGuard guard;
  bool other_thread_records = false;
  std::string other_name;
  std::thread worker([&] {
    Tensor y = x * 3.0;
    other_thread_records = y.requires_grad() && y.grad_fn() != nullptr;
    if (y.grad_fn()) other_name = y.grad_fn()->name();
  });
  worker.join();
  EXPECT_TRUE(other_thread_records);
  EXPECT_EQ(other_name, "MulBackward");
  EXPECT_FALSE((x * 3.0).requires_grad());
}

TEST(Engine, BackwardCanRunOnAnotherThread) {
  Tensor x = leaf({1.0, 2.0});
  Tensor z = (x * x * x).sum();
  std::thread worker([&] { z.backward(); });
  worker.join();
  // d/dx sum(x^3) = 3x^2.
  expect_values(x.grad(), {2}, {3.0, 12.0});
}

// --- memory: the graph is freed with its outputs -------------------------------------------------------

TEST(Engine, GraphIsFreedWhenItsOutputsGoOutOfScope) {
  const std::int64_t nodes = autograd::Node::live_count();
  const std::int64_t impls = TensorImpl::live_count();
  {
    Tensor x = leaf({1.0, 2.0, 3.0});
    Tensor w = leaf({0.5, 0.5, 0.5});
    Tensor z = ((x * w).exp() + x.tanh()).sum();
    EXPECT_GT(autograd::Node::live_count(), nodes);
    z.backward();
    EXPECT_TRUE(x.grad().defined());
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(TensorImpl::live_count(), impls);
}

TEST(Engine, GraphIsFreedWithoutBackward) {
  const std::int64_t nodes = autograd::Node::live_count();
  const std::int64_t impls = TensorImpl::live_count();
  {
    Tensor x = leaf({1.0, 2.0});
    Tensor y = (x * x).sigmoid().sum();
    EXPECT_GT(autograd::Node::live_count(), nodes);
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(TensorImpl::live_count(), impls);
}

TEST(Engine, GraphIsFreedAfterBackwardWithRetainGraph) {
  const std::int64_t nodes = autograd::Node::live_count();
  const std::int64_t impls = TensorImpl::live_count();
  {
    Tensor x = leaf({1.0, 2.0});
    Tensor z = (x.exp() * x).sum();
    z.backward({}, /*retain_graph=*/true);
    z.backward({}, /*retain_graph=*/true);
    // d/dx (x e^x) = (1 + x) e^x, twice.
    expect_close(x.grad(), constant({2 * 2 * std::exp(1.0), 2 * 3 * std::exp(2.0)}), 1e-12, 1e-14);
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(TensorImpl::live_count(), impls);
}

TEST(Engine, GraphIsFreedAfterCreateGraphOnceTheUserClearsTheGrad) {
  // With create_graph the leaf's grad holds a graph that saves the leaf: a cycle (as in PyTorch)
  // that set_grad({}) breaks.
  const std::int64_t nodes = autograd::Node::live_count();
  const std::int64_t impls = TensorImpl::live_count();
  {
    Tensor x = leaf({1.0, 2.0});
    Tensor z = x.pow(3.0).sum();
    z.backward({}, std::nullopt, /*create_graph=*/true);
    ASSERT_TRUE(x.grad().requires_grad());
    expect_values(x.grad(), {2}, {3.0, 12.0});
    x.set_grad({});
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(TensorImpl::live_count(), impls);
}

TEST(Engine, GraphIsFreedAfterAutogradGradWithCreateGraph) {
  const std::int64_t nodes = autograd::Node::live_count();
  const std::int64_t impls = TensorImpl::live_count();
  {
    Tensor x = leaf({1.0, 2.0});
    Tensor g = autograd::grad({x.tanh().sum()}, {x}, {}, std::nullopt, true)[0];
    Tensor gg = autograd::grad({g.sum()}, {x})[0];
    EXPECT_TRUE(gg.defined());
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(TensorImpl::live_count(), impls);
}

// --- deep graphs -----------------------------------------------------------------------------------

constexpr int kDepth = 100000;

TEST(Engine, HundredThousandOpChainRunsBackwardAndIsDestroyedWithoutStackOverflow) {
  const std::int64_t nodes = autograd::Node::live_count();
  {
    // y = x + x + ... (kDepth + 1 times): dy/dx = kDepth + 1 exactly.
    Tensor x = leaf({1.0});
    Tensor y = x;
    for (int i = 0; i < kDepth; ++i) y = y + x;
    y.backward();
    expect_values(x.grad(), {1}, {kDepth + 1.0});
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
}

TEST(Engine, HundredThousandMultiplicationChainGivesTheProductOfTheFactors) {
  const std::int64_t nodes = autograd::Node::live_count();
  {
    // y = x * 1.0001^kDepth, so dy/dx = 1.0001^kDepth (about 22015).
    Tensor x = leaf({2.0});
    Tensor y = x;
    for (int i = 0; i < kDepth; ++i) y = y * 1.0001;
    y.backward();
    expect_close(x.grad(), constant({std::pow(1.0001, kDepth)}), 0.0, 1e-9);
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
}

TEST(Engine, HundredThousandOpChainIsDestroyedWithoutBackward) {
  const std::int64_t nodes = autograd::Node::live_count();
  const std::int64_t impls = TensorImpl::live_count();
  {
    Tensor x = leaf({1.0});
    Tensor y = x;
    for (int i = 0; i < kDepth; ++i) y = (y * x).tanh();  // saves tensors too
    EXPECT_GE(autograd::Node::live_count(), nodes + 2 * kDepth);
  }
  EXPECT_EQ(autograd::Node::live_count(), nodes);
  EXPECT_EQ(TensorImpl::live_count(), impls);
}

TEST(Engine, CreateGraphRetainsTheGraphByDefault) {
  Tensor x = leaf({1.0, 2.0});
  Tensor z = (x * x).sum();
  z.backward({}, std::nullopt, /*create_graph=*/true);
  z.backward();
  expect_values(x.grad(), {2}, {4.0, 8.0});
  x.set_grad({});
}

TEST(Engine, IndependentGraphsRunBackwardOnTwoThreadsAtOnce) {
  auto work = [](double v, double* out) {
    Tensor x = leaf({v});
    for (int i = 0; i < 200; ++i) (x * x * x).sum().backward();
    *out = x.grad().item<double>();
  };
  double r1 = 0, r2 = 0;
  std::thread t1(work, 1.0, &r1), t2(work, 2.0, &r2);
  t1.join();
  t2.join();
  EXPECT_DOUBLE_EQ(r1, 200 * 3.0);   // 200 passes of 3x^2 at x = 1
  EXPECT_DOUBLE_EQ(r2, 200 * 12.0);  // and at x = 2
}

// --- retain_grad and non-leaf gradients ---------------------------------------------------------------

TEST(Engine, RetainGradOnANonLeafStoresItsGradient) {
  // h = 3x, z = sum(h^2): dz/dh = 2h = 6x, dz/dx = 18x.
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 3.0;
  h.retain_grad();
  EXPECT_TRUE(h.retains_grad());
  Tensor z = (h * h).sum();
  z.backward();
  expect_values(h.grad(), {2}, {6.0, 12.0});
  expect_values(x.grad(), {2}, {18.0, 36.0});
  EXPECT_FALSE(h.grad().requires_grad());
}

TEST(Engine, RetainGradOnTheRootGetsTheSeed) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 2.0;
  y.retain_grad();
  y.backward(constant({5.0, 7.0}));
  expect_values(y.grad(), {2}, {5.0, 7.0});
  expect_values(x.grad(), {2}, {10.0, 14.0});
}

TEST(Engine, RetainedGradientAccumulatesLikeALeafGradient) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 3.0;
  h.retain_grad();
  Tensor z = (h * h).sum();
  z.backward({}, true);
  z.backward();
  expect_values(h.grad(), {2}, {12.0, 24.0});
}

TEST(Engine, GradOfANonLeafWithoutRetainGradIsUndefined) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 3.0;
  (h * h).sum().backward();
  EXPECT_FALSE(h.is_leaf());
  EXPECT_FALSE(h.retains_grad());
  EXPECT_FALSE(h.grad().defined());
  EXPECT_TRUE(x.grad().defined());
}

TEST(Engine, RetainGradOnATensorThatDoesNotRequireGradIsAnError) {
  Tensor c = constant({1.0});
  EXPECT_ERROR_CONTAINS(c.retain_grad(), "requires_grad=false");
}

// --- autograd::grad -----------------------------------------------------------------------------------

TEST(AutogradGrad, ReturnsGradientsWithoutTouchingLeafGrads) {
  // z = sum(x * y): dz/dx = y, dz/dy = x.
  Tensor x = leaf({1.0, 2.0});
  Tensor y = leaf({3.0, 4.0});
  Tensor z = (x * y).sum();
  std::vector<Tensor> g = autograd::grad({z}, {x, y});
  ASSERT_EQ(g.size(), 2u);
  expect_values(g[0], {2}, {3.0, 4.0});
  expect_values(g[1], {2}, {1.0, 2.0});
  EXPECT_FALSE(g[0].requires_grad());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(y.grad().defined());
}

TEST(AutogradGrad, ContractsWithGradOutputs) {
  // v^T d(x*y)/dx = v * y.
  Tensor x = leaf({1.0, 2.0});
  Tensor y = leaf({3.0, 4.0});
  Tensor g = autograd::grad({x * y}, {x}, {constant({10.0, -1.0})})[0];
  expect_values(g, {2}, {30.0, -4.0});
  EXPECT_FALSE(x.grad().defined());
}

TEST(AutogradGrad, DifferentiatesWithRespectToANonLeaf) {
  // h = 2x, z = sum(h^3): dz/dh = 3h^2.
  Tensor x = leaf({1.0, -1.5});
  Tensor h = x * 2.0;
  Tensor z = h.pow(3.0).sum();
  Tensor g = autograd::grad({z}, {h})[0];
  expect_values(g, {2}, {12.0, 27.0});
  EXPECT_FALSE(x.grad().defined());
}

TEST(AutogradGrad, SumsOverSeveralOutputs) {
  // d/dx (sum(2x) + sum(x^2)) = 2 + 2x.
  Tensor x = leaf({1.0, 3.0});
  Tensor g = autograd::grad({(x * 2.0).sum(), (x * x).sum()}, {x})[0];
  expect_values(g, {2}, {4.0, 8.0});
}

TEST(AutogradGrad, GradientOfATensorWithRespectToItselfIsTheSeed) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 3.0;
  expect_values(autograd::grad({y}, {y}, {constant({4.0, 5.0})})[0], {2}, {4.0, 5.0});
  expect_values(autograd::grad({x}, {x}, {constant({6.0, 7.0})})[0], {2}, {6.0, 7.0});
  EXPECT_FALSE(x.grad().defined());
}

TEST(AutogradGrad, InputThatDoesNotRequireGradIsAnError) {
  Tensor x = leaf({1.0});
  Tensor c = constant({2.0});
  Tensor z = (x * c).sum();
  EXPECT_ERROR_CONTAINS(autograd::grad({z}, {c}), "does not require grad");
}

TEST(AutogradGrad, UnusedInputIsAnErrorUnlessAllowUnused) {
  Tensor x = leaf({1.0});
  Tensor unused = leaf({2.0});
  {
    Tensor z = (x * x).sum();
    EXPECT_ERROR_CONTAINS(autograd::grad({z}, {x, unused}), "not used");
  }
  Tensor z = (x * x).sum();
  std::vector<Tensor> g = autograd::grad({z}, {x, unused}, {}, std::nullopt, false, /*allow_unused=*/true);
  ASSERT_EQ(g.size(), 2u);
  expect_values(g[0], {1}, {2.0});
  EXPECT_FALSE(g[1].defined());
}

TEST(AutogradGrad, FreesTheGraphUnlessRetainGraph) {
  Tensor x = leaf({2.0});
  Tensor z = (x * x).sum();
  expect_values(autograd::grad({z}, {x}, {}, true)[0], {1}, {4.0});
  expect_values(autograd::grad({z}, {x})[0], {1}, {4.0});
  EXPECT_ERROR_CONTAINS(autograd::grad({z}, {x}), "retain_graph=true");
}

// --- higher derivatives (create_graph) -----------------------------------------------------------

/// d^2/dx^2 of sum(f(x)) elementwise, by differentiating twice with autograd::grad.
Tensor second_derivative(const Tensor& x, const std::function<Tensor(const Tensor&)>& f) {
  Tensor g = autograd::grad({f(x).sum()}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  EXPECT_TRUE(g.requires_grad());
  return autograd::grad({g.sum()}, {x})[0];
}

TEST(HigherOrder, SecondDerivativeOfCubeIsSixX) {
  Tensor x = leaf({1.0, 2.0, -0.5});
  Tensor g = autograd::grad({x.pow(3.0).sum()}, {x}, {}, std::nullopt, true)[0];
  expect_values(g, {3}, {3.0, 12.0, 0.75});
  expect_values(second_derivative(x, [](const Tensor& t) { return t.pow(3.0); }), {3}, {6.0, 12.0, -3.0});
  // The same through x*x*x, where three paths contribute.
  expect_values(second_derivative(x, [](const Tensor& t) { return t * t * t; }), {3}, {6.0, 12.0, -3.0});
}

TEST(HigherOrder, SecondDerivativeOfExpIsExp) {
  Tensor x = leaf({0.0, 1.0, -2.0});
  expect_close(second_derivative(x, [](const Tensor& t) { return t.exp(); }),
               constant({1.0, std::exp(1.0), std::exp(-2.0)}), 1e-14, 1e-14);
}

TEST(HigherOrder, SecondDerivativeOfTanhMatchesTheFormula) {
  // tanh'' = -2 tanh (1 - tanh^2).
  const std::vector<double> xs = {-1.5, 0.0, 0.3, 2.0};
  std::vector<double> expected;
  for (double v : xs) expected.push_back(-2.0 * std::tanh(v) * (1.0 - std::tanh(v) * std::tanh(v)));
  Tensor x = tensor(xs, kFloat64).requires_grad_();
  expect_close(second_derivative(x, [](const Tensor& t) { return t.tanh(); }), tensor(expected, kFloat64), 1e-14,
               1e-12);
}

TEST(HigherOrder, SecondDerivativeOfSigmoidMatchesTheFormula) {
  // s'' = s (1 - s) (1 - 2s).
  const std::vector<double> xs = {-2.0, 0.0, 0.7, 3.0};
  std::vector<double> expected;
  for (double v : xs) {
    const double s = 1.0 / (1.0 + std::exp(-v));
    expected.push_back(s * (1.0 - s) * (1.0 - 2.0 * s));
  }
  Tensor x = tensor(xs, kFloat64).requires_grad_();
  expect_close(second_derivative(x, [](const Tensor& t) { return t.sigmoid(); }), tensor(expected, kFloat64), 1e-14,
               1e-12);
}

TEST(HigherOrder, MixedPartialOfProductIsOne) {
  // z = x*y: dz/dx = y, d^2z/dxdy = 1, and dz/dx does not depend on x at all.
  Tensor x = leaf({2.0});
  Tensor y = leaf({5.0});
  Tensor gx = autograd::grad({(x * y).sum()}, {x}, {}, std::nullopt, true)[0];
  expect_values(gx, {1}, {5.0});
  std::vector<Tensor> gg = autograd::grad({gx.sum()}, {x, y}, {}, std::nullopt, false, true);
  EXPECT_FALSE(gg[0].defined());
  expect_values(gg[1], {1}, {1.0});
}

TEST(HigherOrder, BackwardWithCreateGraphLeavesADifferentiableGrad) {
  // The PyTorch pattern: backward(create_graph), take x.grad, clear it, backward through it.
  Tensor x = leaf({1.0, 3.0});
  x.pow(3.0).sum().backward({}, std::nullopt, /*create_graph=*/true);
  Tensor g = x.grad();
  ASSERT_TRUE(g.requires_grad());
  expect_values(g, {2}, {3.0, 27.0});
  x.set_grad({});
  g.sum().backward();
  expect_values(x.grad(), {2}, {6.0, 18.0});
}

TEST(HigherOrder, ThirdDerivativeOfXToTheFourth) {
  // d^3/dx^3 x^4 = 24x.
  Tensor x = leaf({1.0, -2.0});
  Tensor g1 = autograd::grad({x.pow(4.0).sum()}, {x}, {}, std::nullopt, true)[0];
  Tensor g2 = autograd::grad({g1.sum()}, {x}, {}, std::nullopt, true)[0];
  Tensor g3 = autograd::grad({g2.sum()}, {x})[0];
  expect_values(g2, {2}, {12.0, 48.0});
  expect_values(g3, {2}, {24.0, -48.0});
}

// --- multi-output ops ---------------------------------------------------------------------------------

TEST(Engine, MaxAlongADimBackpropagatesThroughValuesOnly) {
  Tensor a = tensor({1.0, 5.0, 2.0, 7.0, 3.0, 4.0}, kFloat64).view({2, 3}).detach().requires_grad_();
  auto [v, i] = a.max(1);
  expect_values(v, {2}, {5.0, 7.0});
  expect_values(i, {2}, {1.0, 0.0});
  EXPECT_EQ(i.dtype(), kInt64);
  EXPECT_FALSE(i.requires_grad());
  ASSERT_NE(v.grad_fn(), nullptr);
  EXPECT_EQ(v.grad_fn()->name(), "MaxBackward");
  (v * constant({2.0, 3.0})).sum().backward();
  expect_values(a.grad(), {2, 3}, {0.0, 2.0, 0.0, 3.0, 0.0, 0.0});
}

/// A custom op with two outputs (2x, 3x) recorded as one node.
std::vector<Tensor> twice_and_thrice(const Tensor& x, std::vector<bool>* grad_defined = nullptr) {
  Tensor outs[2];
  {
    NoGradGuard guard;  // compute without recording; record() wires the node
    outs[0] = x * 2.0;
    outs[1] = x * 3.0;
  }
  autograd::record("TwiceAndThriceBackward", std::span<const Tensor>(&x, 1), std::span<Tensor>(outs, 2), {},
                   [grad_defined](const autograd::BackwardCtx& c) {
                     if (grad_defined) *grad_defined = {c.grad(0).defined(), c.grad(1).defined()};
                     return std::vector<Tensor>{c.grad(0) * 2.0 + c.grad(1) * 3.0};
                   });
  return {outs[0], outs[1]};
}

TEST(Engine, MultiOutputNodeGetsZerosForOutputsThatReceivedNoGradient) {
  Tensor x = leaf({1.0, 2.0});
  std::vector<bool> defined;
  std::vector<Tensor> outs = twice_and_thrice(x, &defined);
  EXPECT_TRUE(outs[0].grad_fn() == outs[1].grad_fn());
  EXPECT_EQ(outs[1].grad_fn()->name(), "TwiceAndThriceBackward");
  outs[1].sum().backward();
  EXPECT_EQ(defined, (std::vector<bool>{true, true}));
  expect_values(x.grad(), {2}, {3.0, 3.0});
}

TEST(Engine, MultiOutputNodeRunsOnceWithBothOutputGradients) {
  // sum(2x) + sum(3x): 2 + 3 = 5 per element, from one run of the node.
  Tensor x = leaf({1.0, 2.0});
  std::vector<Tensor> outs = twice_and_thrice(x);
  (outs[0].sum() + outs[1].sum()).backward();
  expect_values(x.grad(), {2}, {5.0, 5.0});
}

TEST(Engine, BothOutputsOfAMultiOutputNodeCanBeRoots) {
  // v0 * 2 + v1 * 3.
  Tensor x = leaf({1.0, 2.0});
  std::vector<Tensor> outs = twice_and_thrice(x);
  autograd::backward(outs, {constant({1.0, 2.0}), constant({10.0, 0.0})});
  expect_values(x.grad(), {2}, {32.0, 4.0});
}

TEST(Engine, RetainGradOnTheSecondOutputOfAMultiOutputNode) {
  Tensor x = leaf({1.0, 2.0});
  std::vector<Tensor> outs = twice_and_thrice(x);
  outs[1].retain_grad();
  (outs[0] * outs[1]).sum().backward();
  // d/d out1 = out0 = 2x; d/dx = 2 * out1 + 3 * out0 = 6x + 6x = 12x.
  expect_values(outs[1].grad(), {2}, {2.0, 4.0});
  EXPECT_FALSE(outs[0].grad().defined());
  expect_values(x.grad(), {2}, {12.0, 24.0});
}

// --- detach, requires_grad_ and metadata --------------------------------------------------------------

TEST(Engine, DetachCutsTheGraph) {
  // d = stop_gradient(2x); z = sum(d * x): dz/dx = d = 2x (4x without detach).
  Tensor x = leaf({1.0, 2.0});
  Tensor d = (x * 2.0).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.grad_fn(), nullptr);
  EXPECT_TRUE(d.is_leaf());
  Tensor z = (d * x).sum();
  z.backward();
  expect_values(x.grad(), {2}, {2.0, 4.0});
}

TEST(Engine, DetachSharesStorage) {
  Tensor x = leaf({1.0, 2.0});
  Tensor d = x.detach();
  EXPECT_EQ(d.raw_data_ptr(), x.raw_data_ptr());
  d.fill_(5.0);  // allowed: d does not require grad
  expect_values(x, {2}, {5.0, 5.0});
}

TEST(Engine, RequiresGradFalseOnANonLeafIsAnError) {
  Tensor x = leaf({1.0});
  Tensor y = x * 2.0;
  EXPECT_ERROR_CONTAINS(y.requires_grad_(false), "leaf");
  EXPECT_TRUE(y.requires_grad());
}

TEST(Engine, RequiresGradOnAnInt64TensorIsAnError) {
  Tensor i = tensor({1.0, 2.0}, kInt64);
  EXPECT_ERROR_CONTAINS(i.requires_grad_(), "floating point");
  EXPECT_FALSE(i.requires_grad());
}

TEST(Engine, RequiresGradCanBeTurnedOffOnALeaf) {
  Tensor x = leaf({1.0});
  x.requires_grad_(false);
  EXPECT_FALSE(x.requires_grad());
  EXPECT_FALSE((x * 2.0).requires_grad());
}

TEST(Engine, GradFnNamesTheOpAndLinksToItsInputs) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = leaf({3.0, 4.0});
  EXPECT_EQ(x.grad_fn(), nullptr);
  EXPECT_TRUE(x.is_leaf());
  Tensor m = x * y;
  ASSERT_NE(m.grad_fn(), nullptr);
  EXPECT_EQ(m.grad_fn()->name(), "MulBackward");
  EXPECT_FALSE(m.is_leaf());
  EXPECT_EQ((x + y).grad_fn()->name(), "AddBackward");
  EXPECT_EQ(x.exp().grad_fn()->name(), "ExpBackward");
  EXPECT_EQ(m.sum().grad_fn()->name(), "SumBackward");
  const auto& edges = m.grad_fn()->next_edges();
  ASSERT_EQ(edges.size(), 2u);
  for (const auto& e : edges) {
    ASSERT_TRUE(e.valid());
    EXPECT_EQ(e.fn->name(), "AccumulateGrad");
  }
  // Both uses of x share one accumulator.
  Tensor m2 = x * 2.0;
  EXPECT_EQ(m2.grad_fn()->next_edges()[0].fn, edges[0].fn);
  // An input that does not require grad gets no edge.
  EXPECT_FALSE(m2.grad_fn()->next_edges()[1].valid());
}

TEST(Engine, Float32LeafCombinedWithFloat64GetsAFloat32Gradient) {
  // z = sum(x * w) is computed in float64; dz/dx = w arrives in x's own dtype.
  Tensor x = tensor({1.0, 2.0}, kFloat32).requires_grad_();
  Tensor w = tensor({3.0, 4.0}, kFloat64).requires_grad_();
  Tensor z = (x * w).sum();
  EXPECT_EQ(z.dtype(), kFloat64);
  z.backward();
  EXPECT_EQ(x.grad().dtype(), kFloat32);
  EXPECT_EQ(w.grad().dtype(), kFloat64);
  expect_values(x.grad(), {2}, {3.0, 4.0});
  expect_values(w.grad(), {2}, {1.0, 2.0});
}

// --- record()'s save helpers ---------------------------------------------------------------------

TEST(Record, SaveForBackwardMarksInputsAndSaveOutputForBackwardMarksOutputs) {
  const Tensor x = leaf({1.0});
  const autograd::ToSave in = autograd::save_for_backward(x);
  const autograd::ToSave out = autograd::save_output_for_backward(x);
  EXPECT_TRUE(in.tensor.is_same(x));
  EXPECT_FALSE(in.is_output);
  EXPECT_TRUE(out.tensor.is_same(x));
  EXPECT_TRUE(out.is_output);
}

TEST(Record, DeprecatedSaveNamesStillForwardToSaveForBackward) {
  const Tensor x = leaf({1.0});
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const autograd::ToSave in = autograd::save(x);
  const autograd::ToSave out = autograd::save_output(x);
#pragma GCC diagnostic pop
  EXPECT_TRUE(in.tensor.is_same(x));
  EXPECT_FALSE(in.is_output);
  EXPECT_TRUE(out.tensor.is_same(x));
  EXPECT_TRUE(out.is_output);
}

}  // namespace
}  // namespace voxgrad
