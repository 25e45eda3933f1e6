// voxgrad_bench: conv3d / conv_transpose3d, forward and forward+backward, voxgrad and (when built
// with libtorch) libtorch side by side. See bench/README.md.
//
// Extra controls (besides Google Benchmark's --benchmark_* flags):
//   --threads=N  or  VOXGRAD_BENCH_THREADS=N   threads for both frameworks (default 2)
//   VOXGRAD_BENCH_PEAK_GFLOPS=X                 use X as the FMA peak instead of measuring it
//   VOXGRAD_BENCH_LARGE_ITERS=N                 timed iterations per repetition for C6/T3 (default 1)
//   VOXGRAD_BENCH_LARGE_REPS=N                  repetitions of C6/T3 (default 1; libtorch's T3 takes
//                                               tens of seconds per call with the reference BLAS)
//   VOXGRAD_BENCH_SETTLE_MS=X                   untimed calls of a benchmark's own step for X ms
//                                               before its timed loop (default 20; see settle())

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bench_common.h"
#include "peak.h"

namespace {

using namespace voxgrad_bench;

int parse_positive(const char* text, const char* what) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > 1024) {
    std::fprintf(stderr, "voxgrad_bench: %s must be a positive integer, got '%s'\n", what, text);
    std::exit(2);
  }
  return int(v);
}

