#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim {

/// Options of ConstantLR, as PyTorch's arguments: `ConstantLROptions().factor(0.5).total_iters(4)`.
struct ConstantLROptions {
  /// Factor of the base lr before epoch total_iters, in [0, 1].
  VOXGRAD_ARG(double, factor) = 1.0 / 3.0;
  /// The epoch from which the lr is the base lr again (≥ 0).
  VOXGRAD_ARG(std::int64_t, total_iters) = 5;
};

/// Scales each group's lr by a constant factor until epoch total_iters, as
/// torch.optim.lr_scheduler.ConstantLR (PyTorch 1.13), a warm-up: lr(epoch) = base_lr · factor for
/// epoch < total_iters, base_lr from then on. PyTorch's recursive form, evaluated as PyTorch does:
/// the lr times factor at epoch 0, times 1/factor at epoch total_iters, unchanged otherwise (so with
/// total_iters = 0 the lr stays base_lr · factor, as in PyTorch, while the closed form SequentialLR
/// uses gives base_lr · (factor + (1 − factor))).
class ConstantLR : public LRScheduler {
 public:
  /// `ConstantLR(optimizer, ConstantLROptions().factor(0.5).total_iters(4))`; throws for a factor
  /// outside [0, 1], a negative total_iters, or a factor of 0 with a positive total_iters (PyTorch
  /// accepts it, then raises ZeroDivisionError at epoch total_iters: the lr times 1/factor).
  explicit ConstantLR(Optimizer& optimizer, const ConstantLROptions& options = {});

 protected:
  /// PyTorch's recursive update.
  std::vector<double> get_lr() override;
  /// "ConstantLR".
  std::string name() const override { return "ConstantLR"; }
  /// factor, total_iters.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets factor or total_iters.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// A factor outside [0, 1], or a total_iters below 0 or not whole.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;
  /// A factor of 0 with a positive total_iters (refused by the constructor too).
  std::string hyper_parameters_problem(const std::vector<std::pair<std::string, double>>& values) const override;
  /// base_lr · (factor + (epoch ≥ total_iters)·(1 − factor)).
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  ConstantLROptions options_;
};

}  // namespace voxgrad::optim
