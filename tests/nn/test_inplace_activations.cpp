// inplace=true activations and dropout: same values and gradients as the out-of-place forms, the
// input overwritten and returned, PyTorch's reprs, and the leaf error.

#include <sstream>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

namespace F = nn::functional;
using testing::expect_bitwise_equal;

std::string repr(const nn::Module& m) {
  std::ostringstream s;
  s << m;
  return s.str();
}

/// The repr of the module a holder holds.
template <class Impl>
std::string repr(const nn::ModuleHolder<Impl>& holder) {
  return repr(*holder);
}

// Runs x -> linear -> act -> sum and returns (output, input grad, weight grad).
std::vector<Tensor> run(const std::function<Tensor(const Tensor&)>& act, std::uint64_t seed) {
  manual_seed(seed);
  Tensor x = randn({4, 6}, kFloat64).requires_grad_();
  Tensor w = randn({5, 6}, kFloat64).requires_grad_();
  manual_seed(seed + 1);  // the same dropout mask for both runs
  Tensor y = act(F::linear(x, w));
  (y * y).sum().backward();
  return {y.detach(), x.grad(), w.grad()};
}

// Bitwise, unless `signed_zeros_may_differ` (then equal as numbers: 0 * g may be -0 or +0).
void expect_same(const std::function<Tensor(const Tensor&)>& plain, const std::function<Tensor(const Tensor&)>& inplace,
                 const std::string& what, bool signed_zeros_may_differ = false) {
  const auto a = run(plain, 7), b = run(inplace, 7);
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(what + " #" + std::to_string(i));
    if (signed_zeros_may_differ) {
      testing::expect_close(a[i], b[i], 0.0, 0.0);
    } else {
      expect_bitwise_equal(a[i], b[i], what + " #" + std::to_string(i));
    }
  }
}

TEST(InplaceActivations, SameValuesAndGradientsAsOutOfPlace) {
  nn::ReLU relu, relu_ip(nn::ReLUOptions().inplace(true));
  expect_same([&](const Tensor& t) { return relu(t); }, [&](const Tensor& t) { return relu_ip(t); }, "ReLU");
  nn::LeakyReLU leaky(nn::LeakyReLUOptions().negative_slope(0.2));
  nn::LeakyReLU leaky_ip(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true));
  expect_same([&](const Tensor& t) { return leaky(t); }, [&](const Tensor& t) { return leaky_ip(t); }, "LeakyReLU");
  nn::Dropout drop(0.3), drop_ip(nn::DropoutOptions(0.3).inplace(true));
  expect_same([&](const Tensor& t) { return drop(t); }, [&](const Tensor& t) { return drop_ip(t); }, "Dropout");
  expect_same([](const Tensor& t) { return F::dropout(t, F::DropoutFuncOptions().p(1.0)); },
              [](const Tensor& t) { return F::dropout(t, F::DropoutFuncOptions().p(1.0).inplace(true)); }, "p=1", true);
}

TEST(InplaceActivations, EluInPlaceMatchesOutOfPlace) {
  // The in-place backward computes alpha·e^x as y + alpha from the result: equal to rounding.
  nn::ELU elu(nn::ELUOptions().alpha(0.7)), elu_ip(nn::ELUOptions().alpha(0.7).inplace(true));
  const auto a = run([&](const Tensor& t) { return elu(t); }, 7);
  const auto b = run([&](const Tensor& t) { return elu_ip(t); }, 7);
  for (std::size_t i = 0; i < a.size(); ++i) testing::expect_close(a[i], b[i], 1e-12, 1e-12);
  Tensor x = tensor({-1.0, 2.0}, kFloat64);
  EXPECT_TRUE(F::elu(x, F::ELUFuncOptions().inplace(true)).is_same(x));
  testing::expect_close(x, tensor({std::exp(-1.0) - 1.0, 2.0}, kFloat64), 0.0, 0.0);
  auto elu_fn = [](const std::vector<Tensor>& in) {
    return F::elu(in[0] * 1.0, F::ELUFuncOptions().alpha(1.3).inplace(true));
  };
  manual_seed(5);
  Tensor g = randn({3, 4}, kFloat64).requires_grad_();
  EXPECT_TRUE(autograd::gradcheck(elu_fn, {g}));
  EXPECT_TRUE(autograd::gradgradcheck(elu_fn, {g}));
  EXPECT_EQ(repr(nn::ELU(nn::ELUOptions().inplace(true))), "ELU(alpha=1.0, inplace=True)");
  Tensor h = randn({2}, kFloat64).requires_grad_();
  Tensor k = h * 1.0;
  EXPECT_ERROR_CONTAINS(F::elu(k, F::ELUFuncOptions().alpha(-0.5).inplace(true)),
                        "elu_: in-place elu with autograd needs alpha >= 0");
  EXPECT_ERROR_CONTAINS(F::elu(h, F::ELUFuncOptions().inplace(true)), "a leaf Variable that requires grad");
}

TEST(InplaceActivations, InputIsOverwrittenAndReturned) {
  Tensor x = tensor({-1.0, 2.0}, kFloat64);
  Tensor y = F::relu(x, F::ReLUFuncOptions().inplace(true));
  EXPECT_TRUE(y.is_same(x));
  testing::expect_values(x, {2}, {0.0, 2.0});
  Tensor z = tensor({-1.0, 2.0}, kFloat64);
  EXPECT_TRUE(F::leaky_relu(z, F::LeakyReLUFuncOptions().negative_slope(0.5).inplace(true)).is_same(z));
  testing::expect_values(z, {2}, {-0.5, 2.0});
}

TEST(InplaceActivations, Gradcheck) {
  manual_seed(2);
  Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  auto relu_fn = [](const std::vector<Tensor>& in) { return F::relu(in[0] * 1.0, F::ReLUFuncOptions().inplace(true)); };
  auto leaky_fn = [](const std::vector<Tensor>& in) {
    return F::leaky_relu(in[0] * 1.0, F::LeakyReLUFuncOptions().negative_slope(0.3).inplace(true));
  };
  EXPECT_TRUE(autograd::gradcheck(relu_fn, {x}));
  EXPECT_TRUE(autograd::gradgradcheck(relu_fn, {x}));
  EXPECT_TRUE(autograd::gradcheck(leaky_fn, {x}));
  EXPECT_TRUE(autograd::gradgradcheck(leaky_fn, {x}));
}

TEST(InplaceActivations, OnALeafThatRequiresGradIsAnError) {
  Tensor w = ones({2}).requires_grad_();
  nn::ReLU relu(nn::ReLUOptions(true));
  EXPECT_ERROR_CONTAINS(relu(w), "relu_: a leaf Variable that requires grad is being used in an in-place");
  nn::Dropout drop(nn::DropoutOptions(0.5).inplace(true));
  EXPECT_ERROR_CONTAINS(drop(w), "mul_: a leaf Variable");
}

TEST(InplaceActivations, ReprsMatchPyTorch) {
  EXPECT_EQ(repr(nn::ReLU(nn::ReLUOptions().inplace(true))), "ReLU(inplace=True)");
  EXPECT_EQ(repr(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true))),
            "LeakyReLU(negative_slope=0.2, inplace=True)");
  EXPECT_EQ(repr(nn::Dropout(nn::DropoutOptions(0.5).inplace(true))), "Dropout(p=0.5, inplace=True)");
}

}  // namespace
}  // namespace voxgrad
