// Surface distances, per (sample, class) as MONAI 1.3's get_edge_surface_distance: both masks are
// cut to the box around their union (a margin of 1, so the surfaces and distances are the whole
// image's), their surfaces found, and the distances from one surface to the other read off a
// distance transform of the other; then Hausdorff (maximum or percentile per direction) or the mean.

#include "voxgrad/metrics/surface_distance.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/ranges.h>

#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/metrics/detail/distance_transform.h"
#include "voxgrad/metrics/detail/segmentation_input.h"

namespace voxgrad::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// What the two metrics ask of the shared computation.
struct Request {
  const char* op;
  bool include_background;
  std::int64_t num_classes;
  DistanceMetric metric;
  const std::vector<double>* spacing;
  bool both_directions;
};

// The spacing per spatial dim of a volume of `sizes`: 1s when empty, one value repeated, or one per dim.
// Every squared distance the transform forms must stay a normal, finite float64: h² ≥ DBL_MIN per dim
// and the volume's squared diagonal (Σ (h·n)²) far below DBL_MAX.
std::vector<double> spacing_per_dim(const Request& r, const Shape& sizes) {
  const std::vector<double>& given = *r.spacing;
  const auto dims = static_cast<std::int64_t>(sizes.size());
  const auto n = static_cast<std::int64_t>(given.size());
  VOXGRAD_CHECK(n <= 1 || n == dims, "{}: spacing must hold 1 value or one per spatial dim ({}), but holds {}: [{}]",
                r.op, dims, n, fmt::join(given, ", "));
  for (const double s : given) {
    VOXGRAD_CHECK(std::isfinite(s) && s > 0, "{}: spacing must be positive and finite, but got [{}]", r.op,
                  fmt::join(given, ", "));
    VOXGRAD_CHECK(r.metric == DistanceMetric::Euclidean || s == 1.0,
                  "{}: spacing applies to the euclidean distance only (chessboard and taxicab count voxel steps; "
                  "MONAI ignores it), but got spacing [{}] with {}",
                  r.op, fmt::join(given, ", "), distance_metric_name(r.metric));
  }
  std::vector<double> per_dim =
      n == dims ? given : std::vector<double>(static_cast<std::size_t>(dims), n == 1 ? given[0] : 1.0);
  double diagonal = 0;
  bool normal = true;
  for (std::int64_t d = 0; d < dims; ++d) {
    const double h = per_dim[static_cast<std::size_t>(d)];
    normal = normal && h * h >= std::numeric_limits<double>::min();
    diagonal += (h * static_cast<double>(sizes[static_cast<std::size_t>(d)])) *
                (h * static_cast<double>(sizes[static_cast<std::size_t>(d)]));
  }
  VOXGRAD_CHECK(normal && diagonal < 1e300,
                "{}: spacing [{}] is out of range for a volume of {}: squared distances would underflow or overflow "
                "float64 (each spacing² must be at least {}, the squared diagonal below 1e300)",
                r.op, fmt::join(given, ", "), shape_str(sizes), std::numeric_limits<double>::min());
  return per_dim;
}

// Advances `coord` to the next voxel of a row-major grid of `sizes`.
void advance(Shape& coord, const Shape& sizes) {
  for (std::size_t d = coord.size(); d-- > 0;) {
    if (++coord[d] < sizes[d]) return;
    coord[d] = 0;
  }
}

// The box around the voxels set in `a` or `b`, widened by 1 within the image: outside it both masks
// are 0, so erosion (border 0) finds the same surfaces, and the transforms (exact, and monotone paths
// for the chamfer metrics) the same distances, as on the whole image (MONAI crops the same way).
struct Box {
  bool empty = true;
  Shape lo, sizes;
};
Box union_box(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b, const Shape& spatial) {
  Box box;
  box.lo.assign(spatial.size(), std::numeric_limits<std::int64_t>::max());
  Shape hi(spatial.size(), -1), coord(spatial.size(), 0);
  for (std::size_t v = 0; v < a.size(); ++v) {
    if (a[v] || b[v]) {
      box.empty = false;
      for (std::size_t d = 0; d < spatial.size(); ++d) {
        box.lo[d] = std::min(box.lo[d], coord[d]);
        hi[d] = std::max(hi[d], coord[d]);
      }
    }
    advance(coord, spatial);
  }
  if (box.empty) return box;
  box.sizes.resize(spatial.size());
  for (std::size_t d = 0; d < spatial.size(); ++d) {
    box.lo[d] = std::max<std::int64_t>(box.lo[d] - 1, 0);
    box.sizes[d] = std::min(hi[d] + 1, spatial[d] - 1) - box.lo[d] + 1;
  }
  return box;
}

