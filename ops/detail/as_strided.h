#pragma once
// Internal: strided windows into a contiguous tensor, used by autograd for in-place ops on views
// (PyTorch's CopySlices) and for regenerating a view's history after its base changed.

#include <cstdint>

#include "voxgrad/core/tensor.h"

namespace voxgrad::detail {

/// Where a view lies in its base: sizes, strides and the offset of its first element, in elements,
/// counted in the base laid out contiguously.
struct ViewGeometry {
  Shape sizes;              ///< The view's sizes.
  Shape strides;            ///< The view's strides (no two elements may share a position, except
                            ///< as_strided's read, whose adjoint sums).
  std::int64_t offset = 0;  ///< Position of the view's first element.
};

/// The window `geom` of `base` (made contiguous first). Differentiable: the gradient is
/// as_strided_backward (sums where the window repeats a position, as for expand).
Tensor as_strided(const Tensor& base, const ViewGeometry& geom);

/// Zeros of `base_sizes` (dtype of `grad`) with `grad` added at the positions of `geom`: the
/// adjoint of as_strided. Differentiable (its gradient is as_strided).
Tensor as_strided_backward(const Tensor& grad, IntArrayRef base_sizes, const ViewGeometry& geom);

/// A contiguous copy of `a` whose window `geom` holds `src` instead (PyTorch's as_strided_scatter).
/// Differentiable in both: a's gradient is the incoming one with the window zeroed, src's is the window.
Tensor as_strided_scatter(const Tensor& a, const Tensor& src, const ViewGeometry& geom);

}  // namespace voxgrad::detail
