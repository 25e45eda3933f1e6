#include "voxgrad/autograd/engine.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "voxgrad/autograd/anomaly_mode.h"
#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/tensor_impl.h"

namespace voxgrad::autograd {

namespace {

// Adds `g` into slot `slot` (out of place, so no buffer ever aliases a tensor the user can see).
void accumulate(std::vector<Tensor>& buffer, std::size_t slot, Tensor g) {
  if (!g.defined()) return;
  Tensor& cur = buffer[slot];
  cur = cur.defined() ? cur + g : std::move(g);
}

// Nodes reachable from `roots`, children after parents (reverse DFS post-order), without recursion.
std::vector<std::shared_ptr<Node>> topological_order(const std::vector<Edge>& roots) {
  std::vector<std::shared_ptr<Node>> post;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, std::size_t>> stack;
  for (const Edge& root : roots) {
    if (!root.valid() || !seen.insert(root.fn.get()).second) continue;
    stack.emplace_back(root.fn.get(), 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const auto& edges = node->next_edges();
      if (next < edges.size()) {
        Node* child = edges[next++].fn.get();
        if (child != nullptr && seen.insert(child).second) stack.emplace_back(child, 0);
      } else {
        post.push_back(node->shared_from_this());
        stack.pop_back();
      }
    }
  }
  return {post.rbegin(), post.rend()};
}

// Where a node came from, for anomaly messages: "created under label 'decoder.up1'".
std::string origin(const Node& n) {
  return n.label().empty() ? std::string("created with no label") : fmt::format("created under label '{}'", n.label());
}

// Anomaly mode: throws if gradient `g`, which `n`'s backward returned for its input `input`, holds
// a NaN or an infinity.
template <typename T>
void check_finite(const Node& n, std::size_t input, const Tensor& g) {
  const Tensor c = g.detach().contiguous();
  const T* p = c.data_ptr<T>();
  const std::int64_t size = c.numel();
  std::int64_t first = -1, bad = 0;
  for (std::int64_t i = 0; i < size; ++i) {
    if (!std::isfinite(p[i])) [[unlikely]] {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (first < 0) return;
  const T v = p[first];
  throw Error(
      fmt::format("anomaly: backward of '{}' ({}) returned {} in its gradient for input {} (shape {}, {} of {} "
                  "elements non-finite, the first at flat index {})",
                  n.name(), origin(n), std::isnan(v) ? "NaN" : (v > 0 ? "Inf" : "-Inf"), input, shape_str(c.sizes()),
                  bad, size, first));
}

// Anomaly mode: checks every gradient `n` returned.
void check_gradients(const Node& n, const std::vector<Tensor>& grads) {
  for (std::size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = grads[i];
    if (!g.defined()) continue;
    if (g.dtype() == kFloat64) {
      check_finite<double>(n, i, g);
    } else if (g.dtype() == kFloat32) {
      check_finite<float>(n, i, g);
    }
  }
}

// Anomaly mode: runs `n`'s backward and checks its gradients; any other voxgrad::Error it raises
// gets the node's name and label appended.
std::vector<Tensor> apply_checked(Node& n, std::vector<Tensor> grads) {
  std::vector<Tensor> input_grads;
  try {
    input_grads = n.apply(std::move(grads));
  } catch (const Error& e) {
    throw Error(fmt::format("{} [anomaly: raised by the backward of '{}', {}]", e.what(), n.name(), origin(n)));
  }
  check_gradients(n, input_grads);
  return input_grads;
}

// Runs the gradient hooks registered on `n`'s outputs on their incoming gradients, in registration
// order, each hook seeing the previous one's result (a hook returning an undefined tensor keeps it).
void run_grad_hooks(Node& n, std::vector<Tensor>& grads, bool create_graph) {
  GradHookList& hooks = n.grad_hooks();
  if (hooks.empty()) return;
  for (std::uint32_t slot = 0; slot < grads.size(); ++slot) {
    if (!grads[slot].defined()) continue;  // as PyTorch: a hook never sees a missing gradient
    for (const GradHook& hook : hooks.snapshot(slot)) {
      Tensor r = hook(grads[slot]);
      if (!r.defined()) continue;
      VOXGRAD_CHECK(r.sizes() == grads[slot].sizes() && r.dtype() == grads[slot].dtype(),
                    "hook: a gradient hook on a tensor of shape {} and dtype {} (the gradient flowing into '{}') "
                    "returned a gradient of shape {} and dtype {}; a hook may only replace the gradient with one of "
                    "the same shape and dtype",
                    shape_str(grads[slot].sizes()), dtype_name(grads[slot].dtype()), n.name(), shape_str(r.sizes()),
                    dtype_name(r.dtype()));
      grads[slot] = create_graph ? std::move(r) : r.detach();
    }
  }
}

// Callbacks queued (queue_callback) during the backward pass running on this thread; null outside one.
thread_local std::vector<std::function<void()>>* queued_callbacks = nullptr;

// Makes queue_callback() target a fresh list for one pass, restoring the outer pass's (a hook may run
// a nested backward) on exit.
class CallbackScope {
 public:
  CallbackScope() : outer_(std::exchange(queued_callbacks, &callbacks_)) {}
  ~CallbackScope() { queued_callbacks = outer_; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
  // Runs the callbacks in order, including those they queue.
  void run() {
    for (std::size_t i = 0; i < callbacks_.size(); ++i) {
      std::function<void()> cb = std::move(callbacks_[i]);
      cb();
    }
  }

 private:
  std::vector<std::function<void()>> callbacks_;
  std::vector<std::function<void()>>* outer_;
};

struct Capture {
  std::uint32_t input_nr;
  std::size_t result_index;
};

// Shared by backward() and grad(): with `captures` empty every reachable node runs and leaves
// accumulate; otherwise only nodes leading to a captured slot run and the captured gradients are
// returned in `results`.
void run_backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
                  bool create_graph, const std::unordered_map<Node*, std::vector<Capture>>& captures,
                  std::vector<Tensor>* results, const char* op) {
  VOXGRAD_CHECK(!outputs.empty(), "{}: no tensors to differentiate", op);
  VOXGRAD_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "{}: got {} tensors but {} gradients",
                op, outputs.size(), grad_outputs.size());
  std::vector<Edge> roots;
  std::vector<Tensor> seeds;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    VOXGRAD_CHECK(out.defined(), "{}: tensor {} is undefined", op, i);
    VOXGRAD_CHECK(out.requires_grad(),
                  "{}: tensor {} does not require grad and has no grad_fn (did you forget "
                  "requires_grad_(), or compute it under NoGradGuard?)",
                  op, i);
    Tensor seed = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!seed.defined()) {
      VOXGRAD_CHECK(out.numel() == 1,
                    "{}: grad can be implicitly created only for one-element outputs, but tensor "
                    "{} has shape {}",
                    op, i, shape_str(out.sizes()));
      seed = ones_like(out);
    } else {
      VOXGRAD_CHECK(seed.sizes() == out.sizes(), "{}: gradient {} has shape {} but its tensor has shape {}", op, i,
                    shape_str(seed.sizes()), shape_str(out.sizes()));
    }
    roots.push_back(gradient_edge(out));
    seeds.push_back(std::move(seed));
  }

