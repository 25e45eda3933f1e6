// Losses (functional and modules) and softmax / log_softmax.
//
// Values and gradients against PyTorch 1.13 (tests/fixtures/optim/losses.json, written by
// tests/fixtures/optim/generate.py), float64 gradchecks of every loss w.r.t. its input and, where it
// is differentiable, its target, segmentation-shaped cross entropy, class weights, ignore_index,
// label smoothing, and the error messages.

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;
namespace F = voxgrad::nn::functional;
using nlohmann::json;

Reduction reduction_of(const std::string& s) { return s == "none" ? kNone : s == "sum" ? kSum : kMean; }

// =================================================================================================
// PyTorch fixtures
// =================================================================================================

const json& loss_fixture() {
  static const json j = load_fixture("optim/losses.json");
  return j;
}

/// Calls the loss named by the fixture with its inputs and options.
Tensor call_loss(const std::string& fn, const Tensor& x, const Tensor& t, const json& inputs, const json& o) {
  const Reduction r = reduction_of(o.value("reduction", "mean"));
  const Tensor weight = inputs.contains("weight") ? json_tensor(inputs["weight"]) : Tensor();
  if (fn == "mse_loss") return F::mse_loss(x, t, r);
  if (fn == "l1_loss") return F::l1_loss(x, t, r);
  if (fn == "smooth_l1_loss") return F::smooth_l1_loss(x, t, F::SmoothL1LossFuncOptions(r).beta(o["beta"]));
  if (fn == "binary_cross_entropy")
    return F::binary_cross_entropy(x, t, F::BinaryCrossEntropyFuncOptions(r).weight(weight));
  if (fn == "binary_cross_entropy_with_logits") {
    const Tensor pw = inputs.contains("pos_weight") ? json_tensor(inputs["pos_weight"]) : Tensor();
    return F::binary_cross_entropy_with_logits(
        x, t, F::BinaryCrossEntropyWithLogitsFuncOptions(r).weight(weight).pos_weight(pw));
  }
  if (fn == "nll_loss") {
    return F::nll_loss(x, t, F::NLLLossFuncOptions(r).weight(weight).ignore_index(o.value("ignore_index", -100)));
  }
  if (fn == "cross_entropy") {
    return F::cross_entropy(x, t,
                            F::CrossEntropyFuncOptions(r)
                                .weight(weight)
                                .ignore_index(o.value("ignore_index", -100))
                                .label_smoothing(o.value("label_smoothing", 0.0)));
  }
  throw std::runtime_error("unknown loss " + fn);
}

class LossFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(LossFixture, OutputAndGradientsMatchPyTorch) {
  const json* found = find_case(loss_fixture(), GetParam());
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const json& in = c["inputs"];
  Tensor x = json_tensor(in["input"]).requires_grad_();
  Tensor t = json_tensor(in["target"]);
  if (!c["grad_target"].is_null()) t.requires_grad_();
  const bool f32 = x.dtype() == kFloat32;
  const double atol = f32 ? 1e-6 : 1e-12, rtol = f32 ? 1e-5 : 1e-10;

  Tensor out = call_loss(c["fn"], x, t, in, c["options"]);
  EXPECT_EQ(out.dtype(), x.dtype());
  expect_close_nan(out, json_tensor(c["output"]), atol, rtol);
  if (c["grad_output"].is_null())
    out.backward();
  else
    out.backward(json_tensor(c["grad_output"]));
  ASSERT_TRUE(x.grad().defined());
  expect_close_nan(x.grad(), json_tensor(c["grad_input"]), atol, rtol);
  if (!c["grad_target"].is_null()) {
    ASSERT_TRUE(t.grad().defined());
    expect_close_nan(t.grad(), json_tensor(c["grad_target"]), atol, rtol);
  }
}

// No cases (an unreadable file) instantiate nothing; LossFixtureFile.CoversEveryLoss reports the problem.
INSTANTIATE_TEST_SUITE_P(PyTorch, LossFixture, ::testing::ValuesIn(fixture_case_names(loss_fixture)), name_from_param);

