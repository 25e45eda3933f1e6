// voxgrad side of the two whole-model benchmarks (see bench_common.h: AE and CHAIN).

#include <memory>

#include <voxgrad/voxgrad.h>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

using namespace voxgrad;

std::shared_ptr<nn::SequentialImpl> autoencoder() {
  using nn::Conv3dOptions;
  using nn::ConvTranspose3dOptions;
  auto relu = [] { return std::make_shared<nn::ReLUImpl>(); };
  return std::make_shared<nn::SequentialImpl>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv3dImpl>(Conv3dOptions(1, 16, 3).padding(1)), relu(),
      std::make_shared<nn::Conv3dImpl>(Conv3dOptions(16, 32, 3).stride(2).padding(1)), relu(),
      std::make_shared<nn::Conv3dImpl>(Conv3dOptions(32, 64, 3).stride(2).padding(1)), relu(),
      std::make_shared<nn::ConvTranspose3dImpl>(ConvTranspose3dOptions(64, 32, 2).stride(2)), relu(),
      std::make_shared<nn::ConvTranspose3dImpl>(ConvTranspose3dOptions(32, 16, 2).stride(2)), relu(),
      std::make_shared<nn::Conv3dImpl>(Conv3dOptions(16, 1, 3).padding(1))});
}

void autoencoder_step(benchmark::State& state, BenchState& bs) {
  manual_seed(0);
  auto model = autoencoder();
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(1e-3));
  const Tensor x = rand({kAutoencoderBatch, 1, kAutoencoderSize, kAutoencoderSize, kAutoencoderSize});
  auto step = [&] {
    optimizer.zero_grad();
    const Tensor loss = nn::functional::mse_loss(model->forward(x), x);
    loss.backward();
    optimizer.step();
  };
  run_model(state, bs, step);
}

void chain(benchmark::State& state, BenchState& bs) {
  const Tensor x = full({kChainElements}, 1.0, dtype(kFloat32).requires_grad(true));
  const Tensor c = full({kChainElements}, 1.0 / 1024, kFloat32);
  auto step = [&] {
    Tensor y = x;
    for (int i = 0; i < kChainOps; ++i) y = i % 2 == 0 ? y * c : y + c;
    y.sum().backward();
    x.set_grad({});
  };
  run_model(state, bs, step, kChainOps);
}

}  // namespace

void register_voxgrad_models() {
  auto* ae = new BenchState();
  ae->before_memory_probe = [] { empty_cache(); };
  configure_model(
      benchmark::RegisterBenchmark("AE/step/voxgrad", [ae](benchmark::State& s) { autoencoder_step(s, *ae); }));
  auto* ch = new BenchState();
  ch->before_memory_probe = [] { empty_cache(); };
  configure_model(benchmark::RegisterBenchmark("CHAIN/fwdbwd/voxgrad", [ch](benchmark::State& s) { chain(s, *ch); }));
}

}  // namespace voxgrad_bench