// One (sample, class): its distances from y_pred's surface to y's and, with both_directions, from
// y's to y_pred's (MONAI's get_surface_distance in each direction, in voxel order).
std::vector<std::vector<double>> surface_distances(const std::vector<std::uint8_t>& pred,
                                                   const std::vector<std::uint8_t>& truth, const Shape& spatial,
                                                   const std::vector<double>& spacing, DistanceMetric metric,
                                                   bool both_directions) {
  const auto rank = static_cast<std::int64_t>(spatial.size());
  std::vector<std::vector<double>> out(both_directions ? 2 : 1);
  const Box box = union_box(pred, truth, spatial);
  if (box.empty) return out;  // both empty: no distances
  std::int64_t box_voxels = 1;
  for (const std::int64_t n : box.sizes) box_voxels *= n;
  std::vector<std::uint8_t> crop_pred(static_cast<std::size_t>(box_voxels)), crop_truth(crop_pred.size());
  Shape coord(spatial.size(), 0);
  for (std::int64_t i = 0; i < box_voxels; ++i) {
    std::int64_t v = 0;
    for (std::int64_t d = 0; d < rank; ++d) v = v * spatial[d] + box.lo[d] + coord[d];
    crop_pred[i] = pred[v];
    crop_truth[i] = truth[v];
    advance(coord, box.sizes);
  }
  const std::vector<std::uint8_t> edges_pred = detail::mask_edges(crop_pred, box.sizes);
  const std::vector<std::uint8_t> edges_truth = detail::mask_edges(crop_truth, box.sizes);
  const auto count = [](const std::vector<std::uint8_t>& e) { return std::count(e.begin(), e.end(), 1); };
  // From the surface `from` to the surface `to`. MONAI: with no surface in `to`, inf for each voxel
  // of `from`; with none in `from`, inf for each voxel of `to` (so one inf list either way).
  const auto direction = [&](const std::vector<std::uint8_t>& from, const std::vector<std::uint8_t>& to) {
    const auto n_from = count(from), n_to = count(to);
    if (n_to == 0) return std::vector<double>(static_cast<std::size_t>(n_from), kInf);
    if (n_from == 0) return std::vector<double>(static_cast<std::size_t>(n_to), kInf);
    const std::vector<double> dist = detail::distance_transform(to, box.sizes, spacing, metric);
    std::vector<double> d;
    d.reserve(static_cast<std::size_t>(n_from));
    for (std::size_t v = 0; v < from.size(); ++v) {
      if (from[v]) d.push_back(dist[v]);
    }
    return d;
  };
  out[0] = direction(edges_pred, edges_truth);
  if (both_directions) out[1] = direction(edges_truth, edges_pred);
  return out;
}

// [B, C] values of f(distances of one sample and class), computed per cell in parallel.
template <typename F>
Tensor per_sample_and_class(const Tensor& y_pred, const Tensor& y, const Request& r, F&& f) {
  const detail::SegmentationPair s = detail::read_segmentations(y_pred, y, r.include_background, r.num_classes, r.op);
  const auto dims = static_cast<std::int64_t>(s.spatial.size());
  VOXGRAD_CHECK(dims == 2 || dims == 3,
                "{}: expected 2 or 3 spatial dims (y_pred [B, C, H, W] or [B, C, D, H, W]), but got shape {}", r.op,
                shape_str(y_pred.sizes()));
  const std::vector<double> spacing = spacing_per_dim(r, s.spatial);
  const std::int64_t classes = s.scored();
  Tensor out = empty({s.batch, classes}, kFloat64);
  double* o = out.data_ptr<double>();
  voxgrad::detail::parallel_for(0, s.batch * classes, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t cell = begin; cell < end; ++cell) {
      const std::int64_t b = cell / classes, k = s.first + cell % classes;
      std::vector<std::uint8_t> pred(static_cast<std::size_t>(s.voxels)), truth(pred.size());
      for (std::int64_t v = 0; v < s.voxels; ++v) {
        pred[v] = s.at(s.pred, b, k, v) != 0;
        truth[v] = s.at(s.truth, b, k, v) != 0;
      }
      o[cell] = f(surface_distances(pred, truth, s.spatial, spacing, r.metric, r.both_directions));
    }
  });
  return out;
}

