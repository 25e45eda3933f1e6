// The losses beyond the classics: huber_loss, kl_div, gaussian_nll_loss, poisson_nll_loss (nn/functional/loss.h)
// and the margin and embedding losses (nn/functional/margin_loss.h), functional and modules.
//
// Values and gradients against PyTorch 1.13 (tests/fixtures/loss_extra/losses.json, written by
// tests/fixtures/loss_extra/generate.py: kinks, exact zeros, clamped variances, every reduction, float32),
// float64 gradchecks and gradgradchecks, strided and permuted arguments against contiguous copies, kl_div's
// batchmean, and the error messages.

#include <cmath>
#include <functional>
#include <map>
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

constexpr Reduction kAllReductions[] = {kNone, kMean, kSum};

KLDivReduction kl_reduction_of(const json& o) {
  const std::string s = o.value("reduction", "mean");
  if (s == "none") return KLDivReduction::None;
  if (s == "sum") return KLDivReduction::Sum;
  if (s == "mean") return KLDivReduction::Mean;
  if (s == "batchmean") return kBatchMean;
  throw std::runtime_error("unknown reduction " + s);
}

Reduction reduction_of(const json& o) {
  const KLDivReduction r = kl_reduction_of(o);
  if (r == kBatchMean) throw std::runtime_error("batchmean is kl_div's only");
  return r == KLDivReduction::None ? kNone : r == KLDivReduction::Sum ? kSum : kMean;
}

// =================================================================================================
// PyTorch fixtures
// =================================================================================================

const json& fixture() {
  static const json j = load_fixture("loss_extra/losses.json");
  return j;
}

/// triplet_margin_with_distance_loss's distance functions, by the fixture's name (generate.py's DISTANCES).
nn::DistanceFunction distance_named(const json& o) {
  if (!o.contains("distance")) return {};
  if (o["distance"] == "cosine")
    return [](const Tensor& a, const Tensor& b) { return 1.0 - F::cosine_similarity(a, b); };
  if (o["distance"] == "l1") {
    return [](const Tensor& a, const Tensor& b) {
      return F::pairwise_distance(a, b, F::PairwiseDistanceFuncOptions().p(1.0));
    };
  }
  throw std::runtime_error("unknown distance " + o["distance"].get<std::string>());
}

/// Calls the loss named by the fixture with its arguments (in order), options and keyword tensors (a weight;
/// undefined when absent).
Tensor call_loss(const std::string& fn, const std::vector<Tensor>& a, const json& o, const Tensor& weight) {
  const Reduction r = fn == "kl_div" ? kMean : reduction_of(o);  // kl_div reads its own
  if (fn == "huber_loss") return F::huber_loss(a[0], a[1], F::HuberLossFuncOptions(r).delta(o.value("delta", 1.0)));
  if (fn == "kl_div") {
    return F::kl_div(a[0], a[1], F::KLDivFuncOptions(kl_reduction_of(o)).log_target(o.value("log_target", false)));
  }
  if (fn == "gaussian_nll_loss") {
    return F::gaussian_nll_loss(
        a[0], a[1], a[2], F::GaussianNLLLossFuncOptions(r).full(o.value("full", false)).eps(o.value("eps", 1e-6)));
  }
  if (fn == "poisson_nll_loss") {
    return F::poisson_nll_loss(a[0], a[1],
                               F::PoissonNLLLossFuncOptions(r)
                                   .log_input(o.value("log_input", true))
                                   .full(o.value("full", false))
                                   .eps(o.value("eps", 1e-8)));
  }
  if (fn == "margin_ranking_loss") {
    return F::margin_ranking_loss(a[0], a[1], a[2], F::MarginRankingLossFuncOptions(r).margin(o.value("margin", 0.0)));
  }
  if (fn == "hinge_embedding_loss") {
    return F::hinge_embedding_loss(a[0], a[1], F::HingeEmbeddingLossFuncOptions(r).margin(o.value("margin", 1.0)));
  }
  if (fn == "soft_margin_loss") return F::soft_margin_loss(a[0], a[1], r);
  if (fn == "cosine_embedding_loss") {
    return F::cosine_embedding_loss(a[0], a[1], a[2],
                                    F::CosineEmbeddingLossFuncOptions(r).margin(o.value("margin", 0.0)));
  }
  if (fn == "triplet_margin_loss") {
    return F::triplet_margin_loss(a[0], a[1], a[2],
                                  F::TripletMarginLossFuncOptions(r)
                                      .margin(o.value("margin", 1.0))
                                      .p(o.value("p", 2.0))
                                      .eps(o.value("eps", 1e-6))
                                      .swap(o.value("swap", false)));
  }
  if (fn == "triplet_margin_with_distance_loss") {
    return F::triplet_margin_with_distance_loss(a[0], a[1], a[2],
                                                F::TripletMarginWithDistanceLossFuncOptions(r)
                                                    .distance_function(distance_named(o))
                                                    .margin(o.value("margin", 1.0))
                                                    .swap(o.value("swap", false)));
  }
  if (fn == "multi_margin_loss") {
    return F::multi_margin_loss(
        a[0], a[1], F::MultiMarginLossFuncOptions(r).p(o.value("p", 1)).margin(o.value("margin", 1.0)).weight(weight));
  }
  if (fn == "multilabel_margin_loss") return F::multilabel_margin_loss(a[0], a[1], r);
  if (fn == "multilabel_soft_margin_loss") {
    return F::multilabel_soft_margin_loss(a[0], a[1], F::MultilabelSoftMarginLossFuncOptions(r).weight(weight));
  }
  throw std::runtime_error("unknown loss " + fn);
}

class LossExtraFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(LossExtraFixture, OutputAndGradientsMatchPyTorch) {
  const json* found = find_case(fixture(), GetParam());
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  std::vector<Tensor> args;
  for (const json& name : c["args"]) {
    // Every floating argument asks for a gradient; those PyTorch does not differentiate must get none.
    Tensor t = json_tensor(c["inputs"][name.get<std::string>()]);
    if (is_floating_point(t.dtype())) t.requires_grad_();
    args.push_back(t);
  }
  // A weight is passed by keyword; it asks for a gradient where PyTorch gives one.
  Tensor weight = c["inputs"].contains("weight") ? json_tensor(c["inputs"]["weight"]) : Tensor();
  if (weight.defined() && c["grads"].contains("weight")) weight.requires_grad_();
  const bool f32 = args[0].dtype() == kFloat32;
  const double atol = f32 ? 1e-6 : 1e-12, rtol = f32 ? 1e-5 : 1e-10;
  Tensor out = call_loss(c["fn"], args, c["options"], weight);
  EXPECT_EQ(out.dtype(), args[0].dtype());
  expect_close_nan(out, json_tensor(c["output"]), atol, rtol);
  if (c["grad_output"].is_null()) {
    out.backward();
  } else {
    out.backward(json_tensor(c["grad_output"]));
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string name = c["args"][i];
    SCOPED_TRACE("gradient of " + name);
    if (c["grads"].contains(name)) {
      ASSERT_TRUE(args[i].grad().defined());
      expect_close_nan(args[i].grad(), json_tensor(c["grads"][name]), atol, rtol);
    } else if (args[i].requires_grad()) {
      EXPECT_FALSE(args[i].grad().defined());
    }
  }
  if (weight.defined() && weight.requires_grad()) {
    expect_close_nan(weight.grad(), json_tensor(c["grads"]["weight"]), atol, rtol);
  }
}

// No cases (an unreadable file) instantiate nothing; LossExtraFixtureFile.CoversEveryLoss reports the problem.
INSTANTIATE_TEST_SUITE_P(PyTorch, LossExtraFixture, ::testing::ValuesIn(fixture_case_names(fixture)), name_from_param);

TEST(LossExtraFixtureFile, CoversEveryLoss) {
  std::map<std::string, int> count;
  for (const json& c : fixture()["cases"]) ++count[c["fn"].get<std::string>()];
  for (const char* fn :
       {"huber_loss", "kl_div", "gaussian_nll_loss", "poisson_nll_loss", "margin_ranking_loss", "hinge_embedding_loss",
        "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
        "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss"}) {
    EXPECT_GE(count[fn], 4) << fn;
  }
}

// =================================================================================================
// Gradients (float64), views, reductions
// =================================================================================================

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Each loss with its differentiable arguments (labels and variances drawn where they are valid), per reduction.
std::vector<std::pair<std::string, Fn>> losses(Reduction r) {
  return {
      {"huber",
       [r](const std::vector<Tensor>& in) {
         return F::huber_loss(in[0], in[1], F::HuberLossFuncOptions(r).delta(0.7));
       }},
      {"kl_div",
       [r](const std::vector<Tensor>& in) { return F::kl_div(in[0], in[1].abs() + 0.1, F::KLDivFuncOptions(r)); }},
      {"kl_div_log_target",
       [r](const std::vector<Tensor>& in) { return F::kl_div(in[0], in[1], F::KLDivFuncOptions(r).log_target(true)); }},
      {"gaussian_nll",
       [r](const std::vector<Tensor>& in) {
         return F::gaussian_nll_loss(in[0], in[1], in[2].abs() + 0.2, F::GaussianNLLLossFuncOptions(r).full(true));
       }},
      {"poisson_nll", [r](const std::vector<Tensor>& in) { return F::poisson_nll_loss(in[0], in[1].abs() * 3.0, r); }},
      {"poisson_nll_rates",
       [r](const std::vector<Tensor>& in) {
         return F::poisson_nll_loss(in[0].abs() + 0.1, in[1].abs() * 3.0,
                                    F::PoissonNLLLossFuncOptions(r).log_input(false).full(true));
       }},
      {"margin_ranking",
       [r](const std::vector<Tensor>& in) {
         return F::margin_ranking_loss(in[0], in[1], in[2], F::MarginRankingLossFuncOptions(r).margin(0.3));
       }},
      {"hinge_embedding",
       [r](const std::vector<Tensor>& in) {
         return F::hinge_embedding_loss(in[0], in[1].sign(), F::HingeEmbeddingLossFuncOptions(r));
       }},
      {"soft_margin", [r](const std::vector<Tensor>& in) { return F::soft_margin_loss(in[0], in[1].sign(), r); }},
      {"cosine_embedding",
       [r](const std::vector<Tensor>& in) {
         return F::cosine_embedding_loss(in[0], in[1], in[2].select(1, 0).sign(),
                                         F::CosineEmbeddingLossFuncOptions(r).margin(-0.5));
       }},
      {"triplet_margin",
       [r](const std::vector<Tensor>& in) {
         return F::triplet_margin_loss(in[0], in[1], in[2], F::TripletMarginLossFuncOptions(r).margin(2.0).swap(true));
       }},
  };
}

