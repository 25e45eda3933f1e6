#pragma once
// Internal: loops whose elements round as one fused multiply-add (std::fma), as ATen's vectorised
// kernels do. A build for any x86-64 CPU (VOXGRAD_NATIVE=OFF) has no FMA instruction to expand
// std::fma into, so each element becomes a libm call (Adam's update ran 3× slower than in a native
// build). fma_loop runs the loop in a copy compiled for AVX2 + FMA where cpu_isa() allows it (the
// loop body is inlined there, std::fma then one instruction), else as plain code: the same bits
// either way, since fma rounds once whoever computes it. A body writes each fused operation as
// std::fma and nothing else that the compiler could contract (a product added to something): in the
// copy, -ffp-contract would fuse it, and the two paths would differ.

#include <cstdint>

#include "voxgrad/core/cpu.h"

namespace voxgrad::detail {

#if defined(__x86_64__) && !defined(__FMA__)
#define VOXGRAD_FMA_CLONE 1
template <typename F>
__attribute__((target("avx2,fma"))) void fma_loop_clone(std::int64_t i0, std::int64_t i1, F& body) {
  for (std::int64_t i = i0; i < i1; ++i) body(i);
}
#endif

/// body(i) for i in [i0, i1) in order, compiled with FMA where the build lacks it and the CPU (capped
/// by VOXGRAD_MAX_ISA) has it.
template <typename F>
void fma_loop(std::int64_t i0, std::int64_t i1, F&& body) {
#ifdef VOXGRAD_FMA_CLONE
  if (cpu_isa() != CpuIsa::baseline) return fma_loop_clone(i0, i1, body);
#endif
  for (std::int64_t i = i0; i < i1; ++i) body(i);
}

}  // namespace voxgrad::detail
