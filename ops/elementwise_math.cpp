#include "voxgrad/ops/elementwise_math.h"

#include <cmath>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/elementwise_kernels.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using autograd::save_output_for_backward;
using detail::binary_kernel;
using detail::unary_kernel;

namespace {

// A unary op whose gradient is grad · d(x or out), d built from the saved input (or output) by
// differentiable ops, so that it differentiates again. The backward formulas are PyTorch's
// (derivatives.yaml), evaluated in the same order.
template <typename Op, typename Deriv>
Tensor unary(const Tensor& a, const char* name, const char* node, bool from_output, Op op, Deriv deriv) {
  detail::check_defined(a, name);
  Tensor out = unary_kernel(a, name, op);
  record(node, a, out, {from_output ? save_output_for_backward(out) : save_for_backward(a)},
         [deriv](const BackwardCtx& c) { return std::vector<Tensor>{deriv(c.grad(), c.saved[0])}; });
  return out;
}

// A rounding: piecewise constant, so a zero gradient.
template <typename Op>
Tensor rounding(const Tensor& a, const char* name, const char* node, Op op) {
  detail::check_defined(a, name);
  Tensor out = unary_kernel(a, name, op);
  record(node, a, out, {}, [](const BackwardCtx& c) { return std::vector<Tensor>{zeros_like(c.grad())}; });
  return out;
}

// A mask of a's elements (1 or 0 in a's dtype), outside autograd.
template <typename Pred>
Tensor mask(const Tensor& a, const char* name, Pred pred) {
  detail::check_defined(a, name);
  return unary_kernel(a.detach(), name, [pred](auto p) {
    using T = decltype(p);
    return pred(p) ? T(1) : T(0);
  });
}

// maximum (Max = true) or minimum. The selection is IEEE 754-2019's: a NaN operand wins (as is), and
// +0 is above −0. The gradient, as PyTorch's: grad to the selected side, grad / 2 to each where
// a == b, and grad to both where neither comparison holds (a NaN).
template <bool Max>
Tensor extremum(const Tensor& a, const Tensor& b, const char* name, const char* node) {
  auto [x, y] = detail::promote(a, b, name);
  Tensor out = binary_kernel(x, y, name, [](auto p, auto q) {
    if (p != p) return p;
    if (q != q) return q;
    if (p == q) return std::signbit(p) == Max ? q : p;  // ±0: +0 for maximum, −0 for minimum
    return (Max ? p > q : p < q) ? p : q;
  });
  record(node, x, y, out, {save_for_backward(x), save_for_backward(y)},
         [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
           const Tensor &xv = c.saved[0], &yv = c.saved[1];
           const Tensor shared = where(xv.eq(yv), c.grad() * 0.5, c.grad());  // grad / 2, the same bits
           // x loses where it is the smaller (maximum) or the larger (minimum); y likewise.
           const Tensor x_loses = Max ? xv.lt(yv) : xv.gt(yv), y_loses = Max ? xv.gt(yv) : xv.lt(yv);
           std::vector<Tensor> g(2);
           if (c.needs_input_grad(0)) g[0] = where(x_loses, 0.0, shared).sum_to_size(sa);
           if (c.needs_input_grad(1)) g[1] = where(y_loses, 0.0, shared).sum_to_size(sb);
           return g;
         });
  return out;
}

}  // namespace

Tensor log1p(const Tensor& a) {
  return unary(
      a, "log1p", "Log1PBackward", false, [](auto p) { return std::log1p(p); },
      [](const Tensor& g, const Tensor& x) { return g / (x + 1.0); });
}

Tensor expm1(const Tensor& a) {
  return unary(
      a, "expm1", "Expm1Backward", true, [](auto p) { return std::expm1(p); },
      [](const Tensor& g, const Tensor& y) { return g * (y + 1.0); });
}

Tensor sin(const Tensor& a) {
  return unary(
      a, "sin", "SinBackward", false, [](auto p) { return std::sin(p); },
      [](const Tensor& g, const Tensor& x) { return g * cos(x); });
}

Tensor cos(const Tensor& a) {
  return unary(
      a, "cos", "CosBackward", false, [](auto p) { return std::cos(p); },
      [](const Tensor& g, const Tensor& x) { return g * -sin(x); });
}

Tensor reciprocal(const Tensor& a) {
  return unary(
      a, "reciprocal", "ReciprocalBackward", true, [](auto p) { return decltype(p)(1) / p; },
      [](const Tensor& g, const Tensor& y) { return -g * (y * y); });
}

Tensor rsqrt(const Tensor& a) {
  return unary(
      a, "rsqrt", "RsqrtBackward", true, [](auto p) { return decltype(p)(1) / std::sqrt(p); },
      [](const Tensor& g, const Tensor& y) { return g * -0.5 * y.pow(3.0); });
}

Tensor floor(const Tensor& a) {
  return rounding(a, "floor", "FloorBackward", [](auto p) { return std::floor(p); });
}
Tensor ceil(const Tensor& a) {
  return rounding(a, "ceil", "CeilBackward", [](auto p) { return std::ceil(p); });
}
Tensor round(const Tensor& a) {
  return rounding(a, "round", "RoundBackward", [](auto p) { return std::nearbyint(p); });
}
Tensor trunc(const Tensor& a) {
  return rounding(a, "trunc", "TruncBackward", [](auto p) { return std::trunc(p); });
}

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum<true>(a, b, "maximum", "MaximumBackward"); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum<false>(a, b, "minimum", "MinimumBackward"); }

Tensor isnan(const Tensor& a) {
  return mask(a, "isnan", [](auto p) { return std::isnan(p); });
}
Tensor isinf(const Tensor& a) {
  return mask(a, "isinf", [](auto p) { return std::isinf(p); });
}
Tensor isfinite(const Tensor& a) {
  return mask(a, "isfinite", [](auto p) { return std::isfinite(p); });
}

}  // namespace voxgrad
