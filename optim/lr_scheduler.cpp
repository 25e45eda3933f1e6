#include "voxgrad/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: no fp contraction below

namespace voxgrad::optim {
namespace detail {

Tensor vector_tensor(const std::vector<double>& v) { return tensor(v, kFloat64); }

std::vector<double> tensor_vector(const Tensor& t) {
  const Tensor c = t.detach().to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

// Reads `dict` into name → tensor, reporting duplicates and undefined tensors into `problems`.
std::map<std::string, Tensor> index_dict(const nn::StateDict& dict, std::vector<std::string>& problems) {
  std::map<std::string, Tensor> m;
  for (const auto& [k, v] : dict) {
    if (!v.defined())
      problems.push_back(undefined_entry(k));
    else if (!m.emplace(k, v).second)
      problems.push_back(duplicate_key(k));
  }
  return m;
}

// Takes a one-element entry `key` from `m` (erasing it), or records a problem.
std::optional<double> take_scalar(std::map<std::string, Tensor>& m, const std::string& key,
                                  std::vector<std::string>& problems) {
  const auto it = m.find(key);
  if (it == m.end()) {
    problems.push_back(missing_key(key));
    return std::nullopt;
  }
  const Tensor t = it->second;
  m.erase(it);
  if (t.numel() != 1) {
    problems.push_back(not_one_value(key, t.sizes()));
    return std::nullopt;
  }
  return t.to(kFloat64).item<double>();
}

// Takes a 1-D entry of `n` values from `m`, or records a problem.
std::optional<std::vector<double>> take_vector(std::map<std::string, Tensor>& m, const std::string& key, std::size_t n,
                                               std::vector<std::string>& problems) {
  const auto it = m.find(key);
  if (it == m.end()) {
    problems.push_back(missing_key(key));
    return std::nullopt;
  }
  const Tensor t = it->second;
  m.erase(it);
  if (t.dim() != 1 || static_cast<std::size_t>(t.numel()) != n) {
    problems.push_back(fmt::format("\"{}\" must have shape [{}] (one value per parameter group), but has shape {}", key,
                                   n, shape_str(t.sizes())));
    return std::nullopt;
  }
  return tensor_vector(t);
}

void report(const std::string& name, std::map<std::string, Tensor>& rest, std::vector<std::string>& problems) {
  for (const auto& [k, v] : rest) problems.push_back(unexpected_key(k));
  throw_if_problems(name, problems);
}

// The optimizer must still have the `expected` parameter groups the scheduler was created for.
void check_group_count(const std::string& name, const Optimizer& optimizer, std::size_t expected) {
  VOXGRAD_CHECK(optimizer.param_groups().size() == expected,
                "{}: the optimizer has {} parameter group(s), but the scheduler was created for {}", name,
                optimizer.param_groups().size(), expected);
}

std::int64_t as_count(double v) { return static_cast<std::int64_t>(std::llround(v)); }

std::string count_problem(const std::string& key, double v, std::int64_t min) {
  if (std::isfinite(v) && v == std::floor(v) && v >= static_cast<double>(min) && v < 0x1p62) return {};
  return fmt::format("\"{}\" must be a whole number of at least {}, but is {}", key, min, v);
}

void check_count(const std::string& key, const std::optional<double>& v, std::int64_t min,
                 std::vector<std::string>& problems) {
  if (!v) return;
  if (std::string problem = count_problem(key, *v, min); !problem.empty()) problems.push_back(std::move(problem));
}

}  // namespace detail

using detail::as_count;
using detail::check_count;
using detail::check_group_count;
using detail::count_problem;
using detail::index_dict;
using detail::report;
using detail::take_scalar;
using detail::take_vector;
using detail::vector_tensor;

// =================================================================================================
// LRScheduler
// =================================================================================================

LRScheduler::LRScheduler(Optimizer& optimizer, std::int64_t last_epoch)
    : optimizer_(optimizer), last_epoch_(last_epoch) {
  last_lr_ = group_lrs();
  // PyTorch's group.setdefault("initial_lr", group["lr"]) for a new schedule; a resumed one reads it.
  for (OptimizerParamGroup& g : optimizer_.param_groups()) {
    if (last_epoch == -1 && !g.initial_lr()) g.set_initial_lr(g.options().get_lr());
    VOXGRAD_CHECK(g.initial_lr().has_value(), "LRScheduler: a group has no initial_lr to resume at last_epoch {}",
                  last_epoch);  // check_resume() reports this first, with the scheduler's name
    base_lrs_.push_back(*g.initial_lr());
  }
}

void LRScheduler::check_resume(const std::string& name, const Optimizer& optimizer, std::int64_t last_epoch) {
  // Below 2^62, as a loaded last_epoch (count_problem): the epochs that follow cannot overflow.
  VOXGRAD_CHECK(last_epoch >= -1 && last_epoch < (std::int64_t{1} << 62),
                "{}: last_epoch must be at least -1 and below 2^62, but got {}", name, last_epoch);
  if (last_epoch == -1) return;
  const auto& groups = optimizer.param_groups();
  for (std::size_t i = 0; i < groups.size(); ++i) {
    VOXGRAD_CHECK(groups[i].initial_lr().has_value(),
                  "{}: param 'initial_lr' is not specified in param_groups[{}] when resuming an optimizer (last_epoch "
                  "{}: a scheduler created earlier on this optimizer sets it, or OptimizerParamGroup::set_initial_lr)",
                  name, i, last_epoch);
  }
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> lrs;
  for (const OptimizerParamGroup& g : optimizer_.param_groups()) lrs.push_back(g.options().get_lr());
  return lrs;
}

void LRScheduler::initial_step() { step(); }

void LRScheduler::step() { advance(last_epoch_ + 1, false); }

void LRScheduler::restart() { advance(0, true); }

void LRScheduler::advance(std::int64_t epoch, bool closed_form) {
  check_group_count(name(), optimizer_, base_lrs_.size());
  const std::int64_t before = last_epoch_;
  ++step_count_;
  last_epoch_ = epoch;
  try {
    std::optional<std::vector<double>> closed = closed_form ? closed_form_lr() : std::nullopt;
    apply(closed ? *closed : get_lr());
  } catch (...) {
    --step_count_;
    last_epoch_ = before;
    throw;
  }
}

void LRScheduler::apply(const std::vector<double>& lrs) {
  for (std::size_t i = 0; i < lrs.size(); ++i) optimizer_.param_groups()[i].options().set_lr(lrs[i]);
  last_lr_ = lrs;
}

nn::StateDict LRScheduler::state_dict() const {
  nn::StateDict d;
  d.emplace_back("base_lrs", vector_tensor(base_lrs_));
  d.emplace_back("last_epoch", scalar_tensor(static_cast<double>(last_epoch_), kFloat64));
  d.emplace_back("_step_count", scalar_tensor(static_cast<double>(step_count_), kFloat64));
  d.emplace_back("_last_lr", vector_tensor(last_lr_));
  for (const auto& [k, v] : hyper_parameters()) d.emplace_back(k, scalar_tensor(v, kFloat64));
  return d;
}

void LRScheduler::load_state_dict(const nn::StateDict& state_dict) {
  std::vector<std::string> problems;
  auto m = index_dict(state_dict, problems);
  const std::size_t n = base_lrs_.size();
  const auto base = take_vector(m, "base_lrs", n, problems);
  const auto last = take_vector(m, "_last_lr", n, problems);
  const auto epoch = take_scalar(m, "last_epoch", problems);
  const auto count = take_scalar(m, "_step_count", problems);
  std::vector<std::pair<std::string, double>> hp;
  const std::vector<std::pair<std::string, double>> names = hyper_parameters();
  for (const auto& [k, unused] : names) {
    const auto v = take_scalar(m, k, problems);
    if (!v) continue;
    if (std::string problem = hyper_parameter_problem(k, *v); !problem.empty()) {
      problems.push_back(std::move(problem));
    } else {
      hp.emplace_back(k, *v);
    }
  }
  if (hp.size() == names.size()) {  // each value accepted: now the rules between them
    if (std::string problem = hyper_parameters_problem(hp); !problem.empty()) problems.push_back(std::move(problem));
  }
  check_count("last_epoch", epoch, -1, problems);
  check_count("_step_count", count, 0, problems);
  report(name(), m, problems);
  base_lrs_ = *base;
  last_lr_ = *last;
  last_epoch_ = as_count(*epoch);
  step_count_ = as_count(*count);
  for (const auto& [k, v] : hp) set_hyper_parameter(k, v);
  hyper_parameters_loaded();
}

// =================================================================================================
// StepLR
// =================================================================================================

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  VOXGRAD_CHECK(step_size > 0, "StepLR: step_size must be positive (got {})", step_size);
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch() == 0 || last_epoch() % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr = lr * gamma_;
  return lrs;
}

std::optional<std::vector<double>> StepLR::closed_form_lr() const {
  std::vector<double> lrs = base_lrs();
  for (double& lr : lrs) lr = lr * std::pow(gamma_, static_cast<double>(last_epoch() / step_size_));
  return lrs;
}

std::vector<std::pair<std::string, double>> StepLR::hyper_parameters() const {
  return {{"step_size", static_cast<double>(step_size_)}, {"gamma", gamma_}};
}

void StepLR::set_hyper_parameter(const std::string& name, double value) {
  if (name == "step_size")
    step_size_ = as_count(value);
  else if (name == "gamma")
    gamma_ = value;
}

std::string StepLR::hyper_parameter_problem(const std::string& name, double value) const {
  return name == "step_size" ? count_problem(name, value, 1) : std::string();
}

// =================================================================================================
// CosineAnnealingLR
// =================================================================================================

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
  VOXGRAD_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be positive (got {})", T_max);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  // PyTorch 1.13, term by term and in its evaluation order (Python evaluates left to right).
  constexpr double pi = std::numbers::pi;
  const double e = static_cast<double>(last_epoch());
  const double t = static_cast<double>(t_max_);
  std::vector<double> lrs = group_lrs();
  if (last_epoch() == 0) return lrs;
  if ((last_epoch() - 1 - t_max_) % (2 * t_max_) == 0) {
    for (std::size_t i = 0; i < lrs.size(); ++i) {
      lrs[i] = lrs[i] + (base_lrs()[i] - eta_min_) * (1 - std::cos(pi / t)) / 2;
    }
    return lrs;
  }
  for (double& lr : lrs) {
    lr = (1 + std::cos(pi * e / t)) / (1 + std::cos(pi * (e - 1) / t)) * (lr - eta_min_) + eta_min_;
  }
  return lrs;
}