TEST(LossFixtureFile, CoversEveryLoss) {
  std::map<std::string, int> count;
  for (const json& c : loss_fixture()["cases"]) ++count[c["fn"].get<std::string>()];
  for (const char* fn : {"mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
                         "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy"}) {
    EXPECT_GE(count[fn], 3) << fn;
  }
}

// =================================================================================================
// softmax / log_softmax
// =================================================================================================

TEST(Softmax, MatchesTheDefinitionAlongEveryDim) {
  const Tensor x = uniform_leaf({2, 3, 4}, -3, 3, 1).detach();
  for (std::int64_t d : {0, 1, 2, -1, -3}) {
    const Tensor e = x.exp();
    const Tensor ref = e / e.sum(d, true);
    expect_close(softmax(x, d), ref, 1e-15);
    expect_close(log_softmax(x, d), ref.log(), 1e-14);
  }
}

TEST(Softmax, IsStableForHugeInputs) {
  const Tensor x = f64({1000.0, 1001.0, -1000.0, 999.0});
  const Tensor ls = log_softmax(x, 0);
  const double lse = 1001.0 + std::log(std::exp(-1.0) + 1.0 + std::exp(-2.0));
  expect_values(ls, {4}, {1000.0 - lse, 1001.0 - lse, -1000.0 - lse, 999.0 - lse}, 1e-12);
  const Tensor sm = softmax(x.to(kFloat32), 0);
  EXPECT_NEAR(values(sm)[1], std::exp(1001.0 - lse), 1e-6);
  EXPECT_EQ(values(sm)[2], 0.0);
  expect_values(softmax(f64({-kInf, 0.0}), 0), {2}, {0.0, 1.0});
  const std::vector<double> l = values(log_softmax(f64({-kInf, 0.0}), 0));
  EXPECT_EQ(l[0], -kInf);
  EXPECT_EQ(l[1], 0.0);
}

TEST(Softmax, PropagatesNaNAndHandlesZeroDAndEmpty) {
  const std::vector<double> v = values(softmax(f64({1.0, kNaN, 2.0}), 0));
  for (double e : v) EXPECT_TRUE(std::isnan(e));
  expect_values(softmax(scalar_tensor(3.0, kFloat64), 0), {}, {1.0});
  expect_values(log_softmax(scalar_tensor(3.0, kFloat64), -1), {}, {0.0});
  EXPECT_EQ(softmax(zeros({0, 3}, kFloat64), 1).sizes(), (Shape{0, 3}));
}

TEST(Softmax, Gradcheck) {
  const Tensor x = uniform_leaf({3, 4, 2}, -2, 2, 2);
  for (std::int64_t d : {0, 1, 2}) {
    expect_gradcheck([d](const std::vector<Tensor>& in) { return softmax(in[0], d); }, {x});
    expect_gradcheck([d](const std::vector<Tensor>& in) { return log_softmax(in[0], d); }, {x});
  }
}

TEST(Softmax, DoubleBackward) {
  const Tensor x = uniform_leaf({3, 4}, -2, 2, 3);
  expect_gradgradcheck([](const std::vector<Tensor>& in) { return softmax(in[0], 1); }, {x});
  expect_gradgradcheck([](const std::vector<Tensor>& in) { return log_softmax(in[0], 0); }, {x});
}

