// Overlap metrics: the per-(sample, class) counts |P∩G|, |P|, |G| in one pass over the voxels, then
// MONAI's formulas on the small [B, C] table.

#include "voxgrad/metrics/overlap.h"

#include <limits>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/metrics/detail/segmentation_input.h"
#include "voxgrad/nn/functional/dice_loss.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// [B, C] counts of one batch.
struct Counts {
  std::int64_t batch = 0, classes = 0;
  std::vector<double> both, pred, truth;
};

Counts count(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options, const char* op) {
  const detail::SegmentationPair s =
      detail::read_segmentations(y_pred, y, options.include_background(), options.num_classes(), op);
  Counts c;
  c.batch = s.batch;
  c.classes = s.scored();
  const std::size_t cells = static_cast<std::size_t>(c.batch * c.classes);
  c.both.assign(cells, 0.0);
  c.pred.assign(cells, 0.0);
  c.truth.assign(cells, 0.0);
  for (std::int64_t b = 0; b < c.batch; ++b) {
    for (std::int64_t k = s.first; k < s.classes; ++k) {
      double both = 0, pred = 0, truth = 0;
      for (std::int64_t v = 0; v < s.voxels; ++v) {
        const double pv = s.at(s.pred, b, k, v), gv = s.at(s.truth, b, k, v);
        both += pv * gv;
        pred += pv;
        truth += gv;
      }
      const auto i = static_cast<std::size_t>(b * c.classes + k - s.first);
      c.both[i] = both;
      c.pred[i] = pred;
      c.truth[i] = truth;
    }
  }
  return c;
}

// MONAI's rule for one cell: NaN for an empty ground truth with ignore_empty; otherwise, when the
// denominator is 0 (both empty), 1.
Tensor overlap(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options, bool dice, const char* op) {
  const Counts c = count(y_pred, y, options, op);
  Tensor out = empty({c.batch, c.classes}, kFloat64);
  double* o = out.data_ptr<double>();
  for (std::size_t i = 0; i < c.both.size(); ++i) {
    const double denominator = dice ? c.pred[i] + c.truth[i] : c.pred[i] + c.truth[i] - c.both[i];
    const double value = (dice ? 2.0 : 1.0) * c.both[i] / denominator;
    if (options.ignore_empty()) {
      o[i] = c.truth[i] > 0 ? value : kNaN;
    } else {
      o[i] = denominator > 0 ? value : 1.0;
    }
  }
  return out;
}

}  // namespace

Tensor compute_dice(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options) {
  return overlap(y_pred, y, options, true, "compute_dice");
}

Tensor compute_iou(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options) {
  return overlap(y_pred, y, options, false, "compute_iou");
}

Tensor argmax_one_hot(const Tensor& scores) {
  constexpr const char* op = "argmax_one_hot";
  voxgrad::detail::check_defined(scores, op, "scores");
  VOXGRAD_CHECK(scores.dim() >= 2, "{}: expected scores [B, C, ...], but got shape {}", op, shape_str(scores.sizes()));
  const auto [values, indices] = scores.detach().max(1, /*keepdim=*/true);
  return nn::functional::one_hot(indices, scores.size(1));
}

Tensor OverlapMetric::update(const Tensor& y_pred, const Tensor& y) {
  return keep(kind_ == Kind::Dice ? compute_dice(y_pred, y, options_) : compute_iou(y_pred, y, options_));
}

}  // namespace voxgrad::metrics
