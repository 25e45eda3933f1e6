#include "voxgrad/ops/shape_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/inplace.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/tensor_impl.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/loops.h"
#include "voxgrad/ops/detail/relu_rule.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::BackwardFn;
using autograd::record;

// --- internal building blocks ------------------------------------------------------------------

namespace detail {

void check_defined(const Tensor& t, const char* op, const char* arg) {
  VOXGRAD_CHECK(t.defined(), "{}: argument '{}' is an undefined tensor", op, arg);
}

void check_non_negative_arg(std::int64_t value, const char* op, const char* what) {
  VOXGRAD_CHECK(value >= 0, "{}: {} must be non-negative, but got {}", op, what, value);
}

void check_floating(const Tensor& t, const char* op) {
  if (!is_floating_point(t.dtype())) throw_not_floating(t.dtype(), op, "input");
}

Tensor alias(const Tensor& t, Shape sizes, Shape strides, std::int64_t offset) {
  return Tensor(
      std::make_shared<TensorImpl>(t.impl()->storage, std::move(sizes), std::move(strides), offset, t.dtype()));
}

void copy_into(const Tensor& dst, const Tensor& src, const char* op) {
  const Shape& shape = dst.sizes();
  VOXGRAD_CHECK(broadcast_shapes(shape, src.sizes(), op) == shape,
                "{}: source of shape {} cannot be broadcast to the destination's shape {}", op, shape_str(src.sizes()),
                shape_str(shape));
  dispatch_all(dst.dtype(), [&]<typename D>() {
    dispatch_all(src.dtype(), [&]<typename S>() {
      const StridedShape<2> it(shape, {dst.strides(), broadcast_strides(src.sizes(), src.strides(), shape)});
      D* pd = dst.data_ptr<D>();
      const S* ps = src.data_ptr<S>();
      it.parallel([&](const auto& off, std::int64_t n, const auto& st) {
        D* d = pd + off[0];
        const S* s = ps + off[1];
        if (st[0] == 1 && st[1] == 1) {
          for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(s[i]);
        } else {
          for (std::int64_t i = 0; i < n; ++i) d[i * st[0]] = static_cast<D>(s[i * st[1]]);
        }
      });
    });
  });
}

namespace {

void check_inplace(const Tensor& self, const char* name) {
  check_defined(self, name);
  for (std::size_t d = 0; d < self.sizes().size(); ++d) {
    VOXGRAD_CHECK(self.strides()[d] != 0 || self.sizes()[d] <= 1,
                  "{}: unsupported operation: more than one element of the written-to tensor "
                  "refers to a single memory location (an expanded tensor); clone() it first",
                  name);
  }
}

}  // namespace

void inplace_binary(Tensor& self, const Tensor& other, InplaceOp op, double alpha, const char* name) {
  check_inplace(self, name);
  check_defined(other, name, "other");
  const Shape& shape = self.sizes();
  VOXGRAD_CHECK(broadcast_shapes(shape, other.sizes(), name) == shape,
                "{}: output with shape {} doesn't match the broadcast shape {}", name, shape_str(shape),
                shape_str(broadcast_shapes(shape, other.sizes(), name)));
  // Reading from memory that this op also writes, in another layout, would race: copy it first.
  Tensor src = other;
  const bool same_layout = other.storage_offset() == self.storage_offset() && other.sizes() == self.sizes() &&
                           other.strides() == self.strides();
  if (other.impl()->storage == self.impl()->storage && !same_layout) {
    NoGradGuard guard;
    src = other.clone();
  }
  if (op == InplaceOp::Copy) {
    copy_into(self, src, name);
  } else {
    if (src.dtype() != self.dtype()) {
      NoGradGuard guard;
      src = src.to(self.dtype());
    }
    dispatch_floating(self.dtype(), name, [&]<typename T>() {
      const StridedShape<2> it(shape, {self.strides(), broadcast_strides(src.sizes(), src.strides(), shape)});
      T* pd = self.data_ptr<T>();
      const T* ps = src.data_ptr<T>();
      const T a = static_cast<T>(alpha);
      it.parallel([&](const auto& off, std::int64_t n, const auto& st) {
        T* d = pd + off[0];
        const T* s = ps + off[1];
        switch (op) {
          case InplaceOp::Add:
            if (alpha == 1.0)
              for (std::int64_t i = 0; i < n; ++i) d[i * st[0]] += s[i * st[1]];
            else
              for (std::int64_t i = 0; i < n; ++i) d[i * st[0]] += a * s[i * st[1]];
            break;
          case InplaceOp::Mul:
            for (std::int64_t i = 0; i < n; ++i) d[i * st[0]] *= s[i * st[1]];
            break;
          case InplaceOp::Div:
            for (std::int64_t i = 0; i < n; ++i) d[i * st[0]] /= s[i * st[1]];
            break;
          default: break;
        }
      });
    });
  }
  self.impl()->storage->bump_version();
}

void inplace_scalar(Tensor& self, InplaceOp op, double value, const char* name) {
  check_inplace(self, name);
  auto run = [&]<typename T>() {
    const StridedShape<1> it(self.sizes(), {self.strides()});
    T* pd = self.data_ptr<T>();
    const T v = static_cast<T>(value);
    it.parallel([&](const auto& off, std::int64_t n, const auto& st) {
      T* d = pd + off[0];
      const std::int64_t s = st[0];
      switch (op) {
        case InplaceOp::Fill:
          for (std::int64_t i = 0; i < n; ++i) d[i * s] = v;
          break;
        case InplaceOp::Add:
          for (std::int64_t i = 0; i < n; ++i) d[i * s] += v;
          break;
        case InplaceOp::Mul:
          for (std::int64_t i = 0; i < n; ++i) d[i * s] *= v;
          break;
        case InplaceOp::Div:
          for (std::int64_t i = 0; i < n; ++i) d[i * s] /= v;
          break;
        case InplaceOp::Relu:  // as relu(): NaN passes, negatives become +0
          for (std::int64_t i = 0; i < n; ++i) d[i * s] = relu_value(d[i * s]);
          break;
        case InplaceOp::LeakyRelu:  // as leaky_relu() with slope v
          for (std::int64_t i = 0; i < n; ++i) d[i * s] = d[i * s] > T(0) ? d[i * s] : d[i * s] * v;
          break;
        case InplaceOp::Elu:  // as elu() with alpha v
          for (std::int64_t i = 0; i < n; ++i) d[i * s] = d[i * s] > T(0) ? d[i * s] : v * (std::exp(d[i * s]) - T(1));
          break;
        default: break;
      }
    });
  };
  if (op == InplaceOp::Fill)
    dispatch_all(self.dtype(), run);
  else
    dispatch_floating(self.dtype(), name, run);
  self.impl()->storage->bump_version();
}

}  // namespace detail

