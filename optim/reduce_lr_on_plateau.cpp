#include "voxgrad/optim/reduce_lr_on_plateau.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: no fp contraction below

namespace voxgrad::optim {

using detail::as_count;
using detail::check_count;
using detail::check_group_count;
using detail::index_dict;
using detail::report;
using detail::take_scalar;
using detail::take_vector;
using detail::vector_tensor;

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options)
    : optimizer_(optimizer), options_(options) {
  const auto& o = options_;
  VOXGRAD_CHECK(o.factor() < 1.0, "ReduceLROnPlateau: factor should be < 1.0 (got {})", o.factor());
  check_non_negative(o.patience(), "ReduceLROnPlateau", "patience");
  check_non_negative(o.cooldown(), "ReduceLROnPlateau", "cooldown");
  const std::size_t groups = optimizer.param_groups().size();
  if (o.min_lr().size() == 1) {
    min_lrs_.assign(groups, o.min_lr()[0]);
  } else {
    VOXGRAD_CHECK(o.min_lr().size() == groups, "ReduceLROnPlateau: expected {} min_lrs (or one), got {}", groups,
                  o.min_lr().size());
    min_lrs_ = o.min_lr();
  }
  best_ = mode_worse(o.mode());
  for (const OptimizerParamGroup& g : optimizer_.param_groups()) last_lr_.push_back(g.options().get_lr());
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  const double th = options_.threshold();
  const bool rel = options_.threshold_mode() == ReduceLROnPlateauOptions::Rel;
  if (options_.mode() == ReduceLROnPlateauOptions::Min) return rel ? a < best * (1. - th) : a < best - th;
  return rel ? a > best * (th + 1.) : a > best + th;
}

void ReduceLROnPlateau::step(double metric) {
  check_group_count("ReduceLROnPlateau", optimizer_, min_lrs_.size());
  ++last_epoch_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience()) {
    auto& groups = optimizer_.param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const double old_lr = groups[i].options().get_lr();
      const double new_lr = std::max(old_lr * options_.factor(), min_lrs_[i]);
      if (old_lr - new_lr > options_.eps()) groups[i].options().set_lr(new_lr);
    }
    cooldown_counter_ = options_.cooldown();
    num_bad_epochs_ = 0;
  }
  last_lr_.clear();
  for (const OptimizerParamGroup& g : optimizer_.param_groups()) last_lr_.push_back(g.options().get_lr());
}

// PyTorch's state_dict is the whole __dict__, in its order; "verbose" has no counterpart here.
nn::StateDict ReduceLROnPlateau::state_dict() const {
  const auto& o = options_;
  const auto scalar = [](double v) { return scalar_tensor(v, kFloat64); };
  nn::StateDict d;
  d.emplace_back("factor", scalar(o.factor()));
  d.emplace_back("min_lrs", vector_tensor(min_lrs_));
  d.emplace_back("patience", scalar(static_cast<double>(o.patience())));
  d.emplace_back("cooldown", scalar(static_cast<double>(o.cooldown())));
  d.emplace_back("cooldown_counter", scalar(static_cast<double>(cooldown_counter_)));
  d.emplace_back("mode", scalar(o.mode() == ReduceLROnPlateauOptions::Min ? 0.0 : 1.0));
  d.emplace_back("threshold", scalar(o.threshold()));
  d.emplace_back("threshold_mode", scalar(o.threshold_mode() == ReduceLROnPlateauOptions::Rel ? 0.0 : 1.0));
  d.emplace_back("best", scalar(best_));
  d.emplace_back("num_bad_epochs", scalar(static_cast<double>(num_bad_epochs_)));
  d.emplace_back("mode_worse", scalar(mode_worse(o.mode())));
  d.emplace_back("eps", scalar(o.eps()));
  d.emplace_back("last_epoch", scalar(static_cast<double>(last_epoch_)));
  d.emplace_back("_last_lr", vector_tensor(last_lr_));
  return d;
}

double ReduceLROnPlateau::mode_worse(ReduceLROnPlateauOptions::Mode mode) {
  return mode == ReduceLROnPlateauOptions::Min ? std::numeric_limits<double>::infinity()
                                               : -std::numeric_limits<double>::infinity();
}

