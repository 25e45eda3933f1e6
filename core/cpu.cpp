#include "voxgrad/core/cpu.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <string>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/error.h"

namespace voxgrad {

namespace {

CpuIsa detect() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // libgcc's / compiler-rt's cpuid tables also check, through xgetbv, that the OS saves the wider
  // registers, so a feature reported here is usable.
  __builtin_cpu_init();
  // x86-64-v3 also has F16C, MOVBE and LZCNT, which every CPU with AVX2 and BMI2 has as well (and which
  // clang's __builtin_cpu_supports cannot name).
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
                  __builtin_cpu_supports("bmi2");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl");
  return v4 ? CpuIsa::avx512 : v3 ? CpuIsa::avx2 : CpuIsa::baseline;
#else
  return CpuIsa::baseline;
#endif
}

// VOXGRAD_MAX_ISA, parsed once: the cap, or the message for a value that names no ISA.
struct Cap {
  CpuIsa isa = CpuIsa::avx512;
  std::string error;
};

Cap read_cap() {
  Cap cap;
  try {
    if (const char* env = std::getenv("VOXGRAD_MAX_ISA")) cap.isa = detail::parse_max_isa(env);
  } catch (const Error& e) {
    cap.error = e.what();
  }
  return cap;
}

// -1: no override; else the CpuIsa value.
std::atomic<int> g_override{-1};

}  // namespace

CpuIsa cpu_isa_supported() {
  static const CpuIsa supported = detect();
  return supported;
}

CpuIsa cpu_isa() {
  static const Cap cap = read_cap();
  const int forced = g_override.load(std::memory_order_relaxed);
  if (forced >= 0) return std::min(static_cast<CpuIsa>(forced), cpu_isa_supported());
  VOXGRAD_CHECK(cap.error.empty(), "{}", cap.error);
  return std::min(cap.isa, cpu_isa_supported());
}

const char* to_string(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::avx512: return "avx512";
    case CpuIsa::avx2: return "avx2";
    case CpuIsa::baseline: break;
  }
  return "baseline";
}

namespace detail {

CpuIsa parse_max_isa(const std::string& value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v.empty() || v == "avx512") return CpuIsa::avx512;
  if (v == "avx2") return CpuIsa::avx2;
  VOXGRAD_CHECK(v == "baseline", "VOXGRAD_MAX_ISA: '{}' names no instruction set; expected baseline, avx2 or avx512",
                value);
  return CpuIsa::baseline;
}

CacheSizes cache_sizes() {
  static const CacheSizes sizes = [] {
    CacheSizes c;
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
    // glibc answers these from cpuid (leaf 4 on Intel, 0x8000001D on AMD); 0 or -1 when unknown.
    const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l1 >= 4096) c.l1d = l1;
    if (l2 >= 65536) c.l2 = l2;
#endif
    return c;
  }();
  return sizes;
}

std::optional<CpuIsa> set_isa_override(std::optional<CpuIsa> isa) {
  const int old = g_override.exchange(isa ? static_cast<int>(*isa) : -1);
  return old < 0 ? std::nullopt : std::optional<CpuIsa>(static_cast<CpuIsa>(old));
}

}  // namespace detail

}  // namespace voxgrad
