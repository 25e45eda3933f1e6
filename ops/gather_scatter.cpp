#include "voxgrad/ops/gather_scatter.h"

#include <optional>

#include "voxgrad/autograd/inplace.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/take.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

namespace {

// Linear indices into a tensor of `sizes` of the elements that position i of `index` names along
// `dim` (index.sizes() shaped), after PyTorch's shape checks. `src` (scatter) may be undefined.
Tensor along_dim_index(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor* src, const char* op) {
  detail::check_defined(self, op);
  detail::check_defined(index, op, "index");
  VOXGRAD_CHECK(index.dtype() == kInt64, "{}: expected an int64 index, but got {}", op, index.dtype());
  const std::int64_t nd = self.dim();
  VOXGRAD_CHECK(index.dim() == nd,
                "{}: index tensor must have the same number of dimensions as input tensor (got index of shape {} "
                "and input of shape {})",
                op, shape_str(index.sizes()), shape_str(self.sizes()));
  const std::int64_t d = wrap_dim(dim, nd, op);
  for (std::int64_t k = 0; k < nd; ++k) {
    VOXGRAD_CHECK(k == d || index.size(k) <= self.size(k),
                  "{}: size does not match at dimension {}: expected index {} to be smaller than self {} apart "
                  "from dimension {}",
                  op, k, shape_str(index.sizes()), shape_str(self.sizes()), d);
    VOXGRAD_CHECK(src == nullptr || index.size(k) <= src->size(k),
                  "{}: size does not match at dimension {}: expected index {} to be smaller than src {}", op, k,
                  shape_str(index.sizes()), shape_str(src->sizes()));
  }
  if (nd == 0) {  // a single element: the index must be 0
    detail::check_index_values(index, 1, 0, false, op);
    return zeros({}, kInt64);
  }
  std::vector<Tensor> pos(static_cast<std::size_t>(nd));
  for (std::int64_t k = 0; k < nd; ++k) {
    pos[static_cast<std::size_t>(k)] = k == d ? detail::check_index_values(index, self.size(d), d, false, op)
                                              : detail::arange_at(index.size(k), k, nd);
  }
  return detail::linear_index(index.sizes(), pos, contiguous_strides(self.sizes()));
}

// gather, its errors naming `op`.
Tensor gather_as(const Tensor& self, std::int64_t dim, const Tensor& index, const char* op) {
  return detail::take(self, along_dim_index(self, dim, index, nullptr, op));
}

}  // namespace

Tensor gather(const Tensor& self, std::int64_t dim, const Tensor& index) {
  return gather_as(self, dim, index, "gather");
}

Tensor scatter_add(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src) {
  detail::check_defined(src, "scatter_add", "src");
  VOXGRAD_CHECK(src.dim() == self.dim(),
                "scatter_add: src must have the same number of dimensions as self (got src of shape {} and self "
                "of shape {})",
                shape_str(src.sizes()), shape_str(self.sizes()));
  const Tensor lin = along_dim_index(self, dim, index, &src, "scatter_add");
  Tensor corner = src.to(self.dtype());
  for (std::int64_t k = 0; k < src.dim(); ++k) corner = corner.narrow(k, 0, index.size(k));
  return self + detail::take_add(corner, lin, self.sizes());
}

Tensor& scatter_add_(Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src) {
  // Computed out of place (differentiably) and copied back: the in-place rules are those of copy_.
  detail::check_defined(self, "scatter_add_");
  autograd::inplace_needs_record(self, {&src}, "scatter_add_");
  detail::recorded_copy(self, scatter_add(self, dim, index, src), "scatter_add_");
  return self;
}

Tensor take_along_dim(const Tensor& self, const Tensor& indices, std::optional<std::int64_t> dim) {
  const char* op = "take_along_dim";
  detail::check_defined(self, op);
  detail::check_defined(indices, op, "indices");
  VOXGRAD_CHECK(indices.dtype() == kInt64, "{}: expected int64 indices, but got {}", op, indices.dtype());
  if (!dim) return gather_as(self.reshape({-1}), 0, indices.reshape({-1}), op);
  VOXGRAD_CHECK(self.dim() == indices.dim(),
                "{}: input and indices should have the same number of dims, but got shapes {} and {}", op,
                shape_str(self.sizes()), shape_str(indices.sizes()));
  VOXGRAD_CHECK(self.dim() > 0, "{}: dim {} given for 0-d input and indices", op, *dim);
  const std::int64_t d = wrap_dim(*dim, self.dim(), op);
  // Every dim but d broadcasts; along d, self keeps its length and indices theirs.
  Shape self_sizes = self.sizes(), index_sizes = indices.sizes();
  self_sizes[static_cast<std::size_t>(d)] = indices.size(d);
  index_sizes[static_cast<std::size_t>(d)] = self.size(d);
  const Tensor idx = indices.expand(broadcast_shapes(self_sizes, indices.sizes(), op));
  return gather_as(self.expand(broadcast_shapes(index_sizes, self.sizes(), op)), d, idx, op);
}

}  // namespace voxgrad
