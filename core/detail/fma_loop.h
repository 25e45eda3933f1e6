#pragma once
// Internal: loops whose elements round as one fused multiply-add (std::fma), as ATen's vectorised
// kernels do. A build for any x86-64 CPU (VOXGRAD_NATIVE=OFF) has no FMA instruction to expand
// std::fma into, so each element becomes a libm call (Adam's update ran 3× slower than in a native
// build). FmaLoop runs the loop in a copy compiled for AVX2 + FMA where cpu_isa() allows it (the loop
// body is inlined there, std::fma then one instruction), else as plain code: the same bits either way,
// since fma rounds once whoever computes it (a NaN result's sign and payload excepted, which IEEE 754
// leaves open and which differ between libm and the instruction). The files whose loops run here are
// compiled with -ffp-contract=off, so that no other product and sum is fused in the copy alone: every
// fused operation is written as std::fma.

#include <cstdint>
#include <type_traits>

#include "voxgrad/core/cpu.h"

namespace voxgrad::detail {

#if defined(__x86_64__) && !defined(__FMA__)
#define VOXGRAD_FMA_CLONE 1
template <typename F>
__attribute__((target("avx2,fma"))) void fma_loop_clone(std::int64_t i0, std::int64_t i1, const F& body) {
  const F local = body;  // see FmaLoop::operator()
  for (std::int64_t i = i0; i < i1; ++i) local(i);
}
#endif

/// Runs loops in the copy or plainly, as decided once at construction (cpu_isa() is read there, before
/// any parallel task: it throws for an unknown VOXGRAD_MAX_ISA).
class FmaLoop {
 public:
  FmaLoop() {
#ifdef VOXGRAD_FMA_CLONE
    clone_ = cpu_isa() != CpuIsa::baseline;
#endif
  }

  /// Whether the loops run in the copy compiled for AVX2 + FMA (never in a build that has FMA itself).
  bool uses_clone() const { return clone_; }

  /// body(i) for i in [i0, i1), in order. The loop runs a copy of body: what body captured (pointers,
  /// scalars) then lies in a local that no store through the pointers can reach, so the compiler keeps
  /// it in registers and vectorises the loop without checking at run time whether the arrays overlap
  /// it (RMSprop's update ran 5× slower with those checks).
  template <typename F>
  void operator()(std::int64_t i0, std::int64_t i1, const F& body) const {
    static_assert(std::is_trivially_copyable_v<F>, "FmaLoop copies its body: capture pointers and scalars");
#ifdef VOXGRAD_FMA_CLONE
    if (clone_) return fma_loop_clone(i0, i1, body);
#endif
    const F local = body;
    for (std::int64_t i = i0; i < i1; ++i) local(i);
  }

 private:
  bool clone_ = false;
};

}  // namespace voxgrad::detail
