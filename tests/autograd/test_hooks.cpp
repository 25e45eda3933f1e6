// Tensor hooks: gradient hooks (register_hook) on leaves, non-leaves and views, post-accumulate-grad
// hooks on leaves, their order, removal, misuse errors, and queue_callback. Expected values are worked
// out by hand next to each check.

#include <algorithm>
#include <atomic>
#include <latch>
#include <thread>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

using testing::expect_values;
using testing::leaf;

// --- gradient hooks --------------------------------------------------------------------------------

TEST(TensorHooks, LeafHookSeesTheGradientAndCanReplaceIt) {
  // z = sum(3x): dz/dx = 3; the hook doubles it before accumulation, so grad = 6.
  Tensor x = leaf({1.0, 2.0});
  std::vector<double> seen;
  x.register_hook([&](const Tensor& g) {
    seen = testing::values(g);
    return g * 2.0;
  });
  (x * 3.0).sum().backward();
  EXPECT_EQ(seen, (std::vector<double>{3.0, 3.0}));
  expect_values(x.grad(), {2}, {6.0, 6.0});
}

TEST(TensorHooks, NonLeafHookChangesWhatFlowsFurther) {
  // y = 2x, z = sum(y * y): dz/dy = 2y = 4x = (4, 8); the hook adds 1 -> (5, 9); dz/dx = 2 * that.
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 2.0;
  std::vector<double> seen;
  y.register_hook([&](const Tensor& g) {
    seen = testing::values(g);
    return g + 1.0;
  });
  (y * y).sum().backward();
  EXPECT_EQ(seen, (std::vector<double>{4.0, 8.0}));
  expect_values(x.grad(), {2}, {10.0, 18.0});
}

TEST(TensorHooks, InPlaceOpKeepsEarlierHooksOnTheValueBeforeIt) {
  // As PyTorch: a hook registered before an in-place op sees the gradient with respect to the
  // tensor's value before the op; one registered after sees the gradient with respect to the new
  // value. y = 2x, then y *= (3, 4) in place, z = sum(y): dz/dy_new = (1, 1), dz/dy_old = (3, 4).
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 2.0;
  std::vector<double> before, after;
  y.register_hook([&](const Tensor& g) {
    before = testing::values(g);
    return Tensor();
  });
  y.mul_(testing::f64({3.0, 4.0}));
  y.register_hook([&](const Tensor& g) {
    after = testing::values(g);
    return Tensor();
  });
  y.sum().backward();
  EXPECT_EQ(after, (std::vector<double>{1.0, 1.0}));
  EXPECT_EQ(before, (std::vector<double>{3.0, 4.0}));
  expect_values(x.grad(), {2}, {6.0, 8.0});
}

TEST(TensorHooks, HookReturningNothingKeepsTheGradient) {
  Tensor x = leaf({1.0, 2.0});
  int calls = 0;
  x.register_hook([&](const Tensor&) {
    ++calls;
    return Tensor();
  });
  (x * x).sum().backward();  // 2x
  EXPECT_EQ(calls, 1);
  expect_values(x.grad(), {2}, {2.0, 4.0});
}

TEST(TensorHooks, SeveralHooksRunInRegistrationOrderOnEachOthersResult) {
  // gradient 1; hook a: g + 1 = 2; hook b: g * 10 = 20; hook c only records.
  Tensor x = leaf({5.0});
  std::vector<std::string> order;
  std::vector<double> seen_by_c;
  x.register_hook([&](const Tensor& g) {
    order.push_back("a");
    return g + 1.0;
  });
  x.register_hook([&](const Tensor& g) {
    order.push_back("b");
    return g * 10.0;
  });
  x.register_hook([&](const Tensor& g) {
    order.push_back("c");
    seen_by_c = testing::values(g);
    return Tensor();
  });
  x.sum().backward();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(seen_by_c, std::vector<double>{20.0});
  expect_values(x.grad(), {1}, {20.0});
}

