#pragma once
// What the voxgrad and libtorch benchmark files share: the cases, the run configuration, the timing
// harness and the counters. Plain C++17, no framework headers: it is included by the voxgrad
// translation unit (C++20) and by the libtorch one (C++17).

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace voxgrad_bench {

using Dims = std::array<std::int64_t, 3>;

/// One convolution (or transposed convolution) shape, as listed in issue 3's benchmark section.
struct ConvCase {
  std::string name;         ///< "C1" ... "T3"
  std::string description;  ///< Human-readable shape, written into the run's context.
  bool transposed = false;  ///< conv_transpose3d instead of conv3d.
  std::int64_t n = 1, cin = 1, cout = 1;
  Dims in{};  ///< Input spatial size (D, H, W).
  Dims kernel{1, 1, 1};
  Dims stride{1, 1, 1};
  Dims padding{0, 0, 0};
  Dims output_padding{0, 0, 0};  ///< Transposed only.
  Dims dilation{1, 1, 1};
  std::int64_t groups = 1;
  bool large = false;      ///< Near a second per iteration: run a fixed, small number of iterations.
  bool input_grad = true;  ///< The backward computes the input gradient (not for a network's first layer).

  /// Output spatial size, with PyTorch's formulas.
  Dims out() const {
    Dims o{};
    for (int i = 0; i < 3; ++i) {
      o[i] = transposed
                 ? (in[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + output_padding[i] + 1
                 : (in[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i] + 1;
    }
    return o;
  }
  std::vector<std::int64_t> input_shape() const { return {n, cin, in[0], in[1], in[2]}; }
  std::vector<std::int64_t> output_shape() const {
    const Dims o = out();
    return {n, cout, o[0], o[1], o[2]};
  }
  /// conv3d: (Cout, Cin/g, kD, kH, kW); conv_transpose3d: (Cin, Cout/g, kD, kH, kW).
  std::vector<std::int64_t> weight_shape() const {
    if (transposed) return {cin, cout / groups, kernel[0], kernel[1], kernel[2]};
    return {cout, cin / groups, kernel[0], kernel[1], kernel[2]};
  }
  /// Multiply-accumulates of the forward pass:
  ///   conv3d            N·Cout·prod(out)·(Cin/g)·prod(k)
  ///   conv_transpose3d  N·Cin·prod(in)·(Cout/g)·prod(k)
  double forward_macs() const {
    const double k = double(kernel[0]) * double(kernel[1]) * double(kernel[2]);
    if (transposed) {
      return double(n) * double(cin) * double(in[0]) * double(in[1]) * double(in[2]) * double(cout / groups) * k;
    }
    const Dims o = out();
    return double(n) * double(cout) * double(o[0]) * double(o[1]) * double(o[2]) * double(cin / groups) * k;
  }
  /// 2·MACs of the forward; forward+backward (input, weight and bias gradients) counts 3× (2× without
  /// the input gradient).
  double flops(bool backward) const { return 2.0 * forward_macs() * (backward ? (input_grad ? 3.0 : 2.0) : 1.0); }
};

/// C1–C6 and T1–T3 of issue 3, in that order.
const std::vector<ConvCase>& conv_cases();

/// How the run was configured (main.cpp fills it in before registering anything).
struct RunConfig {
  int threads = 2;            ///< VOXGRAD_BENCH_THREADS, or --threads=N.
  double peak_gflops = 0.0;   ///< FMA peak of `threads` threads (measured, or VOXGRAD_BENCH_PEAK_GFLOPS).
  int large_iterations = 1;   ///< Timed iterations per repetition for the large cases (C6, T3).
  int large_repetitions = 1;  ///< Repetitions of the large cases (overrides --benchmark_repetitions).
  double settle_ms = 20.0;    ///< VOXGRAD_BENCH_SETTLE_MS: untimed calls before each timed loop (see settle()).
};
RunConfig& run_config();

// --- peak extra memory (common.cpp) ----------------------------------------------------------
// Method: malloc_trim(0) hands glibc's free memory back to the kernel, "5" written to
// /proc/self/clear_refs resets the kernel's resident high-water mark (VmHWM) to the current
// resident size (VmRSS); after one call, VmHWM − VmRSS_before is the most memory the call had
// resident beyond what was live before it (outputs, saved activations, gradients, workspaces).

/// Starts a measurement; false if the kernel does not allow resetting VmHWM.
bool memory_probe_begin(std::int64_t& baseline_kib);
/// Peak resident memory since memory_probe_begin above its baseline, in MiB.
double memory_probe_end_mib(std::int64_t baseline_kib);

/// Peak extra resident memory of one call of fn() in MiB; negative if it cannot be measured.
template <typename Fn>
double measure_extra_memory_mib(Fn&& fn) {
  std::int64_t baseline = 0;
  const bool ok = memory_probe_begin(baseline);
  fn();
  return ok ? memory_probe_end_mib(baseline) : -1.0;
}

// --- the harness -------------------------------------------------------------------------------

/// Per registered benchmark, kept across its repetitions.
struct BenchState {
  bool warmed_up = false;
  double mem_mib = -1.0;
  double step_ms = 0.0;  ///< Wall time of the memory-measured call (decides whether settle() runs).
  /// Called right before the memory-measured call: voxgrad empties its caching allocator and its
  /// per-thread workspaces there, so memory it kept from earlier calls counts as extra again.
  void (*before_memory_probe)() = nullptr;
};

/// Real time (the work runs on several threads; the CPU column is the whole process's CPU time),
/// milliseconds, and for the large cases a fixed iteration and repetition count (the others use
/// --benchmark_min_time and --benchmark_repetitions).
void configure(benchmark::internal::Benchmark* b, const ConvCase& c);

/// Sets the counters after the timed loop: GFLOP/s and %peak (from the measured iterations per
/// second of wall time) and mem_MiB.
void set_counters(benchmark::State& state, const ConvCase& c, bool backward, double iterations_per_second,
                  double mem_mib);

/// Untimed calls of this benchmark's own step right before its timed loop, for at least
/// run_config().settle_ms in total. The previous benchmark may belong to another framework whose
/// OpenMP threads (libgomp: libtorch, oneDNN) keep spinning for a few ms after their last parallel
/// region and would take a core from the first timed calls; calling this side's step until the
/// time has passed lets those threads go to sleep and warms this side's caches. Skipped for steps
/// of ≥ 100 ms (C6, T3, the U-Net), where a few ms of spinning is below the noise and the untimed
/// warm-up call right before the first timed one does the same.
template <typename Step, typename Reset>
void settle(const BenchState& bs, Step&& step, Reset&& reset) {
  if (bs.step_ms >= 100.0) return;
  const auto t0 = std::chrono::steady_clock::now();
  do {
    step();
    reset();
  } while (std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() <
           run_config().settle_ms);
}

/// Runs fn() once and returns its wall time in ms.
template <typename Fn>
double time_ms(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// The timed loop both back ends use. `step()` runs one forward (or forward+backward) and frees
/// everything it made except the leaves' gradients; `reset()` sets those gradients to none
/// (outside the timed region). Once per benchmark (not per repetition): one untimed warm-up call
/// (skipped for the large cases), then one untimed call whose peak extra memory is measured; then,
/// on every invocation (Google Benchmark calls the function once per repetition and while it sizes
/// the iteration count), settle().
template <typename Step, typename Reset>
void run(benchmark::State& state, const ConvCase& c, bool backward, BenchState& bs, Step&& step, Reset&& reset) {
  if (!bs.warmed_up) {
    reset();
    if (!c.large) {  // a large case's first call is its warm-up (seconds per call; no small caches to fill)
      step();
      reset();
    }
    if (bs.before_memory_probe) bs.before_memory_probe();
    bs.step_ms = time_ms([&] { bs.mem_mib = measure_extra_memory_mib(step); });
    reset();
    bs.warmed_up = true;
  }
  settle(bs, step, reset);
  double seconds = 0.0;  // the timed steps alone, for the counters
  for (auto _ : state) {
    if (backward) {
      state.PauseTiming();
      reset();
      state.ResumeTiming();
    }
    const auto t0 = std::chrono::steady_clock::now();
    step();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  reset();
  set_counters(state, c, backward, double(state.iterations()) / seconds, bs.mem_mib);
}

/// Benchmark name: "<case>/<fwd|fwdbwd>/<voxgrad|libtorch>" (Google Benchmark appends
/// "/iterations:N" and "/real_time"; compare.py keeps the first three parts).
inline std::string bench_name(const ConvCase& c, bool backward, const char* impl) {
  return c.name + (backward ? "/fwdbwd/" : "/fwd/") + impl;
}

// --- whole-model benchmarks (issue 5) ---------------------------------------------------------
// AE/step: one Adam training step of the reference autoencoder on a batch of 4 1×32³ volumes:
//   Conv3d(1,16,3,p1)+ReLU, Conv3d(16,32,3,s2,p1)+ReLU, Conv3d(32,64,3,s2,p1)+ReLU,
//   ConvTranspose3d(64,32,2,s2)+ReLU, ConvTranspose3d(32,16,2,s2)+ReLU, Conv3d(16,1,3,p1); MSE
//   against the input; Adam lr 1e-3.
// CHAIN/fwdbwd: autograd overhead: 10 000 alternating y = y·c and y = y + c on 16-element float32
//   tensors, then y.sum().backward(); the counter us_per_op is the time over 10 000.

constexpr std::int64_t kAutoencoderBatch = 4;
constexpr std::int64_t kAutoencoderSize = 32;
constexpr std::int64_t kChainElements = 16;
constexpr int kChainOps = 10000;

// UNET/step: one training step of the examples/unet3d model (UNet3d(base 16): ConvBlocks of
//   conv3×3×3 → GroupNorm(4) → ReLU twice, stride-2 conv downsampling, stride-2 transposed conv
//   upsampling to the skip's size, channel cat, 1×1×1 head, residual output) on a batch of 2 noisy
//   1×64³ volumes: zero_grad, MSE against a clean target, backward, Adam (lr 1e-3) step.
// UNET/convs: the same step's 15 convolutions alone (forward+backward with the step's shapes, each
//   on its own inputs): what the step's convolution work costs in isolation.
constexpr std::int64_t kUnetBatch = 2;
constexpr std::int64_t kUnetSize = 64;
constexpr std::int64_t kUnetBase = 16;

/// The convolutions of one UNET/step, named after the model's modules; enc1.conv1 computes no input
/// gradient (the input does not require one).
const std::vector<ConvCase>& unet_conv_layers();
/// Nominal FLOPs of the step's convolutions, forward+backward.
double unet_conv_flops();

/// Real time, milliseconds, --benchmark_min_time and --benchmark_repetitions as given.
void configure_model(benchmark::internal::Benchmark* b);

/// Timed loop for the whole-model benchmarks: two untimed warm-up steps and one memory-measured
/// step (once per benchmark), then step() per iteration. Counters: mem_MiB, and us_per_op when
/// ops_per_step is given (the chain). Returns the mean seconds per timed step.
template <typename Step>
double run_model(benchmark::State& state, BenchState& bs, Step&& step, int ops_per_step = 0) {
  if (!bs.warmed_up) {
    step();
    step();
    if (bs.before_memory_probe) bs.before_memory_probe();
    bs.step_ms = time_ms([&] { bs.mem_mib = measure_extra_memory_mib(step); });
    bs.warmed_up = true;
  }
  settle(bs, step, [] {});
  double seconds = 0.0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double per_iteration = seconds / double(state.iterations());
  state.counters["mem_MiB"] = bs.mem_mib;
  if (ops_per_step > 0) state.counters["us_per_op"] = per_iteration * 1e6 / ops_per_step;
  return per_iteration;
}

// --- back ends -------------------------------------------------------------------------------

/// voxgrad_conv.cpp: sets voxgrad's thread count; registers one case (forward, forward+backward).
void voxgrad_set_threads(int n);
void register_voxgrad(const ConvCase& c, bool backward);
/// "MAP/<case>/<forward|adjoint|weight>/voxgrad": a conv3d case's three maps, each timed alone.
void register_voxgrad_maps(const ConvCase& c);
/// voxgrad_models.cpp: registers AE/step/voxgrad and CHAIN/fwdbwd/voxgrad.
void register_voxgrad_models();
/// NORM/…: GroupNorm+ReLU forward and backward on the U-Net's 64³ layer, from the caches or from memory.
void register_voxgrad_norm();
/// OPTIM/*_step_4M and LERP/4M: the loops that round by FMA (voxgrad_optim.cpp).
void register_voxgrad_optim();
/// REDUCE/…: sums and maxima over the dims models reduce (voxgrad_reduce.cpp).
void register_voxgrad_reduce();

/// Plain (NCDHW, PyTorch weight layout) float32 operands of one case, for the numerics check.
struct ConvData {
  std::vector<float> x, w, b, gy;
};
/// Output and the three gradients of one forward+backward, plain layouts.
struct ConvOutputs {
  std::vector<float> y, gx, gw, gb;
};
/// voxgrad_conv.cpp: voxgrad's forward+backward of case c on d (the reference for the oneDNN check).
ConvOutputs voxgrad_compute(const ConvCase& c, const ConvData& d);

/// onednn_conv.cpp (only when CMake found oneDNN): registers "<case>/<pass>/onednn" (with the
/// reorders from/to plain NCDHW) and "<case>/<pass>/onednn_kernel" (tensors already in oneDNN's
/// preferred layouts).
void onednn_set_threads(int n);
std::string onednn_info();
/// CPU time the process spends while sleeping 20 ms right after a oneDNN call: the OpenMP spin.
std::string onednn_spin_probe();
void register_onednn(const ConvCase& c, bool backward);

/// torch_conv.cpp (only when CMake found libtorch): the same for libtorch.
void torch_set_threads(int n);
std::string torch_info();
void register_torch(const ConvCase& c, bool backward);
/// torch_models.cpp: registers AE/step/libtorch and CHAIN/fwdbwd/libtorch.
void register_torch_models();
/// unet_voxgrad.cpp / unet_torch.cpp: UNET/step/<impl> (and UNET/convs/voxgrad).
void register_voxgrad_unet();
void register_torch_unet();
/// Counters of a UNET benchmark: conv GFLOP/s and % of peak if all of the step were convolutions
/// (the profile in bench/README.md splits the step).
void set_unet_counters(benchmark::State& state, double seconds_per_step);

/// Wall time of a training step's phases, every step (warm-up ones too); counters fwd_ms, bwd_ms
/// (zero_grad + loss backward) and optim_ms hold the medians.
struct StepPhases {
  std::vector<double> forward, backward, optimizer;
  void set_counters(benchmark::State& state) const;
};

}  // namespace voxgrad_bench
