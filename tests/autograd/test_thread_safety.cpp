// Several user threads at once: independent training runs give exactly the results they give one
// after the other, grad mode is per thread, and concurrent backward passes into one leaf add up.

#include <latch>
#include <mutex>
#include <thread>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

#include "unet3d/unet.h"
#include "unet3d/volumes.h"

namespace voxgrad {
namespace {

namespace F = nn::functional;
using testing::expect_same_run;
using testing::TrainingRun;

// --- AccumulateGrad ---------------------------------------------------------------------------------

TEST(ThreadSafety, ConcurrentBackwardIntoTheSameLeafAddsEveryGradient) {
  // Two threads record their own graphs on one shared leaf and run backward at the same time, many
  // times: every pass adds its whole gradient (small integers, so every sum is exact in any order).
  // Thread 0 adds 1 per pass, thread 1 adds 2 (through x * c, whose gradient for x is c). Both ways
  // AccumulateGrad adds are covered: in place into grad() (plain backward), and out of place, which
  // replaces grad() with a new tensor (create_graph; without the accumulator's lock this loses
  // updates on almost every run).
  constexpr int kPasses = 400;
  constexpr std::int64_t kSize = 4096;
  for (const bool create_graph : {false, true}) {
    for (DType dt : {kFloat64, kFloat32}) {
      Tensor x = zeros({kSize}, dt).requires_grad_();
      std::latch start(2);
      auto work = [&](double c) {
        const Tensor factor = full({kSize}, c, dt);
        start.arrive_and_wait();
        for (int i = 0; i < kPasses; ++i) {
          (x * factor).sum().backward({}, std::nullopt, create_graph);
        }
      };
      std::thread t0(work, 1.0), t1(work, 2.0);
      t0.join();
      t1.join();
      ASSERT_TRUE(x.grad().defined());
      const std::vector<double> g = testing::values(x.grad());
      std::int64_t wrong = 0;
      for (double v : g) wrong += v != 3.0 * kPasses;
      EXPECT_EQ(wrong, 0) << dtype_name(dt) << (create_graph ? ", create_graph" : "") << ": " << wrong << " of "
                          << kSize << " elements lost an update (first " << g[0] << ", expected " << 3.0 * kPasses
                          << ")";
      x.set_grad({});
    }
  }
}

TEST(ThreadSafety, ConcurrentAutogradGradOnASharedLeafLeavesItsGradAlone) {
  // autograd::grad from two threads on one leaf: each gets its own exact result, grad() untouched.
  Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  std::latch start(2);
  bool ok[2] = {true, true};
  auto work = [&](int t) {
    start.arrive_and_wait();
    for (int i = 0; i < 300; ++i) {
      // d/dx sum(x^2 * (t + 1)) = 2x(t + 1).
      const Tensor g = autograd::grad({(x * x * (t + 1.0)).sum()}, {x})[0];
      const std::vector<double> v = testing::values(g);
      ok[t] = ok[t] && v == std::vector<double>{2.0 * (t + 1), 4.0 * (t + 1), 6.0 * (t + 1)};
    }
  };
  std::thread t0(work, 0), t1(work, 1);
  t0.join();
  t1.join();
  EXPECT_TRUE(ok[0]);
  EXPECT_TRUE(ok[1]);
  EXPECT_FALSE(x.grad().defined());
}

// --- grad mode ----------------------------------------------------------------------------------------

TEST(ThreadSafety, GradModeIsThreadLocalInBothDirectionsWhileBothThreadsRun) {
  // Each thread holds the opposite mode while the other records: neither sees the other's guard.
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  std::latch both_set(2), both_checked(2);
  bool worker_enabled = true, worker_records = true;
  std::thread worker([&] {
    NoGradGuard no_grad;  // off here ...
    both_set.arrive_and_wait();
    worker_enabled = GradMode::is_enabled();
    worker_records = (x * 2.0).requires_grad();
    both_checked.arrive_and_wait();
  });
  AutoGradMode on(true);  // ... on here
  both_set.arrive_and_wait();
  EXPECT_TRUE(GradMode::is_enabled());
  Tensor y = x * 2.0;
  EXPECT_TRUE(y.requires_grad());
  ASSERT_NE(y.grad_fn(), nullptr);
  both_checked.arrive_and_wait();
  worker.join();
  EXPECT_FALSE(worker_enabled);
  EXPECT_FALSE(worker_records);
  EXPECT_TRUE(GradMode::is_enabled());
}

// --- two training runs at once ----------------------------------------------------------------------

// The global generator (manual_seed, randn, nn::init) is process-wide and not synchronised, so the
// part of a run that draws from it (building the model and its data) holds this lock; training
// itself runs concurrently.
std::mutex generator_mutex;

/// Conv3d → ReLU → strided Conv3d → ReLU → ConvTranspose3d → Flatten → Linear, regressing 3 numbers
/// per volume with Adam.
TrainingRun train_conv_regressor(std::uint64_t seed, int steps) {
  std::shared_ptr<nn::SequentialImpl> model;
  Tensor x, target;
  {
    std::lock_guard<std::mutex> lock(generator_mutex);
    manual_seed(seed);
    model = std::make_shared<nn::SequentialImpl>(std::vector<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2, 6, 3).padding(1)),
        std::make_shared<nn::ReLUImpl>(),
        std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(6, 8, 3).stride(2).padding(1)),
        std::make_shared<nn::ReLUImpl>(),
        std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(8, 4, 2).stride(2)),
        std::make_shared<nn::FlattenImpl>(),
        std::make_shared<nn::LinearImpl>(4 * 10 * 10 * 10, 3),
    });
    x = randn({4, 2, 10, 10, 10});
    target = randn({4, 3});
  }
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
  TrainingRun run;
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    const Tensor loss = F::mse_loss(model->forward(x), target);
    loss.backward();
    opt.step();
    run.losses.push_back(loss.item<double>());
  }
  run.params = model->named_parameters();
  return run;
}

