#pragma once

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/optimizer.h"

namespace voxgrad::optim {

/// (β1, β2) of Adam and AdamW.
using AdamBetas = std::tuple<double, double>;

/// Options of Adam, as torch::optim::AdamOptions: `AdamOptions(1e-3).betas({0.9, 0.999}).amsgrad(true)`.
class AdamOptions : public OptimizerCloneableOptions<AdamOptions> {
 public:
  /// Options with learning rate `lr` (1e-3 by default).
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT(google-explicit-constructor)
  /// Learning rate (≥ 0).
  VOXGRAD_ARG(double, lr);
  /// Decay rates of the first and second moment averages, each in [0, 1).
  VOXGRAD_ARG(AdamBetas, betas) = {0.9, 0.999};
  /// Added to the denominator for numerical stability (≥ 0).
  VOXGRAD_ARG(double, eps) = 1e-8;
  /// L2 penalty added to the gradient (≥ 0).
  VOXGRAD_ARG(double, weight_decay) = 0.0;
  /// Use the maximum of past second moments (AMSGrad).
  VOXGRAD_ARG(bool, amsgrad) = false;
  /// Maximize the objective instead of minimizing it.
  VOXGRAD_ARG(bool, maximize) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  /// lr, betas.0, betas.1, eps, weight_decay, amsgrad, maximize.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets one of hyper_parameters() by name.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// "AdamOptions".
  std::string name() const override { return "AdamOptions"; }
};

/// Adam, as torch.optim.Adam with PyTorch 1.13's single-tensor algorithm:
/// step += 1; g += weight_decay·p; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
/// (amsgrad: v̂ = max(v̂, v), used for v below); denom = √v / √(1 − β2^step) + eps;
/// p −= lr / (1 − β1^step) · m / denom.
/// Per-parameter state: "step" (0-d float64), "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad.
class Adam : public Optimizer {
 public:
  /// One group of parameters with `defaults`.
  Adam(std::vector<Tensor> params, const AdamOptions& defaults = {});
  /// Several groups; a group without options takes `defaults`.
  Adam(const std::vector<OptimizerParamGroup>& param_groups, const AdamOptions& defaults = {});

  /// One update of every parameter that has a gradient (see the class comment).
  Tensor step(const LossClosure& closure = nullptr) override;

 protected:
  /// "Adam".
  std::string name() const override { return "Adam"; }
  /// Checks lr, eps, weight_decay ≥ 0 and 0 ≤ betas < 1.
  void check_options(const OptimizerOptions& options) const override;
  /// {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}.
  std::vector<std::string> state_names() const override;
  /// {"step", "exp_avg", "exp_avg_sq"}: what step() reads whenever a parameter has state.
  std::vector<std::string> required_state_names() const override { return {"step", "exp_avg", "exp_avg_sq"}; }
  /// max_exp_avg_sq only with amsgrad.
  bool uses_state(const OptimizerOptions& options, const std::string& key) const override;
};

}  // namespace voxgrad::optim
