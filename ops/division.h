#pragma once
// Division with rounding, as torch's: div with a rounding mode, floor_divide, fmod and remainder. Operands
// broadcast and convert to result_type(a, b); a double operand takes a's dtype (as a Python number does in
// torch). float32 and float64 only (others: voxgrad::Error naming the op).

#include <optional>
#include <string_view>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// a / b rounded as rounding_mode says, as torch.div(a, b, rounding_mode=...): "trunc" rounds towards zero
/// (trunc(a / b)), "floor" towards −inf (Python's //, from fmod(a, b) as torch computes it, so that
/// floor(a / b) is not off by one where a / b rounds up to an integer); std::nullopt is true division (div in
/// elementwise.h). Division by zero gives ±inf or NaN. With a rounding mode the gradient is zero, as PyTorch's.
Tensor div(const Tensor& a, const Tensor& b, std::optional<std::string_view> rounding_mode);
/// div(a, b, rounding_mode) with a number.
Tensor div(const Tensor& a, double b, std::optional<std::string_view> rounding_mode);
/// div(a, b, "floor"), as torch.floor_divide (towards −inf). Its gradient is zero, as div's with a rounding mode;
/// PyTorch 1.13 raises instead ("derivative for aten::floor_divide is not implemented").
Tensor floor_divide(const Tensor& a, const Tensor& b);
/// floor_divide with a number.
Tensor floor_divide(const Tensor& a, double b);

/// The remainder of a / b rounded towards zero, with a's sign: std::fmod, exact, as torch.fmod (NaN for b = 0 or
/// an infinite a; a itself for an infinite b). Where a / b is beyond the double range (fmod(1e308, 1e-308)), the
/// exact remainder, as PyTorch's scalar loop: its vector loop (SLEEF's fmod) gives NaN there, and so do its
/// remainder and floor quotient. Gradients: grad for a, −grad · div(a, b, "trunc") for b.
Tensor fmod(const Tensor& a, const Tensor& b);
/// fmod with a number (gradient for a only).
Tensor fmod(const Tensor& a, double b);
/// The remainder of a / b rounded towards −inf, with b's sign (Python's %), as torch.remainder: fmod(a, b), plus
/// b where that is nonzero and of the other sign (so remainder(−5, inf) = inf, as torch's). Gradients: grad
/// for a, −grad · div(a, b, "floor") for b.
Tensor remainder(const Tensor& a, const Tensor& b);
/// remainder with a number (gradient for a only).
Tensor remainder(const Tensor& a, double b);

}  // namespace voxgrad
