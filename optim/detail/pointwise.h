#pragma once
// Internal: the in-place updates PyTorch 1.13's optimizers make, rounded as ATen's CPU kernels round
// them (built with FMA: its vectorised add with alpha is vec::fmadd, and its addcmul contracts to
// one), whatever the build's own flags, so that the updates match PyTorch's to the bit. Each is one
// pass over its tensors: the optimizers run their statements in one pass instead (adam_kernel.h,
// update_kernels.h), and their tests run them statement by statement through these.

#include "voxgrad/core/tensor.h"

namespace voxgrad::optim::detail {

/// self += alpha · other in place: fma(other, alpha, self), alpha first cast to self's dtype (ATen's
/// add_(other, alpha=…)). other has self's shape and dtype (any strides); bumps self's version.
void add_scaled_(Tensor& self, const Tensor& other, double alpha);

/// a + alpha · b as a new tensor, rounded as add_scaled_ (ATen's add(a, b, alpha=…)).
Tensor add_scaled(const Tensor& a, const Tensor& b, double alpha);

/// self += value · t1 · t2 in place: fma(value · t1, t2, self) (ATen's addcmul_).
void addcmul_(Tensor& self, const Tensor& t1, const Tensor& t2, double value);

/// self += value · t1 / t2 in place: self + (value · t1) / t2 (ATen's addcdiv_).
void addcdiv_(Tensor& self, const Tensor& t1, const Tensor& t2, double value);

}  // namespace voxgrad::optim::detail
