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

// y_pred or y as the counts read it: one-hot [B, classes, voxels] (0 or 1), or, with more than one
// class, class indices [B, 1, voxels] (MONAI reads channel c of the latter as `== c`).
struct Source {
  Tensor t;  // float64, contiguous
  bool indices = false;
  const double* data() const { return t.data_ptr<double>(); }
};

Source source(const Tensor& x, std::int64_t classes, const char* op, const char* arg) {
  Source s{x.detach().contiguous().to(kFloat64), classes > 1 && x.size(1) == 1};
  VOXGRAD_CHECK(x.size(1) == classes || s.indices,
                "{}: {} has shape {}, but with {} classes it needs {} one-hot channels or 1 of class indices (the "
                "classes are y_pred's channels unless num_classes is set)",
                op, arg, shape_str(x.sizes()), classes, classes);
  const double* p = s.data();
  for (std::int64_t v = 0; v < s.t.numel(); ++v) {
    if (s.indices) {
      VOXGRAD_CHECK(p[v] >= 0 && p[v] < static_cast<double>(classes) && p[v] == std::floor(p[v]),
                    "{}: {} holds class indices (one channel), which must be whole numbers in [0, {}), but holds {} "
                    "at flat index {}",
                    op, arg, classes, p[v], v);
    } else {
      VOXGRAD_CHECK(p[v] == 0 || p[v] == 1, "{}: {} must be binarized (0 or 1), but holds {} at flat index {}", op, arg,
                    p[v], v);
    }
  }
  return s;
}

