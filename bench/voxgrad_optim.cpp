// OPTIM/… and LERP/…: the loops that round as one fused multiply-add (core/detail/fma_loop.h), which a
// build for any x86-64 CPU (-DVOXGRAD_NATIVE=OFF) runs in a copy compiled for AVX2 + FMA: Adam's step
// over 4 Mi parameters (8 tensors of 512 Ki floats, gradients set once) and lerp of two 4 Mi tensors.

#include <voxgrad/voxgrad.h>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

using namespace voxgrad;

void adam_step(benchmark::State& state) {
  manual_seed(0);
  std::vector<Tensor> params;
  for (int i = 0; i < 8; ++i) {
    params.push_back(rand({512 * 1024}, dtype(kFloat32).requires_grad(true)));
    params.back().set_grad(rand({512 * 1024}) - 0.5);
  }
  optim::Adam optimizer(params, optim::AdamOptions(1e-3).weight_decay(1e-2));
  for (auto _ : state) optimizer.step();
}

void lerp_tensors(benchmark::State& state) {
  manual_seed(0);
  const Tensor start = rand({4 * 1024 * 1024}), end = rand({4 * 1024 * 1024});
  for (auto _ : state) benchmark::DoNotOptimize(lerp(start, end, 0.3).raw_data_ptr());
}

}  // namespace

void register_voxgrad_optim() {
  benchmark::RegisterBenchmark("OPTIM/adam_step_4M/voxgrad", adam_step)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("LERP/4M/voxgrad", lerp_tensors)->Unit(benchmark::kMillisecond);
}

}  // namespace voxgrad_bench
