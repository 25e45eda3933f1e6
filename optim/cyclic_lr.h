#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim {

/// A custom amplitude scale of CyclicLR (PyTorch's scale_fn): called with the cycle number (1, 2, ...;
/// scale_mode Cycle) or the iteration (last_epoch; scale_mode Iterations), returns the factor of the
/// cycle's height, e.g. `[](std::int64_t c) { return 1.0 / std::sqrt(static_cast<double>(c)); }`.
using CyclicScaleFn = std::function<double(std::int64_t x)>;

/// Options of CyclicLR, as PyTorch's arguments:
/// `CyclicLROptions(0.001, 0.006).step_size_up(2000).mode(CyclicLROptions::Triangular2)`.
struct CyclicLROptions {
  /// The built-in amplitude policies: Triangular (constant height), Triangular2 (height halved every
  /// cycle; past cycle 1 024, where PyTorch's 2. ** (x − 1) raises OverflowError, the exact value goes on,
  /// subnormal and then 0, so the lr settles at base_lr), ExpRange (height times gamma^iteration; an
  /// overflow of gamma^iteration throws, as PyTorch's OverflowError).
  enum Mode { Triangular, Triangular2, ExpRange };
  /// What a custom scale_fn is called with: the cycle number or the iteration.
  enum ScaleMode { Cycle, Iterations };
  /// The lower and upper lr bounds: one value for every group, or one per group (a list of one value
  /// counts as one for every group, as in OneCycleLROptions).
  CyclicLROptions(std::vector<double> base_lr, std::vector<double> max_lr)
      : base_lr_(std::move(base_lr)), max_lr_(std::move(max_lr)) {}
  /// One lower and one upper bound for every group.
  CyclicLROptions(double base_lr, double max_lr) : base_lr_({base_lr}), max_lr_({max_lr}) {}
  /// The lowest lr of the cycle (each group's lr at the start), one value or one per group.
  VOXGRAD_ARG(std::vector<double>, base_lr);
  /// The highest lr of the cycle's first peak, one value or one per group.
  VOXGRAD_ARG(std::vector<double>, max_lr);
  /// Steps from base_lr up to max_lr (≥ 1).
  VOXGRAD_ARG(std::int64_t, step_size_up) = 2000;
  /// Steps from max_lr back down to base_lr (≥ 0); unset: step_size_up.
  VOXGRAD_ARG(std::optional<std::int64_t>, step_size_down);
  /// The amplitude policy (ignored when scale_fn is set).
  VOXGRAD_ARG(Mode, mode) = Triangular;
  /// ExpRange's factor per iteration.
  VOXGRAD_ARG(double, gamma) = 1.0;
  /// A custom amplitude scale instead of the mode's (empty: the mode's).
  VOXGRAD_ARG(CyclicScaleFn, scale_fn);
  /// What scale_fn is called with (only with scale_fn: the modes set their own, Cycle for Triangular
  /// and Triangular2, Iterations for ExpRange).
  VOXGRAD_ARG(ScaleMode, scale_mode) = Cycle;
  /// Cycle the optimizer's "momentum" inversely to the lr (needs an optimizer with momentum: SGD or
  /// RMSprop; PyTorch 1.13 refuses Adam-family optimizers here, whose β1 OneCycleLR cycles).
  VOXGRAD_ARG(bool, cycle_momentum) = true;
  /// The momentum at the lr's peak, one value or one per group.
  VOXGRAD_ARG(std::vector<double>, base_momentum) = {0.8};
  /// The momentum at base_lr, one value or one per group.
  VOXGRAD_ARG(std::vector<double>, max_momentum) = {0.9};
  /// −1 for a new schedule; otherwise the step to resume after (every group needs an initial_lr; the
  /// groups' lrs and momenta are left as they are and base_momentum is read from the groups, as PyTorch).
  VOXGRAD_ARG(std::int64_t, last_epoch) = -1;
};

