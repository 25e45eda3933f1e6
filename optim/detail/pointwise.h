#pragma once
// Internal: ATen's addcmul_ and addcdiv_ as the optimizers of PyTorch 1.13 call them, with ATen's
// CPU rounding, so that the updates match PyTorch's to the bit.

#include "voxgrad/core/tensor.h"

namespace voxgrad::optim::detail {

/// self += value · t1 · t2 in place, element by element, rounded as ATen's CPU kernel (compiled with
/// FMA contraction): fma(value · t1, t2, self), value first cast to self's dtype. t1 and t2 have
/// self's shape and dtype (any strides).
void addcmul_(Tensor& self, const Tensor& t1, const Tensor& t2, double value);

/// self += value · t1 / t2 in place, rounded as ATen's addcdiv_: self + (value · t1) / t2.
void addcdiv_(Tensor& self, const Tensor& t1, const Tensor& t2, double value);

}  // namespace voxgrad::optim::detail
