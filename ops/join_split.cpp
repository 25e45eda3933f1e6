#include "voxgrad/ops/join_split.h"

#include <string>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;

namespace {

void check_non_empty_list(const std::vector<Tensor>& tensors, const char* op) {
  VOXGRAD_CHECK(!tensors.empty(), "{}: expected a non-empty list of tensors", op);
}

void check_list_entry(const std::vector<Tensor>& tensors, std::size_t i, const char* op) {
  VOXGRAD_CHECK(tensors[i].defined(), "{}: tensor {} in the list is undefined", op, i);
}

// The dim `dim` of a tensor with at least one dim, wrapped; throws naming `op` otherwise.
std::int64_t split_dim(const Tensor& a, std::int64_t dim, const char* op) {
  detail::check_defined(a, op);
  VOXGRAD_CHECK(a.dim() > 0, "{}: expected a tensor with at least one dim, but got a 0-d tensor", op);
  return wrap_dim(dim, a.dim(), op);
}

// Consecutive views of `sizes` along the wrapped dim d.
std::vector<Tensor> views_of_sizes(const Tensor& a, const Shape& sizes, std::int64_t d) {
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  std::int64_t start = 0;
  for (const std::int64_t len : sizes) {
    out.push_back(a.narrow(d, start, len));
    start += len;
  }
  return out;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  check_non_empty_list(tensors, "cat");
  DType dtype = tensors[0].defined() ? tensors[0].dtype() : kFloat32;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    check_list_entry(tensors, i, "cat");
    VOXGRAD_CHECK(tensors[i].dim() > 0, "cat: zero-dimensional tensor (at position {}) cannot be concatenated", i);
    dtype = promote_types(dtype, tensors[i].dtype());
  }
  const Tensor& first = tensors[0];
  const std::int64_t d = wrap_dim(dim, first.dim(), "cat");
  Shape out_sizes = first.sizes();
  out_sizes[d] = 0;
  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    VOXGRAD_CHECK(t.dim() == first.dim(),
                  "cat: tensors must have the same number of dimensions: got {} and {} (tensor {})", first.dim(),
                  t.dim(), i);
    for (std::int64_t k = 0; k < t.dim(); ++k) {
      VOXGRAD_CHECK(k == d || t.sizes()[k] == first.sizes()[k],
                    "cat: sizes of tensors must match except in dimension {}. Expected size {} but "
                    "got size {} for tensor number {} in the list",
                    d, first.sizes()[k], t.sizes()[k], i);
    }
    out_sizes[d] = checked_add(out_sizes[d], t.sizes()[d], "cat");
    inputs.push_back(t.to(dtype));
  }
  checked_numel(out_sizes, "cat");
  Tensor out = empty(out_sizes, dtype);
  std::vector<std::int64_t> offsets, lengths;
  {
    NoGradGuard guard;
    std::int64_t offset = 0;
    for (const Tensor& t : inputs) {
      offsets.push_back(offset);
      lengths.push_back(t.sizes()[d]);
      detail::copy_into(narrow(out, d, offset, t.sizes()[d]), t, "cat");
      offset += t.sizes()[d];
    }
  }
  Tensor outs[1] = {out};
  record("CatBackward", inputs, outs, {}, [d, offsets, lengths](const BackwardCtx& c) {
    std::vector<Tensor> g(offsets.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (c.needs_input_grad(i)) g[i] = c.grad().narrow(d, offsets[i], lengths[i]);
    }
    return g;
  });
  return outs[0];
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  check_non_empty_list(tensors, "stack");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    check_list_entry(tensors, i, "stack");
    VOXGRAD_CHECK(tensors[i].sizes() == tensors[0].sizes(),
                  "stack: expects each tensor to be equal size, but got {} at entry 0 and {} at entry {}",
                  shape_str(tensors[0].sizes()), shape_str(tensors[i].sizes()), i);
  }
  const std::int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  expanded.reserve(tensors.size());
  for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(d));
  return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& a, std::int64_t split_size, std::int64_t dim) {
  const std::int64_t d = split_dim(a, dim, "split"), size = a.size(d);
  VOXGRAD_CHECK(split_size >= 0, "split: split_size must be non-negative, but got {}", split_size);
  VOXGRAD_CHECK(split_size > 0 || size == 0, "split: split_size can be 0 only if dim {} is empty, but its size is {}",
                d, size);
  Shape sizes;
  for (std::int64_t start = 0; start < size; start += split_size) sizes.push_back(std::min(split_size, size - start));
  if (sizes.empty()) sizes.push_back(0);  // an empty dim: one empty view
  return views_of_sizes(a, sizes, d);
}

