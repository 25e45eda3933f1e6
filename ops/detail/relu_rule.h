#pragma once
// Internal: ReLU's value and gradient, element by element: the one rule that relu, relu_ (in place),
// relu_backward and the fused GroupNorm-ReLU kernels all apply, so that their bits agree. Always
// inlined: the normalisation loops are compiled once per instruction set (norm_loops.h), and an
// out-of-line copy compiled for AVX-512 could be the one the linker keeps for every caller
// (ops.isa_objects_share_no_symbols).

#include <cmath>

namespace voxgrad::detail {

/// relu(p): p where p > 0 or NaN, else +0 (as PyTorch: NaN passes, −0 becomes +0).
template <typename T>
[[gnu::always_inline]] inline T relu_value(T p) {
  return p > T(0) || std::isnan(p) ? p : T(0);
}

/// The gradient g through ReLU at y (its output, or its input: both are <= 0 at the same places):
/// 0 where y <= 0, selected rather than multiplied (an inf/NaN gradient there becomes 0); g elsewhere,
/// NaN y included (PyTorch's threshold_backward).
template <typename T>
[[gnu::always_inline]] inline T relu_grad(T y, T g) {
  return y <= T(0) ? T(0) : g;
}

}  // namespace voxgrad::detail
