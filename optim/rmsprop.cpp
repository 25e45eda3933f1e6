#include "voxgrad/optim/rmsprop.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/update_kernels.h"

namespace voxgrad::optim {

std::vector<std::pair<std::string, double>> RMSpropOptions::hyper_parameters() const {
  return {{"lr", lr_},
          {"alpha", alpha_},
          {"eps", eps_},
          {"weight_decay", weight_decay_},
          {"momentum", momentum_},
          {"centered", centered_ ? 1.0 : 0.0},
          {"maximize", maximize_ ? 1.0 : 0.0}};
}

void RMSpropOptions::set_hyper_parameter(const std::string& name, double value) {
  if (name == "lr")
    lr_ = value;
  else if (name == "alpha")
    alpha_ = value;
  else if (name == "eps")
    eps_ = value;
  else if (name == "weight_decay")
    weight_decay_ = value;
  else if (name == "momentum")
    momentum_ = value;
  else if (name == "centered")
    centered_ = value != 0.0;
  else if (name == "maximize")
    maximize_ = value != 0.0;
  else
    detail::throw_unknown_hyper(this->name(), name);
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults)
    : RMSprop(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

RMSprop::RMSprop(const std::vector<OptimizerParamGroup>& param_groups, const RMSpropOptions& defaults)
    : Optimizer(defaults.clone()) {
  check_options(defaults);
  for (const OptimizerParamGroup& group : param_groups) add_param_group(group);
}

void RMSprop::check_options(const OptimizerOptions& options) const {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  detail::check_hyper(o.lr() >= 0.0, "RMSprop", "learning rate", o.lr());
  detail::check_hyper(o.eps() >= 0.0, "RMSprop", "epsilon value", o.eps());
  detail::check_hyper(o.momentum() >= 0.0, "RMSprop", "momentum value", o.momentum());
  detail::check_hyper(o.weight_decay() >= 0.0, "RMSprop", "weight_decay value", o.weight_decay());
  detail::check_hyper(o.alpha() >= 0.0, "RMSprop", "alpha value", o.alpha());
}

std::vector<std::string> RMSprop::state_names() const { return {"step", "square_avg", "momentum_buffer", "grad_avg"}; }

namespace {

// The state entry `key`, created as zeros like `param` if missing (momentum or centered switched on
// between steps, as a state dict loaded into other options can do).
Tensor& state_entry(ParamState& st, const std::string& key, const Tensor& param) {
  if (Tensor* t = find_state(st, key)) return *t;
  st.emplace_back(key, zeros_like(param));
  return st.back().second;
}

}  // namespace

Tensor RMSprop::step(const LossClosure& closure) {
  Tensor loss = evaluate_closure(closure);
  check_step_operands();
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups()) {
    const auto& o = static_cast<const RMSpropOptions&>(group.options());
    for (Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      ParamState& st = mutable_state(p);
      // PyTorch's state order: step, square_avg, momentum_buffer, grad_avg.
      if (st.empty()) {
        st.emplace_back("step", zeros({}, kFloat64));
        st.emplace_back("square_avg", zeros_like(p));
        if (o.momentum() > 0.0) st.emplace_back("momentum_buffer", zeros_like(p));
        if (o.centered()) st.emplace_back("grad_avg", zeros_like(p));
      }
      // Entries missing since an option was switched on between steps are made first, then found: a
      // pointer into the state would not survive the vector growing. (step and square_avg are there:
      // check_step_operands requires them of a parameter with state.)
      if (o.momentum() > 0.0) state_entry(st, "momentum_buffer", p);
      if (o.centered()) state_entry(st, "grad_avg", p);
      Tensor* buf = o.momentum() > 0.0 ? find_state(st, "momentum_buffer") : nullptr;
      Tensor* grad_avg = o.centered() ? find_state(st, "grad_avg") : nullptr;
      detail::rmsprop_step_(p, p.grad(), *find_state(st, "square_avg"), buf, grad_avg,
                            {o.lr(), o.alpha(), o.eps(), o.weight_decay(), o.momentum(), o.centered(), o.maximize()});
      find_state(st, "step")->add_(1.0);  // once the update is made
    }
  }
  return loss;
}

bool RMSprop::uses_state(const OptimizerOptions& options, const std::string& key) const {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  if (key == "momentum_buffer") return o.momentum() > 0.0;
  if (key == "grad_avg") return o.centered();
  return true;
}

}  // namespace voxgrad::optim
