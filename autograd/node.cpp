#include "voxgrad/autograd/node.h"

#include <atomic>
#include <mutex>

#include "voxgrad/autograd/anomaly_mode.h"
#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/inplace.h"
#include "voxgrad/autograd/recompute.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/tensor_impl.h"

namespace voxgrad::autograd {

namespace {

std::atomic<std::int64_t> live_nodes{0};

// Destroying the last reference to a long chain would recurse once per node (node -> edge -> node).
// Every node deletion goes through delete_node; only the outermost call on a thread deletes, and
// deletions triggered inside it are queued, so the depth stays constant.
thread_local std::vector<Node*>* pending_deletes = nullptr;

// Guards every leaf's grad_accumulator (find-or-create must not race when two threads record ops
// on the same leaf). Held only for a weak_ptr lock and, the first time, one allocation.
std::mutex accumulator_mutex;

// The leaf's hooks, created on first use; the caller holds accumulator_mutex.
const std::shared_ptr<LeafHooks>& leaf_hooks_locked(TensorImpl& leaf) {
  if (!leaf.leaf_hooks) leaf.leaf_hooks = std::make_shared<LeafHooks>();
  return leaf.leaf_hooks;
}

thread_local const std::unordered_set<Node*>* wanted_nodes = nullptr;

Tensor alias_without_autograd(const Tensor& t) {
  const auto& src = *t.impl();
  return Tensor(std::make_shared<TensorImpl>(src.storage, src.sizes, src.strides, src.offset, src.dtype));
}

}  // namespace

void delete_node(Node* node) {
  if (pending_deletes != nullptr) {
    pending_deletes->push_back(node);
    return;
  }
  std::vector<Node*> queue{node};
  pending_deletes = &queue;
  while (!queue.empty()) {
    Node* n = queue.back();
    queue.pop_back();
    delete n;
  }
  pending_deletes = nullptr;
}

// --- SavedTensor ----------------------------------------------------------------------------

SavedTensor::SavedTensor(const Tensor& t, bool is_output) : is_output_(is_output) {
  if (!t.defined()) return;
  if (!is_output) {
    if (auto r = recipe_of(t)) {
      recipe_ = std::move(r);
      producer_ = t.impl()->grad_fn;
      return;
    }
  }
  version_ = t.version();
  if (is_output) {
    data_ = alias_without_autograd(t);
    requires_grad_ = t.requires_grad();
    output_nr_ = t.impl()->output_nr;
  } else {
    data_ = t;
  }
}

std::uint32_t SavedTensor::recompute_depth() const { return recipe_ ? recipe_->depth : 0; }

Tensor SavedTensor::unpack(const std::shared_ptr<Node>& owner, const std::string& node_name) const {
  if (recipe_) {
    std::vector<Tensor> in;
    in.reserve(recipe_->inputs.size());
    // A version error names the producer and says why its tensor was needed here.
    const std::string why = fmt::format(
        "{} (to recompute the input {} saved: autograd/recompute.h; "
        "autograd::RecomputeGuard(false) around the forward keeps it instead)",
        producer_->name(), node_name);
    for (const SavedTensor& s : recipe_->inputs) in.push_back(s.unpack(producer_, why));
    Tensor out;
    {
      NoGradGuard no_grad;
      out = recipe_->fn(in);
    }
    out.impl()->grad_fn = producer_;  // the value, and the history, of the tensor that was saved
    out.impl()->output_nr = 0;
    return out;
  }
  if (!data_.defined()) return {};
  VOXGRAD_CHECK(data_.version() == version_,
                "one of the variables needed for gradient computation has been modified by an "
                "inplace operation: the tensor of shape {} saved by {} is at version {}; expected "
                "version {} instead",
                shape_str(data_.sizes()), node_name, data_.version(), version_);
  if (!is_output_) return data_;
  Tensor out = alias_without_autograd(data_);
  if (requires_grad_) {
    out.impl()->grad_fn = owner;
    out.impl()->output_nr = output_nr_;
  }
  return out;
}

WantedNodesGuard::WantedNodesGuard(const std::unordered_set<Node*>* wanted) : prev_(wanted_nodes) {
  wanted_nodes = wanted;
}
WantedNodesGuard::~WantedNodesGuard() { wanted_nodes = prev_; }
bool WantedNodesGuard::partial_pass_active() { return wanted_nodes != nullptr; }

// --- Node -----------------------------------------------------------------------------------

Node::Node(std::string name) : name_(std::move(name)) { live_nodes.fetch_add(1, std::memory_order_relaxed); }

Node::~Node() { live_nodes.fetch_sub(1, std::memory_order_relaxed); }

std::int64_t Node::live_count() { return live_nodes.load(std::memory_order_relaxed); }

void Node::release_saved() {
  if (!saved_.empty()) released_ = true;
  saved_.clear();
  saved_.shrink_to_fit();
  recompute_.store(nullptr);
}

std::vector<Tensor> Node::apply(std::vector<Tensor> grad_outputs) {
  VOXGRAD_CHECK(!released_,
                "{}: trying to backward through the graph a second time (or to access saved tensors "
                "after they have been freed). Saved values are freed by backward() and "
                "autograd::grad(); pass retain_graph=true to the first call if you need to "
                "backward through the graph again",
                name_);
  for (std::size_t i = 0; i < grad_outputs.size(); ++i) {
    if (!grad_outputs[i].defined() && materialize_grads_) {
      grad_outputs[i] = zeros(output_meta_[i].sizes, output_meta_[i].dtype);
    }
  }
  std::vector<Tensor> saved;
  saved.reserve(saved_.size());
  const auto self = shared_from_this();
  for (const SavedTensor& s : saved_) saved.push_back(s.unpack(self, name_));

  const std::size_t n_in = next_edges_.size();
  std::unique_ptr<bool[]> needs_storage(new bool[n_in == 0 ? 1 : n_in]);
  for (std::size_t i = 0; i < n_in; ++i) {
    const Edge& e = next_edges_[i];
    needs_storage[i] = e.valid() && (wanted_nodes == nullptr || wanted_nodes->count(e.fn.get()) != 0);
  }
  const std::span<const bool> needs(needs_storage.get(), n_in);

  BackwardCtx ctx{grad_outputs, saved, needs};
  std::vector<Tensor> grads = fn_(ctx);
  VOXGRAD_CHECK(grads.size() == next_edges_.size(), "{}: backward returned {} gradients for {} inputs", name_,
                grads.size(), next_edges_.size());
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!next_edges_[i].valid()) {
      grads[i] = Tensor();
      continue;
    }
    if (!grads[i].defined()) continue;
    const TensorMeta& meta = input_meta_[i];
    VOXGRAD_CHECK(grads[i].sizes() == meta.sizes,
                  "{}: backward returned a gradient of shape {} for input {} of shape {}", name_,
                  shape_str(grads[i].sizes()), i, shape_str(meta.sizes));
    if (grads[i].dtype() != meta.dtype) grads[i] = grads[i].to(meta.dtype);
  }
  return grads;
}

