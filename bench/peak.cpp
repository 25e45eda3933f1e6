// The machine's float32 FMA peak: every thread runs a loop of independent vector FMAs (AVX-512 if
// the CPU has it, else AVX2+FMA, else scalar), started together; total FLOPs over the wall time of
// the slowest thread. Best of several short trials (other processes may share the cores).
// On the project's machine (AMD EPYC, family 25 = Zen 4) 512-bit FMAs are double-pumped: one per
// cycle per core, the same FLOPs as two 256-bit FMAs, so the AVX-512 and AVX2 loops agree.

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "peak.h"

namespace voxgrad_bench {

namespace {

// 12 independent accumulators: enough to cover FMA latency × FMA pipes (4 cycles × 2 on Zen 4/5,
// 4 × 2 on Skylake-X / Ice Lake).
constexpr int kAcc = 12;

__attribute__((target("avx512f"))) float fma_loop_avx512(std::int64_t iters) {
  __m512 acc[kAcc];
  for (int j = 0; j < kAcc; ++j) acc[j] = _mm512_set1_ps(1.0f + 0.001f * float(j));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kAcc; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kAcc; ++j) s = _mm512_add_ps(s, acc[j]);
  alignas(64) float out[16];
  _mm512_store_ps(out, s);  // (_mm512_reduce_add_ps trips GCC 12's -Wuninitialized)
  float r = 0;
  for (float v : out) r += v;
  return r;
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(std::int64_t iters) {
  __m256 acc[kAcc];
  for (int j = 0; j < kAcc; ++j) acc[j] = _mm256_set1_ps(1.0f + 0.001f * float(j));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kAcc; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  }
  alignas(32) float out[8];
  __m256 s = acc[0];
  for (int j = 1; j < kAcc; ++j) s = _mm256_add_ps(s, acc[j]);
  _mm256_store_ps(out, s);
  float r = 0;
  for (float v : out) r += v;
  return r;
}

float fma_loop_scalar(std::int64_t iters) {
  float acc[kAcc];
  for (int j = 0; j < kAcc; ++j) acc[j] = 1.0f + 0.001f * float(j);
  for (std::int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < kAcc; ++j) acc[j] = acc[j] * 0.999999f + 1e-7f;
  }
  float r = 0;
  for (float v : acc) r += v;
  return r;
}

struct Kernel {
  const char* isa;
  int lanes;
  float (*fn)(std::int64_t);
};

Kernel pick_kernel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {"AVX-512", 16, fma_loop_avx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"AVX2+FMA", 8, fma_loop_avx2};
  return {"scalar", 1, fma_loop_scalar};
}

std::atomic<float> sink{0.0f};

// Distinct (physical id, core id) pairs in /proc/cpuinfo; hardware threads if there are none.
int physical_cores() {
  std::ifstream f("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, package;
  while (std::getline(f, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (line.rfind("physical id", 0) == 0) package = value;
    if (line.rfind("core id", 0) == 0) cores.emplace(package, value);
  }
  if (!cores.empty()) return int(cores.size());
  return std::max(1, int(std::thread::hardware_concurrency()));
}

// Runs work(t) on `threads` threads started together (each spins until all are up); returns the wall
// seconds from the start until the slowest one ends.
template <typename F>
double run_together(int threads, const F& work) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      work(t);
    });
  }
  while (ready.load() != threads) {
  }
  const auto t0 = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One trial: `threads` threads each run `iters` loop iterations; returns GFLOP/s.
double trial(const Kernel& k, int threads, std::int64_t iters) {
  const double secs = run_together(threads, [&](int) { sink.store(k.fn(iters), std::memory_order_relaxed); });
  const double flops = double(threads) * double(iters) * kAcc * k.lanes * 2.0;
  return flops / secs * 1e-9;
}

}  // namespace

PeakResult measure_fma_peak(int threads) {
  const Kernel k = pick_kernel();
  // Size a trial to about 0.1 s of one thread.
  std::int64_t iters = 1 << 20;
  const double g = trial(k, 1, iters);
  const double per_iter_s = double(kAcc) * k.lanes * 2.0 / (g * 1e9);
  iters = std::max<std::int64_t>(1 << 16, std::int64_t(0.1 / per_iter_s));
  PeakResult r;
  r.isa = k.isa;
  for (int i = 0; i < 10; ++i) {
    r.one_thread_gflops = std::max(r.one_thread_gflops, trial(k, 1, iters));
    r.measured_gflops = std::max(r.measured_gflops, trial(k, threads, iters));
  }
  r.cores = physical_cores();
  r.gflops = std::max(r.measured_gflops, r.one_thread_gflops * std::min(threads, r.cores));
  return r;
}

BandwidthResult measure_copy_bandwidth(int threads, std::int64_t kib_per_thread, int trials) {
  const std::size_t bytes = std::size_t(kib_per_thread) << 10;
  const std::size_t repeats = std::max<std::size_t>(1, (std::size_t(64) << 20) / bytes);
  std::vector<std::vector<char>> src(std::size_t(threads), std::vector<char>(bytes, 1));
  std::vector<std::vector<char>> dst(std::size_t(threads), std::vector<char>(bytes, 2));  // both faulted in
  std::vector<double> gbps;
  for (int i = 0; i < trials; ++i) {
    const double secs = run_together(threads, [&](int t) {
      for (std::size_t r = 0; r < repeats; ++r)
        std::memcpy(dst[std::size_t(t)].data(), src[std::size_t(t)].data(), bytes);
    });
    gbps.push_back(2.0 * double(bytes) * double(repeats) * threads / secs * 1e-9);
  }
  std::sort(gbps.begin(), gbps.end());
  return {gbps[gbps.size() / 2], gbps.front(), gbps.back()};
}

}  // namespace voxgrad_bench
