// gradcheck and gradgradcheck: they accept correct gradients, catch wrong ones with a message that
// says where, and refuse inputs they cannot judge. The custom ops here double as the example of how
// to write an op with autograd::record().

#include <cmath>
#include <cstdlib>
#include <string>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

using autograd::BackwardCtx;
using autograd::gradcheck;
using autograd::GradcheckOptions;
using autograd::gradgradcheck;

/// A float64 leaf of the given shape with reproducible values in [-1, 1).
Tensor random_leaf(const Shape& sizes, std::uint64_t seed) {
  manual_seed(seed);
  return (rand(sizes, kFloat64) * 2.0 - 1.0).detach().requires_grad_();
}

// --- custom ops written with autograd::record() ---------------------------------------------------

/// x^2 as a custom op. `correct` selects the true backward (2 g x) or a wrong one (g x).
Tensor custom_square(const Tensor& x, bool correct) {
  // 1. Compute the forward value without recording anything.
  Tensor out;
  {
    NoGradGuard guard;
    out = x * x;
  }
  // 2. Record one node: inputs, outputs, tensors backward needs, and the backward function. The
  //    backward is written with differentiable ops, so create_graph (and gradgradcheck) works.
  autograd::record("CustomSquareBackward", x, out, {autograd::save_for_backward(x)}, [correct](const BackwardCtx& c) {
    const Tensor& saved_x = c.saved[0];
    return std::vector<Tensor>{correct ? c.grad() * saved_x * 2.0 : c.grad() * saved_x};
  });
  return out;
}

/// a * exp(b) as a two-input custom op that skips the gradients nobody needs.
Tensor custom_mul_exp(const Tensor& a, const Tensor& b) {
  Tensor out;
  {
    NoGradGuard guard;
    out = a * b.exp();
  }
  // Save the inputs, not the detached e^b: backward recomputes e^b from b so that its own graph
  // (create_graph) reaches b and second derivatives come out right.
  autograd::record("MulExpBackward", a, b, out, {autograd::save_for_backward(a), autograd::save_for_backward(b)},
                   [](const BackwardCtx& c) {
                     const Tensor& av = c.saved[0];
                     const Tensor ev = c.saved[1].exp();
                     std::vector<Tensor> g(2);
                     if (c.needs_input_grad(0)) g[0] = c.grad() * ev;       // d/da = e^b
                     if (c.needs_input_grad(1)) g[1] = c.grad() * av * ev;  // d/db = a e^b
                     return g;
                   });
  return out;
}

/// x^2 whose backward is right at first order but cut from the graph (x is detached), so its
/// second derivative is wrong.
Tensor square_with_detached_backward(const Tensor& x) {
  Tensor out;
  {
    NoGradGuard guard;
    out = x * x;
  }
  autograd::record("DetachedSquareBackward", x, out, {autograd::save_for_backward(x)},
                   [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad() * c.saved[0].detach() * 2.0}; });
  return out;
}

/// The number printed after `label` in `msg` ("numerical 6.000000000" -> 6).
double number_after(const std::string& msg, const std::string& label) {
  const std::size_t at = msg.find(label);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no \"" << label << "\" in: " << msg;
    return std::nan("");
  }
  return std::strtod(msg.c_str() + at + label.size(), nullptr);
}

// --- gradcheck accepts correct gradients ----------------------------------------------------------

TEST(Gradcheck, PassesForExp) {
  Tensor x = random_leaf({2, 3}, 1);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].exp(); }, {x}));
}

TEST(Gradcheck, PassesForMulWithBroadcasting) {
  Tensor a = random_leaf({2, 3}, 2);
  Tensor b = random_leaf({3}, 3);
  Tensor c = random_leaf({2, 1}, 4);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {c, b}));
}

TEST(Gradcheck, PassesForMatmul) {
  Tensor a = random_leaf({2, 3}, 5);
  Tensor b = random_leaf({3, 4}, 6);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].matmul(in[1]); }, {a, b}));
}

