// Hausdorff and average surface distances with MONAI 1.3's rules: the fixtures of
// tests/fixtures/metrics/generate_surface.py (MONAI's algorithm in numpy/scipy, checked against
// MONAI 1.3.0), hand-counted cases, the empty-mask rules, errors, accumulation and thread counts.

#include <cmath>
#include <random>

#include "json_fixture.h"
#include "test_util.h"

namespace voxgrad {
namespace {

using metrics::DistanceMetric;
using metrics::HausdorffDistanceOptions;
using metrics::MetricReduction;
using metrics::SurfaceDistanceOptions;
using testing::values;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Equal, NaN matching NaN and inf matching inf, finite values to `rtol` relative.
void expect_same(const std::vector<double>& got, const std::vector<double>& want, double rtol = 1e-15) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i << ": " << got[i];
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << "at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], rtol * std::abs(want[i]) + 1e-300) << "at " << i;
    }
  }
}

// ---- fixtures ----------------------------------------------------------------------------------

const nlohmann::json& fixture() {
  static const nlohmann::json j = testing::load_fixture("metrics/surface.json");
  return j;
}

const nlohmann::json& fixture_case(const std::string& name) {
  for (const nlohmann::json& c : fixture()["cases"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no fixture case " + name);
}

DistanceMetric metric_of(const std::string& name) {
  if (name == "chessboard") return DistanceMetric::Chessboard;
  if (name == "taxicab") return DistanceMetric::Taxicab;
  return DistanceMetric::Euclidean;
}

TEST(SurfaceDistanceFixtures, FileHasTheCases) { EXPECT_EQ(fixture()["cases"].size(), 25u); }

class SurfaceDistanceFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(SurfaceDistanceFixture, MatchesMonaisAlgorithm) {
  const nlohmann::json& c = fixture_case(GetParam());
  const Tensor y_pred = testing::json_tensor(c["y_pred"], kFloat64), y = testing::json_tensor(c["y"], kFloat64);
  const auto spacing = c["spacing"].get<std::vector<double>>();
  const DistanceMetric metric = metric_of(c["distance_metric"]);
  auto hd = HausdorffDistanceOptions()
                .include_background(c["include_background"])
                .distance_metric(metric)
                .directed(c["directed"])
                .spacing(spacing)
                .num_classes(c["num_classes"]);
  if (!c["percentile"].is_null()) hd.percentile(c["percentile"].get<double>());
  const auto asd = SurfaceDistanceOptions()
                       .include_background(c["include_background"])
                       .distance_metric(metric)
                       .symmetric(c["symmetric"])
                       .spacing(spacing)
                       .num_classes(c["num_classes"]);
  const Tensor want_hd = testing::json_tensor(c["hausdorff"]), want_asd = testing::json_tensor(c["average_surface"]);
  const Tensor got_hd = metrics::compute_hausdorff_distance(y_pred, y, hd);
  const Tensor got_asd = metrics::compute_average_surface_distance(y_pred, y, asd);
  EXPECT_EQ(got_hd.dtype(), kFloat64);
  EXPECT_EQ(got_hd.sizes(), want_hd.sizes());
  EXPECT_EQ(got_asd.sizes(), want_asd.sizes());
  expect_same(values(got_hd), values(want_hd), 1e-12);
  expect_same(values(got_asd), values(want_asd), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Cases, SurfaceDistanceFixture, ::testing::ValuesIn(testing::fixture_case_names(fixture)),
                         testing::name_from_param);

// ---- by hand ----------------------------------------------------------------------------------

// Two 3×3 squares in a 7×7 image, one channel: y_pred at rows 1–3, columns 1–3; y one column right.
// Their surfaces are the 8-voxel rings (the centre is eroded). From y_pred's ring to y's: (1,1),
// (2,1), (3,1) are 1 column away, (2,3) is y's centre, 1 row from (1,3); the other four lie on y's
// ring. So the distances are {0, 0, 0, 0, 1, 1, 1, 1}, and the same the other way.
Tensor square(std::int64_t col) {
  Tensor t = zeros({1, 1, 7, 7}, kFloat64);
  t.narrow(2, 1, 3).narrow(3, col, 3).fill_(1.0);
  return t;
}

TEST(SurfaceDistance, TwoSquaresByHand) {
  const Tensor p = square(1), g = square(2);
  expect_same(values(metrics::compute_hausdorff_distance(p, g)), {1.0});
  expect_same(values(metrics::compute_average_surface_distance(p, g)), {0.5});
  expect_same(values(metrics::compute_average_surface_distance(p, g, SurfaceDistanceOptions().symmetric(true))), {0.5});
  // Sorted {0, 0, 0, 0, 1, 1, 1, 1}: index (n − 1)·p/100, linear between neighbours.
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().percentile(50))), {0.5});
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().percentile(100))), {1.0});
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().percentile(60))), {1.0});
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().percentile(40))), {0.0});
  // Percentile 0 is the minimum (MONAI 1.3's `if not percentile` would return the maximum, 1).
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().percentile(0))), {0.0});
  // Columns 2 apart: the column steps count 2, the row step to y's centre 1: {0 ×4, 1, 2, 2, 2}.
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().spacing({1, 2}))), {2.0});
  expect_same(values(metrics::compute_average_surface_distance(p, g, SurfaceDistanceOptions().spacing({1, 2}))),
              {7.0 / 8});
  // Taxicab and chessboard agree with Euclidean on unit steps.
  for (const DistanceMetric m : {DistanceMetric::Chessboard, DistanceMetric::Taxicab}) {
    expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().distance_metric(m))),
                {1.0});
  }
}

