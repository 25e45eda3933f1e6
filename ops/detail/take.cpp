#include "voxgrad/ops/detail/take.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/loops.h"

namespace voxgrad::detail {

using autograd::BackwardCtx;
using autograd::record;

Tensor linear_index(IntArrayRef out_shape, const std::vector<Tensor>& pos, IntArrayRef strides, std::int64_t base) {
  Tensor out = full(out_shape, static_cast<double>(base), kInt64);
  std::int64_t* po = out.data_ptr<std::int64_t>();
  for (std::size_t j = 0; j < pos.size(); ++j) {
    const Tensor& p = pos[j];
    const std::int64_t stride = strides[j];
    const std::int64_t* pp = p.data_ptr<std::int64_t>();
    const StridedShape<2> it(out_shape, {out.strides(), broadcast_strides(p.sizes(), p.strides(), out_shape)});
    it.parallel([&](const auto& off, std::int64_t n, const auto& st) {
      for (std::int64_t i = 0; i < n; ++i) po[off[0] + i * st[0]] += pp[off[1] + i * st[1]] * stride;
    });
  }
  return out;
}

Tensor arange_at(std::int64_t size, std::int64_t at, std::int64_t rank) {
  Shape shape(static_cast<std::size_t>(rank), 1);
  shape[static_cast<std::size_t>(at)] = size;
  return arange(static_cast<double>(size), kInt64).view(shape);
}

namespace {

// Storage offset (from element 0) of the element at row-major position `lin` of a tensor laid out as
// (sizes, strides): the digits of `lin` in the mixed radix `sizes`, weighted by the strides.
std::int64_t offset_of(std::int64_t lin, const Shape& sizes, const Shape& strides) {
  std::int64_t off = 0;
  for (std::size_t d = sizes.size(); d-- > 0;) {
    off += (lin % sizes[d]) * strides[d];
    lin /= sizes[d];
  }
  return off;
}

// The adjoint pair: `Gather` reads dst[i] = src[lin[i]] (in parallel); otherwise dst[lin[i]] is
// written (Put) or accumulated (Add) from src[i], in order, so duplicates resolve deterministically.
enum class Direction { Gather, Put, Add };

// Walks lin with a second operand `other` of lin's shape (`other_strides` broadcast): calls
// f(lin value, offset in other) in order (parallel when `in_parallel`).
template <typename F>
void walk(const Tensor& lin, IntArrayRef other_strides, bool in_parallel, F&& f) {
  const std::int64_t* pl = lin.data_ptr<std::int64_t>();
  const StridedShape<2> it(lin.sizes(), {lin.strides(), other_strides.vec()});
  auto run = [&](const auto& off, std::int64_t n, const auto& st) {
    for (std::int64_t i = 0; i < n; ++i) f(pl[off[0] + i * st[0]], off[1] + i * st[1]);
  };
  if (in_parallel)
    it.parallel(run);
  else
    it.for_range(0, it.numel, run);
}

// dst (contiguous) and src as described by `direction`; `src` is read through its strides.
void move_elements(const Tensor& dst, const Tensor& src, const Tensor& lin, Direction direction) {
  dispatch_all(dst.dtype(), [&]<typename T>() {
    T* pd = dst.data_ptr<T>();
    const T* ps = src.data_ptr<T>();
    if (direction == Direction::Gather) {
      const bool contiguous = src.is_contiguous();
      walk(lin, dst.strides(), true, [&](std::int64_t l, std::int64_t o) {
        pd[o] = ps[contiguous ? l : offset_of(l, src.sizes(), src.strides())];
      });
      return;
    }
    const Shape st = broadcast_strides(src.sizes(), src.strides(), lin.sizes());
    if (direction == Direction::Put) {
      walk(lin, st, false, [&](std::int64_t l, std::int64_t o) { pd[l] = ps[o]; });
    } else {
      walk(lin, st, false, [&](std::int64_t l, std::int64_t o) { pd[l] += ps[o]; });
    }
  });
}

}  // namespace

Tensor take(const Tensor& src, const Tensor& lin) {
  Tensor out = empty(lin.sizes(), src.dtype());
  move_elements(out, src, lin, Direction::Gather);
  if (is_floating_point(src.dtype())) {
    record("IndexBackward", src, out, {}, [lin, sizes = src.sizes()](const BackwardCtx& c) {
      return std::vector<Tensor>{take_add(c.grad(), lin, sizes)};
    });
  }
  return out;
}

Tensor take_add(const Tensor& values, const Tensor& lin, IntArrayRef sizes) {
  Tensor out = zeros(sizes, values.dtype());
  move_elements(out, values, lin, Direction::Add);
  if (is_floating_point(values.dtype())) {
    record("IndexAddBackward", values, out, {}, [lin, vs = values.sizes()](const BackwardCtx& c) {
      return std::vector<Tensor>{take(c.grad(), lin).sum_to_size(vs)};
    });
  }
  return out;
}

Tensor take_put(const Tensor& self, const Tensor& lin, const Tensor& values) {
  Tensor out;
  {
    NoGradGuard guard;
    out = self.clone();
  }
  move_elements(out, values, lin, Direction::Put);
  if (is_floating_point(self.dtype())) {
    record("IndexPutBackward", self, values, out, {}, [lin, vs = values.sizes()](const BackwardCtx& c) {
      std::vector<Tensor> g(2);
      if (c.needs_input_grad(0)) g[0] = take_put(c.grad(), lin, zeros({}, c.grad().dtype()));
      if (c.needs_input_grad(1)) g[1] = take(c.grad(), lin).sum_to_size(vs);
      return g;
    });
  }
  return out;
}

Tensor check_index_values(const Tensor& index, std::int64_t size, std::int64_t dim, bool wrap, const char* op) {
  Tensor out = empty(index.sizes(), kInt64);
  std::int64_t* po = out.data_ptr<std::int64_t>();
  const std::int64_t* pi = index.data_ptr<std::int64_t>();
  const std::int64_t lo = wrap ? -size : 0;
  const StridedShape<2> it(index.sizes(), {out.strides(), index.strides()});
  it.for_range(0, it.numel, [&](const auto& off, std::int64_t n, const auto& st) {
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t v = pi[off[1] + i * st[1]];
      VOXGRAD_CHECK(v >= lo && v < size, "{}: index {} is out of bounds for dimension {} with size {}", op, v, dim,
                    size);
      po[off[0] + i * st[0]] = v < 0 ? v + size : v;
    }
  });
  return out;
}

}  // namespace voxgrad::detail