TEST(LossExtraGradcheck, EveryLossEveryReduction) {
  // Values drawn away from the kinks (|d| = delta, the hinges) at this seed.
  const Tensor a = uniform_leaf({3, 4}, -2, 2, 60), b = uniform_leaf({3, 4}, -2, 2, 61),
               c = uniform_leaf({3, 4}, -2, 2, 62);
  for (Reduction r : kAllReductions) {
    for (const auto& [name, fn] : losses(r)) {
      SCOPED_TRACE(name + " " + reduction_name(r));
      expect_gradcheck(fn, {a, b, c});
    }
  }
  for (const auto& [name, fn] : losses(kMean)) {
    SCOPED_TRACE(name);
    expect_gradgradcheck(fn, {a, b, c});
  }
}

TEST(LossExtraViews, StridedAndPermutedArgumentsEqualContiguousCopies) {
  const Tensor base = uniform_leaf({4, 6, 2}, -2, 2, 63).detach();
  // (3, 4) views: a strided slice, a permute, and an offset window.
  const Tensor a = base.slice(0, 0, 3).select(2, 1).slice(1, 0, 4);
  const Tensor b = base.permute({1, 0, 2}).select(2, 0).slice(0, 1, 4);
  const Tensor c = base.select(2, 0).slice(0, 1, 4).slice(1, 2, 6);
  ASSERT_FALSE(a.is_contiguous());
  ASSERT_FALSE(b.is_contiguous());
  for (Reduction r : kAllReductions) {
    for (const auto& [name, fn] : losses(r)) {
      SCOPED_TRACE(name + " " + reduction_name(r));
      expect_bitwise_equal(fn({a, b, c}), fn({a.contiguous(), b.contiguous(), c.contiguous()}), name);
    }
  }
}

TEST(KLDiv, BatchMeanIsTheSumOverTheFirstDimsSize) {
  const Tensor x = uniform_leaf({4, 5}, -3, -0.1, 64).detach(), t = uniform_leaf({4, 5}, 0.01, 1, 65).detach();
  const double sum = F::kl_div(x, t, kSum).item<double>();
  EXPECT_EQ(F::kl_div(x, t, kBatchMean).item<double>(), sum / 4.0);
  EXPECT_EQ(F::kl_div(x, t, F::KLDivFuncOptions().reduction(kBatchMean)).item<double>(), sum / 4.0);
  EXPECT_EQ(F::kl_div(x, t).item<double>(), F::kl_div(x, t, kNone).mean().item<double>());  // kMean, PyTorch's default
  // A 0-d input: batchmean is the sum.
  EXPECT_EQ(F::kl_div(f64({-1.0}).reshape({}), f64({0.5}).reshape({}), kBatchMean).item<double>(),
            0.5 * std::log(0.5) + 0.5);
  // 0·log 0 = 0: a zero probability adds nothing.
  EXPECT_EQ(F::kl_div(f64({-1.0, -2.0}), f64({0.0, 1.0}), kSum).item<double>(), 2.0);
}

TEST(GaussianNLL, VarianceShapesAndTheClampInTheValueOnly) {
  const Tensor x = uniform_leaf({3, 2}, -1, 1, 66).detach(), t = uniform_leaf({3, 2}, -1, 1, 67).detach();
  const Tensor v = uniform_leaf({3}, 0.5, 1.5, 68).detach();
  const Tensor full = v.unsqueeze(1).expand({3, 2}).contiguous();
  // One variance per row, given as (3) or (3, 1): the same as the full (3, 2).
  EXPECT_EQ(F::gaussian_nll_loss(x, t, v).item<double>(), F::gaussian_nll_loss(x, t, full).item<double>());
  EXPECT_EQ(F::gaussian_nll_loss(x, t, v.unsqueeze(1)).item<double>(), F::gaussian_nll_loss(x, t, full).item<double>());
  // A variance of 0 is clamped to eps in the value; its gradient is −½·(d² − eps)/eps² there (finite).
  Tensor z = f64({0.0}).requires_grad_();
  const Tensor loss = F::gaussian_nll_loss(f64({1.0}), f64({0.0}), z, F::GaussianNLLLossFuncOptions().eps(0.5));
  EXPECT_EQ(loss.item<double>(), 0.5 * (std::log(0.5) + 1.0 / 0.5));
  loss.backward();
  EXPECT_EQ(z.grad().item<double>(), 0.5 * (1.0 / 0.5 - 1.0 / 0.25));
  // A NaN variance passes the check (as PyTorch's `var < 0` test) and gives NaN.
  EXPECT_TRUE(std::isnan(F::gaussian_nll_loss(f64({0.0, 0.0}), f64({0.0, 0.0}), f64({kNaN, 1.0})).item<double>()));
  // The three take their common dtype; a 0-d input with a variance of shape (1) broadcasts to (1), as PyTorch.
  EXPECT_EQ(F::gaussian_nll_loss(zeros({2}), zeros({2}), ones({2}, kFloat64)).dtype(), kFloat64);
  const Tensor one = F::gaussian_nll_loss(f64({1.0}).reshape({}), f64({0.0}).reshape({}), f64({2.0}), kNone);
  EXPECT_EQ(one.sizes(), (Shape{1}));
  EXPECT_EQ(one.item<double>(), 0.5 * (std::log(2.0) + 1.0 / 2.0));
}

