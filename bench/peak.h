#pragma once

#include <cstdint>
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

/// Copy bandwidth while `threads` threads each copy their own buffer of `kib_per_thread` KiB, in GB/s
/// counting the bytes read and written: median, slowest and fastest of `trials` trials (each copies at
/// least 64 MiB a thread, a small buffer several times over). With 48 MiB a thread the buffers miss
/// every L3 this project runs on (memory); with 4 MiB they fit a 32 MiB L3 (the shared L3 of a VM's
/// core complex). On a shared VM both move with the neighbours' traffic far more than the FMA peak
/// does, and so do the memory-bound cases: the figures say which spell a table was taken in.
struct BandwidthResult {
  double median_gbps = 0.0, min_gbps = 0.0, max_gbps = 0.0;
};
BandwidthResult measure_copy_bandwidth(int threads, std::int64_t kib_per_thread, int trials = 9);

}  // namespace voxgrad_bench
