#include "voxgrad/optim/cosine_annealing_warm_restarts.h"

#include <cmath>
#include <numbers>

#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: no fp contraction below

namespace voxgrad::optim {
namespace {

// PyTorch checks T_0 and T_mult before its super().__init__ records the groups' initial_lr; so do we.
Optimizer& checked(Optimizer& optimizer, std::int64_t T_0, std::int64_t T_mult) {
  VOXGRAD_CHECK(T_0 > 0, "CosineAnnealingWarmRestarts: Expected positive integer T_0, but got {}", T_0);
  VOXGRAD_CHECK(T_mult >= 1, "CosineAnnealingWarmRestarts: Expected integer T_mult >= 1, but got {}", T_mult);
  return optimizer;
}

}  // namespace

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, std::int64_t T_0, std::int64_t T_mult,
                                                         double eta_min)
    : LRScheduler(checked(optimizer, T_0, T_mult)), t_0_(T_0), t_i_(T_0), t_mult_(T_mult), eta_min_(eta_min) {
  initial_step();
}

std::vector<double> CosineAnnealingWarmRestarts::get_lr() {
  // PyTorch's step(): from epoch −1 (or restarted at 0) as step(0), else T_cur + 1 wrapped at T_i.
  // The new T_cur and T_i are committed only once both are known (Python's integers do not
  // overflow; a product past 2^63 is an error here, and the scheduler stays where it was).
  std::int64_t t_cur = 0, t_i = t_0_;
  if (last_epoch() != 0) {
    t_cur = t_cur_ + 1;
    t_i = t_i_;
    if (t_cur >= t_i) {
      t_cur = t_cur - t_i;
      VOXGRAD_CHECK(!__builtin_mul_overflow(t_i_, t_mult_, &t_i),
                    "CosineAnnealingWarmRestarts: the next cycle's length T_i * T_mult = {} * {} overflows int64", t_i_,
                    t_mult_);
    }
  }
  t_cur_ = t_cur;
  t_i_ = t_i;
  // Term by term and in Python's order: ((π·T_cur)/T_i), then ((base − eta_min)·(1 + cos))/2.
  const double angle = std::numbers::pi * static_cast<double>(t_cur_) / static_cast<double>(t_i_);
  std::vector<double> lrs = base_lrs();
  for (double& lr : lrs) lr = eta_min_ + (lr - eta_min_) * (1 + std::cos(angle)) / 2;
  return lrs;
}

std::vector<std::pair<std::string, double>> CosineAnnealingWarmRestarts::hyper_parameters() const {
  return {{"T_0", static_cast<double>(t_0_)},
          {"T_i", static_cast<double>(t_i_)},
          {"T_mult", static_cast<double>(t_mult_)},
          {"eta_min", eta_min_},
          {"T_cur", static_cast<double>(t_cur_)}};
}

void CosineAnnealingWarmRestarts::set_hyper_parameter(const std::string& name, double value) {
  if (name == "T_0")
    t_0_ = detail::as_count(value);
  else if (name == "T_i")
    t_i_ = detail::as_count(value);
  else if (name == "T_mult")
    t_mult_ = detail::as_count(value);
  else if (name == "eta_min")
    eta_min_ = value;
  else if (name == "T_cur")
    t_cur_ = detail::as_count(value);
}

std::string CosineAnnealingWarmRestarts::hyper_parameter_problem(const std::string& name, double value) const {
  if (name == "T_0" || name == "T_i" || name == "T_mult") return detail::count_problem(name, value, 1);
  if (name == "T_cur") return detail::count_problem(name, value, 0);
  return {};
}

}  // namespace voxgrad::optim
