// dice_loss, dice_ce_loss, one_hot and the DiceLoss / DiceCELoss modules: MONAI's formulas against a
// naive loop reference for every option, hand-computed values, float64 gradchecks, and the errors.

#include <cmath>

#include "test_util.h"

namespace voxgrad {
namespace {

namespace F = nn::functional;
using nn::DiceCELossOptions;
using nn::DiceLossOptions;
using testing::values;

// MONAI's DiceLoss written out with loops over [B, C, S] (S = the flattened spatial dims).
std::vector<double> naive_dice(const Tensor& input, const Tensor& target, const DiceLossOptions& o) {
  const std::int64_t B = input.size(0), C = input.size(1), S = input.numel() / (B * C);
  std::vector<double> x = values(input), y = values(target);
  if (o.sigmoid()) {
    for (double& v : x) v = 1 / (1 + std::exp(-v));
  }
  if (o.softmax()) {
    for (std::int64_t b = 0; b < B; ++b) {
      for (std::int64_t s = 0; s < S; ++s) {
        double z = 0;
        for (std::int64_t c = 0; c < C; ++c) z += std::exp(x[(b * C + c) * S + s]);
        for (std::int64_t c = 0; c < C; ++c) x[(b * C + c) * S + s] = std::exp(x[(b * C + c) * S + s]) / z;
      }
    }
  }
  if (o.to_onehot_y()) {
    std::vector<double> hot(x.size(), 0.0);
    for (std::int64_t b = 0; b < B; ++b) {
      for (std::int64_t s = 0; s < S; ++s) hot[(b * C + static_cast<std::int64_t>(y[b * S + s])) * S + s] = 1;
    }
    y = hot;
  }
  const std::int64_t c0 = o.include_background() ? 0 : 1;
  const std::int64_t rows = o.batch() ? 1 : B;
  std::vector<double> f;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = c0; c < C; ++c) {
      double inter = 0, g = 0, p = 0;
      for (std::int64_t b = o.batch() ? 0 : r; b < (o.batch() ? B : r + 1); ++b) {
        for (std::int64_t s = 0; s < S; ++s) {
          const double xv = x[(b * C + c) * S + s], yv = y[(b * C + c) * S + s];
          inter += xv * yv;
          g += o.squared_pred() ? yv * yv : yv;
          p += o.squared_pred() ? xv * xv : xv;
        }
      }
      double den = g + p;
      if (o.jaccard()) den = 2 * (den - inter);
      double v = 1 - (2 * inter + o.smooth_nr()) / (den + o.smooth_dr());
      if (o.weight().defined()) v *= values(o.weight())[o.weight().numel() == 1 ? 0 : static_cast<std::size_t>(c - c0)];
      f.push_back(v);
    }
  }
  if (o.reduction() == kNone) return f;
  double sum = 0;
  for (const double v : f) sum += v;
  return {o.reduction() == kMean ? sum / static_cast<double>(f.size()) : sum};
}

// Class indices [B, 1, spatial...] with values in [0, C).
Tensor random_labels(const Shape& shape, std::int64_t classes, std::uint64_t seed) {
  manual_seed(seed);
  return randint(0, classes, shape).to(kFloat64);
}

TEST(DiceLoss, HandComputedValue) {
  // One sample, one channel, probabilities x = (0.2, 0.8), target y = (0, 1):
  // 1 − (2·0.8 + 1e-5) / (1 + 1 + 1e-5).
  const Tensor x = testing::f64({0.2, 0.8}, {1, 1, 2});
  const Tensor y = testing::f64({0.0, 1.0}, {1, 1, 2});
  EXPECT_NEAR(F::dice_loss(x, y).item<double>(), 1 - (1.6 + 1e-5) / (2 + 1e-5), 1e-15);
  EXPECT_NEAR(F::dice_loss(x, y, DiceLossOptions().jaccard(true)).item<double>(),
              1 - (1.6 + 1e-5) / (2 * (2 - 0.8) + 1e-5), 1e-15);
  EXPECT_NEAR(F::dice_loss(x, y, DiceLossOptions().squared_pred(true)).item<double>(),
              1 - (1.6 + 1e-5) / (1 + 0.68 + 1e-5), 1e-15);
}

