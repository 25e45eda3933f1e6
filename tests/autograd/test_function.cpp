// Custom autograd functions (autograd::Function<T>): values, gradients (gradcheck and
// gradgradcheck), the context's services and the errors a user can hit.

#include "test_util.h"

#include <voxgrad/core/tensor_impl.h>
#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

using autograd::AutogradContext;
using autograd::tensor_list;
using testing::expect_values;

// y = x^3, backward written with differentiable ops (so double backward works).
struct Cube : autograd::Function<Cube> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const Tensor x = ctx->get_saved_variables()[0];
    return {grads[0] * 3.0 * x * x};
  }
};

// y = exp(x), saving its output (which comes back with its grad_fn for double backward).
struct Exp : autograd::Function<Exp> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    Tensor y = x.exp();
    ctx->save_for_backward({y});
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    return {grads[0] * ctx->get_saved_variables()[0]};
  }
};

// y = scale * x * w + shift, with non-tensor arguments kept in saved_data.
struct ScaledMul : autograd::Function<ScaledMul> {
  static inline std::vector<bool> seen_needs;
  static Tensor forward(AutogradContext* ctx, const Tensor& x, double scale, const Tensor& w, std::int64_t shift) {
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["shift"] = shift;
    ctx->save_for_backward({x, w});
    return x * w * scale + static_cast<double>(shift);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const double scale = ctx->saved_data["scale"].toDouble();
    seen_needs = {ctx->needs_input_grad(0), ctx->needs_input_grad(1)};
    Tensor gx = ctx->needs_input_grad(0) ? grads[0] * saved[1] * scale : Tensor();
    Tensor gw = ctx->needs_input_grad(1) ? grads[0] * saved[0] * scale : Tensor();
    return {gx, gw};
  }
};

// Two outputs (2x, 3x); records which gradients arrived defined.
struct TwoOutputs : autograd::Function<TwoOutputs> {
  static inline std::vector<bool> defined;
  static tensor_list forward(AutogradContext* ctx, const Tensor& x, bool materialize) {
    ctx->set_materialize_grads(materialize);
    return {x * 2.0, x * 3.0};
  }
  static tensor_list backward(AutogradContext*, tensor_list grads) {
    defined = {grads[0].defined(), grads[1].defined()};
    Tensor g;
    if (grads[0].defined()) g = grads[0] * 2.0;
    if (grads[1].defined()) g = g.defined() ? g + grads[1] * 3.0 : grads[1] * 3.0;
    return {g};
  }
};

// Sum of a list of tensors.
struct SumList : autograd::Function<SumList> {
  static Tensor forward(AutogradContext*, const tensor_list& xs) {
    Tensor s = xs[0].clone();
    for (std::size_t i = 1; i < xs.size(); ++i) s = s + xs[i];
    return s;
  }
  static tensor_list backward(AutogradContext*, tensor_list grads) { return {grads[0], grads[0], grads[0]}; }
};

// Doubles x in place (mark_dirty).
struct DoubleInPlace : autograd::Function<DoubleInPlace> {
  static Tensor forward(AutogradContext* ctx, Tensor x) {
    x.mul_(2.0);
    ctx->mark_dirty({x});
    return x;
  }
  static tensor_list backward(AutogradContext*, tensor_list grads) { return {grads[0] * 2.0}; }
};

// Values and a non-differentiable mask of the positive entries.
struct PositivePart : autograd::Function<PositivePart> {
  static tensor_list forward(AutogradContext* ctx, const Tensor& x) {
    Tensor mask = x.gt(0.0);
    ctx->mark_non_differentiable({mask});
    ctx->save_for_backward({mask});
    return {x * mask, mask};
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    return {grads[0] * ctx->get_saved_variables()[0]};
  }
};

// Returns its input unchanged.
struct Identity : autograd::Function<Identity> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return x; }
  static tensor_list backward(AutogradContext*, tensor_list grads) { return grads; }
};

// Misbehaving backwards.
struct TooFewGradients : autograd::Function<TooFewGradients> {
  static Tensor forward(AutogradContext*, const Tensor& x, const Tensor& y) { return x + y; }
  static tensor_list backward(AutogradContext*, tensor_list grads) { return {grads[0]}; }
};
struct WrongShape : autograd::Function<WrongShape> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return x * 2.0; }
  static tensor_list backward(AutogradContext*, tensor_list grads) { return {grads[0].sum()}; }
};
struct ExtraUndefined : autograd::Function<ExtraUndefined> {
  static Tensor forward(AutogradContext*, const Tensor& x, double) { return x * 2.0; }
  static tensor_list backward(AutogradContext*, tensor_list grads) { return {grads[0] * 2.0, Tensor()}; }
};

Tensor leaf(std::initializer_list<double> v) { return tensor(v, kFloat64).requires_grad_(); }