  const std::vector<std::shared_ptr<Node>> order = topological_order(roots);
  const bool grad_mode_call = !captures.empty();
  const bool anomaly = AnomalyMode::is_enabled();

  // In grad(), a node runs only if some captured slot lies below it; leaves never accumulate.
  std::unordered_set<Node*> runs;
  if (!grad_mode_call) {
    for (const auto& n : order) runs.insert(n.get());
  } else {
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      for (const Edge& e : (*it)->next_edges()) {
        if (e.valid() && (runs.count(e.fn.get()) || captures.count(e.fn.get()))) {
          runs.insert(it->get());
          break;
        }
      }
    }
  }

  // In grad(), backward functions are told that edges into nodes that will not run get no gradient.
  std::unordered_set<Node*> wanted;
  if (grad_mode_call) {
    wanted = runs;
    for (const auto& [node, caps] : captures) wanted.insert(node);
  }
  WantedNodesGuard wanted_guard(grad_mode_call ? &wanted : nullptr);

  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto buffer_of = [&buffers](Node* n) -> std::vector<Tensor>& {
    auto& b = buffers[n];
    if (b.empty()) b.resize(std::max<std::size_t>(n->output_meta().size(), 1));
    return b;
  };
  {
    AutoGradMode mode(create_graph);
    for (std::size_t i = 0; i < roots.size(); ++i) {
      // A seed of another dtype is cast to its output's dtype, as PyTorch's engine does.
      Tensor seed = create_graph ? seeds[i] : seeds[i].detach();
      if (seed.dtype() != outputs[i].dtype()) seed = seed.to(outputs[i].dtype());
      accumulate(buffer_of(roots[i].fn.get()), roots[i].input_nr, std::move(seed));
    }
  }

