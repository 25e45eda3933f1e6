#include "voxgrad/optim/polynomial_lr.h"

#include <algorithm>
#include <cmath>

#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: no fp contraction below

namespace voxgrad::optim {
namespace {

// Checked before the base constructor records the groups' initial_lr, so a refused scheduler leaves
// the optimizer as it was. PyTorch accepts total_iters = 0 and then divides by zero in its closed
// form, and a negative power and then raises ZeroDivisionError at epoch total_iters (0 ** power).
Optimizer& checked(Optimizer& optimizer, const PolynomialLROptions& o) {
  VOXGRAD_CHECK(o.total_iters() > 0, "PolynomialLR: total_iters must be positive, but got {}", o.total_iters());
  VOXGRAD_CHECK(o.power() >= 0.0, "PolynomialLR: power must be non-negative, but got {}", o.power());
  return optimizer;
}

}  // namespace

PolynomialLR::PolynomialLR(Optimizer& optimizer, const PolynomialLROptions& options)
    : LRScheduler(checked(optimizer, options)), options_(options) {
  initial_step();
}

std::vector<double> PolynomialLR::get_lr() {
  // PyTorch 1.13, term by term (Python's int / int is the correctly rounded quotient, as double's).
  std::vector<double> lrs = group_lrs();
  if (last_epoch() == 0 || last_epoch() > options_.total_iters()) return lrs;
  const double e = static_cast<double>(last_epoch()), total = static_cast<double>(options_.total_iters());
  const double decay = std::pow((1.0 - e / total) / (1.0 - (e - 1) / total), options_.power());
  for (double& lr : lrs) lr = lr * decay;
  return lrs;
}

std::optional<std::vector<double>> PolynomialLR::closed_form_lr() const {
  const double total = static_cast<double>(options_.total_iters());
  const double e = static_cast<double>(std::min(options_.total_iters(), last_epoch()));
  const double factor = std::pow(1.0 - e / total, options_.power());
  std::vector<double> lrs = base_lrs();
  for (double& lr : lrs) lr = lr * factor;
  return lrs;
}

std::vector<std::pair<std::string, double>> PolynomialLR::hyper_parameters() const {
  return {{"total_iters", static_cast<double>(options_.total_iters())}, {"power", options_.power()}};
}

void PolynomialLR::set_hyper_parameter(const std::string& name, double value) {
  if (name == "total_iters")
    options_.total_iters(detail::as_count(value));
  else if (name == "power")
    options_.power(value);
}

std::string PolynomialLR::hyper_parameter_problem(const std::string& name, double value) const {
  if (name == "total_iters") return detail::count_problem(name, value, 1);
  return value >= 0.0 ? std::string() : fmt::format("\"{}\" must be non-negative, but is {}", name, value);
}

}  // namespace voxgrad::optim
