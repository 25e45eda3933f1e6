#include "voxgrad/optim/chained_scheduler.h"

#include <string>
#include <utility>

#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/child_schedulers.h"

namespace voxgrad::optim {

ChainedScheduler::ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers)
    : optimizer_(first_optimizer(schedulers)), schedulers_(std::move(schedulers)) {
  for (std::size_t i = 1; i < schedulers_.size(); ++i) {
    VOXGRAD_CHECK(schedulers_[i] != nullptr, "ChainedScheduler: the scheduler at index {} is null", i);
    VOXGRAD_CHECK(&schedulers_[i]->optimizer_ == &optimizer_,
                  "ChainedScheduler: ChainedScheduler expects all schedulers to belong to the same optimizer, but got "
                  "schedulers at index 0 and {} to be different",
                  i);
  }
  last_lr_ = group_lrs();
}

Optimizer& ChainedScheduler::first_optimizer(const std::vector<std::shared_ptr<LRScheduler>>& schedulers) {
  VOXGRAD_CHECK(!schedulers.empty(), "ChainedScheduler: expects at least one scheduler");
  VOXGRAD_CHECK(schedulers[0] != nullptr, "ChainedScheduler: the scheduler at index 0 is null");
  return schedulers[0]->optimizer_;
}

std::vector<double> ChainedScheduler::group_lrs() const {
  std::vector<double> lrs;
  for (const OptimizerParamGroup& g : optimizer_.param_groups()) lrs.push_back(g.options().get_lr());
  return lrs;
}

void ChainedScheduler::step() {
  // What the schedulers before a throwing one changed is put back: their states, and the groups'
  // options (the lrs, and the momenta OneCycleLR and CyclicLR set).
  std::vector<nn::StateDict> states;
  for (const auto& s : schedulers_) states.push_back(s->state_dict());
  std::vector<std::vector<std::pair<std::string, double>>> options;
  for (const OptimizerParamGroup& g : optimizer_.param_groups()) options.push_back(g.options().hyper_parameters());
  std::size_t i = 0;
  try {
    for (; i < schedulers_.size(); ++i) schedulers_[i]->step();
  } catch (...) {
    // The groups' options first, then each scheduler on its own: a state that no longer loads leaves
    // the others restored, and the original error is the one that propagates.
    auto& groups = optimizer_.param_groups();
    for (std::size_t g = 0; g < groups.size() && g < options.size(); ++g) {
      for (const auto& [k, v] : options[g]) groups[g].options().set_hyper_parameter(k, v);
    }
    for (std::size_t j = 0; j < i; ++j) {
      try {
        schedulers_[j]->load_state_dict(states[j]);
      } catch (const Error&) {
      }
    }
    throw;
  }
  last_lr_ = group_lrs();
}

nn::StateDict ChainedScheduler::state_dict() const {
  nn::StateDict d;
  d.emplace_back("_last_lr", detail::vector_tensor(last_lr_));
  detail::append_children(d, schedulers_);
  return d;
}

void ChainedScheduler::load_state_dict(const nn::StateDict& state_dict) {
  std::vector<std::string> problems;
  nn::StateDict own;
  const std::vector<nn::StateDict> children = detail::split_children(state_dict, schedulers_.size(), own);
  auto m = detail::index_dict(own, problems);
  const auto last = detail::take_vector(m, "_last_lr", last_lr_.size(), problems);
  detail::report("ChainedScheduler", m, problems);
  detail::load_children("ChainedScheduler", schedulers_, children);
  last_lr_ = *last;
}

}  // namespace voxgrad::optim
