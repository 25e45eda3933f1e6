// libtorch side of UNET/step: the examples/unet3d model rebuilt with torch::nn (same layers, same
// order, same options; libtorch's default initialisation). Compiled only when CMake found libtorch.

#include <torch/torch.h>

#include <algorithm>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

namespace tnn = torch::nn;

tnn::Conv3d conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t pad) {
  return tnn::Conv3d(tnn::Conv3dOptions(in, out, k).stride(stride).padding(pad));
}
tnn::GroupNorm norm(std::int64_t channels) {
  return tnn::GroupNorm(tnn::GroupNormOptions(std::min<std::int64_t>(4, channels), channels));
}

/// conv 3×3×3 → GroupNorm → ReLU, twice (unet3d::ConvBlock).
struct ConvBlockImpl : tnn::Module {
  ConvBlockImpl(std::int64_t in, std::int64_t out)
      : conv1(register_module("conv1", conv(in, out, 3, 1, 1))),
        norm1(register_module("norm1", norm(out))),
        conv2(register_module("conv2", conv(out, out, 3, 1, 1))),
        norm2(register_module("norm2", norm(out))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor h = torch::relu(norm1(conv1(x)));
    return torch::relu(norm2(conv2(h)));
  }
  tnn::Conv3d conv1, conv2;
  tnn::GroupNorm norm1, norm2;
};
TORCH_MODULE(ConvBlock);

/// unet3d::UNet3d.
struct UNetImpl : tnn::Module {
  explicit UNetImpl(std::int64_t b)
      : enc1(register_module("enc1", ConvBlock(1, b))),
        down1(register_module("down1", conv(b, 2 * b, 3, 2, 1))),
        enc2(register_module("enc2", ConvBlock(2 * b, 2 * b))),
        down2(register_module("down2", conv(2 * b, 4 * b, 3, 2, 1))),
        bottleneck(register_module("bottleneck", ConvBlock(4 * b, 4 * b))),
        up2(register_module("up2",
                            tnn::ConvTranspose3d(tnn::ConvTranspose3dOptions(4 * b, 2 * b, 3).stride(2).padding(1)))),
        dec2(register_module("dec2", ConvBlock(4 * b, 2 * b))),
        up1(register_module("up1",
                            tnn::ConvTranspose3d(tnn::ConvTranspose3dOptions(2 * b, b, 3).stride(2).padding(1)))),
        dec1(register_module("dec1", ConvBlock(2 * b, b))),
        head(register_module("head", conv(b, 1, 1, 1, 0))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor e1 = enc1(x);
    const torch::Tensor e2 = enc2(torch::relu(down1(e1)));
    const torch::Tensor mid = bottleneck(torch::relu(down2(e2)));
    const torch::Tensor d2 = dec2(torch::cat({up2->forward(mid, e2.sizes()), e2}, 1));
    const torch::Tensor d1 = dec1(torch::cat({up1->forward(d2, e1.sizes()), e1}, 1));
    return x - head(d1);
  }
  ConvBlock enc1;
  tnn::Conv3d down1;
  ConvBlock enc2;
  tnn::Conv3d down2;
  ConvBlock bottleneck;
  tnn::ConvTranspose3d up2;
  ConvBlock dec2;
  tnn::ConvTranspose3d up1;
  ConvBlock dec1;
  tnn::Conv3d head;
};
TORCH_MODULE(UNet);

void unet_step(benchmark::State& state, BenchState& bs) {
  torch::manual_seed(0);
  UNet model(kUnetBase);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const torch::Tensor noisy = torch::rand({kUnetBatch, 1, kUnetSize, kUnetSize, kUnetSize});
  const torch::Tensor clean = torch::rand({kUnetBatch, 1, kUnetSize, kUnetSize, kUnetSize});
  StepPhases phases;
  auto step = [&] {
    torch::Tensor loss;
    phases.forward.push_back(time_ms([&] { loss = torch::mse_loss(model(noisy), clean); }));
    phases.backward.push_back(time_ms([&] {
      optimizer.zero_grad();  // libtorch 1.13 zero-fills the gradients here (voxgrad sets them to none)
      loss.backward();
    }));
    phases.optimizer.push_back(time_ms([&] { optimizer.step(); }));
  };
  set_unet_counters(state, run_model(state, bs, step));
  phases.set_counters(state);
}

}  // namespace

void register_torch_unet() {
  auto* st = new BenchState();
  configure_model(benchmark::RegisterBenchmark("UNET/step/libtorch", [st](benchmark::State& s) { unet_step(s, *st); }));
}

}  // namespace voxgrad_bench
