#include "voxgrad/optim/one_cycle_lr.h"

#include <cmath>
#include <numbers>

#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: no fp contraction below

namespace voxgrad::optim {
namespace {

// Indices into GroupValues::v, and their PyTorch group keys.
enum : int { kInitialLr, kMaxLr, kMinLr, kMaxMomentum, kBaseMomentum };
constexpr const char* kValueNames[5] = {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"};

// PyTorch's _format_param: one value per group (a single value is repeated).
std::vector<double> per_group(const std::vector<double>& v, std::size_t groups, const char* name) {
  if (v.size() == 1) return std::vector<double>(groups, v[0]);
  VOXGRAD_CHECK(v.size() == groups, "OneCycleLR: expected {} values for {}, got {}", groups, name, v.size());
  return v;
}

std::int64_t cycle_length(const OneCycleLROptions& o) {
  if (o.total_steps()) {
    VOXGRAD_CHECK(*o.total_steps() > 0, "OneCycleLR: Expected positive integer total_steps, but got {}",
                  *o.total_steps());
    return *o.total_steps();
  }
  VOXGRAD_CHECK(o.epochs() && o.steps_per_epoch(),
                "OneCycleLR: You must define either total_steps OR (epochs AND steps_per_epoch)");
  VOXGRAD_CHECK(*o.epochs() > 0, "OneCycleLR: Expected positive integer epochs, but got {}", *o.epochs());
  VOXGRAD_CHECK(*o.steps_per_epoch() > 0, "OneCycleLR: Expected positive integer steps_per_epoch, but got {}",
                *o.steps_per_epoch());
  return *o.epochs() * *o.steps_per_epoch();
}

}  // namespace

OneCycleLR::OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options)
    : LRScheduler(optimizer),
      total_steps_(cycle_length(options)),
      pct_start_(options.pct_start()),
      linear_(options.anneal_strategy() == OneCycleLROptions::Linear),
      three_phase_(options.three_phase()),
      cycle_momentum_(options.cycle_momentum()) {
  VOXGRAD_CHECK(pct_start_ >= 0.0 && pct_start_ <= 1.0,
                "OneCycleLR: Expected float between 0 and 1 pct_start, but got {}", pct_start_);
  VOXGRAD_CHECK(options.div_factor() != 0 && options.final_div_factor() != 0,
                "OneCycleLR: div_factor and final_div_factor must not be 0, but got {} and {}", options.div_factor(),
                options.final_div_factor());
  build_phases();
  phase_at(0);  // the initial step's phase, checked before the groups change
  auto& pgroups = optimizer_.param_groups();
  const std::size_t n = pgroups.size();
  const std::vector<double> max_lrs = per_group(options.max_lr(), n, "max_lr");
  std::vector<double> max_m(n, 0.0), base_m(n, 0.0);
  if (cycle_momentum_) {
    // PyTorch: Adam-style optimizers cycle β1 ("betas" in the defaults), the others "momentum".
    for (const auto& [k, v] : optimizer_.defaults().hyper_parameters()) {
      if (k == "betas.0" || (k == "momentum" && momentum_name_.empty())) momentum_name_ = k;
    }
    VOXGRAD_CHECK(!momentum_name_.empty(),
                  "OneCycleLR: optimizer must support momentum with `cycle_momentum` option enabled ({} has neither "
                  "momentum nor betas)",
                  optimizer_.defaults().name());
    max_m = per_group(options.max_momentum(), n, "max_momentum");
    base_m = per_group(options.base_momentum(), n, "base_momentum");
  }
  std::vector<double> base;
  for (std::size_t g = 0; g < n; ++g) {
    const double initial = max_lrs[g] / options.div_factor();
    groups_.push_back({{initial, max_lrs[g], initial / options.final_div_factor(), max_m[g], base_m[g]}});
    pgroups[g].set_initial_lr(initial);
    base.push_back(initial);
    if (cycle_momentum_) pgroups[g].options().set_hyper_parameter(momentum_name_, max_m[g]);
  }
  set_base_lrs(base);
  initial_step();
}

std::vector<OneCycleLR::Phase> OneCycleLR::phases_of(std::int64_t total_steps, double pct_start, bool three_phase) {
  const double total = static_cast<double>(total_steps);
  if (three_phase) {
    return {{pct_start * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
            {2 * pct_start * total - 2, kMaxLr, kInitialLr, kBaseMomentum, kMaxMomentum},
            {total - 1, kInitialLr, kMinLr, kMaxMomentum, kMaxMomentum}};
  }
  return {{pct_start * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
          {total - 1, kMaxLr, kMinLr, kBaseMomentum, kMaxMomentum}};
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (linear_) return (end - start) * pct + start;
  const double cos_out = std::cos(std::numbers::pi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

std::vector<double> OneCycleLR::get_lr() {
  const std::int64_t step_num = last_epoch();
  VOXGRAD_CHECK(step_num <= total_steps_,
                "OneCycleLR: Tried to step {} times. The specified number of total steps is {}", step_num + 1,
                total_steps_);
  const double s = static_cast<double>(step_num);
  const auto [phase, start_step] = phase_at(step_num);
  const Phase& p = phases_[phase];
  const double pct = (s - start_step) / (p.end_step - start_step);
  std::vector<double> lrs;
  auto& pgroups = optimizer_.param_groups();
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const double* v = groups_[g].v;
    const double lr = anneal(v[p.start_lr], v[p.end_lr], pct);
    const double momentum = anneal(v[p.start_momentum], v[p.end_momentum], pct);
    lrs.push_back(lr);
    if (cycle_momentum_) pgroups[g].options().set_hyper_parameter(momentum_name_, momentum);
  }
  return lrs;
}

OneCycleLR::Located OneCycleLR::locate(const std::vector<Phase>& phases, std::int64_t step_num, double pct_start,
                                       std::int64_t total_steps) {
  const double s = static_cast<double>(step_num);
  double start_step = 0;
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const Phase& p = phases[i];
    if (s <= p.end_step || i + 1 == phases.size()) {
      // PyTorch divides by zero here (ZeroDivisionError): pct_start·total_steps = 1 makes the first
      // phase (or, with three phases, the second) empty, as pct_start 1 does the last at its last step.
      std::string problem;
      if (p.end_step == start_step) {
        problem = fmt::format("phase {} of the schedule has no steps at step {} (pct_start {}, total_steps {})", i + 1,
                              step_num, pct_start, total_steps);
      }
      return {i, start_step, std::move(problem)};
    }
    start_step = p.end_step;
  }
  return {phases.size() - 1, start_step, {}};  // not reached: the last phase is always taken
}

std::pair<std::size_t, double> OneCycleLR::phase_at(std::int64_t step_num) const {
  Located at = locate(phases_, step_num, pct_start_, total_steps_);
  VOXGRAD_CHECK(at.problem.empty(), "OneCycleLR: {}", at.problem);
  return {at.phase, at.start_step};
}

std::string OneCycleLR::hyper_parameters_problem(const std::vector<std::pair<std::string, double>>& values) const {
  std::int64_t total_steps = total_steps_;
  double pct_start = pct_start_;
  bool three_phase = three_phase_;
  for (const auto& [name, value] : values) {
    if (name == "total_steps") total_steps = detail::as_count(value);
    if (name == "pct_start") pct_start = value;
    if (name == "three_phase") three_phase = value != 0.0;
  }
  return locate(phases_of(total_steps, pct_start, three_phase), 0, pct_start, total_steps).problem;
}

std::string OneCycleLR::hyper_parameter_problem(const std::string& name, double value) const {
  if (name == "total_steps") return detail::count_problem(name, value, 1);
  if (name == "pct_start" && !(value >= 0.0 && value <= 1.0)) {
    return fmt::format("\"pct_start\" must be in [0, 1], but is {}", value);
  }
  return {};
}

std::vector<std::pair<std::string, double>> OneCycleLR::hyper_parameters() const {
  std::vector<std::pair<std::string, double>> hp{{"total_steps", static_cast<double>(total_steps_)},
                                                 {"pct_start", pct_start_},
                                                 {"anneal_strategy", linear_ ? 1.0 : 0.0},
                                                 {"three_phase", three_phase_ ? 1.0 : 0.0},
                                                 {"cycle_momentum", cycle_momentum_ ? 1.0 : 0.0}};
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    for (int k = 0; k < 5; ++k) hp.emplace_back(fmt::format("{}.{}", kValueNames[k], g), groups_[g].v[k]);
  }
  return hp;
}

void OneCycleLR::set_hyper_parameter(const std::string& name, double value) {
  if (name == "total_steps") {
    total_steps_ = detail::as_count(value);
  } else if (name == "pct_start") {
    pct_start_ = value;
  } else if (name == "anneal_strategy") {
    linear_ = value != 0.0;
  } else if (name == "three_phase") {
    three_phase_ = value != 0.0;
  } else if (name == "cycle_momentum") {
    cycle_momentum_ = value != 0.0 && !momentum_name_.empty();
  } else {
    const std::size_t dot = name.find('.');
    const std::string key = name.substr(0, dot);
    const std::size_t g = std::stoul(name.substr(dot + 1));
    for (int k = 0; k < 5; ++k) {
      if (key == kValueNames[k]) groups_[g].v[k] = value;
    }
  }
  build_phases();
}

}  // namespace voxgrad::optim
