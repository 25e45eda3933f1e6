#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/optim/optimizer.h"
// ReduceLROnPlateau, declared here until it got its own header.
#include "voxgrad/optim/reduce_lr_on_plateau.h"

namespace voxgrad::optim {

/// Base of the epoch-based LR schedulers, as torch.optim.lr_scheduler._LRScheduler (PyTorch 1.13):
/// construction records each group's lr as its base lr and performs the initial step (epoch 0,
/// lrs unchanged); each step() then advances one epoch and writes new lrs into the optimizer's
/// groups. Call it after optimizer.step(), once per epoch. The scheduler keeps a reference to the
/// optimizer, which must outlive it. The base lrs are, as PyTorch's, each group's initial_lr: the
/// lr the first scheduler attached to the optimizer found (so a scheduler created after a warm-up
/// scheduler starts from the real base lr, not the scaled one).
class LRScheduler {
 public:
  /// Schedulers are polymorphic.
  virtual ~LRScheduler() = default;
  /// Not copyable (it refers to its optimizer).
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one epoch and sets every group's lr. Throws if the optimizer's group count changed.
  void step();
  /// The lrs the last step set (one per group), as PyTorch's get_last_lr().
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The current epoch (0 right after construction).
  std::int64_t last_epoch() const { return last_epoch_; }
  /// Each group's lr when the scheduler was created.
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  /// The scheduler's state as float64 tensors: "base_lrs", "_last_lr" (1-D), "last_epoch",
  /// "_step_count" and the scheduler's own hyper-parameters (0-d), as PyTorch's state_dict() keys.
  nn::StateDict state_dict() const;
  /// Restores a state_dict() of the same scheduler type with as many groups; every problem is
  /// reported in one voxgrad::Error and nothing changes unless all entries are valid.
  void load_state_dict(const nn::StateDict& state_dict);

 protected:
  /// Records the base lrs (call initial_step() at the end of the derived constructor). With
  /// `last_epoch` −1 (a new schedule) each group's initial_lr is set to its lr where unset, as
  /// PyTorch's setdefault; otherwise (resuming at last_epoch, which PyTorch's schedulers take as an
  /// argument) every group must already have an initial_lr (check_resume() first) and the initial
  /// step moves to last_epoch + 1.
  explicit LRScheduler(Optimizer& optimizer, std::int64_t last_epoch = -1);
  /// Throws unless `last_epoch` is at least −1 and, when it is not −1, every group of `optimizer`
  /// has an initial_lr (PyTorch's KeyError); `name` is the scheduler's, for the message.
  static void check_resume(const std::string& name, const Optimizer& optimizer, std::int64_t last_epoch);
  /// PyTorch's initial step: epoch −1 → 0, which keeps the lrs.
  void initial_step();
  /// The new lr of each group for last_epoch() (already advanced); may read the groups' lrs.
  virtual std::vector<double> get_lr() = 0;
  /// The scheduler's name for messages ("StepLR").
  virtual std::string name() const = 0;
  /// The scheduler's own hyper-parameters by PyTorch name (saved in the state dict).
  virtual std::vector<std::pair<std::string, double>> hyper_parameters() const = 0;
  /// Sets one of hyper_parameters() (called by load_state_dict after validation).
  virtual void set_hyper_parameter(const std::string& name, double value) = 0;
  /// What is wrong with `value` for hyper-parameter `name`, as the constructor would see it (empty:
  /// nothing); load_state_dict reports it before anything changes.
  virtual std::string hyper_parameter_problem(const std::string& /*name*/, double /*value*/) const { return {}; }
  /// What is wrong with the hyper-parameters `values` together (each already accepted by
  /// hyper_parameter_problem), as the constructor would see them (empty: nothing); load_state_dict
  /// reports it before anything changes.
  virtual std::string hyper_parameters_problem(const std::vector<std::pair<std::string, double>>& /*values*/) const {
    return {};
  }
  /// Called by load_state_dict once every hyper-parameter is set.
  virtual void hyper_parameters_loaded() {}
  /// The lrs for last_epoch() in closed form (PyTorch's _get_closed_form_lr), if the schedule has one;
  /// used when SequentialLR restarts the scheduler at epoch 0.
  virtual std::optional<std::vector<double>> closed_form_lr() const { return std::nullopt; }
  /// The lr of every group, in order.
  std::vector<double> group_lrs() const;
  /// Replaces the base lrs (OneCycleLR derives its own from max_lr).
  void set_base_lrs(std::vector<double> base_lrs) { base_lrs_ = std::move(base_lrs); }

  /// The optimizer whose lrs are scheduled.
  Optimizer& optimizer_;

 private:
  friend class SequentialLR;
  friend class ChainedScheduler;
  /// Sets last_epoch to 0 and the lrs to closed_form_lr() (or get_lr()), as PyTorch's step(0).
  void restart();
  /// step() and restart(): counts a step, moves to `epoch` and sets the lrs (closed_form_lr() first
  /// when `closed_form`, else get_lr()); a schedule that throws leaves the scheduler where it was.
  void advance(std::int64_t epoch, bool closed_form);
  /// Writes `lrs` into the groups and remembers them as the last lrs.
  void apply(const std::vector<double>& lrs);

  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  std::int64_t last_epoch_ = -1;
  std::int64_t step_count_ = 0;
};

/// Multiplies each group's lr by gamma every step_size epochs, as torch.optim.lr_scheduler.StepLR:
/// lr(epoch) = base_lr · gamma^⌊epoch / step_size⌋ (computed recursively, as PyTorch, so the printed
/// values match PyTorch's bit for bit).
class StepLR : public LRScheduler {
 public:
  /// `StepLR(optimizer, /*step_size=*/30, /*gamma=*/0.1)`; step_size must be positive.
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);