TEST(TensorHooks, RemovedHookNoLongerRunsAndRemoveIsIdempotent) {
  Tensor x = leaf({1.0});
  int calls = 0;
  autograd::RemovableHandle h = x.register_hook([&](const Tensor& g) {
    ++calls;
    return g * 0.0;
  });
  EXPECT_TRUE(h.active());
  x.sum().backward();
  EXPECT_EQ(calls, 1);
  expect_values(x.grad(), {1}, {0.0});
  h.remove();
  h.remove();
  EXPECT_FALSE(h.active());
  x.set_grad({});
  x.sum().backward();
  EXPECT_EQ(calls, 1);
  expect_values(x.grad(), {1}, {1.0});
}

TEST(TensorHooks, HookGuardRemovesAtScopeEndAndDroppingAHandleKeepsTheHook) {
  Tensor x = leaf({1.0});
  int guarded = 0, kept = 0;
  {
    autograd::HookGuard guard(x.register_hook([&](const Tensor&) {
      ++guarded;
      return Tensor();
    }));
    x.register_hook([&](const Tensor&) {  // handle dropped at once: the hook stays, as in PyTorch
      ++kept;
      return Tensor();
    });
    x.sum().backward();
  }
  x.sum().backward();
  EXPECT_EQ(guarded, 1);
  EXPECT_EQ(kept, 2);
}

TEST(TensorHooks, RemovingAfterTheTensorAndGraphAreGoneIsHarmless) {
  autograd::RemovableHandle h;
  {
    Tensor x = leaf({1.0});
    Tensor y = x * 2.0;
    h = y.register_hook([](const Tensor& g) { return g; });
  }
  h.remove();
  EXPECT_FALSE(h.active());
}

TEST(TensorHooks, HookOnAViewSeesTheViewsGradient) {
  // v = x[1:3] (a view), z = sum(v * (10, 20)): dz/dv = (10, 20); the hook halves it, so
  // dz/dx = (0, 5, 10, 0).
  Tensor x = leaf({1.0, 2.0, 3.0, 4.0});
  Tensor v = x.narrow(0, 1, 2);
  std::vector<double> seen;
  v.register_hook([&](const Tensor& g) {
    seen = testing::values(g);
    return g * 0.5;
  });
  (v * testing::f64({10.0, 20.0})).sum().backward();
  EXPECT_EQ(seen, (std::vector<double>{10.0, 20.0}));
  expect_values(x.grad(), {4}, {0.0, 5.0, 10.0, 0.0});
}

TEST(TensorHooks, HookOnAPermutedViewReturnsTheViewsShape) {
  // p = x^T of a 2x3 leaf; z = sum(p * w) with w of shape 3x2; the hook negates, so grad = -w^T.
  Tensor x = testing::leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor p = x.t();
  Tensor w = testing::f64({1, 2, 3, 4, 5, 6}, {3, 2});
  p.register_hook([](const Tensor& g) {
    EXPECT_EQ(g.sizes(), (Shape{3, 2}));
    return -g;
  });
  (p * w).sum().backward();
  expect_values(x.grad(), {2, 3}, {-1, -3, -5, -2, -4, -6});
}

TEST(TensorHooks, HookOnOneOutputOfAMultiOutputNodeSeesOnlyThatOutput) {
  // max(dim) gives values and indices; only values carry a gradient. The hook on values scales by 3.
  Tensor x = testing::leaf({1, 5, 4, 2}, {2, 2});
  auto [values, indices] = x.max(1);
  values.register_hook([](const Tensor& g) { return g * 3.0; });
  values.sum().backward();
  expect_values(x.grad(), {2, 2}, {0, 3, 3, 0});
}

TEST(TensorHooks, GradReturnsTheHookedGradientAndRetainedGradIsTheHookedOne) {
  // autograd::grad also sees hooks on its inputs (as in PyTorch); retain_grad stores the value after
  // the hooks.
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 3.0;
  y.retain_grad();
  y.register_hook([](const Tensor& g) { return g * 2.0; });
  x.register_hook([](const Tensor& g) { return g + 100.0; });
  Tensor z = y.sum();
  z.backward({}, true);
  expect_values(y.grad(), {2}, {2.0, 2.0});
  expect_values(x.grad(), {2}, {106.0, 106.0});  // dz/dy = 1 -> 2 -> times 3 = 6 -> + 100
  std::vector<Tensor> g = autograd::grad({z}, {x});
  expect_values(g[0], {2}, {106.0, 106.0});
}

