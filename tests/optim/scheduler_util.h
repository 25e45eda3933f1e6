#pragma once
// Shared by the LR scheduler tests (tests/optim/test_schedulers*.cpp): an SGD optimizer with one
// group per lr, one of several kinds whose momentum can be read, and the lr_lambdas and CyclicLR
// scale_fns the PyTorch fixture names (LR_LAMBDAS and SCALE_FNS in tests/fixtures/optim/generate.py),
// computed as Python does.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "json_fixture.h"
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

/// The optimizer of a OneCycleLR or CyclicLR case, one group per lr: "sgd" (momentum 0.9),
/// "sgd_plain" (momentum 0), "rmsprop", "adam" or "adagrad".
struct CycleGroups {
  std::vector<Tensor> params;
  std::unique_ptr<optim::Optimizer> opt;
  std::string momentum_key;  // "momentum", "betas.0", or none
  CycleGroups(const std::string& kind, const std::vector<double>& lrs) {
    std::vector<optim::OptimizerParamGroup> groups;
    for (double lr : lrs) {
      params.push_back(zeros({1}).requires_grad_());
      if (kind == "sgd")
        groups.emplace_back(std::vector<Tensor>{params.back()}, optim::SGDOptions(lr).momentum(0.9));
      else if (kind == "sgd_plain")
        groups.emplace_back(std::vector<Tensor>{params.back()}, optim::SGDOptions(lr));
      else if (kind == "rmsprop")
        groups.emplace_back(std::vector<Tensor>{params.back()}, optim::RMSpropOptions(lr));
      else if (kind == "adam")
        groups.emplace_back(std::vector<Tensor>{params.back()}, optim::AdamOptions(lr));
      else
        groups.emplace_back(std::vector<Tensor>{params.back()}, optim::AdagradOptions(lr));
    }
    if (kind == "sgd") {
      opt = std::make_unique<optim::SGD>(groups, optim::SGDOptions(lrs[0]).momentum(0.9));
      momentum_key = "momentum";
    } else if (kind == "sgd_plain") {
      opt = std::make_unique<optim::SGD>(groups, optim::SGDOptions(lrs[0]));
      momentum_key = "momentum";
    } else if (kind == "rmsprop") {
      opt = std::make_unique<optim::RMSprop>(groups, optim::RMSpropOptions(lrs[0]));
      momentum_key = "momentum";
    } else if (kind == "adam") {
      opt = std::make_unique<optim::Adam>(groups, optim::AdamOptions(lrs[0]));
      momentum_key = "betas.0";
    } else {
      opt = std::make_unique<optim::Adagrad>(groups, optim::AdagradOptions(lrs[0]));
    }
  }
  /// Each group's momentum (β1 for Adam; 0 without one).
  std::vector<double> momenta() const {
    std::vector<double> v;
    for (const auto& g : opt->param_groups()) {
      double m = 0.0;
      for (const auto& [k, x] : g.options().hyper_parameters()) {
        if (k == momentum_key) m = x;
      }
      v.push_back(m);
    }
    return v;
  }
  /// Each group's lr.
  std::vector<double> lrs() const {
    std::vector<double> v;
    for (const auto& g : opt->param_groups()) v.push_back(g.options().get_lr());
    return v;
  }
};

/// The fixture's CyclicLR scale_fn `name`, as Python computes it.
inline optim::CyclicScaleFn scale_fn_by_name(const std::string& name) {
  if (name == "inv_sqrt") return [](std::int64_t x) { return 1.0 / std::sqrt(static_cast<double>(x)); };
  if (name == "pow_0.97") return [](std::int64_t x) { return std::pow(0.97, static_cast<double>(x)); };
  if (name == "half_after_2") return [](std::int64_t x) { return x <= 2 ? 1.0 : 0.5; };
  ADD_FAILURE() << "unknown scale_fn " << name;
  return [](std::int64_t) { return 1.0; };
}

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

/// A state dict's entries by name: whether 1-D, and the values.
using FlatState = std::map<std::string, std::pair<bool, std::vector<double>>>;

inline FlatState flat(const nn::StateDict& d) {
  FlatState f;
  for (const auto& [k, t] : d) {
    const Tensor c = t.contiguous();
    f[k] = {t.dim() == 1, std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel())};
  }
  return f;
}

/// The fixture's state dict ({key: number or list}) as voxgrad's: numbers 0-d, lists 1-D, float64.
inline nn::StateDict state_from_fixture(const nlohmann::json& j) {
  nn::StateDict d;
  for (const auto& [k, v] : j.items()) {
    if (v.is_array()) {
      std::vector<double> values;
      for (const nlohmann::json& x : v) values.push_back(json_number(x));
      d.emplace_back(k, tensor(values, kFloat64));
    } else {
      d.emplace_back(k, scalar_tensor(json_number(v), kFloat64));
    }
  }
  return d;
}

/// `d` with entry `key` set to `value` (0-d), or added if absent.
inline nn::StateDict with(nn::StateDict d, const std::string& key, double value) {
  for (auto& [k, v] : d) {
    if (k == key) {
      v = scalar_tensor(value, kFloat64);
      return d;
    }
  }
  d.emplace_back(key, scalar_tensor(value, kFloat64));
  return d;
}

//// `d` without entry `key`.
inline nn::StateDict without(nn::StateDict d, const std::string& key) {
  std::erase_if(d, [&](const auto& e) { return e.first == key; });
  return d;
}

/// The entries' names, in order.
inline std::vector<std::string> keys(const nn::StateDict& d) {
  std::vector<std::string> k;
  for (const auto& [name, v] : d) k.push_back(name);
  return k;
}

/// A fixture value given once for all groups or per group.
inline std::vector<double> per_group(const nlohmann::json& v) {
  return v.is_array() ? v.get<std::vector<double>>() : std::vector<double>{v.get<double>()};
}

/// ReduceLROnPlateauOptions from a fixture case's options (absent keys keep the defaults).
inline optim::ReduceLROnPlateauOptions plateau_options(const nlohmann::json& o) {
  optim::ReduceLROnPlateauOptions r;
  if (o.contains("mode"))
    r.mode(o["mode"] == "max" ? optim::ReduceLROnPlateauOptions::Max : optim::ReduceLROnPlateauOptions::Min);
  if (o.contains("threshold_mode"))
    r.threshold_mode(o["threshold_mode"] == "abs" ? optim::ReduceLROnPlateauOptions::Abs
                                                  : optim::ReduceLROnPlateauOptions::Rel);
  if (o.contains("factor")) r.factor(o["factor"]);
  if (o.contains("patience")) r.patience(o["patience"]);
  if (o.contains("threshold")) r.threshold(o["threshold"]);
  if (o.contains("cooldown")) r.cooldown(o["cooldown"]);
  if (o.contains("eps")) r.eps(o["eps"]);
  if (o.contains("min_lr")) r.min_lr(per_group(o["min_lr"]));
  return r;
}

}  // namespace voxgrad::testing