TEST(Gradcheck, PassesForAMultiOutputFunction) {
  Tensor a = random_leaf({3}, 7);
  Tensor b = random_leaf({3}, 8);
  const autograd::MultiOutputFn fn = [](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{in[0].exp(), in[0] * in[1], (in[1].tanh() * in[0]).sum()};
  };
  EXPECT_TRUE(gradcheck(fn, {a, b}));
}

TEST(Gradcheck, PassesForMaxAlongADim) {
  // Distinct values, so the arg-max does not move under the finite-difference step.
  Tensor a = tensor({0.1, 0.9, -0.4, 0.7, 0.2, 0.5}, kFloat64).view({2, 3}).detach().requires_grad_();
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return std::get<0>(in[0].max(1)); }, {a}));
}

TEST(Gradcheck, OnlyChecksInputsThatRequireGrad) {
  Tensor a = random_leaf({3}, 9);
  Tensor fixed = tensor({1.0, 2.0, 3.0}, kFloat64);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {a, fixed}));
}

TEST(Gradcheck, HandlesANonContiguousInput) {
  // The input is a transposed view; perturbing it writes through to the shared storage.
  Tensor base = random_leaf({3, 2}, 10);
  Tensor at;
  {
    NoGradGuard guard;
    at = base.t();
  }
  at.requires_grad_();
  ASSERT_FALSE(at.is_contiguous());
  Tensor b = random_leaf({3, 4}, 11);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].matmul(in[1]); }, {at, b}));
}

TEST(Gradcheck, HandlesANonContiguousOutput) {
  Tensor a = random_leaf({2, 3}, 13);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return (in[0] * in[0]).t(); }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].expand({4, 2, 3}); }, {a}));
}

TEST(Gradcheck, HandlesAFunctionThatReturnsAViewOfItsInput) {
  // The outputs alias the input that gradcheck perturbs, so they must be read before the next step.
  Tensor a = random_leaf({2, 3}, 14);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].t(); }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].narrow(1, 1, 2); }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0]; }, {a}));
}

TEST(Gradcheck, LeavesInputsUnchanged) {
  Tensor x = random_leaf({4}, 12);
  const std::vector<double> before = testing::values(x);
  const std::uint32_t version = x.version();
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0].sigmoid(); }, {x}));
  EXPECT_EQ(testing::values(x), before);
  EXPECT_EQ(x.version(), version);
  EXPECT_FALSE(x.grad().defined());
}

// --- gradgradcheck --------------------------------------------------------------------------------

TEST(Gradgradcheck, PassesForMul) {
  Tensor a = random_leaf({2, 3}, 20);
  Tensor b = random_leaf({3}, 21);
  EXPECT_TRUE(gradgradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {a, b}));
}

TEST(Gradgradcheck, PassesForExp) {
  Tensor x = random_leaf({4}, 22);
  EXPECT_TRUE(gradgradcheck([](const std::vector<Tensor>& in) { return in[0].exp(); }, {x}));
}

TEST(Gradgradcheck, PassesForTanh) {
  Tensor x = random_leaf({2, 2}, 23);
  EXPECT_TRUE(gradgradcheck([](const std::vector<Tensor>& in) { return in[0].tanh(); }, {x}));
}

TEST(Gradgradcheck, PassesForMatmul) {
  Tensor a = random_leaf({2, 3}, 24);
  Tensor b = random_leaf({3, 2}, 25);
  EXPECT_TRUE(gradgradcheck([](const std::vector<Tensor>& in) { return in[0].matmul(in[1]); }, {a, b}));
}

TEST(Gradgradcheck, PassesForPow) {
  // Positive bases keep x^y and log(x) smooth.
  Tensor x = (random_leaf({3}, 26).detach() + 2.0).detach().requires_grad_();
  Tensor y = random_leaf({3}, 27);
  EXPECT_TRUE(gradgradcheck([](const std::vector<Tensor>& in) { return in[0].pow(3.0); }, {x}));
  EXPECT_TRUE(gradgradcheck([](const std::vector<Tensor>& in) { return in[0].pow(in[1]); }, {x, y}));
}

TEST(Gradgradcheck, PassesWithGivenGradOutputs) {
  Tensor x = random_leaf({3}, 28);
  Tensor v = tensor({1.0, -2.0, 0.5}, kFloat64).requires_grad_();
  EXPECT_TRUE(gradgradcheck([](const std::vector<Tensor>& in) { return in[0].sigmoid(); }, {x}, {v}));
}

