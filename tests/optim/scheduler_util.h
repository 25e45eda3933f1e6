#pragma once
// Shared by the LR scheduler tests (tests/optim/test_schedulers*.cpp): an SGD optimizer with one
// group per lr, and the lr_lambdas the PyTorch fixture names (LR_LAMBDAS in
// tests/fixtures/optim/generate.py), computed as Python does.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"

namespace voxgrad::testing {

/// An SGD optimizer with one single-parameter group per lr.
struct Groups {
  std::vector<Tensor> params;
  std::unique_ptr<optim::SGD> opt;
  explicit Groups(const std::vector<double>& lrs) {
    std::vector<optim::OptimizerParamGroup> groups;
    for (double lr : lrs) {
      params.push_back(zeros({1}).requires_grad_());
      groups.emplace_back(std::vector<Tensor>{params.back()}, optim::SGDOptions(lr));
    }
    opt = std::make_unique<optim::SGD>(groups, optim::SGDOptions(lrs[0]));
  }
  std::vector<double> lrs() const {
    std::vector<double> v;
    for (const auto& g : opt->param_groups()) v.push_back(g.options().get_lr());
    return v;
  }
};

/// The fixture's lr_lambda `name`: Python's float ** int is C's pow, int / int the correctly rounded
/// quotient of the two (exact) doubles.
inline optim::LRLambda lr_lambda_by_name(const std::string& name) {
  if (name == "pow_0.9") return [](std::int64_t e) { return std::pow(0.9, static_cast<double>(e)); };
  if (name == "inverse") return [](std::int64_t e) { return 1.0 / static_cast<double>(e + 1); };
  if (name == "poly_10_0.9") {
    return
        [](std::int64_t e) { return std::pow(1.0 - static_cast<double>(std::min<std::int64_t>(e, 10)) / 10.0, 0.9); };
  }
  if (name == "const_0.95") return [](std::int64_t) { return 0.95; };
  if (name == "half_every_3") return [](std::int64_t e) { return e % 3 == 0 ? 0.5 : 1.0; };
  ADD_FAILURE() << "unknown lr_lambda " << name;
  return [](std::int64_t) { return 1.0; };
}

}  // namespace voxgrad::testing
