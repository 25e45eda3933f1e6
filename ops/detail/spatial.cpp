#include "voxgrad/ops/detail/spatial.h"

#include "voxgrad/core/tensor.h"

namespace voxgrad::detail {

Dims spatial(const Tensor& t) { return {t.size(2), t.size(3), t.size(4)}; }

Tensor as_batched(const Tensor& t, std::int64_t batched_dims) { return t.dim() == batched_dims ? t : t.unsqueeze(0); }

}  // namespace voxgrad::detail
