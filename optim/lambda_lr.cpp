#include "voxgrad/optim/lambda_lr.h"

#include <memory>

#include "voxgrad/core/error.h"
#include "voxgrad/optim/detail/python_arithmetic.h"  // last: no fp contraction below

namespace voxgrad::optim {
namespace {

// One function per group, all calling the one `lr_lambda`, as PyTorch's [lr_lambda] * len(param_groups):
// a callable with state (a mutable lambda, a functor) sees every group's call, in group order.
std::vector<LRLambda> repeated(const Optimizer& optimizer, LRLambda lr_lambda, const char* name) {
  VOXGRAD_CHECK(static_cast<bool>(lr_lambda), "{}: lr_lambda is an empty std::function", name);
  auto shared = std::make_shared<LRLambda>(std::move(lr_lambda));
  return std::vector<LRLambda>(optimizer.param_groups().size(),
                               [shared](std::int64_t epoch) { return (*shared)(epoch); });
}

// Checks the per-group functions before the base constructor records the groups' initial_lr (PyTorch
// checks them before its super().__init__), and returns the optimizer for it.
Optimizer& checked(Optimizer& optimizer, const std::vector<LRLambda>& lr_lambdas, const char* name) {
  const std::size_t groups = optimizer.param_groups().size();
  VOXGRAD_CHECK(lr_lambdas.size() == groups, "{}: Expected {} lr_lambdas, but got {}", name, groups, lr_lambdas.size());
  for (std::size_t i = 0; i < lr_lambdas.size(); ++i) {
    VOXGRAD_CHECK(static_cast<bool>(lr_lambdas[i]), "{}: lr_lambdas[{}] is an empty std::function", name, i);
  }
  return optimizer;
}

}  // namespace

LambdaScheduler::LambdaScheduler(Optimizer& optimizer, LRLambda lr_lambda, const char* name)
    : LambdaScheduler(optimizer, repeated(optimizer, std::move(lr_lambda), name), name) {}

LambdaScheduler::LambdaScheduler(Optimizer& optimizer, std::vector<LRLambda> lr_lambdas, const char* name)
    : LRScheduler(checked(optimizer, lr_lambdas, name)), lr_lambdas_(std::move(lr_lambdas)) {}

std::vector<double> LambdaScheduler::scaled(std::vector<double> lrs) const {
  for (std::size_t i = 0; i < lrs.size(); ++i) lrs[i] = lrs[i] * lr_lambdas_[i](last_epoch());
  return lrs;
}

// The derived constructors take the initial step: get_lr is theirs.
LambdaLR::LambdaLR(Optimizer& optimizer, LRLambda lr_lambda)
    : LambdaScheduler(optimizer, std::move(lr_lambda), "LambdaLR") {
  initial_step();
}

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<LRLambda> lr_lambdas)
    : LambdaScheduler(optimizer, std::move(lr_lambdas), "LambdaLR") {
  initial_step();
}

MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, LRLambda lr_lambda)
    : LambdaScheduler(optimizer, std::move(lr_lambda), "MultiplicativeLR") {
  initial_step();
}

MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, std::vector<LRLambda> lr_lambdas)
    : LambdaScheduler(optimizer, std::move(lr_lambdas), "MultiplicativeLR") {
  initial_step();
}

}  // namespace voxgrad::optim