namespace {

// A view of `a` recorded with `backward`.
Tensor make_view(const Tensor& a, Shape sizes, Shape strides, std::int64_t offset, const char* name,
                 BackwardFn backward) {
  Tensor out = detail::alias(a, std::move(sizes), std::move(strides), offset);
  out.impl()->view = autograd::make_view_meta(a);
  record(name, a, out, {}, std::move(backward));
  return out;
}

BackwardFn reshape_back(Shape sizes) {
  return [sizes = std::move(sizes)](const BackwardCtx& c) { return std::vector<Tensor>{c.grad().reshape(sizes)}; };
}

// Resolves one -1 and checks the element count.
Shape infer_size(IntArrayRef sizes, std::int64_t numel, const char* op) {
  Shape out = sizes.vec();
  std::int64_t known = 1;
  std::optional<std::size_t> infer;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      VOXGRAD_CHECK(!infer.has_value(), "{}: only one dimension can be inferred", op);
      infer = i;
    } else {
      VOXGRAD_CHECK(out[i] >= 0, "{}: invalid shape dimension {}", op, out[i]);
      VOXGRAD_CHECK(!__builtin_mul_overflow(known, out[i], &known), "{}: shape {} is too large", op, shape_str(sizes));
    }
  }
  const bool fits = infer ? known != 0 && numel % known == 0 : known == numel;
  VOXGRAD_CHECK(fits, "{}: shape '{}' is invalid for input of size {}", op, shape_str(sizes), numel);
  if (infer) out[*infer] = numel / known;
  return out;
}

