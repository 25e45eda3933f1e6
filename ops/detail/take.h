#pragma once
// Internal: gathers and scatters by linear element index, the one pair of kernels behind index(),
// index_put(), index_select(), gather(), scatter_add(), flip() and roll().
//
// A "linear index" names an element of a tensor by its position in row-major order (what
// flatten() would put at that place), independent of how the tensor is laid out in memory. Every op
// above reduces to "output element i is source element lin[i]" (or the adjoint "add value i into
// element lin[i]"), with `lin` an int64 tensor built from per-dim positions by linear_index().

#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::detail {

/// Sum over dims j of pos[j] * strides[j] (+ base), each pos[j] an int64 tensor broadcastable to
/// `out_shape`: an int64 tensor of `out_shape`. With contiguous_strides(sizes) as `strides` it
/// gives the linear indices into a tensor of `sizes`.
Tensor linear_index(IntArrayRef out_shape, const std::vector<Tensor>& pos, IntArrayRef strides, std::int64_t base = 0);

/// arange(size) as int64, viewed with `size` at dim `at` of a rank-`rank` shape of ones.
Tensor arange_at(std::int64_t size, std::int64_t at, std::int64_t rank);

/// out[i] = src's element lin[i] (out has lin's shape and src's dtype). Differentiable in src: the
/// gradient is take_add's scatter of the output gradient (PyTorch's index backward).
Tensor take(const Tensor& src, const Tensor& lin);

/// zeros(sizes) with every value (broadcast to lin's shape) added into element lin[i]; duplicates
/// accumulate, in order. Differentiable in `values` (the gradient is take() of the output gradient).
Tensor take_add(const Tensor& values, const Tensor& lin, IntArrayRef sizes);

/// A copy of `self` with element lin[i] set to value i (values broadcast to lin's shape); of
/// duplicate indices the last value wins. Differentiable in self (the gradient with the written
/// elements zeroed) and values (take() of the gradient, summed to values' shape, as PyTorch).
Tensor take_put(const Tensor& self, const Tensor& lin, const Tensor& values);

/// Throws "{op}: index {v} is out of bounds for dimension {dim} with size {size}" for any element
/// outside [0, size) (or [-size, size) if wrap); returns a contiguous int64 copy with negatives wrapped.
Tensor check_index_values(const Tensor& index, std::int64_t size, std::int64_t dim, bool wrap, const char* op);

}  // namespace voxgrad::detail