TEST(Softmax, Errors) {
  EXPECT_ERROR_EQ(softmax(zeros({2, 3}), 2),
                  "softmax: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_EQ(log_softmax(zeros({2}, kInt64), 0),
                  "log_softmax: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_CONTAINS(softmax(Tensor(), 0), "softmax");
}

// =================================================================================================
// gradchecks (float64) of every loss
// =================================================================================================

constexpr Reduction kAllReductions[] = {kNone, kMean, kSum};

TEST(LossGradcheck, RegressionLossesWrtInputAndTarget) {
  const Tensor x = uniform_leaf({3, 4}, -2, 2, 10), t = uniform_leaf({3, 4}, -2, 2, 11);
  for (Reduction r : kAllReductions) {
    SCOPED_TRACE(reduction_name(r));
    expect_gradcheck([r](const std::vector<Tensor>& in) { return F::mse_loss(in[0], in[1], r); }, {x, t});
    expect_gradcheck([r](const std::vector<Tensor>& in) { return F::l1_loss(in[0], in[1], r); }, {x, t});
    for (double beta : {0.0, 0.5, 1.0, 3.0}) {
      expect_gradcheck(
          [r, beta](const std::vector<Tensor>& in) {
            return F::smooth_l1_loss(in[0], in[1], F::SmoothL1LossFuncOptions(r).beta(beta));
          },
          {x, t});
    }
  }
  expect_gradgradcheck([](const std::vector<Tensor>& in) { return F::mse_loss(in[0], in[1]); }, {x, t});
  expect_gradgradcheck(
      [](const std::vector<Tensor>& in) {
        return F::smooth_l1_loss(in[0], in[1], F::SmoothL1LossFuncOptions().beta(2.0));
      },
      {x, t});
}

TEST(LossGradcheck, BinaryCrossEntropyWrtInputAndTarget) {
  const Tensor x = uniform_leaf({3, 4}, 0.05, 0.95, 12), t = uniform_leaf({3, 4}, 0, 1, 13);
  const Tensor w = uniform_leaf({4}, 0.5, 2, 14).detach();
  for (Reduction r : kAllReductions) {
    SCOPED_TRACE(reduction_name(r));
    expect_gradcheck([r](const std::vector<Tensor>& in) { return F::binary_cross_entropy(in[0], in[1], r); }, {x, t});
    expect_gradcheck(
        [r, w](const std::vector<Tensor>& in) {
          return F::binary_cross_entropy(in[0], in[1], F::BinaryCrossEntropyFuncOptions(r).weight(w));
        },
        {x, t});
  }
  expect_gradgradcheck(
      [w](const std::vector<Tensor>& in) {
        return F::binary_cross_entropy(in[0], in[1], F::BinaryCrossEntropyFuncOptions().weight(w));
      },
      {x, t});
}

TEST(LossGradcheck, BinaryCrossEntropyWithLogitsWrtInputAndTarget) {
  const Tensor x = uniform_leaf({3, 4}, -4, 4, 15), t = uniform_leaf({3, 4}, 0, 1, 16);
  const Tensor w = uniform_leaf({3, 1}, 0.5, 2, 17).detach(), pw = uniform_leaf({4}, 0.3, 3, 18).detach();
  for (Reduction r : kAllReductions) {
    SCOPED_TRACE(reduction_name(r));
    expect_gradcheck(
        [r](const std::vector<Tensor>& in) { return F::binary_cross_entropy_with_logits(in[0], in[1], r); }, {x, t});
    expect_gradcheck(
        [r, w, pw](const std::vector<Tensor>& in) {
          return F::binary_cross_entropy_with_logits(
              in[0], in[1], F::BinaryCrossEntropyWithLogitsFuncOptions(r).weight(w).pos_weight(pw));
        },
        {x, t});
  }
  expect_gradgradcheck(
      [pw](const std::vector<Tensor>& in) {
        return F::binary_cross_entropy_with_logits(in[0], in[1],
                                                   F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(pw));
      },
      {x, t});
}

TEST(LossGradcheck, NllLossWrtInput) {
  const Tensor x2 = uniform_leaf({5, 4}, -3, 0, 19);
  const Tensor t2 = tensor({0, 3, 1, 3, 2}, kInt64);
  const Tensor x5 = uniform_leaf({2, 3, 2, 3, 2}, -3, 0, 20);
  manual_seed(21);
  Tensor t5 = randint(0, 3, {2, 2, 3, 2});
  t5.view({-1}).narrow(0, 0, 3).fill_(-100);
  const Tensor w = f64({0.5, 2.0, 1.5, 0.7});
  for (Reduction r : kAllReductions) {
    SCOPED_TRACE(reduction_name(r));
    expect_gradcheck([r, t2](const std::vector<Tensor>& in) { return F::nll_loss(in[0], t2, r); }, {x2});
    expect_gradcheck(
        [r, t2, w](const std::vector<Tensor>& in) {
          return F::nll_loss(in[0], t2, F::NLLLossFuncOptions(r).weight(w).ignore_index(1));
        },
        {x2});
    expect_gradcheck([r, t5](const std::vector<Tensor>& in) { return F::nll_loss(in[0], t5, r); }, {x5});
  }
  expect_gradgradcheck(
      [t2, w](const std::vector<Tensor>& in) { return F::nll_loss(in[0], t2, F::NLLLossFuncOptions().weight(w)); },
      {x2});
}

TEST(LossGradcheck, CrossEntropyWrtInputAndProbabilityTarget) {
  const Tensor x2 = uniform_leaf({5, 4}, -3, 3, 22);
  const Tensor t2 = tensor({0, 3, 1, 3, 2}, kInt64);
  const Tensor x5 = uniform_leaf({2, 4, 2, 2, 3}, -3, 3, 23);
  manual_seed(24);
  Tensor t5 = randint(0, 4, {2, 2, 2, 3});
  t5.view({-1}).narrow(0, 0, 4).fill_(3);  // ignore_index 3 below
  const Tensor w = f64({0.5, 2.0, 1.5, 0.7});
  for (Reduction r : kAllReductions) {
    SCOPED_TRACE(reduction_name(r));
    for (double ls : {0.0, 0.2}) {
      expect_gradcheck(
          [r, t2, ls](const std::vector<Tensor>& in) {
            return F::cross_entropy(in[0], t2, F::CrossEntropyFuncOptions(r).label_smoothing(ls));
          },
          {x2});
      expect_gradcheck(
          [r, t5, w, ls](const std::vector<Tensor>& in) {
            return F::cross_entropy(in[0], t5,
                                    F::CrossEntropyFuncOptions(r).weight(w).ignore_index(3).label_smoothing(ls));
          },
          {x5});
    }
    const Tensor probs = softmax(uniform_leaf({5, 4}, -2, 2, 25), 1).detach().requires_grad_();
    expect_gradcheck(
        [r, w](const std::vector<Tensor>& in) {
          return F::cross_entropy(in[0], in[1], F::CrossEntropyFuncOptions(r).weight(w).label_smoothing(0.1));
        },
        {x2, probs});
  }
  expect_gradgradcheck(
      [t5, w](const std::vector<Tensor>& in) {
        return F::cross_entropy(in[0], t5, F::CrossEntropyFuncOptions().weight(w).ignore_index(3).label_smoothing(0.1));
      },
      {x5});
}

// =================================================================================================
// semantics
// =================================================================================================

TEST(CrossEntropy, SegmentationEqualsTheFlattenedTwoDimensionalLoss) {
  // (N, C, D, H, W) logits with (N, D, H, W) targets = (N·D·H·W, C) logits with flat targets.
  const Tensor x = uniform_leaf({2, 3, 4, 3, 5}, -4, 4, 30);
  manual_seed(31);
  const Tensor t = randint(0, 3, {2, 4, 3, 5});
  const Tensor flat_x = x.permute({0, 2, 3, 4, 1}).reshape({-1, 3});
  const Tensor flat_t = t.reshape({-1});
  const Tensor w = f64({0.2, 1.0, 3.0});
  for (Reduction r : kAllReductions) {
    const auto o = F::CrossEntropyFuncOptions(r).weight(w).label_smoothing(0.1);
    const Tensor a = F::cross_entropy(x, t, o);
    const Tensor b = F::cross_entropy(flat_x, flat_t, o);
    expect_close(a, r == kNone ? b.reshape({2, 4, 3, 5}) : b, 1e-13, 1e-13);
  }
  EXPECT_EQ(F::cross_entropy(x, t, kNone).sizes(), (Shape{2, 4, 3, 5}));
}

TEST(CrossEntropy, WeightedMeanDividesBySumOfTargetWeights) {
  const Tensor x = f64({0.0, 1.0, 2.0, 1.0, 0.0, -1.0}, {2, 3});
  const Tensor t = tensor({2, 0}, kInt64);
  const Tensor w = f64({3.0, 1.0, 0.5});
  const Tensor lsm = log_softmax(x, 1);
  const double l0 = -values(lsm)[2], l1 = -values(lsm)[3];
  const double expected = (0.5 * l0 + 3.0 * l1) / (0.5 + 3.0);
  EXPECT_NEAR(F::cross_entropy(x, t, F::CrossEntropyFuncOptions().weight(w)).item<double>(), expected, 1e-15);
  EXPECT_NEAR(F::nll_loss(lsm, t, F::NLLLossFuncOptions().weight(w)).item<double>(), expected, 1e-15);
  EXPECT_NEAR(F::cross_entropy(x, t, F::CrossEntropyFuncOptions(kSum).weight(w)).item<double>(), 0.5 * l0 + 3.0 * l1,
              1e-15);
}

TEST(CrossEntropy, IgnoredTargetsGetNoLossNoGradientAndDoNotCount) {
  Tensor x = uniform_leaf({4, 3}, -2, 2, 32);
  const Tensor t = tensor({1, 255, 0, 255}, kInt64);
  const Tensor loss = F::cross_entropy(x, t, F::CrossEntropyFuncOptions().ignore_index(255));
  const Tensor kept = F::cross_entropy(cat({x.narrow(0, 0, 1), x.narrow(0, 2, 1)}, 0), tensor({1, 0}, kInt64));
  EXPECT_NEAR(loss.item<double>(), kept.item<double>(), 1e-15);
  loss.backward();
  const std::vector<double> g = values(x.grad());
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(g[3 + c], 0.0);
    EXPECT_EQ(g[9 + c], 0.0);
    EXPECT_NE(g[c], 0.0);
  }
  const Tensor none = F::cross_entropy(x, t, F::CrossEntropyFuncOptions(kNone).ignore_index(255));
  EXPECT_EQ(values(none)[1], 0.0);
  EXPECT_EQ(values(none)[3], 0.0);
}

