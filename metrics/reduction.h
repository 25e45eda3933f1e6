#pragma once
// Reducing [B, C] metric values (per sample and class) as MONAI's do_metric_reduction, once or
// accumulated over batches as MONAI's Cumulative metrics (DiceMetric, HausdorffDistanceMetric, ...).

#include <cstdint>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::metrics {

/// How [B, C] metric values are reduced, as MONAI's MetricReduction. NaN entries (a class absent
/// from the ground truth, with ignore_empty) are left out; a mean over nothing is 0, as in MONAI.
/// Mean and Sum give 0-d tensors (MONAI's Mean gives shape [1], a side effect of its torch.where
/// with a [1] zero; the value is the same).
enum class MetricReduction {
  None,         ///< [B, C] as computed (NaNs kept).
  Mean,         ///< Mean over classes per sample, then over the samples that have a value: 0-d.
  Sum,          ///< Sum of everything: 0-d.
  MeanBatch,    ///< Mean over samples, per class: [C].
  SumBatch,     ///< Sum over samples, per class: [C].
  MeanChannel,  ///< Mean over classes, per sample: [B].
  SumChannel,   ///< Sum over classes, per sample: [B].
};

/// MONAI's do_metric_reduction of [B, C] values (float64 result; see MetricReduction).
Tensor reduce_metric(const Tensor& values, MetricReduction reduction);

/// A reduced metric and, as MONAI's get_not_nans, how many values it reduced (float64, the shape of
/// the value): for None 1 or 0 per entry; per class or per sample the non-NaN values it averaged or
/// summed; for Sum all of them; for Mean the samples that had any.
struct ReducedMetric {
  Tensor value;
  Tensor not_nans;
};

/// reduce_metric with the counts of values (MONAI's do_metric_reduction returns both).
ReducedMetric reduce_metric_with_not_nans(const Tensor& values, MetricReduction reduction);

/// What MONAI's cumulative metrics share: the [B, C] values of every batch since the last reset,
/// reduced on demand. A metric's `update(pred, label)` computes a batch's values and keeps them,
/// `aggregate()` reduces everything kept, `reset()` forgets it (between epochs).
class CumulativeMetric {
 public:
  /// The kept values of every batch since the last reset, reduced with the metric's reduction.
  /// Throws if nothing was accumulated.
  Tensor aggregate() const;
  /// aggregate() with another reduction.
  Tensor aggregate(MetricReduction reduction) const;
  /// aggregate() with the counts of values it reduced (MONAI's get_not_nans=True).
  ReducedMetric aggregate_with_not_nans() const;
  /// aggregate_with_not_nans() with another reduction.
  ReducedMetric aggregate_with_not_nans(MetricReduction reduction) const;
  /// All kept values, [N, C] (N = the samples of every batch).
  Tensor values() const;
  /// Forgets the kept values.
  void reset() { rows_.clear(); }

 protected:
  /// Not deleted through a CumulativeMetric pointer (the metrics are used by value).
  ~CumulativeMetric() = default;
  /// A metric called `name` in messages (e.g. "DiceMetric"), reducing with `reduction` by default.
  CumulativeMetric(const char* name, MetricReduction reduction) : name_(name), reduction_(reduction) {}
  /// Keeps a batch's [B, C] values (C as in earlier batches) and returns them.
  Tensor keep(const Tensor& batch_values);

 private:
  const char* name_;
  MetricReduction reduction_;
  std::int64_t classes_ = 0;
  std::vector<double> rows_;  // [N, C] row-major
};

}  // namespace voxgrad::metrics
