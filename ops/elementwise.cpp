#include "voxgrad/ops/elementwise.h"

#include <cmath>
#include <numbers>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/inplace.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/autograd/recompute.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/elementwise_kernels.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/relu_rule.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using autograd::save_output_for_backward;
using detail::binary_kernel;
using detail::unary_kernel;

using detail::promote;

namespace {

Tensor scalar_like(const Tensor& a, double value) { return full({}, value, a.dtype()); }

std::vector<Tensor> two(Tensor a, Tensor b) {
  std::vector<Tensor> g(2);
  g[0] = std::move(a);
  g[1] = std::move(b);
  return g;
}

template <typename Cmp>
Tensor compare(const Tensor& a, const Tensor& b, const char* name, Cmp cmp) {
  auto [x, y] = promote(a, b, name);
  return binary_kernel(x.detach(), y.detach(), name, [cmp](auto p, auto q) {
    using T = decltype(p);
    return cmp(p, q) ? T(1) : T(0);
  });
}

}  // namespace

DType result_type(const Tensor& a, const Tensor& b) {
  const bool fa = is_floating_point(a.dtype()), fb = is_floating_point(b.dtype());
  if (fa == fb && a.dim() == 0 && b.dim() > 0) return b.dtype();
  if (fa == fb && b.dim() == 0 && a.dim() > 0) return a.dtype();
  return promote_types(a.dtype(), b.dtype());
}

namespace detail {

std::pair<Tensor, Tensor> promote(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op, "self");
  check_defined(b, op, "other");
  const DType d = result_type(a, b);
  VOXGRAD_CHECK(is_floating_point(d), "{}: expected float32 or float64 operands, but got {} and {}", op, a.dtype(),
                b.dtype());
  // The conversion is differentiable, so each operand's gradient comes back in its own dtype.
  return {a.to(d), b.to(d)};
}

}  // namespace detail

// --- arithmetic ---------------------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  auto [x, y] = promote(a, b, "add");
  Tensor out =
      alpha == 1.0
          ? binary_kernel(x, y, "add", [](auto p, auto q) { return p + q; })
          : binary_kernel(x, y, "add", [alpha](auto p, auto q) { return p + static_cast<decltype(p)>(alpha) * q; });
  record("AddBackward", x, y, out, {}, [sa = x.sizes(), sb = y.sizes(), alpha](const BackwardCtx& c) {
    const Tensor& g = c.grad();
    return two(c.needs_input_grad(0) ? g.sum_to_size(sa) : Tensor(),
               c.needs_input_grad(1) ? (alpha == 1.0 ? g : g * alpha).sum_to_size(sb) : Tensor());
  });
  return out;
}

Tensor add(const Tensor& a, double value) { return add(a, scalar_like(a, value)); }

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  auto [x, y] = promote(a, b, "sub");
  Tensor out =
      alpha == 1.0
          ? binary_kernel(x, y, "sub", [](auto p, auto q) { return p - q; })
          : binary_kernel(x, y, "sub", [alpha](auto p, auto q) { return p - static_cast<decltype(p)>(alpha) * q; });
  record("SubBackward", x, y, out, {}, [sa = x.sizes(), sb = y.sizes(), alpha](const BackwardCtx& c) {
    const Tensor& g = c.grad();
    return two(c.needs_input_grad(0) ? g.sum_to_size(sa) : Tensor(),
               c.needs_input_grad(1) ? (alpha == 1.0 ? -g : g * -alpha).sum_to_size(sb) : Tensor());
  });
  return out;
}

Tensor sub(const Tensor& a, double value) { return sub(a, scalar_like(a, value)); }

Tensor rsub(const Tensor& a, double value) { return sub(scalar_like(a, value), a); }

Tensor mul(const Tensor& a, const Tensor& b) {
  auto [x, y] = promote(a, b, "mul");
  Tensor out = binary_kernel(x, y, "mul", [](auto p, auto q) { return p * q; });
  // d(xy)/dx needs y and d(xy)/dy needs x: save each only if the other side wants a gradient.
  const bool want_x = x.requires_grad(), want_y = y.requires_grad();
  record("MulBackward", x, y, out, {save_for_backward(want_x ? y : Tensor()), save_for_backward(want_y ? x : Tensor())},
         [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
           const Tensor& g = c.grad();
           return two(c.needs_input_grad(0) ? (g * c.saved[0]).sum_to_size(sa) : Tensor(),
                      c.needs_input_grad(1) ? (g * c.saved[1]).sum_to_size(sb) : Tensor());
         });
  return out;
}