TEST(TripletMargin, ZeroDimInputsAreSingleDistances) {
  // torch: triplet_margin_loss(1., 2., 0.) = max(1 + |1 − 2 + ε| − |1 − 0 + ε|, 0) = 1 − 2ε (ε = 1e-6).
  const Tensor loss =
      F::triplet_margin_loss(scalar_tensor(1.0, kFloat64), scalar_tensor(2.0, kFloat64), scalar_tensor(0.0, kFloat64));
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_NEAR(loss.item<double>(), 1.0 - 2e-6, 1e-15);
}

// =================================================================================================
// Modules and errors
// =================================================================================================

TEST(LossExtraModules, ForwardEqualsTheFunctionalAndPrintsLikePyTorch) {
  const Tensor x = uniform_leaf({3, 4}, -2, 2, 70).detach(), y = uniform_leaf({3, 4}, -2, 2, 71).detach();
  const Tensor s = y.sign(), v = y.abs() + 0.1;
  auto same = [](const Tensor& a, const Tensor& b) { EXPECT_EQ(a.item<double>(), b.item<double>()); };
  same(nn::HuberLoss(nn::HuberLossOptions().delta(0.5))->forward(x, y),
       F::huber_loss(x, y, F::HuberLossFuncOptions().delta(0.5)));
  same(nn::KLDivLoss(nn::KLDivLossOptions(kBatchMean))->forward(x, v), F::kl_div(x, v, kBatchMean));
  same(nn::GaussianNLLLoss(nn::GaussianNLLLossOptions().full(true))->forward(x, y, v),
       F::gaussian_nll_loss(x, y, v, F::GaussianNLLLossFuncOptions().full(true)));
  same(nn::PoissonNLLLoss(nn::PoissonNLLLossOptions().log_input(false))->forward(v, v),
       F::poisson_nll_loss(v, v, F::PoissonNLLLossFuncOptions().log_input(false)));
  same(nn::MarginRankingLoss(nn::MarginRankingLossOptions().margin(0.5))->forward(x, y, s),
       F::margin_ranking_loss(x, y, s, F::MarginRankingLossFuncOptions().margin(0.5)));
  same(nn::HingeEmbeddingLoss(nn::HingeEmbeddingLossOptions().margin(2.0))->forward(x, s),
       F::hinge_embedding_loss(x, s, F::HingeEmbeddingLossFuncOptions().margin(2.0)));
  same(nn::SoftMarginLoss(kSum)->forward(x, s), F::soft_margin_loss(x, s, kSum));
  const Tensor pairs = s.select(1, 0);
  same(nn::CosineEmbeddingLoss(nn::CosineEmbeddingLossOptions().margin(0.2))->forward(x, y, pairs),
       F::cosine_embedding_loss(x, y, pairs, F::CosineEmbeddingLossFuncOptions().margin(0.2)));
  same(nn::TripletMarginLoss(nn::TripletMarginLossOptions().swap(true))->forward(x, y, v),
       F::triplet_margin_loss(x, y, v, F::TripletMarginLossFuncOptions().swap(true)));
  std::ostringstream out;
  out << *nn::HuberLoss() << " " << *nn::KLDivLoss() << " " << *nn::GaussianNLLLoss() << " " << *nn::PoissonNLLLoss()
      << " " << *nn::MarginRankingLoss() << " " << *nn::HingeEmbeddingLoss() << " " << *nn::SoftMarginLoss() << " "
      << *nn::CosineEmbeddingLoss() << " " << *nn::TripletMarginLoss();
  EXPECT_EQ(out.str(),
            "HuberLoss() KLDivLoss() GaussianNLLLoss() PoissonNLLLoss() MarginRankingLoss() HingeEmbeddingLoss() "
            "SoftMarginLoss() CosineEmbeddingLoss() TripletMarginLoss()");
  // PyTorch's defaults.
  EXPECT_EQ(nn::HuberLossOptions().delta(), 1.0);
  EXPECT_EQ(nn::KLDivLossOptions().reduction(), KLDivReduction::Mean);
  EXPECT_EQ(nn::KLDivLossOptions(kSum).reduction(), KLDivReduction::Sum);
  EXPECT_FALSE(nn::KLDivLossOptions().log_target());
  EXPECT_EQ(nn::GaussianNLLLossOptions().eps(), 1e-6);
  EXPECT_FALSE(nn::GaussianNLLLossOptions().full());
  EXPECT_TRUE(nn::PoissonNLLLossOptions().log_input());
  EXPECT_EQ(nn::PoissonNLLLossOptions().eps(), 1e-8);
  EXPECT_EQ(nn::MarginRankingLossOptions().margin(), 0.0);
  EXPECT_EQ(nn::HingeEmbeddingLossOptions().margin(), 1.0);
  EXPECT_EQ(nn::CosineEmbeddingLossOptions().margin(), 0.0);
  EXPECT_EQ(nn::TripletMarginLossOptions().margin(), 1.0);
  EXPECT_EQ(nn::TripletMarginLossOptions().p(), 2.0);
  EXPECT_EQ(nn::TripletMarginLossOptions().eps(), 1e-6);
  EXPECT_FALSE(nn::TripletMarginLossOptions().swap());
  EXPECT_ERROR_CONTAINS(nn::HuberLoss()->forward(zeros({2})), "HuberLoss");
}

