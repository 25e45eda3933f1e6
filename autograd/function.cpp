#include "voxgrad/autograd/function.h"

#include <cxxabi.h>
#include <algorithm>
#include <cstdlib>

#include "voxgrad/autograd/anomaly_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/tensor_impl.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::autograd {

// --- SavedValue -------------------------------------------------------------------------------

namespace {

constexpr const char* kTypeNames[] = {"None", "bool", "int", "double", "string", "Tensor", "int list", "double list"};

template <typename V>
const V& get_as(const auto& v, const SavedValue& self, const char* wanted) {
  const V* p = std::get_if<V>(&v);
  VOXGRAD_CHECK(p != nullptr, "saved_data: expected a value of type {}, but the stored value is a {}", wanted,
                self.type_name());
  return *p;
}

}  // namespace

const char* SavedValue::type_name() const { return kTypeNames[v_.index()]; }
bool SavedValue::toBool() const { return get_as<bool>(v_, *this, "bool"); }
std::int64_t SavedValue::toInt() const { return get_as<std::int64_t>(v_, *this, "int"); }
double SavedValue::toDouble() const {
  // As IValue::toDouble, an integer converts (ctx->saved_data["n"] = 3; ...toDouble()).
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
  return get_as<double>(v_, *this, "double");
}
const std::string& SavedValue::toStringRef() const { return get_as<std::string>(v_, *this, "string"); }
Tensor SavedValue::toTensor() const { return get_as<Tensor>(v_, *this, "Tensor"); }
const std::vector<std::int64_t>& SavedValue::toIntVector() const {
  return get_as<std::vector<std::int64_t>>(v_, *this, "int list");
}
const std::vector<double>& SavedValue::toDoubleVector() const {
  return get_as<std::vector<double>>(v_, *this, "double list");
}

// --- AutogradContext --------------------------------------------------------------------------

void AutogradContext::save_for_backward(tensor_list to_save) { to_save_ = std::move(to_save); }

tensor_list AutogradContext::get_saved_variables() const {
  VOXGRAD_CHECK(saved_ != nullptr,
                "{}: get_saved_variables can only be called in backward (the tensors passed to "
                "save_for_backward are packed when forward returns)",
                name_);
  return *saved_;
}

void AutogradContext::mark_dirty(const tensor_list& inputs) {
  dirty_.clear();
  for (const Tensor& t : inputs) dirty_.push_back(t.impl().get());
}

void AutogradContext::mark_non_differentiable(const tensor_list& outputs) {
  non_differentiable_.clear();
  for (const Tensor& t : outputs) non_differentiable_.push_back(t.impl().get());
}

bool AutogradContext::needs_input_grad(std::size_t index) const {
  VOXGRAD_CHECK(index < needs_.size(), "{}: needs_input_grad({}) is out of range: the function has {} tensor inputs",
                name_, index, needs_.size());
  return needs_[index];
}

// --- FunctionNode -----------------------------------------------------------------------------

