#pragma once
// Internal: the gradient of a reduction that selects one value of all elements (max(), min(), median(),
// nanmedian()).

#include "voxgrad/core/tensor.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad::detail {

/// PyTorch's evenly_distribute_backward (its CPU form): grad / count at the `count` elements of x equal
/// to the 0-d result r (at the NaNs for a NaN result), +0 elsewhere. Differentiable in grad.
inline Tensor evenly_distribute_backward(const Tensor& grad, const Tensor& x, const Tensor& r) {
  const Tensor mask = x.eq(r) + x.ne(x) * r.ne(r);
  return where(mask, grad / mask.sum(), 0.0);
}

}  // namespace voxgrad::detail