TEST(LossExtraErrors, BadArgumentsNameTheOpAndTheValues) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_EQ(F::huber_loss(x, x, F::HuberLossFuncOptions().delta(0.0)),
                  "huber_loss: delta must be positive (got delta=0)");
  EXPECT_ERROR_CONTAINS(F::huber_loss(x, zeros({3})), "huber_loss: target size [3] differs from input size [2, 3]");
  EXPECT_ERROR_CONTAINS(F::kl_div(x, zeros({2, 1})), "kl_div: target size [2, 1] differs from input size [2, 3]");
  EXPECT_ERROR_EQ(F::kl_div(x, zeros({2, 3}, kInt64)),
                  "kl_div: expected floating-point input and target, but got float32 and int64");
  EXPECT_ERROR_EQ(F::gaussian_nll_loss(x, x, ones({3})),
                  "gaussian_nll_loss: var of shape [3] does not fit the input's shape [2, 3] (it must be that shape, "
                  "that shape without its last dim, or that shape with a last dim of 1)");
  EXPECT_ERROR_EQ(F::gaussian_nll_loss(x, x, -ones({2, 3})), "gaussian_nll_loss: var has negative entry/entries");
  EXPECT_ERROR_EQ(F::gaussian_nll_loss(x, x, ones({2, 3}), F::GaussianNLLLossFuncOptions().eps(-1.0)),
                  "gaussian_nll_loss: eps must be non-negative (got eps=-1)");
  EXPECT_ERROR_EQ(F::gaussian_nll_loss(x, x, Tensor()), "gaussian_nll_loss: argument 'var' is an undefined tensor");
  EXPECT_ERROR_EQ(F::margin_ranking_loss(x, x, zeros({3})),
                  "margin_ranking_loss: all input tensors should have the same number of dims, but got sizes input1: "
                  "[2, 3], input2: [2, 3], target: [3]");
  EXPECT_ERROR_EQ(F::hinge_embedding_loss(x, zeros({2, 3}, kInt64)),
                  "hinge_embedding_loss: target must be floating point, but is int64");
  EXPECT_ERROR_EQ(F::cosine_embedding_loss(x, x, zeros({2, 1})),
                  "cosine_embedding_loss: expected a 0-d or 1-d target (multi-target is not supported), but got size "
                  "[2, 1]");
  EXPECT_ERROR_EQ(F::cosine_embedding_loss(x, zeros({3}), zeros({2})),
                  "cosine_embedding_loss: a 1-d target expects 2-d inputs, but got inputs of sizes [2, 3] and [3]");
  EXPECT_ERROR_EQ(F::triplet_margin_loss(x, x, zeros({3})),
                  "triplet_margin_loss: all inputs should have the same number of dims, but got 2-d, 2-d and 1-d "
                  "inputs");
  EXPECT_ERROR_EQ(F::soft_margin_loss(x, zeros({3, 2})),
                  "soft_margin_loss: target size [3, 2] differs from input size [2, 3] (PyTorch would broadcast them; "
                  "reshape one of them to match)");
  EXPECT_ERROR_EQ(F::soft_margin_loss(x, Tensor()), "soft_margin_loss: argument 'target' is an undefined tensor");
  EXPECT_ERROR_EQ(F::margin_ranking_loss(x, zeros({2, 4}), x),
                  "margin_ranking_loss: shapes [2, 3] and [2, 4] cannot be broadcast");
  EXPECT_ERROR_EQ(F::hinge_embedding_loss(x, zeros({4})),
                  "hinge_embedding_loss: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR_EQ(F::cosine_embedding_loss(x, x, zeros({3})),
                  "cosine_embedding_loss: shapes [2] and [3] cannot be broadcast");
  EXPECT_ERROR_EQ(F::kl_div(x, x, F::KLDivFuncOptions(static_cast<Reduction>(7))), "kl_div: invalid reduction 7");
  EXPECT_ERROR_EQ(F::huber_loss(x, x, F::HuberLossFuncOptions(static_cast<Reduction>(7))),
                  "huber_loss: invalid reduction 7");
}