namespace detail {

std::string demangle(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name != nullptr ? name : type.name();
  std::free(name);
  // Keep the unqualified name: "ns::(anonymous namespace)::MyOp" -> "MyOp".
  const std::size_t colon = out.rfind("::", out.find('<'));
  return colon == std::string::npos ? out : out.substr(colon + 2);
}

FunctionNode::FunctionNode(std::string name, BackwardImpl backward) : Node(name), backward_(backward) {
  ctx_.name_ = std::move(name);
  fn_ = [this](const BackwardCtx& c) { return run_backward(c); };
}

void FunctionNode::begin_forward(const tensor_list& inputs) {
  ctx_.needs_.clear();
  for (const Tensor& t : inputs) ctx_.needs_.push_back(GradMode::is_enabled() && t.defined() && t.requires_grad());
}

namespace {

bool contains(const std::vector<const TensorImpl*>& v, const TensorImpl* p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

Tensor alias_of(const Tensor& t) { return voxgrad::detail::alias(t, t.sizes(), t.strides(), t.storage_offset()); }

}  // namespace

tensor_list FunctionNode::finish_forward(const tensor_list& inputs, tensor_list outputs) {
  std::vector<const TensorImpl*> input_impls, output_impls;
  for (const Tensor& t : inputs) input_impls.push_back(t.impl().get());
  for (const Tensor& t : outputs) output_impls.push_back(t.impl().get());
  for (std::size_t i = 0; i < ctx_.dirty_.size(); ++i) {
    VOXGRAD_CHECK(contains(input_impls, ctx_.dirty_[i]),
                  "{}: tensor {} passed to mark_dirty is not an input of forward", name(), i);
    VOXGRAD_CHECK(contains(output_impls, ctx_.dirty_[i]),
                  "{}: tensor {} passed to mark_dirty was not returned by forward (a tensor modified in place "
                  "must be returned as an output)",
                  name(), i);
  }
  for (std::size_t i = 0; i < ctx_.non_differentiable_.size(); ++i) {
    VOXGRAD_CHECK(contains(output_impls, ctx_.non_differentiable_[i]),
                  "{}: tensor {} passed to mark_non_differentiable is not an output of forward", name(), i);
  }
  if (!any_requires_grad(inputs)) {
    ctx_.to_save_.clear();
    return outputs;
  }

  if (AnomalyMode::is_enabled()) [[unlikely]]
    set_label(current_anomaly_label());
  for (const Tensor& in : inputs) {
    next_edges_.push_back(gradient_edge(in));
    input_meta_.push_back(in.defined() ? TensorMeta{in.sizes(), in.dtype()} : TensorMeta{});
  }
  // Edges are taken above, before a dirty input's history is rewritten below.
  std::vector<const TensorImpl*> seen;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    Tensor& out = outputs[i];
    if (!out.defined()) {
      output_meta_.push_back({});
      continue;
    }
    const TensorImpl* impl = out.impl().get();
    const bool dirty = contains(ctx_.dirty_, impl);
    if (dirty) {
      VOXGRAD_CHECK(!(out.is_leaf() && out.requires_grad()),
                    "{}: a leaf Variable that requires grad has been used in an in-place operation (input "
                    "marked dirty)",
                    name());
    } else if (contains(input_impls, impl) || contains(seen, impl)) {
      // An input returned unchanged (or an output returned twice) becomes a new alias, so the
      // caller's tensor keeps its own history.
      out = alias_of(out);
    }
    seen.push_back(impl);
    output_meta_.push_back({out.sizes(), out.dtype()});
    if (contains(ctx_.non_differentiable_, impl)) {
      if (dirty) out.impl()->grad_fn = nullptr;
      continue;
    }
    TensorImpl& o = *out.impl();
    o.grad_fn = shared_from_this();
    o.output_nr = static_cast<std::uint32_t>(i);
    o.requires_grad = false;
  }
  std::vector<const TensorImpl*> final_outputs;
  for (const Tensor& t : outputs) final_outputs.push_back(t.impl().get());
  for (const Tensor& t : ctx_.to_save_) {
    saved_.emplace_back(t, t.defined() && contains(final_outputs, t.impl().get()));
  }
  ctx_.to_save_.clear();
  materialize_grads_ = ctx_.materialize_grads_;
  return outputs;
}

std::vector<Tensor> FunctionNode::run_backward(const BackwardCtx& c) {
  const tensor_list saved(c.saved.begin(), c.saved.end());
  std::vector<bool> forward_needs = std::move(ctx_.needs_);
  ctx_.needs_.assign(c.needs.begin(), c.needs.end());
  ctx_.saved_ = &saved;
  struct Restore {
    AutogradContext& ctx;
    std::vector<bool>& needs;
    ~Restore() {
      ctx.saved_ = nullptr;
      ctx.needs_ = std::move(needs);
    }
  } restore{ctx_, forward_needs};
  tensor_list grads = backward_(&ctx_, tensor_list(c.grad_outputs.begin(), c.grad_outputs.end()));
  const std::size_t expected = next_edges_.size();
  bool ok = grads.size() >= expected;
  for (std::size_t i = expected; ok && i < grads.size(); ++i) ok = !grads[i].defined();
  VOXGRAD_CHECK(ok,
                "function {} returned an incorrect number of gradients (expected {}, got {}); return one "
                "gradient per tensor input, undefined where there is none",
                name(), expected, grads.size());
  grads.resize(expected);
  for (std::size_t i = 0; i < expected; ++i) {
    if (!grads[i].defined() || !next_edges_[i].valid()) continue;
    VOXGRAD_CHECK(grads[i].sizes() == input_meta_[i].sizes,
                  "function {} returned an invalid gradient at index {}: got shape {} but expected shape {}", name(), i,
                  shape_str(grads[i].sizes()), shape_str(input_meta_[i].sizes));
  }
  return grads;
}

}  // namespace detail

}  // namespace voxgrad::autograd
