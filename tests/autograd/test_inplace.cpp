// In-place ops under autograd (PyTorch's rules): history rewritten on non-leaves, CopySlices on
// views, errors for leaves that require grad, the version counter, and every op gradchecked through
// a non-leaf and through views.

#include <functional>

#include "test_util.h"

#include <voxgrad/core/tensor_impl.h>
#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

using testing::expect_values;

Tensor leaf(std::initializer_list<double> v) { return tensor(v, kFloat64).requires_grad_(); }

// An in-place op applied to `self`, with `other` (shape [3], or [2, 3]) as its tensor argument.
struct InplaceCase {
  const char* name;
  std::function<void(Tensor& self, const Tensor& other)> apply;
  bool uses_other = true;
};

std::vector<InplaceCase> cases() {
  return {
      {"add_", [](Tensor& s, const Tensor& o) { s.add_(o, 0.5); }},
      {"sub_", [](Tensor& s, const Tensor& o) { s.sub_(o); }},
      {"mul_", [](Tensor& s, const Tensor& o) { s.mul_(o); }},
      {"div_", [](Tensor& s, const Tensor& o) { s.div_(o + 3.0); }},
      {"copy_", [](Tensor& s, const Tensor& o) { s.copy_(o); }},
      {"+=", [](Tensor& s, const Tensor& o) { s += o; }},
      {"*=", [](Tensor& s, const Tensor& o) { s *= o; }},
      {"add_ scalar", [](Tensor& s, const Tensor&) { s.add_(2.0); }, false},
      {"sub_ scalar", [](Tensor& s, const Tensor&) { s.sub_(2.0); }, false},
      {"mul_ scalar", [](Tensor& s, const Tensor&) { s.mul_(-1.5); }, false},
      {"div_ scalar", [](Tensor& s, const Tensor&) { s.div_(4.0); }, false},
      {"fill_", [](Tensor& s, const Tensor&) { s.fill_(0.25); }, false},
      {"zero_", [](Tensor& s, const Tensor&) { s.zero_(); }, false},
      {"relu_", [](Tensor& s, const Tensor&) { s.relu_(); }, false},
      {"leaky_relu_", [](Tensor& s, const Tensor&) { s.leaky_relu_(0.2); }, false},
      {"masked_fill_", [](Tensor& s, const Tensor& o) { s.masked_fill_(o.detach().gt(0.0), 0.5); }, false},
      {"index_put_ basic", [](Tensor& s, const Tensor&) { s.index_put_({0}, 1.5); }, false},
      {"index_put_ accumulate",
       [](Tensor& s, const Tensor&) { s.index_put_({zeros({2}, kInt64)}, 2.0, /*accumulate=*/true); }, false},
      {"scatter_add_",
       [](Tensor& s, const Tensor& o) {
         Tensor src = o.expand(s.sizes()).narrow(0, 0, 1);  // row 0 of o, broadcast
         s.scatter_add_(0, zeros(src.sizes(), kInt64), src);
       }},
  };
}

// Random inputs away from relu's kink (|x| >= 0.1), so finite differences are exact enough.
Tensor away_from_zero(IntArrayRef sizes) {
  Tensor r = randn(sizes, kFloat64);
  NoGradGuard no_grad;
  return (r + r.sign() * 0.1).requires_grad_();
}

TEST(InPlace, EveryOpGradchecksThroughANonLeaf) {
  manual_seed(3);
  for (const InplaceCase& c : cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = away_from_zero({2, 3});
    const Tensor o = away_from_zero({3});  // broadcast into self
    auto fn = [&c](const std::vector<Tensor>& in) {
      Tensor h = in[0] * 1.0;
      c.apply(h, in[1]);
      return h * 2.0;
    };
    EXPECT_TRUE(autograd::gradcheck(fn, {x, o}));
    EXPECT_TRUE(autograd::gradgradcheck(fn, {x, o}));
  }
}

// Views of a (2, 4, 3) tensor: a narrow, a strided slice, a select, a transposed view, a view of a view.
std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> views() {
  return {
      {"narrow", [](const Tensor& t) { return t.narrow(1, 1, 2); }},
      {"slice step 2", [](const Tensor& t) { return t.slice(1, 0, 4, 2); }},
      {"select", [](const Tensor& t) { return t.select(0, 1).narrow(0, 0, 2); }},
      {"transpose", [](const Tensor& t) { return t.transpose(0, 2).narrow(0, 1, 2).narrow(1, 0, 2).transpose(0, 1); }},
      {"view of view",
       [](const Tensor& t) {
         return t.view({8, 3}).narrow(0, 2, 2);
       }},
  };
}