// =================================================================================================
// multi_margin_loss, multilabel_soft_margin_loss, triplet_margin_with_distance_loss
// =================================================================================================

TEST(MultiClassLosses, GradcheckModulesAndTheirDefaults) {
  const Tensor x = uniform_leaf({4, 5}, -1, 1, 80), t = uniform_leaf({4, 5}, 0, 1, 81);
  const Tensor classes = tensor({3.0, 0.0, 4.0, 1.0}, kFloat64).to(kInt64);
  const Tensor w = uniform_leaf({5}, 0.5, 1.5, 82).detach();
  for (Reduction r : kAllReductions) {
    SCOPED_TRACE(reduction_name(r));
    for (std::int64_t p : {1, 2}) {
      const auto f = [&](const std::vector<Tensor>& in) {
        return F::multi_margin_loss(in[0], classes, F::MultiMarginLossFuncOptions(r).p(p).margin(0.7).weight(w));
      };
      expect_gradcheck(f, {x});
      expect_gradgradcheck(f, {x});
    }
    const auto soft = [&](const std::vector<Tensor>& in) {
      return F::multilabel_soft_margin_loss(in[0], in[1], F::MultilabelSoftMarginLossFuncOptions(r).weight(in[2]));
    };
    const Tensor wl = uniform_leaf({5}, 0.5, 1.5, 83);
    expect_gradcheck(soft, {x, t, wl});
    expect_gradgradcheck(soft, {x, t, wl});
    const auto cosine = [](const Tensor& a, const Tensor& b) { return 1.0 - F::cosine_similarity(a, b); };
    const auto triplet = [&](const std::vector<Tensor>& in) {
      return F::triplet_margin_with_distance_loss(
          in[0], in[1], in[2],
          F::TripletMarginWithDistanceLossFuncOptions(r).distance_function(cosine).swap(true).margin(0.4));
    };
    const Tensor n = uniform_leaf({4, 5}, -1, 1, 84);
    expect_gradcheck(triplet, {x, t, n});
    expect_gradgradcheck(triplet, {x, t, n});
  }
  // The default distance is pairwise_distance; the modules are the functions.
  const Tensor a = x.detach(), b = t.detach(), c = uniform_leaf({4, 5}, -1, 1, 85).detach();
  EXPECT_TRUE(bit_identical(F::triplet_margin_with_distance_loss(a, b, c), F::triplet_margin_loss(a, b, c)));
  EXPECT_TRUE(bit_identical(nn::TripletMarginWithDistanceLoss()->forward(a, b, c),
                            F::triplet_margin_with_distance_loss(a, b, c)));
  EXPECT_TRUE(bit_identical(nn::MultiMarginLoss(nn::MultiMarginLossOptions().p(2))->forward(a, classes),
                            F::multi_margin_loss(a, classes, F::MultiMarginLossFuncOptions().p(2))));
  EXPECT_TRUE(
      bit_identical(nn::MultiLabelSoftMarginLoss(kSum)->forward(a, b), F::multilabel_soft_margin_loss(a, b, kSum)));
  std::ostringstream out;
  out << *nn::MultiMarginLoss() << " " << *nn::MultiLabelSoftMarginLoss() << " "
      << *nn::TripletMarginWithDistanceLoss();
  EXPECT_EQ(out.str(), "MultiMarginLoss() MultiLabelSoftMarginLoss() TripletMarginWithDistanceLoss()");
  EXPECT_EQ(nn::MultiMarginLossOptions().p(), 1);
  EXPECT_EQ(nn::MultiMarginLossOptions().margin(), 1.0);
  EXPECT_FALSE(nn::MultiMarginLossOptions().weight().defined());
  EXPECT_EQ(nn::TripletMarginWithDistanceLossOptions().margin(), 1.0);
  EXPECT_FALSE(nn::TripletMarginWithDistanceLossOptions().swap());
  EXPECT_FALSE(static_cast<bool>(nn::TripletMarginWithDistanceLossOptions().distance_function()));
  // One sample: (C) with a 0-d target gives a 0-d loss under kNone, with a (1) target a (1) loss.
  const Tensor row = a.select(0, 0);
  EXPECT_EQ(F::multi_margin_loss(row, tensor({2.0}, kFloat64).to(kInt64).reshape({}), kNone).dim(), 0);
  EXPECT_EQ(F::multi_margin_loss(row, tensor({2.0}, kFloat64).to(kInt64), kNone).sizes(), (Shape{1}));
  // Views of the input: the same bits as a contiguous copy.
  const Tensor wide = uniform_leaf({4, 10}, -1, 1, 86).detach().slice(1, 0, 10, 2);
  EXPECT_TRUE(bit_identical(F::multi_margin_loss(wide, classes), F::multi_margin_loss(wide.contiguous(), classes)));
  EXPECT_TRUE(bit_identical(F::multilabel_soft_margin_loss(wide.t(), b.t()),
                            F::multilabel_soft_margin_loss(wide.t().contiguous(), b.t().contiguous())));
}

