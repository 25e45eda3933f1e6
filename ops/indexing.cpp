#include "voxgrad/ops/indexing.h"

#include <algorithm>
#include <utility>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/inplace.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/loops.h"
#include "voxgrad/ops/detail/take.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/histogram.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

using indexing::TensorIndex;
using Kind = TensorIndex::Kind;

namespace {

// PyTorch's bool masks are voxgrad's float (or int64) masks of 0s and 1s; anything else is refused.
void check_mask(const Tensor& mask, const char* op) {
  detail::check_defined(mask, op, "mask");
  detail::dispatch_all(mask.dtype(), [&]<typename T>() {
    const Tensor c = mask.contiguous();
    const T* p = c.data_ptr<T>();
    const std::int64_t n = c.numel();
    std::int64_t i = 0;
    while (i < n && (p[i] == T(0) || p[i] == T(1))) ++i;
    VOXGRAD_CHECK(i == n,
                  "{}: a mask must hold only 0 and 1 (voxgrad's boolean masks, as eq/lt/... return), but "
                  "element {} of the mask of shape {} is {}",
                  op, i, shape_str(mask.sizes()), i < n ? p[i] : T(0));
  });
}

// An index list with its basic part applied: `view` is self seen through the integers, slices,
// Nones and Ellipsis (a view, with autograd); `dims`/`tensors` are the advanced indices, each an
// int64 tensor of positions in [0, size) along dim dims[k] of `view` (ascending).
struct BasicApplied {
  Tensor view;
  std::vector<std::int64_t> dims;
  std::vector<Tensor> tensors;
};

// PyTorch's boolean index: a new size-1 dim, advanced-indexed by [0] (true) or [] (false).
void apply_bool(BasicApplied& r, std::int64_t& dim, bool value) {
  r.view = r.view.unsqueeze(dim);
  r.dims.push_back(dim++);
  r.tensors.push_back(value ? zeros({1}, kInt64) : empty({0}, kInt64));
}

std::int64_t dims_taken(const TensorIndex& i) {
  switch (i.kind()) {
    case Kind::Integer:
    case Kind::Slice: return 1;
    case Kind::Tensor: return is_floating_point(i.tensor().dtype()) ? std::max<std::int64_t>(i.tensor().dim(), 0) : 1;
    default: return 0;
  }
}

BasicApplied apply_basic(const Tensor& self, const std::vector<TensorIndex>& indices, const char* op) {
  std::int64_t specified = 0, ellipses = 0;
  for (const TensorIndex& i : indices) {
    if (i.kind() == Kind::Tensor) detail::check_defined(i.tensor(), op, "indices");
    specified += dims_taken(i);
    ellipses += i.kind() == Kind::Ellipsis;
  }
  VOXGRAD_CHECK(ellipses <= 1, "{}: an index can only have a single ellipsis (Ellipsis), but got {}", op, ellipses);
  VOXGRAD_CHECK(specified <= self.dim(), "{}: too many indices for tensor of dimension {} (got {})", op, self.dim(),
                specified);
  BasicApplied r{self, {}, {}};
  std::int64_t dim = 0;       // the next dim of r.view an index applies to
  std::int64_t real_dim = 0;  // the same dim of self, for messages
  auto select_integer = [&](std::int64_t v) {
    const std::int64_t size = r.view.size(dim);
    VOXGRAD_CHECK(v >= -size && v < size, "{}: index {} is out of bounds for dimension {} with size {}", op, v,
                  real_dim, size);
    r.view = r.view.select(dim, v);
    ++real_dim;
  };
  for (const TensorIndex& i : indices) {
    switch (i.kind()) {
      case Kind::Integer: select_integer(i.integer()); break;
      case Kind::Slice: {
        const std::int64_t step = i.slice().step.value_or(1);
        VOXGRAD_CHECK(step > 0, "{}: slice step must be greater than zero, but got {} (for dimension {})", op, step,
                      real_dim);
        r.view = r.view.slice(dim++, i.slice().start, i.slice().stop, step);
        ++real_dim;
        break;
      }
      case Kind::None: r.view = r.view.unsqueeze(dim++); break;
      case Kind::Boolean: apply_bool(r, dim, i.integer() != 0); break;
      case Kind::Ellipsis:
        dim += self.dim() - specified;
        real_dim += self.dim() - specified;
        break;
      case Kind::Tensor: {
        const Tensor& t = i.tensor();
        if (t.dtype() == kInt64) {
          if (t.dim() == 0) {  // a 0-d integer tensor selects, like an integer (libtorch's rule)
            select_integer(t.item<std::int64_t>());
            break;
          }
          r.tensors.push_back(detail::check_index_values(t, r.view.size(dim), real_dim, true, op));
          r.dims.push_back(dim++);
          ++real_dim;
          break;
        }
        check_mask(t, op);
        if (t.dim() == 0) {
          apply_bool(r, dim, t.item<double>() != 0.0);
          break;
        }
        for (std::int64_t k = 0; k < t.dim(); ++k) {
          VOXGRAD_CHECK(t.size(k) == r.view.size(dim + k),
                        "{}: the shape of the mask {} at index {} does not match the shape of the indexed tensor {} "
                        "at index {}",
                        op, shape_str(t.sizes()), k, shape_str(self.sizes()), real_dim + k);
        }
        const Tensor nz = nonzero(t);
        for (std::int64_t k = 0; k < t.dim(); ++k) {
          r.tensors.push_back(nz.select(1, k));
          r.dims.push_back(dim++);
        }
        real_dim += t.dim();
        break;
      }
    }
  }
  return r;
}

// The shape of view[advanced indices] and, per dim of the view, the int64 positions (broadcastable
// to that shape) each result element takes along it. NumPy's rule: the broadcast index shape
// replaces the indexed dims in place when they are adjacent, else it goes first.
std::pair<Shape, std::vector<Tensor>> positions(const BasicApplied& r, const char* op) {
  const Tensor& x = r.view;
  const std::int64_t nd = x.dim();
  Shape b;
  for (const Tensor& t : r.tensors) b = broadcast_shapes(b, t.sizes(), op);
  const bool adjacent =
      r.dims.empty() || r.dims.back() - r.dims.front() + 1 == static_cast<std::int64_t>(r.dims.size());
  const std::int64_t at = r.dims.empty() ? 0 : (adjacent ? r.dims.front() : 0);  // where b's dims go
  const std::int64_t nb = static_cast<std::int64_t>(b.size());
  Shape shape;
  std::vector<Tensor> pos(static_cast<std::size_t>(nd));
  std::vector<std::int64_t> out_dim(static_cast<std::size_t>(nd), -1);
  for (std::int64_t j = 0, k = 0; j < nd; ++j) {
    if (std::find(r.dims.begin(), r.dims.end(), j) != r.dims.end()) continue;
    if (k == at) k += nb;
    out_dim[static_cast<std::size_t>(j)] = k++;
  }
  shape.assign(static_cast<std::size_t>(nd - static_cast<std::int64_t>(r.dims.size()) + nb), 0);
  for (std::int64_t j = 0; j < nd; ++j) {
    const std::int64_t k = out_dim[static_cast<std::size_t>(j)];
    if (k < 0) continue;
    shape[static_cast<std::size_t>(k)] = x.size(j);
    pos[static_cast<std::size_t>(j)] = detail::arange_at(x.size(j), k, static_cast<std::int64_t>(shape.size()));
  }
  std::copy(b.begin(), b.end(), shape.begin() + at);
  for (std::size_t k = 0; k < r.dims.size(); ++k) {
    const Tensor& t = r.tensors[k];
    Shape s(shape.size(), 1);
    std::copy(t.sizes().begin(), t.sizes().end(), s.begin() + at + nb - t.dim());
    pos[static_cast<std::size_t>(r.dims[k])] = t.reshape(s);
  }
  return {shape, pos};
}

// Linear indices into self of the elements self[indices] names, in the result's shape.
Tensor linear_index_of(const Tensor& self, const std::vector<TensorIndex>& indices, const char* op) {
  // Only the geometry is used: apply the indices to a tensor with self's sizes and contiguous
  // strides, whose offsets and strides then count self's elements in row-major order.
  const Tensor layout = detail::alias(zeros({1}, kInt64), self.sizes(), contiguous_strides(self.sizes()), 0);
  const BasicApplied r = apply_basic(layout, indices, op);
  const auto [shape, pos] = positions(r, op);
  return detail::linear_index(shape, pos, r.view.strides(), r.view.storage_offset());
}

Tensor checked_values(const Tensor& self, const Tensor& lin, const Tensor& values, const char* op) {
  detail::check_defined(values, op, "values");
  const Shape& want = lin.sizes();
  const std::int64_t lead = static_cast<std::int64_t>(want.size()) - values.dim();
  bool fits = lead >= 0;
  for (std::int64_t d = 0; fits && d < values.dim(); ++d) {
    fits = values.size(d) == 1 || values.size(d) == want[static_cast<std::size_t>(lead + d)];
  }
  VOXGRAD_CHECK(fits, "{}: shape mismatch: value tensor of shape {} cannot be broadcast to indexing result of shape {}",
                op, shape_str(values.sizes()), shape_str(lin.sizes()));
  return values.to(self.dtype());
}

}  // namespace

Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices) {
  detail::check_defined(self, "index");
  BasicApplied r = apply_basic(self, indices, "index");
  if (r.dims.empty()) return r.view;
  const auto [shape, pos] = positions(r, "index");
  return detail::take(r.view, detail::linear_index(shape, pos, contiguous_strides(r.view.sizes())));
}