Tensor mul(const Tensor& a, double value) { return mul(a, scalar_like(a, value)); }

Tensor div(const Tensor& a, const Tensor& b) {
  auto [x, y] = promote(a, b, "div");
  Tensor out = binary_kernel(x, y, "div", [](auto p, auto q) { return p / q; });
  const bool want_y = y.requires_grad();
  record("DivBackward", x, y, out, {save_for_backward(want_y ? x : Tensor()), save_for_backward(y)},
         [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
           const Tensor& g = c.grad();
           const Tensor& yv = c.saved[1];
           // d(x/y)/dy = -x / y^2, evaluated as -(x / y) / y like PyTorch.
           return two(c.needs_input_grad(0) ? (g / yv).sum_to_size(sa) : Tensor(),
                      c.needs_input_grad(1) ? (-g * ((c.saved[0] / yv) / yv)).sum_to_size(sb) : Tensor());
         });
  return out;
}

Tensor div(const Tensor& a, double value) { return div(a, scalar_like(a, value)); }

Tensor rdiv(const Tensor& a, double value) { return div(scalar_like(a, value), a); }

Tensor neg(const Tensor& a) {
  detail::check_defined(a, "neg");
  Tensor out = unary_kernel(a, "neg", [](auto p) { return -p; });
  record("NegBackward", a, out, {}, [](const BackwardCtx& c) { return std::vector<Tensor>{-c.grad()}; });
  return out;
}

// --- powers and transcendental functions --------------------------------------------------------

Tensor pow(const Tensor& a, double e) {
  detail::check_defined(a, "pow");
  Tensor out;
  // PyTorch evaluates these exponents exactly this way; matching it keeps results bit-identical.
  if (e == 2.0)
    out = unary_kernel(a, "pow", [](auto p) { return p * p; });
  else if (e == 3.0)
    out = unary_kernel(a, "pow", [](auto p) { return p * p * p; });
  else if (e == 0.5)
    out = unary_kernel(a, "pow", [](auto p) { return std::sqrt(p); });
  else if (e == -0.5)
    out = unary_kernel(a, "pow", [](auto p) { return decltype(p)(1) / std::sqrt(p); });
  else if (e == -1.0)
    out = unary_kernel(a, "pow", [](auto p) { return decltype(p)(1) / p; });
  else if (e == -2.0)
    out = unary_kernel(a, "pow", [](auto p) { return decltype(p)(1) / (p * p); });
  else
    out = unary_kernel(a, "pow", [e](auto p) { return std::pow(p, static_cast<decltype(p)>(e)); });
  record("PowBackward", a, out, {save_for_backward(a)}, [e](const BackwardCtx& c) {
    const Tensor& x = c.saved[0];
    if (e == 0.0) return std::vector<Tensor>{zeros_like(x)};
    return std::vector<Tensor>{c.grad() * (x.pow(e - 1.0) * e)};
  });
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  auto [x, y] = promote(a, b, "pow");
  Tensor out = binary_kernel(x, y, "pow", [](auto p, auto q) { return std::pow(p, q); });
  record("PowBackward", x, y, out, {save_for_backward(x), save_for_backward(y), save_output_for_backward(out)},
         [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
           const Tensor& g = c.grad();
           const Tensor &xv = c.saved[0], &yv = c.saved[1], &res = c.saved[2];
           Tensor gx, gy;
           if (c.needs_input_grad(0)) {
             // y * x^(y-1), defined as 0 where y == 0 (also at x == 0).
             const Tensor d = where(yv.eq(0.0), zeros_like(res), yv * xv.pow(yv - 1.0));
             gx = (g * d).sum_to_size(sa);
           }
           if (c.needs_input_grad(1)) {
             // x^y * log(x), defined as 0 where x == 0 and y >= 0 (the limit PyTorch uses).
             const Tensor mask = xv.eq(0.0) * yv.ge(0.0);
             const Tensor d = where(mask, zeros_like(res), res * xv.log());
             gy = (g * d).sum_to_size(sb);
           }
           return two(gx, gy);
         });
  return out;
}

Tensor pow(double base, const Tensor& e) { return pow(scalar_like(e, base), e); }

Tensor exp(const Tensor& a) {
  detail::check_defined(a, "exp");
  Tensor out = unary_kernel(a, "exp", [](auto p) { return std::exp(p); });
  record("ExpBackward", a, out, {save_output_for_backward(out)},
         [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad() * c.saved[0]}; });
  return out;
}

