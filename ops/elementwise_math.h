#pragma once
// Element-wise math beyond arithmetic, as torch's: log1p, expm1, log2, log10, exp2, square, reciprocal,
// rsqrt, the roundings, maximum/minimum, xlogy, logaddexp/logaddexp2, nan_to_num, clamp with tensor bounds, the
// NaN/infinity masks and the logical ops (the trigonometric and hyperbolic functions are in trigonometric.h, division
// with rounding in division.h). Every one takes float32 and float64 tensors and throws voxgrad::Error naming the op for
// others (on int64, PyTorch's roundings return a copy and its masks all false).

#include <cstdint>
#include <optional>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// log(1 + a), exact near 0; gradient 1 / (1 + a).
Tensor log1p(const Tensor& a);
/// e ** a − 1, exact near 0; gradient e ** a (the result + 1).
Tensor expm1(const Tensor& a);
/// log₂ a; gradient 1 / (a · ln 2).
Tensor log2(const Tensor& a);
/// log₁₀ a; gradient 1 / (a · ln 10).
Tensor log10(const Tensor& a);
/// 2 ** a; gradient 2 ** a · ln 2, from the result.
Tensor exp2(const Tensor& a);
/// a · a, as torch.square (pow(a, 2)); gradient 2a.
Tensor square(const Tensor& a);
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
/// a rounded to `decimals` decimal places (negative: to tens, hundreds, …), halves to even, as
/// torch.round(a, decimals=d): nearbyint(a · 10^d) / 10^d, or nearbyint(a / 10^−d) · 10^−d for d < 0, with 10^d
/// in a's dtype (so float32 gives torch's float32 bits, not the decimal nearest to the exact value).
Tensor round(const Tensor& a, std::int64_t decimals);
/// a without its fractional part (towards zero).
Tensor trunc(const Tensor& a);

/// a − trunc(a), the fractional part with a's sign (NaN for ±inf), as torch.frac; gradient g.
Tensor frac(const Tensor& a);
/// a · (π/180), as torch.deg2rad (the constant rounded to a's dtype); gradient g · π/180.
Tensor deg2rad(const Tensor& a);
/// a · (180/π), as torch.rad2deg; gradient g · 180/π.
Tensor rad2deg(const Tensor& a);
/// √(a² + b²) without overflow (std::hypot), broadcast, as torch.hypot; gradients g·a/out and g·b/out (NaN
/// at a = b = 0, as PyTorch's).
Tensor hypot(const Tensor& a, const Tensor& b);
/// |a| with the sign bit of b (−0 and NaN signs count), broadcast, as torch.copysign; gradient
/// g · copysign(a, b)/a for a (0 where a = 0) and none for b (zeros, as PyTorch's).
Tensor copysign(const Tensor& a, const Tensor& b);

/// The larger of a and b, broadcast (operands convert to result_type(a, b)): NaN where either is NaN,
/// and +0 as the larger of ±0, whatever the order (IEEE 754-2019 maximum; PyTorch 1.13 returns either
/// zero, depending on its loop). The gradient goes to the larger operand, half to each where they are
/// equal (±0 included), and to both where the result is NaN, as PyTorch's.
Tensor maximum(const Tensor& a, const Tensor& b);
/// The smaller of a and b: NaN where either is NaN, −0 as the smaller of ±0; gradient as maximum's.
Tensor minimum(const Tensor& a, const Tensor& b);

/// a · log(b), broadcast (operands convert to result_type(a, b)), as torch.xlogy: 0 where a = 0 (even where b is
/// 0 or infinite), NaN where b is NaN. Gradients as PyTorch's: xlogy(grad, b) for a, 0 where a = 0 and b ≤ 0
/// (so log b where a = 0 < b); grad · a / b for b (so NaN at a = b = 0).
Tensor xlogy(const Tensor& a, const Tensor& b);
/// a · log1p(b), 0 where a = 0 unless b is NaN, broadcast, as torch.xlog1py; gradients xlog1py(g, b) (0 where
/// a = 0 and b ≤ −1) for a and g·a/(1 + b) for b.
Tensor xlog1py(const Tensor& a, const Tensor& b);