TEST(Function, ForwardValuesAndNodeName) {
  Tensor x = leaf({1.0, -2.0, 3.0});
  Tensor y = Cube::apply(x);
  expect_values(y, {3}, {1.0, -8.0, 27.0});
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_EQ(y.grad_fn()->name(), "CubeBackward");
  y.sum().backward();
  expect_values(x.grad(), {3}, {3.0, 12.0, 27.0});
}

TEST(Function, GradcheckAndGradgradcheck) {
  manual_seed(1);
  const Tensor x = randn({2, 3}, kFloat64).requires_grad_();
  const Tensor w = randn({2, 3}, kFloat64).requires_grad_();
  EXPECT_TRUE(autograd::gradcheck([](const std::vector<Tensor>& in) { return Cube::apply(in[0]); }, {x}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return Cube::apply(in[0]); }, {x}));
  // A saved output comes back with its grad_fn: exp's second derivative flows through it.
  EXPECT_TRUE(autograd::gradcheck([](const std::vector<Tensor>& in) { return Exp::apply(in[0]); }, {x}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return Exp::apply(in[0]); }, {x}));
  auto scaled = [](const std::vector<Tensor>& in) { return ScaledMul::apply(in[0], 1.5, in[1], std::int64_t{2}); };
  EXPECT_TRUE(autograd::gradcheck(scaled, {x, w}));
  EXPECT_TRUE(autograd::gradgradcheck(scaled, {x, w}));
}

TEST(Function, NonTensorArgumentsAndSavedData) {
  Tensor x = leaf({1.0, 2.0});
  const Tensor w = tensor({3.0, 4.0}, kFloat64);  // no grad needed
  Tensor y = ScaledMul::apply(x, 0.5, w, std::int64_t{1});
  expect_values(y, {2}, {2.5, 5.0});
  y.sum().backward();
  expect_values(x.grad(), {2}, {1.5, 2.0});
  EXPECT_EQ(ScaledMul::seen_needs, (std::vector<bool>{true, false}));
}

TEST(Function, NeedsInputGradFollowsTheBackwardPass) {
  Tensor x = leaf({1.0});
  Tensor w = leaf({2.0});
  Tensor y = ScaledMul::apply(x, 1.0, w, std::int64_t{0});
  // autograd::grad w.r.t. w only: the pass does not want x's gradient.
  autograd::grad({y.sum()}, {w});
  EXPECT_EQ(ScaledMul::seen_needs, (std::vector<bool>{false, true}));
}

TEST(Function, SavedValueWrongTypeNamesBothTypes) {
  autograd::SavedValue v = 2.5;
  EXPECT_DOUBLE_EQ(v.toDouble(), 2.5);
  EXPECT_ERROR_CONTAINS(v.toInt(), "expected a value of type int, but the stored value is a double");
  autograd::SavedValue n = 3;
  EXPECT_EQ(n.toInt(), 3);
  EXPECT_DOUBLE_EQ(n.toDouble(), 3.0);
  EXPECT_TRUE(autograd::SavedValue().isNone());
  EXPECT_ERROR_CONTAINS(autograd::SavedValue().toTensor(), "stored value is a None");
  autograd::SavedValue s = "mode";
  EXPECT_EQ(s.toStringRef(), "mode");
  autograd::SavedValue l = std::vector<std::int64_t>{1, 2};
  EXPECT_EQ(l.toIntVector().size(), 2U);
}

TEST(Function, UnusedOutputGetsZerosOrUndefined) {
  for (const bool materialize : {true, false}) {
    Tensor x = leaf({1.0, 2.0});
    tensor_list ys = TwoOutputs::apply(x, materialize);
    ASSERT_EQ(ys.size(), 2U);
    EXPECT_EQ(ys[0].grad_fn(), ys[1].grad_fn());
    ys[1].sum().backward();  // only the second output is used
    EXPECT_EQ(TwoOutputs::defined, (std::vector<bool>{materialize, true}));
    expect_values(x.grad(), {2}, {3.0, 3.0});
  }
}

TEST(Function, TensorListArgumentsAreInputs) {
  Tensor a = leaf({1.0}), b = leaf({2.0}), c = leaf({3.0});
  Tensor s = SumList::apply(tensor_list{a, b, c});
  expect_values(s, {1}, {6.0});
  s.backward();
  for (const Tensor& t : {a, b, c}) expect_values(t.grad(), {1}, {1.0});
}

TEST(Function, MarkNonDifferentiableOutputDoesNotRequireGrad) {
  Tensor x = leaf({-1.0, 2.0});
  tensor_list out = PositivePart::apply(x);
  EXPECT_TRUE(out[0].requires_grad());
  EXPECT_FALSE(out[1].requires_grad());
  expect_values(out[1], {2}, {0.0, 1.0});
  out[0].sum().backward();
  expect_values(x.grad(), {2}, {0.0, 1.0});
}