std::vector<Tensor> split(const Tensor& a, IntArrayRef split_sizes, std::int64_t dim) {
  const std::int64_t d = split_dim(a, dim, "split"), size = a.size(d);
  std::int64_t total = 0;
  for (const std::int64_t s : split_sizes) {
    VOXGRAD_CHECK(s >= 0, "split: split_sizes must be non-negative, but got {}", shape_str(split_sizes));
    total = checked_add(total, s, "split");
  }
  VOXGRAD_CHECK(total == size, "split: split_sizes {} must sum to {} (the size of dim {}), but sum to {}",
                shape_str(split_sizes), size, d, total);
  return views_of_sizes(a, Shape(split_sizes.begin(), split_sizes.end()), d);
}

std::vector<Tensor> chunk(const Tensor& a, std::int64_t chunks, std::int64_t dim) {
  const std::int64_t d = split_dim(a, dim, "chunk"), size = a.size(d);
  VOXGRAD_CHECK(chunks > 0, "chunk: chunks must be greater than 0, but got {}", chunks);
  if (size == 0) return views_of_sizes(a, Shape(static_cast<std::size_t>(chunks), 0), d);
  return split(a, size / chunks + (size % chunks != 0 ? 1 : 0), d);
}

std::vector<Tensor> unbind(const Tensor& a, std::int64_t dim) {
  const std::int64_t d = split_dim(a, dim, "unbind");
  std::vector<Tensor> out;
  out.reserve(static_cast<std::size_t>(a.size(d)));
  for (std::int64_t i = 0; i < a.size(d); ++i) out.push_back(a.select(d, i));
  return out;
}

std::vector<Tensor> meshgrid(const std::vector<Tensor>& tensors, std::string_view indexing) {
  VOXGRAD_CHECK(indexing == "ij" || indexing == "xy", "meshgrid: indexing must be \"ij\" or \"xy\", but got \"{}\"",
                std::string(indexing));
  check_non_empty_list(tensors, "meshgrid");
  const std::size_t n = tensors.size();
  // Input k runs along output dim pos[k]: k itself, but for "xy" the first two swap.
  std::vector<std::size_t> pos(n);
  for (std::size_t k = 0; k < n; ++k) pos[k] = indexing == "xy" && n >= 2 && k < 2 ? 1 - k : k;
  Shape grid(n);
  for (std::size_t k = 0; k < n; ++k) {
    const Tensor& t = tensors[k];
    VOXGRAD_CHECK(t.defined(), "meshgrid: tensor {} is undefined", k);
    VOXGRAD_CHECK(t.dim() <= 1, "meshgrid: expected 0-d or 1-D tensors, but tensor {} has shape {}", k,
                  shape_str(t.sizes()));
    VOXGRAD_CHECK(t.dtype() == tensors[0].dtype(),
                  "meshgrid: expected tensors of one dtype, but tensor 0 is {} and tensor {} is {}", tensors[0].dtype(),
                  k, t.dtype());
    grid[pos[k]] = t.numel();
  }
  std::vector<Tensor> out;
  out.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    Shape along(n, 1);
    along[pos[k]] = grid[pos[k]];
    out.push_back(tensors[k].reshape(along).expand(grid));
  }
  return out;
}

}  // namespace voxgrad
