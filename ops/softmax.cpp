#include "voxgrad/ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

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
// softmax = exp(x − m) / s and log_softmax = (x − m) − log s. Lines run in blocks of up to kBlock
// neighbours along `inner` (a softmax over channels: positions side by side), each step of a line for
// the whole block at once, so that the loops run along memory; each line's arithmetic is its own, in
// the same order, whatever the block.
// kRows: inner = 1, every line a contiguous row, one at a time (a block of one whose loops compile to
// scalars in registers).
template <typename T, bool Log, bool kRows>
void softmax_blocks(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  constexpr std::int64_t kBlock = kRows ? 1 : 64, kKept = 64 * 64;
  const std::int64_t blocks_per_outer = (inner + kBlock - 1) / kBlock, blocks = outer * blocks_per_outer;
  const std::int64_t grain =
      std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(n * std::min(inner, kBlock), 1));
  detail::parallel_for(0, blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    T shift[kBlock];
    double sum[kBlock], scale[kBlock];
    // Only where a block's exponentials can fit (softmax, n · block ≤ kKept).
    std::vector<double> exps(!Log && n * std::min(inner, kBlock) <= kKept ? static_cast<std::size_t>(kKept) : 0);
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t o = b / blocks_per_outer, i0 = b % blocks_per_outer * kBlock;
      const std::int64_t count = kRows ? 1 : std::min(kBlock, inner - i0);
      const T* px = x + o * n * inner + i0;
      T* py = y + o * n * inner + i0;
      for (std::int64_t e = 0; e < count; ++e) shift[e] = -std::numeric_limits<T>::infinity();
      for (std::int64_t k = 0; k < n; ++k) {
        const T* row = px + k * inner;
        for (std::int64_t e = 0; e < count; ++e) {
          const T v = row[e], m = shift[e];
          shift[e] = (m == m) & ((v != v) | (v > m)) ? v : m;  // the first NaN wins
        }
      }
      // All −inf: subtract 0 instead, so the line gives NaN (softmax) as in PyTorch rather than
      // (−inf) − (−inf) tricks; a +inf max gives NaN too, as PyTorch.
      for (std::int64_t e = 0; e < count; ++e) {
        if (std::isinf(shift[e]) && shift[e] < 0) shift[e] = T(0);
        sum[e] = 0.0;
      }
      // The exponentials are kept for softmax's last pass where the block's fit (n ≤ 64 at full
      // blocks): each is then computed once.
      const bool keep = !exps.empty() && n * count <= kKept;
      for (std::int64_t k = 0; k < n; ++k) {
        const T* row = px + k * inner;
        for (std::int64_t e = 0; e < count; ++e) {
          const double ex = std::exp(static_cast<double>(row[e] - shift[e]));
          if (keep) exps[k * count + e] = ex;
          sum[e] += ex;
        }
      }
      if constexpr (Log) {
        for (std::int64_t e = 0; e < count; ++e) scale[e] = static_cast<double>(static_cast<T>(std::log(sum[e])));
        for (std::int64_t k = 0; k < n; ++k) {
          const T* row = px + k * inner;
          T* out = py + k * inner;
          for (std::int64_t e = 0; e < count; ++e) out[e] = (row[e] - shift[e]) - static_cast<T>(scale[e]);
        }
      } else {
        for (std::int64_t e = 0; e < count; ++e) scale[e] = 1.0 / sum[e];
        for (std::int64_t k = 0; k < n; ++k) {
          const T* row = px + k * inner;
          T* out = py + k * inner;
          for (std::int64_t e = 0; e < count; ++e) {
            const double ex = keep ? exps[k * count + e] : std::exp(static_cast<double>(row[e] - shift[e]));
            out[e] = static_cast<T>(ex * scale[e]);
          }
        }
      }
    }
  });
}

template <typename T, bool Log>
void softmax_lines(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  if (inner == 1) return softmax_blocks<T, Log, true>(x, y, outer, n, inner);
  softmax_blocks<T, Log, false>(x, y, outer, n, inner);
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