Tensor index_put(const Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& values, bool accumulate) {
  detail::check_defined(self, "index_put");
  const Tensor lin = linear_index_of(self, indices, "index_put");
  const Tensor v = checked_values(self, lin, values, "index_put");
  return accumulate ? self + detail::take_add(v, lin, self.sizes()) : detail::take_put(self, lin, v);
}

Tensor index_put(const Tensor& self, const std::vector<TensorIndex>& indices, double value, bool accumulate) {
  detail::check_defined(self, "index_put");
  return index_put(self, indices, full({}, value, self.dtype()), accumulate);
}

Tensor& index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& values, bool accumulate) {
  detail::check_defined(self, "index_put_");
  detail::check_defined(values, "index_put_", "values");
  autograd::inplace_needs_record(self, {&values}, "index_put_");  // PyTorch's leaf errors, named index_put_
  if (!accumulate) {
    // Basic indexing names a view of self: copy into it (broadcast, converted), through its strides;
    // autograd records it on the view (CopySlices, see autograd/inplace.h).
    BasicApplied r = apply_basic(self, indices, "index_put_");
    if (r.dims.empty()) {
      detail::recorded_copy(r.view, values, "index_put_");
      return self;
    }
  }
  // Computed out of place (differentiably) and copied back, so the in-place rules (autograd,
  // overlap, version) are those of copy_: the gradient flows through the out-of-place result.
  detail::recorded_copy(self, index_put(self, indices, values, accumulate), "index_put_");
  return self;
}

