#pragma once
// Cumulative sums and products along one dim.

#include <cstdint>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// out[..., i, ...] = a[..., 0, ...] + ... + a[..., i, ...] along `dim` (negative counts from the
/// end), summed in order; float32 is accumulated in float64 and rounded once per output, as ATen's CPU
/// kernel does. Differentiable: the gradient is the reversed cumulative sum of the upstream gradient.
Tensor cumsum(const Tensor& a, std::int64_t dim);

/// out[..., i, ...] = a[..., 0, ...] * ... * a[..., i, ...] along `dim`, multiplied in order (float32
/// in float64, as ATen on CPU). Differentiable with PyTorch's cumprod_backward, exact where the input
/// has zeros (no division by them); twice too: under create_graph an input with zeros takes its O(n²)
/// form along `dim`, as PyTorch's.
Tensor cumprod(const Tensor& a, std::int64_t dim);

}  // namespace voxgrad
