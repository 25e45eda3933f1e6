#pragma once
// Internal: one SGD, RMSprop or Adagrad update of a parameter in a single pass over its tensors, as
// adam_kernel.h does for Adam. Each element goes through the statements of PyTorch 1.13's
// _single_tensor_sgd, _single_tensor_rmsprop and _single_tensor_adagrad in order, each rounded as its
// ATen op rounds it (pointwise.h's fused multiply-adds; every scalar cast to the parameter's dtype
// first), so the result has the bits of those statements run one after the other.
//
// Every tensor has param's shape and dtype (any strides; grad may be a view of param, which the
// statements read before they write param); the in-place ones get their versions bumped. Each
// function throws before changing anything when an operand does not match.

#include "voxgrad/core/tensor.h"

namespace voxgrad::optim::detail {

/// Hyper-parameters of one SGD group.
struct SgdHyper {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};

/// With d = grad (−grad with maximize), in order:
///   weight_decay ≠ 0: d = fma(param, wd, d);
///   momentum ≠ 0: buf = d on the first step (`first`), else buf = fma(d, 1 − dampening, buf·momentum);
///                 d = nesterov ? fma(buf, momentum, d) : buf;
///   param = fma(d, −lr, param).
/// `momentum_buffer` is null without momentum; on the first step its old values are not read.
void sgd_step_(Tensor& param, const Tensor& grad, Tensor* momentum_buffer, bool first, const SgdHyper& h);

/// Hyper-parameters of one RMSprop group.
struct RmspropHyper {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};

/// With g = grad (−grad with maximize), in order:
///   weight_decay ≠ 0: g = fma(param, wd, g);
///   square_avg = fma((1 − α)·g, g, square_avg·α);
///   centered: grad_avg = fma(g, 1 − α, grad_avg·α); avg = √fma(−1·grad_avg, grad_avg, square_avg) + eps;
///   else avg = √square_avg + eps;
///   momentum > 0: buf = buf·momentum + (1·g)/avg; param = fma(buf, −lr, param);
///   else param = param + (−lr·g)/avg.
/// `momentum_buffer` is null unless momentum > 0, `grad_avg` unless centered.
void rmsprop_step_(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor* momentum_buffer, Tensor* grad_avg,
                   const RmspropHyper& h);

/// Hyper-parameters of one Adagrad group at one step: clr = lr / (1 + (step − 1)·lr_decay), in double
/// as Python computes it.
struct AdagradHyper {
  double clr, eps, weight_decay;
  bool maximize;
};

/// With g = grad (−grad with maximize), in order:
///   weight_decay ≠ 0: g = fma(param, wd, g);
///   sum = fma(1·g, g, sum);  param = param + (−clr·g)/(√sum + eps).
void adagrad_step_(Tensor& param, const Tensor& grad, Tensor& sum, const AdagradHyper& h);

}  // namespace voxgrad::optim::detail
