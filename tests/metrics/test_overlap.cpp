// Dice and IoU metrics per class with MONAI's rules (ignore_empty, include_background) and MONAI's
// NaN-aware reductions, against hand-counted volumes and a naive reference.

#include <cmath>

#include "test_util.h"

namespace voxgrad {
namespace {

using metrics::MetricReduction;
using metrics::OverlapMetricOptions;
using testing::values;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Two samples, three classes (one-hot over 4 voxels).
//   sample 0: pred classes (0, 1, 1, 2), truth (0, 1, 2, 2)
//   sample 1: pred classes (0, 0, 1, 1), truth (0, 0, 0, 1)   -- class 2 absent from both
Tensor one_hot_of(const std::vector<double>& classes) {
  return nn::functional::one_hot(testing::f64(classes, {2, 1, 4}), 3, 1, kFloat64);
}
const Tensor& pred() {
  static const Tensor t = one_hot_of({0, 1, 1, 2, 0, 0, 1, 1});
  return t;
}
const Tensor& truth() {
  static const Tensor t = one_hot_of({0, 1, 2, 2, 0, 0, 0, 1});
  return t;
}

void expect_same(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i << ": " << got[i];
    } else {
      EXPECT_NEAR(got[i], want[i], 1e-15) << "at " << i;
    }
  }
}

TEST(OverlapMetrics, DiceAndIoUPerSampleAndClassByHand) {
  // Sample 0: class 0 |P∩G| 1, |P| 1, |G| 1; class 1: 1, 2, 1; class 2: 1, 1, 2.
  // Sample 1: class 0: 2, 2, 3; class 1: 1, 2, 1; class 2: empty in both.
  const Tensor dice = metrics::compute_dice(pred(), truth());
  EXPECT_EQ(dice.sizes(), (Shape{2, 3}));
  expect_same(values(dice), {1, 2.0 / 3, 2.0 / 3, 4.0 / 5, 2.0 / 3, kNaN});
  expect_same(values(metrics::compute_iou(pred(), truth())), {1, 0.5, 0.5, 2.0 / 3, 0.5, kNaN});
  // Without ignore_empty an empty class predicted empty scores 1; without background, C − 1 columns.
  expect_same(values(metrics::compute_dice(pred(), truth(), OverlapMetricOptions().ignore_empty(false))),
              {1, 2.0 / 3, 2.0 / 3, 4.0 / 5, 2.0 / 3, 1});
  expect_same(values(metrics::compute_dice(pred(), truth(), OverlapMetricOptions().include_background(false))),
              {2.0 / 3, 2.0 / 3, 2.0 / 3, kNaN});
  // A class present in the prediction only: 0 (ignore_empty only skips an empty ground truth).
  Tensor p = truth().clone();
  p.select(0, 1).select(0, 2).select(0, 3).fill_(1.0);
  EXPECT_EQ(metrics::compute_dice(p, truth(), OverlapMetricOptions().ignore_empty(false))
                .select(0, 1)
                .select(0, 2)
                .item<double>(),
            0.0);
  EXPECT_TRUE(std::isnan(metrics::compute_dice(p, truth()).select(0, 1).select(0, 2).item<double>()));
}

TEST(OverlapMetrics, ClassIndicesReadAsTheirOneHotChannels) {
  // MONAI 1.2+: y (or y_pred, given num_classes) may hold class indices in one channel, read as `== c`.
  const Tensor labels = testing::f64({0, 1, 2, 2, 0, 0, 0, 1}, {2, 1, 4});  // truth() as indices
  const Tensor pred_labels = testing::f64({0, 1, 1, 2, 0, 0, 1, 1}, {2, 1, 4});
  for (const bool background : {true, false}) {
    for (const bool ignore : {true, false}) {
      const auto o = OverlapMetricOptions().include_background(background).ignore_empty(ignore);
      const std::vector<double> want = values(metrics::compute_dice(pred(), truth(), o));
      expect_same(values(metrics::compute_dice(pred(), labels, o)), want);
      expect_same(values(metrics::compute_dice(pred_labels, labels, OverlapMetricOptions(o).num_classes(3))), want);
      expect_same(values(metrics::compute_dice(pred_labels, truth(), OverlapMetricOptions(o).num_classes(3))), want);
      expect_same(values(metrics::compute_iou(pred(), labels, o)), values(metrics::compute_iou(pred(), truth(), o)));
    }
  }
  // Without num_classes a one-channel y_pred is one binary class (so it must hold 0 and 1), and then y
  // must have one channel.
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(pred_labels, labels),
                        "compute_dice: y_pred must be binarized (0 or 1), but holds 2 at flat index 3");
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(zeros({2, 1, 4}), truth()),
                        "compute_dice: y has shape [2, 3, 4], but with 1 classes it needs 1 one-hot channels or 1 of "
                        "class indices (the classes are y_pred's channels unless num_classes is set)");
}