TEST(NllLoss, AllTargetsIgnoredGivesNaNMeanAndZeroSum) {
  const Tensor x = uniform_leaf({2, 3}, -2, 0, 33);
  const Tensor t = tensor({-100, -100}, kInt64);
  EXPECT_TRUE(std::isnan(F::nll_loss(x, t).item<double>()));
  EXPECT_EQ(F::nll_loss(x, t, kSum).item<double>(), 0.0);
}

TEST(NllLoss, UnbatchedInput) {
  const Tensor x = f64({-1.0, -2.0, -0.5});
  EXPECT_EQ(F::nll_loss(x, scalar_tensor(2, kInt64)).item<double>(), 0.5);
  EXPECT_EQ(F::nll_loss(x, scalar_tensor(2, kInt64), kNone).sizes(), Shape{});
}

TEST(BinaryCrossEntropy, ClampsTheLogAtMinus100LikePyTorch) {
  const Tensor x = f64({0.0, 1.0}), t = f64({1.0, 0.0});
  expect_values(F::binary_cross_entropy(x, t, kNone), {2}, {100.0, 100.0});
  expect_values(F::binary_cross_entropy(x, f64({0.0, 1.0}), kNone), {2}, {0.0, 0.0});
}

TEST(BinaryCrossEntropyWithLogits, IsStableForHugeLogits) {
  const Tensor x = f64({-800.0, 800.0, 0.0}), t = f64({1.0, 0.0, 0.5});
  expect_values(F::binary_cross_entropy_with_logits(x, t, kNone), {3}, {800.0, 800.0, std::log(2.0)}, 1e-12);
  const Tensor x32 = tensor({-100.0, 100.0, 30.0});
  const Tensor l32 = F::binary_cross_entropy_with_logits(x32, tensor({0.0, 1.0, 1.0}), kNone);
  for (double v : values(l32)) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(values(l32)[0], 0.0, 1e-30);  // log(1 + e^−100) rounds to 0 in float32, as in PyTorch
  EXPECT_NEAR(values(l32)[2], 0.0, 1e-12);
}

