// How to write your own differentiable op (autograd::Function, libtorch's shape) and check it.
#include <gtest/gtest.h>

#include <voxgrad/voxgrad.h>

using namespace voxgrad;
using autograd::AutogradContext;
using autograd::tensor_list;

// Scaled soft thresholding, the proximal step of an L1 penalty (used in sparse denoisers):
// y = s * sign(x) * max(|x| - t, 0), and the mask |x| > t as a second, non-differentiable output.
// Where |x| > t: dy/dx = s, dy/dt = -s * sign(x); elsewhere both are 0.
struct SoftThreshold : autograd::Function<SoftThreshold> {
  static tensor_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& t, double s) {
    Tensor mask = x.abs().gt(t);
    ctx->mark_non_differentiable({mask});
    ctx->save_for_backward({x, mask});
    ctx->saved_data["s"] = s;  // non-tensor values go in saved_data
    return {x.sign() * (x.abs() - t).relu() * s, mask};
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const tensor_list saved = ctx->get_saved_variables();
    const Tensor& x = saved[0];
    const Tensor& mask = saved[1];
    const double s = ctx->saved_data["s"].toDouble();
    Tensor gx, gt;  // left undefined when not needed
    if (ctx->needs_input_grad(0)) gx = grads[0] * mask * s;
    if (ctx->needs_input_grad(1)) gt = (grads[0] * mask * x.sign() * -s).sum_to_size({1});
    return {gx, gt};  // one per tensor input, none for the double
  }
};

TEST(SoftThreshold, ValuesAndGradientsMatchFiniteDifferences) {
  manual_seed(0);
  const Tensor x = randn({2, 3, 4}, kFloat64).requires_grad_();
  const Tensor t = full({1}, 0.3, kFloat64).requires_grad_();
  const tensor_list out = SoftThreshold::apply(x, t, 2.0);
  EXPECT_EQ(out[0].grad_fn()->name(), "SoftThresholdBackward");
  EXPECT_FALSE(out[1].requires_grad());
  const double x0 = x.detach().view({-1}).select(0, 0).item<double>();
  const double y0 = out[0].detach().view({-1}).select(0, 0).item<double>();
  EXPECT_DOUBLE_EQ(y0, std::abs(x0) > 0.3 ? 2.0 * (x0 - (x0 > 0 ? 0.3 : -0.3)) : 0.0);
  // gradcheck perturbs every input it is given. The backward is made of differentiable ops, so the
  // second derivative (zero almost everywhere) checks too.
  auto fn = [](const std::vector<Tensor>& in) { return SoftThreshold::apply(in[0], in[1], 2.0)[0]; };
  EXPECT_TRUE(autograd::gradcheck(fn, {x, t}));
  EXPECT_TRUE(autograd::gradgradcheck(fn, {x, t}));
}