// Strides that let `new_sizes` view memory laid out as (sizes, strides), if any (PyTorch's rule:
// each group of merged/split dims must be contiguous within itself).
std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& new_sizes) {
  if (sizes.empty()) return Shape(new_sizes.size(), 1);
  std::int64_t numel = 1;
  for (std::int64_t s : sizes) numel *= s;
  if (numel == 0) return contiguous_strides(new_sizes);
  Shape out(new_sizes.size());
  std::int64_t view_d = static_cast<std::int64_t>(new_sizes.size()) - 1;
  std::int64_t chunk_base_stride = strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= sizes[d];
    if (d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_sizes[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

void check_not_scalar(const Tensor& a, const char* op) {
  VOXGRAD_CHECK(a.dim() > 0, "{}: cannot be applied to a 0-dim tensor", op);
}

struct SliceBounds {
  std::int64_t dim, start, end, step, length;
};

SliceBounds normalize_slice(const Tensor& a, std::int64_t dim, std::optional<std::int64_t> start,
                            std::optional<std::int64_t> end, std::int64_t step, const char* op) {
  check_not_scalar(a, op);
  const std::int64_t d = wrap_dim(dim, a.dim(), op);
  VOXGRAD_CHECK(step > 0, "{}: slice step must be positive, but got {}", op, step);
  const std::int64_t size = a.sizes()[d];
  auto clampi = [size](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + size : v, 0, size); };
  const std::int64_t s = clampi(start.value_or(0));
  const std::int64_t e = std::max(s, clampi(end.value_or(size)));
  // ceil((e − s) / step) without forming e − s + step − 1, which overflows for a step near INT64_MAX.
  return {d, s, e, step, e == s ? 0 : (e - s - 1) / step + 1};
}

}  // namespace

// --- views --------------------------------------------------------------------------------------

Tensor view(const Tensor& a, IntArrayRef sizes) {
  detail::check_defined(a, "view");
  const Shape new_sizes = infer_size(sizes, a.numel(), "view");
  const std::optional<Shape> strides = view_strides(a.sizes(), a.strides(), new_sizes);
  VOXGRAD_CHECK(strides.has_value(),
                "view: size {} is not compatible with the input tensor's size {} and stride {} (at "
                "least one dimension spans across two contiguous subspaces); use reshape() instead",
                shape_str(new_sizes), shape_str(a.sizes()), shape_str(a.strides()));
  return make_view(a, new_sizes, *strides, a.storage_offset(), "ViewBackward", reshape_back(a.sizes()));
}

Tensor reshape(const Tensor& a, IntArrayRef sizes) {
  detail::check_defined(a, "reshape");
  const Shape new_sizes = infer_size(sizes, a.numel(), "reshape");
  if (view_strides(a.sizes(), a.strides(), new_sizes)) return view(a, new_sizes);
  return view(clone(a), new_sizes);
}

Tensor flatten(const Tensor& a, std::int64_t start_dim, std::int64_t end_dim) {
  detail::check_defined(a, "flatten");
  if (a.dim() == 0) return reshape(a, {1});
  const std::int64_t s = wrap_dim(start_dim, a.dim(), "flatten");
  const std::int64_t e = wrap_dim(end_dim, a.dim(), "flatten");
  VOXGRAD_CHECK(s <= e, "flatten: start_dim ({}) cannot come after end_dim ({})", s, e);
  if (s == e) return a;
  Shape sizes(a.sizes().begin(), a.sizes().begin() + s);
  std::int64_t merged = 1;
  for (std::int64_t d = s; d <= e; ++d) merged *= a.sizes()[d];
  sizes.push_back(merged);
  sizes.insert(sizes.end(), a.sizes().begin() + e + 1, a.sizes().end());
  return reshape(a, sizes);
}

Tensor permute(const Tensor& a, IntArrayRef dims) {
  detail::check_defined(a, "permute");
  const std::int64_t nd = a.dim();
  VOXGRAD_CHECK(static_cast<std::int64_t>(dims.size()) == nd,
                "permute: number of dims don't match (got {} dims for a tensor of shape {})", dims.size(),
                shape_str(a.sizes()));
  Shape sizes(nd), strides(nd), inverse(nd);
  std::vector<bool> seen(nd, false);
  for (std::int64_t i = 0; i < nd; ++i) {
    const std::int64_t d = wrap_dim(dims[i], nd, "permute");
    VOXGRAD_CHECK(!seen[d], "permute: repeated dim {} in {}", d, shape_str(dims));
    seen[d] = true;
    sizes[i] = a.sizes()[d];
    strides[i] = a.strides()[d];
    inverse[d] = i;
  }
  return make_view(a, sizes, strides, a.storage_offset(), "PermuteBackward",
                   [inverse](const BackwardCtx& c) { return std::vector<Tensor>{c.grad().permute(inverse)}; });
}

Tensor movedim(const Tensor& a, IntArrayRef source, IntArrayRef destination) {
  detail::check_defined(a, "movedim");
  VOXGRAD_CHECK(source.size() == destination.size(),
                "movedim: source {} and destination {} must name the same number of dims", shape_str(source),
                shape_str(destination));
  const std::int64_t nd = a.dim(), slots = std::max<std::int64_t>(nd, 1);  // a 0-d tensor has dim 0 (or -1)
  Shape perm(slots, -1);
  std::vector<bool> moved(slots, false);
  for (std::size_t i = 0; i < source.size(); ++i) {
    check_in_range(source[i], -slots, slots - 1, "movedim", "source dim");
    check_in_range(destination[i], -slots, slots - 1, "movedim", "destination dim");
    const std::int64_t s = source[i] < 0 ? source[i] + slots : source[i];
    const std::int64_t d = destination[i] < 0 ? destination[i] + slots : destination[i];
    VOXGRAD_CHECK(!moved[s], "movedim: repeated dim {} in source {}", s, shape_str(source));
    VOXGRAD_CHECK(perm[d] < 0, "movedim: repeated dim {} in destination {}", d, shape_str(destination));
    perm[d] = s;
    moved[s] = true;
  }
  if (nd == 0) return permute(a, {});
  for (std::int64_t d = 0, next = 0; d < nd; ++d) {
    if (perm[d] >= 0) continue;
    while (moved[next]) ++next;
    perm[d] = next++;
  }
  return permute(a, perm);
}

Tensor diagonal(const Tensor& a, std::int64_t offset, std::int64_t dim1, std::int64_t dim2) {
  detail::check_defined(a, "diagonal");
  VOXGRAD_CHECK(a.dim() >= 2, "diagonal: the input needs at least 2 dims, but has shape {}", shape_str(a.sizes()));
  const std::int64_t d1 = wrap_dim(dim1, a.dim(), "diagonal"), d2 = wrap_dim(dim2, a.dim(), "diagonal");
  VOXGRAD_CHECK(d1 != d2, "diagonal: dim1 ({}) and dim2 ({}) name the same dim {} of shape {}", dim1, dim2, d1,
                shape_str(a.sizes()));
  const Shape &in = a.sizes(), &st = a.strides();
  // Element i is a[.., i, .., i + offset, ..] (offset ≥ 0) or a[.., i − offset, .., i, ..]; neither sum
  // overflows, the sizes being non-negative.
  const std::int64_t length =
      std::max<std::int64_t>(offset >= 0 ? std::min(in[d1], in[d2] - offset) : std::min(in[d1] + offset, in[d2]), 0);
  Shape sizes, strides;
  for (std::int64_t d = 0; d < a.dim(); ++d) {
    if (d == d1 || d == d2) continue;
    sizes.push_back(in[d]);
    strides.push_back(st[d]);
  }
  // As in slice(): a view with no elements keeps the input's offset and never reads its strides (an
  // empty tensor's may have saturated), and a single element never steps.
  const bool empty = length == 0 || a.numel() == 0;
  sizes.push_back(length);
  strides.push_back(empty || length == 1 ? 1 : st[d1] + st[d2]);
  const std::int64_t start = empty ? 0 : (offset >= 0 ? offset * st[d2] : -offset * st[d1]);
  return make_view(a, sizes, strides, a.storage_offset() + start, "DiagonalBackward",
                   [offset, d1, d2, in](const BackwardCtx& c) {
                     return std::vector<Tensor>{diagonal_backward(c.grad(), in, offset, d1, d2)};
                   });
}

Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1) {
  detail::check_defined(a, "transpose");
  const std::int64_t nd = a.dim();
  const std::int64_t d0 = wrap_dim(dim0, nd, "transpose"), d1 = wrap_dim(dim1, nd, "transpose");
  if (nd == 0) return make_view(a, {}, {}, a.storage_offset(), "TransposeBackward", reshape_back({}));
  Shape perm(nd);
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[d0], perm[d1]);
  return permute(a, perm);
}

