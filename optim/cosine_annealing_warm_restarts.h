#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim {

/// Cosine annealing with warm restarts (SGDR), as torch.optim.lr_scheduler.CosineAnnealingWarmRestarts
/// (PyTorch 1.13) stepped without an epoch argument:
/// lr = eta_min + (base_lr − eta_min)·(1 + cos(π·T_cur/T_i))/2, where T_cur counts the epochs since
/// the last restart and T_i is the length of the current cycle: T_0 at first, multiplied by T_mult at
/// each restart (when T_cur reaches T_i it drops by T_i, giving base_lr again). At epoch 0 (the
/// initial step, or a restart by SequentialLR) T_cur = 0 and T_i = T_0. The integer T_cur and T_i
/// and the formula are evaluated as PyTorch does, so the lrs match bit for bit.
///
/// PyTorch's step(epoch) with a fractional epoch (stepping within an epoch) is not provided. The
/// state dict's "_step_count" counts steps as for the other schedulers; PyTorch's
/// CosineAnnealingWarmRestarts.step() leaves its _step_count at 0 (it only feeds PyTorch's warnings
/// about the order of optimizer.step() and scheduler.step()).
class CosineAnnealingWarmRestarts : public LRScheduler {
 public:
  /// `CosineAnnealingWarmRestarts(optimizer, /*T_0=*/10, /*T_mult=*/2, /*eta_min=*/1e-5)`; throws
  /// unless T_0 ≥ 1 and T_mult ≥ 1.
  CosineAnnealingWarmRestarts(Optimizer& optimizer, std::int64_t T_0, std::int64_t T_mult = 1, double eta_min = 0.0);
  /// A floating-point T_0 or T_mult does not compile: both are whole numbers (PyTorch raises for 2.5),
  /// and a port of `CosineAnnealingWarmRestarts(opt, 10, eta_min=1e-5)` must pass T_mult first:
  /// `(opt, 10, 1, 1e-5)`.
  template <typename A, typename B = std::int64_t>
  requires std::floating_point<A> || std::floating_point<B> CosineAnnealingWarmRestarts(Optimizer& optimizer, A T_0,
                                                                                        B T_mult = 1,
                                                                                        double eta_min = 0.0)
  = delete;
  /// Epochs since the last restart.
  std::int64_t T_cur() const { return t_cur_; }
  /// Length of the current cycle.
  std::int64_t T_i() const { return t_i_; }

 protected:
  /// Advances T_cur (restarting when it reaches T_i; at epoch 0 T_cur = 0 and T_i = T_0), then the
  /// cosine of each group; throws, changing nothing, when T_i · T_mult overflows int64.
  std::vector<double> get_lr() override;
  /// "CosineAnnealingWarmRestarts".
  std::string name() const override { return "CosineAnnealingWarmRestarts"; }
  /// T_0, T_i, T_mult, eta_min, T_cur (PyTorch's attributes).
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets one of hyper_parameters().
  void set_hyper_parameter(const std::string& name, double value) override;
  /// A T_0, T_i or T_mult below 1, or a T_cur below 0, or any of them not whole.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;

 private:
  std::int64_t t_0_;
  std::int64_t t_i_;
  std::int64_t t_mult_;
  double eta_min_;
  std::int64_t t_cur_ = 0;
};

}  // namespace voxgrad::optim
