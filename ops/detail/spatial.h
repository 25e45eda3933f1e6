#pragma once
// Internal: the spatial helpers the 3-D ops share.

#include <array>
#include <cstdint>

namespace voxgrad {
class Tensor;
}  // namespace voxgrad

namespace voxgrad::detail {

/// Three spatial sizes (depth, height, width).
using Dims = std::array<std::int64_t, 3>;

/// The product of the three sizes.
inline std::int64_t volume(const Dims& d) { return d[0] * d[1] * d[2]; }

/// The spatial sizes (dims 2, 3, 4) of a 5-D tensor.
Dims spatial(const Tensor& t);

/// `t` itself when it has `batched_dims` dims, else a view of it with a leading batch dim of 1.
Tensor as_batched(const Tensor& t, std::int64_t batched_dims);

}  // namespace voxgrad::detail
