// clip_grad_norm_ and clip_grad_value_ against torch.nn.utils (PyTorch 1.13; fixture
// tests/fixtures/optim/clip_grad.json from tests/fixtures/optim/generate.py).

#include <cmath>
#include <string>
#include <vector>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;
using nlohmann::json;

const json& fixture() {
  static const json j = load_fixture("optim/clip_grad.json");
  return j;
}

/// Leaves of the gradients' shapes whose grad() holds a copy of each gradient.
std::vector<Tensor> with_grads(const std::vector<Tensor>& grads) {
  std::vector<Tensor> params;
  for (const Tensor& g : grads) {
    Tensor p = zeros_like(g).requires_grad_();
    p.set_grad(g.clone());
    params.push_back(p);
  }
  return params;
}

TEST(ClipGrad, MatchesPyTorch) {
  int n = 0;
  for (const json& c : fixture()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    std::vector<Tensor> grads;
    for (const json& g : c["grads"]) grads.push_back(json_tensor(g));
    std::vector<Tensor> params = with_grads(grads);
    if (c["kind"] == "norm") {
      const double total = nn::utils::clip_grad_norm_(params, c["max_norm"].get<double>(), json_number(c["norm_type"]));
      EXPECT_NEAR(total, c["total_norm"].get<double>(), 1e-13 * c["total_norm"].get<double>());
    } else {
      nn::utils::clip_grad_value_(params, c["clip_value"].get<double>());
    }
    for (std::size_t i = 0; i < params.size(); ++i)
      expect_close(params[i].grad(), json_tensor(c["clipped"][i]), 1e-14, 1e-13);
    ++n;
  }
  EXPECT_GE(n, 7);
}

TEST(ClipGrad, NormIsOfAllGradientsTogetherAndSkipsMissingGradients) {
  std::vector<Tensor> params = with_grads({f64({3.0}), f64({4.0})});
  params.push_back(zeros({2}, kFloat64).requires_grad_());  // no grad
  EXPECT_DOUBLE_EQ(nn::utils::clip_grad_norm_(params, 1.0), 5.0);
  const double coef = 1.0 / (5.0 + 1e-6);
  EXPECT_DOUBLE_EQ(params[0].grad().item<double>(), 3.0 * coef);
  EXPECT_DOUBLE_EQ(params[1].grad().item<double>(), 4.0 * coef);
  EXPECT_FALSE(params[2].grad().defined());
  // Below max_norm nothing changes; one tensor works too.
  Tensor p = zeros({2}, kFloat64).requires_grad_();
  p.set_grad(f64({0.3, -0.4}));
  EXPECT_DOUBLE_EQ(nn::utils::clip_grad_norm_(p, 1.0), 0.5);
  expect_values(p.grad(), {2}, {0.3, -0.4}, 0.0);
  EXPECT_DOUBLE_EQ(nn::utils::clip_grad_norm_(p, 1.0, INFINITY), 0.4);
  EXPECT_EQ(nn::utils::clip_grad_norm_(std::vector<Tensor>{zeros({1}).requires_grad_()}, 1.0), 0.0);
}

TEST(ClipGrad, NonFiniteNorm) {
  std::vector<Tensor> params = with_grads({f64({1.0, kNaN}), f64({2.0})});
  EXPECT_ERROR_EQ(nn::utils::clip_grad_norm_(params, 1.0, 2.0, /*error_if_nonfinite=*/true),
                  "clip_grad_norm_: the total norm of order 2 for gradients from `parameters` is non-finite, so it "
                  "cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, "
                  "set error_if_nonfinite=false");
  EXPECT_EQ(values(params[1].grad())[0], 2.0);  // untouched
  EXPECT_TRUE(std::isnan(nn::utils::clip_grad_norm_(params, 1.0)));
  EXPECT_TRUE(std::isnan(values(params[1].grad())[0]));  // scaled by NaN, as PyTorch
  EXPECT_ERROR_EQ(nn::utils::clip_grad_norm_(params, 1.0, 0.0),
                  "clip_grad_norm_: norm_type must be positive or infinity (got 0)");
}

TEST(ClipGrad, ValueClampsEveryElement) {
  Tensor p = zeros({4}).requires_grad_();
  p.set_grad(tensor({-3.0, -0.5, 0.2, 7.0}));
  nn::utils::clip_grad_value_(p, 1.0);
  expect_values(p.grad(), {4}, {-1.0, -0.5, 0.2, 1.0}, 1e-7);
  EXPECT_EQ(p.grad().dtype(), kFloat32);
}

TEST(ClipGrad, WorksInsideATrainingStep) {
  manual_seed(3);
  Tensor w = randn({4, 3}, kFloat64).requires_grad_();
  const Tensor x = randn({8, 4}, kFloat64);
  optim::SGD opt({w}, 0.1);
  (x.matmul(w).pow(2.0).sum() * 100.0).backward();
  const double before = nn::utils::clip_grad_norm_({w}, 0.5);
  EXPECT_GT(before, 0.5);
  EXPECT_NEAR(std::sqrt(w.grad().pow(2.0).sum().item<double>()), 0.5, 1e-6);
  opt.step();
}

}  // namespace