TEST(TensorHooks, HookRunsOncePerBackwardWithTheSummedGradientOfAllUses) {
  // x used twice (x*x + x): dz/dx = 2x + 1, delivered to the hook once, already summed.
  Tensor x = leaf({2.0});
  int calls = 0;
  std::vector<double> seen;
  x.register_hook([&](const Tensor& g) {
    ++calls;
    seen = testing::values(g);
    return Tensor();
  });
  (x * x + x).sum().backward();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, std::vector<double>{5.0});
}

TEST(TensorHooks, HookUnderCreateGraphIsDifferentiable) {
  // z = sum(x^2); the hook multiplies the gradient 2x by x, giving 2x^2 in grad(), whose derivative
  // with create_graph is 4x = 12; the hook on x runs on that captured gradient too: 12 * x = 36.
  Tensor x = leaf({3.0});
  x.register_hook([&](const Tensor& g) { return g * x; });
  (x * x).sum().backward({}, true, true);
  Tensor g = x.grad();
  expect_values(g, {1}, {18.0});
  EXPECT_TRUE(g.requires_grad());
  std::vector<Tensor> gg = autograd::grad({g.sum()}, {x}, {}, true, false, false);
  expect_values(gg[0], {1}, {36.0});
  // A gradient with history held in the leaf's own .grad is a reference cycle (leaf -> grad -> graph
  // -> the leaf's accumulator -> leaf), as in PyTorch: clear it, or LeakSanitizer reports the graph.
  x.set_grad({});
}

TEST(TensorHooks, MisuseErrors) {
  Tensor c = testing::f64({1.0});
  EXPECT_ERROR_CONTAINS(c.register_hook([](const Tensor& g) { return g; }),
                        "cannot register a hook on a tensor that doesn't require gradient");
  EXPECT_ERROR_CONTAINS(c.register_post_accumulate_grad_hook([](const Tensor&) {}),
                        "cannot register a hook on a tensor that doesn't require gradient");
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 2.0;
  EXPECT_ERROR_CONTAINS(y.register_post_accumulate_grad_hook([](const Tensor&) {}),
                        "post accumulate grad hooks cannot be registered on non-leaf tensors (this one, of shape "
                        "[2], was produced by");
  EXPECT_ERROR_CONTAINS(x.register_hook(nullptr), "register_hook: the hook is an empty function");
  EXPECT_ERROR_CONTAINS(Tensor().register_hook([](const Tensor& g) { return g; }), "register_hook");
  x.register_hook([](const Tensor& g) { return g.sum(); });
  EXPECT_ERROR_CONTAINS((x * 1.0).sum().backward(),
                        "a gradient hook on a tensor of shape [2] and dtype float64 (the gradient flowing into "
                        "'AccumulateGrad') returned a gradient of shape [] and dtype float64");
}

// --- post-accumulate-grad hooks ---------------------------------------------------------------------

TEST(PostAccumulateGradHooks, RunAfterTheGradientIsAccumulatedWithTheLeaf) {
  // Two backward passes of sum(2x): the hook sees grad() = 2 after the first and 4 after the second.
  Tensor x = leaf({1.0});
  std::vector<double> seen;
  x.register_post_accumulate_grad_hook([&](const Tensor& t) {
    EXPECT_TRUE(t.is_same(x));
    seen.push_back(t.grad().item<double>());
  });
  (x * 2.0).sum().backward();
  (x * 2.0).sum().backward();
  EXPECT_EQ(seen, (std::vector<double>{2.0, 4.0}));
}