TEST(SurfaceDistance, DirectedAndSymmetricDifferWhenOneMaskContainsTheOther) {
  // y_pred a single voxel at (3, 3), y the 5×5 square at rows/columns 1–5 (its ring is 2 away from
  // the centre). y_pred → y: {2}; y → y_pred: the 16 ring voxels, √(dr² + dc²) with |dr|, |dc| ≤ 2.
  Tensor p = zeros({1, 1, 7, 7}, kFloat64), g = zeros({1, 1, 7, 7}, kFloat64);
  p.select(2, 3).select(2, 3).fill_(1.0);
  g.narrow(2, 1, 5).narrow(3, 1, 5).fill_(1.0);
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().directed(true))), {2.0});
  expect_same(values(metrics::compute_hausdorff_distance(p, g)), {std::sqrt(8.0)});
  // Ring: 4 corners at √8, 4 edge midpoints at 2, 8 others at √5; with y_pred's 2: 17 values.
  const double ring = 4 * std::sqrt(8.0) + 4 * 2.0 + 8 * std::sqrt(5.0);
  expect_same(values(metrics::compute_average_surface_distance(p, g)), {2.0});
  expect_same(values(metrics::compute_average_surface_distance(p, g, SurfaceDistanceOptions().symmetric(true))),
              {(2.0 + ring) / 17}, 1e-15);
}

