#pragma once

#include <memory>
#include <vector>

#include "voxgrad/nn/module.h"
#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim {

/// Steps several schedulers of one optimizer together, as torch.optim.lr_scheduler.ChainedScheduler
/// (PyTorch 1.13): each step() steps every scheduler in the order given, each acting on the lrs the one
/// before it left (so multiplicative schedulers compose), e.g. a constant warm-up factor on an
/// exponential decay:
/// `ChainedScheduler({std::make_shared<ConstantLR>(opt, ConstantLROptions().factor(0.1).total_iters(2)),
///                    std::make_shared<ExponentialLR>(opt, 0.9)})`.
/// Construction steps nothing (each scheduler took its initial step when it was made). A step in which a
/// scheduler throws leaves every scheduler, and the groups' lrs and other options (momenta), as they
/// were before it (a stateful lr_lambda's own state excepted).
class ChainedScheduler {
 public:
  /// Throws for an empty list, a null scheduler, or schedulers of different optimizers.
  explicit ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers);

  /// Steps every scheduler once, in order.
  void step();
  /// The groups' lrs after the last step (at construction: as the schedulers left them).
  const std::vector<double>& get_last_lr() const { return last_lr_; }

  /// "_last_lr" (1-D float64) and each scheduler's state under "_schedulers.<i>.", as PyTorch's
  /// (which has no epoch of its own).
  nn::StateDict state_dict() const;
  /// Restores a state_dict() of a ChainedScheduler with the same kinds of schedulers and as many
  /// groups; every problem is reported in one voxgrad::Error and nothing changes unless all entries
  /// are valid.
  void load_state_dict(const nn::StateDict& state_dict);

 private:
  /// The first scheduler's optimizer, after checking that there is one and it is not null.
  static Optimizer& first_optimizer(const std::vector<std::shared_ptr<LRScheduler>>& schedulers);
  /// The lr of every group of the schedulers' optimizer.
  std::vector<double> group_lrs() const;

  Optimizer& optimizer_;
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<double> last_lr_;
};

}  // namespace voxgrad::optim
