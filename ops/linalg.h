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
/// Σ a[i] · b[i] of two 1-D tensors of one size, as torch.dot (0-d); float32 with float64 gives float64, where
/// torch 1.13 raises.
Tensor dot(const Tensor& a, const Tensor& b);
/// The outer product a[i] · b[j] of two 1-D tensors, as torch.outer.
Tensor outer(const Tensor& a, const Tensor& b);
/// The elements on and below the diagonal-th diagonal of the last two dims (0 the main one, > 0 above it,
/// < 0 below), the others 0, as torch.tril; the gradient is tril of the incoming one (a NaN above the
/// diagonal does not leak into it).
Tensor tril(const Tensor& a, std::int64_t diagonal = 0);
/// The elements on and above the diagonal-th diagonal, as torch.triu.
Tensor triu(const Tensor& a, std::int64_t diagonal = 0);

}  // namespace voxgrad
