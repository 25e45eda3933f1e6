#pragma once

#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/optimizer.h"

namespace voxgrad::optim {

/// Options of RMSprop, as torch::optim::RMSpropOptions: `RMSpropOptions(1e-3).alpha(0.9).centered(true)`.
class RMSpropOptions : public OptimizerCloneableOptions<RMSpropOptions> {
 public:
  /// Options with learning rate `lr` (1e-2 by default, as PyTorch).
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT(google-explicit-constructor)
  /// Learning rate (≥ 0).
  VOXGRAD_ARG(double, lr);
  /// Smoothing constant of the running average of squared gradients (≥ 0).
  VOXGRAD_ARG(double, alpha) = 0.99;
  /// Added to the denominator for numerical stability (≥ 0).
  VOXGRAD_ARG(double, eps) = 1e-8;
  /// L2 penalty added to the gradient (≥ 0).
  VOXGRAD_ARG(double, weight_decay) = 0.0;
  /// Momentum factor (≥ 0).
  VOXGRAD_ARG(double, momentum) = 0.0;
  /// Normalise by the estimated variance (square average minus squared mean gradient).
  VOXGRAD_ARG(bool, centered) = false;
  /// Maximize the objective instead of minimizing it.
  VOXGRAD_ARG(bool, maximize) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  /// lr, alpha, eps, weight_decay, momentum, centered, maximize.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets one of hyper_parameters() by name.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// "RMSpropOptions".
  std::string name() const override { return "RMSpropOptions"; }
};

/// RMSprop, as torch.optim.RMSprop (PyTorch 1.13's update, in its order): g = ±grad + weight_decay·p;
/// v = alpha·v + (1 − alpha)·g²; centered: m = alpha·m + (1 − alpha)·g and avg = √(v − m²) + eps,
/// else avg = √v + eps; with momentum buf = momentum·buf + g/avg and p −= lr·buf, else p −= lr·g/avg.
/// Per-parameter state: "step", "square_avg", "momentum_buffer" (momentum > 0), "grad_avg" (centered).
class RMSprop : public Optimizer {
 public:
  /// One group of parameters with `defaults`.
  RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults = {});
  /// Several groups; a group without options takes `defaults`.
  RMSprop(const std::vector<OptimizerParamGroup>& param_groups, const RMSpropOptions& defaults = {});

  /// One update of every parameter that has a gradient (see the class comment).
  Tensor step(const LossClosure& closure = nullptr) override;

 protected:
  /// "RMSprop".
  std::string name() const override { return "RMSprop"; }
  /// Checks lr, eps, alpha, momentum, weight_decay ≥ 0.
  void check_options(const OptimizerOptions& options) const override;
  /// {"step", "square_avg", "momentum_buffer", "grad_avg"}.
  std::vector<std::string> state_names() const override;
  /// {"step", "square_avg"}: what step() reads whenever a parameter has state.
  std::vector<std::string> required_state_names() const override { return {"step", "square_avg"}; }
  /// momentum_buffer only with a momentum, grad_avg only when centered.
  bool uses_state(const OptimizerOptions& options, const std::string& key) const override;
};

}  // namespace voxgrad::optim
