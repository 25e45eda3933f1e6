#include "voxgrad/ops/order_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/loops.h"
#include "voxgrad/ops/detail/select_backward.h"
#include "voxgrad/ops/detail/total_order.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/gather_scatter.h"
#include "voxgrad/ops/lerp.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/shape_ops.h"
#include "voxgrad/ops/sort.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using autograd::save_output_for_backward;

namespace {

// Which element of a slice of n values (nans of them NaN) is selected: its rank in the total order
// (detail::SliceOrder, ascending).
enum class Pick { kth, median, nanmedian };

std::int64_t rank_of(Pick pick, std::int64_t k, std::int64_t n, std::int64_t nans) {
  switch (pick) {
    case Pick::kth: return k - 1;
    case Pick::median:  // a NaN makes the median NaN: the first NaN, right after the numbers
      return nans > 0 ? n - nans : (n - 1) / 2;
    case Pick::nanmedian:  // the lower median of the numbers; with none, the first NaN
      return n == nans ? 0 : (n - nans - 1) / 2;
  }
  return 0;
}

// The selected element of every slice of x along d (x.size(d) > 0) and its index, into values and
// indices (x's shape with size 1 along d). nth_element in the total order: one result at any thread count.
template <typename T>
void select_slices(const Tensor& x, std::int64_t d, Pick pick, std::int64_t k, Tensor& values, Tensor& indices) {
  const std::int64_t n = x.size(d);
  const auto outer = detail::slice_starts<3>(x.sizes(), d, {x.strides(), values.strides(), indices.strides()});
  if (outer.numel == 0) return;
  const std::int64_t sx = x.strides()[d];
  const T* px = x.data_ptr<T>();
  T* pv = values.data_ptr<T>();
  std::int64_t* pi = indices.data_ptr<std::int64_t>();
  detail::parallel_for(0, outer.numel, detail::slice_grain(n), [&](std::int64_t mb, std::int64_t me) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::vector<T> keys(static_cast<std::size_t>(n));
    outer.for_range(mb, me, [&](const auto& off, std::int64_t len, const auto& st) {
      for (std::int64_t j = 0; j < len; ++j) {
        const T* src = px + off[0] + j * st[0];
        std::int64_t nans = 0;
        for (std::int64_t i = 0; i < n; ++i) {
          keys[static_cast<std::size_t>(i)] = src[i * sx];
          nans += std::isnan(keys[static_cast<std::size_t>(i)]) ? 1 : 0;
        }
        std::iota(order.begin(), order.end(), std::int64_t{0});
        const std::int64_t r = rank_of(pick, k, n, nans);
        std::nth_element(order.begin(), order.begin() + r, order.end(), detail::SliceOrder<T>{keys.data(), false});
        const std::int64_t at = order[static_cast<std::size_t>(r)];
        pv[off[1] + j * st[1]] = keys[static_cast<std::size_t>(at)];
        pi[off[2] + j * st[2]] = at;
      }
    });
  });
}

// kthvalue, median(dim) and nanmedian(dim): the selected values and indices, the gradient scattered
// to the indices (PyTorch's value_selecting_reduction_backward).
std::tuple<Tensor, Tensor> select_dim(const Tensor& a, std::int64_t dim, bool keepdim, Pick pick, std::int64_t k,
                                      const char* op, const char* node) {
  detail::check_defined(a, op);
  detail::check_floating(a, op);
  const std::int64_t d = wrap_dim(dim, a.dim(), op);
  const bool scalar = a.dim() == 0;
  const Tensor x = scalar ? a.detach().reshape({1}) : a.detach();
  const std::int64_t n = x.size(d);
  if (pick == Pick::kth) {
    VOXGRAD_CHECK(
        k >= 1 && k <= n,
        "{}: selected number k out of range for dimension {} (k = {}, but dim {} of the input (shape {}) has size {})",
        op, d, k, d, shape_str(a.sizes()), n);
  } else {
    VOXGRAD_CHECK(n > 0, "{}: expected reduction dim {} to have non-zero size (input shape {})", op, d,
                  shape_str(a.sizes()));
  }
  Shape keep = x.sizes();
  keep[static_cast<std::size_t>(d)] = 1;
  Tensor values = empty(keep, a.dtype());
  Tensor indices = empty(keep, kInt64);
  detail::dispatch_floating(a.dtype(), op, [&]<typename T>() { select_slices<T>(x, d, pick, k, values, indices); });
  if (scalar || !keepdim) {
    values = values.squeeze(d).detach();  // a fresh autograd history (recorded below)
    indices = indices.squeeze(d).detach();
  }
  if (scalar) {
    values = values.reshape({}).detach();
    indices = indices.reshape({}).detach();
  }
  record(node, a, values, {save_for_backward(indices)}, [d, scalar, keepdim, sizes = a.sizes()](const BackwardCtx& c) {
    if (scalar) return std::vector<Tensor>{c.grad()};
    const Tensor g = keepdim ? c.grad() : c.grad().unsqueeze(d);
    const Tensor i = keepdim ? c.saved[0] : c.saved[0].unsqueeze(d);
    return std::vector<Tensor>{scatter_add(zeros(sizes, g.dtype()), d, i, g)};
  });
  return {values, indices};
}

