// voxgrad side of the U-Net benchmarks (see bench_common.h: UNET/step, UNET/convs): the model is
// the example's own examples/unet3d/unet.h.

#include <memory>

#include <voxgrad/voxgrad.h>

#include "bench_common.h"
#include "unet3d/unet.h"

namespace voxgrad_bench {

namespace {

using namespace voxgrad;

// recompute: whether saved GroupNorm/ReLU outputs are recomputed in backward (the default) or kept.
void unet_step(benchmark::State& state, BenchState& bs, bool recompute) {
  const autograd::RecomputeGuard mode(recompute);
  manual_seed(0);
  auto model = std::make_shared<unet3d::UNet3d>(kUnetBase);
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(1e-3));
  const Tensor noisy = rand({kUnetBatch, 1, kUnetSize, kUnetSize, kUnetSize});
  const Tensor clean = rand({kUnetBatch, 1, kUnetSize, kUnetSize, kUnetSize});
  StepPhases phases;
  auto step = [&] {
    Tensor loss;
    phases.forward.push_back(time_ms([&] { loss = nn::functional::mse_loss(model->forward(noisy), clean); }));
    phases.backward.push_back(time_ms([&] {
      optimizer.zero_grad();
      loss.backward();
    }));
    phases.optimizer.push_back(time_ms([&] { optimizer.step(); }));
  };
  set_unet_counters(state, run_model(state, bs, step));
  phases.set_counters(state);
}

// Forward+backward of each of the step's convolutions on its own random inputs.
void unet_convs(benchmark::State& state, BenchState& bs) {
  manual_seed(0);
  struct Layer {
    const ConvCase* c;
    Tensor x, w, b, gy;
  };
  std::vector<Layer> layers;
  for (const ConvCase& c : unet_conv_layers()) {
    const auto leaf = dtype(kFloat32).requires_grad(true);
    layers.push_back({&c, rand(c.input_shape(), dtype(kFloat32).requires_grad(c.input_grad)),
                      rand(c.weight_shape(), leaf), rand({c.cout}, leaf), rand(c.output_shape())});
  }
  auto step = [&] {
    for (Layer& l : layers) {
      const ConvCase& c = *l.c;
      const Tensor y =
          c.transposed ? conv_transpose3d(l.x, l.w, l.b, c.stride, c.padding, c.output_padding, c.groups, c.dilation)
                       : conv3d(l.x, l.w, l.b, c.stride, c.padding, c.dilation, c.groups);
      autograd::backward({y}, {l.gy});
      for (Tensor* t : {&l.x, &l.w, &l.b}) t->set_grad({});
    }
  };
  set_unet_counters(state, run_model(state, bs, step));
}

}  // namespace

void register_voxgrad_unet() {
  auto* st = new BenchState();
  st->before_memory_probe = [] { empty_cache(); };
  configure_model(
      benchmark::RegisterBenchmark("UNET/step/voxgrad", [st](benchmark::State& s) { unet_step(s, *st, true); }));
  auto* keep = new BenchState();
  keep->before_memory_probe = [] { empty_cache(); };
  configure_model(benchmark::RegisterBenchmark("UNET/step/voxgrad_keep_saved",
                                               [keep](benchmark::State& s) { unet_step(s, *keep, false); }));
  auto* cv = new BenchState();
  cv->before_memory_probe = [] { empty_cache(); };
  configure_model(
      benchmark::RegisterBenchmark("UNET/convs/voxgrad", [cv](benchmark::State& s) { unet_convs(s, *cv); }));
}

}  // namespace voxgrad_bench
