#include "voxgrad/ops/trigonometric.h"

#include <cmath>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/unary_op.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"

namespace voxgrad {

using detail::differentiable_unary;

// The derivatives below are PyTorch 1.13's (derivatives.yaml), op for op: pow(x, 2) is square(x), whose
// gradient is pow's (2x); 1 + y and y + 1 round alike, as do −x·x + 1 and 1 − x·x.

Tensor sin(const Tensor& a) {
  return differentiable_unary(
      a, "sin", "SinBackward", false, [](auto p) { return std::sin(p); },
      [](const Tensor& g, const Tensor& x) { return g * cos(x); });
}

Tensor cos(const Tensor& a) {
  return differentiable_unary(
      a, "cos", "CosBackward", false, [](auto p) { return std::cos(p); },
      [](const Tensor& g, const Tensor& x) { return g * -sin(x); });
}

Tensor tan(const Tensor& a) {
  return differentiable_unary(
      a, "tan", "TanBackward", true, [](auto p) { return std::tan(p); },
      [](const Tensor& g, const Tensor& y) { return g * (square(y) + 1.0); });
}

Tensor asin(const Tensor& a) {
  return differentiable_unary(
      a, "asin", "AsinBackward", false, [](auto p) { return std::asin(p); },
      [](const Tensor& g, const Tensor& x) { return g * rsqrt(-x * x + 1.0); });
}

Tensor acos(const Tensor& a) {
  return differentiable_unary(
      a, "acos", "AcosBackward", false, [](auto p) { return std::acos(p); },
      [](const Tensor& g, const Tensor& x) { return g * -rsqrt(-x * x + 1.0); });
}

Tensor atan(const Tensor& a) {
  return differentiable_unary(
      a, "atan", "AtanBackward", false, [](auto p) { return std::atan(p); },
      [](const Tensor& g, const Tensor& x) { return g / (x * x + 1.0); });
}

Tensor atan2(const Tensor& a, const Tensor& b) {
  auto [y, x] = detail::promote(a, b, "atan2");
  Tensor out = detail::binary_kernel(y, x, "atan2", [](auto p, auto q) { return std::atan2(p, q); });
  autograd::record("Atan2Backward", y, x, out, {autograd::save_for_backward(y), autograd::save_for_backward(x)},
                   [sa = y.sizes(), sb = x.sizes()](const autograd::BackwardCtx& c) {
                     // PyTorch's atan2_backward: recip = 1 / (a·a + b·b), then grad·b·recip and grad·(−a)·recip.
                     const Tensor &av = c.saved[0], &bv = c.saved[1];
                     const Tensor recip = reciprocal(av * av + bv * bv);
                     std::vector<Tensor> g(2);
                     if (c.needs_input_grad(0)) g[0] = (c.grad() * bv * recip).sum_to_size(sa);
                     if (c.needs_input_grad(1)) g[1] = (c.grad() * -av * recip).sum_to_size(sb);
                     return g;
                   });
  return out;
}

Tensor sinh(const Tensor& a) {
  return differentiable_unary(
      a, "sinh", "SinhBackward", false, [](auto p) { return std::sinh(p); },
      [](const Tensor& g, const Tensor& x) { return g * cosh(x); });
}

Tensor cosh(const Tensor& a) {
  return differentiable_unary(
      a, "cosh", "CoshBackward", false, [](auto p) { return std::cosh(p); },
      [](const Tensor& g, const Tensor& x) { return g * sinh(x); });
}

Tensor asinh(const Tensor& a) {
  return differentiable_unary(
      a, "asinh", "AsinhBackward", false, [](auto p) { return std::asinh(p); },
      [](const Tensor& g, const Tensor& x) { return g * rsqrt(square(x) + 1.0); });
}

Tensor acosh(const Tensor& a) {
  return differentiable_unary(
      a, "acosh", "AcoshBackward", false, [](auto p) { return std::acosh(p); },
      [](const Tensor& g, const Tensor& x) { return g * rsqrt(square(x) - 1.0); });
}

Tensor atanh(const Tensor& a) {
  return differentiable_unary(
      a, "atanh", "AtanhBackward", false, [](auto p) { return std::atanh(p); },
      [](const Tensor& g, const Tensor& x) { return g / (1.0 - square(x)); });
}

}  // namespace voxgrad