 protected:
  /// The group lrs, times gamma when the epoch is a positive multiple of step_size.
  std::vector<double> get_lr() override;
  /// "StepLR".
  std::string name() const override { return "StepLR"; }
  /// step_size, gamma.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets step_size or gamma.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// A step_size below 1 or not whole.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;
  /// base_lr · gamma^⌊epoch / step_size⌋.
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// Cosine annealing from each base lr to eta_min over T_max epochs, as
/// torch.optim.lr_scheduler.CosineAnnealingLR: PyTorch 1.13's recursive form, evaluated exactly as
/// PyTorch does, which equals the closed form eta_min + (base − eta_min)·(1 + cos(π·epoch/T_max))/2
/// and continues as a cosine of period 2·T_max after T_max.
class CosineAnnealingLR : public LRScheduler {
 public:
  /// `CosineAnnealingLR(optimizer, /*T_max=*/100, /*eta_min=*/1e-5)`; T_max must be positive.
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);

 protected:
  /// PyTorch's recursive update of each group's lr.
  std::vector<double> get_lr() override;
  /// "CosineAnnealingLR".
  std::string name() const override { return "CosineAnnealingLR"; }
  /// T_max, eta_min.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets T_max or eta_min.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// A T_max below 1 or not whole.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;
  /// eta_min + (base_lr − eta_min)·(1 + cos(π·epoch/T_max))/2.
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// Multiplies each group's lr by gamma at every milestone epoch, as
/// torch.optim.lr_scheduler.MultiStepLR: lr(epoch) = base_lr · gamma^(number of milestones ≤ epoch).
/// A milestone listed k times multiplies by gamma^k (PyTorch's Counter).
class MultiStepLR : public LRScheduler {
 public:
  /// `MultiStepLR(optimizer, {30, 80}, 0.1)`; milestones must be non-negative.
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);

 protected:
  /// The group lrs, times gamma^k at an epoch listed k times.
  std::vector<double> get_lr() override;
  /// "MultiStepLR".
  std::string name() const override { return "MultiStepLR"; }
  /// gamma, and the sorted milestones as "milestones.0", "milestones.1", ...
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets gamma or one milestone (unsorted until hyper_parameters_loaded()).
  void set_hyper_parameter(const std::string& name, double value) override;
  /// A milestone below 0 or not whole.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;
  /// Sorts the milestones.
  void hyper_parameters_loaded() override;
  /// base_lr · gamma^(number of milestones ≤ epoch).
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  std::vector<std::int64_t> milestones_;  // sorted, repeats kept
  double gamma_;
};

/// Multiplies each group's lr by gamma every epoch, as torch.optim.lr_scheduler.ExponentialLR.
class ExponentialLR : public LRScheduler {
 public:
  /// `ExponentialLR(optimizer, 0.95)`.
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  /// The group lrs times gamma (unchanged at epoch 0).
  std::vector<double> get_lr() override;
  /// "ExponentialLR".
  std::string name() const override { return "ExponentialLR"; }
  /// gamma.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override { return {{"gamma", gamma_}}; }
  /// Sets gamma.
  void set_hyper_parameter(const std::string& name, double value) override;
  /// base_lr · gamma^epoch.
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  double gamma_;
};

/// Options of LinearLR, as PyTorch's arguments: `LinearLROptions().start_factor(0.1).total_iters(10)`.
struct LinearLROptions {
  /// Factor of the base lr at epoch 0, in (0, 1].
  VOXGRAD_ARG(double, start_factor) = 1.0 / 3.0;
  /// Factor of the base lr from epoch total_iters on, in [0, 1].
  VOXGRAD_ARG(double, end_factor) = 1.0;
  /// Epochs over which the factor moves linearly from start_factor to end_factor.
  VOXGRAD_ARG(std::int64_t, total_iters) = 5;
};

/// Scales each group's lr by a factor that moves linearly from start_factor to end_factor over
/// total_iters epochs, as torch.optim.lr_scheduler.LinearLR (the usual warm-up): PyTorch 1.13's
/// recursive form, lr(epoch) = lr(epoch − 1)·(1 + (end − start)/(total·start + (epoch − 1)·(end − start))).
class LinearLR : public LRScheduler {
 public:
  /// `LinearLR(optimizer, LinearLROptions().start_factor(0.1).total_iters(4))`; throws for factors
  /// out of range or a total_iters below 1 (PyTorch accepts 0, then divides by zero in the closed form
  /// SequentialLR uses).
  explicit LinearLR(Optimizer& optimizer, const LinearLROptions& options = {});

 protected:
  /// PyTorch's recursive update.
  std::vector<double> get_lr() override;
  /// "LinearLR".
  std::string name() const override { return "LinearLR"; }
  /// start_factor, end_factor, total_iters.
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets one of hyper_parameters().
  void set_hyper_parameter(const std::string& name, double value) override;
  /// Factors out of range or a total_iters below 1 or not whole, as the constructor refuses them.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;
  /// base_lr · (start + (end − start)·min(total_iters, epoch)/total_iters).
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  LinearLROptions options_;
};

}  // namespace voxgrad::optim
