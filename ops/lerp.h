#pragma once
// Linear interpolation between two tensors (torch.lerp).

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// start + weight * (end - start), computed as PyTorch does: for |weight| >= 0.5 as
/// end - (end - start) * (1 - weight), so weight 1 gives end exactly. start and end must have the
/// same floating dtype and broadcast together. Differentiable in start and end.
Tensor lerp(const Tensor& start, const Tensor& end, double weight);

/// lerp with a tensor weight (start's dtype), broadcast with start and end. Differentiable in all
/// three: d/dstart = 1 - weight, d/dend = weight, d/dweight = end - start.
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);

}  // namespace voxgrad
