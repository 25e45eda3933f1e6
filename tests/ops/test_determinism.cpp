// Determinism: conv3d and conv_transpose3d (output and the gradients of input, weight and bias),
// and a U-Net training step, are bit-identical for 1 and 2 kernel threads and across repeated runs
// with the same manual_seed. Shapes include N = 1 and 2, stride 2, groups, and a layer large enough
// (2×16×24³ → 32 channels) that the parallel kernels split every sample into many column tiles.
// tests/ops/test_conv_reference.cpp covers smaller 12³ layers for 1 vs 2 threads as well.

#include <string>
#include <vector>

#include <fmt/format.h>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

#include "unet3d/unet.h"
#include "unet3d/volumes.h"
#include "voxgrad/ops/detail/winograd.h"

namespace voxgrad {
namespace {

using testing::expect_bitwise_equal;
using testing::expect_same_run;
using testing::TrainingRun;

using Threads = testing::ScopedThreads;

/// One conv3d or conv_transpose3d layer.
struct ConvCase {
  bool transposed = false;
  std::int64_t n = 1, cin = 1, cout = 1;
  Shape vol;  // D, H, W of the input
  std::int64_t k = 3, stride = 1, padding = 0, output_padding = 0, groups = 1, dilation = 1;

  Shape x_shape() const { return {n, cin, vol[0], vol[1], vol[2]}; }
  Shape w_shape() const { return transposed ? Shape{cin, cout / groups, k, k, k} : Shape{cout, cin / groups, k, k, k}; }
  std::string str() const {
    return fmt::format("{}(x {}, weight {}, stride {}, padding {}, output_padding {}, groups {}, dilation {})",
                       transposed ? "conv_transpose3d" : "conv3d", shape_str(x_shape()), shape_str(w_shape()), stride,
                       padding, output_padding, groups, dilation);
  }
};

/// The output and the gradients of input, weight and bias of one layer.
struct ConvResults {
  Tensor y, dx, dw, db;
};

/// Draws x, weight, bias and the output gradient after manual_seed(seed), runs the layer forward and
/// backward (through backward(), so the gradients go through AccumulateGrad as in training).
ConvResults run_conv(const ConvCase& c, DType dt, std::uint64_t seed) {
  manual_seed(seed);
  const Tensor x = randn(c.x_shape(), dt).requires_grad_();
  const Tensor w = (randn(c.w_shape(), dt) * 0.1).detach().requires_grad_();
  const Tensor b = randn({c.cout}, dt).requires_grad_();
  const Tensor y = c.transposed ? conv_transpose3d(x, w, b, c.stride, c.padding, c.output_padding, c.groups, c.dilation)
                                : conv3d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
  const Tensor gy = randn(y.sizes(), dt);
  y.backward(gy);
  return {y.detach(), x.grad(), w.grad(), b.grad()};
}

void expect_same(const ConvResults& a, const ConvResults& b, const std::string& what) {
  expect_bitwise_equal(a.y, b.y, what + ": output");
  expect_bitwise_equal(a.dx, b.dx, what + ": grad input");
  expect_bitwise_equal(a.dw, b.dw, what + ": grad weight");
  expect_bitwise_equal(a.db, b.db, what + ": grad bias");
}

ConvCase conv(std::int64_t n, std::int64_t cin, std::int64_t cout, Shape vol, std::int64_t k, std::int64_t stride,
              std::int64_t padding, std::int64_t groups = 1, std::int64_t dilation = 1) {
  ConvCase c;
  c.n = n, c.cin = cin, c.cout = cout, c.vol = std::move(vol), c.k = k, c.stride = stride, c.padding = padding;
  c.groups = groups, c.dilation = dilation;
  return c;
}

ConvCase tconv(std::int64_t n, std::int64_t cin, std::int64_t cout, Shape vol, std::int64_t k, std::int64_t stride,
               std::int64_t padding, std::int64_t output_padding, std::int64_t groups = 1) {
  ConvCase c = conv(n, cin, cout, std::move(vol), k, stride, padding, groups);
  c.transposed = true;
  c.output_padding = output_padding;
  return c;
}

/// 1 thread, 2 threads, and 2 threads again: all three bit-identical.
void check_conv_cases(const std::vector<ConvCase>& cases, const std::vector<DType>& dtypes) {
  for (const ConvCase& c : cases) {
    for (DType dt : dtypes) {
      const std::string what = c.str() + " " + std::string(dtype_name(dt));
      SCOPED_TRACE(what);
      ConvResults one, two, again;
      {
        Threads t(1);
        one = run_conv(c, dt, 77);
      }
      {
        Threads t(2);
        two = run_conv(c, dt, 77);
        again = run_conv(c, dt, 77);
      }
      expect_same(one, two, "1 vs 2 threads");
      expect_same(two, again, "two runs with the same seed");
    }
  }
}

TEST(Determinism, Conv3dIsBitIdenticalForOneAndTwoThreadsAndAcrossRuns) {
  check_conv_cases(
      {
          conv(1, 3, 5, {9, 10, 11}, 3, 1, 1),   // N = 1
          conv(2, 4, 6, {10, 10, 10}, 3, 1, 1),  // N = 2
          conv(2, 4, 6, {11, 10, 9}, 3, 2, 1),   // stride 2, odd sizes
          conv(2, 4, 6, {8, 9, 10}, 3, 1, 1, /*groups=*/2),
          conv(1, 6, 6, {8, 8, 8}, 3, 2, 1, /*groups=*/3),  // N = 1, stride 2, groups
          conv(2, 4, 4, {9, 9, 9}, 3, 1, 2, 1, /*dilation=*/2), conv(2, 8, 4, {10, 10, 10}, 1, 1, 0),  // pointwise
      },
      {kFloat32, kFloat64});
}

TEST(Determinism, ConvTranspose3dIsBitIdenticalForOneAndTwoThreadsAndAcrossRuns) {
  check_conv_cases(
      {
          tconv(1, 5, 3, {6, 7, 8}, 3, 1, 1, 0),  // N = 1
          tconv(2, 6, 4, {6, 6, 6}, 3, 1, 1, 0),  // N = 2
          tconv(2, 8, 4, {5, 6, 7}, 3, 2, 1, 1),  // stride 2 with output_padding (U-Net up)
          tconv(1, 8, 4, {6, 6, 6}, 2, 2, 0, 0),  // N = 1, kernel 2 stride 2
          tconv(2, 6, 4, {6, 7, 6}, 3, 2, 1, 0, /*groups=*/2),
      },
      {kFloat32, kFloat64});
}

TEST(Determinism, LargeConvLayersThatSplitIntoManyTilesAreBitIdentical) {
  // 2×16×24³ with 32 output channels: 432 rows × 13 824 columns per sample, cut into several column
  // tiles, so both samples and tiles are spread over the threads.
  check_conv_cases(
      {
          conv(2, 16, 32, {24, 24, 24}, 3, 1, 1),
          tconv(2, 16, 32, {24, 24, 24}, 3, 1, 1, 0),
          tconv(2, 32, 16, {12, 12, 12}, 3, 2, 1, 1),  // 12³ → 24³, as the U-Net's up path
          conv(1, 16, 32, {24, 24, 24}, 3, 1, 1),      // N = 1: all the parallelism is inside one sample
          // Stride 2 with more than one vector of output channels: the weight map's channel-vector
          // tiles, their pair groups shared among the tasks (conv3d, and conv_transpose3d's weight).
          conv(2, 16, 40, {24, 24, 32}, 3, 2, 1),
          tconv(2, 40, 16, {12, 12, 16}, 3, 2, 1, 1),
          // Pointwise, at least a vector of output channels: the weight map's chunks of the batch's
          // positions (here 9 and 3, some across a sample's end), summed in order; vectors over dY's
          // channels, then over x's (conv_transpose3d's weight: 16 → 48 in the conv3d form).
          conv(2, 64, 64, {10, 10, 41}, 1, 1, 0),
          conv(2, 20, 40, {12, 10, 11}, 1, 1, 0),
          tconv(2, 48, 16, {9, 10, 12}, 1, 1, 0, 0),
          // Winograd (kernel 3, stride 1, 16+ channels and 32 on one side): blocks of tiles over the
          // threads; odd sizes (partial tiles and steps), padding 0 and 2.
          conv(2, 64, 64, {16, 16, 16}, 3, 1, 1),
          conv(1, 20, 32, {7, 9, 21}, 3, 1, 0),
          tconv(2, 32, 20, {9, 8, 17}, 3, 1, 2, 0),
      },
      {kFloat32});
}

TEST(Determinism, LargeStrideOneLayersOffTheWinogradPathAreBitIdentical) {
  // The kernel-3 stride-1 layers above with 16+ and 32+ channels run on the Winograd path; the same
  // layers on the direct kernels, as VOXGRAD_NO_WINOGRAD runs them.
  const bool was = detail::set_winograd_enabled(false);
  check_conv_cases(
      {
          conv(2, 16, 32, {24, 24, 24}, 3, 1, 1),
          tconv(2, 16, 32, {24, 24, 24}, 3, 1, 1, 0),
          conv(1, 16, 32, {24, 24, 24}, 3, 1, 1),
          conv(2, 64, 64, {16, 16, 16}, 3, 1, 1),
      },
      {kFloat32});
  detail::set_winograd_enabled(was);
}

// --- a U-Net training step ---------------------------------------------------------------------------

/// Losses of each step and every parameter after `steps` Adam steps of the flagship U-Net (base 4,
/// batch 2, 13³ volumes), built after manual_seed(seed).
TrainingRun train_unet(std::uint64_t seed, int steps) {
  manual_seed(seed);
  auto model = std::make_shared<unet3d::UNet3d>(4);
  optim::Adam opt(model->parameters(), optim::AdamOptions(2e-3));
  TrainingRun r;
  for (int step = 0; step < steps; ++step) {
    const unet3d::Sample batch = unet3d::make_batch(seed, static_cast<std::uint64_t>(step) * 2, 2, 13, 0.15);
    opt.zero_grad();
    const Tensor loss = nn::functional::mse_loss(model->forward(batch.noisy), batch.clean);
    loss.backward();
    opt.step();
    r.losses.push_back(loss.item<double>());
  }
  r.params = model->named_parameters();
  return r;
}

TEST(Determinism, UNetTrainingStepsAreBitIdenticalForOneAndTwoThreadsAndAcrossRuns) {
  constexpr int kSteps = 3;
  TrainingRun one, two, again;
  {
    Threads t(1);
    one = train_unet(5, kSteps);
  }
  {
    Threads t(2);
    two = train_unet(5, kSteps);
    again = train_unet(5, kSteps);
  }
  expect_same_run(one, two, "1 vs 2 threads");
  expect_same_run(two, again, "two runs with the same seed");
  EXPECT_EQ(one.params.size(), 50u);  // every weight and bias of the U-Net is compared
}

}  // namespace
}  // namespace voxgrad