// np.percentile(d, p) with its default linear interpolation, in float64 (numpy 1.24's _quantile and
// _lerp: the virtual index (n − 1)·p/100, the last value beyond n − 1, and a lerp from whichever end
// is nearer). All-inf distances give inf − inf = NaN, as in MONAI.
double percentile_of(std::vector<double> d, double p) {
  std::sort(d.begin(), d.end());
  const auto n = static_cast<std::int64_t>(d.size());
  const double index = static_cast<double>(n - 1) * (p / 100.0);
  double a = 0, b = 0, gamma = 0;
  if (index >= static_cast<double>(n - 1)) {
    a = b = d[n - 1];
    gamma = index + 1;  // numpy's previous index is −1 there; b − a is 0 anyway
  } else {
    const double below = std::floor(index);
    a = d[static_cast<std::size_t>(below)];
    b = d[static_cast<std::size_t>(below) + 1];
    gamma = index - below;
  }
  const double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

}  // namespace

const char* distance_metric_name(DistanceMetric metric) {
  switch (metric) {
    case DistanceMetric::Euclidean: return "euclidean";
    case DistanceMetric::Chessboard: return "chessboard";
    case DistanceMetric::Taxicab: return "taxicab";
  }
  return "unknown";
}

Tensor compute_hausdorff_distance(const Tensor& y_pred, const Tensor& y, const HausdorffDistanceOptions& options) {
  const Request r{"compute_hausdorff_distance", options.include_background(), options.num_classes(),
                  options.distance_metric(),    &options.spacing(),           !options.directed()};
  const std::optional<double> percentile = options.percentile();
  VOXGRAD_CHECK(!percentile || (*percentile >= 0 && *percentile <= 100),
                "{}: percentile must be in [0, 100], but got {}", r.op, percentile.value_or(0));
  return per_sample_and_class(y_pred, y, r, [&](const std::vector<std::vector<double>>& directions) {
    // Per direction the maximum or percentile (NaN without distances), then the larger; NaN wins, as
    // torch.max.
    double hd = -kInf;
    for (const std::vector<double>& d : directions) {
      const double v = d.empty()    ? kNaN
                       : percentile ? percentile_of(d, *percentile)
                                    : *std::max_element(d.begin(), d.end());
      hd = std::isnan(v) || std::isnan(hd) ? kNaN : std::max(hd, v);
    }
    return hd;
  });
}

Tensor compute_average_surface_distance(const Tensor& y_pred, const Tensor& y, const SurfaceDistanceOptions& options) {
  const Request r{"compute_average_surface_distance", options.include_background(), options.num_classes(),
                  options.distance_metric(),          &options.spacing(),           options.symmetric()};
  return per_sample_and_class(y_pred, y, r, [](const std::vector<std::vector<double>>& directions) {
    // One mean over both directions' distances together (MONAI's torch.cat), summed in voxel order.
    double sum = 0;
    std::size_t n = 0;
    for (const std::vector<double>& d : directions) {
      for (const double x : d) sum += x;
      n += d.size();
    }
    return n == 0 ? kNaN : sum / static_cast<double>(n);
  });
}

Tensor HausdorffDistanceMetric::update(const Tensor& y_pred, const Tensor& y) {
  return keep(compute_hausdorff_distance(y_pred, y, options_));
}

Tensor HausdorffDistanceMetric::update(const Tensor& y_pred, const Tensor& y, const std::vector<double>& spacing) {
  return keep(compute_hausdorff_distance(y_pred, y, HausdorffDistanceOptions(options_).spacing(spacing)));
}

Tensor SurfaceDistanceMetric::update(const Tensor& y_pred, const Tensor& y) {
  return keep(compute_average_surface_distance(y_pred, y, options_));
}

Tensor SurfaceDistanceMetric::update(const Tensor& y_pred, const Tensor& y, const std::vector<double>& spacing) {
  return keep(compute_average_surface_distance(y_pred, y, SurfaceDistanceOptions(options_).spacing(spacing)));
}

}  // namespace voxgrad::metrics