TEST(BinaryCrossEntropyWithLogits, EqualsBinaryCrossEntropyOfTheSigmoid) {
  const Tensor x = uniform_leaf({3, 4}, -3, 3, 34).detach(), t = uniform_leaf({3, 4}, 0, 1, 35).detach();
  const Tensor w = uniform_leaf({4}, 0.5, 2, 36).detach();
  expect_close(F::binary_cross_entropy_with_logits(x, t, F::BinaryCrossEntropyWithLogitsFuncOptions(kNone).weight(w)),
               F::binary_cross_entropy(x.sigmoid(), t, F::BinaryCrossEntropyFuncOptions(kNone).weight(w)), 1e-13);
}

TEST(Losses, ReductionsAreNoneMeanSum) {
  const Tensor x = f64({1.0, 2.0, 4.0}), t = f64({0.0, 0.0, 1.0});
  expect_values(F::mse_loss(x, t, kNone), {3}, {1.0, 4.0, 9.0});
  EXPECT_EQ(F::mse_loss(x, t).item<double>(), 14.0 / 3.0);
  EXPECT_EQ(F::mse_loss(x, t, kSum).item<double>(), 14.0);
  EXPECT_EQ(F::l1_loss(x, t, kSum).item<double>(), 6.0);
  expect_values(F::smooth_l1_loss(f64({0.5, 3.0}), f64({0.0, 0.0}), kNone), {2}, {0.125, 2.5});
  EXPECT_STREQ(reduction_name(kMean), "mean");
}

