// NORM/…: GroupNorm+ReLU on the U-Net step's 64³ layer (N 2, 16 channels, 4 groups) and on
// train_unet's 32³ layer (N 4, 8 channels, 4 groups), forward and backward timed apart, each with its tensors left in
// the caches by the previous call ("cache") or with 256 MiB written between calls so that they come from memory
// ("memory"), as in the U-Net step.

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

// A GroupNorm+ReLU input: N × C × S³, 4 groups.
struct NormShape {
  const char* name;
  std::int64_t N, C, S;
};

void group_norm_relu(benchmark::State& state, const NormShape& shape, bool backward, bool from_memory) {
  manual_seed(0);
  const auto grad = dtype(kFloat32).requires_grad(true);
  const Shape sizes{shape.N, shape.C, shape.S, shape.S, shape.S};
  const Tensor x = randn(sizes, grad), w = rand({shape.C}, grad), b = rand({shape.C}, grad);
  const Tensor gy = randn(sizes);
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
  for (const NormShape shape : {NormShape{"64", 2, 16, 64}, NormShape{"32", 4, 8, 32}}) {
    for (const bool backward : {false, true}) {
      for (const bool memory : {false, true}) {
        const std::string name = std::string("NORM/group_norm_relu_") + shape.name + "/" +
                                 (backward ? "backward" : "forward") + "/" + (memory ? "memory" : "cache") + "/voxgrad";
        benchmark::RegisterBenchmark(
            name.c_str(),
            [shape, backward, memory](benchmark::State& s) { group_norm_relu(s, shape, backward, memory); })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace voxgrad_bench
