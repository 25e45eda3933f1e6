// libtorch side of the two whole-model benchmarks (see bench_common.h: AE and CHAIN). Compiled only
// when CMake found libtorch.

#include <torch/torch.h>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

torch::nn::Sequential autoencoder() {
  using torch::nn::Conv3dOptions;
  using torch::nn::ConvTranspose3dOptions;
  return torch::nn::Sequential(torch::nn::Conv3d(Conv3dOptions(1, 16, 3).padding(1)), torch::nn::ReLU(),
                               torch::nn::Conv3d(Conv3dOptions(16, 32, 3).stride(2).padding(1)), torch::nn::ReLU(),
                               torch::nn::Conv3d(Conv3dOptions(32, 64, 3).stride(2).padding(1)), torch::nn::ReLU(),
                               torch::nn::ConvTranspose3d(ConvTranspose3dOptions(64, 32, 2).stride(2)),
                               torch::nn::ReLU(),
                               torch::nn::ConvTranspose3d(ConvTranspose3dOptions(32, 16, 2).stride(2)),
                               torch::nn::ReLU(), torch::nn::Conv3d(Conv3dOptions(16, 1, 3).padding(1)));
}

void autoencoder_step(benchmark::State& state, BenchState& bs) {
  torch::manual_seed(0);
  auto model = autoencoder();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const torch::Tensor x = torch::rand({kAutoencoderBatch, 1, kAutoencoderSize, kAutoencoderSize, kAutoencoderSize});
  auto step = [&] {
    optimizer.zero_grad();  // libtorch 1.13 zero-fills the gradients here (voxgrad sets them to none)
    const torch::Tensor loss = torch::mse_loss(model->forward(x), x);
    loss.backward();
    optimizer.step();
  };
  run_model(state, bs, step);
}

void chain(benchmark::State& state, BenchState& bs) {
  const torch::Tensor x =
      torch::full({kChainElements}, 1.0, torch::TensorOptions().dtype(torch::kFloat32).requires_grad(true));
  const torch::Tensor c = torch::full({kChainElements}, 1.0 / 1024, torch::kFloat32);
  auto step = [&] {
    torch::Tensor y = x;
    for (int i = 0; i < kChainOps; ++i) y = i % 2 == 0 ? y * c : y + c;
    y.sum().backward();
    x.mutable_grad().reset();
  };
  run_model(state, bs, step, kChainOps);
}

}  // namespace

void register_torch_models() {
  auto* ae = new BenchState();
  configure_model(
      benchmark::RegisterBenchmark("AE/step/libtorch", [ae](benchmark::State& s) { autoencoder_step(s, *ae); }));
  auto* ch = new BenchState();
  configure_model(benchmark::RegisterBenchmark("CHAIN/fwdbwd/libtorch", [ch](benchmark::State& s) { chain(s, *ch); }));
}

}  // namespace voxgrad_bench