TEST(Losses, Float32InFloat32OutAndMixedPromotes) {
  const Tensor x = tensor({1.0, 2.0}), t = tensor({0.0, 1.0});
  EXPECT_EQ(F::mse_loss(x, t).dtype(), kFloat32);
  EXPECT_EQ(F::mse_loss(x, t.to(kFloat64)).dtype(), kFloat64);
  EXPECT_EQ(F::cross_entropy(tensor({{1.0, 2.0}}), tensor({1}, kInt64)).dtype(), kFloat32);
}

// =================================================================================================
// errors
// =================================================================================================

TEST(LossErrors, ShapeMismatchIsAnErrorNotABroadcast) {
  EXPECT_ERROR_EQ(F::mse_loss(zeros({4, 1}), zeros({4})),
                  "mse_loss: target size [4] differs from input size [4, 1] (PyTorch would broadcast them; reshape "
                  "one of them to match)");
  EXPECT_ERROR_CONTAINS(F::l1_loss(zeros({2}), zeros({3})), "l1_loss: target size [3] differs from input size [2]");
  EXPECT_ERROR_CONTAINS(F::binary_cross_entropy_with_logits(zeros({2, 3}), zeros({3})),
                        "binary_cross_entropy_with_logits: target size [3] differs");
  EXPECT_ERROR_EQ(F::mse_loss(zeros({2}), zeros({2}, kInt64)),
                  "mse_loss: expected floating-point input and target, but got float32 and int64");
}

