#include "voxgrad/optim/constant_lr.h"

#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: no fp contraction below

namespace voxgrad::optim {
namespace {

// A factor of 0 is a warm-up PyTorch cannot end: at epoch total_iters its lr is multiplied by
// 1/factor (ZeroDivisionError there). Refused when the scheduler is made and when it is loaded.
std::string zero_factor_problem(double factor, std::int64_t total_iters) {
  if (factor != 0.0 || total_iters == 0) return {};
  return fmt::format(
      "factor=0 with total_iters={} divides by zero at epoch {} (the lr times 1/factor; PyTorch "
      "raises ZeroDivisionError there)",
      total_iters, total_iters);
}

// PyTorch checks the factor before its super().__init__ records the groups' initial_lr; so do we.
Optimizer& checked(Optimizer& optimizer, const ConstantLROptions& o) {
  VOXGRAD_CHECK(o.factor() >= 0.0 && o.factor() <= 1.0,
                "ConstantLR: Constant multiplicative factor expected to be between 0 and 1, but got factor={}",
                o.factor());
  VOXGRAD_CHECK(o.total_iters() >= 0, "ConstantLR: total_iters must be non-negative, but got {}", o.total_iters());
  const std::string problem = zero_factor_problem(o.factor(), o.total_iters());
  VOXGRAD_CHECK(problem.empty(), "ConstantLR: {}", problem);
  return optimizer;
}

}  // namespace

ConstantLR::ConstantLR(Optimizer& optimizer, const ConstantLROptions& options)
    : LRScheduler(checked(optimizer, options)), options_(options) {
  initial_step();
}

std::vector<double> ConstantLR::get_lr() {
  const double factor = options_.factor();
  std::vector<double> lrs = group_lrs();
  if (last_epoch() == 0) {
    for (double& lr : lrs) lr = lr * factor;
    return lrs;
  }
  if (last_epoch() != options_.total_iters()) return lrs;  // here factor > 0: zero_factor_problem
  for (double& lr : lrs) lr = lr * (1.0 / factor);
  return lrs;
}

std::optional<std::vector<double>> ConstantLR::closed_form_lr() const {
  // Python's bool · float: (1 − factor) or 0.0.
  const double factor = options_.factor();
  const double rest = last_epoch() >= options_.total_iters() ? 1.0 - factor : 0.0;
  std::vector<double> lrs = base_lrs();
  for (double& lr : lrs) lr = lr * (factor + rest);
  return lrs;
}

std::vector<std::pair<std::string, double>> ConstantLR::hyper_parameters() const {
  return {{"factor", options_.factor()}, {"total_iters", static_cast<double>(options_.total_iters())}};
}

void ConstantLR::set_hyper_parameter(const std::string& name, double value) {
  if (name == "factor")
    options_.factor(value);
  else if (name == "total_iters")
    options_.total_iters(detail::as_count(value));
}

std::string ConstantLR::hyper_parameter_problem(const std::string& name, double value) const {
  if (name == "total_iters") return detail::count_problem(name, value, 0);
  return value >= 0.0 && value <= 1.0 ? std::string() : fmt::format("\"{}\" must be in [0, 1], but is {}", name, value);
}

std::string ConstantLR::hyper_parameters_problem(const std::vector<std::pair<std::string, double>>& values) const {
  double factor = options_.factor();
  std::int64_t total_iters = options_.total_iters();
  for (const auto& [name, value] : values) {
    if (name == "factor") factor = value;
    if (name == "total_iters") total_iters = detail::as_count(value);
  }
  return zero_factor_problem(factor, total_iters);
}

}  // namespace voxgrad::optim
