#pragma once
// The trigonometric and hyperbolic functions and their inverses, as torch's: sin, cos, tan, asin, acos,
// atan, atan2, sinh, cosh, asinh, acosh, atanh (tanh is with the activations, elementwise.h). float32 and
// float64 only (others: voxgrad::Error naming the op). Values are the C library's functions element by
// element, NaN outside an inverse's domain; PyTorch's vectorised loops use SLEEF's, which differ from these by
// up to 2 ulps, and give inf for sinh and cosh from |a| ≈ 709.78 in float64 (88.72 in float32) on, where they
// overflow only from 710.48 (89.42): finite here. Gradients are PyTorch's formulas (derivatives.yaml), evaluated in its
// order, and differentiate again.

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Sine (radians); gradient cos(a).
Tensor sin(const Tensor& a);
/// Cosine (radians); gradient −sin(a).
Tensor cos(const Tensor& a);
/// Tangent (radians); gradient 1 + tan², from the result.
Tensor tan(const Tensor& a);
/// Arcsine, in [−π/2, π/2]; NaN outside [−1, 1]. Gradient 1 / √(1 − a²) (inf at ±1, NaN outside).
Tensor asin(const Tensor& a);
/// Arccosine, in [0, π]; NaN outside [−1, 1]. Gradient −1 / √(1 − a²).
Tensor acos(const Tensor& a);
/// Arctangent, in [−π/2, π/2]; gradient 1 / (1 + a²).
Tensor atan(const Tensor& a);
/// The angle of the point (b, a), in [−π, π], broadcast (operands convert to result_type(a, b)), as
/// std::atan2 (so atan2(±0, −0) = ±π). Gradients b / (a² + b²) for a and −a / (a² + b²) for b (NaN at the
/// origin, as PyTorch's).
Tensor atan2(const Tensor& a, const Tensor& b);
/// Hyperbolic sine; gradient cosh(a).
Tensor sinh(const Tensor& a);
/// Hyperbolic cosine; gradient sinh(a).
Tensor cosh(const Tensor& a);
/// Inverse hyperbolic sine; gradient 1 / √(a² + 1).
Tensor asinh(const Tensor& a);
/// Inverse hyperbolic cosine; NaN below 1. Gradient 1 / √(a² − 1) (inf at 1).
Tensor acosh(const Tensor& a);
/// Inverse hyperbolic tangent; ±inf at ±1, NaN outside [−1, 1]. Gradient 1 / (1 − a²).
Tensor atanh(const Tensor& a);

}  // namespace voxgrad
