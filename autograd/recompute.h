#pragma once
// Saved outputs that are computed again instead of kept.
//
// Some ops are cheap to run again from tensors their own backward keeps anyway: GroupNorm's output
// is an affine map of its saved input and statistics, ReLU's output a threshold of its input. When a
// later op saves such an output for its backward (a convolution saves its input for the weight
// gradient), the SavedTensor keeps the producer's recipe instead of the tensor, and the output is
// computed again, bit for bit, when that backward runs. In conv → GroupNorm → ReLU → conv only the
// convolutions' outputs then stay alive between forward and backward, not the normalised and
// rectified copies of them: half the activations of such a block.
//
// The value returned by the recipe is the value the consumer saw: a tensor changed in place before
// it was saved is stored as it is, and one changed after it was saved is recomputed as it was when
// saved (where PyTorch raises "modified by an inplace operation", this gives the right gradient).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/storage.h"

namespace voxgrad::autograd {

/// Computes an op's output again from tensors it saved (run without grad mode). An element of
/// `saved` that is the only handle on its memory was itself just recomputed, and may be overwritten
/// and returned (unique_memory()).
using RecomputeFn = std::function<Tensor(std::vector<Tensor>& saved)>;

/// True if `t` is the only handle on its memory (no other tensor, view or saved copy shares it).
bool unique_memory(const Tensor& t);

/// A node's recipe for its (single) output, and which tensor that output was.
struct Recompute {
  std::vector<SavedTensor> inputs;  ///< What `fn` reads; may themselves be recipes.
  RecomputeFn fn;                   ///< Returns the output's value.
  std::uint32_t depth = 1;          ///< 1 + the deepest recipe among `inputs`.
  // The output as produced: a tensor is recomputed only while it is still exactly this one (the
  // same handle on the same memory, unchanged). Weak, so no address is reused while this lives.
  std::weak_ptr<TensorImpl> output;
  std::weak_ptr<Storage> storage;
  std::uint32_t version = 0;
  Shape sizes, strides;
  std::int64_t offset = 0;
};

/// Recipes nest at most this deep (ReLU of GroupNorm is 2), so that recomputing stays cheap.
inline constexpr std::uint32_t kMaxRecomputeDepth = 2;

/// Thread-local switch: while off, saved tensors are always kept (the default is on).
struct RecomputeMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// RAII: sets RecomputeMode to `enabled` on this thread while it lives.
class RecomputeGuard {
 public:
  explicit RecomputeGuard(bool enabled) : prev_(RecomputeMode::is_enabled()) { RecomputeMode::set_enabled(enabled); }
  ~RecomputeGuard() { RecomputeMode::set_enabled(prev_); }
  RecomputeGuard(const RecomputeGuard&) = delete;
  RecomputeGuard& operator=(const RecomputeGuard&) = delete;

 private:
  bool prev_;
};

/// The recipe `t` would be saved as (null: `t` is kept): `t` must be output 0 of a node with a
/// recipe, unchanged since, not a view, with RecomputeMode on.
std::shared_ptr<const Recompute> recipe_of(const Tensor& t);

/// Depth of the recipe `t` would be saved as, 0 if it would be kept.
std::uint32_t recompute_depth(const Tensor& t);

/// Gives `node` (the grad_fn of `output`, its only output) the recipe `fn(inputs)`, if the recipe
/// is no deeper than kMaxRecomputeDepth. A null node (nothing recorded) is ignored.
void set_recompute(const std::shared_ptr<Node>& node, const Tensor& output, std::span<const Tensor> inputs,
                   RecomputeFn fn);

/// set_recompute() with inputs saved beforehand (an in-place op saves its input's recipe before it
/// overwrites the input).
void set_recompute(const std::shared_ptr<Node>& node, const Tensor& output, std::vector<SavedTensor> inputs,
                   RecomputeFn fn);

}  // namespace voxgrad::autograd