Counts count(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options, const char* op) {
  detail::check_defined(y_pred, op, "y_pred");
  detail::check_defined(y, op, "y");
  VOXGRAD_CHECK(y_pred.dim() >= 3, "{}: expected y_pred [B, C, spatial...] with at least 3 dims, but got shape {}", op,
                shape_str(y_pred.sizes()));
  const auto same_except_channels = [&] {
    if (y.dim() != y_pred.dim() || y.size(0) != y_pred.size(0)) return false;
    for (std::int64_t d = 2; d < y.dim(); ++d) {
      if (y.size(d) != y_pred.size(d)) return false;
    }
    return true;
  };
  VOXGRAD_CHECK(same_except_channels(), "{}: y_pred and y should have the same batch and spatial sizes, got {} and {}",
                op, shape_str(y_pred.sizes()), shape_str(y.sizes()));
  VOXGRAD_CHECK(options.num_classes() >= 0, "{}: num_classes must not be negative, but got {}", op,
                options.num_classes());
  const std::int64_t classes = options.num_classes() > 0 ? options.num_classes() : y_pred.size(1);
  VOXGRAD_CHECK(classes >= 1, "{}: y_pred has no channels (shape {})", op, shape_str(y_pred.sizes()));
  const Source p = source(y_pred, classes, op, "y_pred"), g = source(y, classes, op, "y");
  // One class (a single binary channel): its one score, with or without background (MONAI's [1]).
  const std::int64_t first = options.include_background() || classes == 1 ? 0 : 1;
  Counts c;
  c.batch = y_pred.size(0);
  c.classes = classes - first;
  std::int64_t voxels = 1;
  for (std::int64_t d = 2; d < y_pred.dim(); ++d) voxels *= y_pred.size(d);
  const std::size_t cells = static_cast<std::size_t>(c.batch * c.classes);
  c.both.assign(cells, 0.0);
  c.pred.assign(cells, 0.0);
  c.truth.assign(cells, 0.0);
  // Voxel v of class k in sample b, as 0 or 1.
  const auto at = [&](const Source& s, std::int64_t b, std::int64_t k, std::int64_t v) {
    return s.indices ? (s.data()[b * voxels + v] == static_cast<double>(k) ? 1.0 : 0.0)
                     : s.data()[(b * classes + k) * voxels + v];
  };
  for (std::int64_t b = 0; b < c.batch; ++b) {
    for (std::int64_t k = first; k < classes; ++k) {
      double both = 0, pred = 0, truth = 0;
      for (std::int64_t v = 0; v < voxels; ++v) {
        const double pv = at(p, b, k, v), gv = at(g, b, k, v);
        both += pv * gv;
        pred += pv;
        truth += gv;
      }
      const auto i = static_cast<std::size_t>(b * c.classes + k - first);
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

// The mean (or sum) of the non-NaN entries of `n` values spaced by `stride` (a mean over nothing is
// 0), and how many there were.
struct NanReduced {
  double value = 0;
  std::int64_t valid = 0;
};
NanReduced nan_reduce(const double* v, std::int64_t n, std::int64_t stride, bool mean) {
  NanReduced r;
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = v[i * stride];
    if (std::isnan(x)) continue;
    r.value += x;
    ++r.valid;
  }
  if (mean) r.value = r.valid > 0 ? r.value / static_cast<double>(r.valid) : 0.0;
  return r;
}

}  // namespace

Tensor compute_dice(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options) {
  return overlap(y_pred, y, options, true, "compute_dice");
}

Tensor compute_iou(const Tensor& y_pred, const Tensor& y, const OverlapMetricOptions& options) {
  return overlap(y_pred, y, options, false, "compute_iou");
}

ReducedMetric reduce_metric_with_not_nans(const Tensor& values, MetricReduction reduction) {
  constexpr const char* op = "reduce_metric";
  detail::check_defined(values, op, "values");
  VOXGRAD_CHECK(values.dim() == 2, "{}: expected [B, C] values, but got shape {}", op, shape_str(values.sizes()));
  const Tensor v = values.detach().contiguous().to(kFloat64);
  const std::int64_t B = v.size(0), C = v.size(1);
  const double* p = v.data_ptr<double>();
  // n reductions of n_inner values each: the i-th from p + i·outer_stride, its values inner_stride apart.
  const auto per = [&](std::int64_t n, std::int64_t outer_stride, std::int64_t n_inner, std::int64_t inner_stride,
                       bool mean) {
    ReducedMetric r{empty({n}, kFloat64), empty({n}, kFloat64)};
    for (std::int64_t i = 0; i < n; ++i) {
      const NanReduced x = nan_reduce(p + i * outer_stride, n_inner, inner_stride, mean);
      r.value.data_ptr<double>()[i] = x.value;
      r.not_nans.data_ptr<double>()[i] = static_cast<double>(x.valid);
    }
    return r;
  };
  switch (reduction) {
    case MetricReduction::None: {
      ReducedMetric r{v.clone(), empty({B, C}, kFloat64)};
      for (std::int64_t i = 0; i < B * C; ++i) r.not_nans.data_ptr<double>()[i] = std::isnan(p[i]) ? 0.0 : 1.0;
      return r;
    }
    case MetricReduction::MeanChannel: return per(B, C, C, 1, true);
    case MetricReduction::SumChannel: return per(B, C, C, 1, false);
    case MetricReduction::MeanBatch: return per(C, 1, B, C, true);
    case MetricReduction::SumBatch: return per(C, 1, B, C, false);
    case MetricReduction::Sum: {
      const NanReduced x = nan_reduce(p, B * C, 1, false);
      return {scalar_tensor(x.value, kFloat64), scalar_tensor(static_cast<double>(x.valid), kFloat64)};
    }
    case MetricReduction::Mean: {
      // Per sample over its classes, then over the samples that have any value (MONAI's order); the
      // count is of those samples.
      double sum = 0;
      std::int64_t samples = 0;
      for (std::int64_t b = 0; b < B; ++b) {
        const NanReduced x = nan_reduce(p + b * C, C, 1, true);
        if (x.valid == 0) continue;
        sum += x.value;
        ++samples;
      }
      return {scalar_tensor(samples > 0 ? sum / static_cast<double>(samples) : 0.0, kFloat64),
              scalar_tensor(static_cast<double>(samples), kFloat64)};
    }
  }
  throw Error(fmt::format("{}: unknown reduction", op));
}

Tensor reduce_metric(const Tensor& values, MetricReduction reduction) {
  return reduce_metric_with_not_nans(values, reduction).value;
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

ReducedMetric OverlapMetric::aggregate_with_not_nans() const { return aggregate_with_not_nans(options_.reduction()); }

ReducedMetric OverlapMetric::aggregate_with_not_nans(MetricReduction reduction) const {
  return reduce_metric_with_not_nans(values(), reduction);
}

}  // namespace voxgrad::metrics
