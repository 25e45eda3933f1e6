#include "voxgrad/optim/adamw.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/adam_update.h"

namespace voxgrad::optim {
std::vector<std::pair<std::string, double>> AdamWOptions::hyper_parameters() const {
  return detail::adam_hyper_parameters(*this);
}

void AdamWOptions::set_hyper_parameter(const std::string& name, double value) {
  detail::set_adam_hyper_parameter(*this, name, value);
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& defaults)
    : AdamW(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

AdamW::AdamW(const std::vector<OptimizerParamGroup>& param_groups, const AdamWOptions& defaults)
    : Optimizer(defaults.clone()) {
  check_options(defaults);
  for (const OptimizerParamGroup& group : param_groups) add_param_group(group);
}

void AdamW::check_options(const OptimizerOptions& options) const {
  detail::check_adam_hyper(detail::adam_hyper(static_cast<const AdamWOptions&>(options), true), "AdamW");
}

std::vector<std::string> AdamW::state_names() const { return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

Tensor AdamW::step(const LossClosure& closure) {
  Tensor loss = evaluate_closure(closure);
  check_step_operands();
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups()) {
    const detail::AdamHyper h = detail::adam_hyper(static_cast<const AdamWOptions&>(group.options()), true);
    for (Tensor& p : group.params()) {
      if (p.grad().defined()) detail::adam_update(p, mutable_state(p), h);
    }
  }
  return loss;
}

bool AdamW::uses_state(const OptimizerOptions& options, const std::string& key) const {
  return key != "max_exp_avg_sq" || static_cast<const AdamWOptions&>(options).amsgrad();
}

}  // namespace voxgrad::optim
