#include "voxgrad/ops/cumulative.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/loops.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/gather_scatter.h"
#include "voxgrad/ops/join_split.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/reorder.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using autograd::save_output_for_backward;

namespace {

// A scan along d of every slice of `a` into `out` (a's shape, contiguous), and into `indices` (int64, the
// same shape, or undefined): acc starts at init, and element i of a slice does step(acc, at, x, i) and
// writes T(acc) (and at). Each slice is scanned in order by one thread.
template <typename T, typename Acc, typename Step>
void scan_slices(const Tensor& a, std::int64_t d, Tensor& out, Tensor& indices, Acc init, Step step) {
  const std::int64_t nd = a.dim();
  const std::int64_t n = nd == 0 ? 1 : a.size(d);
  const std::int64_t sa = nd == 0 ? 0 : a.strides()[d], so = nd == 0 ? 0 : out.strides()[d];
  // out and indices are fresh contiguous tensors of one shape: one offset serves both.
  const auto outer = detail::slice_starts<2>(a.sizes(), d, {a.strides(), out.strides()});
  if (outer.numel == 0 || n == 0) return;
  const T* pa = a.data_ptr<T>();
  T* po = out.data_ptr<T>();
  std::int64_t* pi = indices.defined() ? indices.data_ptr<std::int64_t>() : nullptr;
  detail::parallel_for(0, outer.numel, detail::slice_grain(n), [&](std::int64_t mb, std::int64_t me) {
    outer.for_range(mb, me, [&](const auto& off, std::int64_t len, const auto& st) {
      for (std::int64_t j = 0; j < len; ++j) {
        const T* src = pa + off[0] + j * st[0];
        const std::int64_t o = off[1] + j * st[1];
        Acc acc = init;
        std::int64_t at = 0;
        for (std::int64_t i = 0; i < n; ++i) {
          step(acc, at, src[i * sa], i);
          po[o + i * so] = static_cast<T>(acc);
          if (pi != nullptr) pi[o + i * so] = at;
        }
      }
    });
  });
}

// A running sum (is_sum) or product of every slice of `a` along d, in a new contiguous tensor, in
// double (ATen's acc_type for float and double on CPU).
Tensor scan(const Tensor& a, std::int64_t d, bool is_sum, const char* op) {
  detail::check_defined(a, op);
  detail::check_floating(a, op);
  Tensor out = empty(a.sizes(), a.dtype()), none;
  detail::dispatch_floating(a.dtype(), op, [&]<typename T>() {
    if (is_sum) {
      scan_slices<T>(a, d, out, none, 0.0, [](double& acc, std::int64_t&, T x, std::int64_t) { acc += x; });
    } else {
      scan_slices<T>(a, d, out, none, 1.0, [](double& acc, std::int64_t&, T x, std::int64_t) { acc *= x; });
    }
  });
  return out;
}

// The sum of w[j] over j >= i along d (PyTorch's reversed_cumsum).
Tensor reversed_cumsum(const Tensor& w, std::int64_t d) { return flip(cumsum(flip(w, {d}), d), {d}); }

// dL/dx_k = sum_{j>=k} g_j prod_{i<=j, i!=k} x_i, element by element: O(n²) along d, but made of
// differentiable ops whatever zeros x holds (PyTorch's cumprod_backward under grad mode).
Tensor cumprod_backward_omitted_products(const Tensor& g, const Tensor& x, std::int64_t d) {
  const std::int64_t n = x.size(d);
  std::vector<Tensor> grads;
  for (std::int64_t k = 0; k < n; ++k) {
    // omitted[j - k] = prod_{i<=j, i!=k} x_i for j >= k: the product before k times the cumprod after it.
    Shape one_sizes = x.sizes();
    one_sizes[static_cast<std::size_t>(d)] = 1;
    const Tensor before = k == 0 ? ones(one_sizes, x.dtype()) : prod(x.narrow(d, 0, k), d, true);
    const Tensor omitted = k + 1 == n ? before : cat({before, before * cumprod(x.narrow(d, k + 1, n - k - 1), d)}, d);
    grads.push_back((g.narrow(d, k, n - k) * omitted).sum({d}, true));
  }
  return cat(grads, d);
}

// PyTorch's cumprod_backward. With y = cumprod(x) and g the upstream gradient, along each slice:
// before the first zero z of x, dL/dx_k = sum_{j>=k} g_j y_j / x_k (every y_j with j >= z is 0); at
// z, dL/dx_z = sum_{j>=z} g_j prod_{i<=j, i!=z} x_i, the reversed cumsum of g times the cumprod of x
// with x_z replaced by 1; after z it is 0 (every y_j there has the factor x_z = 0 besides x_k). That
// last 0 is a constant, no good for a second derivative (d²L/dx_k dx_z ≠ 0): under create_graph, with
// zeros, the O(n²) form above, as PyTorch.
Tensor cumprod_backward(const Tensor& g, const Tensor& x, const Tensor& y, std::int64_t d) {
  if (x.numel() <= 1 || x.dim() == 0 || x.size(d) == 1) return g;
  const Tensor is_zero = x.eq(0.0);
  if (is_zero.sum().item<double>() == 0.0) return reversed_cumsum(g * y, d) / x;
  if (GradMode::is_enabled()) return cumprod_backward_omitted_products(g, x, d);
  const Tensor zeros_so_far = cumsum(is_zero, d);
  const Tensor before = zeros_so_far.eq(0.0);
  const Tensor first_zero = is_zero * zeros_so_far.eq(1.0);
  const Tensor safe_x = where(before, x, 1.0);
  // y past the first zero is 0, or NaN where an infinity follows: masked before the sums, as PyTorch.
  const Tensor grad_before = where(before, reversed_cumsum(g * where(before, y, 0.0), d) / safe_x, 0.0);
  const Tensor x_without_zero = where(first_zero, 1.0, x);
  const Tensor grad_at_zero = where(first_zero, reversed_cumsum(g * cumprod(x_without_zero, d), d), 0.0);
  return grad_before + grad_at_zero;
}

}  // namespace

