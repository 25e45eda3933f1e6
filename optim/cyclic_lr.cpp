#include "voxgrad/optim/cyclic_lr.h"

#include <cmath>

#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: no fp contraction below

namespace voxgrad::optim {
namespace {

constexpr const char* kName = "CyclicLR";

// PyTorch's _format_param: one value per group (a single value is repeated).
std::vector<double> per_group(const std::vector<double>& v, std::size_t groups, const char* name) {
  if (v.size() == 1) return std::vector<double>(groups, v[0]);
  VOXGRAD_CHECK(v.size() == groups, "CyclicLR: expected {} values for {}, got {}", groups, name, v.size());
  return v;
}

// The "momentum" of `options`, if they have one: PyTorch 1.13 asks for it in optimizer.defaults (SGD's
// and RMSprop's options have it; Adam's and AdamW's have betas, which its CyclicLR does not cycle).
std::optional<double> momentum_of(const OptimizerOptions& options) {
  for (const auto& [k, v] : options.hyper_parameters()) {
    if (k == "momentum") return v;
  }
  return std::nullopt;
}

// The group keys of the per-group values, as PyTorch's attributes.
bool per_group_key(const std::string& name, const char* key, std::size_t& g) {
  const std::string prefix = std::string(key) + ".";
  if (name.rfind(prefix, 0) != 0) return false;
  g = std::stoul(name.substr(prefix.size()));
  return true;
}

}  // namespace

CyclicLR::CyclicLR(Optimizer& optimizer, const CyclicLROptions& options)
    : CyclicLR(optimizer, options, snapshot(optimizer)) {}

CyclicLR::CyclicLR(Optimizer& optimizer, const CyclicLROptions& options, std::vector<GroupSnapshot> before)
    : LRScheduler(prepared(optimizer, options), options.last_epoch()),
      max_lrs_(per_group(options.max_lr(), optimizer.param_groups().size(), "max_lr")),
      mode_(options.mode()),
      gamma_(options.gamma()),
      scale_fn_(options.scale_fn()),
      // Without scale_fn the mode decides: PyTorch's exp_range scales by iteration, the triangles by cycle.
      iterations_(options.scale_fn() ? options.scale_mode() == CyclicLROptions::Iterations
                                     : options.mode() == CyclicLROptions::ExpRange),
      cycle_momentum_(options.cycle_momentum()) {
  const std::size_t n = optimizer.param_groups().size();
  // PyTorch: step_size_up = float(step_size_up); total_size = up + down; step_ratio = up / total_size.
  const double up = static_cast<double>(options.step_size_up());
  const double down = options.step_size_down() ? static_cast<double>(*options.step_size_down()) : up;
  total_size_ = up + down;
  step_ratio_ = up / total_size_;
  if (cycle_momentum_) {
    // The groups' momenta: base_momentum for a new schedule (prepared() set them), else as they are.
    for (const OptimizerParamGroup& g : optimizer.param_groups()) base_momentums_.push_back(*momentum_of(g.options()));
    max_momentums_ = per_group(options.max_momentum(), n, "max_momentum");
  }
  try {
    initial_step();  // with the groups' initial_lr as base lrs, as PyTorch's super().__init__
  } catch (...) {
    auto& groups = optimizer.param_groups();
    for (std::size_t g = 0; g < n; ++g) {
      groups[g].options().set_lr(before[g].lr);
      if (before[g].momentum) groups[g].options().set_hyper_parameter("momentum", *before[g].momentum);
      groups[g].set_initial_lr(before[g].initial_lr);
    }
    throw;
  }
  set_base_lrs(per_group(options.base_lr(), n, "base_lr"));
}

std::vector<CyclicLR::GroupSnapshot> CyclicLR::snapshot(const Optimizer& optimizer) {
  std::vector<GroupSnapshot> s;
  for (const OptimizerParamGroup& g : optimizer.param_groups()) {
    s.push_back({g.options().get_lr(), momentum_of(g.options()), g.initial_lr()});
  }
  return s;
}

Optimizer& CyclicLR::prepared(Optimizer& optimizer, const CyclicLROptions& o) {
  // PyTorch's order of checks; all of them before any group changes (PyTorch sets the lrs first).
  auto& groups = optimizer.param_groups();
  const std::size_t n = groups.size();
  const std::vector<double> base_lrs = per_group(o.base_lr(), n, "base_lr");
  per_group(o.max_lr(), n, "max_lr");
  VOXGRAD_CHECK(o.step_size_up() > 0,
                "CyclicLR: step_size_up must be positive (PyTorch divides by zero at 0), but got {}", o.step_size_up());
  VOXGRAD_CHECK(!o.step_size_down() || *o.step_size_down() >= 0,
                "CyclicLR: step_size_down must be non-negative, but got {}", o.step_size_down().value_or(0));
  VOXGRAD_CHECK(o.mode() == CyclicLROptions::Triangular || o.mode() == CyclicLROptions::Triangular2 ||
                    o.mode() == CyclicLROptions::ExpRange,
                "CyclicLR: mode must be Triangular, Triangular2 or ExpRange, but got {}", static_cast<int>(o.mode()));
  std::vector<double> base_momenta;
  if (o.cycle_momentum()) {
    VOXGRAD_CHECK(momentum_of(optimizer.defaults()).has_value(),
                  "CyclicLR: optimizer must support momentum with `cycle_momentum` option enabled ({} has no "
                  "momentum; PyTorch 1.13's CyclicLR does not cycle betas: pass cycle_momentum(false))",
                  optimizer.defaults().name());
    base_momenta = per_group(o.base_momentum(), n, "base_momentum");
    per_group(o.max_momentum(), n, "max_momentum");
    // Groups may carry options of their own (OptimizerParamGroup::set_options): each must have one too.
    for (std::size_t g = 0; g < n; ++g) {
      VOXGRAD_CHECK(
          momentum_of(groups[g].options()).has_value(),
          "CyclicLR: param_groups[{}] has no momentum (its options are {}) with `cycle_momentum` option enabled", g,
          groups[g].options().name());
    }
  }
  check_resume(kName, optimizer, o.last_epoch());
  if (o.last_epoch() == -1) {
    for (std::size_t g = 0; g < n; ++g) {
      groups[g].options().set_lr(base_lrs[g]);
      if (o.cycle_momentum()) groups[g].options().set_hyper_parameter("momentum", base_momenta[g]);
    }
  }
  return optimizer;
}

double CyclicLR::scale(std::int64_t x) const {
  if (scale_fn_) return scale_fn_(x);
  switch (mode_) {
    case CyclicLROptions::Triangular: return 1.;
    case CyclicLROptions::Triangular2:
      // PyTorch's 1 / (2. ** (x - 1)), exact (a power of two) for x ≥ 1; ldexp goes on past cycle 1024,
      // where Python's 2. ** 1024 raises OverflowError, to the exact (subnormal, then zero) value.
      return std::ldexp(1.0, static_cast<int>(std::max<std::int64_t>(1 - x, -1100)));
    case CyclicLROptions::ExpRange: {
      const double f = std::pow(gamma_, static_cast<double>(x));  // Python's float ** int is C's pow
      VOXGRAD_CHECK(std::isfinite(f) || !std::isfinite(gamma_),
                    "CyclicLR: gamma ** {} overflows (gamma {}; PyTorch raises OverflowError)", x, gamma_);
      return f;
    }
  }
  return 1.;
}

std::vector<double> CyclicLR::get_lr() {
  // PyTorch 1.13, term by term and in its evaluation order.
  const double t = static_cast<double>(last_epoch());
  const double cycle = std::floor(1 + t / total_size_);  // math.floor (an int; exact)
  const double x = 1. + t / total_size_ - cycle;
  const double scale_factor = x <= step_ratio_ ? x / step_ratio_ : (x - 1) / (step_ratio_ - 1);
  const std::int64_t at = iterations_ ? last_epoch() : static_cast<std::int64_t>(cycle);
  std::vector<double> lrs;
  for (std::size_t g = 0; g < max_lrs_.size(); ++g) {
    const double base_height = (max_lrs_[g] - base_lrs()[g]) * scale_factor;
    lrs.push_back(base_lrs()[g] + base_height * scale(at));
  }
  if (cycle_momentum_) {
    std::vector<double> momenta;
    for (std::size_t g = 0; g < max_momentums_.size(); ++g) {
      const double base_height = (max_momentums_[g] - base_momentums_[g]) * scale_factor;
      momenta.push_back(max_momentums_[g] - base_height * scale(at));
    }
    auto& groups = optimizer_.param_groups();
    for (std::size_t g = 0; g < momenta.size(); ++g) groups[g].options().set_hyper_parameter("momentum", momenta[g]);
  }
  return lrs;
}

std::vector<std::pair<std::string, double>> CyclicLR::hyper_parameters() const {
  std::vector<std::pair<std::string, double>> hp;
  for (std::size_t g = 0; g < max_lrs_.size(); ++g) hp.emplace_back(fmt::format("max_lrs.{}", g), max_lrs_[g]);
  hp.emplace_back("total_size", total_size_);
  hp.emplace_back("step_ratio", step_ratio_);
  hp.emplace_back("mode", static_cast<double>(mode_));
  hp.emplace_back("gamma", gamma_);
  hp.emplace_back("scale_mode", iterations_ ? 1.0 : 0.0);
  hp.emplace_back("cycle_momentum", cycle_momentum_ ? 1.0 : 0.0);
  for (std::size_t g = 0; g < base_momentums_.size(); ++g) {
    hp.emplace_back(fmt::format("base_momentums.{}", g), base_momentums_[g]);
  }
  for (std::size_t g = 0; g < max_momentums_.size(); ++g) {
    hp.emplace_back(fmt::format("max_momentums.{}", g), max_momentums_[g]);
  }
  return hp;
}

void CyclicLR::set_hyper_parameter(const std::string& name, double value) {
  std::size_t g = 0;
  if (name == "total_size")
    total_size_ = value;
  else if (name == "step_ratio")
    step_ratio_ = value;
  else if (name == "mode")
    mode_ = static_cast<CyclicLROptions::Mode>(detail::as_count(value));
  else if (name == "gamma")
    gamma_ = value;
  else if (name == "scale_mode")
    iterations_ = value != 0.0;
  else if (per_group_key(name, "max_lrs", g))
    max_lrs_[g] = value;
  else if (per_group_key(name, "base_momentums", g))
    base_momentums_[g] = value;
  else if (per_group_key(name, "max_momentums", g))
    max_momentums_[g] = value;
  // "cycle_momentum" is accepted only as it is (hyper_parameter_problem).
}

std::string CyclicLR::hyper_parameter_problem(const std::string& name, double value) const {
  // At least 1, as every constructor's (step_size_up ≥ 1): then the cycle count stays below 2^62 + 1
  // for any loadable last_epoch, and its conversion to an integer is exact.
  if (name == "total_size" && !(std::isfinite(value) && value >= 1.0)) {
    return fmt::format("\"total_size\" must be finite and at least 1, but is {}", value);
  }
  if (name == "step_ratio" && !(value > 0.0 && value <= 1.0)) {
    return fmt::format("\"step_ratio\" must be in (0, 1], but is {}", value);
  }
  if (name == "mode" && !(value == 0.0 || value == 1.0 || value == 2.0)) {
    return fmt::format("\"mode\" must be 0 (triangular), 1 (triangular2) or 2 (exp_range), but is {}", value);
  }
  if (name == "scale_mode" && !(value == 0.0 || value == 1.0)) {
    return fmt::format("\"scale_mode\" must be 0 (cycle) or 1 (iterations), but is {}", value);
  }
  if (name == "cycle_momentum" && value != (cycle_momentum_ ? 1.0 : 0.0)) {
    return fmt::format(
        "\"cycle_momentum\" is {}, but this CyclicLR was built with cycle_momentum {} (its momentum "
        "entries would not match)",
        value, cycle_momentum_ ? 1 : 0);
  }
  return {};
}

}  // namespace voxgrad::optim