Tensor t(const Tensor& a) {
  detail::check_defined(a, "t");
  VOXGRAD_CHECK(a.dim() <= 2, "t: expects a tensor with <= 2 dimensions, but got shape {}", shape_str(a.sizes()));
  return a.dim() < 2 ? transpose(a, 0, 0) : transpose(a, 0, 1);
}

Tensor squeeze(const Tensor& a) {
  detail::check_defined(a, "squeeze");
  Shape sizes, strides;
  for (std::int64_t d = 0; d < a.dim(); ++d) {
    if (a.sizes()[d] == 1) continue;
    sizes.push_back(a.sizes()[d]);
    strides.push_back(a.strides()[d]);
  }
  return make_view(a, sizes, strides, a.storage_offset(), "SqueezeBackward", reshape_back(a.sizes()));
}

Tensor squeeze(const Tensor& a, std::int64_t dim) {
  detail::check_defined(a, "squeeze");
  const std::int64_t d = wrap_dim(dim, a.dim(), "squeeze");
  Shape sizes = a.sizes(), strides = a.strides();
  if (a.dim() > 0 && sizes[d] == 1) {
    sizes.erase(sizes.begin() + d);
    strides.erase(strides.begin() + d);
  }
  return make_view(a, sizes, strides, a.storage_offset(), "SqueezeBackward", reshape_back(a.sizes()));
}

