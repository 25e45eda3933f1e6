// The example U-Net's memory options: every encoder/decoder block checkpointed, and ReLU in place.
// Each must leave the loss and every gradient unchanged (bitwise), and checkpointing must lower the
// peak memory of a training step to at most 0.6x of the plain run's (issue 15). The volume size
// defaults to 32^3 for the test suite; VOXGRAD_UNET_MEMORY_SIZE=96 gives the figures quoted in the README.

#include <cstdlib>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

#include "unet3d/unet.h"

namespace {

using namespace voxgrad;

struct Step {
  Tensor loss;
  std::vector<Tensor> grads;
  std::size_t peak_bytes;  // above what was allocated before the step
};

Step train_step(unet3d::UNetMemoryOptions memory, std::int64_t size) {
  manual_seed(3);
  auto model = std::make_shared<unet3d::UNet3d>(8, /*residual=*/true, memory);
  manual_seed(4);
  const Tensor clean = rand({1, 1, size, size, size});
  const Tensor noisy = clean + randn({1, 1, size, size, size}) * 0.1;
  empty_cache();
  const std::size_t before = allocated_bytes();
  reset_peak_allocated_bytes();
  Tensor loss = nn::functional::mse_loss(model->forward(noisy), clean);
  loss.backward();
  Step s{loss.detach(), {}, max_allocated_bytes() - before};
  for (const Tensor& p : model->parameters()) s.grads.push_back(p.grad());
  return s;
}

void expect_same_step(const Step& a, const Step& b, const char* what) {
  voxgrad::testing::expect_bitwise_equal(a.loss, b.loss, std::string(what) + " loss");
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (std::size_t i = 0; i < a.grads.size(); ++i) {
    voxgrad::testing::expect_bitwise_equal(a.grads[i], b.grads[i],
                                           std::string(what) + " gradient " + std::to_string(i));
  }
}

TEST(UNetCheckpoint, SameGradientsAndAtMostSixTenthsOfThePeakMemory) {
  const char* env = std::getenv("VOXGRAD_UNET_MEMORY_SIZE");
  const std::int64_t size = env != nullptr ? std::atoll(env) : 32;
  const Step plain = train_step({}, size);
  const Step inplace = train_step({.inplace_relu = true}, size);
  const Step ckpt = train_step({.checkpoint_blocks = true}, size);
  const Step both = train_step({.inplace_relu = true, .checkpoint_blocks = true}, size);
  expect_same_step(plain, inplace, "inplace ReLU");
  expect_same_step(plain, ckpt, "checkpointed blocks");
  expect_same_step(plain, both, "both");
  const auto mib = [](std::size_t b) { return static_cast<double>(b) / (1 << 20); };
  std::cout << fmt::format(
      "U-Net (base 8) training step at {}^3, batch 1, float32: peak memory above the model: plain {:.1f} MiB, "
      "inplace ReLU {:.1f} MiB ({:.2f}x), checkpointed blocks {:.1f} MiB ({:.2f}x), both {:.1f} MiB ({:.2f}x)\n",
      size, mib(plain.peak_bytes), mib(inplace.peak_bytes),
      static_cast<double>(inplace.peak_bytes) / static_cast<double>(plain.peak_bytes), mib(ckpt.peak_bytes),
      static_cast<double>(ckpt.peak_bytes) / static_cast<double>(plain.peak_bytes), mib(both.peak_bytes),
      static_cast<double>(both.peak_bytes) / static_cast<double>(plain.peak_bytes));
  // In-place ReLU only removes transients here (GroupNorm's output is never saved), so the peak
  // (reached in backward) does not move; it must not grow.
  EXPECT_LE(inplace.peak_bytes, plain.peak_bytes);
  // Measured 0.50x at 32^3 and at 96^3. The plain run peaks in the backward of the last ReLU: every
  // activation is still held (at full resolution, four 8-channel tensors per block and the 16-channel
  // concatenation) with two gradients. The checkpointed run peaks at that ReLU too (without in-place
  // ReLU its forward, holding the norm's output, reaches the same figure), inside the recompute of the
  // full-resolution decoder level: the segments' inputs (the skip tensors and the level below's
  // output), the incoming gradient, the four activations after conv1 and the gradient ReLU returns.
  // The concatenation is not among them: a nested segment rebuilds it for conv1's backward only
  // (unet.h). Holding it there too gave 0.63x; checkpointing the blocks alone, which also stores the
  // down-sampled tensors and the concatenations, 0.69x.
  EXPECT_LE(static_cast<double>(ckpt.peak_bytes), 0.6 * static_cast<double>(plain.peak_bytes));
  EXPECT_LE(static_cast<double>(both.peak_bytes), 0.6 * static_cast<double>(plain.peak_bytes));
}

}  // namespace