// --- AccumulateGrad -------------------------------------------------------------------------

AccumulateGrad::AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf, std::shared_ptr<LeafHooks> hooks)
    : Node("AccumulateGrad"), leaf_(leaf), hooks_(std::move(hooks)) {
  output_meta_.push_back({leaf->sizes, leaf->dtype});
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor> grad_outputs) {
  std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!leaf || grad_outputs.empty() || !grad_outputs[0].defined()) return {};
  Tensor g = std::move(grad_outputs[0]);
  if (g.dtype() != leaf->dtype) g = g.to(leaf->dtype);
  {
    // Two threads may backpropagate into this leaf at once; each read-modify-write of grad is whole.
    std::lock_guard<std::mutex> lock(mutex_);
    if (GradMode::is_enabled()) {
      // create_graph: the stored gradient keeps its own graph, so it can be differentiated again.
      leaf->grad = leaf->grad ? (Tensor(leaf->grad) + g).impl() : g.impl();
    } else if (!leaf->grad) {
      // Steal the buffer when nobody else can see it and it is a plain dense tensor; later in-place
      // accumulation must never write through someone else's alias or an expanded (stride-0) view.
      const bool can_steal = g.impl().use_count() == 1 && g.impl()->storage.use_count() == 1 && g.is_contiguous() &&
                             g.storage_offset() == 0;
      leaf->grad = can_steal ? g.impl() : g.clone().impl();
    } else {
      Tensor(leaf->grad).add_(g);
    }
  }
  // Outside the lock: a hook may read or reset the gradient, or start communication with it.
  if (!hooks_->post_accumulate.empty()) {
    const Tensor self(leaf);
    for (const auto& hook : hooks_->post_accumulate.snapshot()) hook(self);
  }
  return {};
}

// --- wiring ---------------------------------------------------------------------------------

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return {};
  const auto& impl = t.impl();
  refresh_view_history(*impl);
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  if (!impl->requires_grad) return {};
  std::lock_guard<std::mutex> lock(accumulator_mutex);
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = make_node<AccumulateGrad>(impl, leaf_hooks_locked(*impl));
    impl->grad_accumulator = acc;
  }
  return {acc, 0};
}

std::shared_ptr<LeafHooks> leaf_hooks(const std::shared_ptr<TensorImpl>& leaf) {
  std::lock_guard<std::mutex> lock(accumulator_mutex);
  return leaf_hooks_locked(*leaf);
}

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : inputs) {
    if (t->defined() && t->requires_grad()) return true;
  }
  return false;
}

bool any_requires_grad(std::span<const Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

std::shared_ptr<Node> record(const char* name, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                             std::vector<ToSave> to_save, BackwardFn backward) {
  if (!any_requires_grad(inputs)) return nullptr;
  auto node = make_node<Node>(name);
  if (AnomalyMode::is_enabled()) [[unlikely]]
    node->set_label(current_anomaly_label());
  node->next_edges_.reserve(inputs.size());
  node->input_meta_.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    node->next_edges_.push_back(gradient_edge(in));
    node->input_meta_.push_back(in.defined() ? TensorMeta{in.sizes(), in.dtype()} : TensorMeta{});
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl& out = *outputs[i].impl();
    out.grad_fn = node;
    out.output_nr = static_cast<std::uint32_t>(i);
    out.requires_grad = false;
    node->output_meta_.push_back({out.sizes, out.dtype});
  }
  node->saved_.reserve(to_save.size());
  for (const ToSave& s : to_save) node->saved_.emplace_back(s.tensor, s.is_output);
  node->fn_ = std::move(backward);
  return node;
}

std::shared_ptr<Node> record(const char* name, const Tensor& input, Tensor& output, std::vector<ToSave> to_save,
                             BackwardFn backward) {
  return record(name, std::span<const Tensor>(&input, 1), std::span<Tensor>(&output, 1), std::move(to_save),
                std::move(backward));
}

std::shared_ptr<Node> record(const char* name, const Tensor& a, const Tensor& b, Tensor& output,
                             std::vector<ToSave> to_save, BackwardFn backward) {
  const Tensor inputs[2] = {a, b};
  return record(name, std::span<const Tensor>(inputs, 2), std::span<Tensor>(&output, 1), std::move(to_save),
                std::move(backward));
}

}  // namespace voxgrad::autograd
