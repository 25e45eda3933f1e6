#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "voxgrad/nn/module.h"
#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim {

/// Runs schedulers one after another, switching at the milestone epochs, as
/// torch.optim.lr_scheduler.SequentialLR (PyTorch 1.13) — the usual warm-up:
/// `SequentialLR(opt, {std::make_shared<LinearLR>(opt, LinearLROptions().start_factor(0.1).total_iters(5)),
///                     std::make_shared<CosineAnnealingLR>(opt, 95)}, {5})`.
/// Construction resets every group's lr to its initial_lr, undoes the initial step of every child and
/// redoes the first child's; at epoch milestones[i] the child i + 1 restarts at its epoch 0 (in
/// closed form where the schedule has one, as PyTorch's step(0)); other epochs step the current child.
class SequentialLR {
 public:
  /// Throws unless every scheduler schedules `optimizer` and there is one milestone fewer than schedulers.
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);

  /// Advances one epoch.
  void step();
  /// The lrs the last step set.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The current epoch (0 after construction).
  std::int64_t last_epoch() const { return last_epoch_; }

  /// "last_epoch" (0-d), "_last_lr" and "_milestones" (1-D), and each child's state under
  /// "_schedulers.<i>.", float64.
  nn::StateDict state_dict() const;
  /// Restores a state_dict() of a SequentialLR with the same children; every problem is reported in
  /// one voxgrad::Error and nothing changes unless all entries are valid.
  void load_state_dict(const nn::StateDict& state_dict);

 private:
  Optimizer& optimizer_;
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<std::int64_t> milestones_;
  std::int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace voxgrad::optim
