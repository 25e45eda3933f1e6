#pragma once

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Clears the gradient of `param` as PyTorch's zero_grad does for one parameter: with set_to_none
/// the grad becomes undefined; otherwise it is zeroed in place, or, if it is part of a graph
/// (create_graph), replaced by detached zeros (PyTorch's detach_ then zero_). Nothing happens when
/// `param` has no grad. Call under NoGradGuard. Module::zero_grad and Optimizer::zero_grad use it.
void clear_grad(const Tensor& param, bool set_to_none);

}  // namespace voxgrad