Tensor unsqueeze(const Tensor& a, std::int64_t dim) {
  detail::check_defined(a, "unsqueeze");
  const std::int64_t nd = a.dim();
  const std::int64_t d = wrap_dim(dim, nd + 1, "unsqueeze");
  Shape sizes = a.sizes(), strides = a.strides();
  // Empty tensors may carry saturated strides: saturate here too rather than overflow.
  std::int64_t stride = 1;
  if (d < nd && __builtin_mul_overflow(sizes[d], strides[d], &stride))
    stride = std::numeric_limits<std::int64_t>::max();
  sizes.insert(sizes.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return make_view(a, sizes, strides, a.storage_offset(), "UnsqueezeBackward", reshape_back(a.sizes()));
}

Tensor slice(const Tensor& a, std::int64_t dim, std::optional<std::int64_t> start, std::optional<std::int64_t> end,
             std::int64_t step) {
  detail::check_defined(a, "slice");
  const SliceBounds b = normalize_slice(a, dim, start, end, step, "slice");
  Shape sizes = a.sizes(), strides = a.strides();
  sizes[b.dim] = b.length;
  // With one element or none the stride is never used (and stride · step may not fit int64); with
  // two or more, step < size, so stride · step stays within the input's span.
  if (b.length > 1) strides[b.dim] *= b.step;
  // A view with no elements never reads its offset, and the strides of an empty tensor may have
  // saturated at INT64_MAX (contiguous_strides): it keeps the input's offset instead of start · stride.
  const bool empty = std::find(sizes.begin(), sizes.end(), 0) != sizes.end();
  const std::int64_t offset = a.storage_offset() + (empty ? 0 : b.start * a.strides()[b.dim]);
  return make_view(a, sizes, strides, offset, "SliceBackward", [b, in = a.sizes()](const BackwardCtx& c) {
    return std::vector<Tensor>{slice_backward(c.grad(), in, b.dim, b.start, b.end, b.step)};
  });
}

Tensor narrow(const Tensor& a, std::int64_t dim, std::int64_t start, std::int64_t length) {
  detail::check_defined(a, "narrow");
  check_not_scalar(a, "narrow");
  const std::int64_t d = wrap_dim(dim, a.dim(), "narrow");
  const std::int64_t size = a.sizes()[d];
  check_in_range(start, -size, size, "narrow", "start");
  detail::check_non_negative_arg(length, "narrow", "length");
  const std::int64_t s = start < 0 ? start + size : start;
  VOXGRAD_CHECK(s <= size - length, "narrow: start ({}) + length ({}) exceeds dimension size ({})", s, length, size);
  return slice(a, d, s, s + length, 1);
}

Tensor select(const Tensor& a, std::int64_t dim, std::int64_t index) {
  detail::check_defined(a, "select");
  check_not_scalar(a, "select");
  const std::int64_t d = wrap_dim(dim, a.dim(), "select");
  const std::int64_t size = a.sizes()[d];
  VOXGRAD_CHECK(index >= -size && index < size, "select: index {} out of range for tensor of size {} at dimension {}",
                index, shape_str(a.sizes()), d);
  const std::int64_t i = index < 0 ? index + size : index;
  Shape sizes = a.sizes(), strides = a.strides();
  sizes.erase(sizes.begin() + d);
  strides.erase(strides.begin() + d);
  // As in slice(): an empty result keeps the input's offset (its strides may have saturated).
  const bool empty = a.numel() == 0;
  return make_view(a, sizes, strides, a.storage_offset() + (empty ? 0 : i * a.strides()[d]), "SelectBackward",
                   [d, i, in = a.sizes()](const BackwardCtx& c) {
                     return std::vector<Tensor>{slice_backward(c.grad().unsqueeze(d), in, d, i, i + 1, 1)};
                   });
}

Tensor expand(const Tensor& a, IntArrayRef sizes) {
  detail::check_defined(a, "expand");
  const std::int64_t nd = static_cast<std::int64_t>(sizes.size()), td = a.dim();
  VOXGRAD_CHECK(nd >= td,
                "expand: the number of sizes provided ({}) must be greater or equal to the number "
                "of dimensions in the tensor ({})",
                nd, td);
  Shape out_sizes(nd), out_strides(nd);
  for (std::int64_t i = nd - 1; i >= 0; --i) {
    const std::int64_t d = td - (nd - i);
    std::int64_t size = d >= 0 ? a.sizes()[d] : 1;
    std::int64_t stride = d >= 0 ? a.strides()[d] : (i == nd - 1 ? 1 : out_sizes[i + 1] * out_strides[i + 1]);
    std::int64_t target = sizes[i];
    if (target == -1) {
      VOXGRAD_CHECK(d >= 0, "expand: the expanded size -1 isn't allowed in a leading, non-existing dimension {}", i);
      target = size;
    }
    VOXGRAD_CHECK(target >= 0, "expand: the expanded size of the tensor ({}) isn't allowed", target);
    if (size != target) {
      VOXGRAD_CHECK(size == 1,
                    "expand: the expanded size of the tensor ({}) must match the existing size "
                    "({}) at non-singleton dimension {}. Target sizes: {}. Tensor sizes: {}",
                    target, size, i, shape_str(sizes), shape_str(a.sizes()));
      size = target;
      stride = 0;
    }
    out_sizes[i] = size;
    out_strides[i] = stride;
  }
  // A view allocates nothing, but one whose elements int64 cannot count could not be indexed,
  // reduced or copied by any op: refuse it here, where the sizes come from.
  checked_numel(out_sizes, "expand");
  return make_view(a, out_sizes, out_strides, a.storage_offset(), "ExpandBackward",
                   [in = a.sizes()](const BackwardCtx& c) { return std::vector<Tensor>{c.grad().sum_to_size(in)}; });
}

// --- copies -------------------------------------------------------------------------------------

Tensor clone(const Tensor& a) {
  detail::check_defined(a, "clone");
  Tensor out = empty(a.sizes(), a.dtype());
  detail::copy_into(out, a, "clone");
  record("CloneBackward", a, out, {}, [](const BackwardCtx& c) { return std::vector<Tensor>{c.grad()}; });
  return out;
}

Tensor contiguous(const Tensor& a) {
  detail::check_defined(a, "contiguous");
  return a.is_contiguous() ? a : clone(a);
}

Tensor to(const Tensor& a, DType dtype) {
  detail::check_defined(a, "to");
  if (a.dtype() == dtype) return a;
  Tensor out = empty(a.sizes(), dtype);
  detail::copy_into(out, a, "to");
  if (is_floating_point(dtype)) {
    record("ToCopyBackward", a, out, {},
           [src = a.dtype()](const BackwardCtx& c) { return std::vector<Tensor>{c.grad().to(src)}; });
  }
  return out;
}

namespace {

// Zeros of input_sizes with grad written through view(zeros): the adjoint of a view op, itself differentiable
// (its gradient is the same view of the incoming one).
template <typename View>
Tensor into_zeros_through(const Tensor& grad, IntArrayRef input_sizes, const char* op, const char* node, View view) {
  detail::check_defined(grad, op, "grad");
  Tensor out = zeros(input_sizes, grad.dtype());
  {
    NoGradGuard guard;
    detail::copy_into(view(out), grad, op);
  }
  record(node, grad, out, {}, [view](const BackwardCtx& c) { return std::vector<Tensor>{view(c.grad())}; });
  return out;
}

}  // namespace

Tensor slice_backward(const Tensor& grad, IntArrayRef input_sizes, std::int64_t dim, std::int64_t start,
                      std::int64_t end, std::int64_t step) {
  return into_zeros_through(grad, input_sizes, "slice_backward", "SliceBackwardBackward",
                            [=](const Tensor& t) { return slice(t, dim, start, end, step); });
}

Tensor diagonal_backward(const Tensor& grad, IntArrayRef input_sizes, std::int64_t offset, std::int64_t dim1,
                         std::int64_t dim2) {
  return into_zeros_through(grad, input_sizes, "diagonal_backward", "DiagonalBackwardBackward",
                            [=](const Tensor& t) { return diagonal(t, offset, dim1, dim2); });
}

}  // namespace voxgrad
