#pragma once

#include <string>

namespace voxgrad_bench {

struct PeakResult {
  double gflops = 0.0;             ///< The peak used for %peak (see measure_fma_peak).
  double measured_gflops = 0.0;    ///< `threads` threads running together.
  double one_thread_gflops = 0.0;  ///< One thread.
  int cores = 0;                   ///< Physical cores (/proc/cpuinfo), or hardware threads.
  std::string isa;                 ///< "AVX-512", "AVX2+FMA" or "scalar".
};

/// float32 FMA peak of `threads` threads: best of 10 short trials, both of `threads` threads
/// together and of one thread. Since another process on one of the cores halves the first figure
/// but not the second, the peak used is max(measured, one thread × min(threads, physical cores)).
PeakResult measure_fma_peak(int threads);

}  // namespace voxgrad_bench