std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lr() const {
  const double e = static_cast<double>(last_epoch()), t = static_cast<double>(t_max_);
  std::vector<double> lrs = base_lrs();
  for (double& lr : lrs) lr = eta_min_ + (lr - eta_min_) * (1 + std::cos(std::numbers::pi * e / t)) / 2;
  return lrs;
}

std::vector<std::pair<std::string, double>> CosineAnnealingLR::hyper_parameters() const {
  return {{"T_max", static_cast<double>(t_max_)}, {"eta_min", eta_min_}};
}

void CosineAnnealingLR::set_hyper_parameter(const std::string& name, double value) {
  if (name == "T_max")
    t_max_ = as_count(value);
  else if (name == "eta_min")
    eta_min_ = value;
}

std::string CosineAnnealingLR::hyper_parameter_problem(const std::string& name, double value) const {
  return name == "T_max" ? count_problem(name, value, 1) : std::string();
}

// =================================================================================================
// MultiStepLR
// =================================================================================================

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  for (std::int64_t m : milestones_) {
    VOXGRAD_CHECK(m >= 0, "MultiStepLR: milestones must be non-negative epochs, but got {}", m);
  }
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  const auto [lo, hi] = std::equal_range(milestones_.begin(), milestones_.end(), last_epoch());
  if (lo == hi) return lrs;
  const double factor = std::pow(gamma_, static_cast<double>(hi - lo));
  for (double& lr : lrs) lr = lr * factor;
  return lrs;
}

