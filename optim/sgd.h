#pragma once

#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/optimizer.h"

namespace voxgrad::optim {

/// Options of SGD, as torch::optim::SGDOptions: `SGDOptions(0.1).momentum(0.9).nesterov(true)`.
class SGDOptions : public OptimizerCloneableOptions<SGDOptions> {
 public:
  /// The learning rate is required, as in libtorch.
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT(google-explicit-constructor)
  /// Learning rate (≥ 0).
  VOXGRAD_ARG(double, lr);
  /// Momentum factor (≥ 0).
  VOXGRAD_ARG(double, momentum) = 0.0;
  /// Dampening for momentum.
  VOXGRAD_ARG(double, dampening) = 0.0;
  /// L2 penalty added to the gradient (≥ 0).
  VOXGRAD_ARG(double, weight_decay) = 0.0;
  /// Nesterov momentum (needs momentum > 0 and dampening = 0).
  VOXGRAD_ARG(bool, nesterov) = false;
  /// Maximize the objective instead of minimizing it.
  VOXGRAD_ARG(bool, maximize) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  /// lr, momentum, dampening, weight_decay, nesterov, maximize.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets one of hyper_parameters() by name.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// "SGDOptions".
  std::string name() const override { return "SGDOptions"; }
};

/// Stochastic gradient descent with momentum, as torch.optim.SGD (PyTorch 1.13's update, in its
/// order): d = g + weight_decay·p; with momentum, buf = d on the first step, then
/// buf = momentum·buf + (1 − dampening)·d, and d = d + momentum·buf (nesterov) or d = buf; p −= lr·d.
/// Per-parameter state: "momentum_buffer" (only with momentum ≠ 0).
class SGD : public Optimizer {
 public:
  /// One group of parameters with `defaults`.
  SGD(std::vector<Tensor> params, const SGDOptions& defaults);
  /// Several groups; a group without options takes `defaults`.
  SGD(const std::vector<OptimizerParamGroup>& param_groups, const SGDOptions& defaults);

  /// One update of every parameter that has a gradient (see the class comment).
  Tensor step(const LossClosure& closure = nullptr) override;

 protected:
  /// "SGD".
  std::string name() const override { return "SGD"; }
  /// Checks lr, momentum, weight_decay ≥ 0 and the nesterov condition.
  void check_options(const OptimizerOptions& options) const override;
  /// {"momentum_buffer"}.
  std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }
  /// momentum_buffer only with a momentum.
  bool uses_state(const OptimizerOptions& options, const std::string& key) const override;
};

}  // namespace voxgrad::optim