TEST(Function, MarkDirtyRewritesTheHistoryOfANonLeaf) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 3.0;
  Tensor& same = h;
  Tensor out = DoubleInPlace::apply(h);
  EXPECT_TRUE(out.is_same(same));  // the dirty input itself is returned
  EXPECT_EQ(h.grad_fn()->name(), "DoubleInPlaceBackward");
  expect_values(h, {2}, {6.0, 12.0});
  h.sum().backward();
  expect_values(x.grad(), {2}, {6.0, 6.0});
}

TEST(Function, MarkDirtyOnALeafThatRequiresGradIsAnError) {
  Tensor x = leaf({1.0});
  EXPECT_ERROR_CONTAINS(DoubleInPlace::apply(x), "a leaf Variable that requires grad has been used in an in-place");
}

TEST(Function, MarkDirtyInvalidatesTensorsSavedBeforeIt) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 1.0;
  Tensor y = h * h;  // saves h
  DoubleInPlace::apply(h);
  EXPECT_ERROR_CONTAINS(y.sum().backward(), "modified by an inplace operation");
}

TEST(Function, SavedInputModifiedInPlaceIsCaught) {
  Tensor x = leaf({1.0, 2.0});
  Tensor h = x * 1.0;
  Tensor y = Cube::apply(h);
  {
    NoGradGuard no_grad;
    h.add_(1.0);
  }
  EXPECT_ERROR_CONTAINS(y.sum().backward(), "modified by an inplace operation");
}

TEST(Function, InputReturnedUnchangedIsANewAlias) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = Identity::apply(x);
  EXPECT_FALSE(y.is_same(x));
  EXPECT_TRUE(x.is_leaf());
  EXPECT_EQ(y.grad_fn()->name(), "IdentityBackward");
  (y * 2.0).sum().backward();
  expect_values(x.grad(), {2}, {2.0, 2.0});
}

TEST(Function, NoGradModeOrNoGradInputsRecordNothing) {
  Tensor x = leaf({1.0});
  {
    NoGradGuard no_grad;
    EXPECT_EQ(Cube::apply(x).grad_fn(), nullptr);
  }
  EXPECT_FALSE(Cube::apply(tensor({2.0}, kFloat64)).requires_grad());
}

TEST(Function, WrongNumberOfGradientsIsAnError) {
  Tensor x = leaf({1.0}), y = leaf({2.0});
  EXPECT_ERROR_CONTAINS(TooFewGradients::apply(x, y).backward(),
                        "function TooFewGradientsBackward returned an incorrect number of gradients (expected 2, "
                        "got 1)");
  // Trailing undefined gradients (for non-tensor arguments, as in libtorch) are fine.
  Tensor z = ExtraUndefined::apply(x, 1.0);
  z.backward();
  expect_values(x.grad(), {1}, {2.0});
}

TEST(Function, WrongGradientShapeIsAnError) {
  Tensor x = leaf({1.0, 2.0});
  EXPECT_ERROR_CONTAINS(WrongShape::apply(x).sum().backward(),
                        "function WrongShapeBackward returned an invalid gradient at index 0: got shape [] but "
                        "expected shape [2]");
}

TEST(Function, SavedVariablesOutsideBackwardAndOutOfRangeNeeds) {
  struct Probe : autograd::Function<Probe> {
    static Tensor forward(AutogradContext* ctx, const Tensor& x) {
      EXPECT_TRUE(ctx->needs_input_grad(0));
      EXPECT_ERROR_CONTAINS(ctx->needs_input_grad(1), "needs_input_grad(1) is out of range: the function has 1");
      EXPECT_ERROR_CONTAINS(ctx->get_saved_variables(), "get_saved_variables can only be called in backward");
      return x * 1.0;
    }
    static tensor_list backward(AutogradContext*, tensor_list grads) { return grads; }
  };
  Probe::apply(leaf({1.0}));
}

TEST(Function, SecondBackwardWithoutRetainGraphIsAnError) {
  Tensor x = leaf({1.0});
  Tensor y = Cube::apply(x);
  y.backward();
  EXPECT_ERROR_CONTAINS(y.backward(), "backward through the graph a second time");
}

TEST(Function, MarkDirtyTensorNotReturnedIsAnError) {
  struct Forgets : autograd::Function<Forgets> {
    static Tensor forward(AutogradContext* ctx, Tensor x) {
      x.mul_(2.0);
      ctx->mark_dirty({x});
      return x * 1.0;
    }
    static tensor_list backward(AutogradContext*, tensor_list grads) { return grads; }
  };
  Tensor h = leaf({1.0}) * 1.0;
  EXPECT_ERROR_CONTAINS(Forgets::apply(h), "passed to mark_dirty was not returned by forward");
}

}  // namespace
}  // namespace voxgrad
