// Cases, counters and the peak-memory probe shared by both back ends.

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "bench_common.h"

namespace voxgrad_bench {

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = [] {
    std::vector<ConvCase> v;
    auto conv = [&](std::string name, std::string desc, std::int64_t n, std::int64_t cin, std::int64_t cout, Dims in,
                    Dims k, Dims s, Dims p) {
      ConvCase c;
      c.name = std::move(name);
      c.description = std::move(desc);
      c.n = n;
      c.cin = cin;
      c.cout = cout;
      c.in = in;
      c.kernel = k;
      c.stride = s;
      c.padding = p;
      v.push_back(c);
      return &v.back();
    };
    conv("C1", "conv3d 2,16->32, 32^3, k3 s1 p1", 2, 16, 32, {32, 32, 32}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
    conv("C2", "conv3d 2,32->64, 32^3, k3 s2 p1", 2, 32, 64, {32, 32, 32}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1});
    conv("C3", "conv3d 2,64->64, 16^3, k3 s1 p1", 2, 64, 64, {16, 16, 16}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
    conv("C4", "conv3d 2,1->16, 64^3, k3 s1 p1", 2, 1, 16, {64, 64, 64}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
    conv("C5", "conv3d 2,64->64, 16^3, k1", 2, 64, 64, {16, 16, 16}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0});
    conv("C6", "Conv3d(16,33,(3,5,2),stride=(2,1,1),padding=(4,2,0)) on 20x16x10x50x100", 20, 16, 33, {10, 50, 100},
         {3, 5, 2}, {2, 1, 1}, {4, 2, 0})
        ->large = true;
    conv("T1", "conv_transpose3d 2,64->32, 16^3, k2 s2", 2, 64, 32, {16, 16, 16}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0})
        ->transposed = true;
    ConvCase* t2 = conv("T2", "conv_transpose3d 2,64->32, 16^3, k3 s2 p1 output_padding 1", 2, 64, 32, {16, 16, 16},
                        {3, 3, 3}, {2, 2, 2}, {1, 1, 1});
    t2->transposed = true;
    t2->output_padding = {1, 1, 1};
    ConvCase* t3 = conv("T3", "ConvTranspose3d(16,33,(3,5,2),stride=(2,1,1),padding=(0,4,2)) on 20x16x10x50x100", 20,
                        16, 33, {10, 50, 100}, {3, 5, 2}, {2, 1, 1}, {0, 4, 2});
    t3->transposed = true;
    t3->large = true;
    return v;
  }();
  return cases;
}

const std::vector<ConvCase>& unet_conv_layers() {
  static const std::vector<ConvCase> layers = [] {
    std::vector<ConvCase> v;
    const std::int64_t b = kUnetBase, s = kUnetSize;
    // name, transposed, Cin, Cout, input size, kernel, stride, padding, output_padding
    auto add = [&](const char* name, bool transposed, std::int64_t cin, std::int64_t cout, std::int64_t in,
                   std::int64_t k, std::int64_t stride, std::int64_t pad, std::int64_t out_pad) {
      ConvCase c;
      c.name = name;
      c.description = name;
      c.transposed = transposed;
      c.n = kUnetBatch;
      c.cin = cin;
      c.cout = cout;
      c.in = {in, in, in};
      c.kernel = {k, k, k};
      c.stride = {stride, stride, stride};
      c.padding = {pad, pad, pad};
      c.output_padding = {out_pad, out_pad, out_pad};
      v.push_back(c);
    };
    add("enc1.conv1", false, 1, b, s, 3, 1, 1, 0);
    v.back().input_grad = false;
    add("enc1.conv2", false, b, b, s, 3, 1, 1, 0);
    add("down1", false, b, 2 * b, s, 3, 2, 1, 0);
    add("enc2.conv1", false, 2 * b, 2 * b, s / 2, 3, 1, 1, 0);
    add("enc2.conv2", false, 2 * b, 2 * b, s / 2, 3, 1, 1, 0);
    add("down2", false, 2 * b, 4 * b, s / 2, 3, 2, 1, 0);
    add("bottleneck.conv1", false, 4 * b, 4 * b, s / 4, 3, 1, 1, 0);
    add("bottleneck.conv2", false, 4 * b, 4 * b, s / 4, 3, 1, 1, 0);
    add("up2", true, 4 * b, 2 * b, s / 4, 3, 2, 1, 1);  // output_size = e2's: 2·16 − 1 + 1 = 32
    add("dec2.conv1", false, 4 * b, 2 * b, s / 2, 3, 1, 1, 0);
    add("dec2.conv2", false, 2 * b, 2 * b, s / 2, 3, 1, 1, 0);
    add("up1", true, 2 * b, b, s / 2, 3, 2, 1, 1);
    add("dec1.conv1", false, 2 * b, b, s, 3, 1, 1, 0);
    add("dec1.conv2", false, b, b, s, 3, 1, 1, 0);
    add("head", false, b, 1, s, 1, 1, 0, 0);
    return v;
  }();
  return layers;
}

double unet_conv_flops() {
  double f = 0.0;
  for (const ConvCase& c : unet_conv_layers()) f += c.flops(true);
  return f;
}

void set_unet_counters(benchmark::State& state, double seconds_per_step) {
  const double gflops = unet_conv_flops() * 1e-9 / seconds_per_step;
  state.counters["conv_GFLOP"] = unet_conv_flops() * 1e-9;
  state.counters["conv_GFLOP/s"] = gflops;
  if (run_config().peak_gflops > 0) state.counters["conv_%peak"] = 100.0 * gflops / run_config().peak_gflops;
}

void StepPhases::set_counters(benchmark::State& state) const {
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  state.counters["fwd_ms"] = median(forward);
  state.counters["bwd_ms"] = median(backward);
  state.counters["optim_ms"] = median(optimizer);
}

RunConfig& run_config() {
  static RunConfig config;
  return config;
}

void configure(benchmark::internal::Benchmark* b, const ConvCase& c) {
  b->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
  if (c.large) b->Iterations(run_config().large_iterations)->Repetitions(run_config().large_repetitions);
}

void configure_model(benchmark::internal::Benchmark* b) {
  b->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
}

void set_counters(benchmark::State& state, const ConvCase& c, bool backward, double iterations_per_second,
                  double mem_mib) {
  const double gflops = c.flops(backward) * 1e-9 * iterations_per_second;
  state.counters["GFLOP/s"] = gflops;
  const double peak = run_config().peak_gflops;
  if (peak > 0) state.counters["%peak"] = 100.0 * gflops / peak;
  state.counters["mem_MiB"] = mem_mib;
}

// --- memory probe ------------------------------------------------------------------------------

namespace {

// VmRSS or VmHWM from /proc/self/status, in KiB (-1 if missing).
std::int64_t status_kib(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(f, line)) {
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':') {
      return std::stoll(line.substr(n + 1));
    }
  }
  return -1;
}

bool reset_high_water_mark() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return (std::fclose(f) == 0) && ok;
}

}  // namespace

bool memory_probe_begin(std::int64_t& baseline_kib) {
  malloc_trim(0);
  const bool ok = reset_high_water_mark();
  baseline_kib = status_kib("VmRSS");
  return ok && baseline_kib >= 0;
}

double memory_probe_end_mib(std::int64_t baseline_kib) {
  const std::int64_t hwm = status_kib("VmHWM");
  if (hwm < 0) return -1.0;
  return double(hwm - baseline_kib) / 1024.0;
}

}  // namespace voxgrad_bench
