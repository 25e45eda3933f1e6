// Overlap metrics: the per-(sample, class) counts |P∩G|, |P|, |G| in one pass over the voxels, then
// MONAI's formulas and NaN-aware reductions on the small [B, C] table.

#include "voxgrad/metrics/overlap.h"

#include <cmath>
#include <limits>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
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
  detail::check_defined(y_pred, op, "y_pred");
  detail::check_defined(y, op, "y");
  VOXGRAD_CHECK(y_pred.dim() >= 3, "{}: expected y_pred [B, C, spatial...] with at least 3 dims, but got shape {}", op,
                shape_str(y_pred.sizes()));
  VOXGRAD_CHECK(y_pred.sizes() == y.sizes(), "{}: y_pred and y should have same shapes, got {} and {}", op,
                shape_str(y_pred.sizes()), shape_str(y.sizes()));
  const std::int64_t first = options.include_background() ? 0 : 1;
  VOXGRAD_CHECK(y_pred.size(1) > first,
                "{}: include_background=false needs more than one channel, but y_pred has shape {}", op,
                shape_str(y_pred.sizes()));
  const Tensor p = y_pred.detach().contiguous().to(kFloat64), g = y.detach().contiguous().to(kFloat64);
  Counts c;
  c.batch = p.size(0);
  c.classes = p.size(1) - first;
  const std::int64_t voxels = p.numel() / std::max<std::int64_t>(1, p.size(0) * p.size(1));
  const std::size_t cells = static_cast<std::size_t>(c.batch * c.classes);
  c.both.assign(cells, 0.0);
  c.pred.assign(cells, 0.0);
  c.truth.assign(cells, 0.0);
  const double* pp = p.data_ptr<double>();
  const double* gp = g.data_ptr<double>();
  for (std::int64_t b = 0; b < c.batch; ++b) {
    for (std::int64_t k = 0; k < c.classes; ++k) {
      const std::int64_t base = (b * p.size(1) + k + first) * voxels;
      double both = 0, pred = 0, truth = 0;
      for (std::int64_t v = base; v < base + voxels; ++v) {
        VOXGRAD_CHECK(pp[v] == 0 || pp[v] == 1, "{}: y_pred must be binarized (0 or 1), but holds {} at flat index {}",
                      op, pp[v], v);
        VOXGRAD_CHECK(gp[v] == 0 || gp[v] == 1, "{}: y must be binarized (0 or 1), but holds {} at flat index {}", op,
                      gp[v], v);
        both += pp[v] * gp[v];
        pred += pp[v];
        truth += gp[v];
      }
      const auto i = static_cast<std::size_t>(b * c.classes + k);
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

// Mean (or sum) of the non-NaN entries of `n` values spaced by `stride`; a mean over nothing is 0.
double nan_reduce(const double* v, std::int64_t n, std::int64_t stride, bool mean, bool* any = nullptr) {
  double sum = 0;
  std::int64_t valid = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = v[i * stride];
    if (std::isnan(x)) continue;
    sum += x;
    ++valid;
  }
  if (any != nullptr) *any = valid > 0;
  return mean ? (valid > 0 ? sum / static_cast<double>(valid) : 0.0) : sum;
}

}  // namespace

Tensor compute_dice(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options) {
  return overlap(y_pred, y, options, true, "compute_dice");
}

Tensor compute_iou(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options) {
  return overlap(y_pred, y, options, false, "compute_iou");
}

Tensor reduce_metric(const Tensor& values, MetricReduction reduction) {
  constexpr const char* op = "reduce_metric";
  detail::check_defined(values, op, "values");
  VOXGRAD_CHECK(values.dim() == 2, "{}: expected [B, C] values, but got shape {}", op, shape_str(values.sizes()));
  const Tensor v = values.detach().contiguous().to(kFloat64);
  const std::int64_t B = v.size(0), C = v.size(1);
  const double* p = v.data_ptr<double>();
  const auto per = [&](std::int64_t n, std::int64_t outer_stride, std::int64_t n_inner, std::int64_t inner_stride,
                       bool mean) {
    Tensor out = empty({n}, kFloat64);
    for (std::int64_t i = 0; i < n; ++i)
      out.data_ptr<double>()[i] = nan_reduce(p + i * outer_stride, n_inner, inner_stride, mean);
    return out;
  };
  switch (reduction) {
    case MetricReduction::None: return v.clone();
    case MetricReduction::MeanChannel: return per(B, C, C, 1, true);
    case MetricReduction::SumChannel: return per(B, C, C, 1, false);
    case MetricReduction::MeanBatch: return per(C, 1, B, C, true);
    case MetricReduction::SumBatch: return per(C, 1, B, C, false);
    case MetricReduction::Sum: return scalar_tensor(nan_reduce(p, B * C, 1, false), kFloat64);
    case MetricReduction::Mean: {
      // Per sample over its classes, then over the samples that have any value (MONAI's order).
      double sum = 0;
      std::int64_t samples = 0;
      for (std::int64_t b = 0; b < B; ++b) {
        bool any = false;
        const double m = nan_reduce(p + b * C, C, 1, true, &any);
        if (!any) continue;
        sum += m;
        ++samples;
      }
      return scalar_tensor(samples > 0 ? sum / static_cast<double>(samples) : 0.0, kFloat64);
    }
  }
  throw Error(fmt::format("{}: unknown reduction", op));
}

Tensor argmax_one_hot(const Tensor& scores) {
  constexpr const char* op = "argmax_one_hot";
  detail::check_defined(scores, op, "scores");
  VOXGRAD_CHECK(scores.dim() >= 2, "{}: expected scores [B, C, ...], but got shape {}", op, shape_str(scores.sizes()));
  const auto [values, indices] = scores.detach().max(1, /*keepdim=*/true);
  return nn::functional::one_hot(indices, scores.size(1));
}

Tensor OverlapMetric::update(const Tensor& y_pred, const Tensor& y) {
  const Tensor v = kind_ == Kind::Dice ? compute_dice(y_pred, y, options_) : compute_iou(y_pred, y, options_);
  VOXGRAD_CHECK(rows_.empty() || v.size(1) == classes_, "{}: this batch has {} classes, but earlier batches had {}",
                name(), v.size(1), classes_);
  classes_ = v.size(1);
  const double* p = v.data_ptr<double>();
  rows_.insert(rows_.end(), p, p + v.numel());
  return v;
}

Tensor OverlapMetric::values() const {
  VOXGRAD_CHECK(!rows_.empty(), "{}: no values accumulated (call update() first)", name());
  return from_blob(rows_.data(), {static_cast<std::int64_t>(rows_.size()) / classes_, classes_});
}

Tensor OverlapMetric::aggregate() const { return aggregate(options_.reduction()); }

Tensor OverlapMetric::aggregate(MetricReduction reduction) const { return reduce_metric(values(), reduction); }

}  // namespace voxgrad::metrics
