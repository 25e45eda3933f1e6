#include "voxgrad/nn/utils/activation_checkpoint.h"

#include <utility>

#include "voxgrad/autograd/anomaly_mode.h"
#include "voxgrad/autograd/engine.h"
#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/random.h"
#include "voxgrad/core/tensor_impl.h"
#include "voxgrad/nn/modules/container.h"

namespace voxgrad::nn::utils {

namespace {

// Swaps the global generator's state with `state` for the lifetime of the guard.
class GeneratorStateGuard {
 public:
  explicit GeneratorStateGuard(const Generator& state) : saved_(default_generator()) { default_generator() = state; }
  ~GeneratorStateGuard() { default_generator() = saved_; }
  GeneratorStateGuard(const GeneratorStateGuard&) = delete;
  GeneratorStateGuard& operator=(const GeneratorStateGuard&) = delete;

 private:
  Generator saved_;
};

bool any_requires_grad(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

// Backward of a checkpointed segment: recompute with grad mode on from the saved inputs and
// generator state, then backpropagate the incoming gradients through the fresh graph. Nothing here
// keeps the recomputed outputs or the incoming gradients once the fresh graph has consumed them:
// a seed node hands the gradients over, and the node below takes them from the engine by value.
std::vector<Tensor> recompute_backward(const CheckpointFn& fn, const Generator& rng, const autograd::BackwardCtx& c,
                                       std::vector<Tensor> grad_outputs) {
  VOXGRAD_CHECK(!autograd::WantedNodesGuard::partial_pass_active(),
                "checkpoint: autograd::grad() cannot run through a checkpointed segment (its parameters' "
                "gradients are accumulated into their grad()); use backward()");
  VOXGRAD_CHECK(!GradMode::is_enabled(),
                "checkpoint: create_graph=true (double backward) through a checkpointed segment is not supported");
  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < c.saved.size(); ++i) {
    const Tensor& s = c.saved[i];
    Tensor in = s.defined() ? s.detach() : Tensor();
    if (in.defined() && c.needs_input_grad(i)) in.requires_grad_();
    inputs.push_back(in);
  }
  std::vector<Tensor> outputs;
  {
    GeneratorStateGuard same_draws(rng);
    AutoGradMode grad_on(true);
    outputs = fn(inputs);
  }
  VOXGRAD_CHECK(outputs.size() == grad_outputs.size(),
                "checkpoint: the recomputed segment returned {} outputs, but its first run returned {}", outputs.size(),
                grad_outputs.size());
  auto seed = autograd::make_node<autograd::Node>("CheckpointSeed");
  auto seeds = std::make_shared<std::vector<Tensor>>();
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined() || !outputs[i].requires_grad() || !grad_outputs[i].defined()) continue;
    seed->next_edges_.push_back(autograd::gradient_edge(outputs[i]));
    seed->input_meta_.push_back({outputs[i].sizes(), outputs[i].dtype()});
    seeds->push_back(std::move(grad_outputs[i]));
  }
  grad_outputs.clear();
  outputs.clear();
  if (!seeds->empty()) {
    seed->output_meta_.push_back({{}, kFloat64});
    seed->fn_ = [seeds](const autograd::BackwardCtx&) { return std::exchange(*seeds, {}); };
    Tensor root = zeros({}, kFloat64);
    root.impl()->grad_fn = std::move(seed);
    autograd::backward({root});
  }
  std::vector<Tensor> grads;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    grads.push_back(inputs[i].defined() && c.needs_input_grad(i) ? inputs[i].grad() : Tensor());
  }
  return grads;
}

// The segment's node: takes the incoming gradients by value (so they can be released early) and
// runs recompute_backward.
class CheckpointNode final : public autograd::Node {
 public:
  CheckpointNode(CheckpointFn fn, const Generator& rng)
      : Node("CheckpointBackward"), fn_segment_(std::move(fn)), rng_(rng) {
    materialize_grads_ = false;  // unused outputs get no seed at all
    fn_ = [this](const autograd::BackwardCtx& c) {
      return recompute_backward(fn_segment_, rng_, c, std::exchange(pending_, {}));
    };
  }
  std::vector<Tensor> apply(std::vector<Tensor> grad_outputs) override {
    pending_ = std::move(grad_outputs);
    return Node::apply(std::vector<Tensor>(output_meta_.size()));
  }