// Removes --threads=N / --threads N from argv (Google Benchmark rejects unknown flags).
int take_threads_flag(int& argc, char** argv, int fallback) {
  int threads = fallback;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = parse_positive(argv[i] + 10, "--threads");
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = parse_positive(argv[++i], "--threads");
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  argv[argc] = nullptr;
  return threads;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

// Shared libraries with "blas" in their path mapped into this process: libtorch's GEMMs (its
// im2col/vol2col paths, every conv_transpose3d) go through whichever libblas.so.3 the system
// picked (reference BLAS unless OpenBLAS or BLIS is installed).
std::string loaded_blas() {
  std::ifstream f("/proc/self/maps");
  std::string line, out;
  while (std::getline(f, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (path.find("blas") != std::string::npos && out.find(path) == std::string::npos) {
      out += (out.empty() ? "" : ", ") + path;
    }
  }
  return out.empty() ? "(none)" : out;
}

// Checks the memory probe on a buffer of known size.
std::string memory_probe_selftest() {
  constexpr std::size_t bytes = std::size_t{64} << 20;
  const double mib = measure_extra_memory_mib([&] {
    std::vector<char> v(bytes);
    for (std::size_t i = 0; i < v.size(); i += 4096) v[i] = char(i);
    benchmark::DoNotOptimize(v.data());
  });
  if (mib < 0) return "unavailable (/proc/self/clear_refs not writable): mem_MiB is -1";
  char buf[160];
  std::snprintf(buf, sizeof buf, "ok (a 64 MiB test buffer measured as %.1f MiB)", mib);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  RunConfig& config = run_config();
  const char* env_threads = std::getenv("VOXGRAD_BENCH_THREADS");
  config.threads =
      take_threads_flag(argc, argv, env_threads ? parse_positive(env_threads, "VOXGRAD_BENCH_THREADS") : 2);
  if (const char* it = std::getenv("VOXGRAD_BENCH_LARGE_ITERS")) {
    config.large_iterations = parse_positive(it, "VOXGRAD_BENCH_LARGE_ITERS");
  }
  if (const char* r = std::getenv("VOXGRAD_BENCH_LARGE_REPS")) {
    config.large_repetitions = parse_positive(r, "VOXGRAD_BENCH_LARGE_REPS");
  }

  if (const char* s = std::getenv("VOXGRAD_BENCH_SETTLE_MS")) config.settle_ms = std::strtod(s, nullptr);

  voxgrad_set_threads(config.threads);
#ifdef VOXGRAD_BENCH_WITH_TORCH
  torch_set_threads(config.threads);
#endif
#ifdef VOXGRAD_BENCH_WITH_ONEDNN
  onednn_set_threads(config.threads);  // after libtorch's: both set the one libgomp's thread count
#endif

  std::string peak_text;
  if (const char* p = std::getenv("VOXGRAD_BENCH_PEAK_GFLOPS")) {
    config.peak_gflops = std::strtod(p, nullptr);
    peak_text = std::to_string(config.peak_gflops) + " GFLOP/s (given by VOXGRAD_BENCH_PEAK_GFLOPS)";
  } else {
    const PeakResult peak = measure_fma_peak(config.threads);
    config.peak_gflops = peak.gflops;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "%.1f GFLOP/s for %d threads (float32 %s FMA loop: %.1f on one thread, %.1f measured on %d "
                  "together; %d physical cores)",
                  peak.gflops, config.threads, peak.isa.c_str(), peak.one_thread_gflops, peak.measured_gflops,
                  config.threads, peak.cores);
    peak_text = buf;
  }

  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("threads", std::to_string(config.threads));
  benchmark::AddCustomContext("fma_peak", peak_text);
  benchmark::AddCustomContext("fma_peak_gflops", std::to_string(config.peak_gflops));
  {
    const BandwidthResult mem = measure_copy_bandwidth(config.threads, 48 << 10);
    const BandwidthResult l3 = measure_copy_bandwidth(config.threads, 4 << 10);
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "memory %.1f GB/s, L3 %.1f GB/s (read + write, %d threads each copying 48 MiB and 4 MiB; medians of "
                  "9, ranges %.1f-%.1f and %.1f-%.1f)",
                  mem.median_gbps, l3.median_gbps, config.threads, mem.min_gbps, mem.max_gbps, l3.min_gbps,
                  l3.max_gbps);
    benchmark::AddCustomContext("copy_bandwidth", buf);
  }
  benchmark::AddCustomContext("memory_probe", memory_probe_selftest());
  benchmark::AddCustomContext("mem_MiB",
                              "peak resident memory of one forward(+backward) call above what was resident before it "
                              "(malloc_trim, then VmHWM reset via /proc/self/clear_refs)");
  benchmark::AddCustomContext("blas_libraries", loaded_blas());
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", coretype ? coretype : "(unset)");
#ifdef VOXGRAD_BENCH_WITH_TORCH
  benchmark::AddCustomContext("libtorch", torch_info());
#else
  benchmark::AddCustomContext("libtorch",
                              "libtorch not built in (CMake did not find Torch, or VOXGRAD_BENCH_TORCH=OFF)");
#endif
#ifdef VOXGRAD_BENCH_WITH_ONEDNN
  benchmark::AddCustomContext("onednn", onednn_info());
  benchmark::AddCustomContext("onednn_spin", onednn_spin_probe());
#else
  benchmark::AddCustomContext("onednn", "oneDNN not built in (CMake did not find dnnl, or VOXGRAD_BENCH_ONEDNN=OFF)");
#endif
  const char* max_isa = std::getenv("VOXGRAD_MAX_ISA");
  benchmark::AddCustomContext("VOXGRAD_MAX_ISA", max_isa ? max_isa : "(unset)");
  benchmark::AddCustomContext("settle_ms", std::to_string(config.settle_ms));
  for (const ConvCase& c : conv_cases()) benchmark::AddCustomContext("case " + c.name, c.description);

  // Registration order = run order (without random interleaving): each case's voxgrad and
  // libtorch runs are adjacent.
  for (const ConvCase& c : conv_cases()) {
    for (bool backward : {false, true}) {
      register_voxgrad(c, backward);
#ifdef VOXGRAD_BENCH_WITH_ONEDNN
      register_onednn(c, backward);
#endif
#ifdef VOXGRAD_BENCH_WITH_TORCH
      register_torch(c, backward);
#endif
    }
  }
  for (const ConvCase& c : conv_cases()) {
    if (!c.large) register_voxgrad_maps(c);
  }
  // The U-Net step's 3×3×3 convolutions, one layer of each shape (its transposed layers up1 and up2
  // are the adjoint maps of down1 and down2).
  std::set<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>> shapes;
  for (const ConvCase& c : unet_conv_layers()) {
    if (!c.transposed && c.kernel[0] == 3 && shapes.insert({c.cin, c.cout, c.in[0], c.stride[0]}).second) {
      register_voxgrad_maps(c);
    }
  }
  register_voxgrad_models();
  register_voxgrad_norm();
  register_voxgrad_optim();
  register_voxgrad_reduce();
#ifdef VOXGRAD_BENCH_WITH_TORCH
  register_torch_models();
#endif
  register_voxgrad_unet();
#ifdef VOXGRAD_BENCH_WITH_TORCH
  register_torch_unet();
#endif

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
