#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::autograd {

/// Backpropagates from `tensors` (seeded with `grad_tensors`, or ones for one-element outputs) and
/// accumulates gradients into the grad() of every leaf that requires grad.
/// retain_graph defaults to create_graph; create_graph records the backward pass for higher derivatives.
void backward(const std::vector<Tensor>& tensors, const std::vector<Tensor>& grad_tensors = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

/// Returns d(outputs)/d(inputs) contracted with `grad_outputs`, without touching any grad().
/// An input the outputs do not depend on is an error unless `allow_unused` (then it is undefined).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false);

/// Queues `callback` to run when the backward pass running on this thread has finished (every node
/// applied, every leaf accumulated, every hook run), as PyTorch's `Variable._execution_engine.
/// queue_callback`: for work that must complete before backward() returns. Callbacks run in the order
/// queued, on this thread; one queued by a callback runs too. If the pass throws, they are dropped.
/// Throws if no backward pass is running on this thread (call it from a hook).
void queue_callback(std::function<void()> callback);

}  // namespace voxgrad::autograd