TEST(DiceLoss, MatchesTheNaiveReferenceForEveryOption) {
  const Shape shape{2, 3, 4, 3, 2};
  const Tensor logits = testing::uniform_leaf(shape, -3, 3, 1).detach();
  const Tensor labels = random_labels({2, 1, 4, 3, 2}, 3, 2);
  const Tensor soft_target = F::one_hot(labels, 3, 1, kFloat64);
  int combos = 0;
  for (const int act : {0, 1, 2}) {
    for (const bool onehot : {false, true}) {
      for (const bool background : {true, false}) {
        for (const bool squared : {false, true}) {
          for (const bool jaccard : {false, true}) {
            for (const bool batch : {false, true}) {
              for (const Reduction red : {kMean, kSum, kNone}) {
                DiceLossOptions o(red);
                o.sigmoid(act == 1).softmax(act == 2).to_onehot_y(onehot).include_background(background);
                o.squared_pred(squared).jaccard(jaccard).batch(batch).smooth_nr(0.01).smooth_dr(0.02);
                if (combos % 3 == 0)
                  o.weight(testing::f64(background ? std::vector<double>{0.5, 1, 2} : std::vector<double>{3, 0.25}));
                const Tensor t = onehot ? labels : soft_target;
                const Tensor got = F::dice_loss(logits, t, o);
                const std::vector<double> want = naive_dice(logits, t, o);
                SCOPED_TRACE(::testing::Message() << "combo " << combos);
                const std::vector<double> g = values(got);
                ASSERT_EQ(g.size(), want.size());
                for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], 1e-12);
                if (red == kNone) {
                  const std::int64_t cls = background ? 3 : 2;
                  EXPECT_EQ(got.sizes(), batch ? (Shape{cls, 1, 1, 1}) : (Shape{2, cls, 1, 1, 1})) << "MONAI's shape";
                }
                ++combos;
              }
            }
          }
        }
      }
    }
  }
}

TEST(DiceLoss, NonContiguousInputsGiveTheSameLoss) {
  const Tensor base = testing::uniform_leaf({2, 5, 4, 3}, -2, 2, 3).detach();
  const Tensor permuted =
      base.permute({0, 3, 2, 1}).contiguous().permute({0, 3, 2, 1});  // same values, permuted strides
  const Tensor strided = testing::uniform_leaf({2, 5, 8, 3}, -2, 2, 4).detach().slice(2, 0, std::nullopt, 2);
  const Tensor labels = random_labels({2, 1, 4, 3}, 5, 5);
  const DiceLossOptions o = DiceLossOptions().softmax(true).to_onehot_y(true);
  EXPECT_EQ(F::dice_loss(permuted, labels, o).item<double>(), F::dice_loss(base, labels, o).item<double>());
  EXPECT_NEAR(F::dice_loss(strided, labels, o).item<double>(), naive_dice(strided.contiguous(), labels, o)[0], 1e-12);
  const Tensor one_label = random_labels({1, 1, 4, 3}, 5, 6);
  const Tensor expanded = one_label.expand({2, 1, 4, 3});
  EXPECT_NEAR(F::dice_loss(strided, expanded, o).item<double>(), naive_dice(strided, expanded.contiguous(), o)[0],
              1e-12);
}

TEST(DiceLoss, Gradcheck) {
  const Tensor labels = random_labels({2, 1, 3, 2, 2}, 3, 7);
  for (const auto& o : {DiceLossOptions().softmax(true).to_onehot_y(true),
                        DiceLossOptions().sigmoid(true).to_onehot_y(true).include_background(false).squared_pred(true),
                        DiceLossOptions(kSum).softmax(true).to_onehot_y(true).jaccard(true).batch(true).weight(
                            testing::f64({1, 2, 0.5})),
                        DiceLossOptions(kNone).sigmoid(true).to_onehot_y(true)}) {
    const Tensor x = testing::uniform_leaf({2, 3, 3, 2, 2}, -2, 2, 8);
    testing::expect_gradcheck([&](const std::vector<Tensor>& in) { return F::dice_loss(in[0], labels, o).sum(); }, {x});
  }
  // A soft target is differentiable too.
  const Tensor x = testing::uniform_leaf({1, 2, 3, 3}, 0.1, 0.9, 9);
  const Tensor y = testing::uniform_leaf({1, 2, 3, 3}, 0, 1, 10);
  testing::expect_gradcheck([](const std::vector<Tensor>& in) { return F::dice_loss(in[0], in[1]); }, {x, y});
}

