#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "voxgrad/autograd/hooks.h"
#include "voxgrad/core/tensor.h"

namespace voxgrad::autograd {

class Node;
struct Recompute;

/// Where a gradient goes: input `input_nr` of `fn` (a null fn means "no gradient needed").
struct Edge {
  std::shared_ptr<Node> fn;    ///< The node that receives the gradient.
  std::uint32_t input_nr = 0;  ///< Which of its gradient inputs.
  /// True if the edge leads somewhere.
  bool valid() const { return fn != nullptr; }
};

/// Shape and dtype of a tensor a node consumes or produces (used to check and materialise gradients).
struct TensorMeta {
  Shape sizes;                   ///< Sizes.
  DType dtype = DType::Float32;  ///< Element type.
};

/// A tensor saved for backward, with the version it had when saved.
///
/// Outputs of the saving node are stored without their grad_fn (which would be a reference cycle)
/// and get it back, weakly, when unpacked during backward. An input that its producer can compute
/// again (see recompute.h) is stored as the producer's recipe, not as the tensor.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// Saves `t`; `is_output` must be true when `t` is an output of the node that saves it.
  SavedTensor(const Tensor& t, bool is_output);
  /// The saved tensor; throws naming `node_name` if it was modified in place since it was saved.
  Tensor unpack(const std::shared_ptr<Node>& owner, const std::string& node_name) const;
  /// True if nothing (an undefined tensor) was saved.
  bool empty() const { return !data_.defined() && !recipe_; }
  /// Depth of the recipe saved instead of the tensor (recompute.h), 0 if the tensor is kept.
  std::uint32_t recompute_depth() const;

 private:
  Tensor data_;  // inputs: the tensor itself; outputs: a detached alias
  // instead of data_, for an input its producer can compute again: the recipe and the producer
  std::shared_ptr<const Recompute> recipe_;
  std::shared_ptr<Node> producer_;
  std::uint32_t version_ = 0;
  bool is_output_ = false;
  bool requires_grad_ = false;
  std::uint32_t output_nr_ = 0;
};

/// What a backward function receives.
struct BackwardCtx {
  std::span<const Tensor> grad_outputs;  ///< One gradient per output (zeros if none flowed).
  std::span<const Tensor> saved;         ///< Unpacked saved tensors, in the order they were saved.
  std::span<const bool> needs;           ///< Whether each input needs a gradient.
  /// Gradient w.r.t. output `i`.
  const Tensor& grad(std::size_t i = 0) const { return grad_outputs[i]; }
  /// Whether input `i` needs a gradient (skip its computation otherwise).
  bool needs_input_grad(std::size_t i) const { return needs[i]; }
};

/// Computes one gradient per input (undefined where not needed) from the output gradients.
using BackwardFn = std::function<std::vector<Tensor>(const BackwardCtx&)>;

/// A recorded op in the graph: its gradient edges, its saved tensors and its backward function.
class Node : public std::enable_shared_from_this<Node> {
 public:
  /// Creates a node with a name for messages ("MulBackward").
  explicit Node(std::string name);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Name shown in errors and printing.
  const std::string& name() const { return name_; }
  /// Edges to the nodes that receive this node's input gradients.
  const std::vector<Edge>& next_edges() const { return next_edges_; }
  /// Metadata of each input (gradients returned must match it).
  const std::vector<TensorMeta>& input_meta() const { return input_meta_; }
  /// Metadata of each output (missing output gradients are materialised as zeros of this shape).
  const std::vector<TensorMeta>& output_meta() const { return output_meta_; }
  /// Runs backward on one gradient per output; returns one gradient per input.
  virtual std::vector<Tensor> apply(std::vector<Tensor> grad_outputs);
  /// Drops saved tensors (after a backward without retain_graph).
  virtual void release_saved();
  /// Label of the user code that created the node: the current AnomalyLabelGuard label when it was
  /// recorded with anomaly mode on (see anomaly_mode.h), else empty unless set; shown in errors.
  const std::string& label() const { return label_; }
  void set_label(std::string label) { label_ = std::move(label); }

  /// Number of Node objects alive in the process (a leak test wants zero after a graph is dropped).
  static std::int64_t live_count();
  /// The gradient hooks the engine runs on this node's incoming gradients before apply(): those
  /// registered on its outputs (slot = output number); an accumulator returns its leaf's.
  virtual GradHookList& grad_hooks() { return output_hooks_; }

  // Wiring, used by record() and the engine.
  std::vector<Edge> next_edges_;
  std::vector<TensorMeta> input_meta_;
  std::vector<TensorMeta> output_meta_;
  std::vector<SavedTensor> saved_;
  /// How to compute output 0 again from tensors saved anyway, if the op allows it (recompute.h).
  /// (Atomic: a forward on one thread may read it while a backward on another releases it.)
  std::atomic<std::shared_ptr<const Recompute>> recompute_;
  BackwardFn fn_;
  bool released_ = false;
  /// Whether apply() turns missing output gradients into zeros (custom functions may opt out).
  bool materialize_grads_ = true;
  /// Non-leaf outputs that asked to retain their gradient, by output number (weak: no cycles).
  std::vector<std::pair<std::uint32_t, std::weak_ptr<TensorImpl>>> retained_;

