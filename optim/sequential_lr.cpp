#include "voxgrad/optim/sequential_lr.h"

#include <algorithm>
#include <string>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/child_schedulers.h"

namespace voxgrad::optim {

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<std::int64_t> milestones)
    : optimizer_(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  VOXGRAD_CHECK(!schedulers_.empty(), "SequentialLR: expects at least one scheduler");
  for (std::size_t i = 0; i < schedulers_.size(); ++i) {
    VOXGRAD_CHECK(schedulers_[i] != nullptr && &schedulers_[i]->optimizer_ == &optimizer_,
                  "SequentialLR: Sequential Schedulers expects all schedulers to belong to the same optimizer, but got "
                  "schedulers at index {} to be different than the optimizer passed in.",
                  i);
  }
  VOXGRAD_CHECK(milestones_.size() + 1 == schedulers_.size(),
                "SequentialLR: Sequential Schedulers expects number of schedulers provided to be one more than the "
                "number of milestone points, but got number of schedulers {} and the number of milestones to be equal "
                "to {}",
                schedulers_.size(), milestones_.size());
  VOXGRAD_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()),
                "SequentialLR: milestones must be increasing, but got [{}]", fmt::join(milestones_, ", "));
  // Reset the lrs to the initial ones, undo every child's initial step and redo the first one's.
  for (OptimizerParamGroup& g : optimizer_.param_groups()) {
    if (g.initial_lr()) g.options().set_lr(*g.initial_lr());
  }
  for (auto& s : schedulers_) --s->last_epoch_;
  schedulers_[0]->step_count_ = 0;
  schedulers_[0]->step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  const std::int64_t epoch = last_epoch_ + 1;
  // bisect_right: the child whose range holds the epoch.
  const std::size_t idx = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  LRScheduler& s = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == epoch)
    s.restart();
  else
    s.step();
  last_epoch_ = epoch;  // after the child: one that throws (and stays as it was) leaves this epoch too
  last_lr_ = s.get_last_lr();
}

nn::StateDict SequentialLR::state_dict() const {
  nn::StateDict d;
  d.emplace_back("last_epoch", scalar_tensor(static_cast<double>(last_epoch_), kFloat64));
  d.emplace_back("_last_lr", detail::vector_tensor(last_lr_));
  std::vector<double> ms(milestones_.begin(), milestones_.end());
  d.emplace_back("_milestones", detail::vector_tensor(ms));
  detail::append_children(d, schedulers_);
  return d;
}

void SequentialLR::load_state_dict(const nn::StateDict& state_dict) {
  std::vector<std::string> problems;
  nn::StateDict own;
  const std::vector<nn::StateDict> children = detail::split_children(state_dict, schedulers_.size(), own);
  auto m = detail::index_dict(own, problems);
  const auto epoch = detail::take_scalar(m, "last_epoch", problems);
  const auto last = detail::take_vector(m, "_last_lr", last_lr_.size(), problems);
  const auto ms = detail::take_vector(m, "_milestones", milestones_.size(), problems);
  detail::check_count("last_epoch", epoch, 0, problems);
  for (std::size_t i = 0; ms && i < ms->size(); ++i)
    detail::check_count(fmt::format("_milestones.{}", i), (*ms)[i], 0, problems);
  detail::report("SequentialLR", m, problems);
  // Each child validates its own entries before anything changes; a failure leaves all unchanged.
  detail::load_children("SequentialLR", schedulers_, children);
  last_epoch_ = detail::as_count(*epoch);
  last_lr_ = *last;
  for (std::size_t i = 0; i < milestones_.size(); ++i) milestones_[i] = detail::as_count((*ms)[i]);
}

}  // namespace voxgrad::optim
