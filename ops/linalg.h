#pragma once

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Matrix product with NumPy/PyTorch semantics: 1-D·1-D is a dot product, 1-D operands gain and
/// lose a dim, batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
/// 2-D matrix product [m, k] · [k, n].
Tensor mm(const Tensor& a, const Tensor& b);
/// Batched matrix product [b, m, k] · [b, k, n].
Tensor bmm(const Tensor& a, const Tensor& b);

}  // namespace voxgrad
