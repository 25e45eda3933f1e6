#include "voxgrad/optim/adamw.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/adam_update.h"

namespace voxgrad::optim {
namespace {

detail::AdamHyper hyper(const AdamWOptions& o) {
  return {o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()), o.eps(), o.weight_decay(), o.amsgrad(),
          o.maximize(), /*decoupled=*/true};
}

}  // namespace

std::vector<std::pair<std::string, double>> AdamWOptions::hyper_parameters() const {
  return {{"lr", lr_},
          {"betas.0", std::get<0>(betas_)},
          {"betas.1", std::get<1>(betas_)},
          {"eps", eps_},
          {"weight_decay", weight_decay_},
          {"amsgrad", amsgrad_ ? 1.0 : 0.0},
          {"maximize", maximize_ ? 1.0 : 0.0}};
}

void AdamWOptions::set_hyper_parameter(const std::string& name, double value) {
  if (name == "lr") lr_ = value;
  else if (name == "betas.0") std::get<0>(betas_) = value;
  else if (name == "betas.1") std::get<1>(betas_) = value;
  else if (name == "eps") eps_ = value;
  else if (name == "weight_decay") weight_decay_ = value;
  else if (name == "amsgrad") amsgrad_ = value != 0.0;
  else if (name == "maximize") maximize_ = value != 0.0;
  else throw Error(fmt::format("AdamWOptions: unknown hyper-parameter \"{}\"", name));
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& defaults)
    : AdamW(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

AdamW::AdamW(const std::vector<OptimizerParamGroup>& param_groups, const AdamWOptions& defaults)
    : Optimizer(defaults.clone()) {
  check_options(defaults);
  for (const OptimizerParamGroup& group : param_groups) add_param_group(group);
}

void AdamW::check_options(const OptimizerOptions& options) const {
  detail::check_adam_hyper(hyper(static_cast<const AdamWOptions&>(options)), "AdamW");
}

std::vector<std::string> AdamW::state_names() const { return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

Tensor AdamW::step(const LossClosure& closure) {
  Tensor loss = evaluate_closure(closure);
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups()) {
    const detail::AdamHyper h = hyper(static_cast<const AdamWOptions&>(group.options()));
    for (Tensor& p : group.params()) {
      if (p.grad().defined()) detail::adam_update(p, mutable_state(p), h);
    }
  }
  return loss;
}

}  // namespace voxgrad::optim
