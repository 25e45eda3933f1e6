#include "voxgrad/nn/modules/normalization.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::nn {
namespace F = functional;
namespace {

// PyTorch's _NormBase state: weight/bias parameters (affine) and running_mean, running_var and
// num_batches_tracked buffers (track_running_stats), in this registration order.
struct NormState {
  Tensor *weight, *bias, *running_mean, *running_var, *num_batches_tracked;
};

void register_norm_state(Module& m, const char* name, std::int64_t num_features, bool affine, bool track,
                         const NormState& s) {
  check_non_negative(num_features, name, "num_features");
  if (affine) {
    *s.weight = m.register_parameter("weight", empty({num_features}));
    *s.bias = m.register_parameter("bias", empty({num_features}));
  }
  if (track) {
    *s.running_mean = m.register_buffer("running_mean", zeros({num_features}));
    *s.running_var = m.register_buffer("running_var", ones({num_features}));
    *s.num_batches_tracked = m.register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

void reset_running(const NormState& s) {
  NoGradGuard no_grad;
  if (s.running_mean->defined()) s.running_mean->zero_();
  if (s.running_var->defined()) s.running_var->fill_(1.0);
  if (s.num_batches_tracked->defined()) s.num_batches_tracked->zero_();
}

void reset_affine(Tensor& weight, Tensor& bias) {
  NoGradGuard no_grad;
  if (weight.defined()) weight.fill_(1.0);
  if (bias.defined()) bias.zero_();
}

std::string norm_repr(std::int64_t num_features, double eps, const std::string& momentum, bool affine, bool track) {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features, detail::py_float(eps),
                     momentum, detail::py_bool(affine), detail::py_bool(track));
}

}  // namespace

// =================================================================================================
// BatchNorm3dImpl
// =================================================================================================

BatchNorm3dImpl::BatchNorm3dImpl(const BatchNorm3dOptions& options) : options_(options) { reset(); }

void BatchNorm3dImpl::reset() {
  register_norm_state(*this, "BatchNorm3d", options_.num_features(), options_.affine(), options_.track_running_stats(),
                      {&weight, &bias, &running_mean, &running_var, &num_batches_tracked});
  reset_parameters();
}

void BatchNorm3dImpl::reset_running_stats() {
  reset_running({&weight, &bias, &running_mean, &running_var, &num_batches_tracked});
}

void BatchNorm3dImpl::reset_parameters() {
  reset_running_stats();
  reset_affine(weight, bias);
}

Tensor BatchNorm3dImpl::forward(const Tensor& input) {
  voxgrad::detail::check_defined(input, "BatchNorm3d", "input");
  VOXGRAD_CHECK(input.dim() == 5, "BatchNorm3d: expected 5D input (got {}D input)", input.dim());
  // As PyTorch's _BatchNorm.forward: count the batch, and with momentum=None average cumulatively.
  double factor = options_.momentum().value_or(0.0);
  if (is_training() && options_.track_running_stats() && num_batches_tracked.defined()) {
    const std::int64_t batches = num_batches_tracked.item<std::int64_t>() + 1;
    {
      NoGradGuard no_grad;
      num_batches_tracked.fill_(static_cast<double>(batches));  // (in-place add_ is for floating tensors)
    }
    if (!options_.momentum().has_value()) factor = 1.0 / static_cast<double>(batches);
  }
  // Eval without running statistics normalises with the batch's own.
  const bool use_batch_stats = is_training() || !running_mean.defined();
  const bool pass_running = !is_training() || options_.track_running_stats();
  return F::batch_norm(input, pass_running ? running_mean : Tensor(), pass_running ? running_var : Tensor(),
                       F::BatchNormFuncOptions()
                           .weight(weight)
                           .bias(bias)
                           .training(use_batch_stats)
                           .momentum(factor)
                           .eps(options_.eps()));
}

std::string BatchNorm3dImpl::extra_repr() const {
  const auto& m = options_.momentum();
  return norm_repr(options_.num_features(), options_.eps(), m ? detail::py_float(*m) : "None", options_.affine(),
                   options_.track_running_stats());
}

// =================================================================================================
// InstanceNorm3dImpl
// =================================================================================================

InstanceNorm3dImpl::InstanceNorm3dImpl(const InstanceNorm3dOptions& options) : options_(options) { reset(); }

void InstanceNorm3dImpl::reset() {
  register_norm_state(*this, "InstanceNorm3d", options_.num_features(), options_.affine(),
                      options_.track_running_stats(),
                      {&weight, &bias, &running_mean, &running_var, &num_batches_tracked});
  reset_parameters();
}

void InstanceNorm3dImpl::reset_running_stats() {
  reset_running({&weight, &bias, &running_mean, &running_var, &num_batches_tracked});
}

void InstanceNorm3dImpl::reset_parameters() {
  reset_running_stats();
  reset_affine(weight, bias);
}

Tensor InstanceNorm3dImpl::forward(const Tensor& input) {
  voxgrad::detail::check_defined(input, "InstanceNorm3d", "input");
  VOXGRAD_CHECK(input.dim() == 4 || input.dim() == 5, "InstanceNorm3d: expected 4D or 5D input (got {}D input)",
                input.dim());
  const std::int64_t channel_dim = input.dim() - 4;
  if (options_.affine()) {
    VOXGRAD_CHECK(input.size(channel_dim) == options_.num_features(),
                  "InstanceNorm3d: expected input's size at dim={} to match num_features ({}), but got: {}.",
                  channel_dim, options_.num_features(), input.size(channel_dim));
  }
  const Tensor x = input.dim() == 5 ? input : input.unsqueeze(0);
  const Tensor y = F::instance_norm(x, F::InstanceNormFuncOptions()
                                           .running_mean(running_mean)
                                           .running_var(running_var)
                                           .weight(weight)
                                           .bias(bias)
                                           .use_input_stats(is_training() || !options_.track_running_stats())
                                           .momentum(options_.momentum())
                                           .eps(options_.eps()));
  return input.dim() == 5 ? y : y.squeeze(0);
}

std::string InstanceNorm3dImpl::extra_repr() const {
  return norm_repr(options_.num_features(), options_.eps(), detail::py_float(options_.momentum()), options_.affine(),
                   options_.track_running_stats());
}

// =================================================================================================
// GroupNormImpl
// =================================================================================================

GroupNormImpl::GroupNormImpl(const GroupNormOptions& options) : options_(options) {
  VOXGRAD_CHECK(options_.num_groups() > 0, "GroupNorm: num_groups must be positive (got {})", options_.num_groups());
  check_non_negative(options_.num_channels(), "GroupNorm", "num_channels");
  VOXGRAD_CHECK(options_.num_channels() % options_.num_groups() == 0,
                "GroupNorm: num_channels must be divisible by num_groups (got num_channels={}, num_groups={})",
                options_.num_channels(), options_.num_groups());
  reset();
}

void GroupNormImpl::reset() {
  if (options_.affine()) {
    weight = register_parameter("weight", empty({options_.num_channels()}));
    bias = register_parameter("bias", empty({options_.num_channels()}));
  }
  reset_parameters();
}

void GroupNormImpl::reset_parameters() { reset_affine(weight, bias); }

Tensor GroupNormImpl::forward(const Tensor& input) {
  return F::group_norm(input,
                       F::GroupNormFuncOptions(options_.num_groups()).weight(weight).bias(bias).eps(options_.eps()));
}

std::string GroupNormImpl::extra_repr() const {
  return fmt::format("{}, {}, eps={}, affine={}", options_.num_groups(), options_.num_channels(),
                     detail::py_float(options_.eps()), detail::py_bool(options_.affine()));
}

// =================================================================================================
// LayerNorm
// =================================================================================================

LayerNormImpl::LayerNormImpl(const LayerNormOptions& options) : options_(options) {
  VOXGRAD_CHECK(!options_.normalized_shape().empty(), "LayerNorm: normalized_shape must have at least one dim");
  for (std::int64_t s : options_.normalized_shape()) check_non_negative(s, "LayerNorm", "normalized_shape");
  reset();
}

void LayerNormImpl::reset() {
  if (options_.elementwise_affine()) {
    weight = register_parameter("weight", voxgrad::empty(options_.normalized_shape()));
    bias = register_parameter("bias", voxgrad::empty(options_.normalized_shape()));
  }
  reset_parameters();
}

void LayerNormImpl::reset_parameters() { reset_affine(weight, bias); }

Tensor LayerNormImpl::forward(const Tensor& input) {
  return F::layer_norm(
      input, F::LayerNormFuncOptions(options_.normalized_shape()).weight(weight).bias(bias).eps(options_.eps()));
}

std::string LayerNormImpl::extra_repr() const {
  const auto& ns = options_.normalized_shape();
  // A Python tuple: "(4,)" for one element.
  const std::string shape = ns.size() == 1 ? fmt::format("({},)", ns[0]) : fmt::format("({})", fmt::join(ns, ", "));
  return fmt::format("{}, eps={}, elementwise_affine={}", shape, detail::py_float(options_.eps()),
                     detail::py_bool(options_.elementwise_affine()));
}

}  // namespace voxgrad::nn