std::optional<std::vector<double>> MultiStepLR::closed_form_lr() const {
  // bisect_right: the milestones at or before the epoch.
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch()) - milestones_.begin();
  std::vector<double> lrs = base_lrs();
  for (double& lr : lrs) lr = lr * std::pow(gamma_, static_cast<double>(passed));
  return lrs;
}

std::vector<std::pair<std::string, double>> MultiStepLR::hyper_parameters() const {
  std::vector<std::pair<std::string, double>> hp{{"gamma", gamma_}};
  for (std::size_t i = 0; i < milestones_.size(); ++i) {
    hp.emplace_back(fmt::format("milestones.{}", i), static_cast<double>(milestones_[i]));
  }
  return hp;
}

void MultiStepLR::set_hyper_parameter(const std::string& name, double value) {
  if (name == "gamma") {
    gamma_ = value;
    return;
  }
  const std::size_t i = std::stoul(name.substr(name.find('.') + 1));
  milestones_[i] = as_count(value);
}

std::string MultiStepLR::hyper_parameter_problem(const std::string& name, double value) const {
  return name == "gamma" ? std::string() : count_problem(name, value, 0);
}

// Sorted once all are in: sorting after each would move the entries not yet written.
void MultiStepLR::hyper_parameters_loaded() { std::sort(milestones_.begin(), milestones_.end()); }

