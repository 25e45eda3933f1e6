#include "voxgrad/ops/detail/as_strided.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::detail {

using autograd::BackwardCtx;

namespace {

// Visits the window's elements in row-major order: f(position in the base, index in the window).
template <typename F>
void for_each_position(const ViewGeometry& g, F&& f) {
  const std::size_t nd = g.sizes.size();
  std::int64_t n = 1;
  for (std::int64_t s : g.sizes) n *= s;
  Shape idx(nd, 0);
  std::int64_t pos = g.offset;
  for (std::int64_t i = 0; i < n; ++i) {
    f(pos, i);
    for (std::size_t d = nd; d-- > 0;) {
      if (++idx[d] < g.sizes[d]) {
        pos += g.strides[d];
        break;
      }
      pos -= g.strides[d] * (idx[d] - 1);
      idx[d] = 0;
    }
  }
}

// Writes `src` (contiguous, the window's shape) into `dst` (contiguous) at the window's positions,
// adding when `accumulate` (the adjoint of a read that may repeat a position) else replacing.
void scatter(const Tensor& dst, const Tensor& src, const ViewGeometry& g, bool accumulate) {
  dispatch_floating(dst.dtype(), "as_strided", [&]<typename T>() {
    T* d = dst.data_ptr<T>();
    const T* s = src.data_ptr<T>();
    if (accumulate) {
      for_each_position(g, [&](std::int64_t p, std::int64_t i) { d[p] += s[i]; });
    } else {
      for_each_position(g, [&](std::int64_t p, std::int64_t i) { d[p] = s[i]; });
    }
  });
}

}  // namespace

Tensor as_strided(const Tensor& base, const ViewGeometry& geom) {
  const Tensor c = base.contiguous();
  Tensor out = alias(c, geom.sizes, geom.strides, c.storage_offset() + geom.offset);
  autograd::record("AsStridedBackward", c, out, {}, [geom, sizes = c.sizes()](const BackwardCtx& ctx) {
    return std::vector<Tensor>{as_strided_backward(ctx.grad(), sizes, geom)};
  });
  return out;
}

Tensor as_strided_backward(const Tensor& grad, IntArrayRef base_sizes, const ViewGeometry& geom) {
  Tensor out = zeros(base_sizes, grad.dtype());
  {
    NoGradGuard no_grad;
    scatter(out, grad.contiguous(), geom, true);
  }
  autograd::record("AsStridedBackwardBackward", grad, out, {},
                   [geom](const BackwardCtx& ctx) { return std::vector<Tensor>{as_strided(ctx.grad(), geom)}; });
  return out;
}

Tensor as_strided_scatter(const Tensor& a, const Tensor& src, const ViewGeometry& geom) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = a.contiguous().clone();
    scatter(out, src.to(out.dtype()).contiguous(), geom, false);
  }
  autograd::record("AsStridedScatterBackward", a, src, out, {}, [geom](const BackwardCtx& ctx) {
    std::vector<Tensor> grads(2);
    if (ctx.needs_input_grad(0)) grads[0] = as_strided_scatter(ctx.grad(), zeros(geom.sizes, ctx.grad().dtype()), geom);
    if (ctx.needs_input_grad(1)) grads[1] = as_strided(ctx.grad(), geom);
    return grads;
  });
  return out;
}

}  // namespace voxgrad::detail
