#include "voxgrad/ops/cumulative.h"

#include <algorithm>
#include <array>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/loops.h"
#include "voxgrad/ops/elementwise.h"
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

// A running sum (is_sum) or product of every slice of `a` along d, in a new contiguous tensor. Each
// slice is scanned in order by one thread in double (ATen's acc_type for float and double on CPU).
Tensor scan(const Tensor& a, std::int64_t d, bool is_sum, const char* op) {
  detail::check_defined(a, op);
  detail::check_floating(a, op);
  const std::int64_t nd = a.dim();
  Tensor out = empty(a.sizes(), a.dtype());
  const std::int64_t n = nd == 0 ? 1 : a.size(d);
  const std::int64_t sa = nd == 0 ? 0 : a.strides()[d], so = nd == 0 ? 0 : out.strides()[d];
  const auto outer = detail::slice_starts<2>(a.sizes(), d, {a.strides(), out.strides()});
  if (outer.numel == 0 || n == 0) return out;
  detail::dispatch_floating(a.dtype(), op, [&]<typename T>() {
    const T* pa = a.data_ptr<T>();
    T* po = out.data_ptr<T>();
    detail::parallel_for(0, outer.numel, detail::slice_grain(n), [&](std::int64_t mb, std::int64_t me) {
      outer.for_range(mb, me, [&](const auto& off, std::int64_t len, const auto& st) {
        for (std::int64_t j = 0; j < len; ++j) {
          const T* src = pa + off[0] + j * st[0];
          T* dst = po + off[1] + j * st[1];
          double acc = is_sum ? 0.0 : 1.0;
          for (std::int64_t i = 0; i < n; ++i) {
            if (is_sum) {
              acc += static_cast<double>(src[i * sa]);
            } else {
              acc *= static_cast<double>(src[i * sa]);
            }
            dst[i * so] = static_cast<T>(acc);
          }
        }
      });
    });
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

}  // namespace voxgrad