TEST(InPlace, EveryOpGradchecksThroughViews) {
  manual_seed(4);
  for (const auto& [view_name, view_fn] : views()) {
    const auto& make_view = view_fn;  // a structured binding cannot be captured before clang 16
    for (const InplaceCase& c : cases()) {
      SCOPED_TRACE(std::string(view_name) + " / " + c.name);
      const Tensor x = away_from_zero({2, 4, 3});
      Tensor probe = make_view(x.detach());
      const Tensor o = away_from_zero(probe.sizes());
      // Both the base and the view are outputs: the base's rewritten history (CopySlices) and the
      // view's regenerated one are checked together.
      auto fn = [&](const std::vector<Tensor>& in) {
        Tensor h = in[0] * 1.0;
        Tensor v = make_view(h);
        c.apply(v, in[1]);
        return std::vector<Tensor>{h * 1.5, v * v};
      };
      EXPECT_TRUE(autograd::gradcheck(fn, {x, o}));
      EXPECT_TRUE(autograd::gradgradcheck(fn, {x, o}));
    }
  }
}

TEST(InPlace, NonLeafHistoryIsRewritten) {
  Tensor x = leaf({1.0, -2.0, 3.0});
  Tensor h = x * 2.0;
  const auto old = h.grad_fn();
  h.relu_();
  EXPECT_EQ(h.grad_fn()->name(), "ReluBackward");
  EXPECT_NE(h.grad_fn(), old);
  EXPECT_EQ(h.grad_fn()->next_edges()[0].fn, old);
  h.sum().backward();
  expect_values(x.grad(), {3}, {2.0, 0.0, 2.0});
}

TEST(InPlace, ResidualAdditionGradients) {
  // out = conv-like(x) += identity: both paths get the gradient.
  Tensor x = leaf({1.0, 2.0});
  Tensor out = x * 3.0;
  out += x;
  out.relu_();
  (out * out).sum().backward();  // out = 4x, d sum(16x^2)/dx = 32x
  expect_values(x.grad(), {2}, {32.0, 64.0});
}

TEST(InPlace, OnALeafThatRequiresGradIsAnError) {
  Tensor w = leaf({1.0, 2.0});
  EXPECT_ERROR_CONTAINS(w.relu_(), "relu_: a leaf Variable that requires grad is being used in an in-place operation.");
  EXPECT_ERROR_CONTAINS(w += 1.0, "add_: a leaf Variable");
  EXPECT_ERROR_CONTAINS(w.narrow(0, 0, 1).mul_(2.0),
                        "mul_: a view of a leaf Variable that requires grad is being used in an in-place operation.");
  expect_values(w, {2}, {1.0, 2.0});
  // Under NoGradGuard (optimizer steps) it works, views included.
  {
    NoGradGuard no_grad;
    w.add_(1.0);
    w.narrow(0, 0, 1).mul_(10.0);
  }
  expect_values(w, {2}, {20.0, 3.0});
  EXPECT_TRUE(w.is_leaf());
}

TEST(InPlace, SavedTensorModifiedInPlaceIsCaught) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 1.0;
  Tensor y = h * h;  // saves h
  h.add_(1.0);
  EXPECT_ERROR_CONTAINS(y.sum().backward(), "modified by an inplace operation");
  // relu_ saves its result: modifying it afterwards is caught too (as in PyTorch).
  Tensor r = x * 1.0;
  r.relu_();
  Tensor z = r.exp();  // unrelated use, fine
  r += 1.0;
  EXPECT_ERROR_CONTAINS((r.sum() + z.sum()).backward(), "ReluBackward");
}

TEST(InPlace, ViewOfABaseModifiedInPlaceGetsTheNewHistory) {
  Tensor x = leaf({1.0, 2.0, 3.0});
  Tensor h = x * 1.0;
  Tensor v = h.narrow(0, 0, 2);
  h.mul_(3.0);  // v now shows 3x
  expect_values(v, {2}, {3.0, 6.0});
  EXPECT_EQ(v.grad_fn()->name(), "AsStridedBackward");
  v.sum().backward();
  expect_values(x.grad(), {3}, {3.0, 3.0, 0.0});
}

