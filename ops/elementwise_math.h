#pragma once
// Element-wise math beyond arithmetic, as torch's: log1p, expm1, sin, cos, reciprocal, rsqrt, the
// roundings, maximum/minimum and the NaN/infinity masks. Every one takes float32 and float64 tensors
// and throws voxgrad::Error naming the op for others (on int64, PyTorch's roundings return a copy and
// its masks all false).

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// log(1 + a), exact near 0; gradient 1 / (1 + a).
Tensor log1p(const Tensor& a);
/// e ** a − 1, exact near 0; gradient e ** a (the result + 1).
Tensor expm1(const Tensor& a);
/// Sine (radians); gradient cos(a).
Tensor sin(const Tensor& a);
/// Cosine (radians); gradient −sin(a).
Tensor cos(const Tensor& a);
/// 1 / a; gradient −(1/a)², from the result.
Tensor reciprocal(const Tensor& a);
/// 1 / √a; gradient −½ · (1/√a)³, from the result.
Tensor rsqrt(const Tensor& a);

/// The largest integer not above a. floor, ceil, round and trunc keep ±0, ±inf and NaN, and their
/// gradient is zero everywhere (as PyTorch's).
Tensor floor(const Tensor& a);
/// The smallest integer not below a.
Tensor ceil(const Tensor& a);
/// The nearest integer, halves to even (round(0.5) = 0, round(1.5) = 2, round(−2.5) = −2), as torch.round.
Tensor round(const Tensor& a);
/// a without its fractional part (towards zero).
Tensor trunc(const Tensor& a);

/// The larger of a and b, broadcast (operands convert to result_type(a, b)): NaN where either is NaN,
/// and +0 as the larger of ±0, whatever the order (IEEE 754-2019 maximum; PyTorch 1.13 returns either
/// zero, depending on its loop). The gradient goes to the larger operand, half to each where they are
/// equal (±0 included), and to both where the result is NaN, as PyTorch's.
Tensor maximum(const Tensor& a, const Tensor& b);
/// The smaller of a and b: NaN where either is NaN, −0 as the smaller of ±0; gradient as maximum's.
Tensor minimum(const Tensor& a, const Tensor& b);

/// Mask (1 or 0, in a's dtype, as this library's comparisons; PyTorch's is bool) of NaN elements.
/// Never requires grad.
Tensor isnan(const Tensor& a);
/// Mask of elements that are +inf or −inf.
Tensor isinf(const Tensor& a);
/// Mask of elements that are neither infinite nor NaN.
Tensor isfinite(const Tensor& a);

}  // namespace voxgrad