void ReduceLROnPlateau::load_state_dict(const nn::StateDict& state_dict) {
  std::vector<std::string> problems;
  auto m = index_dict(state_dict, problems);
  // The options: all of them, or none (a state dict saved before they were) to keep the constructor's.
  static const char* const kOptionKeys[] = {"factor",    "min_lrs",        "patience",   "cooldown", "mode",
                                            "threshold", "threshold_mode", "mode_worse", "eps"};
  bool with_options = false;
  for (const char* k : kOptionKeys) with_options = with_options || m.count(k) > 0;
  ReduceLROnPlateauOptions o = options_;
  std::vector<double> min_lrs = min_lrs_;
  if (with_options) {
    const auto factor = take_scalar(m, "factor", problems);
    const auto mins = take_vector(m, "min_lrs", min_lrs_.size(), problems);
    const auto patience = take_scalar(m, "patience", problems);
    const auto cooldown = take_scalar(m, "cooldown", problems);
    const auto mode = take_scalar(m, "mode", problems);
    const auto threshold = take_scalar(m, "threshold", problems);
    const auto threshold_mode = take_scalar(m, "threshold_mode", problems);
    const auto worse = take_scalar(m, "mode_worse", problems);
    const auto eps = take_scalar(m, "eps", problems);
    if (factor && !(*factor < 1.0)) problems.push_back(fmt::format("\"factor\" must be < 1.0, but is {}", *factor));
    check_count("patience", patience, 0, problems);
    check_count("cooldown", cooldown, 0, problems);
    if (mode && *mode != 0.0 && *mode != 1.0) {
      problems.push_back(fmt::format("\"mode\" must be 0 (min) or 1 (max), but is {}", *mode));
    } else if (mode && worse &&
               *worse != mode_worse(*mode == 0.0 ? ReduceLROnPlateauOptions::Min : ReduceLROnPlateauOptions::Max)) {
      problems.push_back(fmt::format("\"mode_worse\" must be {} for mode {}, but is {}", *mode == 0.0 ? "inf" : "-inf",
                                     *mode == 0.0 ? "0 (min)" : "1 (max)", *worse));
    }
    if (threshold_mode && *threshold_mode != 0.0 && *threshold_mode != 1.0) {
      problems.push_back(fmt::format("\"threshold_mode\" must be 0 (rel) or 1 (abs), but is {}", *threshold_mode));
    }
    if (problems.empty()) {  // every option was read and is valid
      o.factor(*factor).patience(as_count(*patience)).cooldown(as_count(*cooldown)).threshold(*threshold).eps(*eps);
      o.mode(*mode == 0.0 ? ReduceLROnPlateauOptions::Min : ReduceLROnPlateauOptions::Max);
      o.threshold_mode(*threshold_mode == 0.0 ? ReduceLROnPlateauOptions::Rel : ReduceLROnPlateauOptions::Abs);
      o.min_lr(*mins);
      min_lrs = *mins;
    }
  }
  const auto best = take_scalar(m, "best", problems);
  const auto bad = take_scalar(m, "num_bad_epochs", problems);
  const auto cool = take_scalar(m, "cooldown_counter", problems);
  const auto epoch = take_scalar(m, "last_epoch", problems);
  // PyTorch 1.13 sets _last_lr in step() only: a state dict saved before the first step has none, and
  // the groups' lrs stand. Its "verbose" has no counterpart here and is read only to be checked.
  std::optional<std::vector<double>> last;
  if (m.count("_last_lr") > 0) last = take_vector(m, "_last_lr", min_lrs_.size(), problems);
  if (m.count("verbose") > 0) {
    const auto verbose = take_scalar(m, "verbose", problems);
    if (verbose && *verbose != 0.0 && *verbose != 1.0) {
      problems.push_back(fmt::format("\"verbose\" must be 0 or 1, but is {}", *verbose));
    }
  }
  check_count("num_bad_epochs", bad, 0, problems);
  check_count("cooldown_counter", cool, 0, problems);
  check_count("last_epoch", epoch, 0, problems);
  report("ReduceLROnPlateau", m, problems);
  options_ = o;
  min_lrs_ = min_lrs;
  best_ = *best;
  num_bad_epochs_ = as_count(*bad);
  cooldown_counter_ = as_count(*cool);
  last_epoch_ = as_count(*epoch);
  if (last) {
    last_lr_ = *last;
  } else {
    last_lr_.clear();
    for (const OptimizerParamGroup& g : optimizer_.param_groups()) last_lr_.push_back(g.options().get_lr());
  }
}

}  // namespace voxgrad::optim
