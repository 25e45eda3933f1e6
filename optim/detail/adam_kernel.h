#pragma once
// Internal: one Adam/AdamW update of a parameter in a single pass over its tensors. Each element goes
// through the statements of PyTorch 1.13's _single_tensor_adam in order, each rounded as its ATen op
// rounds it (pointwise.h's fused multiply-adds, the scalars cast to the parameter's dtype first), so
// the result is the statement-by-statement update's to the bit, with one read of param, grad and the
// moments and one write of each instead of a pass per statement.

#include "voxgrad/core/tensor.h"

namespace voxgrad::optim::detail {

/// The per-step scalars of the update, from the hyper-parameters and the step count.
struct AdamStepScalars {
  bool maximize = false;
  bool decoupled = false;     ///< AdamW: param *= param_scale first.
  double param_scale = 1.0;   ///< 1 − lr·wd (AdamW).
  double weight_decay = 0.0;  ///< Adam: grad += weight_decay · param when non-zero.
  double beta1 = 0.9, beta2 = 0.999;
  double bias_correction2_sqrt = 1.0;
  double eps = 1e-8;
  double step_size = 1e-3;  ///< lr / bias correction 1.
};

/// With g = grad (−grad with maximize), in order:
///   param *= param_scale (AdamW), or g = fma(param, weight_decay, g) (Adam, weight_decay ≠ 0);
///   exp_avg = fma(g, 1 − beta1, exp_avg · beta1);  exp_avg_sq = fma((1 − beta2) · g, g, exp_avg_sq · beta2);
///   max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq) when max_exp_avg_sq is given (amsgrad);
///   param += (−step_size · exp_avg) / (√(exp_avg_sq or its maximum) / bias_correction2_sqrt + eps).
/// Every tensor has param's shape and dtype (any strides); the in-place ones get their versions bumped.
void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor* max_exp_avg_sq,
                const AdamStepScalars& k);

}  // namespace voxgrad::optim::detail