Tensor cumsum(const Tensor& a, std::int64_t dim) {
  detail::check_defined(a, "cumsum");
  const std::int64_t d = wrap_dim(dim, a.dim(), "cumsum");
  Tensor out = scan(a, d, true, "cumsum");
  record("CumsumBackward", a, out, {}, [d, scalar = a.dim() == 0](const BackwardCtx& c) {
    return std::vector<Tensor>{scalar ? c.grad() : reversed_cumsum(c.grad(), d)};
  });
  return out;
}

Tensor cumprod(const Tensor& a, std::int64_t dim) {
  detail::check_defined(a, "cumprod");
  const std::int64_t d = wrap_dim(dim, a.dim(), "cumprod");
  Tensor out = scan(a, d, false, "cumprod");
  record("CumprodBackward", a, out, {save_for_backward(a), save_output_for_backward(out)}, [d](const BackwardCtx& c) {
    return std::vector<Tensor>{cumprod_backward(c.grad(), c.saved[0], c.saved[1], d)};
  });
  return out;
}

namespace {

template <typename T>
bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(x);
  } else {
    return false;
  }
}

// cummax (is_max) or cummin: the running extreme of every slice along d and where it was taken, as
// ATen's CPU kernel: a later element equal to the extreme takes its place (>= / <=), and a NaN takes it
// and keeps it (each later NaN too).
std::tuple<Tensor, Tensor> cum_extreme(const Tensor& a, std::int64_t dim, bool is_max, const char* op,
                                       const char* node) {
  detail::check_defined(a, op);
  const std::int64_t d = wrap_dim(dim, a.dim(), op);
  Tensor values = empty(a.sizes(), a.dtype());
  Tensor indices = empty(a.sizes(), kInt64);
  detail::dispatch_all(a.dtype(), [&]<typename T>() {
    // An extreme every first element passes (x ≥ −inf, x ≥ the lowest int64, NaN in any case).
    using L = std::numeric_limits<T>;
    const T init =
        is_max ? (L::has_infinity ? -L::infinity() : L::lowest()) : (L::has_infinity ? L::infinity() : L::max());
    scan_slices<T>(a, d, values, indices, init, [is_max](T& acc, std::int64_t& at, T x, std::int64_t i) {
      if (is_nan(x) || (!is_nan(acc) && (is_max ? x >= acc : x <= acc))) {
        acc = x;
        at = i;
      }
    });
  });
  if (is_floating_point(a.dtype())) {
    // PyTorch's cummaxmin_backward: the gradient added up at the positions taken.
    record(node, a, values, {save_for_backward(indices)}, [d, sizes = a.sizes()](const BackwardCtx& c) {
      if (sizes.empty()) return std::vector<Tensor>{c.grad()};
      return std::vector<Tensor>{scatter_add(zeros(sizes, c.grad().dtype()), d, c.saved[0], c.grad())};
    });
  }
  return {values, indices};
}

// log(exp(x) + exp(y)) as ATen's _log_add_exp_helper: the larger plus log1p of the exponential of the
// difference; equal infinities (no finite difference) give x; a NaN y propagates.
double log_add_exp(double x, double y) {
  const double lo = std::isnan(y) ? y : std::min(x, y), hi = std::isnan(y) ? y : std::max(x, y);
  if (lo != hi || std::isfinite(lo)) return std::log1p(std::exp(lo - hi)) + hi;
  return x;
}

}  // namespace

