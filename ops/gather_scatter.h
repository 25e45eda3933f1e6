#pragma once
// gather, take_along_dim and scatter_add: reading and accumulating along one dim at positions an index tensor gives.

#include <cstdint>
#include <optional>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// out[i][j][k] = self[index[i][j][k]][j][k] for dim 0 (likewise for other dims): out has index's
/// shape; index is int64 with self's number of dims, index.size(d) <= self.size(d) for d != dim,
/// and values in [0, self.size(dim)). Differentiable in self (the gradient is scatter_add'ed back).
Tensor gather(const Tensor& self, std::int64_t dim, const Tensor& index);

/// self's elements at `indices` along `dim`, as torch.take_along_dim (NumPy's): self and indices have as
/// many dims and broadcast in every dim but dim, where each keeps its length; without dim, indices pick
/// from the flattened self (a 1-D result). Differentiable in self (repeated indices add up).
Tensor take_along_dim(const Tensor& self, const Tensor& indices, std::optional<std::int64_t> dim = std::nullopt);

/// A copy of self with src[i][j][k] added into element [index[i][j][k]][j][k] (dim 0; likewise for
/// other dims) for every position of index (only the index.sizes() corner of src is used;
/// index.size(d) <= src.size(d) everywhere and <= self.size(d) for d != dim). Repeated positions
/// accumulate, in a fixed order. src is converted to self's dtype. Differentiable in self and src.
Tensor scatter_add(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src);
/// In place; refused when self or src requires grad (as every in-place op today).
Tensor& scatter_add_(Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace voxgrad
