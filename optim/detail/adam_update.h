#pragma once
// Internal: the update Adam and AdamW share.

#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/optim/optimizer.h"

namespace voxgrad::optim::detail {

/// Hyper-parameters of one Adam/AdamW group.
struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize;
  bool decoupled;  ///< AdamW: p *= 1 − lr·wd instead of g += wd·p.
};

/// Checks the options' values; `op` names the optimizer in the message.
void check_adam_hyper(const AdamHyper& h, const char* op);

/// One update of `param` (which has a gradient) with state `state` (filled on the first call).
/// Runs under NoGradGuard (the caller's).
void adam_update(Tensor& param, ParamState& state, const AdamHyper& h);

}  // namespace voxgrad::optim::detail