Tensor log(const Tensor& a) {
  detail::check_defined(a, "log");
  Tensor out = unary_kernel(a, "log", [](auto p) { return std::log(p); });
  record("LogBackward", a, out, {save_for_backward(a)},
         [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad() / c.saved[0]}; });
  return out;
}

Tensor sqrt(const Tensor& a) {
  detail::check_defined(a, "sqrt");
  Tensor out = unary_kernel(a, "sqrt", [](auto p) { return std::sqrt(p); });
  record("SqrtBackward", a, out, {save_output_for_backward(out)},
         [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad() / (c.saved[0] * 2.0)}; });
  return out;
}

Tensor abs(const Tensor& a) {
  detail::check_defined(a, "abs");
  Tensor out = unary_kernel(a, "abs", [](auto p) { return std::abs(p); });
  record("AbsBackward", a, out, {save_for_backward(a)},
         [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad() * c.saved[0].sign()}; });
  return out;
}

Tensor sign(const Tensor& a) {
  detail::check_defined(a, "sign");
  Tensor out = unary_kernel(a, "sign", [](auto p) {
    using T = decltype(p);
    return p > T(0) ? T(1) : (p < T(0) ? T(-1) : p * T(0));  // keeps NaN and signed zero
  });
  record("SignBackward", a, out, {}, [](const BackwardCtx& c) { return std::vector<Tensor>{zeros_like(c.grad())}; });
  return out;
}

Tensor clamp(const Tensor& a, std::optional<double> lo, std::optional<double> hi) {
  detail::check_defined(a, "clamp");
  VOXGRAD_CHECK(lo.has_value() || hi.has_value(), "clamp: at least one of 'min' or 'max' must not be None");
  const double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
  // PyTorch: min(max(x, lo), hi), NaN propagates.
  Tensor out = unary_kernel(a, "clamp", [l, h](auto p) {
    using T = decltype(p);
    return detail::clamp_value(p, static_cast<T>(l), static_cast<T>(h));
  });
  record("ClampBackward", a, out, {save_for_backward(a)}, [l, h](const BackwardCtx& c) {
    const Tensor& x = c.saved[0];
    // Selects like PyTorch's clamp_backward: an inf/NaN gradient outside the range becomes 0.
    return std::vector<Tensor>{where(x.ge(l) * x.le(h), c.grad(), zeros({}, c.grad().dtype()))};
  });
  return out;
}

namespace {

// PyTorch's threshold_backward for relu: the gradient is replaced by 0 where the output is <= 0
// (selected, not multiplied, so an inf/NaN gradient there becomes 0) and passes elsewhere, NaN
// included. One fused pass; differentiable in `grad` (the mask is constant), for double backward.
// When nothing else holds the incoming gradient and no graph is recorded, the mask is applied to it
// in place: one activation-sized buffer fewer at the peak of a backward pass.
Tensor relu_backward(const Tensor& grad, const Tensor& out) {
  if (grad.dtype() != out.dtype()) return where(out.le(0.0), zeros({}, grad.dtype()), grad);
  auto mask = [](auto y, auto g) { return detail::relu_grad(y, g); };
  if (!GradMode::is_enabled() && autograd::unique_memory(grad) && grad.is_contiguous() &&
      grad.sizes() == broadcast_shapes(out.sizes(), grad.sizes(), "relu_backward")) {
    Tensor r = grad;
    detail::binary_kernel_into(r, out, grad, "relu_backward", mask);
    return r;
  }
  Tensor r = binary_kernel(out, grad, "relu_backward", mask);
  record("ReluBackwardBackward", grad, r, {save_for_backward(out)},
         [](const BackwardCtx& c) { return std::vector<Tensor>{relu_backward(c.grad(), c.saved[0])}; });
  return r;
}

}  // namespace

namespace {

Tensor relu_values(const Tensor& a) {
  return unary_kernel(a, "relu", [](auto p) { return detail::relu_value(p); });
}

// relu of a recomputed input, in place when that input is only a temporary (the same formula).
Tensor relu_recompute(std::vector<Tensor>& s) {
  if (!autograd::unique_memory(s[0]) || !s[0].is_contiguous()) return relu_values(s[0]);
  detail::inplace_scalar(s[0], detail::InplaceOp::Relu, 0.0, "relu");
  return std::move(s[0]);
}

}  // namespace

