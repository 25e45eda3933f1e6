#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "voxgrad/core/dtype.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/storage.h"

namespace voxgrad {

namespace autograd {
class Node;
struct LeafHooks;
}  // namespace autograd

struct TensorImpl;

/// What a view remembers about the tensor it was taken from, so that autograd can handle in-place
/// ops on it and on its base (see autograd/inplace.h).
struct ViewMeta {
  /// The tensor at the root of the view chain (never itself a view); it owns the memory's history.
  std::shared_ptr<TensorImpl> base;
  /// The base's grad_fn when this view's grad_fn was made; a different one means an in-place op
  /// rewrote the base's history since, and this view's grad_fn is regenerated from it.
  std::weak_ptr<autograd::Node> base_grad_fn;
  /// False for a view made in no-grad mode (or from such a view): its history is never regenerated,
  /// and an in-place op on it that autograd would have to record is an error.
  bool created_in_grad_mode = true;
};

/// The shared state behind a Tensor handle: where the elements live, how to index them, and the
/// autograd metadata. Users work with Tensor; ops and the engine read and write this directly.
struct TensorImpl {
  /// Creates a tensor over `storage`, with live-count bookkeeping.
  TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, std::int64_t offset, DType dtype);
  ~TensorImpl();
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  std::shared_ptr<Storage> storage;  ///< Shared with every view of the same memory.
  Shape sizes;                       ///< Extent of each dimension.
  Shape strides;                     ///< Step in elements per dimension.
  std::int64_t offset = 0;           ///< Offset of element 0 into the storage, in elements.
  DType dtype = DType::Float32;      ///< Element type.

  // --- autograd metadata -------------------------------------------------------------------
  /// True for a leaf whose gradient is wanted; non-leaves require grad through `grad_fn`.
  bool requires_grad = false;
  /// The node that produced this tensor (null for leaves and for tensors outside any graph).
  std::shared_ptr<autograd::Node> grad_fn;
  /// Which output of `grad_fn` this tensor is.
  std::uint32_t output_nr = 0;
  /// Accumulated gradient (leaves, or non-leaves that called retain_grad()).
  std::shared_ptr<TensorImpl> grad;
  /// The node that accumulates into `grad`; weak, so the graph never keeps a leaf alive.
  std::weak_ptr<autograd::Node> grad_accumulator;
  /// A leaf's gradient and post-accumulate-grad hooks (created with its accumulator, never replaced).
  std::shared_ptr<autograd::LeafHooks> leaf_hooks;
  /// Set by retain_grad() on a non-leaf.
  bool retains_grad = false;
  /// Set for a differentiable view (view, reshape, permute, slice ...): its base and history.
  std::shared_ptr<ViewMeta> view;

  /// Number of TensorImpl objects alive in the process (for leak tests).
  static std::int64_t live_count();
};

}  // namespace voxgrad