TEST(MultiClassLosses, ErrorsNameTheOpAndTheValues) {
  const Tensor x = zeros({2, 3}), y = tensor({0.0, 2.0}, kFloat64).to(kInt64);
  EXPECT_ERROR_EQ(F::multi_margin_loss(x, tensor({0.0, 3.0}, kFloat64).to(kInt64)),
                  "multi_margin_loss: target 3 of sample 1 is out of range for 3 classes");
  EXPECT_ERROR_EQ(F::multi_margin_loss(x, zeros({2})),
                  "multi_margin_loss: expected an int64 target (class indices), but got float32");
  EXPECT_ERROR_EQ(F::multi_margin_loss(x, zeros({3}, kInt64)),
                  "multi_margin_loss: inconsistent target size, expected 2 but got [3]");
  EXPECT_ERROR_EQ(F::multi_margin_loss(zeros({2, 3, 4}), y),
                  "multi_margin_loss: expected a non-empty vector or matrix with an optional 0-dim batch size, but got "
                  "input of size [2, 3, 4]");
  EXPECT_ERROR_EQ(F::multi_margin_loss(x, y, F::MultiMarginLossFuncOptions().p(3)),
                  "multi_margin_loss: only p == 1 and p == 2 are supported, but got p = 3");
  EXPECT_ERROR_EQ(F::multi_margin_loss(x, y, F::MultiMarginLossFuncOptions().weight(ones({4}))),
                  "multi_margin_loss: inconsistent weight size, expected 3 but got [4]");
  EXPECT_ERROR_EQ(F::multi_margin_loss(x, Tensor()), "multi_margin_loss: argument 'target' is an undefined tensor");
  EXPECT_ERROR_EQ(F::multilabel_soft_margin_loss(x, zeros({3, 2})),
                  "multilabel_soft_margin_loss: target size [3, 2] differs from input size [2, 3] (PyTorch would "
                  "broadcast them; reshape one of them to match)");
  EXPECT_ERROR_EQ(F::multilabel_soft_margin_loss(x, x, F::MultilabelSoftMarginLossFuncOptions().weight(ones({4}))),
                  "multilabel_soft_margin_loss: shapes [4] and [2, 3] cannot be broadcast");
  EXPECT_ERROR_EQ(F::multilabel_soft_margin_loss(zeros({}), zeros({})),
                  "multilabel_soft_margin_loss: expected an input with a class dim, but got a 0-d input");
  EXPECT_ERROR_EQ(
      F::triplet_margin_with_distance_loss(x, x, x, F::TripletMarginWithDistanceLossFuncOptions().margin(0)),
      "triplet_margin_with_distance_loss: expected margin to be greater than 0, got 0");
  EXPECT_ERROR_EQ(F::triplet_margin_with_distance_loss(x, x, zeros({3})),
                  "triplet_margin_with_distance_loss: all inputs should have the same number of dims, but got 2-d, "
                  "2-d and 1-d inputs");
  EXPECT_ERROR_EQ(F::triplet_margin_with_distance_loss(x, zeros({2, 3}, kInt64), x),
                  "triplet_margin_with_distance_loss: positive must be floating point, but is int64");
}

// =================================================================================================
// multilabel_margin_loss
// =================================================================================================

// PyTorch's kernel, summed in double as there: the fixture's values and gradients bit for bit.
TEST(MultiLabelMarginLoss, FixtureCasesBitForBit) {
  int checked = 0;
  for (const json& c : fixture()["cases"]) {
    if (c["fn"] != "multilabel_margin_loss") continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    const Tensor x = json_tensor(c["inputs"]["input"]).requires_grad_(true);
    const Tensor out = call_loss(c["fn"], {x, json_tensor(c["inputs"]["target"])}, c["options"], Tensor());
    EXPECT_TRUE(same_bits_any_nan(out, json_tensor(c["output"])));
    if (c["grad_output"].is_null()) {
      out.backward();
    } else {
      out.backward(json_tensor(c["grad_output"]));
    }
    EXPECT_TRUE(same_bits_any_nan(x.grad(), json_tensor(c["grads"]["input"])));
    ++checked;
  }
  EXPECT_GE(checked, 11);
}