  CallbackScope callbacks;
  AutoGradMode mode(create_graph);
  for (const auto& node : order) {
    Node* n = node.get();
    auto found = buffers.find(n);
    if (found == buffers.end()) continue;
    std::vector<Tensor> grads = std::move(found->second);
    buffers.erase(found);

    const bool runs_n = runs.count(n) != 0;
    const auto c = captures.find(n);
    if (runs_n || c != captures.end()) run_grad_hooks(*n, grads, create_graph);
    if (c != captures.end()) {
      for (const Capture& cap : c->second) (*results)[cap.result_index] = grads[cap.input_nr];
    }
    for (auto& [slot, weak] : n->retained_) {
      std::shared_ptr<TensorImpl> impl = weak.lock();
      if (!impl || slot >= grads.size() || !grads[slot].defined()) continue;
      const Tensor g = create_graph ? grads[slot] : grads[slot].detach().clone();
      impl->grad = impl->grad ? (Tensor(impl->grad) + g).impl() : g.impl();
    }
    if (!runs_n) continue;

    std::vector<Tensor> input_grads = anomaly ? apply_checked(*n, std::move(grads)) : n->apply(std::move(grads));
    if (!retain_graph) n->release_saved();
    const auto& edges = n->next_edges();
    for (std::size_t i = 0; i < input_grads.size() && i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.valid() || !input_grads[i].defined()) continue;
      if (grad_mode_call && !runs.count(e.fn.get()) && !captures.count(e.fn.get())) continue;
      accumulate(buffer_of(e.fn.get()), e.input_nr, std::move(input_grads[i]));
    }
  }
  callbacks.run();
}

}  // namespace

void queue_callback(std::function<void()> callback) {
  VOXGRAD_CHECK(queued_callbacks != nullptr,
                "queue_callback: no backward pass is running on this thread (queue callbacks from a hook)");
  queued_callbacks->push_back(std::move(callback));
}

void backward(const std::vector<Tensor>& tensors, const std::vector<Tensor>& grad_tensors,
              std::optional<bool> retain_graph, bool create_graph) {
  run_backward(tensors, grad_tensors, retain_graph.value_or(create_graph), create_graph, {}, nullptr, "backward");
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph, bool create_graph,
                         bool allow_unused) {
  VOXGRAD_CHECK(!inputs.empty(), "grad: no inputs to differentiate with respect to");
  std::unordered_map<Node*, std::vector<Capture>> captures;
  std::vector<Edge> keep_alive;  // accumulators created here must outlive the run
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    VOXGRAD_CHECK(inputs[i].defined(), "grad: input {} is undefined", i);
    VOXGRAD_CHECK(inputs[i].requires_grad(), "grad: input {} does not require grad", i);
    Edge e = gradient_edge(inputs[i]);
    captures[e.fn.get()].push_back({e.input_nr, i});
    keep_alive.push_back(std::move(e));
  }
  std::vector<Tensor> results(inputs.size());
  run_backward(outputs, grad_outputs, retain_graph.value_or(create_graph), create_graph, captures, &results, "grad");
  for (std::size_t i = 0; i < results.size(); ++i) {
    VOXGRAD_CHECK(results[i].defined() || allow_unused,
                  "grad: input {} was not used to compute the outputs; pass allow_unused=true "
                  "to get an undefined gradient for it",
                  i);
    if (results[i].defined() && !create_graph) results[i] = results[i].detach();
  }
  return results;
}

}  // namespace voxgrad::autograd
