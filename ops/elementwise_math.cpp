#include "voxgrad/ops/elementwise_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/elementwise_kernels.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/unary_op.h"
#include "voxgrad/ops/elementwise.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using detail::binary_kernel;
using detail::differentiable_unary;
using detail::unary_kernel;

namespace {

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
  return differentiable_unary(
      a, "log1p", "Log1PBackward", false, [](auto p) { return std::log1p(p); },
      [](const Tensor& g, const Tensor& x) { return g / (x + 1.0); });
}

Tensor expm1(const Tensor& a) {
  return differentiable_unary(
      a, "expm1", "Expm1Backward", true, [](auto p) { return std::expm1(p); },
      [](const Tensor& g, const Tensor& y) { return g * (y + 1.0); });
}

Tensor log2(const Tensor& a) {
  return differentiable_unary(
      a, "log2", "Log2Backward", false, [](auto p) { return std::log2(p); },
      [](const Tensor& g, const Tensor& x) { return g / (x * 0.6931471805599453); });
}

Tensor log10(const Tensor& a) {
  return differentiable_unary(
      a, "log10", "Log10Backward", false, [](auto p) { return std::log10(p); },
      [](const Tensor& g, const Tensor& x) { return g / (x * 2.3025850929940456); });
}

Tensor exp2(const Tensor& a) {
  return differentiable_unary(
      a, "exp2", "Exp2Backward", true, [](auto p) { return std::exp2(p); },
      [](const Tensor& g, const Tensor& y) { return g * y * 0.6931471805599453; });
}

Tensor square(const Tensor& a) {
  // torch.square is pow(a, 2): a · a, and pow's gradient grad · (2 · a).
  return differentiable_unary(
      a, "square", "PowBackward", false, [](auto p) { return p * p; },
      [](const Tensor& g, const Tensor& x) { return g * (x * 2.0); });
}

Tensor reciprocal(const Tensor& a) {
  return differentiable_unary(
      a, "reciprocal", "ReciprocalBackward", true, [](auto p) { return decltype(p)(1) / p; },
      [](const Tensor& g, const Tensor& y) { return -g * (y * y); });
}