TEST(LossErrors, BadArgumentsNameTheValue) {
  EXPECT_ERROR_EQ(F::smooth_l1_loss(zeros({2}), zeros({2}), F::SmoothL1LossFuncOptions().beta(-1)),
                  "smooth_l1_loss: beta must be non-negative (got beta=-1)");
  EXPECT_ERROR_EQ(F::binary_cross_entropy(tensor({0.5, 1.5}), tensor({0.0, 1.0})),
                  "binary_cross_entropy: all elements of input should be between 0 and 1");
  EXPECT_ERROR_EQ(F::binary_cross_entropy(tensor({0.5, kNaN}), tensor({0.0, 1.0})),
                  "binary_cross_entropy: all elements of input should be between 0 and 1");
  EXPECT_ERROR_EQ(F::binary_cross_entropy(tensor({0.5, 0.5}), tensor({0.0, 1.0}),
                                          F::BinaryCrossEntropyFuncOptions().weight(ones({3}))),
                  "binary_cross_entropy: shapes [3] and [2] cannot be broadcast");
  EXPECT_ERROR_EQ(F::binary_cross_entropy_with_logits(
                      zeros({2}), zeros({2}), F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(ones({3, 2}))),
                  "binary_cross_entropy_with_logits: pos_weight of shape [3, 2] does not broadcast to the input's "
                  "shape [2]");
  EXPECT_ERROR_EQ(
      F::cross_entropy(zeros({2, 3}), tensor({0, 1}, kInt64), F::CrossEntropyFuncOptions().label_smoothing(1.5)),
      "cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: 1.5");
}

TEST(LossErrors, ClassTargetsOutOfRangeOrBadlyShaped) {
  const Tensor x = zeros({3, 4});
  EXPECT_ERROR_EQ(F::cross_entropy(x, tensor({0, 4, 1}, kInt64)),
                  "cross_entropy: target 4 is out of bounds (expected a class index in [0, 4) or ignore_index -100; "
                  "at flat target index 1)");
  EXPECT_ERROR_CONTAINS(F::nll_loss(x, tensor({0, -1, 1}, kInt64)), "nll_loss: target -1 is out of bounds");
  EXPECT_ERROR_EQ(F::nll_loss(x, tensor({0, 1}, kInt64)),
                  "nll_loss: expected input batch_size (3) to match target batch_size (2)");
  EXPECT_ERROR_EQ(
      F::cross_entropy(zeros({2, 4, 3, 3, 3}), zeros({2, 3, 3, 2}, kInt64)),
      "cross_entropy: expected target size [2, 3, 3, 3] for input of size [2, 4, 3, 3, 3], got [2, 3, 3, 2]");
  EXPECT_ERROR_EQ(F::nll_loss(x, tensor({0.0, 1.0, 2.0})),
                  "nll_loss: expected an int64 target of class indices, but got a float32 target (use a target of the "
                  "input's shape for class probabilities with cross_entropy)");
  EXPECT_ERROR_EQ(F::cross_entropy(x, tensor({0.0, 1.0, 2.0})),
                  "cross_entropy: a floating-point target holds class probabilities and must have the input's shape "
                  "[3, 4], but has shape [3] (class indices must be int64)");
  EXPECT_ERROR_EQ(F::nll_loss(x, tensor({0, 1, 2}, kInt64), F::NLLLossFuncOptions().weight(ones({3}))),
                  "nll_loss: weight tensor should be defined either for all 4 classes or no classes but got weight "
                  "tensor of shape: [3]");
  EXPECT_ERROR_EQ(F::nll_loss(zeros({4}), tensor({1}, kInt64)),
                  "nll_loss: expected a 0-d target for a 1-d input of 4 classes, but got target of shape [1]");
  EXPECT_ERROR_EQ(F::nll_loss(scalar_tensor(1.0), scalar_tensor(0, kInt64)),
                  "nll_loss: expected an input with 1 or more dimensions (got 0)");
}

// =================================================================================================
// modules
// =================================================================================================