TEST(Gradgradcheck, CatchesABackwardThatIsCutFromTheGraph) {
  // First derivatives are right, so gradcheck passes, but the second derivative comes out as 0.
  Tensor x = random_leaf({2}, 29);
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    return square_with_detached_backward(in[0]);
  };
  EXPECT_TRUE(gradcheck(fn, {x}));
  GradcheckOptions quiet;
  quiet.raise_exception = false;
  EXPECT_FALSE(gradgradcheck(fn, {x}, {}, quiet));
  EXPECT_ERROR_CONTAINS(gradgradcheck(fn, {x}), "Jacobian mismatch");
}

// --- gradcheck catches wrong gradients -------------------------------------------------------------

TEST(Gradcheck, WrongCustomGradientIsReportedWithInputOutputAndBothValues) {
  // The broken backward claims d/dx x^2 = x: at x = 3 that is 3 instead of 6.
  Tensor x = tensor({3.0, -1.5}, kFloat64).requires_grad_();
  try {
    gradcheck([](const std::vector<Tensor>& in) { return custom_square(in[0], /*correct=*/false); }, {x});
    ADD_FAILURE() << "gradcheck accepted a wrong gradient";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("output 0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("input 0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("d out[0] / d in[0]"), std::string::npos) << msg;
    EXPECT_NEAR(number_after(msg, "numerical "), 6.0, 1e-6) << msg;
    EXPECT_NEAR(number_after(msg, "analytical "), 3.0, 1e-12) << msg;
  }
}

TEST(Gradcheck, WrongGradientInTheSecondInputNamesThatInput) {
  // custom_square(b) is wrong, a is fine: the mismatch is reported for input 1 (index among all).
  Tensor a = random_leaf({2}, 30);
  Tensor b = tensor({0.5, 2.0}, kFloat64).requires_grad_();
  try {
    gradcheck([](const std::vector<Tensor>& in) { return in[0] + custom_square(in[1], false); }, {a, b});
    ADD_FAILURE() << "gradcheck accepted a wrong gradient";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("input 1"), std::string::npos) << msg;
    EXPECT_NEAR(number_after(msg, "numerical "), 1.0, 1e-6) << msg;    // 2 * 0.5
    EXPECT_NEAR(number_after(msg, "analytical "), 0.5, 1e-12) << msg;  // 0.5
  }
}

TEST(Gradcheck, RaiseExceptionFalseReturnsFalseInsteadOfThrowing) {
  Tensor x = tensor({3.0, -1.5}, kFloat64).requires_grad_();
  GradcheckOptions quiet;
  quiet.raise_exception = false;
  EXPECT_FALSE(gradcheck([](const std::vector<Tensor>& in) { return custom_square(in[0], false); }, {x}, quiet));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return custom_square(in[0], true); }, {x}, quiet));
}

TEST(Gradcheck, ToleranceDecidesBorderlineCases) {
  // 0.9 x^2 reported as x^2's derivative: off by 10%, accepted only with rtol above that.
  Tensor x = tensor({1.0}, kFloat64).requires_grad_();
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    Tensor out;
    {
      NoGradGuard guard;
      out = in[0] * in[0] * 0.9;
    }
    autograd::record("ScaledSquareBackward", in[0], out, {autograd::save_for_backward(in[0])},
                     [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad() * c.saved[0] * 2.0}; });
    return out;
  };
  GradcheckOptions loose;
  loose.rtol = 0.2;
  EXPECT_TRUE(gradcheck(fn, {x}, loose));
  GradcheckOptions strict;
  strict.raise_exception = false;
  EXPECT_FALSE(gradcheck(fn, {x}, strict));
}

// --- gradcheck refuses what it cannot judge --------------------------------------------------------

TEST(Gradcheck, RefusesFloat32Inputs) {
  Tensor x = tensor({1.0, 2.0}, kFloat32).requires_grad_();
  EXPECT_ERROR_CONTAINS(gradcheck([](const std::vector<Tensor>& in) { return in[0].exp(); }, {x}), "float64");
}

