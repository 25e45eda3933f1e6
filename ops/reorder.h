#pragma once
// flip, roll and rot90: copies of a tensor with its elements reordered along dims.

#include <cstdint>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// A copy of self with the order of elements reversed along each of `dims` (distinct; may be empty).
/// Differentiable (the gradient is flipped back).
Tensor flip(const Tensor& self, IntArrayRef dims);

/// A copy of self with elements shifted by shifts[k] along dims[k] (wrapping around; negative
/// shifts go the other way; a dim may repeat, its shifts add up). With no dims, self is rolled as if
/// flattened, by the single shift given. Differentiable (the gradient is rolled back).
Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims = {});

/// self rotated by k quarter turns in the plane of dims (from dims[0] towards dims[1]; k may be negative),
/// as torch.rot90: a flip and a transpose, copied. Differentiable.
Tensor rot90(const Tensor& self, std::int64_t k = 1, IntArrayRef dims = {0, 1});

}  // namespace voxgrad