TEST(OverlapMetrics, ASingleBinaryChannelGivesItsScoreWithOrWithoutBackground) {
  // MONAI's DiceHelper scores class 1 of a one-channel input, whatever include_background says.
  const Tensor p = testing::f64({1, 1, 0, 0, 0, 1}, {2, 1, 3}), g = testing::f64({1, 0, 0, 0, 0, 0}, {2, 1, 3});
  for (const bool background : {true, false}) {
    const Tensor dice = metrics::compute_dice(p, g, OverlapMetricOptions().include_background(background));
    EXPECT_EQ(dice.sizes(), (Shape{2, 1}));
    expect_same(values(dice), {2.0 / 3, kNaN});
    expect_same(
        values(metrics::compute_iou(p, g, OverlapMetricOptions().include_background(background).ignore_empty(false))),
        {0.5, 0.0});
  }
}

TEST(OverlapMetrics, ReductionsFollowMonai) {
  const Tensor v = testing::f64({1, 0.5, kNaN, kNaN, kNaN, kNaN, 0.25, 0.75, 0.5}, {3, 3});
  using R = MetricReduction;
  // Mean: per sample over its classes, then over samples with any value: (0.75 + 0.5) / 2.
  expect_same(values(metrics::reduce_metric(v, R::Mean)), {0.625});
  expect_same(values(metrics::reduce_metric(v, R::Sum)), {3.0});
  expect_same(values(metrics::reduce_metric(v, R::MeanBatch)), {0.625, 0.625, 0.5});
  expect_same(values(metrics::reduce_metric(v, R::SumBatch)), {1.25, 1.25, 0.5});
  expect_same(values(metrics::reduce_metric(v, R::MeanChannel)), {0.75, 0.0, 0.5});  // an all-NaN row gives 0, as MONAI
  expect_same(values(metrics::reduce_metric(v, R::SumChannel)), {1.5, 0.0, 1.5});
  expect_same(values(metrics::reduce_metric(v, R::None)), values(v));
  // MONAI's get_not_nans: the values each reduction took (for Mean, the samples that had any).
  const auto counts = [&](R r) {
    const metrics::ReducedMetric m = metrics::reduce_metric_with_not_nans(v, r);
    EXPECT_EQ(m.value.sizes(), m.not_nans.sizes());
    expect_same(values(m.value), values(metrics::reduce_metric(v, r)));
    return values(m.not_nans);
  };
  EXPECT_EQ(counts(R::None), (std::vector<double>{1, 1, 0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(counts(R::Mean), (std::vector<double>{2}));
  EXPECT_EQ(counts(R::Sum), (std::vector<double>{5}));
  EXPECT_EQ(counts(R::MeanBatch), (std::vector<double>{2, 2, 1}));
  EXPECT_EQ(counts(R::SumBatch), (std::vector<double>{2, 2, 1}));
  EXPECT_EQ(counts(R::MeanChannel), (std::vector<double>{2, 0, 3}));
  EXPECT_EQ(counts(R::SumChannel), (std::vector<double>{2, 0, 3}));
  EXPECT_EQ(metrics::reduce_metric_with_not_nans(v, R::Mean).value.dim(), 0);
}

TEST(OverlapMetrics, AccumulatesOverBatches) {
  metrics::DiceMetric dice(OverlapMetricOptions().reduction(MetricReduction::MeanBatch));
  dice.update(pred().narrow(0, 0, 1), truth().narrow(0, 0, 1));
  dice.update(pred().narrow(0, 1, 1), truth().narrow(0, 1, 1));
  expect_same(values(dice.values()), values(metrics::compute_dice(pred(), truth())));
  expect_same(values(dice.aggregate()), {0.9, 2.0 / 3, 2.0 / 3});
  expect_same(values(dice.aggregate(MetricReduction::Mean)), {(1 + 4.0 / 3) / 3 / 2 + (4.0 / 5 + 2.0 / 3) / 2 / 2});
  const metrics::ReducedMetric with_counts = dice.aggregate_with_not_nans();
  expect_same(values(with_counts.value), values(dice.aggregate()));
  EXPECT_EQ(values(with_counts.not_nans), (std::vector<double>{2, 2, 1}));  // class 2 absent from sample 1
  EXPECT_EQ(values(dice.aggregate_with_not_nans(MetricReduction::SumChannel).not_nans), (std::vector<double>{3, 2}));
  dice.reset();
  EXPECT_ERROR_CONTAINS(dice.aggregate(), "DiceMetric: no values accumulated (call update() first)");
  EXPECT_ERROR_CONTAINS(dice.aggregate_with_not_nans(), "DiceMetric: no values accumulated");
  metrics::MeanIoU iou;
  iou.update(pred(), truth());
  EXPECT_ERROR_CONTAINS(iou.update(pred().narrow(1, 0, 2), truth().narrow(1, 0, 2)),
                        "MeanIoU: this batch has 2 classes, but earlier batches had 3");
}

TEST(OverlapMetrics, ArgmaxOneHotBinarizesScores) {
  const Tensor scores = testing::f64({0.1, 2.0, -1.0, 0.5, 0.3, 0.4}, {1, 2, 3});  // channel 1 wins at voxels 0 and 2
  testing::expect_values(metrics::argmax_one_hot(scores), {1, 2, 3}, {0, 1, 0, 1, 0, 1});
}

TEST(OverlapMetrics, ErrorsNameTheArgumentAndValues) {
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(pred(), truth().narrow(2, 0, 3)),
                        "compute_dice: y_pred and y should have the same batch and spatial sizes, got [2, 3, 4] and "
                        "[2, 3, 3]");
  EXPECT_ERROR_CONTAINS(metrics::compute_iou(zeros({2, 3}), zeros({2, 3})),
                        "compute_iou: expected y_pred [B, C, spatial...] with at least 3 dims, but got shape [2, 3]");
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(full({1, 2, 2}, 0.75), zeros({1, 2, 2})),
                        "compute_dice: y_pred must be binarized (0 or 1), but holds 0.75 at flat index 0");
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(zeros({1, 2, 2}), full({1, 2, 2}, 2.0)),
                        "y must be binarized (0 or 1), but holds 2");
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(zeros({1, 0, 4}), zeros({1, 0, 4})),
                        "compute_dice: y_pred has no channels (shape [1, 0, 4])");
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(pred(), testing::f64({0, 1, 3, 2, 0, 0, 0, 1}, {2, 1, 4})),
                        "compute_dice: y holds class indices (one channel), which must be whole numbers in [0, 3), but "
                        "holds 3 at flat index 2");
  EXPECT_ERROR_CONTAINS(
      metrics::compute_dice(testing::f64({0, 0.5, 1, 2}, {1, 1, 4}), zeros({1, 1, 4}),
                            OverlapMetricOptions().num_classes(3)),
      "y_pred holds class indices (one channel), which must be whole numbers in [0, 3), but holds 0.5");
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(pred(), truth().narrow(1, 0, 2)),
                        "compute_dice: y has shape [2, 2, 4], but with 3 classes it needs 3 one-hot channels or 1 of "
                        "class indices");
  EXPECT_ERROR_CONTAINS(metrics::compute_dice(pred(), truth(), OverlapMetricOptions().num_classes(-2)),
                        "compute_dice: num_classes must not be negative, but got -2");
  EXPECT_ERROR_CONTAINS(metrics::reduce_metric(zeros({3}), MetricReduction::Mean),
                        "reduce_metric: expected [B, C] values, but got shape [3]");
}

}  // namespace
}  // namespace voxgrad
