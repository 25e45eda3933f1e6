#include "voxgrad/ops/split.h"

#include <string>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

namespace {

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
  VOXGRAD_CHECK(!tensors.empty(), "meshgrid: expected a non-empty list of tensors");
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