std::tuple<Tensor, Tensor> cummax(const Tensor& a, std::int64_t dim) {
  return cum_extreme(a, dim, true, "cummax", "CummaxBackward");
}

std::tuple<Tensor, Tensor> cummin(const Tensor& a, std::int64_t dim) {
  return cum_extreme(a, dim, false, "cummin", "CumminBackward");
}

Tensor logcumsumexp(const Tensor& a, std::int64_t dim) {
  const char* op = "logcumsumexp";
  detail::check_defined(a, op);
  detail::check_floating(a, op);
  const std::int64_t d = wrap_dim(dim, a.dim(), op);
  Tensor out = empty(a.sizes(), a.dtype()), none;
  detail::dispatch_floating(a.dtype(), op, [&]<typename T>() {
    // In double for float32 too (ATen's acc_type on CPU), rounded once per output.
    scan_slices<T>(a, d, out, none, -std::numeric_limits<double>::infinity(),
                   [](double& acc, std::int64_t&, T x, std::int64_t) { acc = log_add_exp(x, acc); });
  });
  // PyTorch's logcumsumexp_backward: with r = logcumsumexp(x), dL/dx_k = Σ_{j≥k} g_j exp(x_k − r_j),
  // summed in log space separately over the positive and the negative g_j (a log of 0 is the lowest
  // finite value, so that the exponential is 0 without NaN).
  record("LogcumsumexpBackward", a, out, {save_for_backward(a), save_output_for_backward(out)},
         [d](const BackwardCtx& c) {
           const Tensor& g = c.grad();
           if (g.dim() == 0 || g.numel() == 0) return std::vector<Tensor>{g};
           const Tensor& x = c.saved[0];
           const Tensor& r = c.saved[1];
           const double lowest =
               g.dtype() == kFloat32 ? std::numeric_limits<float>::lowest() : std::numeric_limits<double>::lowest();
           const auto reversed = [d](const Tensor& t) { return flip(logcumsumexp(flip(t, {d}), d), {d}); };
           const Tensor log_abs = g.abs().log();
           const Tensor log_pos = where(g.gt(0.0), log_abs, lowest), log_neg = where(g.lt(0.0), log_abs, lowest);
           const Tensor pos = (reversed(log_pos - r) + x).exp(), neg = (reversed(log_neg - r) + x).exp();
           return std::vector<Tensor>{pos - neg};
         });
  return out;
}

Tensor diff(const Tensor& a, std::int64_t n, std::int64_t dim, const Tensor& prepend, const Tensor& append) {
  const char* op = "diff";
  detail::check_defined(a, op);
  VOXGRAD_CHECK(a.dim() >= 1, "{}: expects input to be at least one-dimensional, but got a 0-d tensor", op);
  VOXGRAD_CHECK(is_floating_point(a.dtype()), "{}: expected a float32 or float64 input, but got {}", op, a.dtype());
  // PyTorch 1.13 returns the input unchanged for n < 0; NumPy raises, as here.
  VOXGRAD_CHECK(n >= 0, "{}: order must be non-negative, but got n = {}", op, n);
  const std::int64_t d = wrap_dim(dim, a.dim(), op);
  std::vector<Tensor> parts;
  for (const auto& [t, name] : {std::pair{&prepend, "prepend"}, std::pair{&a, "input"}, std::pair{&append, "append"}}) {
    if (!t->defined()) continue;
    VOXGRAD_CHECK(t->dim() == a.dim(),
                  "{}: expects {} to have the same number of dimensions as input ({}), but got shape {}", op, name,
                  a.dim(), shape_str(t->sizes()));
    for (std::int64_t k = 0; k < a.dim(); ++k) {
      VOXGRAD_CHECK(k == d || t->size(k) == a.size(k),
                    "{}: expects the shape of {} to match that of input except along dim {}; input.size({}) = {}, "
                    "but {}.size({}) = {}",
                    op, name, d, k, a.size(k), name, k, t->size(k));
    }
    parts.push_back(*t);
  }
  if (n == 0) return a.clone();  // without prepend and append, as PyTorch's and NumPy's
  bool fresh = parts.size() > 1;
  Tensor x = fresh ? cat(parts, d) : a;
  // Each order: x[1:] − x[:-1] along d, until n orders are taken or nothing is left.
  for (std::int64_t k = 0; k < n && x.size(d) > 0; ++k, fresh = true) {
    const std::int64_t len = x.size(d);
    x = x.narrow(d, 1, len - 1) - x.narrow(d, 0, len - 1);
  }
  return fresh ? x : a.clone();  // a new tensor, as PyTorch's
}

}  // namespace voxgrad
