// The exact distance transforms and mask surfaces behind the surface-distance metrics, against
// brute-force references on many small random grids (ranks 1 to 3, anisotropic spacing, no
// features, all features), and bit-identical for 1 and 2 threads.

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "test_util.h"
#include "voxgrad/metrics/detail/distance_transform.h"

namespace voxgrad {
namespace {

using metrics::DistanceMetric;
using metrics::detail::distance_transform;
using metrics::detail::mask_edges;

constexpr double kInf = std::numeric_limits<double>::infinity();

// A random grid: rank 1 to 3, sizes 1 to 9, a mask of the given density, spacing in [0.3, 2.5).
struct Grid {
  Shape sizes;
  std::vector<std::uint8_t> mask;
  std::vector<double> spacing;
};

Grid random_grid(std::mt19937_64& rng, double density) {
  const auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  Grid g;
  const int rank = 1 + static_cast<int>(rng() % 3);
  std::int64_t voxels = 1;
  for (int d = 0; d < rank; ++d) {
    g.sizes.push_back(1 + static_cast<std::int64_t>(rng() % 9));
    g.spacing.push_back(0.3 + 2.2 * uniform());
    voxels *= g.sizes.back();
  }
  for (std::int64_t v = 0; v < voxels; ++v) g.mask.push_back(uniform() < density ? 1 : 0);
  return g;
}

// The coordinates of flat index v on a row-major grid.
Shape coords(std::int64_t v, const Shape& sizes) {
  Shape c(sizes.size());
  for (std::int64_t d = static_cast<std::int64_t>(sizes.size()) - 1; d >= 0; --d) {
    c[d] = v % sizes[d];
    v /= sizes[d];
  }
  return c;
}

// min over features of the metric distance, the Euclidean one's squares added in axis order (scipy's).
std::vector<double> brute_force(const Grid& g, DistanceMetric metric) {
  std::vector<double> out;
  for (std::size_t v = 0; v < g.mask.size(); ++v) {
    const Shape a = coords(static_cast<std::int64_t>(v), g.sizes);
    double best = kInf;
    for (std::size_t f = 0; f < g.mask.size(); ++f) {
      if (!g.mask[f]) continue;
      const Shape b = coords(static_cast<std::int64_t>(f), g.sizes);
      double d = 0;
      for (std::size_t k = 0; k < a.size(); ++k) {
        const auto steps = static_cast<double>(std::abs(a[k] - b[k]));
        if (metric == DistanceMetric::Euclidean) {
          const double x = g.spacing[k] * steps;
          d += x * x;
        } else if (metric == DistanceMetric::Chessboard) {
          d = std::max(d, steps);
        } else {
          d += steps;
        }
      }
      best = std::min(best, metric == DistanceMetric::Euclidean ? std::sqrt(d) : d);
    }
    out.push_back(best);
  }
  return out;
}

TEST(DistanceTransform, MatchesBruteForceOnRandomGrids) {
  std::mt19937_64 rng(20241205);
  int with_features = 0, without = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const double density = std::array<double, 5>{0.0, 0.03, 0.15, 0.5, 1.0}[trial % 5];
    const Grid g = random_grid(rng, density);
    const bool any = std::find(g.mask.begin(), g.mask.end(), 1) != g.mask.end();
    (any ? with_features : without) += 1;
    for (const DistanceMetric metric :
         {DistanceMetric::Euclidean, DistanceMetric::Chessboard, DistanceMetric::Taxicab}) {
      const std::vector<double> got = distance_transform(g.mask, g.sizes, g.spacing, metric);
      const std::vector<double> want = brute_force(g, metric);
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t v = 0; v < got.size(); ++v) {
        if (std::isinf(want[v]) || metric != DistanceMetric::Euclidean) {
          ASSERT_EQ(got[v], want[v]) << "trial " << trial << ", " << metrics::distance_metric_name(metric) << ", grid "
                                     << shape_str(g.sizes) << ", flat index " << v;
        } else {
          ASSERT_NEAR(got[v], want[v], 1e-12 * want[v])
              << "trial " << trial << ", grid " << shape_str(g.sizes) << ", flat index " << v;
        }
      }
    }
  }
  EXPECT_GT(with_features, 300);  // the densities above give both kinds
  EXPECT_GT(without, 100);
}

TEST(DistanceTransform, LargerGridsMatchBruteForceAtSampledVoxels) {
  // Lines long enough to build envelopes of many parabolas, features sparse (far apart).
  std::mt19937_64 rng(7);
  for (const Shape& sizes : {Shape{40, 37}, Shape{13, 17, 19}, Shape{61}}) {
    Grid g;
    g.sizes = sizes;
    std::int64_t voxels = 1;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      voxels *= sizes[d];
      g.spacing.push_back(0.4 + 0.5 * static_cast<double>(d));
    }
    for (std::int64_t v = 0; v < voxels; ++v) g.mask.push_back(rng() % 97 == 0 ? 1 : 0);
    g.mask[static_cast<std::size_t>(voxels / 2)] = 1;
    for (const DistanceMetric metric :
         {DistanceMetric::Euclidean, DistanceMetric::Chessboard, DistanceMetric::Taxicab}) {
      const std::vector<double> got = distance_transform(g.mask, g.sizes, g.spacing, metric);
      const std::vector<double> want = brute_force(g, metric);
      for (std::size_t v = 0; v < got.size(); ++v) {
        ASSERT_NEAR(got[v], want[v], 1e-12 * want[v]) << metrics::distance_metric_name(metric) << " at " << v;
      }
    }
  }
}