TEST(InPlace, WriteThroughAViewRewritesTheBase) {
  Tensor x = leaf({1.0, 2.0, 3.0, 4.0});
  Tensor h = x * 1.0;
  Tensor v = h.narrow(0, 1, 2);
  v.mul_(10.0);
  EXPECT_EQ(h.grad_fn()->name(), "CopySlices");
  expect_values(h, {4}, {1.0, 20.0, 30.0, 4.0});
  h.sum().backward();
  expect_values(x.grad(), {4}, {1.0, 10.0, 10.0, 1.0});
}

TEST(InPlace, CopyIntoAViewOfAPlainBufferMakesItDifferentiable) {
  // The PyTorch idiom buf[1] = w: buf did not require grad, and now depends on w.
  Tensor w = leaf({1.0, 2.0, 3.0});
  Tensor buf = zeros({2, 3}, kFloat64);
  buf.select(0, 1).copy_(w);
  EXPECT_TRUE(buf.requires_grad());
  (buf * buf).sum().backward();
  expect_values(w.grad(), {3}, {2.0, 4.0, 6.0});
}

TEST(InPlace, SelfAliasingOperandSeesTheValueBeforeTheWrite) {
  manual_seed(5);
  const Tensor x = away_from_zero({3, 3});
  auto square = [](const std::vector<Tensor>& in) {
    Tensor h = in[0] * 1.0;
    h.mul_(h);
    return h;
  };
  auto transpose_div = [](const std::vector<Tensor>& in) {
    Tensor h = in[0] * 1.0 + 5.0;
    h.div_(h.t());
    return h;
  };
  EXPECT_TRUE(autograd::gradcheck(square, {x}));
  EXPECT_TRUE(autograd::gradcheck(transpose_div, {x}));
  EXPECT_TRUE(autograd::gradgradcheck(square, {x}));
}

TEST(InPlace, ViewMadeInNoGradModeIsAnErrorToModifyWithGrad) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 1.0;
  Tensor v;
  {
    NoGradGuard no_grad;
    v = h.narrow(0, 0, 1);
  }
  EXPECT_FALSE(v.requires_grad());
  EXPECT_ERROR_CONTAINS(v.mul_(leaf({2.0})), "mul_: a view made in no-grad mode");
  // Also when nothing else requires grad: the base does, and would miss the write.
  EXPECT_ERROR_CONTAINS(v.mul_(2.0), "mul_: a view made in no-grad mode");
  expect_values(h, {2}, {1.0, 2.0});
}

TEST(InPlace, RetainGradFollowsTheNewHistory) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 1.0;
  h.retain_grad();
  h.mul_(3.0);
  (h * 2.0).sum().backward();
  // h's gradient is that of its current value (2), not of the value before the write (6).
  expect_values(h.grad(), {2}, {2.0, 2.0});
  expect_values(x.grad(), {2}, {6.0, 6.0});
}

TEST(InPlace, LeakyReluNegativeSlopeWithAutogradIsAnError) {
  Tensor h = leaf({1.0}) * 1.0;
  EXPECT_ERROR_CONTAINS(h.leaky_relu_(-0.5), "negative_slope >= 0");
  NoGradGuard no_grad;
  Tensor plain = tensor({-2.0}, kFloat64);
  plain.leaky_relu_(-0.5);
  expect_values(plain, {1}, {1.0});
}

TEST(InPlace, InPlaceValuesMatchTheOutOfPlaceOps) {
  manual_seed(6);
  const Tensor x = randn({4, 5}, kFloat64);
  Tensor a = x.clone();
  a.relu_();
  testing::expect_bitwise_equal(a, x.relu(), "relu_");
  Tensor b = x.clone();
  b.leaky_relu_(0.1);
  testing::expect_bitwise_equal(b, x.leaky_relu(0.1), "leaky_relu_");
}

TEST(InPlace, ExpandedViewOfAModifiedBaseSumsItsGradient) {
  // An expanded view repeats positions of its base: its regenerated history must add them up.
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 1.0;
  Tensor e = h.unsqueeze(0).expand({3, 2});
  h.mul_(2.0);
  e.sum().backward();
  expect_values(x.grad(), {2}, {6.0, 6.0});
}

}  // namespace
}  // namespace voxgrad
