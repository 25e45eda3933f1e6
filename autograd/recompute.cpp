#include "voxgrad/autograd/recompute.h"

#include <algorithm>

#include "voxgrad/core/tensor_impl.h"

namespace voxgrad::autograd {

namespace {
thread_local bool recompute_enabled = true;
}

bool RecomputeMode::is_enabled() { return recompute_enabled; }
void RecomputeMode::set_enabled(bool enabled) { recompute_enabled = enabled; }

bool unique_memory(const Tensor& t) {
  return t.defined() && t.impl().use_count() == 1 && t.impl()->storage.use_count() == 1;
}

std::shared_ptr<const Recompute> recipe_of(const Tensor& t) {
  if (!recompute_enabled || !t.defined()) return nullptr;
  const TensorImpl& impl = *t.impl();
  if (!impl.grad_fn || impl.view || impl.output_nr != 0 || !impl.storage) return nullptr;
  const std::uint32_t version = impl.storage->version();
  std::shared_ptr<const Recompute> r = impl.grad_fn->recompute_.load();
  if (!r || r->output.lock() != t.impl() || r->storage.lock() != impl.storage || r->version != version ||
      r->sizes != impl.sizes || r->strides != impl.strides || r->offset != impl.offset) {
    return nullptr;
  }
  return r;
}

std::uint32_t recompute_depth(const Tensor& t) {
  const auto r = recipe_of(t);
  return r ? r->depth : 0;
}

void set_recompute(const std::shared_ptr<Node>& node, const Tensor& output, std::span<const Tensor> inputs,
                   RecomputeFn fn) {
  if (!node || !recompute_enabled) return;
  std::vector<SavedTensor> saved;
  saved.reserve(inputs.size());
  for (const Tensor& in : inputs) saved.emplace_back(in, false);
  set_recompute(node, output, std::move(saved), std::move(fn));
}

void set_recompute(const std::shared_ptr<Node>& node, const Tensor& output, std::vector<SavedTensor> inputs,
                   RecomputeFn fn) {
  if (!node || !recompute_enabled) return;
  std::uint32_t deepest = 0;
  for (const SavedTensor& in : inputs) deepest = std::max(deepest, in.recompute_depth());
  if (deepest + 1 > kMaxRecomputeDepth) return;
  auto r = std::make_shared<Recompute>();
  r->inputs = std::move(inputs);
  r->fn = std::move(fn);
  r->depth = deepest + 1;
  const TensorImpl& impl = *output.impl();
  r->output = output.impl();
  r->storage = impl.storage;
  r->version = impl.storage->version();
  r->sizes = impl.sizes;
  r->strides = impl.strides;
  r->offset = impl.offset;
  node->recompute_.store(std::move(r));
}

}  // namespace voxgrad::autograd