// median() and nanmedian(): the selected element of all of a (NaN for none), the gradient shared evenly
// among the elements equal to it (a NaN result: among the NaNs), PyTorch's evenly_distribute_backward.
Tensor select_all(const Tensor& a, Pick pick, const char* op, const char* node) {
  detail::check_defined(a, op);
  detail::check_floating(a, op);
  Tensor out;
  if (a.numel() == 0) {
    out = full({}, std::numeric_limits<double>::quiet_NaN(), a.dtype());
  } else {
    NoGradGuard guard;
    out = std::get<0>(select_dim(a.detach().reshape({-1}), 0, false, pick, 0, op, node)).detach();
  }
  record(node, a, out, {save_for_backward(a), save_output_for_backward(out)}, [](const BackwardCtx& c) {
    return std::vector<Tensor>{detail::evenly_distribute_backward(c.grad(), c.saved[0], c.saved[1])};
  });
  return out;
}

enum class Interpolation { linear, lower, higher, midpoint, nearest };

Interpolation interpolation_of(std::string_view s, const char* op) {
  if (s == "linear") return Interpolation::linear;
  if (s == "lower") return Interpolation::lower;
  if (s == "higher") return Interpolation::higher;
  if (s == "midpoint") return Interpolation::midpoint;
  if (s == "nearest") return Interpolation::nearest;
  throw Error(
      fmt::format("{}: interpolation must be one of linear, lower, higher, midpoint or nearest, but got '{}'", op, s));
}

// PyTorch 1.13's quantile_compute, step by step and in a's dtype, so the same bits.
Tensor quantile_of(const Tensor& a, const Tensor& q_in, std::optional<std::int64_t> dim, bool keepdim,
                   std::string_view interpolation, bool ignore_nan, const char* op) {
  detail::check_defined(a, op);
  detail::check_defined(q_in, op, "q");
  detail::check_floating(a, op);
  const Interpolation mode = interpolation_of(interpolation, op);
  VOXGRAD_CHECK(a.numel() > 0, "{}: the input must have elements (shape {})", op, shape_str(a.sizes()));
  VOXGRAD_CHECK(q_in.dim() <= 1, "{}: q must be a number, a 0-d or a 1-D tensor (shape {})", op,
                shape_str(q_in.sizes()));
  VOXGRAD_CHECK(q_in.dtype() == a.dtype(), "{}: expected q of the input's dtype {}, but got {}", op,
                dtype_name(a.dtype()), dtype_name(q_in.dtype()));
  {
    NoGradGuard guard;
    const Tensor qd = q_in.detach();
    VOXGRAD_CHECK(all(logical_and(qd.ge(0.0), qd.le(1.0))).item<double>() != 0.0,
                  "{}: q values must be in the range [0, 1] (q of shape {} holds others)", op, shape_str(qd.sizes()));
  }
  const std::optional<std::int64_t> d = dim ? std::optional<std::int64_t>(wrap_dim(*dim, a.dim(), op)) : std::nullopt;
  // As PyTorch: ranks up to n − 1 are exact in float32 only up to 2^24.
  const std::int64_t len = !d ? a.numel() : a.dim() == 0 ? 1 : a.size(*d);
  VOXGRAD_CHECK(len <= (std::int64_t{1} << 24),
                "{}: expected at most 2^24 elements to take quantiles of, but got {} (input shape {})", op, len,
                shape_str(a.sizes()));
  // The output's shape without q's dim: the reduced dims kept with size 1, or dropped.
  Shape reduced;
  if (d && a.dim() > 0) {
    reduced = a.sizes();
    if (keepdim) {
      reduced[static_cast<std::size_t>(*d)] = 1;
    } else {
      reduced.erase(reduced.begin() + *d);
    }
  } else if (keepdim) {
    reduced = Shape(static_cast<std::size_t>(a.dim()), 1);
  }
  // Sorted along the last dim, the other dims as `reduced`.
  Tensor sorted;
  if (!d || a.dim() == 0) {
    sorted = std::get<0>(sort(a.reshape({-1})));
  } else {
    sorted = std::get<0>(sort(a.unsqueeze(-1).transpose(*d, -1)));
  }
  const std::int64_t n = sorted.size(-1);
  Shape in_shape = reduced;
  in_shape.push_back(n);
  sorted = sorted.reshape(in_shape);
  const Tensor q = q_in.reshape({-1});  // [Q]
  // Ranks in [0, n): q · (n − 1), or for nanquantile q · (m − 1) over the m numbers (0 when there are
  // none, whose result is then NaN); a slice holding NaN takes the last rank (a NaN) in quantile.
  const Tensor nan = isnan(sorted.detach());
  Tensor ranks;
  if (ignore_nan) {
    ranks = q * (sum(logical_not(nan), {-1}, true) - 1.0);
    ranks = where(ranks.lt(0.0), 0.0, ranks);
  } else {
    const auto last = static_cast<double>(n - 1);
    ranks = where(any(nan, -1, true), last, q * last);
  }
  if (mode == Interpolation::lower) ranks = floor(ranks);
  if (mode == Interpolation::higher) ranks = ceil(ranks);
  if (mode == Interpolation::nearest) ranks = round(ranks);  // half to even, as torch.round
  const Tensor below = ranks.detach().to(kInt64);
  Tensor values = gather(sorted, -1, below);
  if (mode == Interpolation::linear || mode == Interpolation::midpoint) {
    const Tensor weights =
        mode == Interpolation::midpoint ? full_like(ranks.detach(), 0.5) : ranks - below.to(a.dtype());
    values = lerp(values, gather(sorted, -1, ceil(ranks.detach()).to(kInt64)), weights);
  }
  // [..., Q] → q's dim first, or gone for a 0-d q.
  return q_in.dim() == 0 ? values.squeeze(-1) : values.unsqueeze(0).transpose(0, -1).squeeze(-1);
}

