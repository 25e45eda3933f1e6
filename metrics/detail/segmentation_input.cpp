// Validation of a segmentation metric's y_pred and y, shared by the overlap and surface metrics.

#include "voxgrad/metrics/detail/segmentation_input.h"

#include <cmath>

#include "voxgrad/core/error.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::metrics::detail {

namespace {

SegmentationSource source(const Tensor& x, std::int64_t classes, const char* op, const char* arg) {
  SegmentationSource s{x.detach().contiguous().to(kFloat64), classes > 1 && x.size(1) == 1};
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

}  // namespace

SegmentationPair read_segmentations(const Tensor& y_pred, const Tensor& y, bool include_background,
                                    std::int64_t num_classes, const char* op) {
  voxgrad::detail::check_defined(y_pred, op, "y_pred");
  voxgrad::detail::check_defined(y, op, "y");
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
  VOXGRAD_CHECK(num_classes >= 0, "{}: num_classes must not be negative, but got {}", op, num_classes);
  SegmentationPair s;
  s.classes = num_classes > 0 ? num_classes : y_pred.size(1);
  VOXGRAD_CHECK(s.classes >= 1, "{}: y_pred has no channels (shape {})", op, shape_str(y_pred.sizes()));
  s.pred = source(y_pred, s.classes, op, "y_pred");
  s.truth = source(y, s.classes, op, "y");
  s.first = include_background || s.classes == 1 ? 0 : 1;
  s.batch = y_pred.size(0);
  s.voxels = 1;
  for (std::int64_t d = 2; d < y_pred.dim(); ++d) {
    s.spatial.push_back(y_pred.size(d));
    s.voxels *= y_pred.size(d);
  }
  return s;
}

}  // namespace voxgrad::metrics::detail