TEST(DistanceTransform, ByHandOnALine) {
  // Features at 1 and 5 of 8, spacing 0.5: distances 0.5·|Δ| to the nearer one.
  const std::vector<std::uint8_t> f{0, 1, 0, 0, 0, 1, 0, 0};
  EXPECT_EQ(distance_transform(f, {8}, {0.5}, DistanceMetric::Euclidean),
            (std::vector<double>{0.5, 0, 0.5, 1, 0.5, 0, 0.5, 1}));
  EXPECT_EQ(distance_transform(f, {8}, {0.5}, DistanceMetric::Taxicab),  // voxel steps, spacing unused
            (std::vector<double>{1, 0, 1, 2, 1, 0, 1, 2}));
  // 2-D: one feature at (0, 0) of 3×3: chessboard max, taxicab sum, Euclidean √(Δ0² + Δ1²).
  std::vector<std::uint8_t> one(9, 0);
  one[0] = 1;
  EXPECT_EQ(distance_transform(one, {3, 3}, {1, 1}, DistanceMetric::Chessboard),
            (std::vector<double>{0, 1, 2, 1, 1, 2, 2, 2, 2}));
  EXPECT_EQ(distance_transform(one, {3, 3}, {1, 1}, DistanceMetric::Taxicab),
            (std::vector<double>{0, 1, 2, 1, 2, 3, 2, 3, 4}));
  EXPECT_EQ(distance_transform(one, {3, 3}, {1, 1}, DistanceMetric::Euclidean)[8], std::sqrt(8.0));
  EXPECT_EQ(distance_transform(std::vector<std::uint8_t>(4, 0), {2, 2}, {1, 1}, DistanceMetric::Chessboard),
            (std::vector<double>(4, kInf)));
}

// The voxels of the mask with a face neighbour outside it or outside the grid.
std::vector<std::uint8_t> brute_force_edges(const Grid& g) {
  std::vector<std::uint8_t> out(g.mask.size(), 0);
  for (std::size_t v = 0; v < g.mask.size(); ++v) {
    if (!g.mask[v]) continue;
    const Shape c = coords(static_cast<std::int64_t>(v), g.sizes);
    for (std::size_t d = 0; d < c.size(); ++d) {
      for (const int step : {-1, 1}) {
        Shape n = c;
        n[d] += step;
        if (n[d] < 0 || n[d] >= g.sizes[d]) {
          out[v] = 1;
          continue;
        }
        std::int64_t flat = 0;
        for (std::size_t k = 0; k < n.size(); ++k) flat = flat * g.sizes[k] + n[k];
        if (!g.mask[static_cast<std::size_t>(flat)]) out[v] = 1;
      }
    }
  }
  return out;
}

TEST(MaskEdges, AreTheMaskMinusItsErosionByTheCross) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 400; ++trial) {
    const Grid g = random_grid(rng, std::array<double, 4>{0.0, 0.5, 0.85, 1.0}[trial % 4]);
    ASSERT_EQ(mask_edges(g.mask, g.sizes), brute_force_edges(g)) << "trial " << trial << ", " << shape_str(g.sizes);
  }
  // By hand: a full 4×4 mask keeps its 2×2 centre (the border counts as outside, scipy's border 0);
  // a 3×3×3 cube loses only its centre (the cross ignores diagonal neighbours).
  const std::vector<std::uint8_t> full(16, 1);
  EXPECT_EQ(mask_edges(full, {4, 4}), (std::vector<std::uint8_t>{1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1}));
  std::vector<std::uint8_t> cube(125, 0);
  for (int z = 1; z < 4; ++z)
    for (int y = 1; y < 4; ++y)
      for (int x = 1; x < 4; ++x) cube[static_cast<std::size_t>(25 * z + 5 * y + x)] = 1;
  const std::vector<std::uint8_t> edges = mask_edges(cube, {5, 5, 5});
  EXPECT_EQ(std::count(edges.begin(), edges.end(), 1), 26);
  EXPECT_EQ(edges[62], 0);
}

TEST(DistanceTransform, BitIdenticalForOneAndTwoThreads) {
  testing::RestoreTwoThreads restore;
  std::mt19937_64 rng(3);
  const Shape sizes{48, 44, 40};
  std::vector<std::uint8_t> mask(48 * 44 * 40);
  for (auto& m : mask) m = rng() % 211 == 0 ? 1 : 0;
  for (const DistanceMetric metric : {DistanceMetric::Euclidean, DistanceMetric::Chessboard, DistanceMetric::Taxicab}) {
    set_num_threads(1);
    const std::vector<double> one = distance_transform(mask, sizes, {0.7, 1.1, 2.3}, metric);
    const std::vector<std::uint8_t> edges_one = mask_edges(mask, sizes);
    set_num_threads(2);
    const std::vector<double> two = distance_transform(mask, sizes, {0.7, 1.1, 2.3}, metric);
    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(double)), 0)
        << metrics::distance_metric_name(metric);
    EXPECT_EQ(mask_edges(mask, sizes), edges_one);
  }
}

}  // namespace
}  // namespace voxgrad
