#pragma once
// Internal: the y_pred and y of a segmentation metric (Dice, IoU, surface distances), validated
// once for all of them: one-hot [B, C, spatial...] or class indices [B, 1, spatial...].

#include <cstdint>

#include "voxgrad/core/tensor.h"

namespace voxgrad::metrics::detail {

/// y_pred or y as the metrics read it: one-hot [B, C, voxels] (0 or 1), or, with more than one
/// class, class indices [B, 1, voxels] (channel c read as `== c`, as MONAI).
struct SegmentationSource {
  Tensor t;  ///< float64, contiguous
  bool indices = false;
  const double* data() const { return t.data_ptr<double>(); }
};

/// A validated (y_pred, y) pair and the classes a metric scores.
struct SegmentationPair {
  std::int64_t batch = 0;
  std::int64_t classes = 0;  ///< C: num_classes, or y_pred's channels
  std::int64_t first = 0;    ///< The first class scored: 1 without background, unless C is 1
  Shape spatial;             ///< The spatial sizes
  std::int64_t voxels = 0;   ///< Their product
  SegmentationSource pred, truth;

  /// The classes scored (the columns of the metric's [B, C] values).
  std::int64_t scored() const { return classes - first; }
  /// Voxel v of class k (0 ≤ k < classes) in sample b of `s`, as 0 or 1.
  double at(const SegmentationSource& s, std::int64_t b, std::int64_t k, std::int64_t v) const {
    return s.indices ? (s.data()[b * voxels + v] == static_cast<double>(k) ? 1.0 : 0.0)
                     : s.data()[(b * classes + k) * voxels + v];
  }
};

/// Checks y_pred and y as compute_dice documents (metrics/overlap.h), naming `op`: at least 3 dims,
/// equal batch and spatial sizes, a non-negative num_classes, at least one class, C one-hot channels
/// of 0/1 or one channel of whole class indices in [0, C) (y_pred only with num_classes). Without
/// `include_background` class 0 is not scored unless it is the only one (MONAI's single binary
/// channel).
SegmentationPair read_segmentations(const Tensor& y_pred, const Tensor& y, bool include_background,
                                    std::int64_t num_classes, const char* op);

}  // namespace voxgrad::metrics::detail