TEST(MultiLabelMarginLoss, GradcheckViewsAndTheModule) {
  const Tensor x = uniform_leaf({4, 6}, -1, 1, 90);
  // Row 0 lists class 2 twice; row 3 lists every class (no hinge at all).
  const Tensor y = tensor({2, 2, 5, -1, 0, 0, 1, -1, 3, 3, 3, 3, 4, 0, 1, -1, 5, 5, 0, 1, 2, 3, 4, 5}, kFloat64)
                       .to(kInt64)
                       .reshape({4, 6});
  const Tensor row = uniform_leaf({6}, -1, 1, 92);  // unbatched, with a non-unit upstream gradient in gradcheck
  for (Reduction r : kAllReductions) {
    SCOPED_TRACE(reduction_name(r));
    const auto f = [&](const std::vector<Tensor>& in) { return F::multilabel_margin_loss(in[0], y, r); };
    expect_gradcheck(f, {x});
    expect_gradgradcheck(f, {x});  // PyTorch 1.13 has no double backward here
    const auto g = [&](const std::vector<Tensor>& in) { return F::multilabel_margin_loss(in[0], y.select(0, 1), r); };
    expect_gradcheck(g, {row});
  }
  // No samples: a mean of 0 / 0, a sum of 0 (PyTorch 1.13 returns uninitialised memory). A NaN input makes its
  // hinges NaN, which count as 0 (z > 0 is false), as in PyTorch: no loss and no gradient from them.
  EXPECT_TRUE(std::isnan(F::multilabel_margin_loss(zeros({0, 3}), zeros({0, 3}, kInt64)).item<double>()));
  EXPECT_EQ(F::multilabel_margin_loss(zeros({0, 3}), zeros({0, 3}, kInt64), kSum).item<double>(), 0.0);
  const Tensor nan_row = tensor({std::nan(""), 0.5, 0.25}, kFloat64).requires_grad_(true);
  const Tensor first = tensor({0.0, -1.0, 0.0}, kFloat64).to(kInt64);
  const Tensor l = F::multilabel_margin_loss(nan_row, first, kSum);
  EXPECT_EQ(l.item<double>(), 0.0);
  l.backward();
  EXPECT_EQ(values(nan_row.grad()), (std::vector<double>{0.0, 0.0, 0.0}));
  const Tensor a = x.detach();
  EXPECT_TRUE(bit_identical(nn::MultiLabelMarginLoss(kSum)->forward(a, y), F::multilabel_margin_loss(a, y, kSum)));
  std::ostringstream out;
  out << *nn::MultiLabelMarginLoss();
  EXPECT_EQ(out.str(), "MultiLabelMarginLoss()");
  EXPECT_EQ(nn::MultiLabelMarginLossOptions().reduction(), kMean);
  // Row 3 lists every class: a loss of 0. Unbatched (C) with kNone: a 0-d loss, as PyTorch.
  EXPECT_EQ(F::multilabel_margin_loss(a, y, kNone).select(0, 3).item<double>(), 0.0);
  EXPECT_EQ(F::multilabel_margin_loss(a.select(0, 0), y.select(0, 0), kNone).dim(), 0);
  EXPECT_EQ(F::multilabel_margin_loss(zeros({}), zeros({}, kInt64), kNone).dim(), 0);
  // Views of the input and the target: the same bits as contiguous copies.
  const Tensor wide = uniform_leaf({4, 12}, -1, 1, 91).detach().slice(1, 0, 12, 2);
  const Tensor yt = y.t().contiguous().t();
  EXPECT_TRUE(bit_identical(F::multilabel_margin_loss(wide, yt, kNone),
                            F::multilabel_margin_loss(wide.contiguous(), y, kNone)));
}

TEST(MultiLabelMarginLoss, ErrorsNameTheOpAndTheValues) {
  const Tensor x = zeros({2, 3});
  const Tensor y = zeros({2, 3}, kInt64);
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(x, full({2, 3}, 3.0).to(kInt64)),
                  "multilabel_margin_loss: target 3 of sample 0 is out of range for 3 classes (class indices, or -1 to "
                  "end the list)");
  // Every target value is checked, those after the list's −1 too.
  EXPECT_ERROR_EQ(
      F::multilabel_margin_loss(x, tensor({0.0, -1.0, 5.0, 0.0, 1.0, 2.0}, kFloat64).to(kInt64).reshape({2, 3})),
      "multilabel_margin_loss: target 5 of sample 0 is out of range for 3 classes (class indices, or -1 to "
      "end the list)");
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(x, full({2, 3}, -2.0).to(kInt64)),
                  "multilabel_margin_loss: target -2 of sample 0 is out of range for 3 classes (class indices, or -1 "
                  "to end the list)");
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(x, zeros({2, 3})),
                  "multilabel_margin_loss: expected an int64 target (class indices), but got float32");
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(x, zeros({1, 3}, kInt64)),
                  "multilabel_margin_loss: inconsistent target size [1, 3] for input of size [2, 3]");
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(zeros({3}), zeros({2}, kInt64)),
                  "multilabel_margin_loss: inconsistent target size [2] for input of size [3]");
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(zeros({2, 3, 4}), y),
                  "multilabel_margin_loss: expected a non-empty vector or matrix with an optional 0-dim batch size, "
                  "but got input of size [2, 3, 4]");
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(zeros({2, 0}), zeros({2, 0}, kInt64)),
                  "multilabel_margin_loss: expected a non-empty vector or matrix with an optional 0-dim batch size, "
                  "but got input of size [2, 0]");
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(x, Tensor()),
                  "multilabel_margin_loss: argument 'target' is an undefined tensor");
  EXPECT_ERROR_EQ(F::multilabel_margin_loss(x, y, static_cast<Reduction>(7)),
                  "multilabel_margin_loss: invalid reduction 7");
}

}  // namespace
