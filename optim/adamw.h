#pragma once

#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/adam.h"
#include "voxgrad/optim/optimizer.h"

namespace voxgrad::optim {

/// Options of AdamW, as torch::optim::AdamWOptions: `AdamWOptions(1e-3).weight_decay(0.05)`.
class AdamWOptions : public OptimizerCloneableOptions<AdamWOptions> {
 public:
  /// Options with learning rate `lr` (1e-3 by default).
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT(google-explicit-constructor)
  /// Learning rate (≥ 0).
  VOXGRAD_ARG(double, lr);
  /// Decay rates of the first and second moment averages, each in [0, 1).
  VOXGRAD_ARG(AdamBetas, betas) = {0.9, 0.999};
  /// Added to the denominator for numerical stability (≥ 0).
  VOXGRAD_ARG(double, eps) = 1e-8;
  /// Decoupled weight decay coefficient (≥ 0): p is scaled by 1 − lr·weight_decay each step.
  VOXGRAD_ARG(double, weight_decay) = 1e-2;
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
  /// "AdamWOptions".
  std::string name() const override { return "AdamWOptions"; }
};

/// AdamW (Adam with decoupled weight decay), as torch.optim.AdamW with PyTorch 1.13's
/// single-tensor algorithm: p *= 1 − lr·weight_decay, then Adam's update without the L2 term.
/// Per-parameter state as Adam's.
class AdamW : public Optimizer {
 public:
  /// One group of parameters with `defaults`.
  AdamW(std::vector<Tensor> params, const AdamWOptions& defaults = {});
  /// Several groups; a group without options takes `defaults`.
  AdamW(const std::vector<OptimizerParamGroup>& param_groups, const AdamWOptions& defaults = {});

  /// One update of every parameter that has a gradient (see the class comment).
  Tensor step(const LossClosure& closure = nullptr) override;

 protected:
  /// "AdamW".
  std::string name() const override { return "AdamW"; }
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