TEST(SurfaceDistance, EmptyMasksFollowMonai) {
  const Tensor some = square(1), none = zeros({1, 1, 7, 7}, kFloat64);
  const auto hd = [](const Tensor& p, const Tensor& g, HausdorffDistanceOptions o = {}) {
    return values(metrics::compute_hausdorff_distance(p, g, o))[0];
  };
  const auto asd = [](const Tensor& p, const Tensor& g, SurfaceDistanceOptions o = {}) {
    return values(metrics::compute_average_surface_distance(p, g, o))[0];
  };
  // Neither has a surface: NaN (left out of reductions).
  EXPECT_TRUE(std::isnan(hd(none, none)));
  EXPECT_TRUE(std::isnan(asd(none, none, SurfaceDistanceOptions().symmetric(true))));
  // One without: inf, whichever one and in either direction mode (MONAI lists inf per surface voxel
  // of the other mask).
  for (const bool directed : {false, true}) {
    EXPECT_EQ(hd(none, some, HausdorffDistanceOptions().directed(directed)), kInf);
    EXPECT_EQ(hd(some, none, HausdorffDistanceOptions().directed(directed)), kInf);
    // With a percentile, inf − inf in the interpolation: NaN, as MONAI's torch.quantile.
    EXPECT_TRUE(std::isnan(hd(none, some, HausdorffDistanceOptions().directed(directed).percentile(95))));
    EXPECT_TRUE(std::isnan(hd(some, none, HausdorffDistanceOptions().directed(directed).percentile(100))));
  }
  for (const bool symmetric : {false, true}) {
    EXPECT_EQ(asd(none, some, SurfaceDistanceOptions().symmetric(symmetric)), kInf);
    EXPECT_EQ(asd(some, none, SurfaceDistanceOptions().symmetric(symmetric)), kInf);
  }
  // Reductions then skip the NaN and keep the inf.
  const Tensor batch_pred = cat({some, none, none}, 0), batch_truth = cat({some, none, some}, 0);
  expect_same(values(metrics::compute_hausdorff_distance(batch_pred, batch_truth)), {0.0, kNaN, kInf});
  expect_same(values(metrics::reduce_metric(metrics::compute_hausdorff_distance(batch_pred, batch_truth),
                                            MetricReduction::Mean)),
              {kInf});
}

TEST(SurfaceDistance, BackgroundClassIndicesAndASingleChannel) {
  // Channel 0 is the complement of channel 1; without background only channel 1 is scored.
  const Tensor p1 = square(1), g1 = square(2);
  const Tensor one = ones({1, 1, 7, 7}, kFloat64);
  const Tensor p = cat({one - p1, p1}, 1), g = cat({one - g1, g1}, 1);
  const Tensor without = metrics::compute_hausdorff_distance(p, g);
  EXPECT_EQ(without.sizes(), (Shape{1, 1}));
  expect_same(values(without), values(metrics::compute_hausdorff_distance(p1, g1)));
  const Tensor with = metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().include_background(true));
  EXPECT_EQ(with.sizes(), (Shape{1, 2}));
  // Class indices (y, or both with num_classes) give the one-hot values.
  expect_same(values(metrics::compute_hausdorff_distance(p, g1)), values(without));
  expect_same(values(metrics::compute_average_surface_distance(p1, g1, SurfaceDistanceOptions().num_classes(2))),
              values(metrics::compute_average_surface_distance(p, g)));
  // A single binary channel is scored with or without background (MONAI keeps a lone channel).
  expect_same(values(metrics::compute_hausdorff_distance(p1, g1, HausdorffDistanceOptions().include_background(true))),
              {1.0});
}

TEST(SurfaceDistance, ThreeDimensionalAnisotropicByHand) {
  // Two voxels of a 1×3×5 volume, 4 columns apart at spacing (2, 3, 0.25): distance 1 both ways.
  Tensor p = zeros({1, 1, 1, 3, 5}, kFloat64), g = zeros({1, 1, 1, 3, 5}, kFloat64);
  p.select(2, 0).select(2, 1).select(2, 0).fill_(1.0);
  g.select(2, 0).select(2, 1).select(2, 4).fill_(1.0);
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().spacing({2, 3, 0.25}))),
              {1.0});
  expect_same(values(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().spacing({0.5}))), {2.0});
  expect_same(values(metrics::compute_average_surface_distance(
                  p, g, SurfaceDistanceOptions().distance_metric(DistanceMetric::Chessboard))),
              {4.0});
}

// ---- errors -----------------------------------------------------------------------------------

