#pragma once
// Special functions, as torch's (and torch.special's): erfc, erfinv, lgamma, digamma, polygamma, logit and
// sinc (xlog1py is next to xlogy in ops/elementwise_math.h). Each is differentiable, to any order where
// PyTorch's derivative is itself one of these.

#include <cstdint>
#include <optional>

#include "voxgrad/core/tensor.h"
#include "voxgrad/ops/elementwise_math.h"

namespace voxgrad {

/// The complementary error function 1 − erf(a) (std::erfc); gradient −2/√π · e^(−a²).
Tensor erfc(const Tensor& a);
/// The inverse error function on [−1, 1] (±inf at ±1, NaN outside), as ATen's: a rational first guess and two
/// Newton steps; gradient √π/2 · e^(erfinv(a)²).
Tensor erfinv(const Tensor& a);
/// log|Γ(a)| (glibc's lgamma_r, std::lgamma's reentrant form; +inf at 0 and the negative integers); gradient
/// digamma(a).
Tensor lgamma(const Tensor& a);
/// ψ(a) = Γ′(a)/Γ(a), ATen's algorithm (reflection below 0, recurrence to 10, asymptotic series): ∓inf at ±0,
/// NaN at the negative integers; gradient polygamma(1, a).
Tensor digamma(const Tensor& a);
/// The n-th derivative of digamma (n ≥ 0): digamma for n = 0, ATen's trigamma for n = 1 (its reflection below
/// 1/2, then its series for float32; float64 takes ζ(2, a) there, accurate to the last bits, where PyTorch 1.13's
/// series is off by up to about 5e-10 relative for small a), and (−1)^(n+1) n! ζ(n + 1, a) (Hurwitz zeta, Cephes'
/// Euler–Maclaurin sum, as ATen's) above; n in [0, 2^31). Where this differs from PyTorch 1.13: polygamma(n ≥ 2,
/// +inf) is 0 (PyTorch's sum gives NaN), and below −1e6 polygamma(n ≥ 2) is NaN (PyTorch sums about |a| terms,
/// which grows without bound); past n = 170, n! overflows and the result is NaN or ±inf, as PyTorch's. Gradient
/// polygamma(n + 1, a).
Tensor polygamma(std::int64_t n, const Tensor& a);
/// log(a / (1 − a)), with a clamped to [eps, 1 − eps] first when eps is given (a negative eps counts as none),
/// as torch.logit. Gradient
/// g / (a(1 − a)); without eps NaN outside [0, 1], with eps 0 outside [eps, 1 − eps] and at NaN (PyTorch's).
Tensor logit(const Tensor& a, std::optional<double> eps = std::nullopt);
/// The normalised sinc sin(πa)/(πa), 1 at 0; gradient (πa·cos(πa) − sin(πa)) / (πa²), 0 at 0.
Tensor sinc(const Tensor& a);

}  // namespace voxgrad
