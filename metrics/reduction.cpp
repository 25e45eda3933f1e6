// MONAI's NaN-aware reductions of a small [B, C] table of metric values, and the accumulation of
// such tables over batches.

#include "voxgrad/metrics/reduction.h"

#include <cmath>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::metrics {

namespace {

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

ReducedMetric reduce_metric_with_not_nans(const Tensor& values, MetricReduction reduction) {
  constexpr const char* op = "reduce_metric";
  voxgrad::detail::check_defined(values, op, "values");
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

Tensor CumulativeMetric::keep(const Tensor& batch_values) {
  VOXGRAD_CHECK(rows_.empty() || batch_values.size(1) == classes_,
                "{}: this batch has {} classes, but earlier batches had {}", name_, batch_values.size(1), classes_);
  classes_ = batch_values.size(1);
  const Tensor v = batch_values.contiguous().to(kFloat64);
  const double* p = v.data_ptr<double>();
  rows_.insert(rows_.end(), p, p + v.numel());
  return batch_values;
}

Tensor CumulativeMetric::values() const {
  VOXGRAD_CHECK(!rows_.empty(), "{}: no values accumulated (call update() first)", name_);
  return from_blob(rows_.data(), {static_cast<std::int64_t>(rows_.size()) / classes_, classes_});
}

Tensor CumulativeMetric::aggregate() const { return aggregate(reduction_); }

Tensor CumulativeMetric::aggregate(MetricReduction reduction) const { return reduce_metric(values(), reduction); }

ReducedMetric CumulativeMetric::aggregate_with_not_nans() const { return aggregate_with_not_nans(reduction_); }

ReducedMetric CumulativeMetric::aggregate_with_not_nans(MetricReduction reduction) const {
  return reduce_metric_with_not_nans(values(), reduction);
}

}  // namespace voxgrad::metrics