Tensor number_q(const Tensor& a, double q, const char* op) {
  detail::check_defined(a, op);
  VOXGRAD_CHECK(q >= 0.0 && q <= 1.0, "{}: q must be in the range [0, 1], but got {}", op, q);
  return full({}, q, a.dtype());  // in a's dtype, as PyTorch's scalar_tensor(q, self.options())
}

}  // namespace

std::tuple<Tensor, Tensor> kthvalue(const Tensor& a, std::int64_t k, std::int64_t dim, bool keepdim) {
  return select_dim(a, dim, keepdim, Pick::kth, k, "kthvalue", "KthvalueBackward");
}

Tensor median(const Tensor& a) { return select_all(a, Pick::median, "median", "MedianBackward"); }
std::tuple<Tensor, Tensor> median(const Tensor& a, std::int64_t dim, bool keepdim) {
  return select_dim(a, dim, keepdim, Pick::median, 0, "median", "MedianBackward");
}

Tensor nanmedian(const Tensor& a) { return select_all(a, Pick::nanmedian, "nanmedian", "NanmedianBackward"); }
std::tuple<Tensor, Tensor> nanmedian(const Tensor& a, std::int64_t dim, bool keepdim) {
  return select_dim(a, dim, keepdim, Pick::nanmedian, 0, "nanmedian", "NanmedianBackward");
}

Tensor quantile(const Tensor& a, double q, std::optional<std::int64_t> dim, bool keepdim,
                std::string_view interpolation) {
  return quantile_of(a, number_q(a, q, "quantile"), dim, keepdim, interpolation, false, "quantile");
}
Tensor quantile(const Tensor& a, const Tensor& q, std::optional<std::int64_t> dim, bool keepdim,
                std::string_view interpolation) {
  return quantile_of(a, q, dim, keepdim, interpolation, false, "quantile");
}
Tensor nanquantile(const Tensor& a, double q, std::optional<std::int64_t> dim, bool keepdim,
                   std::string_view interpolation) {
  return quantile_of(a, number_q(a, q, "nanquantile"), dim, keepdim, interpolation, true, "nanquantile");
}
Tensor nanquantile(const Tensor& a, const Tensor& q, std::optional<std::int64_t> dim, bool keepdim,
                   std::string_view interpolation) {
  return quantile_of(a, q, dim, keepdim, interpolation, true, "nanquantile");
}

}  // namespace voxgrad
