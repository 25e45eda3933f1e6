#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "voxgrad/optim/lr_scheduler.h"

namespace voxgrad::optim {

/// A learning-rate factor as a function of the epoch (PyTorch's lr_lambda), e.g.
/// `[](std::int64_t e) { return std::pow(0.95, static_cast<double>(e)); }` for Python's `0.95 ** e`.
using LRLambda = std::function<double(std::int64_t epoch)>;

/// The part LambdaLR and MultiplicativeLR share: one lr_lambda per group, checked when made (one for
/// all groups is one object called for each group in turn, as PyTorch's [lr_lambda] *
/// len(param_groups): a callable with state sees every call), and no hyper-parameters in the state
/// dict: a std::function cannot be saved. PyTorch saves an lr_lambda's attributes only when it is a
/// callable object (never for a function or lambda); here the scheduler that loads a state dict keeps
/// the functions it was built with. A step whose lr_lambda throws leaves the scheduler's epoch and the
/// lrs as they were, but not a stateful callable's own state (the groups before it were called).
class LambdaScheduler : public LRScheduler {
 protected:
  /// `name` for the messages; throws if `lr_lambda` is empty.
  LambdaScheduler(Optimizer& optimizer, LRLambda lr_lambda, const char* name);
  /// Throws unless there are as many functions as groups and none is empty.
  LambdaScheduler(Optimizer& optimizer, std::vector<LRLambda> lr_lambdas, const char* name);
  /// lrs[i] · lr_lambdas[i](last_epoch()), each product rounded once as Python's.
  std::vector<double> scaled(std::vector<double> lrs) const;
  /// None (the functions are not saved).
  std::vector<std::pair<std::string, double>> hyper_parameters() const override { return {}; }
  /// Never called (there are no hyper-parameters).
  void set_hyper_parameter(const std::string& /*name*/, double /*value*/) override {}

 private:
  std::vector<LRLambda> lr_lambdas_;
};

/// Sets each group's lr to its base lr times a function of the epoch, as
/// torch.optim.lr_scheduler.LambdaLR (PyTorch 1.13): lr(epoch) = base_lr · lr_lambda(epoch), with
/// one function for every group or one per group. The product is rounded once, as Python's, so a
/// lambda that computes its factor as Python does (`std::pow` for `**` on floats, `1.0 / (e + 1)`
/// for `1 / (e + 1)`) gives PyTorch's lrs bit for bit. The state dict holds base_lrs, last_epoch,
/// _step_count and _last_lr only (LambdaScheduler).
class LambdaLR : public LambdaScheduler {
 public:
  /// `LambdaLR(optimizer, [](std::int64_t e) { return 1.0 / static_cast<double>(e + 1); })`: one
  /// function for every group; throws if it is empty.
  LambdaLR(Optimizer& optimizer, LRLambda lr_lambda);
  /// One function per parameter group (group i uses lr_lambdas[i]); throws unless there are as many
  /// as groups and none is empty.
  LambdaLR(Optimizer& optimizer, std::vector<LRLambda> lr_lambdas);

 protected:
  /// base_lr · lr_lambda(epoch) for each group.
  std::vector<double> get_lr() override { return scaled(base_lrs()); }
  /// "LambdaLR".
  std::string name() const override { return "LambdaLR"; }
};

/// Multiplies each group's lr by a function of the epoch every epoch, as
/// torch.optim.lr_scheduler.MultiplicativeLR (PyTorch 1.13): lr(epoch) = lr(epoch − 1) · lr_lambda(epoch)
/// for epoch > 0 (the lrs are unchanged at epoch 0), with one function for every group or one per
/// group. Like PyTorch's, it has no closed form: restarted by SequentialLR it keeps the lrs it finds.
/// The state dict holds base_lrs, last_epoch, _step_count and _last_lr only (LambdaScheduler).
class MultiplicativeLR : public LambdaScheduler {
 public:
  /// `MultiplicativeLR(optimizer, [](std::int64_t) { return 0.95; })`: one function for every group;
  /// throws if it is empty.
  MultiplicativeLR(Optimizer& optimizer, LRLambda lr_lambda);
  /// One function per parameter group; throws unless there are as many as groups and none is empty.
  MultiplicativeLR(Optimizer& optimizer, std::vector<LRLambda> lr_lambdas);

 protected:
  /// Each group's lr times lr_lambda(epoch) (unchanged at epoch 0).
  std::vector<double> get_lr() override { return last_epoch() <= 0 ? group_lrs() : scaled(group_lrs()); }
  /// "MultiplicativeLR".
  std::string name() const override { return "MultiplicativeLR"; }
};

}  // namespace voxgrad::optim
