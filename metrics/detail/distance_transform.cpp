// Exact distance transforms, one axis at a time: after the passes over axes 0..d, each voxel holds
// its distance to the nearest feature among the voxels that differ from it in those axes only. Each
// pass replaces every line along its axis by a 1-D transform of itself, independently of the other
// lines, so the lines run in parallel and the result does not depend on how they are split.

#include "voxgrad/metrics/detail/distance_transform.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "voxgrad/core/detail/parallel.h"

namespace voxgrad::metrics::detail {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Scratch of one chunk of lines of n voxels.
struct LineScratch {
  std::vector<double> in, out, z;
  std::vector<std::int64_t> g, s, t;
  explicit LineScratch(std::int64_t n) : in(n), out(n), z(n + 1), g(n), s(n), t(n) {}
};

// Squared Euclidean along one axis of spacing h: out[x] = min_q in[q] + (h·(x − q))² over the finite
// in[q] (Felzenszwalb & Huttenlocher 2012: the lower envelope of the parabolas rooted at the finite
// samples; s holds the roots, z the abscissae where one gives way to the next). The value is
// in + (h·Δ)² of the chosen root, so the per-axis terms are added in axis order, as scipy's sum.
void squared_euclidean_line(std::int64_t n, double h, LineScratch& w) {
  const double* f = w.in.data();
  double* z = w.z.data();
  std::int64_t* s = w.s.data();
  const double h2 = h * h;
  std::int64_t k = -1;
  for (std::int64_t q = 0; q < n; ++q) {
    if (f[q] == kInf) continue;
    if (k < 0) {
      k = 0;
      s[0] = q;
      z[0] = -kInf;
      z[1] = kInf;
      continue;
    }
    // Where q's parabola drops below the envelope's last one; the ones it undercuts before their
    // start are dropped (z[0] = −inf keeps the first).
    double sep = 0;
    for (;;) {
      const auto qd = static_cast<double>(q), rd = static_cast<double>(s[k]);
      sep = ((f[q] + h2 * qd * qd) - (f[s[k]] + h2 * rd * rd)) / (2 * h2 * (qd - rd));
      if (sep > z[k] || k == 0) break;  // k = 0: z[0] = −inf stops it; the test also guards a NaN
      --k;
    }
    ++k;
    s[k] = q;
    z[k] = sep;
    z[k + 1] = kInf;
  }
  if (k < 0) {
    std::fill(w.out.begin(), w.out.begin() + n, kInf);
    return;
  }
  std::int64_t j = 0;
  for (std::int64_t x = 0; x < n; ++x) {
    while (z[j + 1] < static_cast<double>(x)) ++j;
    const double d = h * static_cast<double>(x - s[j]);
    w.out[x] = f[s[j]] + d * d;
  }
}

// Chessboard along one axis: out[x] = min_q max(|x − q|, in[q]) (Meijster, Roerdink & Hesselink 2000,
// with their separator for the maximum norm), in integers with `big` for inf: s holds the roots of
// the envelope, t the first x where each is the best.
void chessboard_line(std::int64_t n, std::int64_t big, LineScratch& w) {
  std::int64_t* g = w.g.data();
  std::int64_t* s = w.s.data();
  std::int64_t* t = w.t.data();
  for (std::int64_t x = 0; x < n; ++x) g[x] = w.in[x] == kInf ? big : static_cast<std::int64_t>(w.in[x]);
  const auto f = [&](std::int64_t x, std::int64_t i) { return std::max(std::abs(x - i), g[i]); };
  // The last x where root i (< u) is at least as good as root u.
  const auto sep = [&](std::int64_t i, std::int64_t u) {
    return g[i] <= g[u] ? std::max(i + g[u], (i + u) / 2) : std::min(u - g[i], (i + u) / 2);
  };
  std::int64_t q = 0;
  s[0] = 0;
  t[0] = 0;
  for (std::int64_t u = 1; u < n; ++u) {
    while (q >= 0 && f(t[q], s[q]) > f(t[q], u)) --q;
    if (q < 0) {
      q = 0;
      s[0] = u;
    } else {
      const std::int64_t first = 1 + sep(s[q], u);
      if (first < n) {
        ++q;
        s[q] = u;
        t[q] = first;
      }
    }
  }
  for (std::int64_t u = n - 1; u >= 0; --u) {
    const std::int64_t d = f(u, s[q]);
    w.out[u] = d >= big ? kInf : static_cast<double>(d);
    if (u == t[q]) --q;
  }
}

// Taxicab along one axis: out[x] = min_q |x − q| + in[q], by a forward and a backward sweep.
void taxicab_line(std::int64_t n, LineScratch& w) {
  double* o = w.out.data();
  for (std::int64_t x = 0; x < n; ++x) o[x] = x > 0 ? std::min(w.in[x], o[x - 1] + 1) : w.in[x];
  for (std::int64_t x = n - 2; x >= 0; --x) o[x] = std::min(o[x], o[x + 1] + 1);
}

}  // namespace

