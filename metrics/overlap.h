#pragma once
// Overlap metrics of binary segmentations, per sample and class, after MONAI's DiceMetric and
// MeanIoU (monai.metrics): compute_dice / compute_iou give [B, C] values, and DiceMetric / MeanIoU
// accumulate them over batches (reduce_metric, MONAI's NaN-aware reductions: metrics/reduction.h).

#include <cstdint>

#include "voxgrad/core/tensor.h"
#include "voxgrad/metrics/reduction.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::metrics {

/// Options of compute_dice, compute_iou and the accumulating metrics, as MONAI's.
struct OverlapMetricOptions {
  /// Keep channel 0 (false drops it: with one-hot data it is the background). A single binary channel
  /// (one class) is scored either way, as MONAI.
  VOXGRAD_ARG(bool, include_background) = true;
  /// A class absent from the ground truth gives NaN (left out of reductions); false gives 1 when the
  /// prediction is empty too and 0 otherwise.
  VOXGRAD_ARG(bool, ignore_empty) = true;
  /// How aggregate() reduces (compute_dice/compute_iou always return [B, C]).
  VOXGRAD_ARG(MetricReduction, reduction) = MetricReduction::Mean;
  /// The number of classes, for a y_pred of class indices (one channel); 0: y_pred's channels.
  VOXGRAD_ARG(std::int64_t, num_classes) = 0;
};

/// Dice 2·|P∩G| / (|P| + |G|) of binarized y_pred and y [B, C, spatial...] per sample and class: a
/// float64 [B, C] tensor (C − 1 classes without background), as MONAI's DiceMetric (1.2 and later):
///  - C is num_classes, or else y_pred's channels; either tensor may hold class indices in one
///    channel instead of C one-hot channels (y_pred only with num_classes), read as `== c`;
///  - a single binary channel (C = 1) gives its one score, with or without background.
/// Throws (naming the op, the argument and the first offending value) for batch or spatial sizes
/// that differ, fewer than 3 dims, no channels, a channel count that is neither C nor 1, one-hot
/// values other than 0 and 1, or class indices that are not whole numbers in [0, C). MONAI casts
/// y_pred to bool and takes y as soft labels; logits, probabilities or soft labels here are a bug:
/// binarize with argmax_one_hot or gt(0.5).
Tensor compute_dice(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options = {});

/// Intersection over union |P∩G| / |P∪G|, with compute_dice's inputs and rules. MONAI's compute_iou
/// takes one-hot tensors of the same shape only (no class indices, no num_classes): this accepts more.
Tensor compute_iou(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options = {});

/// The one-hot encoding of the argmax over channels of scores [B, C, ...] (MONAI's
/// AsDiscrete(argmax=True, to_onehot=C)), float32.
Tensor argmax_one_hot(const Tensor& scores);

/// Accumulates compute_dice or compute_iou over batches, as MONAI's cumulative metrics:
/// `metric.update(pred, label)` per batch, `metric.aggregate()` at the end, `reset()` between epochs
/// (see CumulativeMetric).
class OverlapMetric : public CumulativeMetric {
 public:
  /// Which overlap the metric accumulates.
  enum class Kind { Dice, IoU };
  /// A metric of `kind` with `options`.
  explicit OverlapMetric(Kind kind, const OverlapMetricOptions& options = {})
      : CumulativeMetric(kind == Kind::Dice ? "DiceMetric" : "MeanIoU", options.reduction()),
        kind_(kind),
        options_(options) {}
  /// Computes the batch's [B, C] values, keeps them, and returns them.
  Tensor update(const Tensor& y_pred, const Tensor& y);
  const OverlapMetricOptions& options() const { return options_; }

 private:
  Kind kind_;
  OverlapMetricOptions options_;
};

/// MONAI's DiceMetric.
class DiceMetric : public OverlapMetric {
 public:
  /// A Dice metric with `options` (MONAI's defaults: background included, ignore_empty, mean).
  explicit DiceMetric(const OverlapMetricOptions& options = {}) : OverlapMetric(Kind::Dice, options) {}
};

/// MONAI's MeanIoU.
class MeanIoU : public OverlapMetric {
 public:
  /// An IoU metric with `options` (MONAI's defaults: background included, ignore_empty, mean).
  explicit MeanIoU(const OverlapMetricOptions& options = {}) : OverlapMetric(Kind::IoU, options) {}
};

}  // namespace voxgrad::metrics
