// NORM/…: GroupNorm+ReLU on the U-Net's 64³ layer (N 2, 16 channels, 4 groups), forward and
// backward timed apart, each with its tensors left in the caches by the previous call ("cache") or
// with 256 MiB written between calls so that they come from memory ("memory"), as in the U-Net step.

#include <chrono>
#include <string>
#include <vector>

#include <voxgrad/voxgrad.h>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

using namespace voxgrad;
namespace F = nn::functional;

// Writes a buffer larger than the last-level cache share of this VM type (bench/README), so that the
// next call's tensors come from memory.
void evict_caches() {
  static std::vector<float> buffer(std::size_t{64} << 20, 0.0f);  // 256 MiB
  for (std::size_t i = 0; i < buffer.size(); i += 16) buffer[i] += 1.0f;
}

void group_norm_relu(benchmark::State& state, bool backward, bool from_memory) {
  manual_seed(0);
  const auto grad = dtype(kFloat32).requires_grad(true);
  const Tensor x = randn({2, 16, 64, 64, 64}, grad), w = rand({16}, grad), b = rand({16}, grad);
  const Tensor gy = randn({2, 16, 64, 64, 64});
  const auto options = F::GroupNormFuncOptions(4).weight(w).bias(b);
  const auto forward = [&] { return F::group_norm_relu(x, options); };
  const auto clear_grads = [&] {
    for (const Tensor& t : {x, w, b}) t.set_grad({});
  };
  for (int i = 0; i < 3; ++i) {  // warm-up: the allocator's cache then holds every buffer
    autograd::backward({forward()}, {gy});
    clear_grads();
  }
  for (auto _ : state) {
    Tensor y;
    if (backward) y = forward();
    if (from_memory) evict_caches();
    const auto t0 = std::chrono::steady_clock::now();
    if (backward) {
      autograd::backward({y}, {gy});
    } else {
      NoGradGuard no_grad;
      y = forward();
    }
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    clear_grads();
  }
}

}  // namespace

void register_voxgrad_norm() {
  for (const bool backward : {false, true}) {
    for (const bool memory : {false, true}) {
      const std::string name = std::string("NORM/group_norm_relu_64/") + (backward ? "backward" : "forward") + "/" +
                               (memory ? "memory" : "cache") + "/voxgrad";
      benchmark::RegisterBenchmark(name.c_str(),
                                   [backward, memory](benchmark::State& s) { group_norm_relu(s, backward, memory); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace voxgrad_bench
