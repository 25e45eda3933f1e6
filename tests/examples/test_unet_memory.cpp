// No leaks: 500 Adam steps of a small U-Net keep the resident memory flat and the number of live
// tensors and autograd nodes constant, and destroying the model and optimizer brings both counts
// back to where they started.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "test_util.h"

#include <voxgrad/autograd/node.h>
#include <voxgrad/core/tensor_impl.h>
#include <voxgrad/voxgrad.h>

#include "unet3d/unet.h"
#include "unet3d/volumes.h"

namespace {

using namespace voxgrad;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// Resident set size of this process in KiB (/proc/self/statm: size resident shared ...; pages).
std::int64_t rss_kib() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE) / 1024;
}

struct Counts {
  std::int64_t tensors, nodes;
  bool operator==(const Counts&) const = default;
};

Counts live() { return {TensorImpl::live_count(), autograd::Node::live_count()}; }

TEST(UNetMemory, FiveHundredTrainingStepsKeepMemoryFlatAndFreeEverything) {
  constexpr int kSteps = 500, kEvery = 25, kWarmUp = 100;
  // AddressSanitizer's quarantine keeps freed blocks (up to 256 MiB by default) before reusing
  // them, so RSS grows by design there; the live counts below, and LeakSanitizer at exit, are the
  // leak checks that stay exact under it.
  constexpr bool kRssMeaningful = !kAddressSanitizer;
  // Growth allowed between step 100 and step 500. A training step here allocates and frees a few
  // MiB (activations, gradients, Adam temporaries, conv columns); glibc's heap and oneTBB's
  // per-thread buffers settle within the first 50 steps, after which we measured 12 KiB of growth
  // over 400 steps (RSS ~9.2 MiB). A leak of anything per step that matters (one 8 KiB batch or
  // activation, let alone a graph) would add >= 3 MiB over 400 steps; 2 MiB leaves room for a few
  // pages of allocator bookkeeping. Smaller leaks of tensors or nodes are caught exactly by the live
  // counts below.
  constexpr std::int64_t kMaxGrowthKiB = 2048;

  const Counts baseline = live();
  std::vector<std::pair<int, std::int64_t>> curve;
  Counts at_warm_up{}, at_end{};
  {
    manual_seed(11);
    auto model = std::make_shared<unet3d::UNet3d>(4);
    optim::Adam optimizer(model->parameters(), optim::AdamOptions(2e-3));
    curve.emplace_back(0, rss_kib());
    for (int step = 1; step <= kSteps; ++step) {
      {
        // Eight distinct batches, cycled: the data costs nothing after warm-up.
        const unet3d::Sample batch = unet3d::make_batch(3, static_cast<std::uint64_t>(step % 8) * 2, 2, 8, 0.15);
        optimizer.zero_grad();
        const Tensor loss = nn::functional::mse_loss(model->forward(batch.noisy), batch.clean);
        loss.backward();
        optimizer.step();
        ASSERT_TRUE(std::isfinite(loss.item<double>()));
      }
      if (step % kEvery == 0) curve.emplace_back(step, rss_kib());
      // Between steps the graph is gone: only parameters, their grads and Adam's state are alive.
      if (step == kWarmUp) at_warm_up = live();
      if (step == kSteps) at_end = live();
    }
    EXPECT_EQ(at_end.nodes, baseline.nodes) << "autograd nodes outlive their step";
  }
  const Counts after = live();

  std::string table = "step  RSS (KiB)\n";
  for (const auto& [step, kib] : curve) table += fmt::format("{:4d}  {:9d}\n", step, kib);
  std::cout << table;
  std::int64_t at_100 = 0, at_500 = 0;
  for (const auto& [step, kib] : curve) {
    if (step == kWarmUp) at_100 = kib;
    if (step == kSteps) at_500 = kib;
  }
  std::cout << fmt::format(
      "RSS growth from step {} to step {}: {} KiB (limit {} KiB{}); live tensors {} -> {} "
      "(step {}) -> {} (step {}) -> {} (destroyed), nodes {} -> {} -> {} -> {}\n",
      kWarmUp, kSteps, at_500 - at_100, kMaxGrowthKiB, kRssMeaningful ? "" : ", not checked under AddressSanitizer",
      baseline.tensors, at_warm_up.tensors, kWarmUp, at_end.tensors, kSteps, after.tensors, baseline.nodes,
      at_warm_up.nodes, at_end.nodes, after.nodes);

  EXPECT_EQ(at_end, at_warm_up) << "tensors or nodes accumulate from step to step";
  EXPECT_EQ(after, baseline) << "tensors or nodes outlive the model and optimizer";
  if (kRssMeaningful) {
    EXPECT_LT(at_500 - at_100, kMaxGrowthKiB) << "resident memory grows after warm-up:\n" << table;
  }
}

}  // namespace
