#pragma once

#include <cstdint>
#include <optional>

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

/// The cross product along `dim` (size 3 in both), as torch.linalg.cross: a and b have one dtype and
/// as many dims, and broadcast. Each component is rounded as ATen's AVX2 and AVX-512 CPU kernels compute
/// it (compiled with FMA contraction), fma(a_p, b_q, −(a_r · b_s)), so the same bits as PyTorch on those
/// CPUs (its default-capability kernel rounds both products). int64 wraps around on overflow, as
/// ATen's. Differentiable in both (b × g and g × a).
Tensor linalg_cross(const Tensor& a, const Tensor& b, std::int64_t dim = -1);
/// torch.cross: linalg_cross along `dim`, by default the first dim of a of size 3.
Tensor cross(const Tensor& a, const Tensor& b, std::optional<std::int64_t> dim = std::nullopt);

/// The sum of the main diagonal of a matrix, as torch.trace: in order, float32 in float64, int64 in
/// int64 (wrapping around on overflow). Differentiable: the gradient is g on the diagonal. PyTorch
/// 1.13's puts g at every (cols + 1)-th element instead, off the diagonal of a matrix with more rows
/// than cols + 1.
Tensor trace(const Tensor& a);

/// A 1-D a as the `diagonal`-th diagonal of a square matrix of zeros (size a.size(0) + |diagonal|), or
/// a copy of a matrix's `diagonal`-th diagonal (empty past its corner, where PyTorch 1.13 raises), as
/// torch.diag. Differentiable.
Tensor diag(const Tensor& a, std::int64_t diagonal = 0);

/// Zeros with a's last dim written on the `offset`-th diagonal of the output dims dim1 and dim2 (counted
/// in the output, which has one dim more), the other dims of a filling the remaining ones in order, as
/// torch.diag_embed. Differentiable (the gradient is that diagonal of g).
Tensor diag_embed(const Tensor& a, std::int64_t offset = 0, std::int64_t dim1 = -2, std::int64_t dim2 = -1);

}  // namespace voxgrad