TEST(PostAccumulateGradHooks, RunAfterGradientHooksAndMayResetTheGradient) {
  // The gradient hook triples (3); the post hook records grad() then clears it, as an optimizer-in-
  // backward would.
  Tensor x = leaf({1.0});
  std::vector<std::string> order;
  x.register_post_accumulate_grad_hook([&](const Tensor& t) {
    order.push_back("post " + std::to_string(t.grad().item<double>()));
    t.set_grad({});
  });
  x.register_hook([&](const Tensor& g) {
    order.push_back("grad");
    return g * 3.0;
  });
  x.sum().backward();
  EXPECT_EQ(order, (std::vector<std::string>{"grad", "post 3.000000"}));
  EXPECT_FALSE(x.grad().defined());
}

TEST(PostAccumulateGradHooks, FireOncePerLeafAndNotForGrad) {
  // z = sum(b * (a * 2)): each leaf's hook fires once per backward.
  Tensor a = leaf({1.0});
  Tensor b = leaf({1.0});
  std::vector<std::string> order;
  a.register_post_accumulate_grad_hook([&](const Tensor&) { order.push_back("a"); });
  auto hb = b.register_post_accumulate_grad_hook([&](const Tensor&) { order.push_back("b"); });
  Tensor z = (b * (a * 2.0)).sum();
  autograd::grad({z}, {a, b}, {}, true);
  EXPECT_TRUE(order.empty());  // grad() accumulates nothing
  z.backward();
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
  hb.remove();
  order.clear();
  (b * (a * 2.0)).sum().backward();
  EXPECT_EQ(order, std::vector<std::string>{"a"});
}

TEST(PostAccumulateGradHooks, SurviveTheAccumulatorBeingRecreated) {
  // The accumulator is weakly held and dies with its graph; hooks live on the leaf.
  Tensor x = leaf({1.0});
  int calls = 0;
  x.register_post_accumulate_grad_hook([&](const Tensor&) { ++calls; });
  for (int i = 0; i < 3; ++i) (x * 1.0).sum().backward();
  EXPECT_EQ(calls, 3);
}

TEST(PostAccumulateGradHooks, ConcurrentBackwardPassesEachRunTheHookOnce) {
  // Two threads backpropagate into the same leaf many times; the hook (which must be thread-safe
  // itself) counts every accumulation, and the gradient is the exact sum.
  constexpr int kPasses = 200;
  Tensor x = zeros({64}, kFloat64).requires_grad_();
  std::atomic<int> calls{0};
  x.register_post_accumulate_grad_hook([&](const Tensor&) { calls.fetch_add(1); });
  std::latch start(2);
  auto work = [&] {
    start.arrive_and_wait();
    for (int i = 0; i < kPasses; ++i) (x + 1.0).sum().backward();
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(calls.load(), 2 * kPasses);
  EXPECT_EQ(x.grad().sum().item<double>(), 64.0 * 2 * kPasses);
}

// --- queue_callback ----------------------------------------------------------------------------------

TEST(QueueCallback, RunsAfterEveryLeafAccumulatedInQueueOrder) {
  Tensor a = leaf({1.0});
  Tensor b = leaf({2.0});
  std::vector<std::string> order;
  a.register_post_accumulate_grad_hook([&](const Tensor&) {
    order.push_back("a");
    autograd::queue_callback([&] {
      // By now both leaves have their gradient.
      order.push_back("cb1 " + std::to_string(b.grad().item<double>()));
      autograd::queue_callback([&] { order.push_back("cb2"); });
    });
  });
  b.register_post_accumulate_grad_hook([&](const Tensor&) { order.push_back("b"); });
  (a * 2.0 + b * (b * 3.0)).sum().backward();  // db = 6b = 12; b is reached after a
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[2], "cb1 12.000000");
  EXPECT_EQ(order[3], "cb2");
}

TEST(QueueCallback, OutsideBackwardIsAnError) {
  EXPECT_ERROR_CONTAINS(autograd::queue_callback([] {}), "queue_callback: no backward pass is running on this thread");
}

}  // namespace
}  // namespace voxgrad
