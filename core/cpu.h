#pragma once
// Which instruction set voxgrad's kernels use. One build serves every x86-64 CPU: the conv kernels
// and the GEMM behind them are compiled once per instruction set and picked at run time.

namespace voxgrad {

/// The instruction sets voxgrad has kernels for, from the most portable up.
enum class CpuIsa {
  baseline,  ///< x86-64 (SSE2), or any other architecture
  avx2,      ///< x86-64-v3: AVX2 + FMA (Haswell, Zen 1 and later)
  avx512,    ///< x86-64-v4: AVX-512 F/BW/CD/DQ/VL (Skylake-SP, Ice Lake, Sapphire Rapids, Zen 4 and later)
};

/// The instruction set whose kernels run: the best this CPU and OS support, capped by the environment
/// variable VOXGRAD_MAX_ISA (baseline, avx2 or avx512, any case), read once at the first call. An
/// unknown value makes every call throw voxgrad::Error naming it.
CpuIsa cpu_isa();

/// The best instruction set this CPU and OS support, ignoring VOXGRAD_MAX_ISA.
CpuIsa cpu_isa_supported();

/// "baseline", "avx2" or "avx512".
const char* to_string(CpuIsa isa);

}  // namespace voxgrad
