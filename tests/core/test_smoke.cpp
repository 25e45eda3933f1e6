#include <gtest/gtest.h>

#include <voxgrad/voxgrad.h>

using namespace voxgrad;

TEST(Smoke, AddAndBackward) {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor y = (x * x + x).sum();
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().data_ptr<double>()[0], 3.0);
  EXPECT_DOUBLE_EQ(x.grad().data_ptr<double>()[1], 5.0);
}
