#pragma once
// Internal: what the kernels need to know about the CPU beyond its instruction set (cache sizes), and
// which of the kernels compiled per instruction set to run.

#include <cstdint>
#include <optional>
#include <string>

#include "voxgrad/core/cpu.h"

namespace voxgrad::detail {

/// Data cache sizes in bytes (from the OS, which reads cpuid; defaults where it does not say).
struct CacheSizes {
  std::int64_t l1d = 32 * 1024;
  std::int64_t l2 = 1024 * 1024;
};
CacheSizes cache_sizes();

/// The cap a VOXGRAD_MAX_ISA value sets: baseline, avx2 or avx512 in any case (empty: no cap);
/// anything else throws voxgrad::Error naming the value.
CpuIsa parse_max_isa(const std::string& value);

/// The kernels of the widest instruction set up to cpu_isa() that this build compiled: `avx512` or
/// `avx2` where not null (a build or architecture without them passes null), else `baseline`.
template <typename K>
const K* widest_kernels(const K* avx512, const K* avx2, const K* baseline) {
  const CpuIsa isa = cpu_isa();
  if (isa >= CpuIsa::avx512 && avx512 != nullptr) return avx512;
  if (isa >= CpuIsa::avx2 && avx2 != nullptr) return avx2;
  return baseline;
}

/// Tests: runs the kernels of `isa` (capped by what the CPU supports) instead of cpu_isa()'s choice;
/// std::nullopt restores it. Returns the previous override. Not for concurrent use with running kernels.
std::optional<CpuIsa> set_isa_override(std::optional<CpuIsa> isa);

}  // namespace voxgrad::detail
