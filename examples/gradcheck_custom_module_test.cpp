// How to check the gradients of your own module in your own GoogleTest tests.
#include <gtest/gtest.h>

#include <voxgrad/voxgrad.h>

using namespace voxgrad;

// A custom layer: a learned per-channel gate, y = x * sigmoid(a) + b, over (N, C, ...) input.
class ChannelGate : public nn::Module {
 public:
  explicit ChannelGate(std::int64_t channels) {
    a = register_parameter("a", randn({channels}));
    b = register_parameter("b", zeros({channels}));
  }
  Tensor forward(const Tensor& x) override {
    Shape s(static_cast<std::size_t>(x.dim()), 1);
    s[1] = x.size(1);  // broadcast the per-channel values over every other dim
    return x * a.sigmoid().reshape(s) + b.reshape(s);
  }
  Tensor a, b;
};

TEST(ChannelGate, GradientsMatchFiniteDifferences) {
  manual_seed(0);
  auto gate = std::make_shared<ChannelGate>(3);
  gate->to(kFloat64);  // gradcheck compares in float64
  const Tensor x = randn({2, 3, 4}, kFloat64).requires_grad_();
  // gradcheck perturbs every input it is given: pass the parameters too, and use them in fn.
  auto fn = [&](const std::vector<Tensor>& in) {
    gate->a = in[1];
    gate->b = in[2];
    return gate->forward(in[0]);
  };
  EXPECT_TRUE(autograd::gradcheck(fn, {x, gate->a, gate->b}));
  EXPECT_TRUE(autograd::gradgradcheck(fn, {x, gate->a, gate->b}));
}