// =================================================================================================
// ExponentialLR
// =================================================================================================

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch() == 0) return lrs;
  for (double& lr : lrs) lr = lr * gamma_;
  return lrs;
}

std::optional<std::vector<double>> ExponentialLR::closed_form_lr() const {
  std::vector<double> lrs = base_lrs();
  for (double& lr : lrs) lr = lr * std::pow(gamma_, static_cast<double>(last_epoch()));
  return lrs;
}

void ExponentialLR::set_hyper_parameter(const std::string& name, double value) {
  if (name == "gamma") gamma_ = value;
}

// =================================================================================================
// LinearLR
// =================================================================================================

LinearLR::LinearLR(Optimizer& optimizer, const LinearLROptions& options) : LRScheduler(optimizer), options_(options) {
  const auto& o = options_;
  VOXGRAD_CHECK(o.start_factor() > 0.0 && o.start_factor() <= 1.0,
                "LinearLR: Starting multiplicative factor expected to be greater than 0 and less or equal to 1, but "
                "got start_factor={}",
                o.start_factor());
  VOXGRAD_CHECK(o.end_factor() >= 0.0 && o.end_factor() <= 1.0,
                "LinearLR: Ending multiplicative factor expected to be between 0 and 1, but got end_factor={}",
                o.end_factor());
  // PyTorch accepts total_iters = 0 and then divides by zero in its closed form.
  VOXGRAD_CHECK(o.total_iters() > 0, "LinearLR: total_iters must be positive, but got {}", o.total_iters());
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  // PyTorch 1.13, term by term: the factor of epoch e over the factor of epoch e − 1.
  const double start = options_.start_factor(), end = options_.end_factor();
  const double total = static_cast<double>(options_.total_iters());
  std::vector<double> lrs = group_lrs();
  if (last_epoch() == 0) {
    for (double& lr : lrs) lr = lr * start;
    return lrs;
  }
  if (last_epoch() > options_.total_iters()) return lrs;
  const double e = static_cast<double>(last_epoch());
  for (double& lr : lrs) lr = lr * (1. + (end - start) / (total * start + (e - 1) * (end - start)));
  return lrs;
}

std::optional<std::vector<double>> LinearLR::closed_form_lr() const {
  const double start = options_.start_factor(), end = options_.end_factor();
  const double total = static_cast<double>(options_.total_iters());
  const double e = static_cast<double>(std::min(options_.total_iters(), last_epoch()));
  std::vector<double> lrs = base_lrs();
  for (double& lr : lrs) lr = lr * (start + (end - start) * e / total);
  return lrs;
}

std::vector<std::pair<std::string, double>> LinearLR::hyper_parameters() const {
  return {{"start_factor", options_.start_factor()},
          {"end_factor", options_.end_factor()},
          {"total_iters", static_cast<double>(options_.total_iters())}};
}

void LinearLR::set_hyper_parameter(const std::string& name, double value) {
  if (name == "start_factor")
    options_.start_factor(value);
  else if (name == "end_factor")
    options_.end_factor(value);
  else if (name == "total_iters")
    options_.total_iters(as_count(value));
}

std::string LinearLR::hyper_parameter_problem(const std::string& name, double value) const {
  if (name == "total_iters") return count_problem(name, value, 1);
  const bool ok = name == "start_factor" ? value > 0.0 && value <= 1.0 : value >= 0.0 && value <= 1.0;
  return ok ? std::string()
            : fmt::format("\"{}\" must be in {}, but is {}", name, name == "start_factor" ? "(0, 1]" : "[0, 1]", value);
}

}  // namespace voxgrad::optim