TEST(LossModules, ForwardEqualsTheFunctional) {
  const Tensor x = uniform_leaf({3, 4}, 0.1, 0.9, 40).detach(), t = uniform_leaf({3, 4}, 0, 1, 41).detach();
  const Tensor ci = tensor({0, 3, 2}, kInt64);
  const Tensor w = f64({1.0, 2.0, 0.5, 1.5});
  EXPECT_EQ(nn::MSELossImpl(kSum).forward(x, t).item<double>(), F::mse_loss(x, t, kSum).item<double>());
  EXPECT_EQ(nn::L1LossImpl().forward(x, t).item<double>(), F::l1_loss(x, t).item<double>());
  EXPECT_EQ(nn::SmoothL1LossImpl(nn::SmoothL1LossOptions().beta(0.1)).forward(x, t).item<double>(),
            F::smooth_l1_loss(x, t, F::SmoothL1LossFuncOptions().beta(0.1)).item<double>());
  EXPECT_EQ(nn::BCELossImpl(nn::BCELossOptions().weight(w)).forward(x, t).item<double>(),
            F::binary_cross_entropy(x, t, F::BinaryCrossEntropyFuncOptions().weight(w)).item<double>());
  EXPECT_EQ(nn::BCEWithLogitsLossImpl(nn::BCEWithLogitsLossOptions().pos_weight(w)).forward(x, t).item<double>(),
            F::binary_cross_entropy_with_logits(x, t, F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(w))
                .item<double>());
  EXPECT_EQ(nn::NLLLossImpl(nn::NLLLossOptions().weight(w).ignore_index(3)).forward(x, ci).item<double>(),
            F::nll_loss(x, ci, F::NLLLossFuncOptions().weight(w).ignore_index(3)).item<double>());
  const auto ce = nn::CrossEntropyLossOptions().weight(w).label_smoothing(0.1);
  EXPECT_EQ(nn::CrossEntropyLossImpl(ce).forward(x, ci).item<double>(), F::cross_entropy(x, ci, ce).item<double>());
}

TEST(LossModules, WeightsAreBuffersAndPrintLikePyTorch) {
  auto ce = std::make_shared<nn::CrossEntropyLossImpl>(nn::CrossEntropyLossOptions().weight(f64({1.0, 2.0})));
  const nn::NamedTensors buffers = ce->named_buffers();
  ASSERT_EQ(buffers.size(), 1u);
  EXPECT_EQ(buffers[0].first, "weight");
  EXPECT_TRUE(ce->parameters().empty());
  auto bce = std::make_shared<nn::BCEWithLogitsLossImpl>(
      nn::BCEWithLogitsLossOptions().weight(f64({1.0})).pos_weight(f64({3.0})));
  ASSERT_EQ(bce->named_buffers().size(), 2u);
  EXPECT_EQ(bce->named_buffers()[1].first, "pos_weight");
  EXPECT_TRUE(nn::MSELossImpl().named_buffers().empty());
  std::ostringstream s;
  s << *ce << " " << nn::MSELossImpl() << " " << nn::BCEWithLogitsLossImpl();
  EXPECT_EQ(s.str(), "CrossEntropyLoss() MSELoss() BCEWithLogitsLoss()");
  EXPECT_EQ(ce->options().label_smoothing(), 0.0);
  EXPECT_EQ(nn::NLLLossImpl().options().ignore_index(), -100);
}

TEST(LossModules, CloneKeepsTheWeights) {
  auto ce = std::make_shared<nn::CrossEntropyLossImpl>(nn::CrossEntropyLossOptions().weight(f64({1.0, 2.0, 3.0})));
  auto copy = ce->clone();
  const Tensor x = f64({0.1, 0.2, 0.3, 0.3, 0.2, 0.1}, {2, 3});
  const Tensor t = tensor({2, 1}, kInt64);
  EXPECT_EQ(copy->forward(x, t).item<double>(), ce->forward(x, t).item<double>());
  EXPECT_FALSE(copy->named_buffers()[0].second.is_same(ce->named_buffers()[0].second));
}

TEST(LossModules, SingleArgumentForwardThrows) {
  nn::MSELossImpl loss;
  EXPECT_ERROR_CONTAINS(loss.forward(zeros({2})), "MSELoss");
}

}  // namespace