TEST(DiceCELoss, IsDicePlusCrossEntropyAsMonai) {
  const Tensor logits = testing::uniform_leaf({2, 3, 4, 4}, -2, 2, 11).detach();
  const Tensor labels = random_labels({2, 1, 4, 4}, 3, 12);
  const Tensor w = testing::f64({0.5, 1, 2});
  const DiceLossOptions dice = DiceLossOptions().softmax(true).to_onehot_y(true).weight(w);
  const auto opts = DiceCELossOptions(dice).lambda_dice(0.7).lambda_ce(1.3).label_smoothing(0.1);
  const double ce = F::cross_entropy(logits, labels.squeeze(1).to(kInt64),
                                     nn::CrossEntropyLossOptions().weight(w).label_smoothing(0.1))
                        .item<double>();
  EXPECT_NEAR(F::dice_ce_loss(logits, labels, opts).item<double>(),
              0.7 * naive_dice(logits, labels, dice)[0] + 1.3 * ce, 1e-12);
  // One-hot (probability) targets use cross entropy with class probabilities.
  const Tensor hot = F::one_hot(labels, 3, 1, kFloat64);
  const double ce_prob = F::cross_entropy(logits, hot).item<double>();
  EXPECT_NEAR(F::dice_ce_loss(logits, hot, DiceCELossOptions(DiceLossOptions().softmax(true))).item<double>(),
              naive_dice(logits, hot, DiceLossOptions().softmax(true))[0] + ce_prob, 1e-12);
  // A single channel uses binary cross entropy with logits (pos_weight = weight).
  const Tensor one = logits.narrow(1, 0, 1).contiguous();
  const Tensor mask = labels.gt(0.5).to(kFloat64);
  const double bce = F::binary_cross_entropy_with_logits(one, mask).item<double>();
  EXPECT_NEAR(F::dice_ce_loss(one, mask, DiceCELossOptions(DiceLossOptions().sigmoid(true))).item<double>(),
              naive_dice(one, mask, DiceLossOptions().sigmoid(true))[0] + bce, 1e-12);
}

TEST(DiceCELoss, Gradcheck) {
  const Tensor labels = random_labels({2, 1, 3, 2}, 3, 13);
  const Tensor x = testing::uniform_leaf({2, 3, 3, 2}, -2, 2, 14);
  const auto o = DiceCELossOptions(DiceLossOptions().softmax(true).to_onehot_y(true).include_background(false));
  testing::expect_gradcheck([&](const std::vector<Tensor>& in) { return F::dice_ce_loss(in[0], labels, o); }, {x});
  const Tensor m = testing::uniform_leaf({2, 1, 3, 2}, -2, 2, 15);
  const Tensor mask = labels.gt(0.5).to(kFloat64);
  testing::expect_gradcheck(
      [&](const std::vector<Tensor>& in) {
        return F::dice_ce_loss(in[0], mask, DiceCELossOptions(DiceLossOptions(kSum).sigmoid(true)));
      },
      {m});
}

TEST(DiceLoss, ModulesKeepTheWeightAsABuffer) {
  const Tensor logits = testing::uniform_leaf({1, 2, 3, 3}, -1, 1, 16).detach();
  const Tensor labels = random_labels({1, 1, 3, 3}, 2, 17);
  const auto o = DiceLossOptions().softmax(true).to_onehot_y(true).weight(testing::f64({1, 3}));
  nn::DiceLoss dice(o);
  EXPECT_EQ(dice->named_buffers().size(), 1u);
  EXPECT_EQ(dice->forward(logits, labels).item<double>(), F::dice_loss(logits, labels, o).item<double>());
  nn::DiceCELoss dice_ce(DiceCELossOptions(o).lambda_ce(0.5));
  EXPECT_EQ(dice_ce->named_buffers().size(), 1u);
  EXPECT_EQ(dice_ce->forward(logits, labels).item<double>(),
            F::dice_ce_loss(logits, labels, DiceCELossOptions(o).lambda_ce(0.5)).item<double>());
}

TEST(OneHot, EncodesAlongTheChosenDim) {
  const Tensor labels = testing::f64({2, 0, 1}, {1, 1, 3});
  testing::expect_values(F::one_hot(labels, 3), {1, 3, 3}, {0, 1, 0, 0, 0, 1, 1, 0, 0});
  testing::expect_values(F::one_hot(labels.reshape({1, 3, 1}), 3, -1), {1, 3, 3}, {0, 0, 1, 1, 0, 0, 0, 1, 0});
  EXPECT_EQ(F::one_hot(labels.to(kInt64), 3).dtype(), kFloat32);
}

