#pragma once

#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/optimizer.h"

namespace voxgrad::optim {

/// Options of Adagrad, as torch::optim::AdagradOptions: `AdagradOptions(0.1).lr_decay(1e-3)`.
class AdagradOptions : public OptimizerCloneableOptions<AdagradOptions> {
 public:
  /// Options with learning rate `lr` (1e-2 by default, as PyTorch).
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT(google-explicit-constructor)
  /// Learning rate (≥ 0).
  VOXGRAD_ARG(double, lr);
  /// The step's lr is lr / (1 + (step − 1)·lr_decay) (≥ 0).
  VOXGRAD_ARG(double, lr_decay) = 0.0;
  /// L2 penalty added to the gradient (≥ 0).
  VOXGRAD_ARG(double, weight_decay) = 0.0;
  /// The value the sum of squared gradients starts from (≥ 0).
  VOXGRAD_ARG(double, initial_accumulator_value) = 0.0;
  /// Added to the denominator for numerical stability (≥ 0).
  VOXGRAD_ARG(double, eps) = 1e-10;
  /// Maximize the objective instead of minimizing it.
  VOXGRAD_ARG(bool, maximize) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  /// lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets one of hyper_parameters() by name.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// "AdagradOptions".
  std::string name() const override { return "AdagradOptions"; }
};

/// Adagrad, as torch.optim.Adagrad (PyTorch 1.13's update, in its order): step += 1;
/// g = ±grad + weight_decay·p; clr = lr / (1 + (step − 1)·lr_decay); sum += g²;
/// p −= clr·g / (√sum + eps). Per-parameter state: "step" and "sum", created (as PyTorch) for every
/// parameter when the optimizer is built, sum = the group's initial_accumulator_value. Two fixes of
/// PyTorch 1.13: it fills every group's sum with the constructor's initial_accumulator_value (a
/// group's own is ignored), and a group added later with add_param_group fails with a KeyError on
/// its first step; here the group's value is used and a later group gets its state on its first step.
class Adagrad : public Optimizer {
 public:
  /// One group of parameters with `defaults`.
  Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults = {});
  /// Several groups; a group without options takes `defaults`.
  Adagrad(const std::vector<OptimizerParamGroup>& param_groups, const AdagradOptions& defaults = {});

  /// One update of every parameter that has a gradient (see the class comment).
  Tensor step(const LossClosure& closure = nullptr) override;

 protected:
  /// "Adagrad".
  std::string name() const override { return "Adagrad"; }
  /// Checks lr, lr_decay, weight_decay, initial_accumulator_value, eps ≥ 0.
  void check_options(const OptimizerOptions& options) const override;
  /// {"step", "sum"}.
  std::vector<std::string> state_names() const override { return {"step", "sum"}; }
  /// {"step", "sum"}: what step() reads whenever a parameter has state.
  std::vector<std::string> required_state_names() const override { return {"step", "sum"}; }

 private:
  /// step = 0, sum = initial_accumulator_value, unless `param` has state already.
  void init_state(const Tensor& param, const AdagradOptions& options);
};

}  // namespace voxgrad::optim