 private:
  CheckpointFn fn_segment_;
  Generator rng_;
  std::vector<Tensor> pending_;
};

}  // namespace

std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs,
                               const std::vector<Tensor>& parameters) {
  VOXGRAD_CHECK(fn != nullptr, "checkpoint: the function is empty");
  const bool record = GradMode::is_enabled() && (any_requires_grad(inputs) || any_requires_grad(parameters));
  const Generator rng = default_generator();
  std::vector<Tensor> outputs;
  {
    NoGradGuard no_grad;
    std::vector<Tensor> detached;
    for (const Tensor& t : inputs) detached.push_back(t.defined() ? t.detach() : Tensor());
    outputs = fn(detached);
  }
  if (!record) return outputs;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    VOXGRAD_CHECK(outputs[i].defined(), "checkpoint: output {} of the segment is undefined", i);
    VOXGRAD_CHECK(is_floating_point(outputs[i].dtype()),
                  "checkpoint: output {} of the segment has dtype {}; checkpointed segments must return "
                  "floating-point tensors",
                  i, outputs[i].dtype());
  }
  // Wired by hand rather than with autograd::record: the node must exist even when only the
  // segment's parameters, which are not among its inputs, require grad.
  auto node = autograd::make_node<CheckpointNode>(fn, rng);
  if (autograd::AnomalyMode::is_enabled()) [[unlikely]]
    node->set_label(autograd::current_anomaly_label());
  for (const Tensor& in : inputs) {
    node->next_edges_.push_back(autograd::gradient_edge(in));
    node->input_meta_.push_back(in.defined() ? autograd::TensorMeta{in.sizes(), in.dtype()} : autograd::TensorMeta{});
    node->saved_.emplace_back(in, false);
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl& out = *outputs[i].impl();
    out.grad_fn = node;
    out.output_nr = static_cast<std::uint32_t>(i);
    out.requires_grad = false;
    node->output_meta_.push_back({out.sizes, out.dtype});
  }
  return outputs;
}

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input,
                  const std::vector<Tensor>& parameters) {
  VOXGRAD_CHECK(fn != nullptr, "checkpoint: the function is empty");
  return checkpoint([fn](const std::vector<Tensor>& in) { return std::vector<Tensor>{fn(in[0])}; },
                    std::vector<Tensor>{input}, parameters)[0];
}

Tensor checkpoint(const std::shared_ptr<Module>& module, const Tensor& input) {
  VOXGRAD_CHECK(module != nullptr, "checkpoint: the module is null");
  return checkpoint([module](const Tensor& x) { return module->forward(x); }, input, module->parameters());
}

Tensor checkpoint_sequential(const SequentialImpl& sequential, std::int64_t segments, const Tensor& input) {
  const auto n = static_cast<std::int64_t>(sequential.size());
  VOXGRAD_CHECK(segments >= 1 && segments <= n,
                "checkpoint_sequential: segments must be between 1 and the number of modules ({}), but got {}", n,
                segments);
  // PyTorch's split: segments - 1 checkpointed runs of n / segments modules, then the rest plainly.
  const std::int64_t length = n / segments;
  auto run = [&sequential](std::int64_t begin, std::int64_t end) {
    return [&sequential, begin, end](const Tensor& x) {
      Tensor h = x;
      for (std::int64_t i = begin; i < end; ++i) h = sequential[static_cast<std::size_t>(i)]->forward(h);
      return h;
    };
  };
  Tensor h = input;
  std::int64_t begin = 0;
  for (std::int64_t s = 0; s + 1 < segments; ++s, begin += length) {
    std::vector<Tensor> params;
    for (std::int64_t i = begin; i < begin + length; ++i) {
      for (const Tensor& p : sequential[static_cast<std::size_t>(i)]->parameters()) params.push_back(p);
    }
    h = checkpoint(run(begin, begin + length), h, params);
  }
  return run(begin, n)(h);
}

Tensor checkpoint_sequential(const Sequential& sequential, std::int64_t segments, const Tensor& input) {
  return checkpoint_sequential(*sequential, segments, input);
}

}  // namespace voxgrad::nn::utils