Tensor& index_put_(Tensor& self, const std::vector<TensorIndex>& indices, double value, bool accumulate) {
  detail::check_defined(self, "index_put_");
  return index_put_(self, indices, full({}, value, self.dtype()), accumulate);
}

Tensor index_select(const Tensor& self, std::int64_t dim, const Tensor& index) {
  detail::check_defined(self, "index_select");
  detail::check_defined(index, "index_select", "index");
  VOXGRAD_CHECK(index.dtype() == kInt64, "index_select: expected an int64 index, but got {}", index.dtype());
  VOXGRAD_CHECK(index.dim() <= 1, "index_select: index is supposed to be a vector, but got a tensor of shape {}",
                shape_str(index.sizes()));
  const Tensor x = self.dim() == 0 ? self.reshape({1}) : self;
  const std::int64_t d = wrap_dim(dim, x.dim(), "index_select");
  const Tensor idx = detail::check_index_values(index.reshape({-1}), x.size(d), d, false, "index_select");
  std::vector<TensorIndex> list(static_cast<std::size_t>(d), indexing::Slice());
  list.emplace_back(idx);
  const Tensor out = voxgrad::index(x, list);
  return self.dim() == 0 ? out.reshape(index.sizes()) : out;
}

Tensor masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value) {
  detail::check_defined(self, "masked_fill");
  detail::check_defined(value, "masked_fill", "value");
  detail::check_floating(self, "masked_fill");
  VOXGRAD_CHECK(value.dim() == 0,
                "masked_fill: only supports a 0-dimensional value tensor, but got a tensor of shape {}",
                shape_str(value.sizes()));
  check_mask(mask, "masked_fill");
  return where(mask, value.to(self.dtype()), self);
}

