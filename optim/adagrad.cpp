#include "voxgrad/optim/adagrad.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: Python rounds the scalar formulas
#include "voxgrad/optim/detail/update_kernels.h"

namespace voxgrad::optim {

std::vector<std::pair<std::string, double>> AdagradOptions::hyper_parameters() const {
  return {{"lr", lr_},
          {"lr_decay", lr_decay_},
          {"weight_decay", weight_decay_},
          {"initial_accumulator_value", initial_accumulator_value_},
          {"eps", eps_},
          {"maximize", maximize_ ? 1.0 : 0.0}};
}

void AdagradOptions::set_hyper_parameter(const std::string& name, double value) {
  if (name == "lr")
    lr_ = value;
  else if (name == "lr_decay")
    lr_decay_ = value;
  else if (name == "weight_decay")
    weight_decay_ = value;
  else if (name == "initial_accumulator_value")
    initial_accumulator_value_ = value;
  else if (name == "eps")
    eps_ = value;
  else if (name == "maximize")
    maximize_ = value != 0.0;
  else
    detail::throw_unknown_hyper(this->name(), name);
}

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults)
    : Adagrad(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

Adagrad::Adagrad(const std::vector<OptimizerParamGroup>& param_groups, const AdagradOptions& defaults)
    : Optimizer(defaults.clone()) {
  check_options(defaults);
  for (const OptimizerParamGroup& group : param_groups) add_param_group(group);
  // As PyTorch, every parameter has its state from the start (so a state dict taken before the
  // first step, or of a parameter that never gets a gradient, has "step" and "sum").
  for (const OptimizerParamGroup& group : this->param_groups()) {
    for (const Tensor& p : group.params()) init_state(p, static_cast<const AdagradOptions&>(group.options()));
  }
}

void Adagrad::check_options(const OptimizerOptions& options) const {
  const auto& o = static_cast<const AdagradOptions&>(options);
  detail::check_hyper(o.lr() >= 0.0, "Adagrad", "learning rate", o.lr());
  detail::check_hyper(o.lr_decay() >= 0.0, "Adagrad", "lr_decay value", o.lr_decay());
  detail::check_hyper(o.weight_decay() >= 0.0, "Adagrad", "weight_decay value", o.weight_decay());
  detail::check_hyper(o.initial_accumulator_value() >= 0.0, "Adagrad", "initial_accumulator_value value",
                      o.initial_accumulator_value());
  detail::check_hyper(o.eps() >= 0.0, "Adagrad", "epsilon value", o.eps());
}

void Adagrad::init_state(const Tensor& param, const AdagradOptions& options) {
  ParamState& st = mutable_state(param);
  if (!st.empty()) return;
  NoGradGuard no_grad;
  st.emplace_back("step", zeros({}, kFloat64));
  st.emplace_back("sum", full_like(param, options.initial_accumulator_value()));
}

Tensor Adagrad::step(const LossClosure& closure) {
  Tensor loss = evaluate_closure(closure);
  check_step_operands();
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups()) {
    const auto& o = static_cast<const AdagradOptions&>(group.options());
    for (Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      init_state(p, o);
      ParamState& st = mutable_state(p);
      Tensor* step_t = find_state(st, "step");
      Tensor* sum = find_state(st, "sum");
      VOXGRAD_CHECK(step_t && sum, "Adagrad: corrupted optimizer state (missing step or sum)");
      const double step = step_t->item<double>() + 1;
      const double clr = o.lr() / (1 + (step - 1) * o.lr_decay());
      detail::adagrad_step_(p, p.grad(), *sum, {clr, o.eps(), o.weight_decay(), o.maximize()});
      step_t->add_(1.0);  // once the update is made
    }
  }
  return loss;
}

}  // namespace voxgrad::optim
