#pragma once

#include <optional>
#include <string_view>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// The dtype a binary op computes in, by PyTorch's rule: float64 wins over float32, except that a
/// 0-d operand does not promote a tensor with dims (float32 tensor + float64 0-d gives float32).
DType result_type(const Tensor& a, const Tensor& b);

/// a + alpha * b with NumPy broadcasting; operands convert to result_type(a, b).
Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);
/// a + value.
Tensor add(const Tensor& a, double value);
/// a - alpha * b.
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);
/// a - value.
Tensor sub(const Tensor& a, double value);
/// value - a.
Tensor rsub(const Tensor& a, double value);
/// a * b.
Tensor mul(const Tensor& a, const Tensor& b);
/// a * value.
Tensor mul(const Tensor& a, double value);
/// a / b.
Tensor div(const Tensor& a, const Tensor& b);
/// a / value.
Tensor div(const Tensor& a, double value);
/// value / a.
Tensor rdiv(const Tensor& a, double value);
/// -a.
Tensor neg(const Tensor& a);
/// a ** exponent.
Tensor pow(const Tensor& a, double exponent);
/// a ** exponent, broadcast.
Tensor pow(const Tensor& a, const Tensor& exponent);
/// base ** exponent.
Tensor pow(double base, const Tensor& exponent);
/// e ** a.
Tensor exp(const Tensor& a);
/// Natural logarithm.
Tensor log(const Tensor& a);
/// Square root.
Tensor sqrt(const Tensor& a);
/// Absolute value (gradient sign(a), 0 at 0).
Tensor abs(const Tensor& a);
/// -1, 0 or 1 with a zero gradient.
Tensor sign(const Tensor& a);
/// Clamps into [min, max]; the gradient passes where min <= a <= max.
Tensor clamp(const Tensor& a, std::optional<double> min, std::optional<double> max = std::nullopt);
/// max(a, 0).
Tensor relu(const Tensor& a);
/// a where a > 0, else negative_slope * a.
Tensor leaky_relu(const Tensor& a, double negative_slope = 0.01);
/// a = relu(a) in place (recorded by autograd; see Tensor's in-place ops); returns a.
Tensor& relu_(Tensor& a);
/// a = leaky_relu(a) in place; with autograd negative_slope must be >= 0. Returns a.
Tensor& leaky_relu_(Tensor& a, double negative_slope = 0.01);
/// 1 / (1 + e ** -a).
Tensor sigmoid(const Tensor& a);
/// Hyperbolic tangent.
Tensor tanh(const Tensor& a);
/// The error function erf(a) = 2/√π ∫₀ᵃ e^(−t²) dt; gradient 2/√π · e^(−a²).
Tensor erf(const Tensor& a);
/// GELU, as torch's gelu: a·Φ(a) with Φ the standard normal CDF, Φ(a) = (1 + erf(a/√2)) / 2, for
/// approximate "none"; for "tanh", a/2 · (1 + tanh(√(2/π)·(a + 0.044715·a³))). Any other string throws.
Tensor gelu(const Tensor& a, std::string_view approximate = "none");
/// SiLU (swish): a · sigmoid(a).
Tensor silu(const Tensor& a);
/// ELU, as torch's elu: a where a > 0, else alpha·(e^a − 1); the gradient is 1 for a > 0 and alpha·e^a
/// otherwise (alpha at 0, as PyTorch), differentiable again.
Tensor elu(const Tensor& a, double alpha = 1.0);
/// elu in place (as torch.elu_), recorded by autograd from the result: the gradient is 1 where
/// y > 0, else y + alpha (= alpha·e^x); needs alpha >= 0 under autograd (the sign of y is x's).
Tensor& elu_(Tensor& a, double alpha = 1.0);
/// Elements of a where condition is nonzero, else of b (all three broadcast).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
/// where() with a scalar for b (a 0-d tensor of a's dtype, so it never promotes a).
Tensor where(const Tensor& condition, const Tensor& a, double b);
/// where() with a scalar for a.
Tensor where(const Tensor& condition, double a, const Tensor& b);
/// where() with two scalars: a float32 tensor of condition's shape (PyTorch's default dtype).
Tensor where(const Tensor& condition, double a, double b);

/// Mask (1 where true, 0 elsewhere, in the operands' dtype) of a == b; never requires grad.
Tensor eq(const Tensor& a, const Tensor& b);
/// Mask of a != b.
Tensor ne(const Tensor& a, const Tensor& b);
/// Mask of a < b.
Tensor lt(const Tensor& a, const Tensor& b);
/// Mask of a <= b.
Tensor le(const Tensor& a, const Tensor& b);
/// Mask of a > b.
Tensor gt(const Tensor& a, const Tensor& b);
/// Mask of a >= b.
Tensor ge(const Tensor& a, const Tensor& b);
/// Mask of a == value.
Tensor eq(const Tensor& a, double value);
/// Mask of a != value.
Tensor ne(const Tensor& a, double value);
/// Mask of a < value.
Tensor lt(const Tensor& a, double value);
/// Mask of a <= value.
Tensor le(const Tensor& a, double value);
/// Mask of a > value.
Tensor gt(const Tensor& a, double value);
/// Mask of a >= value.
Tensor ge(const Tensor& a, double value);

}  // namespace voxgrad