 private:
  GradHookList output_hooks_;
  std::string name_;
  std::string label_;
};

/// Accumulates incoming gradients into a leaf's grad(); holds the leaf weakly. A leaf has one
/// accumulator at a time, and apply() is serialised by a mutex, so threads that backpropagate into
/// the same leaf at once each add their whole gradient (as PyTorch's AccumulateGrad).
class AccumulateGrad final : public Node {
 public:
  /// Accumulator for `leaf`, whose hooks are `hooks`.
  AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf, std::shared_ptr<LeafHooks> hooks);
  /// Adds the gradient into the leaf's grad (no-op if the leaf is gone), then runs the leaf's
  /// post-accumulate-grad hooks.
  std::vector<Tensor> apply(std::vector<Tensor> grad_outputs) override;
  /// The leaf's gradient hooks.
  GradHookList& grad_hooks() override { return hooks_->grad; }
  /// The leaf, if still alive.
  std::shared_ptr<TensorImpl> leaf() const { return leaf_.lock(); }

 private:
  std::weak_ptr<TensorImpl> leaf_;
  std::shared_ptr<LeafHooks> hooks_;  // the leaf's, shared: they outlive a recreated accumulator
  std::mutex mutex_;                  // serialises apply(): concurrent backward passes into the same leaf
};

/// RAII, used by the engine: while it lives on this thread, only edges into `wanted` count as
/// needing a gradient (autograd::grad() runs part of the graph); null means every valid edge.
class WantedNodesGuard {
 public:
  explicit WantedNodesGuard(const std::unordered_set<Node*>* wanted);
  ~WantedNodesGuard();
  WantedNodesGuard(const WantedNodesGuard&) = delete;
  WantedNodesGuard& operator=(const WantedNodesGuard&) = delete;

  /// True while an autograd::grad() pass (rather than backward()) runs on this thread.
  static bool partial_pass_active();

 private:
  const std::unordered_set<Node*>* prev_;
};

/// Creates a node owned by a shared_ptr whose deleter frees long chains iteratively.
template <typename NodeT, typename... Args>
std::shared_ptr<NodeT> make_node(Args&&... args);

/// Deletes nodes without recursion: nested deletions are queued and run by the outermost call.
void delete_node(Node* node);

template <typename NodeT, typename... Args>
std::shared_ptr<NodeT> make_node(Args&&... args) {
  return std::shared_ptr<NodeT>(new NodeT(std::forward<Args>(args)...), [](NodeT* n) { delete_node(n); });
}

/// The edge a gradient for `t` must flow along (null edge if `t` does not require grad). For a leaf,
/// finds or creates its accumulator; safe to call from several threads on the same leaf.
Edge gradient_edge(const Tensor& t);

/// The hooks of leaf `leaf`, created on first use; safe to call from several threads.
std::shared_ptr<LeafHooks> leaf_hooks(const std::shared_ptr<TensorImpl>& leaf);

/// True if grad mode is on and any of `inputs` requires grad.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
/// True if grad mode is on and any of `inputs` requires grad.
bool any_requires_grad(std::span<const Tensor> inputs);

/// A tensor to save in record(): an input of the op, or one of its outputs.
struct ToSave {
  Tensor tensor;           ///< The tensor (undefined saves nothing).
  bool is_output = false;  ///< True if it is one of the op's outputs.
};
/// Saves an input of the op for its backward function (PyTorch's ctx.save_for_backward).
inline ToSave save_for_backward(const Tensor& t) { return {t, false}; }
/// Saves an output of the op for its backward function (stored without a reference cycle).
inline ToSave save_output_for_backward(const Tensor& t) { return {t, true}; }
/// Deprecated name of save_for_backward() (it read like voxgrad::save, which writes checkpoints).
[[deprecated("use autograd::save_for_backward")]] inline ToSave save(const Tensor& t) { return save_for_backward(t); }
/// Deprecated name of save_output_for_backward().
[[deprecated("use autograd::save_output_for_backward")]] inline ToSave save_output(const Tensor& t) {
  return save_output_for_backward(t);
}

/// Records an op in the graph when grad mode is on and an input requires grad: builds the node,
/// makes it the grad_fn of every output, and saves `to_save`. Returns the node or null.
std::shared_ptr<Node> record(const char* name, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                             std::vector<ToSave> to_save, BackwardFn backward);

/// record() for one input and one output.
std::shared_ptr<Node> record(const char* name, const Tensor& input, Tensor& output, std::vector<ToSave> to_save,
                             BackwardFn backward);

/// record() for two inputs and one output.
std::shared_ptr<Node> record(const char* name, const Tensor& a, const Tensor& b, Tensor& output,
                             std::vector<ToSave> to_save, BackwardFn backward);

}  // namespace voxgrad::autograd