Tensor relu(const Tensor& a) {
  detail::check_defined(a, "relu");
  Tensor out = relu_values(a);
  // relu_backward's mask reads the same from the input (a <= 0 exactly where relu(a) <= 0). Where
  // the input can be computed again (GroupNorm's output), save that recipe instead of the output, and
  // let the next op save this output as a recipe too: neither tensor is kept for backward.
  const std::uint32_t depth = autograd::recompute_depth(a);
  const bool recompute = depth > 0 && depth < autograd::kMaxRecomputeDepth;
  auto node = record("ReluBackward", a, out, {recompute ? save_for_backward(a) : save_output_for_backward(out)},
                     [](const BackwardCtx& c) { return std::vector<Tensor>{relu_backward(c.grad(), c.saved[0])}; });
  if (recompute) {
    autograd::set_recompute(node, out, std::span<const Tensor>(&a, 1), relu_recompute);
  }
  return out;
}

Tensor leaky_relu(const Tensor& a, double slope) {
  detail::check_defined(a, "leaky_relu");
  Tensor out = unary_kernel(a, "leaky_relu", [slope](auto p) {
    using T = decltype(p);
    return p > T(0) ? p : p * static_cast<T>(slope);
  });
  record("LeakyReluBackward", a, out, {save_for_backward(a)}, [slope](const BackwardCtx& c) {
    const Tensor pos = c.saved[0].gt(0.0);
    return std::vector<Tensor>{c.grad() * (pos + (1.0 - pos) * slope)};
  });
  return out;
}

Tensor& relu_(Tensor& a) {
  const bool rec = autograd::inplace_needs_record(a, {}, "relu_");
  // As relu(): where `a` is GroupNorm's output (a recipe), the node saves that recipe, taken before
  // the write, and the result is a recipe in turn; otherwise the backward reads the result.
  std::vector<autograd::SavedTensor> input;
  const std::uint32_t depth = rec ? autograd::recompute_depth(a) : 0;
  if (depth > 0 && depth < autograd::kMaxRecomputeDepth) input.emplace_back(a, false);
  detail::inplace_scalar(a, detail::InplaceOp::Relu, 0.0, "relu_");
  if (!rec) return a;
  if (input.empty()) {
    autograd::record_inplace("ReluBackward", a, {}, {}, true, [](const Tensor& g, const Tensor& result, auto, auto) {
      return std::vector<Tensor>{relu_backward(g, result)};
    });
    return a;
  }
  autograd::record_inplace("ReluBackward", a, {}, {}, false, [](const Tensor& g, const Tensor&, auto saved, auto) {
    return std::vector<Tensor>{relu_backward(g, saved[0])};
  });
  const std::shared_ptr<autograd::Node>& node = a.impl()->grad_fn;
  node->saved_.push_back(input[0]);  // the input as it was: read by the backward above as saved[0]
  autograd::set_recompute(node, a, std::move(input), relu_recompute);
  return a;
}

Tensor& leaky_relu_(Tensor& a, double slope) {
  const bool rec = autograd::inplace_needs_record(a, {}, "leaky_relu_");
  // The backward reads the result: its sign is the input's only for a non-negative slope.
  VOXGRAD_CHECK(!rec || slope >= 0.0,
                "leaky_relu_: in-place leaky_relu with autograd needs negative_slope >= 0 (the backward reads "
                "the result's sign), but got {}; use the out-of-place leaky_relu",
                slope);
  detail::inplace_scalar(a, detail::InplaceOp::LeakyRelu, slope, "leaky_relu_");
  if (rec) {
    autograd::record_inplace("LeakyReluBackward", a, {}, {}, true,
                             [slope](const Tensor& g, const Tensor& result, auto, auto) {
                               const Tensor pos = result.gt(0.0);
                               return std::vector<Tensor>{g * (pos + (1.0 - pos) * slope)};
                             });
  }
  return a;
}

Tensor sigmoid(const Tensor& a) {
  detail::check_defined(a, "sigmoid");
  Tensor out = unary_kernel(a, "sigmoid", [](auto p) {
    using T = decltype(p);
    return T(1) / (T(1) + std::exp(-p));
  });
  record("SigmoidBackward", a, out, {save_output_for_backward(out)}, [](const BackwardCtx& c) {
    const Tensor& y = c.saved[0];
    return std::vector<Tensor>{c.grad() * (1.0 - y) * y};
  });
  return out;
}

