#pragma once
// Internal: one Adam/AdamW update of a parameter in a single pass over its tensors. Each element goes
// through the statements of PyTorch 1.13's _single_tensor_adam in order, each rounded as its ATen op
// rounds it (pointwise.h's fused multiply-adds, every scalar cast to the parameter's dtype first), so
// the result is the bits of those statements run one after the other, with one read and one write of
// each tensor.

#include "voxgrad/core/tensor.h"

namespace voxgrad::optim::detail {

/// Hyper-parameters of one Adam/AdamW group.
struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize;
  bool decoupled;  ///< AdamW: p *= 1 − lr·wd instead of g += wd·p.
};

/// Step `step` (1 for the first) of the update, with g = grad (−grad with maximize), in order:
///   AdamW: param *= 1 − lr·wd; Adam with wd ≠ 0: g = fma(param, wd, g);
///   exp_avg = fma(g, 1 − β1, exp_avg·β1);  exp_avg_sq = fma((1 − β2)·g, g, exp_avg_sq·β2);
///   with max_exp_avg_sq (amsgrad): max_exp_avg_sq = torch.maximum(max_exp_avg_sq, exp_avg_sq) (NaN where
///   either is NaN);
///   param += (−step_size·exp_avg) / (√(exp_avg_sq or its maximum) / √bc2 + eps),
/// with bc1 = 1 − β1^step, bc2 = 1 − β2^step and step_size = lr / bc1 in double, as Python computes them.
/// Every tensor has param's shape and dtype (any strides; grad may be a view of param); the in-place
/// ones get their versions bumped. Throws before changing anything when an operand does not match.
void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor* max_exp_avg_sq,
                const AdamHyper& h, double step);

}  // namespace voxgrad::optim::detail
