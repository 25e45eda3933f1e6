// The flagship U-Net: PyTorch interop (same names, same output) and a short training run.
#include "test_util.h"

#include <voxgrad/voxgrad.h>

#include "unet3d/unet.h"
#include "unet3d/volumes.h"

namespace {

using namespace voxgrad;

const std::string kDir = std::string(VOXGRAD_FIXTURE_DIR) + "/unet/";

Tensor entry(const nn::StateDict& dict, const std::string& name) {
  for (const auto& [n, t] : dict) {
    if (n == name) return t;
  }
  ADD_FAILURE() << "no entry " << name;
  return {};
}

TEST(UNet, LoadsAPyTorchStateDictAndReproducesItsOutput) {
  // generate.py built the same architecture in PyTorch (base 4, float64) and saved its state_dict:
  // a strict load proves every name and shape matches PyTorch's exactly.
  auto model = std::make_shared<unet3d::UNet3d>(4);
  model->to(kFloat64);
  model->load_state_dict(load(kDir + "model.safetensors"), /*strict=*/true);
  model->eval();
  const nn::StateDict io = load(kDir + "io.safetensors");
  const Tensor x = entry(io, "input");
  ASSERT_EQ(x.sizes(), (Shape{2, 1, 9, 10, 11}));  // odd sizes exercise output_size
  NoGradGuard no_grad;
  voxgrad::testing::expect_close(model->forward(x), entry(io, "output"), 1e-5, 1e-5);
}

TEST(UNet, RestoresAnySpatialSizeBatchedAndUnbatched) {
  auto model = std::make_shared<unet3d::UNet3d>(2);
  NoGradGuard no_grad;
  for (const Shape& s : {Shape{1, 1, 7, 9, 11}, Shape{2, 1, 8, 5, 6}, Shape{1, 1, 4, 4, 4}}) {
    EXPECT_EQ(model->forward(randn(s)).sizes(), s);
  }
}

TEST(UNet, AFewAdamStepsLowerTheDenoisingLoss) {
  manual_seed(3);
  auto model = std::make_shared<unet3d::UNet3d>(4);
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(2e-3));
  std::vector<double> losses;
  for (int step = 0; step < 30; ++step) {
    const unet3d::Sample batch = unet3d::make_batch(7, static_cast<std::uint64_t>(step) * 2, 2, 12, 0.15);
    optimizer.zero_grad();
    const Tensor loss = nn::functional::mse_loss(model->forward(batch.noisy), batch.clean);
    loss.backward();
    optimizer.step();
    losses.push_back(loss.item<double>());
  }
  const double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[27] + losses[28] + losses[29]) / 3;
  EXPECT_LT(last, 0.5 * first) << "first " << first << ", last " << last;
}

TEST(UNet, DataStreamIsReproducible) {
  const unet3d::Sample a = unet3d::make_sample(1, 5, 10, 0.1), b = unet3d::make_sample(1, 5, 10, 0.1);
  voxgrad::testing::expect_close(a.noisy, b.noisy, 0.0);
  const unet3d::Sample c = unet3d::make_sample(1, 6, 10, 0.1);
  EXPECT_GT((a.clean - c.clean).abs().sum().item<double>(), 0.0);
  // The noise has the requested standard deviation.
  const unet3d::Sample big = unet3d::make_sample(2, 0, 40, 0.2);
  EXPECT_NEAR((big.noisy - big.clean).var().item<double>(), 0.04, 0.002);
  EXPECT_NEAR(unet3d::psnr(big.noisy, big.clean), 10 * std::log10(1 / 0.04), 0.3);
}

TEST(UNet, BatchesAreTheSameVolumesOnAnyNumberOfThreads) {
  // make_batch draws its volumes on several threads: each is still volume first + i of the stream.
  const int saved = get_num_threads();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    const unet3d::Sample batch = unet3d::make_batch(4, 10, 5, 9, 0.1);
    ASSERT_EQ(batch.noisy.sizes(), (Shape{5, 1, 9, 9, 9}));
    for (std::int64_t i = 0; i < 5; ++i) {
      const unet3d::Sample one = unet3d::make_sample(4, 10 + static_cast<std::uint64_t>(i), 9, 0.1);
      voxgrad::testing::expect_close(batch.clean.select(0, i), one.clean, 0.0);
      voxgrad::testing::expect_close(batch.noisy.select(0, i), one.noisy, 0.0);
    }
  }
  set_num_threads(saved);
}

}  // namespace