std::vector<double> distance_transform(const std::vector<std::uint8_t>& feature, const Shape& sizes,
                                       const std::vector<double>& spacing, DistanceMetric metric) {
  std::int64_t voxels = 1, extent = 1;
  for (const std::int64_t n : sizes) {
    voxels *= n;
    extent += n;
  }
  std::vector<double> dist(static_cast<std::size_t>(voxels));
  for (std::int64_t i = 0; i < voxels; ++i) dist[i] = feature[i] ? 0.0 : kInf;
  if (voxels == 0) return dist;
  const auto rank = static_cast<std::int64_t>(sizes.size());
  for (std::int64_t axis = 0; axis < rank; ++axis) {
    const std::int64_t n = sizes[axis];
    std::int64_t stride = 1;
    for (std::int64_t d = axis + 1; d < rank; ++d) stride *= sizes[d];
    const std::int64_t lines = voxels / n;
    // Line l starts at (l / stride)·n·stride + l % stride; its voxels are `stride` apart.
    voxgrad::detail::parallel_for(0, lines, std::max<std::int64_t>(1, 8192 / n),
                                  [&](std::int64_t begin, std::int64_t end) {
                                    LineScratch w(n);
                                    for (std::int64_t l = begin; l < end; ++l) {
                                      double* line = dist.data() + (l / stride) * n * stride + l % stride;
                                      for (std::int64_t x = 0; x < n; ++x) w.in[x] = line[x * stride];
                                      switch (metric) {
                                        case DistanceMetric::Euclidean:
                                          squared_euclidean_line(n, spacing[axis], w);
                                          break;
                                        case DistanceMetric::Chessboard: chessboard_line(n, extent, w); break;
                                        case DistanceMetric::Taxicab: taxicab_line(n, w); break;
                                      }
                                      for (std::int64_t x = 0; x < n; ++x) line[x * stride] = w.out[x];
                                    }
                                  });
  }
  if (metric == DistanceMetric::Euclidean) {
    voxgrad::detail::parallel_for(0, voxels, voxgrad::detail::kElementwiseGrain,
                                  [&](std::int64_t begin, std::int64_t end) {
                                    for (std::int64_t i = begin; i < end; ++i) dist[i] = std::sqrt(dist[i]);
                                  });
  }
  return dist;
}

std::vector<std::uint8_t> mask_edges(const std::vector<std::uint8_t>& mask, const Shape& sizes) {
  const auto rank = static_cast<std::int64_t>(sizes.size());
  std::int64_t voxels = 1;
  for (const std::int64_t n : sizes) voxels *= n;
  std::vector<std::uint8_t> edges(static_cast<std::size_t>(voxels), 0);
  if (voxels == 0) return edges;
  Shape strides(sizes.size(), 1);
  for (std::int64_t d = rank - 2; d >= 0; --d) strides[d] = strides[d + 1] * sizes[d + 1];
  // Rows along the last axis; a row's other coordinates decide which of its face neighbours exist.
  const std::int64_t row = sizes[rank - 1], rows = voxels / row;
  voxgrad::detail::parallel_for(
      0, rows, std::max<std::int64_t>(1, 16384 / row), [&](std::int64_t begin, std::int64_t end) {
        Shape coord(sizes.size());
        for (std::int64_t r = begin; r < end; ++r) {
          const std::int64_t base = r * row;
          bool on_border = false;  // in the first or last slice of another axis: every mask voxel is an edge
          for (std::int64_t d = 0, rest = base; d < rank - 1; ++d) {
            coord[d] = rest / strides[d];
            rest %= strides[d];
            on_border = on_border || coord[d] == 0 || coord[d] == sizes[d] - 1;
          }
          for (std::int64_t x = 0; x < row; ++x) {
            const std::int64_t v = base + x;
            if (!mask[v]) continue;
            bool edge = on_border || x == 0 || x == row - 1 || !mask[v - 1] || !mask[v + 1];
            for (std::int64_t d = 0; d < rank - 1 && !edge; ++d) edge = !mask[v - strides[d]] || !mask[v + strides[d]];
            edges[v] = edge ? 1 : 0;
          }
        }
      });
  return edges;
}

}  // namespace voxgrad::metrics::detail