TEST(Gradcheck, RefusesWhenNoInputRequiresGrad) {
  Tensor x = tensor({1.0, 2.0}, kFloat64);
  EXPECT_ERROR_CONTAINS(gradcheck([](const std::vector<Tensor>& in) { return in[0].exp(); }, {x}),
                        "no input requires grad");
}

TEST(Gradcheck, RefusesAnExpandedInput) {
  Tensor x = tensor({1.0}, kFloat64).requires_grad_();
  Tensor expanded = x.expand({3});
  EXPECT_ERROR_CONTAINS(gradcheck([](const std::vector<Tensor>& in) { return in[0].exp(); }, {expanded}), "stride 0");
}

TEST(Gradcheck, RefusesFloat32Outputs) {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  EXPECT_ERROR_CONTAINS(gradcheck([](const std::vector<Tensor>& in) { return in[0].to(kFloat32); }, {x}),
                        "float64 outputs");
}

// --- custom ops with a correct backward -------------------------------------------------------------

TEST(CustomOp, CorrectBackwardPassesGradcheckAndGradgradcheck) {
  Tensor x = random_leaf({3}, 40);
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) { return custom_square(in[0], true); };
  EXPECT_TRUE(gradcheck(fn, {x}));
  EXPECT_TRUE(gradgradcheck(fn, {x}));
}

TEST(CustomOp, BehavesLikeABuiltInOpInTheGraph) {
  Tensor x = tensor({1.0, -2.0}, kFloat64).requires_grad_();
  Tensor y = custom_square(x, true);
  EXPECT_TRUE(y.requires_grad());
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_EQ(y.grad_fn()->name(), "CustomSquareBackward");
  testing::expect_values(y, {2}, {1.0, 4.0});
  (y * 3.0).sum().backward();
  testing::expect_values(x.grad(), {2}, {6.0, -12.0});  // 3 * 2x
}

TEST(CustomOp, IsNotRecordedWhenNoInputRequiresGrad) {
  Tensor x = tensor({1.0, 2.0}, kFloat64);
  Tensor y = custom_square(x, true);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  NoGradGuard guard;
  Tensor z = custom_square(tensor({1.0}, kFloat64).requires_grad_(), true);
  EXPECT_FALSE(z.requires_grad());
}

TEST(CustomOp, TwoInputOpPassesGradcheckAndSkipsUnneededGradients) {
  Tensor a = random_leaf({3}, 41);
  Tensor b = random_leaf({3}, 42);
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) { return custom_mul_exp(in[0], in[1]); };
  EXPECT_TRUE(gradcheck(fn, {a, b}));
  EXPECT_TRUE(gradgradcheck(fn, {a, b}));
  // Only b requires grad: d/db (a e^b) = a e^b at a = 2, b = 0 is 2.
  Tensor c = tensor({2.0}, kFloat64);
  Tensor d = tensor({0.0}, kFloat64).requires_grad_();
  custom_mul_exp(c, d).sum().backward();
  testing::expect_values(d.grad(), {1}, {2.0});
}

TEST(CustomOp, BackwardReturningTheWrongNumberOfGradientsIsAnError) {
  Tensor x = tensor({1.0}, kFloat64).requires_grad_();
  Tensor out;
  {
    NoGradGuard guard;
    out = x * 2.0;
  }
  autograd::record("BrokenBackward", x, out, {}, [](const BackwardCtx& c) {
    return std::vector<Tensor>{c.grad(), c.grad()};
  });
  EXPECT_ERROR_CONTAINS(out.sum().backward(), "BrokenBackward: backward returned 2 gradients for 1 inputs");
}

TEST(CustomOp, BackwardReturningAGradientOfTheWrongShapeIsAnError) {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor out;
  {
    NoGradGuard guard;
    out = x * 2.0;
  }
  autograd::record("BadShapeBackward", x, out, {},
                   [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad().sum()}; });
  EXPECT_ERROR_CONTAINS(out.sum().backward(), "BadShapeBackward: backward returned a gradient of shape []");
}

}  // namespace
}  // namespace voxgrad
