#include "voxgrad/optim/sgd.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/update_kernels.h"

namespace voxgrad::optim {

std::vector<std::pair<std::string, double>> SGDOptions::hyper_parameters() const {
  return {{"lr", lr_},
          {"momentum", momentum_},
          {"dampening", dampening_},
          {"weight_decay", weight_decay_},
          {"nesterov", nesterov_ ? 1.0 : 0.0},
          {"maximize", maximize_ ? 1.0 : 0.0}};
}

void SGDOptions::set_hyper_parameter(const std::string& name, double value) {
  if (name == "lr")
    lr_ = value;
  else if (name == "momentum")
    momentum_ = value;
  else if (name == "dampening")
    dampening_ = value;
  else if (name == "weight_decay")
    weight_decay_ = value;
  else if (name == "nesterov")
    nesterov_ = value != 0.0;
  else if (name == "maximize")
    maximize_ = value != 0.0;
  else
    detail::throw_unknown_hyper("SGDOptions", name);
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& defaults)
    : SGD(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

SGD::SGD(const std::vector<OptimizerParamGroup>& param_groups, const SGDOptions& defaults)
    : Optimizer(defaults.clone()) {
  check_options(defaults);
  for (const OptimizerParamGroup& group : param_groups) add_param_group(group);
}

void SGD::check_options(const OptimizerOptions& options) const {
  const auto& o = static_cast<const SGDOptions&>(options);
  detail::check_hyper(o.lr() >= 0.0, "SGD", "learning rate", o.lr());
  detail::check_hyper(o.momentum() >= 0.0, "SGD", "momentum value", o.momentum());
  detail::check_hyper(o.weight_decay() >= 0.0, "SGD", "weight_decay value", o.weight_decay());
  VOXGRAD_CHECK(!o.nesterov() || (o.momentum() > 0.0 && o.dampening() == 0.0),
                "SGD: Nesterov momentum requires a momentum and zero dampening (got momentum={}, dampening={})",
                o.momentum(), o.dampening());
}

Tensor SGD::step(const LossClosure& closure) {
  Tensor loss = evaluate_closure(closure);
  check_step_operands();
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups()) {
    const auto& o = static_cast<const SGDOptions&>(group.options());
    for (Tensor& p : group.params()) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      // The first step's buffer is d itself (PyTorch: clone(d)), kept in the state once the step is made.
      Tensor* buf = nullptr;
      Tensor fresh;
      if (o.momentum() != 0.0) {
        buf = find_state(mutable_state(p), "momentum_buffer");
        if (buf == nullptr) {
          fresh = empty_like(p);
          buf = &fresh;
        }
      }
      detail::sgd_step_(p, grad, buf, fresh.defined(),
                        {o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov(), o.maximize()});
      if (fresh.defined()) mutable_state(p).emplace_back("momentum_buffer", fresh);
    }
  }
  return loss;
}

bool SGD::uses_state(const OptimizerOptions& options, const std::string& key) const {
  return key != "momentum_buffer" || static_cast<const SGDOptions&>(options).momentum() != 0.0;
}

}  // namespace voxgrad::optim