TEST(DiceLoss, ErrorsNameTheArgumentAndValues) {
  const Tensor x = zeros({2, 3, 4, 4});
  const Tensor labels = zeros({2, 1, 4, 4});
  EXPECT_ERROR_CONTAINS(F::dice_loss(x, labels, DiceLossOptions().sigmoid(true).softmax(true)),
                        "dice_loss: sigmoid and softmax are mutually exclusive");
  EXPECT_ERROR_CONTAINS(F::dice_loss(zeros({2, 1, 4}), zeros({2, 1, 4}), DiceLossOptions().softmax(true)),
                        "dice_loss: softmax needs more than one channel, but the input has shape [2, 1, 4]");
  EXPECT_ERROR_CONTAINS(F::dice_loss(zeros({2, 1, 4}), zeros({2, 1, 4}), DiceLossOptions().include_background(false)),
                        "dice_loss: include_background=false needs more than one channel");
  EXPECT_ERROR_CONTAINS(F::dice_loss(zeros({2, 3}), zeros({2, 3})),
                        "dice_loss: expected input [B, C, spatial...] with at least 3 dims, but got shape [2, 3]");
  EXPECT_ERROR_CONTAINS(F::dice_loss(x, labels),
                        "dice_loss: ground truth has different shape ([2, 1, 4, 4]) from input ([2, 3, 4, 4])");
  EXPECT_ERROR_CONTAINS(F::dice_loss(x, zeros({2, 3, 4, 4}, kInt64)),
                        "the target must be floating point (one-hot or probabilities), but is int64");
  EXPECT_ERROR_CONTAINS(F::dice_loss(x, zeros({2, 3, 4, 4}), DiceLossOptions().to_onehot_y(true)),
                        "dice_loss: with to_onehot_y the target must be class indices [B, 1, spatial...] for input [2, "
                        "3, 4, 4], but has shape [2, 3, 4, 4]");
  EXPECT_ERROR_CONTAINS(F::dice_loss(x, full({2, 1, 4, 4}, 3.0), DiceLossOptions().to_onehot_y(true)),
                        "one_hot: label 3 at flat index 0 is not a class index in [0, 3)");
  EXPECT_ERROR_CONTAINS(F::dice_loss(x, full({2, 1, 4, 4}, 0.5), DiceLossOptions().to_onehot_y(true)),
                        "one_hot: label 0.5 at flat index 0 is not a class index");
  EXPECT_ERROR_CONTAINS(
      F::dice_loss(x, labels, DiceLossOptions().to_onehot_y(true).include_background(false).weight(ones({3}))),
      "dice_loss: weight must be a floating-point scalar or hold one value per class (2 after include_background), but "
      "has shape [3]");
  EXPECT_ERROR_CONTAINS(F::dice_loss(x, labels, DiceLossOptions().to_onehot_y(true).weight(tensor({1.0, -1.0, 1.0}))),
                        "dice_loss: weight values must be non-negative");
  EXPECT_ERROR_CONTAINS(F::dice_ce_loss(x, labels, DiceCELossOptions(DiceLossOptions(kNone).to_onehot_y(true))),
                        "dice_ce_loss: reduction must be mean or sum");
  EXPECT_ERROR_CONTAINS(F::dice_ce_loss(x, zeros({2, 2, 4, 4})),
                        "dice_ce_loss: number of channels for target is neither 1 nor the same as input, got shape [2, "
                        "3, 4, 4] and [2, 2, 4, 4]");
  EXPECT_ERROR_CONTAINS(F::dice_ce_loss(x, zeros({2, 4, 4})),
                        "dice_ce_loss: the number of dimensions for input and target should be the same");
  EXPECT_ERROR_CONTAINS(F::dice_ce_loss(x, labels, DiceCELossOptions().lambda_ce(-1)),
                        "dice_ce_loss: lambda_dice and lambda_ce must be non-negative, but got 1 and -1");
  EXPECT_ERROR_CONTAINS(F::one_hot(zeros({2, 2}), 3), "one_hot: labels must have size 1 in dim 1");
  EXPECT_ERROR_CONTAINS(F::one_hot(zeros({2, 1}), 0), "one_hot: num_classes must be positive, but got 0");
}

}  // namespace
}  // namespace voxgrad
