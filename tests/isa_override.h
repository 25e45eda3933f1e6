#pragma once
// Tests: run the kernels of one instruction set in this process (core/detail/cpu.h's override).

#include <optional>
#include <vector>

#include <voxgrad/voxgrad.h>

#include "voxgrad/core/detail/cpu.h"

namespace voxgrad::testing {

/// Runs the kernels of `isa` (capped by what the CPU supports) until it goes out of scope.
class IsaOverride {
 public:
  explicit IsaOverride(CpuIsa isa) : old_(detail::set_isa_override(isa)) {}
  ~IsaOverride() { detail::set_isa_override(old_); }
  IsaOverride(const IsaOverride&) = delete;
  IsaOverride& operator=(const IsaOverride&) = delete;

 private:
  std::optional<CpuIsa> old_;
};

/// The instruction sets this CPU runs, narrowest first.
inline std::vector<CpuIsa> runnable_isas() {
  std::vector<CpuIsa> isas;
  for (CpuIsa isa : {CpuIsa::baseline, CpuIsa::avx2, CpuIsa::avx512}) {
    if (isa <= cpu_isa_supported()) isas.push_back(isa);
  }
  return isas;
}

}  // namespace voxgrad::testing