/// The flagship U-Net (base 4) denoising a procedurally generated batch with Adam.
TrainingRun train_unet(std::uint64_t seed, int steps) {
  std::shared_ptr<unet3d::UNet3d> model;
  {
    std::lock_guard<std::mutex> lock(generator_mutex);
    manual_seed(seed);
    model = std::make_shared<unet3d::UNet3d>(4);
  }
  optim::Adam opt(model->parameters(), optim::AdamOptions(2e-3));
  TrainingRun run;
  for (int step = 0; step < steps; ++step) {
    // make_batch draws from its own generator, so it needs no lock.
    const unet3d::Sample batch = unet3d::make_batch(seed, static_cast<std::uint64_t>(step) * 2, 2, 11, 0.15);
    opt.zero_grad();
    const Tensor loss = F::mse_loss(model->forward(batch.noisy), batch.clean);
    loss.backward();
    opt.step();
    run.losses.push_back(loss.item<double>());
  }
  run.params = model->named_parameters();
  return run;
}

TEST(ThreadSafety, TwoModelsTrainedOnTwoThreadsAtOnceMatchSequentialRunsBitwise) {
  constexpr int kSteps = 4;
  // One after the other on this thread ...
  const TrainingRun conv_seq = train_conv_regressor(21, kSteps);
  const TrainingRun unet_seq = train_unet(22, kSteps);
  // ... and both at once (each also uses the kernels' worker threads), twice over.
  for (int attempt = 0; attempt < 2; ++attempt) {
    TrainingRun conv_par, unet_par;
    std::latch start(2);
    std::thread t0([&] {
      start.arrive_and_wait();
      conv_par = train_conv_regressor(21, kSteps);
    });
    std::thread t1([&] {
      start.arrive_and_wait();
      unet_par = train_unet(22, kSteps);
    });
    t0.join();
    t1.join();
    expect_same_run(conv_seq, conv_par, "conv regressor, attempt " + std::to_string(attempt));
    expect_same_run(unet_seq, unet_par, "U-Net, attempt " + std::to_string(attempt));
  }
  // Training did something.
  EXPECT_LT(conv_seq.losses.back(), conv_seq.losses.front());
  EXPECT_NE(unet_seq.losses.back(), unet_seq.losses.front());
}

TEST(ThreadSafety, TheSameModelTypeOnTwoThreadsWithTwoSeedsMatchesSequentialRuns) {
  // Two copies of the same code path (same kernels, same column buffers) running at once.
  constexpr int kSteps = 3;
  const TrainingRun a_seq = train_unet(31, kSteps);
  const TrainingRun b_seq = train_unet(32, kSteps);
  TrainingRun a_par, b_par;
  std::latch start(2);
  std::thread t0([&] {
    start.arrive_and_wait();
    a_par = train_unet(31, kSteps);
  });
  std::thread t1([&] {
    start.arrive_and_wait();
    b_par = train_unet(32, kSteps);
  });
  t0.join();
  t1.join();
  expect_same_run(a_seq, a_par, "U-Net seed 31");
  expect_same_run(b_seq, b_par, "U-Net seed 32");
}

}  // namespace
}  // namespace voxgrad
