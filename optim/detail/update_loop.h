#pragma once
// Internal: what the one-pass optimizer updates (adam_kernel.cpp, update_kernels.cpp) share: the loop
// over a parameter's elements, and options turned into template arguments, so that each combination
// is a loop of its own, with no branch, that vectorises.

#include <cmath>
#include <cstdint>

#include "voxgrad/core/detail/fma_loop.h"
#include "voxgrad/core/detail/parallel.h"

namespace voxgrad::optim::detail {

/// body(i) for every i in [0, n), in parallel tasks, each task's loop in FmaLoop (so a portable build
/// runs std::fma as one instruction where the CPU has it). body should capture by value: FmaLoop runs
/// a copy of it, whose captures the compiler then keeps in registers.
template <typename F>
void update_elements(std::int64_t n, const F& body) {
  const voxgrad::detail::FmaLoop loop;
  voxgrad::detail::parallel_for(0, n, voxgrad::detail::kElementwiseGrain,
                                [&](std::int64_t i0, std::int64_t i1) { loop(i0, i1, body); });
}

/// The gradient as every update's statements start from it: −grad with maximize, then (weight decay
/// added to the gradient) fma(param, wd, g), ATen's add(g, param, alpha = wd).
template <bool kMaximize, bool kDecay, typename T>
[[gnu::always_inline]] inline T start_grad(T grad, T param, T wd) {
  T g = kMaximize ? -grad : grad;
  if constexpr (kDecay) g = std::fma(param, wd, g);
  return g;
}

/// f.template operator()<b0, b1, …>() with the runtime flags as template arguments.
template <bool... Fixed, typename F>
void with_flags(const F& f) {
  f.template operator()<Fixed...>();
}
template <bool... Fixed, typename F, typename... Flags>
void with_flags(const F& f, bool flag, Flags... rest) {
  if (flag) return with_flags<Fixed..., true>(f, rest...);
  with_flags<Fixed..., false>(f, rest...);
}

}  // namespace voxgrad::optim::detail