Tensor masked_fill(const Tensor& self, const Tensor& mask, double value) {
  detail::check_defined(self, "masked_fill");
  return masked_fill(self, mask, full({}, value, self.dtype()));
}

Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Tensor& value) {
  detail::check_defined(self, "masked_fill_");
  autograd::inplace_needs_record(self, {&value}, "masked_fill_");
  detail::recorded_copy(self, masked_fill(self, mask, value), "masked_fill_");  // as index_put_: copy_'s in-place rules
  return self;
}

Tensor& masked_fill_(Tensor& self, const Tensor& mask, double value) {
  detail::check_defined(self, "masked_fill_");
  return masked_fill_(self, mask, full({}, value, self.dtype()));
}

Tensor nonzero(const Tensor& self) {
  detail::check_defined(self, "nonzero");
  const Tensor c = self.contiguous();
  const std::int64_t nd = c.dim();
  std::vector<std::int64_t> out;
  detail::dispatch_all(c.dtype(), [&]<typename T>() {
    const T* p = c.data_ptr<T>();
    const Shape& sizes = c.sizes();
    const std::int64_t n = c.numel();
    Shape idx(static_cast<std::size_t>(nd), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      if (p[i] != T(0)) out.insert(out.end(), idx.begin(), idx.end());
      for (std::size_t d = idx.size(); d-- > 0 && ++idx[d] == sizes[d];) idx[d] = 0;
    }
  });
  const std::int64_t count =
      nd == 0 ? (c.numel() == 1 && c.item<double>() != 0.0) : static_cast<std::int64_t>(out.size()) / nd;
  return from_blob(out.data(), {count, nd});
}

namespace {

// self and mask broadcast to one shape, the mask as a float 0/1 tensor (an index() mask).
std::pair<Tensor, Tensor> broadcast_with_mask(const Tensor& self, const Tensor& mask, const char* op) {
  detail::check_defined(self, op);
  check_mask(mask, op);
  const Shape shape = broadcast_shapes(self.sizes(), mask.sizes(), op);
  const Tensor m = mask.dtype() == kInt64 ? mask.to(kFloat64) : mask;
  return {self.expand(shape), m.expand(shape)};
}

}  // namespace

Tensor masked_select(const Tensor& self, const Tensor& mask) {
  const auto [x, m] = broadcast_with_mask(self, mask, "masked_select");
  return index(x, {m});
}

Tensor masked_scatter(const Tensor& self, const Tensor& mask, const Tensor& source) {
  const char* op = "masked_scatter";
  detail::check_defined(self, op);
  detail::check_defined(source, op, "source");
  VOXGRAD_CHECK(self.dtype() == source.dtype(), "{}: expected self and source of one dtype, but got {} and {}", op,
                self.dtype(), source.dtype());
  const auto [x, m] = broadcast_with_mask(self, mask, op);
  const std::int64_t count = count_nonzero(m).item<std::int64_t>();
  VOXGRAD_CHECK(source.numel() >= count,
                "{}: source has {} elements, fewer than the {} ones of the mask (broadcast to shape {})", op,
                source.numel(), count, shape_str(m.sizes()));
  // The mask's positions in row-major order take source's first elements in row-major order. x is made
  // contiguous first: index_put's positions are in the layout of its input, and an expanded x has stride 0.
  return index_put(x.contiguous(), {m}, source.reshape({-1}).narrow(0, 0, count));
}

}  // namespace voxgrad
