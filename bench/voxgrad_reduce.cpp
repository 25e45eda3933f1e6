// REDUCE/…: sums and maxima over the dims a model reduces, and softmax over channels and rows: everything (a loss), the
// channels of a volume batch (a bias gradient, batch statistics), the spatial dims per channel (Dice's sums), dim 0 and
// the last dim of a matrix (a linear layer's bias gradient, a row-wise loss). float32, 2 Mi or 8 Mi elements.

#include <voxgrad/voxgrad.h>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

using namespace voxgrad;

template <typename F>
void reduction(benchmark::State& state, Shape shape, F f) {
  manual_seed(0);
  NoGradGuard no_grad;
  const Tensor x = rand(shape);
  for (auto _ : state) benchmark::DoNotOptimize(f(x).raw_data_ptr());
}

void add(const char* name, Shape shape, Tensor (*f)(const Tensor&)) {
  benchmark::RegisterBenchmark(name, [shape, f](benchmark::State& s) {
    reduction(s, shape, f);
  })->Unit(benchmark::kMillisecond);
}

}  // namespace

void register_voxgrad_reduce() {
  add("REDUCE/sum_all_2M/voxgrad", {2, 32, 32, 32, 32}, [](const Tensor& x) { return x.sum(); });
  add("REDUCE/sum_channels_2M/voxgrad", {2, 32, 32, 32, 32}, [](const Tensor& x) { return x.sum({0, 2, 3, 4}); });
  add("REDUCE/sum_spatial_2M/voxgrad", {2, 4, 64, 64, 64}, [](const Tensor& x) { return x.sum({2, 3, 4}); });
  add("REDUCE/sum_dim0_8M/voxgrad", {4096, 2048}, [](const Tensor& x) { return x.sum({0}); });
  add("REDUCE/sum_last_dim_8M/voxgrad", {4096, 2048}, [](const Tensor& x) { return x.sum({1}); });
  add("REDUCE/amax_dim0_8M/voxgrad", {4096, 2048}, [](const Tensor& x) { return x.amax({0}); });
  add("REDUCE/max_dim0_8M/voxgrad", {4096, 2048}, [](const Tensor& x) { return std::get<0>(x.max(0)); });
  add("REDUCE/argmax_channels_2M/voxgrad", {2, 4, 64, 64, 64}, [](const Tensor& x) { return x.argmax(1); });
  add("REDUCE/softmax_channels_2M/voxgrad", {2, 4, 64, 64, 64}, [](const Tensor& x) { return softmax(x, 1); });
  add("REDUCE/log_softmax_last_dim_8M/voxgrad", {4096, 2048}, [](const Tensor& x) { return log_softmax(x, 1); });
}

}  // namespace voxgrad_bench
