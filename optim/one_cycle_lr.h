#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim {

/// Options of OneCycleLR, as PyTorch's arguments:
/// `OneCycleLROptions({0.1}).total_steps(1000).anneal_strategy(OneCycleLROptions::Linear)`.
struct OneCycleLROptions {
  /// How the lr (and momentum) move within a phase.
  enum AnnealStrategy { Cos, Linear };
  /// The peak lr: one value for every group, or one per group.
  /* implicit */ OneCycleLROptions(std::vector<double> max_lr) : max_lr_(std::move(max_lr)) {}  // NOLINT
  /// One peak lr for every group.
  /* implicit */ OneCycleLROptions(double max_lr) : max_lr_({max_lr}) {}  // NOLINT
  /// Peak lr per group (or one for all).
  VOXGRAD_ARG(std::vector<double>, max_lr);
  /// Steps in the cycle; if unset, epochs · steps_per_epoch.
  VOXGRAD_ARG(std::optional<std::int64_t>, total_steps);
  /// Epochs of the cycle (with steps_per_epoch, when total_steps is unset).
  VOXGRAD_ARG(std::optional<std::int64_t>, epochs);
  /// Steps per epoch (with epochs, when total_steps is unset).
  VOXGRAD_ARG(std::optional<std::int64_t>, steps_per_epoch);
  /// Fraction of the cycle spent increasing the lr, in [0, 1].
  VOXGRAD_ARG(double, pct_start) = 0.3;
  /// Cos (cosine annealing) or Linear.
  VOXGRAD_ARG(AnnealStrategy, anneal_strategy) = Cos;
  /// Cycle the momentum (SGD's, RMSprop's "momentum" or Adam's β1) inversely to the lr.
  VOXGRAD_ARG(bool, cycle_momentum) = true;
  /// Lowest momentum (at the lr peak): one value or one per group.
  VOXGRAD_ARG(std::vector<double>, base_momentum) = {0.85};
  /// Highest momentum (at the start and end): one value or one per group.
  VOXGRAD_ARG(std::vector<double>, max_momentum) = {0.95};
  /// The initial lr is max_lr / div_factor.
  VOXGRAD_ARG(double, div_factor) = 25.0;
  /// The final lr is initial_lr / final_div_factor.
  VOXGRAD_ARG(double, final_div_factor) = 1e4;
  /// Three phases (up, back down to initial_lr, then down to min_lr) instead of two (up, down to min_lr).
  VOXGRAD_ARG(bool, three_phase) = false;
};

/// The 1cycle policy, as torch.optim.lr_scheduler.OneCycleLR (PyTorch 1.13): the lr rises from
/// initial_lr = max_lr/div_factor to max_lr over pct_start of the cycle, then anneals to
/// min_lr = initial_lr/final_div_factor (three_phase: back to initial_lr, then to min_lr), stepping
/// once per batch; with cycle_momentum the optimizer's momentum (or Adam's β1) moves the opposite way
/// between max_momentum and base_momentum. Stepping past total_steps throws PyTorch's error. Each
/// group's initial_lr is set to max_lr/div_factor, as PyTorch does.
class OneCycleLR : public LRScheduler {
 public:
  /// Schedules `optimizer`; throws (before changing its groups' lr and momentum; each group's
  /// initial_lr is recorded first, as by PyTorch's setdefault) for a missing or non-positive cycle length,
  /// pct_start outside [0, 1], a div_factor or final_div_factor of 0, a first phase of no steps
  /// (pct_start · total_steps = 1: PyTorch divides by zero), per-group lists of the wrong length, or
  /// cycle_momentum with an optimizer without momentum. step() throws at a phase of no steps too
  /// (pct_start 1 at the last step).
  OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options);
  /// The number of steps in the cycle.
  std::int64_t total_steps() const { return total_steps_; }

 protected:
  /// Each group's lr for the current step (and sets its momentum).
  std::vector<double> get_lr() override;
  /// "OneCycleLR".
  std::string name() const override { return "OneCycleLR"; }
  /// total_steps, pct_start, anneal_strategy (0 cos, 1 linear), three_phase, cycle_momentum, and per
  /// group "initial_lr.<g>", "max_lr.<g>", "min_lr.<g>", "max_momentum.<g>", "base_momentum.<g>".
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets one of hyper_parameters().
  void set_hyper_parameter(const std::string& name, double value) override;
  /// total_steps below 1 or pct_start outside [0, 1], as the constructor refuses them.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;
  /// A first phase of no steps (pct_start · total_steps = 1), as the constructor refuses it.
  std::string hyper_parameters_problem(const std::vector<std::pair<std::string, double>>& values) const override;

 private:
  /// One phase: from step start_step (previous end) to end_step, between two of the values below.
  struct Phase {
    double end_step;
    int start_lr, end_lr, start_momentum, end_momentum;  // indices into GroupValues::v
  };
  /// Per group: initial_lr, max_lr, min_lr, max_momentum, base_momentum (PyTorch's group keys).
  struct GroupValues {
    double v[5];
  };
  /// The phases of a cycle of total_steps with pct_start, two or three of them.
  static std::vector<Phase> phases_of(std::int64_t total_steps, double pct_start, bool three_phase);
  /// The phase of step `step_num` among `phases` and the step it starts from, and what is wrong with it
  /// (empty: nothing; a phase of no steps, where PyTorch divides by zero).
  struct Located {
    std::size_t phase;
    double start_step;
    std::string problem;
  };
  static Located locate(const std::vector<Phase>& phases, std::int64_t step_num, double pct_start,
                        std::int64_t total_steps);
  void build_phases() { phases_ = phases_of(total_steps_, pct_start_, three_phase_); }
  /// locate() in this schedule's phases; throws at a phase of no steps.
  std::pair<std::size_t, double> phase_at(std::int64_t step_num) const;
  double anneal(double start, double end, double pct) const;

  std::int64_t total_steps_ = 0;
  double pct_start_;
  bool linear_;
  bool three_phase_;
  bool cycle_momentum_;
  std::string momentum_name_;  // "momentum" or "betas.0"
  std::vector<Phase> phases_;
  std::vector<GroupValues> groups_;
};

}  // namespace voxgrad::optim
