// nn::init: gains, fans, uniform_ and kaiming_uniform_ (in place, seeded, outside the graph).
#include <cmath>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace init = voxgrad::nn::init;
using voxgrad::testing::values;

TEST(Init, CalculateGainMatchesPyTorch) {
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Linear), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Conv3D), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Sigmoid), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::ReLU), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::SELU), 0.75);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU), std::sqrt(2.0 / (1.0 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU, 0.0), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
}

TEST(Init, FanInAndFanOutUseTheReceptiveField) {
  using Fans = std::pair<std::int64_t, std::int64_t>;
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(zeros({6, 4})), Fans(4, 6));
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(zeros({6, 4, 3, 5, 2})), Fans(4 * 30, 6 * 30));
  EXPECT_ERROR_CONTAINS(init::calculate_fan_in_and_fan_out(zeros({5})),
                        "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
}

TEST(Init, UniformFillsInPlaceWithinTheBounds) {
  manual_seed(3);
  Tensor t = zeros({1000}, kFloat64);
  Tensor r = init::uniform_(t, -2.0, 3.0);
  EXPECT_TRUE(r.is_same(t));
  double lo = 1e9, hi = -1e9, sum = 0;
  for (double v : values(t)) lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
  EXPECT_GE(lo, -2.0);
  EXPECT_LT(hi, 3.0);
  EXPECT_LT(lo, -1.9);
  EXPECT_GT(hi, 2.9);
  EXPECT_NEAR(sum / 1000.0, 0.5, 0.2);
  // Seeded: the same seed gives the same values.
  manual_seed(3);
  EXPECT_EQ(values(init::uniform_(zeros({1000}, kFloat64), -2.0, 3.0)), values(t));
  EXPECT_ERROR_CONTAINS(init::uniform_(zeros({2}, kInt64)), "uniform_: expected a float32 or float64 tensor");
}

TEST(Init, WorksOnALeafThatRequiresGradWithGradModeOn) {
  Tensor w = zeros({4, 3}).requires_grad_();
  ASSERT_TRUE(GradMode::is_enabled());
  init::kaiming_uniform_(w);
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(w.requires_grad());
  EXPECT_EQ(w.grad_fn(), nullptr);
  EXPECT_TRUE(GradMode::is_enabled());
}

TEST(Init, KaimingUniformBoundIsGainTimesSqrtThreeOverFan) {
  manual_seed(5);
  Tensor w = empty({64, 8, 3, 3});  // fan_in 72, fan_out 576
  auto max_abs = [](const Tensor& t) {
    double m = 0;
    for (double v : values(t)) m = std::max(m, std::abs(v));
    return m;
  };
  init::kaiming_uniform_(w);  // a = 0, leaky_relu: gain √2
  double bound = std::sqrt(2.0) * std::sqrt(3.0 / 72.0);
  EXPECT_LE(max_abs(w), bound * (1 + 1e-6));  // float32 rounding
  EXPECT_GT(max_abs(w), 0.99 * bound);
  init::kaiming_uniform_(w, 0.0, init::kFanOut, init::Nonlinearity::ReLU);
  bound = std::sqrt(2.0) * std::sqrt(3.0 / 576.0);
  EXPECT_LE(max_abs(w), bound * (1 + 1e-6));  // float32 rounding
  EXPECT_GT(max_abs(w), 0.99 * bound);
  init::kaiming_uniform_(w, std::sqrt(5.0));  // the conv default: 1/√fan_in
  bound = 1.0 / std::sqrt(72.0);
  EXPECT_LE(max_abs(w), bound * (1 + 1e-6));
  EXPECT_GT(max_abs(w), 0.99 * bound);
  // Nothing to do for an empty tensor (PyTorch warns and returns).
  EXPECT_NO_THROW(init::kaiming_uniform_(empty({0, 3})));
}

}  // namespace
