#pragma once

#include <cstdint>
#include <tuple>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Sum of all elements as a 0-d tensor (float32 is accumulated in float64).
Tensor sum(const Tensor& a);
/// Sum over `dims` (each may be negative); keepdim keeps them as size 1.
Tensor sum(const Tensor& a, IntArrayRef dims, bool keepdim = false);
/// Mean of all elements.
Tensor mean(const Tensor& a);
/// Mean over `dims`.
Tensor mean(const Tensor& a, IntArrayRef dims, bool keepdim = false);
/// Largest element (NaN if any); the gradient is shared evenly among equal maxima.
Tensor max(const Tensor& a);
/// Smallest element (NaN if any); the gradient is shared evenly among equal minima.
Tensor min(const Tensor& a);
/// Largest values along `dim` and the int64 index of the first of each (NaN counts as largest).
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// Smallest values along `dim` and the int64 index of the first of each.
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// Variance of all elements, divided by N - 1.
Tensor var(const Tensor& a);
/// Variance over `dims` (empty: all), divided by N - correction. There is deliberately no
/// var(a, correction) overload: `var(a, 0)` reduces dim 0, never means "correction 0".
Tensor var(const Tensor& a, IntArrayRef dims, std::int64_t correction = 1, bool keepdim = false);
/// Sums `a` down to `sizes` (which must broadcast to a's shape): the adjoint of expand.
Tensor sum_to_size(const Tensor& a, IntArrayRef sizes);

}  // namespace voxgrad