TEST(SurfaceDistance, ErrorsNameTheArgumentAndValues) {
  const Tensor p = square(1), g = square(2);
  EXPECT_ERROR_CONTAINS(
      metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().spacing({1, 2, 3})),
      "compute_hausdorff_distance: spacing must hold 1 value or one per spatial dim (2), but holds 3: [1, 2, 3]");
  EXPECT_ERROR_CONTAINS(metrics::compute_average_surface_distance(p, g, SurfaceDistanceOptions().spacing({1, 0})),
                        "compute_average_surface_distance: spacing must be positive and finite, but got [1, 0]");
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().spacing({kNaN})),
                        "compute_hausdorff_distance: spacing must be positive and finite, but got [nan]");
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().spacing({-1})),
                        "spacing must be positive and finite, but got [-1]");
  EXPECT_ERROR_CONTAINS(
      metrics::compute_hausdorff_distance(
          p, g, HausdorffDistanceOptions().distance_metric(DistanceMetric::Taxicab).spacing({1, 2})),
      "compute_hausdorff_distance: spacing applies to the euclidean distance only (chessboard and taxicab count voxel "
      "steps; MONAI ignores it), but got spacing [1, 2] with taxicab");
  EXPECT_ERROR_CONTAINS(metrics::compute_average_surface_distance(
                            p, g, SurfaceDistanceOptions().distance_metric(DistanceMetric::Chessboard).spacing({0.5})),
                        "but got spacing [0.5] with chessboard");
  // Unit spacing with a chamfer metric changes nothing and is accepted.
  expect_same(values(metrics::compute_hausdorff_distance(
                  p, g, HausdorffDistanceOptions().distance_metric(DistanceMetric::Taxicab).spacing({1}))),
              {1.0});
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().percentile(100.5)),
                        "compute_hausdorff_distance: percentile must be in [0, 100], but got 100.5");
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().percentile(-1)),
                        "percentile must be in [0, 100], but got -1");
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().percentile(kNaN)),
                        "percentile must be in [0, 100], but got nan");
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(zeros({1, 1, 5}), zeros({1, 1, 5})),
                        "compute_hausdorff_distance: expected 2 or 3 spatial dims (y_pred [B, C, H, W] or [B, C, D, "
                        "H, W]), but got shape [1, 1, 5]");
  EXPECT_ERROR_CONTAINS(metrics::compute_average_surface_distance(zeros({1, 1, 2, 2, 2, 2}), zeros({1, 1, 2, 2, 2, 2})),
                        "compute_average_surface_distance: expected 2 or 3 spatial dims");
  // The input rules are compute_dice's, named after this op.
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(full({1, 1, 2, 2}, 0.5), zeros({1, 1, 2, 2})),
                        "compute_hausdorff_distance: y_pred must be binarized (0 or 1), but holds 0.5 at flat index 0");
  EXPECT_ERROR_CONTAINS(metrics::compute_average_surface_distance(zeros({1, 3, 2, 2}), full({1, 1, 2, 2}, 3.0)),
                        "compute_average_surface_distance: y holds class indices (one channel), which must be whole "
                        "numbers in [0, 3), but holds 3 at flat index 0");
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(zeros({1, 2, 3, 3}), zeros({1, 2, 3, 4})),
                        "compute_hausdorff_distance: y_pred and y should have the same batch and spatial sizes, got "
                        "[1, 2, 3, 3] and [1, 2, 3, 4]");
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(zeros({2, 2}), zeros({2, 2})),
                        "compute_hausdorff_distance: expected y_pred [B, C, spatial...] with at least 3 dims");
  EXPECT_ERROR_CONTAINS(metrics::compute_average_surface_distance(p, g, SurfaceDistanceOptions().num_classes(-1)),
                        "compute_average_surface_distance: num_classes must not be negative, but got -1");
  EXPECT_ERROR_CONTAINS(metrics::compute_hausdorff_distance(Tensor(), g), "compute_hausdorff_distance");
  // Spacings whose squared distances would underflow or overflow float64 (the transform's envelope
  // would compare NaNs).
  EXPECT_ERROR_EQ(metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions().spacing({1e-170})),
                  "compute_hausdorff_distance: spacing [1e-170] is out of range for a volume of [7, 7]: squared "
                  "distances would underflow or overflow float64 (each spacing² must be at least "
                  "2.2250738585072014e-308, the squared diagonal below 1e300)");
  EXPECT_ERROR_CONTAINS(metrics::compute_average_surface_distance(p, g, SurfaceDistanceOptions().spacing({1, 1e150})),
                        "compute_average_surface_distance: spacing [1, 1e+150] is out of range for a volume of [7, 7]");
}

