#include "voxgrad/optim/adam.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/optim/detail/adam_kernel.h"
#include "voxgrad/optim/detail/adam_update.h"
#include "voxgrad/optim/detail/checks.h"

namespace voxgrad::optim {

namespace detail {

void check_adam_hyper(const AdamHyper& h, const char* op) {
  check_hyper(h.lr >= 0.0, op, "learning rate", h.lr);
  check_hyper(h.eps >= 0.0, op, "epsilon value", h.eps);
  check_hyper(h.beta1 >= 0.0 && h.beta1 < 1.0, op, "beta parameter at index 0", h.beta1);
  check_hyper(h.beta2 >= 0.0 && h.beta2 < 1.0, op, "beta parameter at index 1", h.beta2);
  check_hyper(h.weight_decay >= 0.0, op, "weight_decay value", h.weight_decay);
}

// PyTorch 1.13's _single_tensor_adam / _single_tensor_adamw: the state here, the update itself in
// adam_kernel.h.
void adam_update(Tensor& param, ParamState& state, const AdamHyper& h) {
  if (state.empty()) {
    state.emplace_back("step", zeros({}, kFloat64));
    state.emplace_back("exp_avg", zeros_like(param));
    state.emplace_back("exp_avg_sq", zeros_like(param));
    if (h.amsgrad) state.emplace_back("max_exp_avg_sq", zeros_like(param));
  }
  Tensor* step_t = find_state(state, "step");
  Tensor* exp_avg = find_state(state, "exp_avg");
  Tensor* exp_avg_sq = find_state(state, "exp_avg_sq");
  VOXGRAD_CHECK(step_t && exp_avg && exp_avg_sq, "{}: corrupted optimizer state (missing step or moments)",
                h.decoupled ? "AdamW" : "Adam");

  Tensor* max_sq = nullptr;
  if (h.amsgrad) {
    max_sq = find_state(state, "max_exp_avg_sq");
    if (max_sq == nullptr) {  // amsgrad switched on after the first step
      state.emplace_back("max_exp_avg_sq", zeros_like(param));
      max_sq = &state.back().second;
      step_t = find_state(state, "step");
      exp_avg = find_state(state, "exp_avg");
      exp_avg_sq = find_state(state, "exp_avg_sq");
    }
  }
  // The step count goes up only with an update that happened (adam_step_ checks its operands first).
  const double step = step_t->item<double>() + 1.0;
  adam_step_(param, param.grad(), *exp_avg, *exp_avg_sq, max_sq, h, step);
  step_t->add_(1.0);
}

}  // namespace detail

std::vector<std::pair<std::string, double>> AdamOptions::hyper_parameters() const {
  return detail::adam_hyper_parameters(*this);
}

void AdamOptions::set_hyper_parameter(const std::string& name, double value) {
  detail::set_adam_hyper_parameter(*this, name, value);
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& defaults)
    : Adam(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

Adam::Adam(const std::vector<OptimizerParamGroup>& param_groups, const AdamOptions& defaults)
    : Optimizer(defaults.clone()) {
  check_options(defaults);
  for (const OptimizerParamGroup& group : param_groups) add_param_group(group);
}

void Adam::check_options(const OptimizerOptions& options) const {
  detail::check_adam_hyper(detail::adam_hyper(static_cast<const AdamOptions&>(options), false), "Adam");
}

std::vector<std::string> Adam::state_names() const { return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

Tensor Adam::step(const LossClosure& closure) {
  Tensor loss = evaluate_closure(closure);
  check_step_operands();
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups()) {
    const detail::AdamHyper h = detail::adam_hyper(static_cast<const AdamOptions&>(group.options()), false);
    for (Tensor& p : group.params()) {
      if (p.grad().defined()) detail::adam_update(p, mutable_state(p), h);
    }
  }
  return loss;
}

bool Adam::uses_state(const OptimizerOptions& options, const std::string& key) const {
  return key != "max_exp_avg_sq" || static_cast<const AdamOptions&>(options).amsgrad();
}

}  // namespace voxgrad::optim
