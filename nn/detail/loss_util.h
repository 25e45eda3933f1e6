#pragma once
// Internal: the checks and reductions the losses share, and PyTorch's clamp outside autograd
// (nn/functional/loss.cpp defines them).

#include <utility>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/options/loss.h"

namespace voxgrad::detail {

/// input and target defined, floating point and of one shape (PyTorch would broadcast some pairs with a
/// warning; the losses refuse), converted to their common dtype; errors name `op`.
std::pair<Tensor, Tensor> check_loss_pair(const Tensor& input, const Tensor& target, const char* op);

/// max(v, min) in value, with the gradient passed to v unchanged (PyTorch clamps a tensor in place under no_grad
/// this way: the variance of gaussian_nll_loss, the squared norms of cosine_similarity). The backward is the
/// identity, recorded as `node`.
Tensor clamp_min_value_only(const Tensor& v, double min, const char* node);

/// t defined and floating point; else an error naming `op` and the argument `name`.
void check_floating_arg(const Tensor& t, const char* op, const char* name);

/// loss reduced as `reduction` says: kNone (as is), kMean or kSum; any other value is an error naming `op`.
Tensor reduce_loss(const Tensor& loss, Reduction reduction, const char* op);

}  // namespace voxgrad::detail