TEST(SurfaceDistance, ViewsFloat32AndZeroSizedVolumes) {
  // A permuted, a strided and an offset view, and float32: the same values as the contiguous float64.
  const Tensor p = square(1), g = square(2);
  const std::vector<double> hd = values(metrics::compute_hausdorff_distance(p, g));
  const std::vector<double> asd = values(metrics::compute_average_surface_distance(p, g));
  const Tensor pt = p.transpose(2, 3).contiguous().transpose(2, 3);  // same values, permuted strides
  EXPECT_FALSE(pt.is_contiguous());
  expect_same(values(metrics::compute_hausdorff_distance(pt, g)), hd);
  expect_same(values(metrics::compute_average_surface_distance(g, pt)),
              values(metrics::compute_average_surface_distance(g, p)));
  const Tensor wide = zeros({1, 1, 7, 14}, kFloat64);
  wide.slice(3, 0, 14, 2).copy_(g);  // every other column: a strided view holding g
  expect_same(values(metrics::compute_hausdorff_distance(p, wide.slice(3, 0, 14, 2))), hd);
  const Tensor padded = zeros({2, 1, 7, 7}, kFloat64);
  padded.select(0, 1).copy_(p.select(0, 0));
  expect_same(values(metrics::compute_average_surface_distance(padded.narrow(0, 1, 1), g)), asd);  // offset
  expect_same(values(metrics::compute_hausdorff_distance(p.to(kFloat32), g.to(kFloat32))), hd);
  // Zero-sized: a batch of none gives [0, C]; an empty volume has no surface (NaN, as two empty masks).
  EXPECT_EQ(metrics::compute_hausdorff_distance(zeros({0, 1, 4, 4}), zeros({0, 1, 4, 4})).sizes(), (Shape{0, 1}));
  const std::vector<double> empty_volume =
      values(metrics::compute_hausdorff_distance(zeros({1, 1, 0, 4}), zeros({1, 1, 0, 4})));
  ASSERT_EQ(empty_volume.size(), 1u);
  EXPECT_TRUE(std::isnan(empty_volume[0]));
}

// ---- accumulation -----------------------------------------------------------------------------