Tensor tanh(const Tensor& a) {
  detail::check_defined(a, "tanh");
  Tensor out = unary_kernel(a, "tanh", [](auto p) { return std::tanh(p); });
  record("TanhBackward", a, out, {save_output_for_backward(out)}, [](const BackwardCtx& c) {
    const Tensor& y = c.saved[0];
    return std::vector<Tensor>{c.grad() * (1.0 - y * y)};
  });
  return out;
}

Tensor erf(const Tensor& a) {
  detail::check_defined(a, "erf");
  Tensor out = unary_kernel(a, "erf", [](auto p) { return std::erf(p); });
  record("ErfBackward", a, out, {save_for_backward(a)}, [](const BackwardCtx& c) {
    const Tensor& x = c.saved[0];
    return std::vector<Tensor>{c.grad() * ((-(x * x)).exp() * (2.0 / std::sqrt(std::numbers::pi)))};
  });
  return out;
}

void detail::check_gelu_approximate(std::string_view approximate, const char* op) {
  VOXGRAD_CHECK(approximate == "none" || approximate == "tanh",
                "{}: approximate must be 'none' or 'tanh', but got '{}'", op, approximate);
}

Tensor gelu(const Tensor& a, std::string_view approximate) {
  detail::check_defined(a, "gelu");
  const bool tanh_form = approximate == "tanh";
  detail::check_gelu_approximate(approximate, "gelu");
  constexpr double kInvSqrt2 = 0.70710678118654752440;     // 1/√2
  constexpr double kSqrt2OverPi = 0.79788456080286535588;  // √(2/π)
  constexpr double kCubic = 0.044715;
  Tensor out = tanh_form ? unary_kernel(a, "gelu",
                                        [](auto p) {
                                          using T = decltype(p);
                                          const T u = T(kSqrt2OverPi) * (p + T(kCubic) * p * p * p);
                                          return T(0.5) * p * (T(1) + std::tanh(u));
                                        })
                         : unary_kernel(a, "gelu", [](auto p) {
                             using T = decltype(p);
                             return p * T(0.5) * (T(1) + std::erf(p * T(kInvSqrt2)));
                           });
  // The derivative is written with differentiable ops on the saved input, so double backward works.
  record("GeluBackward", a, out, {save_for_backward(a)}, [tanh_form](const BackwardCtx& c) {
    const Tensor& x = c.saved[0];
    Tensor d;
    if (tanh_form) {
      // y = x/2·(1 + tanh u), u = √(2/π)(x + 0.044715x³):
      // dy/dx = (1 + tanh u)/2 + x/2·(1 − tanh² u)·√(2/π)(1 + 3·0.044715x²).
      const Tensor x2 = x * x;
      const Tensor t = ((x + x2 * x * kCubic) * kSqrt2OverPi).tanh();
      d = (t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * ((x2 * (3.0 * kCubic) + 1.0) * kSqrt2OverPi);
    } else {
      // dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
      const Tensor cdf = (erf(x * kInvSqrt2) + 1.0) * 0.5;
      const Tensor pdf = (x * x * -0.5).exp() * (kInvSqrt2 / std::sqrt(std::numbers::pi));
      d = cdf + x * pdf;
    }
    return std::vector<Tensor>{c.grad() * d};
  });
  return out;
}

Tensor silu(const Tensor& a) {
  detail::check_defined(a, "silu");
  Tensor out = unary_kernel(a, "silu", [](auto p) {
    using T = decltype(p);
    return p / (T(1) + std::exp(-p));
  });
  record("SiluBackward", a, out, {save_for_backward(a)}, [](const BackwardCtx& c) {
    // d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x))).
    const Tensor& x = c.saved[0];
    const Tensor s = x.sigmoid();
    return std::vector<Tensor>{c.grad() * (s * (x * (1.0 - s) + 1.0))};
  });
  return out;
}

Tensor elu(const Tensor& a, double alpha) {
  detail::check_defined(a, "elu");
  Tensor out = unary_kernel(a, "elu", [alpha](auto p) {
    using T = decltype(p);
    return p > T(0) ? p : static_cast<T>(alpha) * (std::exp(p) - T(1));
  });
  record("EluBackward", a, out, {save_for_backward(a)}, [alpha](const BackwardCtx& c) {
    // 1 where x > 0, else alpha·e^x; e^min(x, 0) keeps the unused branch finite for large x.
    const Tensor& x = c.saved[0];
    const Tensor pos = x.gt(0.0);
    return std::vector<Tensor>{c.grad() * (pos + (1.0 - pos) * (clamp(x, std::nullopt, 0.0).exp() * alpha))};
  });
  return out;
}

Tensor& elu_(Tensor& a, double alpha) {
  detail::check_defined(a, "elu_");
  const bool rec = autograd::inplace_needs_record(a, {}, "elu_");
  VOXGRAD_CHECK(!rec || alpha >= 0.0,
                "elu_: in-place elu with autograd needs alpha >= 0 (the backward reads the result's sign), but got "
                "{}; use the out-of-place elu",
                alpha);
  detail::inplace_scalar(a, detail::InplaceOp::Elu, alpha, "elu_");
  if (rec) {
    autograd::record_inplace("EluBackward", a, {}, {}, true,
                             [alpha](const Tensor& g, const Tensor& result, auto, auto) {
                               const Tensor pos = result.gt(0.0);
                               return std::vector<Tensor>{g * (pos + (1.0 - pos) * (result + alpha))};
                             });
  }
  return a;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  detail::check_defined(condition, "where", "condition");
  // Named copies, not structured bindings: clang before 16 cannot capture those in the lambdas below.
  auto promoted = promote(a, b, "where");
  const Tensor x = std::move(std::get<0>(promoted)), y = std::move(std::get<1>(promoted));
  const Shape shape = broadcast_shapes(broadcast_shapes(condition.sizes(), x.sizes(), "where"), y.sizes(), "where");
  Tensor out = empty(shape, x.dtype());
  detail::dispatch_floating(x.dtype(), "where", [&]<typename T>() {
    detail::dispatch_all(condition.dtype(), [&]<typename C>() {
      const detail::StridedShape<4> it(
          shape, {out.strides(), detail::broadcast_strides(condition.sizes(), condition.strides(), shape),
                  detail::broadcast_strides(x.sizes(), x.strides(), shape),
                  detail::broadcast_strides(y.sizes(), y.strides(), shape)});
      T* po = out.data_ptr<T>();
      const C* pc = condition.data_ptr<C>();
      const T* px = x.data_ptr<T>();
      const T* py = y.data_ptr<T>();
      it.parallel([&](const auto& off, std::int64_t n, const auto& st) {
        for (std::int64_t i = 0; i < n; ++i) {
          po[off[0] + i * st[0]] = pc[off[1] + i * st[1]] != C(0) ? px[off[2] + i * st[2]] : py[off[3] + i * st[3]];
        }
      });
    });
  });
  const Tensor mask = condition.detach();
  record("WhereBackward", x, y, out, {save_for_backward(mask)}, [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
    const Tensor& g = c.grad();
    const Tensor& m = c.saved[0];
    const Tensor zero = zeros({}, g.dtype());
    return two(c.needs_input_grad(0) ? where(m, g, zero).sum_to_size(sa) : Tensor(),
               c.needs_input_grad(1) ? where(m, zero, g).sum_to_size(sb) : Tensor());
  });
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, double b) {
  detail::check_defined(a, "where", "self");
  return where(condition, a, scalar_like(a, b));
}

Tensor where(const Tensor& condition, double a, const Tensor& b) {
  detail::check_defined(b, "where", "other");
  return where(condition, scalar_like(b, a), b);
}

Tensor where(const Tensor& condition, double a, double b) {
  return where(condition, full({}, a, kFloat32), full({}, b, kFloat32));
}

// --- comparisons --------------------------------------------------------------------------------

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare(a, b, "eq", [](auto p, auto q) { return p == q; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare(a, b, "ne", [](auto p, auto q) { return p != q; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare(a, b, "lt", [](auto p, auto q) { return p < q; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare(a, b, "le", [](auto p, auto q) { return p <= q; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare(a, b, "gt", [](auto p, auto q) { return p > q; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare(a, b, "ge", [](auto p, auto q) { return p >= q; });
}
Tensor eq(const Tensor& a, double v) { return eq(a, scalar_like(a, v)); }
Tensor ne(const Tensor& a, double v) { return ne(a, scalar_like(a, v)); }
Tensor lt(const Tensor& a, double v) { return lt(a, scalar_like(a, v)); }
Tensor le(const Tensor& a, double v) { return le(a, scalar_like(a, v)); }
Tensor gt(const Tensor& a, double v) { return gt(a, scalar_like(a, v)); }
Tensor ge(const Tensor& a, double v) { return ge(a, scalar_like(a, v)); }

}  // namespace voxgrad