/// The cyclical learning rate policy, as torch.optim.lr_scheduler.CyclicLR (PyTorch 1.13), stepped once
/// per batch: each group's lr moves linearly from base_lr to max_lr over step_size_up steps and back over
/// step_size_down, the height scaled per cycle or per iteration by the mode (or scale_fn); with
/// cycle_momentum the optimizer's momentum moves the other way between max_momentum and base_momentum.
/// Computed as PyTorch's Python, operation by operation, so lrs and momenta match it bit for bit:
/// cycle = ⌊1 + t/total⌋, x = 1 + t/total − cycle, scale = x/ratio (rising) or (x − 1)/(ratio − 1),
/// lr = base_lr + (max_lr − base_lr)·scale·scale_fn(cycle or t).
///
/// As PyTorch, a new schedule sets every group's lr to base_lr (and momentum to base_momentum) before
/// recording the groups' initial_lr (where unset) and taking the initial step; the base lrs are then
/// base_lr (the initial step uses each group's initial_lr, which differs only when an earlier scheduler
/// set it). The state dict holds PyTorch's keys: "max_lrs.<g>", "total_size", "step_ratio", "mode"
/// (0 triangular, 1 triangular2, 2 exp_range), "gamma", "scale_mode" (0 cycle, 1 iterations),
/// "cycle_momentum" and, when cycling, "base_momentums.<g>" and "max_momentums.<g>". A scale_fn is not
/// saved (as LambdaLR's functions): the scheduler that loads keeps the one it was built with.
class CyclicLR : public LRScheduler {
 public:
  /// Schedules `optimizer`; throws, before changing any group, for lists of the wrong length, a
  /// step_size_up below 1 (PyTorch divides by zero), a negative step_size_down, a last_epoch below −1
  /// or without the groups' initial_lr, or cycle_momentum with an optimizer whose options have no
  /// "momentum" (PyTorch 1.13's check, which Adam and AdamW fail: pass cycle_momentum(false)). A
  /// scale_fn that throws at the initial step leaves the groups as they were too.
  CyclicLR(Optimizer& optimizer, const CyclicLROptions& options);

 protected:
  /// Each group's lr for the current step (and sets its momentum).
  std::vector<double> get_lr() override;
  /// "CyclicLR".
  std::string name() const override { return "CyclicLR"; }
  /// The state dict's hyper-parameters (see the class comment).
  std::vector<std::pair<std::string, double>> hyper_parameters() const override;
  /// Sets one of hyper_parameters().
  void set_hyper_parameter(const std::string& name, double value) override;
  /// A total_size that is not positive and finite, a step_ratio outside (0, 1], a mode or scale_mode
  /// that is none of the codes, or a cycle_momentum other than this scheduler's.
  std::string hyper_parameter_problem(const std::string& name, double value) const override;

 private:
  /// Each group's lr, momentum and initial_lr before construction, restored if the initial step throws.
  struct GroupSnapshot {
    double lr;
    std::optional<double> momentum;
    std::optional<double> initial_lr;
  };
  CyclicLR(Optimizer& optimizer, const CyclicLROptions& options, std::vector<GroupSnapshot> before);
  static std::vector<GroupSnapshot> snapshot(const Optimizer& optimizer);
  /// Checks every option, then (a new schedule) sets the groups' lrs and momenta; returns `optimizer`.
  static Optimizer& prepared(Optimizer& optimizer, const CyclicLROptions& options);
  /// The mode's (or the custom) amplitude factor at `x` (a cycle or an iteration).
  double scale(std::int64_t x) const;

  std::vector<double> max_lrs_;
  double total_size_;
  double step_ratio_;
  CyclicLROptions::Mode mode_;
  double gamma_;
  CyclicScaleFn scale_fn_;  // empty: the mode's
  bool iterations_;         // scale_mode: scale(last_epoch) instead of scale(cycle)
  bool cycle_momentum_;
  std::vector<double> base_momentums_;
  std::vector<double> max_momentums_;
};

}  // namespace voxgrad::optim
