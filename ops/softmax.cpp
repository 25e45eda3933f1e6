#include "voxgrad/ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_output_for_backward;

namespace {

// The kernel: x viewed as (outer, n, inner) contiguous; each (outer, inner) line of n elements is
// independent. m = max over the line (NaN propagates), s = Σ exp(x − m) in double, then
// softmax = exp(x − m) / s and log_softmax = (x − m) − log s.
template <typename T, bool Log>
void softmax_lines(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  const std::int64_t lines = outer * inner;
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(n, 1));
  detail::parallel_for(0, lines, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t l = begin; l < end; ++l) {
      const std::int64_t o = l / inner, i = l % inner;
      const T* px = x + o * n * inner + i;
      T* py = y + o * n * inner + i;
      T m = -std::numeric_limits<T>::infinity();
      for (std::int64_t k = 0; k < n; ++k) {
        const T v = px[k * inner];
        if (std::isnan(v) || v > m) m = v;
        if (std::isnan(m)) break;
      }
      // All −inf: subtract 0 instead, so the line gives NaN (softmax) as in PyTorch rather than
      // (−inf) − (−inf) tricks; a +inf max gives NaN too, as PyTorch.
      const T shift = std::isinf(m) && m < 0 ? T(0) : m;
      double s = 0.0;
      for (std::int64_t k = 0; k < n; ++k) s += std::exp(static_cast<double>(px[k * inner] - shift));
      if constexpr (Log) {
        const T log_s = static_cast<T>(std::log(s));
        for (std::int64_t k = 0; k < n; ++k) py[k * inner] = (px[k * inner] - shift) - log_s;
      } else {
        const double inv = 1.0 / s;
        for (std::int64_t k = 0; k < n; ++k) {
          py[k * inner] = static_cast<T>(std::exp(static_cast<double>(px[k * inner] - shift)) * inv);
        }
      }
    }
  });
}

template <bool Log>
Tensor softmax_impl(const Tensor& input, std::int64_t dim, const char* op) {
  detail::check_defined(input, op, "input");
  detail::check_floating(input, op);
  const std::int64_t d = wrap_dim(dim, input.dim(), op);
  const Tensor x = input.contiguous();
  std::int64_t outer = 1, n = 1, inner = 1;
  for (std::int64_t k = 0; k < x.dim(); ++k) {
    if (k < d)
      outer *= x.size(k);
    else if (k == d)
      n = x.size(k);
    else
      inner *= x.size(k);
  }
  Tensor out = empty(x.sizes(), x.dtype());
  if (x.numel() > 0) {
    detail::dispatch_floating(x.dtype(), op, [&]<typename T>() {
      softmax_lines<T, Log>(x.data_ptr<T>(), out.data_ptr<T>(), outer, n, inner);
    });
  }
  const std::int64_t rd = x.dim() == 0 ? 0 : d;  // a 0-d tensor is reduced over nothing
  if constexpr (Log) {
    record("LogSoftmaxBackward", x, out, {save_output_for_backward(out)},
           [rd, zero_d = x.dim() == 0](const BackwardCtx& c) {
             const Tensor& g = c.grad();
             const Tensor gsum = zero_d ? g : g.sum(rd, /*keepdim=*/true);
             return std::vector<Tensor>{g - c.saved[0].exp() * gsum};
           });
  } else {
    record("SoftmaxBackward", x, out, {save_output_for_backward(out)},
           [rd, zero_d = x.dim() == 0](const BackwardCtx& c) {
             const Tensor& g = c.grad();
             const Tensor& y = c.saved[0];
             const Tensor gy = g * y;
             return std::vector<Tensor>{gy - y * (zero_d ? gy : gy.sum(rd, /*keepdim=*/true))};
           });
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& input, std::int64_t dim) { return softmax_impl<false>(input, dim, "softmax"); }

Tensor log_softmax(const Tensor& input, std::int64_t dim) { return softmax_impl<true>(input, dim, "log_softmax"); }

}  // namespace voxgrad
