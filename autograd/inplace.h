#pragma once
// Internal: how autograd records in-place ops (PyTorch's rebase_history and CopySlices).
//
// An in-place op on a tensor that is not a view makes its node the tensor's grad_fn, with the old
// grad_fn behind it. On a view, the history of the view's base is rewritten instead: a CopySlices
// node takes the base's old gradient path, runs the op's backward on the view's window of the
// incoming gradient, and writes the result back into that window. Every view of the base then
// regenerates its grad_fn (a strided window of the base's new history) the next time it is asked
// for one: views remember their base and the base's grad_fn at the time (core/tensor_impl.h).

#include <functional>
#include <initializer_list>
#include <span>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/core/tensor_impl.h"

namespace voxgrad::autograd {

/// Regenerates the grad_fn of a view whose base's history an in-place op rewrote. The tensor
/// accessors (grad_fn, requires_grad, is_leaf) and gradient_edge call it, so nothing sees a stale one.
void regenerate_view_history(TensorImpl& view);
/// regenerate_view_history() for views; nothing for other tensors.
inline void refresh_view_history(TensorImpl& impl) {
  if (impl.view != nullptr) [[unlikely]]
    regenerate_view_history(impl);
}

/// The ViewMeta of a new view of `source` (views of views share the root base).
std::shared_ptr<ViewMeta> make_view_meta(const Tensor& source);

/// An in-place op's gradient: from `grad` (self's shape), the op's result (undefined unless asked
/// for), the tensors saved with it and which of (self, others...) need gradients, returns one
/// gradient per (self, others...). Must be written with differentiable ops for double backward.
using InplaceBackwardFn = std::function<std::vector<Tensor>(
    const Tensor& grad, const Tensor& result, std::span<const Tensor> saved, std::span<const bool> needs)>;

/// Call before an in-place op writes `self` (its other tensor inputs are `others`): true when
/// autograd must record it (grad mode is on and self or an input requires grad). Throws PyTorch's
/// errors for a leaf, or a view of a leaf, that requires grad; for a view made in no-grad mode; and
/// for a view whose base is not contiguous (not supported: clone() the base first).
bool inplace_needs_record(const Tensor& self, std::initializer_list<const Tensor*> others, const char* op);

/// Records an in-place op that has just overwritten `self`: `name` is its backward's name
/// ("MulBackward"), `others` its other tensor inputs, `saved` tensors its backward reads (inputs,
/// or clones made before the write), `save_result` whether the backward reads self's new value.
void record_inplace(const char* name, Tensor& self, std::vector<Tensor> others, std::vector<Tensor> saved,
                    bool save_result, InplaceBackwardFn backward);

}  // namespace voxgrad::autograd
