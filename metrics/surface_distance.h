#pragma once
// Surface-distance metrics of binary segmentations, per sample and class, after MONAI 1.3's
// HausdorffDistanceMetric and SurfaceDistanceMetric (monai.metrics): compute_hausdorff_distance and
// compute_average_surface_distance give [B, C] values, the metrics accumulate them over batches.

#include <cstdint>
#include <optional>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/metrics/reduction.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::metrics {

/// How the distance between two voxels is measured, as MONAI's `distance_metric`.
enum class DistanceMetric {
  Euclidean,   ///< √Σ (spacing_d·Δ_d)²: scipy's distance_transform_edt with sampling = spacing.
  Chessboard,  ///< max |Δ_d| in voxels: scipy's distance_transform_cdt(metric="chessboard").
  Taxicab,     ///< Σ |Δ_d| in voxels: scipy's distance_transform_cdt(metric="taxicab").
};

/// "euclidean", "chessboard" or "taxicab" (MONAI's names).
const char* distance_metric_name(DistanceMetric metric);

/// Options of compute_hausdorff_distance and HausdorffDistanceMetric, with MONAI's defaults.
struct HausdorffDistanceOptions {
  /// Keep channel 0 (false drops it, unless it is the only channel, as MONAI).
  VOXGRAD_ARG(bool, include_background) = false;
  /// How voxel distances are measured.
  VOXGRAD_ARG(DistanceMetric, distance_metric) = DistanceMetric::Euclidean;
  /// The percentile in [0, 100] of each direction's distances (numpy's linear interpolation, e.g. 95
  /// for HD95) instead of their maximum.
  VOXGRAD_ARG(std::optional<double>, percentile);
  /// Only the distances from y_pred's surface to y's (MONAI's directed); else both directions.
  VOXGRAD_ARG(bool, directed) = false;
  /// The voxel spacing: empty (1), one value for every spatial dim, or one per spatial dim
  /// (Euclidean only).
  VOXGRAD_ARG(std::vector<double>, spacing);
  /// How aggregate() reduces (compute_hausdorff_distance always returns [B, C]).
  VOXGRAD_ARG(MetricReduction, reduction) = MetricReduction::Mean;
  /// The number of classes, for a y_pred of class indices (one channel); 0: y_pred's channels.
  VOXGRAD_ARG(std::int64_t, num_classes) = 0;
};

/// Options of compute_average_surface_distance and SurfaceDistanceMetric, with MONAI's defaults.
struct SurfaceDistanceOptions {
  /// Keep channel 0 (false drops it, unless it is the only channel, as MONAI).
  VOXGRAD_ARG(bool, include_background) = false;
  /// Average the distances of both directions together (MONAI's symmetric: one mean over the two
  /// lists concatenated, not the mean of two means); else y_pred's surface to y's only.
  VOXGRAD_ARG(bool, symmetric) = false;
  /// How voxel distances are measured.
  VOXGRAD_ARG(DistanceMetric, distance_metric) = DistanceMetric::Euclidean;
  /// The voxel spacing: empty (1), one value for every spatial dim, or one per spatial dim
  /// (Euclidean only).
  VOXGRAD_ARG(std::vector<double>, spacing);
  /// How aggregate() reduces (compute_average_surface_distance always returns [B, C]).
  VOXGRAD_ARG(MetricReduction, reduction) = MetricReduction::Mean;
  /// The number of classes, for a y_pred of class indices (one channel); 0: y_pred's channels.
  VOXGRAD_ARG(std::int64_t, num_classes) = 0;
};

/// The Hausdorff distance between the surfaces of binarized y_pred and y [B, C, H, W] or
/// [B, C, D, H, W] per sample and class: a float64 [B, C] tensor (C − 1 classes without
/// background), as MONAI 1.3's compute_hausdorff_distance:
///  - a mask's surface is its voxels with a face neighbour outside it or outside the image (MONAI's
///    get_mask_edges: mask XOR scipy's binary_erosion with the cross element, border 0);
///  - each surface voxel of one mask has the distance to the nearest surface voxel of the other
///    (exact, in float64); per direction the maximum, or the percentile, then the larger direction;
///  - no surface in either mask gives NaN; no surface in one of them gives inf, or, with a
///    percentile, NaN (MONAI's torch.quantile of inf values), also when directed.
/// Inputs follow compute_dice (metrics/overlap.h): one-hot channels or class indices, binarized, with
/// the same errors; in addition the spatial dims must be 2 or 3, the spacing positive and finite (one
/// value or one per spatial dim, Euclidean only) and the percentile in [0, 100]. Differences from
/// MONAI: float64 (MONAI rounds distances to float32); class indices accepted; percentile 0 is the
/// minimum (MONAI's `if not percentile` makes it the maximum); spacing with chessboard or taxicab
/// throws (MONAI ignores it).
Tensor compute_hausdorff_distance(const Tensor& y_pred, const Tensor& y, const HausdorffDistanceOptions& options = {});

/// The average surface distance from y_pred's surface to y's (both ways with symmetric), per sample
/// and class: a float64 [B, C] tensor, as MONAI 1.3's compute_average_surface_distance, with
/// compute_hausdorff_distance's surfaces, distances, inputs and errors. No surface in either mask
/// gives NaN, in one of them inf.
Tensor compute_average_surface_distance(const Tensor& y_pred, const Tensor& y,
                                        const SurfaceDistanceOptions& options = {});

/// Accumulates compute_hausdorff_distance over batches, as MONAI's HausdorffDistanceMetric (see
/// CumulativeMetric for aggregate and reset).
class HausdorffDistanceMetric : public CumulativeMetric {
 public:
  /// A metric with `options` (MONAI's defaults: background excluded, Euclidean, maximum, mean).
  explicit HausdorffDistanceMetric(const HausdorffDistanceOptions& options = {})
      : CumulativeMetric("HausdorffDistanceMetric", options.reduction()), options_(options) {}
  /// Computes the batch's [B, C] values, keeps them, and returns them.
  Tensor update(const Tensor& y_pred, const Tensor& y);
  /// update() with this batch's voxel spacing instead of options().spacing() (MONAI's `spacing`
  /// keyword of the metric's call).
  Tensor update(const Tensor& y_pred, const Tensor& y, const std::vector<double>& spacing);
  const HausdorffDistanceOptions& options() const { return options_; }

 private:
  HausdorffDistanceOptions options_;
};

/// Accumulates compute_average_surface_distance over batches, as MONAI's SurfaceDistanceMetric (see
/// CumulativeMetric for aggregate and reset).
class SurfaceDistanceMetric : public CumulativeMetric {
 public:
  /// A metric with `options` (MONAI's defaults: background excluded, not symmetric, Euclidean, mean).
  explicit SurfaceDistanceMetric(const SurfaceDistanceOptions& options = {})
      : CumulativeMetric("SurfaceDistanceMetric", options.reduction()), options_(options) {}
  /// Computes the batch's [B, C] values, keeps them, and returns them.
  Tensor update(const Tensor& y_pred, const Tensor& y);
  /// update() with this batch's voxel spacing instead of options().spacing().
  Tensor update(const Tensor& y_pred, const Tensor& y, const std::vector<double>& spacing);
  const SurfaceDistanceOptions& options() const { return options_; }

 private:
  SurfaceDistanceOptions options_;
};

}  // namespace voxgrad::metrics
