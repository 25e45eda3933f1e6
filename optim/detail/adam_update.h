#pragma once
// Internal: the update Adam and AdamW share.

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "voxgrad/core/error.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/optim/detail/adam_kernel.h"
#include "voxgrad/optim/detail/checks.h"
#include "voxgrad/optim/optimizer.h"

namespace voxgrad::optim::detail {

/// Checks the options' values; `op` names the optimizer in the message.
void check_adam_hyper(const AdamHyper& h, const char* op);

/// One update of `param` (which has a gradient) with state `state` (filled on the first call).
/// Runs under NoGradGuard (the caller's).
void adam_update(Tensor& param, ParamState& state, const AdamHyper& h);

/// The hyper-parameters of AdamOptions or AdamWOptions (same fields, different defaults).
template <class Options>
AdamHyper adam_hyper(const Options& o, bool decoupled) {
  return {
      o.lr(),   std::get<0>(o.betas()), std::get<1>(o.betas()), o.eps(), o.weight_decay(), o.amsgrad(), o.maximize(),
      decoupled};
}

/// The named values an Adam-family optimizer's state_dict stores per group.
template <class Options>
std::vector<std::pair<std::string, double>> adam_hyper_parameters(const Options& o) {
  return {{"lr", o.lr()},
          {"betas.0", std::get<0>(o.betas())},
          {"betas.1", std::get<1>(o.betas())},
          {"eps", o.eps()},
          {"weight_decay", o.weight_decay()},
          {"amsgrad", o.amsgrad() ? 1.0 : 0.0},
          {"maximize", o.maximize() ? 1.0 : 0.0}};
}

/// Sets one of adam_hyper_parameters() by name; throws naming `Options` for an unknown name.
template <class Options>
void set_adam_hyper_parameter(Options& o, const std::string& name, double value) {
  if (name == "lr")
    o.lr() = value;
  else if (name == "betas.0")
    std::get<0>(o.betas()) = value;
  else if (name == "betas.1")
    std::get<1>(o.betas()) = value;
  else if (name == "eps")
    o.eps() = value;
  else if (name == "weight_decay")
    o.weight_decay() = value;
  else if (name == "amsgrad")
    o.amsgrad() = value != 0.0;
  else if (name == "maximize")
    o.maximize() = value != 0.0;
  else
    throw_unknown_hyper(o.name(), name);
}

}  // namespace voxgrad::optim::detail
