#include "voxgrad/ops/sort.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/loops.h"
#include "voxgrad/ops/detail/total_order.h"
#include "voxgrad/ops/gather_scatter.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;

namespace {

// The first k of every slice of `a` along d in sorted order, into `values` and `indices` (contiguous,
// a's shape with size k along d). Ties are broken by index, so the order is a total one: std::sort
// and std::partial_sort then give one result, the stable sort, at any thread count.
template <typename T>
void sort_slices(const Tensor& a, std::int64_t d, bool descending, std::int64_t k, Tensor& values, Tensor& indices) {
  const std::int64_t n = a.size(d);
  const auto outer = detail::slice_starts<3>(a.sizes(), d, {a.strides(), values.strides(), indices.strides()});
  if (outer.numel == 0 || k == 0) return;
  const std::int64_t sa = a.strides()[d], sv = values.strides()[d], si = indices.strides()[d];
  const T* pa = a.data_ptr<T>();
  T* pv = values.data_ptr<T>();
  std::int64_t* pi = indices.data_ptr<std::int64_t>();
  detail::parallel_for(0, outer.numel, detail::slice_grain(n), [&](std::int64_t mb, std::int64_t me) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::vector<T> keys(static_cast<std::size_t>(n));
    outer.for_range(mb, me, [&](const auto& off, std::int64_t len, const auto& st) {
      for (std::int64_t j = 0; j < len; ++j) {
        const T* src = pa + off[0] + j * st[0];
        for (std::int64_t i = 0; i < n; ++i) keys[i] = src[i * sa];
        std::iota(order.begin(), order.end(), std::int64_t{0});
        const detail::SliceOrder<T> before{keys.data(), descending};
        if (k == n) {
          std::sort(order.begin(), order.end(), before);
        } else {
          std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        }
        T* dv = pv + off[1] + j * st[1];
        std::int64_t* di = pi + off[2] + j * st[2];
        for (std::int64_t i = 0; i < k; ++i) {
          dv[i * sv] = keys[order[i]];
          di[i * si] = order[i];
        }
      }
    });
  });
}

// sort and topk: the first k of each sorted slice, with the gradient scattered back to the input.
std::tuple<Tensor, Tensor> sorted_prefix(const Tensor& a, std::int64_t d, bool descending, std::int64_t k,
                                         const char* op, const char* node) {
  const bool scalar = a.dim() == 0;
  if (scalar) k = 1;  // PyTorch 1.13 returns a 0-d input itself for k = 0 as for k = 1
  const Tensor x = scalar ? a.detach().reshape({1}) : a.detach();
  Shape out_sizes = x.sizes();
  out_sizes[d] = k;
  Tensor values = empty(out_sizes, a.dtype());
  Tensor indices = empty(out_sizes, kInt64);
  detail::dispatch_floating(a.dtype(), op, [&]<typename T>() { sort_slices<T>(x, d, descending, k, values, indices); });
  if (scalar) {
    values = values.reshape({}).detach();  // not views of the 1-element buffer: their own history
    indices = indices.reshape({}).detach();
  }
  record(node, a, values, {save_for_backward(indices)}, [d, scalar, sizes = a.sizes()](const BackwardCtx& c) {
    if (scalar) return std::vector<Tensor>{c.grad()};
    // The indices are distinct within a slice, so scatter_add puts each gradient in its place; it
    // is differentiable in the gradient, so second derivatives flow too.
    return std::vector<Tensor>{scatter_add(zeros(sizes, c.grad().dtype()), d, c.saved[0], c.grad())};
  });
  return {values, indices};
}

}  // namespace

std::tuple<Tensor, Tensor> sort(const Tensor& a, std::int64_t dim, bool descending, bool /*stable*/) {
  detail::check_defined(a, "sort");
  detail::check_floating(a, "sort");
  const std::int64_t d = wrap_dim(dim, a.dim(), "sort");
  return sorted_prefix(a, d, descending, a.dim() == 0 ? 1 : a.size(d), "sort", "SortBackward");
}

std::tuple<Tensor, Tensor> topk(const Tensor& a, std::int64_t k, std::int64_t dim, bool largest, bool /*sorted*/) {
  detail::check_defined(a, "topk");
  detail::check_floating(a, "topk");
  const std::int64_t d = wrap_dim(dim, a.dim(), "topk");
  const std::int64_t n = a.dim() == 0 ? 1 : a.size(d);
  VOXGRAD_CHECK(k >= 0 && k <= n,
                "topk: selected index k out of range (k = {}, but dim {} of the input (shape {}) has size {})", k, d,
                shape_str(a.sizes()), n);
  return sorted_prefix(a, d, largest, k, "topk", "TopkBackward");
}

Tensor argsort(const Tensor& a, std::int64_t dim, bool descending, bool stable) {
  detail::check_defined(a, "argsort");
  detail::check_floating(a, "argsort");
  wrap_dim(dim, a.dim(), "argsort");  // sort checks it too, but under its own name
  return std::get<1>(sort(a.detach(), dim, descending, stable));
}

}  // namespace voxgrad