/// log(exp(a) + exp(b)) without overflow, a and b broadcast, as torch.logaddexp: equal infinities as they
/// are, else max(a, b) + log1p(exp(−|a − b|)). PyTorch 1.13 takes log(1 + exp(−|a − b|)), which loses the
/// small term where max(a, b) is near 0 (logaddexp(0, −40): 4.2e-18 here, 0 there); elsewhere the two
/// agree within an ulp or so (the C library's exp here, SLEEF's in PyTorch's vector loop). Differentiable
/// in both (g / (1 + exp(b − a)) and its mirror, PyTorch's).
Tensor logaddexp(const Tensor& a, const Tensor& b);
/// log2(2^a + 2^b), as torch.logaddexp2: max(a, b) + log1p(2^−|a − b|) / ln 2 (PyTorch 1.13 rounds
/// 1 + 2^−|a − b| first, as for logaddexp). Differentiable in both.
Tensor logaddexp2(const Tensor& a, const Tensor& b);

/// a with NaN replaced by `nan` (default 0), +inf by `posinf` and −inf by `neginf` (default the dtype's
/// largest and lowest finite values; given ones are rounded to the dtype, past float32's range to ±inf),
/// as torch.nan_to_num; an int64 tensor is copied. The gradient is g where a is finite, 0 · g elsewhere.
Tensor nan_to_num(const Tensor& a, std::optional<double> nan = std::nullopt,
                  std::optional<double> posinf = std::nullopt, std::optional<double> neginf = std::nullopt);

/// a clamped into [min, max] element by element, the three broadcast (as torch.clamp with tensor bounds; either
/// bound may be absent, not both): min(max(a, min), max), so max where min > max, and NaN where a or a given
/// bound is NaN. Gradients as PyTorch's: to a where min ≤ a ≤ max, to min where a < min < max, to max where
/// a > max or max < min (where a < min = max, none of the three gets one). The dtype is taken over the three at
/// once (a 0-d bound does not promote a tensor with dims). With double bounds: elementwise.h; the two overloads
/// make clamp(a, std::nullopt, std::nullopt) ambiguous (name the type, as std::optional<double>()).
Tensor clamp(const Tensor& a, const std::optional<Tensor>& min, const std::optional<Tensor>& max = std::nullopt);

/// Mask (1 or 0, in a's dtype, as this library's comparisons; PyTorch's is bool) of NaN elements.
/// Never requires grad.
Tensor isnan(const Tensor& a);
/// Mask of elements that are +inf or −inf.
Tensor isinf(const Tensor& a);
/// Mask of elements that are neither infinite nor NaN.
Tensor isfinite(const Tensor& a);

/// Activations beyond relu, sigmoid, tanh, gelu, silu and elu (elementwise.h), with PyTorch 1.13's values
/// (its scalar loops; its vector loops' exp and log differ in the last bits) and gradients, NaN propagating:
/// log(1 + e^(beta·a)) / beta, or a itself where beta·a > threshold; gradient e^(beta·a) / (e^(beta·a) + 1) there.
Tensor softplus(const Tensor& a, double beta = 1.0, double threshold = 20.0);
/// a clamped into [min_val, max_val] (max_val wherever min_val > max_val, as torch, which does not check them);
/// unlike clamp's, the gradient is 0 on the bounds themselves (as torch's).
Tensor hardtanh(const Tensor& a, double min_val = -1.0, double max_val = 1.0);
/// hardtanh(a, 0, 6).
Tensor relu6(const Tensor& a);
/// log(sigmoid(a)) without overflow: −(m + log(e^−m + e^(−a−m))), m = max(−a, 0), as torch's.
Tensor log_sigmoid(const Tensor& a);
/// a · tanh(log(1 + e^a)); gradient tanh(sp) + a · sigmoid(a) · (1 − tanh(sp)²), as torch's (finite for large a).
Tensor mish(const Tensor& a);
/// a · min(max(a + 3, 0), 6) / 6; gradient 0 below −3, a / 3 + ½ from −3 up to (not at) 3, 1 from 3 on.
Tensor hardswish(const Tensor& a);
/// min(max(a + 3, 0), 6) / 6; gradient 1/6 strictly between −3 and 3, else 0 (torch's 1/6 is the float32
/// constant 1.0f / 6.0f, also for float64; so is this one).
Tensor hardsigmoid(const Tensor& a);

/// Mask of a == 0 (1 or 0, a's dtype; NaN counts as true, being nonzero, as in torch). Never requires grad.
Tensor logical_not(const Tensor& a);
/// Mask of a ≠ 0 and b ≠ 0, broadcast, in result_type(a, b).
Tensor logical_and(const Tensor& a, const Tensor& b);
/// Mask of a ≠ 0 or b ≠ 0.
Tensor logical_or(const Tensor& a, const Tensor& b);
/// Mask of exactly one of a ≠ 0, b ≠ 0.
Tensor logical_xor(const Tensor& a, const Tensor& b);

}  // namespace voxgrad
