#pragma once
// repeat and tile: copies of a tensor laid side by side along its dims.

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// `a` repeated `repeats[i]` times along dim i, as torch's Tensor.repeat: `repeats` names at least a.dim() dims
/// (extra leading entries add dims of that size), each result size repeats[i] · size[i]. Always a copy.
/// Differentiable (the gradient sums the copies back).
Tensor repeat(const Tensor& a, IntArrayRef repeats);
/// torch.tile: repeat() with `reps` padded by leading 1s when it names fewer dims than `a` has.
Tensor tile(const Tensor& a, IntArrayRef reps);

}  // namespace voxgrad
