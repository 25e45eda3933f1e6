// OPTIM/… and LERP/…: the loops that round as one fused multiply-add (core/detail/fma_loop.h), which a
// build for any x86-64 CPU (-DVOXGRAD_NATIVE=OFF) runs in a copy compiled for AVX2 + FMA: a step of Adam,
// SGD (Nesterov momentum), RMSprop (centred, with momentum) and Adagrad, each with weight decay, over 4 Mi
// parameters (8 tensors of 512 Ki floats, gradients set once), and lerp of two 4 Mi tensors.

#include <voxgrad/voxgrad.h>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

using namespace voxgrad;

// 8 parameters of 512 Ki floats, their gradients set once.
std::vector<Tensor> parameters() {
  manual_seed(0);
  std::vector<Tensor> params;
  for (int i = 0; i < 8; ++i) {
    params.push_back(rand({512 * 1024}, dtype(kFloat32).requires_grad(true)));
    params.back().set_grad(rand({512 * 1024}) - 0.5);
  }
  return params;
}

template <typename Optimizer, typename Options>
void optimizer_step(benchmark::State& state, const Options& options) {
  Optimizer optimizer(parameters(), options);
  for (auto _ : state) optimizer.step();
}

void lerp_tensors(benchmark::State& state) {
  manual_seed(0);
  const Tensor start = rand({4 * 1024 * 1024}), end = rand({4 * 1024 * 1024});
  for (auto _ : state) benchmark::DoNotOptimize(lerp(start, end, 0.3).raw_data_ptr());
}

}  // namespace

void register_voxgrad_optim() {
  benchmark::RegisterBenchmark("OPTIM/adam_step_4M/voxgrad", optimizer_step<optim::Adam, optim::AdamOptions>,
                               optim::AdamOptions(1e-3).weight_decay(1e-2))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("OPTIM/sgd_step_4M/voxgrad", optimizer_step<optim::SGD, optim::SGDOptions>,
                               optim::SGDOptions(1e-2).momentum(0.9).weight_decay(1e-4).nesterov(true))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("OPTIM/rmsprop_step_4M/voxgrad", optimizer_step<optim::RMSprop, optim::RMSpropOptions>,
                               optim::RMSpropOptions(1e-3).momentum(0.9).centered(true).weight_decay(1e-4))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("OPTIM/adagrad_step_4M/voxgrad", optimizer_step<optim::Adagrad, optim::AdagradOptions>,
                               optim::AdagradOptions(1e-2).weight_decay(1e-4))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("LERP/4M/voxgrad", lerp_tensors)->Unit(benchmark::kMillisecond);
}

}  // namespace voxgrad_bench