Tensor rsqrt(const Tensor& a) {
  return differentiable_unary(
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
Tensor round(const Tensor& a, std::int64_t decimals) {
  detail::check_defined(a, "round");
  // |decimals| beyond what a double's exponent holds gives 10^|d| = inf, as std::pow does in torch.
  const bool negative = decimals < 0;
  const double scale = std::pow(10.0, static_cast<double>(negative ? -static_cast<double>(decimals) : decimals));
  return rounding(a, "round", "RoundBackward", [scale, negative](auto p) {
    using T = decltype(p);
    const T s = static_cast<T>(scale);
    return negative ? std::nearbyint(p / s) * s : std::nearbyint(p * s) / s;
  });
}

Tensor trunc(const Tensor& a) {
  return rounding(a, "trunc", "TruncBackward", [](auto p) { return std::trunc(p); });
}

Tensor frac(const Tensor& a) {
  return differentiable_unary(
      a, "frac", "FracBackward", false, [](auto p) { return p - std::trunc(p); },
      [](const Tensor& g, const Tensor&) { return g; });
}

Tensor deg2rad(const Tensor& a) {
  detail::check_defined(a, "deg2rad");
  detail::check_floating(a, "deg2rad");
  return a * (std::numbers::pi / 180.0);
}

Tensor rad2deg(const Tensor& a) {
  detail::check_defined(a, "rad2deg");
  detail::check_floating(a, "rad2deg");
  return a * (180.0 / std::numbers::pi);
}

Tensor hypot(const Tensor& a, const Tensor& b) {
  auto [x, y] = detail::promote(a, b, "hypot");
  Tensor out = binary_kernel(x, y, "hypot", [](auto p, auto q) { return std::hypot(p, q); });
  record("HypotBackward", x, y, out,
         {save_for_backward(x), save_for_backward(y), autograd::save_output_for_backward(out)},
         [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
           std::vector<Tensor> g(2);
           if (c.needs_input_grad(0)) g[0] = (c.grad() * c.saved[0] / c.saved[2]).sum_to_size(sa);
           if (c.needs_input_grad(1)) g[1] = (c.grad() * c.saved[1] / c.saved[2]).sum_to_size(sb);
           return g;
         });
  return out;
}

Tensor copysign(const Tensor& a, const Tensor& b) {
  auto [x, y] = detail::promote(a, b, "copysign");
  Tensor out = binary_kernel(x, y, "copysign", [](auto p, auto q) { return std::copysign(p, q); });
  record("CopysignBackward", x, y, out, {save_for_backward(x), autograd::save_output_for_backward(out)},
         [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
           std::vector<Tensor> g(2);
           // PyTorch's copysign_tensor_self_backward: g · out / a, 0 where a = 0; b gets zeros.
           if (c.needs_input_grad(0)) {
             const Tensor& xv = c.saved[0];
             g[0] = (c.grad() * where(xv.eq(0.0), 0.0, c.saved[1] / xv)).sum_to_size(sa);
           }
           if (c.needs_input_grad(1)) g[1] = zeros(sb, c.grad().dtype());
           return g;
         });
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum<true>(a, b, "maximum", "MaximumBackward"); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum<false>(a, b, "minimum", "MinimumBackward"); }

namespace {

// a · log(b) (Log1p false) or a · log1p(b): 0 where a = 0 unless b is NaN. Gradients as PyTorch's: the op itself
// of (grad, b), zeroed where a = 0 and b is at or below the log's pole (0, or −1 for log1p), for a; grad · a / b
// (or / (1 + b)) for b.
template <bool Log1p>
Tensor x_log(const Tensor& a, const Tensor& b, const char* name, const char* node) {
  auto [x, y] = detail::promote(a, b, name);
  Tensor out = binary_kernel(x, y, name, [](auto p, auto q) {
    using T = decltype(p);
    if (q != q) return q;
    return p == T(0) ? T(0) : p * (Log1p ? std::log1p(q) : std::log(q));
  });
  record(node, x, y, out, {save_for_backward(x), save_for_backward(y)},
         [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
           const Tensor &xv = c.saved[0], &yv = c.saved[1];
           const double pole = Log1p ? -1.0 : 0.0;
           std::vector<Tensor> g(2);
           if (c.needs_input_grad(0)) {
             const Tensor slope = Log1p ? xlog1py(c.grad(), yv) : xlogy(c.grad(), yv);
             g[0] = where(xv.eq(0.0) * yv.le(pole), 0.0, slope).sum_to_size(sa);
           }
           if (c.needs_input_grad(1)) g[1] = (c.grad() * xv / (Log1p ? yv + 1.0 : yv)).sum_to_size(sb);
           return g;
         });
  return out;
}

}  // namespace

Tensor xlogy(const Tensor& a, const Tensor& b) { return x_log<false>(a, b, "xlogy", "XlogyBackward"); }

Tensor xlog1py(const Tensor& a, const Tensor& b) { return x_log<true>(a, b, "xlog1py", "Xlog1pyBackward"); }

namespace {

// log(b^a + b^c) for base e (Base2 = false) or 2: equal infinities as they are (as ATen's loops), else the
// larger plus log1p(b^−|a − c|), scaled by 1 / ln 2 for base 2. ATen rounds 1 + b^−|a − c| first and takes
// its log, which loses the small term where the larger is near 0 (logaddexp(0, −40) is 4.2e-18, ATen's 0).
// The gradient is PyTorch's: g / (1 + b^(c − a)) for a, and its mirror for c.
template <bool Base2>
Tensor log_add_exp(const Tensor& a, const Tensor& b, const char* name, const char* node) {
  auto [x, y] = detail::promote(a, b, name);
  Tensor out = binary_kernel(x, y, name, [](auto p, auto q) {
    using T = decltype(p);
    if (std::isinf(p) && p == q) return p;
    const T m = std::max(p, q), d = -std::abs(p - q);
    if constexpr (Base2) {
      return m + std::log1p(std::exp2(d)) * static_cast<T>(1.0 / 0.693147180559945309417232121458176568);
    } else {
      return m + std::log1p(std::exp(d));
    }
  });
  record(node, x, y, out, {save_for_backward(x), save_for_backward(y)},
         [sa = x.sizes(), sb = y.sizes()](const BackwardCtx& c) {
           const Tensor &xv = c.saved[0], &yv = c.saved[1];
           const auto power = [](const Tensor& t) { return Base2 ? pow(2.0, t) : t.exp(); };
           std::vector<Tensor> g(2);
           if (c.needs_input_grad(0)) g[0] = (c.grad() / (power(yv - xv) + 1.0)).sum_to_size(sa);
           if (c.needs_input_grad(1)) g[1] = (c.grad() / (power(xv - yv) + 1.0)).sum_to_size(sb);
           return g;
         });
  return out;
}

}  // namespace

Tensor logaddexp(const Tensor& a, const Tensor& b) {
  return log_add_exp<false>(a, b, "logaddexp", "LogaddexpBackward0");
}

Tensor logaddexp2(const Tensor& a, const Tensor& b) {
  return log_add_exp<true>(a, b, "logaddexp2", "Logaddexp2Backward0");
}

Tensor nan_to_num(const Tensor& a, std::optional<double> nan, std::optional<double> posinf,
                  std::optional<double> neginf) {
  detail::check_defined(a, "nan_to_num");
  if (!is_floating_point(a.dtype())) return a.clone();  // nothing to replace, as PyTorch's
  static_assert(std::numeric_limits<float>::is_iec559, "a replacement past float's range rounds to ±inf");
  Tensor out = unary_kernel(a, "nan_to_num", [=](auto p) {
    using T = decltype(p);
    using L = std::numeric_limits<T>;
    if (std::isnan(p)) return static_cast<T>(nan.value_or(0.0));
    if (p == L::infinity()) return posinf ? static_cast<T>(*posinf) : L::max();
    if (p == -L::infinity()) return neginf ? static_cast<T>(*neginf) : L::lowest();
    return p;
  });
  // PyTorch's: grad · isfinite(a).
  record("NanToNumBackward0", a, out, {save_for_backward(a)},
         [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad() * isfinite(c.saved[0])}; });
  return out;
}

namespace {

// The dtype clamp computes in, taken over a and its bounds at once (as torch's TensorIterator): the tensors with
// dims decide when there are any (so a 0-d float64 bound does not promote a float32 tensor), else the 0-d ones.
DType clamp_dtype(const Tensor& a, const std::optional<Tensor>& min, const std::optional<Tensor>& max) {
  std::optional<DType> with_dims, zero_dim;
  const auto take = [&](const Tensor& t, const char* arg, const char* what) {
    detail::check_defined(t, "clamp", arg);
    if (!is_floating_point(t.dtype())) detail::throw_not_floating(t.dtype(), "clamp", what);
    std::optional<DType>& d = t.dim() > 0 ? with_dims : zero_dim;
    d = d ? promote_types(*d, t.dtype()) : t.dtype();
  };
  take(a, "self", "tensor");
  if (min) take(*min, "min", "min");
  if (max) take(*max, "max", "max");
  return with_dims ? *with_dims : *zero_dim;
}

}  // namespace

Tensor clamp(const Tensor& a, const std::optional<Tensor>& min, const std::optional<Tensor>& max) {
  detail::check_defined(a, "clamp");
  VOXGRAD_CHECK(min.has_value() || max.has_value(), "clamp: at least one of 'min' or 'max' must not be None");
  // The three in one dtype (differentiable conversions, so each gradient comes back in its own).
  const DType dtype = clamp_dtype(a, min, max);
  const Tensor x = a.to(dtype), lo = min ? min->to(dtype) : Tensor(), hi = max ? max->to(dtype) : Tensor();
  // torch's loop: NaN where a bound is NaN, else std::min(std::max(a, min), max), which keeps a NaN a. One
  // bound at a time gives the same: max(a, NaN) is NaN, and min(NaN, max) stays NaN.
  Tensor out = x.detach();
  if (lo.defined()) {
    out = binary_kernel(out, lo.detach(), "clamp", [](auto p, auto l) { return l != l ? l : (p < l ? l : p); });
  }
  if (hi.defined()) {
    out = binary_kernel(out, hi.detach(), "clamp", [](auto p, auto h) { return h != h ? h : (h < p ? h : p); });
  }
  std::vector<Tensor> inputs{x};
  std::vector<autograd::ToSave> saved{save_for_backward(x)};
  for (const Tensor* t : {&lo, &hi}) {
    if (!t->defined()) continue;
    inputs.push_back(*t);
    saved.push_back(save_for_backward(*t));
  }
  const bool has_lo = lo.defined(), has_hi = hi.defined();
  const std::size_t hi_at = has_lo ? 2 : 1;  // max's place among the inputs (and the saved tensors)
  std::vector<Tensor> outputs{out};
  record("ClampBackward", inputs, outputs, std::move(saved), [has_lo, has_hi, hi_at](const BackwardCtx& c) {
    // PyTorch's clamp_backward and clamp_backward_min_max, selecting (an inf or NaN gradient where it does
    // not pass becomes 0).
    const Tensor& xv = c.saved[0];
    const Tensor l = has_lo ? c.saved[1] : Tensor(), h = has_hi ? c.saved[hi_at] : Tensor();
    const Tensor zero = zeros({}, c.grad().dtype());
    std::vector<Tensor> g(c.saved.size());
    if (c.needs_input_grad(0)) {
      const Tensor keep = !has_hi ? xv.ge(l) : !has_lo ? xv.le(h) : logical_and(xv.ge(l), xv.le(h));
      g[0] = where(keep, c.grad(), zero).sum_to_size(xv.sizes());
    }
    if (has_lo && c.needs_input_grad(1)) {
      const Tensor below = has_hi ? logical_and(xv.lt(l), l.lt(h)) : xv.lt(l);
      g[1] = where(below, c.grad(), zero).sum_to_size(l.sizes());
    }
    if (has_hi && c.needs_input_grad(hi_at)) {
      const Tensor above = has_lo ? logical_or(xv.gt(h), h.lt(l)) : xv.gt(h);
      g[hi_at] = where(above, c.grad(), zero).sum_to_size(h.sizes());
    }
    return g;
  });
  return outputs[0];
}

Tensor isnan(const Tensor& a) {
  return mask(a, "isnan", [](auto p) { return std::isnan(p); });
}
Tensor isinf(const Tensor& a) {
  return mask(a, "isinf", [](auto p) { return std::isinf(p); });
}
Tensor isfinite(const Tensor& a) {
  return mask(a, "isfinite", [](auto p) { return std::isfinite(p); });
}

// ---- activations ----

Tensor softplus(const Tensor& a, double beta, double threshold) {
  return differentiable_unary(
      a, "softplus", "SoftplusBackward", false,
      [beta, threshold](auto p) {
        using T = decltype(p);
        const T b = static_cast<T>(beta), t = static_cast<T>(threshold);
        return p * b > t ? p : static_cast<T>(std::log1p(std::exp(p * b))) / b;
      },
      [beta, threshold](const Tensor& g, const Tensor& x) {
        // torch's softplus_backward: z = e^(beta·x), grad · z / (z + 1) where beta·x ≤ threshold. The exponent
        // is capped at the threshold, where the branch is not taken, so that z stays finite there and a second
        // derivative does not meet inf · 0.
        const Tensor bx = x * beta;
        const Tensor z = exp(clamp(bx, std::nullopt, threshold));
        return where(bx.gt(threshold), g, g * z / (z + 1.0));
      });
}

namespace {

// hardtanh under the name of the op the user called (hardtanh or relu6): clamp's value, max_val wherever
// min_val > max_val (torch does not check them either), and a gradient only strictly inside the bounds.
Tensor bounded(const Tensor& a, double min_val, double max_val, const char* name) {
  return differentiable_unary(
      a, name, "HardtanhBackward", false,
      [min_val, max_val](auto p) {
        using T = decltype(p);
        return detail::clamp_value(p, static_cast<T>(min_val), static_cast<T>(max_val));
      },
      [min_val, max_val](const Tensor& g, const Tensor& x) {
        return where(logical_and(x.gt(min_val), x.lt(max_val)), g, zeros({}, g.dtype()));
      });
}

// min(max(p + 3, 0), 6): hardswish's and hardsigmoid's ramp.
template <typename T>
T ramp6(T p) {
  return detail::clamp_value(p + T(3), T(0), T(6));
}

}  // namespace

Tensor hardtanh(const Tensor& a, double min_val, double max_val) { return bounded(a, min_val, max_val, "hardtanh"); }

Tensor relu6(const Tensor& a) { return bounded(a, 0.0, 6.0, "relu6"); }

Tensor log_sigmoid(const Tensor& a) {
  detail::check_defined(a, "log_sigmoid");
  detail::check_floating(a, "log_sigmoid");
  // torch's loop, op by op (so that it differentiates): m = max(−a, 0) (relu, NaN staying NaN), then
  // −(m + log(e^−m + e^(−a−m))).
  const Tensor m = relu(-a);
  return -(m + log(exp(-m) + exp(-a - m)));
}

Tensor mish(const Tensor& a) {
  return differentiable_unary(
      a, "mish", "MishBackward", false, [](auto p) { return p * std::tanh(std::log1p(std::exp(p))); },
      [](const Tensor& g, const Tensor& x) {
        const Tensor t = tanh(log1p(exp(x))), s = sigmoid(x);
        return g * (t + x * s * (1.0 - t * t));
      });
}

Tensor hardswish(const Tensor& a) {
  return differentiable_unary(
      a, "hardswish", "HardswishBackward", false, [](auto p) { return p * ramp6(p) / decltype(p)(6); },
      [](const Tensor& g, const Tensor& x) {
        // At 3 torch's vector loop (which runs on all but a tensor's last few elements) gives grad, its scalar
        // loop 1.5 · grad; this follows the vector loop.
        return where(x.lt(-3.0), zeros({}, g.dtype()), where(x.lt(3.0), g * (x / 3.0 + 0.5), g));
      });
}

Tensor hardsigmoid(const Tensor& a) {
  return differentiable_unary(
      a, "hardsigmoid", "HardsigmoidBackward", false, [](auto p) { return ramp6(p) / decltype(p)(6); },
      [](const Tensor& g, const Tensor& x) {
        // torch's 1/6 is 1.0f / 6.0f, a float32 constant, for float64 too.
        return where(logical_and(x.gt(-3.0), x.lt(3.0)), g * static_cast<double>(1.0F / 6.0F), zeros({}, g.dtype()));
      });
}

Tensor logical_not(const Tensor& a) {
  return mask(a, "logical_not", [](auto p) { return p == 0; });
}

namespace {

// A mask of (a ≠ 0) op (b ≠ 0), broadcast, in result_type(a, b), outside autograd.
template <typename Op>
Tensor logical(const Tensor& a, const Tensor& b, const char* name, Op op) {
  auto [x, y] = detail::promote(a.defined() ? a.detach() : a, b.defined() ? b.detach() : b, name);
  return binary_kernel(x, y, name, [op](auto p, auto q) {
    using T = decltype(p);
    return op(p != 0, q != 0) ? T(1) : T(0);
  });
}

}  // namespace

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return logical(a, b, "logical_and", [](bool p, bool q) { return p && q; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return logical(a, b, "logical_or", [](bool p, bool q) { return p || q; });
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return logical(a, b, "logical_xor", [](bool p, bool q) { return p != q; });
}

}  // namespace voxgrad