TEST(SurfaceDistanceMetrics, AccumulateAggregateAndReset) {
  const Tensor p = cat({square(1), square(2), zeros({1, 1, 7, 7}, kFloat64)}, 0);
  const Tensor g = cat({square(2), square(2), square(3)}, 0);
  metrics::HausdorffDistanceMetric hd(HausdorffDistanceOptions().reduction(MetricReduction::MeanBatch));
  hd.update(p.narrow(0, 0, 2), g.narrow(0, 0, 2));
  hd.update(p.narrow(0, 2, 1), g.narrow(0, 2, 1));
  expect_same(values(hd.values()), values(metrics::compute_hausdorff_distance(p, g)));
  expect_same(values(hd.values()), {1.0, 0.0, kInf});
  expect_same(values(hd.aggregate()), {kInf});
  expect_same(values(hd.aggregate(MetricReduction::None)), {1.0, 0.0, kInf});
  EXPECT_EQ(values(hd.aggregate_with_not_nans().not_nans), (std::vector<double>{3}));
  hd.reset();
  EXPECT_ERROR_CONTAINS(hd.aggregate(), "HausdorffDistanceMetric: no values accumulated (call update() first)");
  // A batch's own spacing replaces the options' (MONAI's spacing keyword).
  expect_same(values(hd.update(p.narrow(0, 0, 1), g.narrow(0, 0, 1), {1, 2})), {2.0});
  expect_same(values(hd.update(p.narrow(0, 0, 1), g.narrow(0, 0, 1))), {1.0});
  expect_same(values(hd.aggregate(MetricReduction::Mean)), {1.5});
  EXPECT_ERROR_CONTAINS(hd.update(cat({p, p, p}, 1), cat({g, g, g}, 1), {1, 1}),
                        "HausdorffDistanceMetric: this batch has 2 classes, but earlier batches had 1");

  metrics::SurfaceDistanceMetric asd(SurfaceDistanceOptions().symmetric(true).include_background(true));
  asd.update(p.narrow(0, 0, 2), g.narrow(0, 0, 2));
  expect_same(values(asd.aggregate()), {0.25});  // (0.5 + 0) / 2
  expect_same(values(asd.update(p.narrow(0, 0, 1), g.narrow(0, 0, 1), {1, 2})), {7.0 / 8});
  EXPECT_EQ(asd.values().sizes(), (Shape{3, 1}));
  EXPECT_ERROR_CONTAINS(asd.update(cat({p, p}, 1), cat({g, g}, 1)),
                        "SurfaceDistanceMetric: this batch has 2 classes, but earlier batches had 1");
  asd.reset();
  EXPECT_ERROR_CONTAINS(asd.aggregate_with_not_nans(), "SurfaceDistanceMetric: no values accumulated");
}

// ---- threads ----------------------------------------------------------------------------------

// Random balls of classes 1–2 over background 0, as class indices [B, 1, 28, 26, 24].
Tensor random_labels(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor t = zeros({2, 1, 28, 26, 24}, kFloat64);
  double* p = t.data_ptr<double>();
  for (std::int64_t b = 0; b < 2; ++b) {
    for (int k = 1; k <= 2; ++k) {
      for (int ball = 0; ball < 3; ++ball) {
        const double cz = static_cast<double>(rng() % 28), cy = static_cast<double>(rng() % 26),
                     cx = static_cast<double>(rng() % 24), r = 4.0 + static_cast<double>(rng() % 6);
        for (std::int64_t z = 0; z < 28; ++z)
          for (std::int64_t y = 0; y < 26; ++y)
            for (std::int64_t x = 0; x < 24; ++x) {
              const double dz = static_cast<double>(z) - cz, dy = static_cast<double>(y) - cy,
                           dx = static_cast<double>(x) - cx;
              if (dz * dz + dy * dy + dx * dx <= r * r) p[((b * 28 + z) * 26 + y) * 24 + x] = k;
            }
      }
    }
  }
  return t;
}

TEST(SurfaceDistanceMetrics, BitIdenticalForOneAndTwoThreads) {
  testing::RestoreTwoThreads restore;
  const Tensor p = random_labels(1), g = random_labels(2);
  const auto run = [&] {
    const auto hd = HausdorffDistanceOptions().num_classes(3).spacing({0.8, 1.25, 2.0});
    return std::vector<Tensor>{
        metrics::compute_hausdorff_distance(p, g, hd),
        metrics::compute_hausdorff_distance(p, g, HausdorffDistanceOptions(hd).percentile(95)),
        metrics::compute_average_surface_distance(p, g, SurfaceDistanceOptions().num_classes(3).symmetric(true)),
        metrics::compute_average_surface_distance(
            p, g, SurfaceDistanceOptions().num_classes(3).distance_metric(DistanceMetric::Chessboard)),
    };
  };
  set_num_threads(1);
  const std::vector<Tensor> one = run();
  set_num_threads(2);
  const std::vector<Tensor> two = run();
  for (std::size_t i = 0; i < one.size(); ++i) {
    testing::expect_bitwise_equal(one[i], two[i], "result " + std::to_string(i));
    for (const double v : values(one[i])) EXPECT_TRUE(std::isfinite(v) && v > 0) << "result " << i << ": " << v;
  }
}

}  // namespace
}  // namespace voxgrad
