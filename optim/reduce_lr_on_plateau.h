#pragma once
// ReduceLROnPlateau: the lr follows a metric, not the epoch count, so it is no LRScheduler.

#include <cstdint>
#include <vector>

#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/optim/optimizer.h"

namespace voxgrad::optim {

/// Options of ReduceLROnPlateau, as PyTorch's arguments:
/// `ReduceLROnPlateauOptions().mode(ReduceLROnPlateauOptions::Max).factor(0.5).patience(3)`.
struct ReduceLROnPlateauOptions {
  /// Whether the metric should go down (Min, e.g. a loss) or up (Max, e.g. an accuracy).
  enum Mode { Min, Max };
  /// How `threshold` defines a significant improvement: relative (Rel) or absolute (Abs).
  enum ThresholdMode { Rel, Abs };
  /// Min or Max.
  VOXGRAD_ARG(Mode, mode) = Min;
  /// Factor by which the lr is reduced (new_lr = lr · factor; must be < 1).
  VOXGRAD_ARG(double, factor) = 0.1;
  /// Number of epochs without improvement tolerated before the lr is reduced.
  VOXGRAD_ARG(std::int64_t, patience) = 10;
  /// Minimum change that counts as an improvement.
  VOXGRAD_ARG(double, threshold) = 1e-4;
  /// Rel: better than best·(1 ∓ threshold); Abs: better than best ∓ threshold.
  VOXGRAD_ARG(ThresholdMode, threshold_mode) = Rel;
  /// Epochs to wait after a reduction before counting bad epochs again.
  VOXGRAD_ARG(std::int64_t, cooldown) = 0;
  /// Lower bound on the lr: one value for all groups, or one per group.
  VOXGRAD_ARG(std::vector<double>, min_lr) = {0.0};
  /// A reduction smaller than eps is skipped.
  VOXGRAD_ARG(double, eps) = 1e-8;
};

/// Reduces the lr when a metric has stopped improving, as torch.optim.lr_scheduler.ReduceLROnPlateau
/// (PyTorch 1.13): after more than `patience` epochs without improvement each group's lr becomes
/// max(lr · factor, min_lr) (skipped if the change is at most eps), then `cooldown` epochs pass
/// before bad epochs count again.
class ReduceLROnPlateau {
 public:
  /// Schedules `optimizer` (which must outlive the scheduler); throws for factor ≥ 1, negative
  /// patience or cooldown, or a min_lr list whose length is neither 1 nor the number of groups.
  explicit ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options = {});

  /// Records one epoch's metric and reduces the lrs if it has plateaued.
  void step(double metric);
  /// Each group's lr after the last step (the current lrs before the first).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The best metric so far (+inf for Min, −inf for Max before the first step).
  double best() const { return best_; }
  /// Consecutive epochs without improvement.
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  /// Epochs left in the current cooldown.
  std::int64_t cooldown_counter() const { return cooldown_counter_; }
  /// The number of steps taken.
  std::int64_t last_epoch() const { return last_epoch_; }
  const ReduceLROnPlateauOptions& options() const { return options_; }

  /// PyTorch's state_dict (its __dict__ but "verbose", which voxgrad does not have), float64, in its
  /// order: "factor", "min_lrs" (1-D, one per group), "patience", "cooldown", "cooldown_counter",
  /// "mode" (0 min, 1 max), "threshold", "threshold_mode" (0 rel, 1 abs), "best", "num_bad_epochs",
  /// "mode_worse" (+inf for min, −inf for max), "eps", "last_epoch" (0-d) and "_last_lr" (1-D).
  nn::StateDict state_dict() const;
  /// Restores a state_dict() with as many groups, options included; the options are checked as the
  /// constructor checks them (and mode_worse must be the mode's), every problem (including counts that
  /// are not whole numbers) is reported in one voxgrad::Error and nothing changes unless all entries
  /// are valid. A state dict without any of the option entries (as saved before they were) keeps the
  /// options this scheduler was built with. As PyTorch's own: "verbose" (0 or 1) is accepted and
  /// ignored, and without "_last_lr" (PyTorch saves it only after a first step) the groups' lrs stand.
  void load_state_dict(const nn::StateDict& state_dict);

 private:
  bool is_better(double a, double best) const;
  /// The worst metric of `mode` (PyTorch's mode_worse): +inf for Min, −inf for Max.
  static double mode_worse(ReduceLROnPlateauOptions::Mode mode);

  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;
  double best_;
  std::int64_t num_bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
  std::int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace voxgrad::optim
