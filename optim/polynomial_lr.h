#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim {

/// Options of PolynomialLR, as PyTorch's arguments: `PolynomialLROptions().total_iters(1000).power(0.9)`.
struct PolynomialLROptions {
  /// Epochs over which the lr decays to 0 (≥ 1).
  VOXGRAD_ARG(std::int64_t, total_iters) = 5;
  /// Exponent of the polynomial (≥ 0).
  VOXGRAD_ARG(double, power) = 1.0;
};

/// Polynomial decay of each group's lr to 0 over total_iters epochs, as
/// torch.optim.lr_scheduler.PolynomialLR (PyTorch 1.13):
/// lr(epoch) = base_lr · (1 − min(epoch, total_iters)/total_iters)^power — nnU-Net's "poly" schedule
/// with power 0.9. PyTorch's recursive form, evaluated as PyTorch does:
/// lr(epoch) = lr(epoch − 1) · ((1 − epoch/total_iters) / (1 − (epoch − 1)/total_iters))^power up to
/// total_iters, unchanged after. (nnU-Net's own PolyLRScheduler evaluates the closed form at every
/// step, so its lrs can differ from these in the last bits.)
class PolynomialLR : public LRScheduler {
 public:
  /// `PolynomialLR(optimizer, PolynomialLROptions().total_iters(1000).power(0.9))`; throws for a
  /// total_iters below 1 (PyTorch accepts 0, then divides by zero in the closed form SequentialLR
  /// uses) or a negative power (PyTorch raises ZeroDivisionError at epoch total_iters: 0^power).
  explicit PolynomialLR(Optimizer& optimizer, const PolynomialLROptions& options = {});

 protected:
  /// PyTorch's recursive update.
  std::vector<double> get_lr() override;
  /// "PolynomialLR".
  std::string name() const override { return "PolynomialLR"; }
  /// total_iters, power.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets total_iters or power.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// A total_iters below 1 or not whole, or a negative power.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;
  /// base_lr · (1 − min(total_iters, epoch)/total_iters)^power.
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  PolynomialLROptions options_;
};

}  // namespace voxgrad::optim
