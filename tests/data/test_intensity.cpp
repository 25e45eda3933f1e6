// Intensity transforms against hand-computed values and naive references (numpy.percentile,
// MONAI NormalizeIntensity / ScaleIntensityRangePercentiles semantics).
#include <cmath>

#include "data/volume_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::data;
using voxgrad::testing::expect_close;
using voxgrad::testing::values;

TEST(Percentile, InterpolatesLinearlyBetweenRanksAsNumpy) {
  const Tensor t = tensor({7, 1, 3, 5}, kFloat64);  // sorted 1 3 5 7
  EXPECT_DOUBLE_EQ(percentile(t, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(t, 100), 7);
  EXPECT_DOUBLE_EQ(percentile(t, 50), 4);    // position 1.5
  EXPECT_DOUBLE_EQ(percentile(t, 25), 2.5);  // position 0.75
  EXPECT_DOUBLE_EQ(percentile(t, 90), 6.4);  // position 2.7
  EXPECT_DOUBLE_EQ(percentile(tensor({2}), 33), 2);
  // Against a sort on random data.
  manual_seed(5);
  const Tensor r = randn({1, 7, 6, 5}, kFloat64);
  std::vector<double> s = values(r);
  std::sort(s.begin(), s.end());
  for (const double q : {0.5, 1.0, 13.0, 50.0, 99.5}) {
    const double pos = q / 100 * static_cast<double>(s.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    EXPECT_NEAR(percentile(r, q), s[lo] + (pos - static_cast<double>(lo)) * (s[lo + 1] - s[lo]), 1e-12) << q;
  }
  EXPECT_ERROR_EQ(percentile(t, 101), "percentile: q must be in [0, 100], but got 101");
}

TEST(NormalizeIntensity, ZScoresEachChannelOverAllOrOverNonzeroVoxels) {
  // Channel 0: {0, 0, 2, 4}; channel 1: {1, 3, 5, 7}.
  const Tensor v = tensor({0, 0, 2, 4, 1, 3, 5, 7}, kFloat64).reshape({2, 1, 2, 2});
  const double s1 = std::sqrt(5.0);   // population std of {1, 3, 5, 7}
  const double s0 = std::sqrt(2.75);  // of {0, 0, 2, 4}, mean 1.5
  voxgrad::testing::expect_values(normalize_intensity(v, false), {2, 1, 2, 2},
                                  {-1.5 / s0, -1.5 / s0, 0.5 / s0, 2.5 / s0, -3 / s1, -1 / s1, 1 / s1, 3 / s1}, 1e-12);
  // Nonzero: channel 0 over {2, 4} (mean 3, std 1), its zeros stay zero.
  voxgrad::testing::expect_values(normalize_intensity(v, true), {2, 1, 2, 2},
                                  {0, 0, -1, 1, -3 / s1, -1 / s1, 1 / s1, 3 / s1}, 1e-12);
  // A constant channel is only shifted; a strided view gives the same.
  const Tensor c = full({1, 2, 2, 2}, 3.0, kFloat64);
  voxgrad::testing::expect_values(normalize_intensity(c), {1, 2, 2, 2}, std::vector<double>(8, 0.0));
  manual_seed(3);
  const Tensor r = randn({2, 3, 4, 5});
  expect_close(normalize_intensity(voxgrad::testing::strided_copy(r), true), normalize_intensity(r, true));
}

TEST(ScaleIntensityRangePercentiles, MapsThePercentilesOntoTheRangeAndClips) {
  // 0..100 in 101 voxels: percentile q is q itself.
  const Tensor v = arange(0, 101, 1, kFloat64).reshape({1, 1, 1, 101});
  const Tensor out =
      scale_intensity_range_percentiles(v, ScaleIntensityRangePercentilesOptions(10, 90, 0, 1).clip(true));
  const std::vector<double> y = values(out);
  for (int i = 0; i <= 100; ++i)
    EXPECT_NEAR(y[static_cast<std::size_t>(i)], std::clamp((i - 10) / 80.0, 0.0, 1.0), 1e-12);
  const std::vector<double> unclipped =
      values(scale_intensity_range_percentiles(v, ScaleIntensityRangePercentilesOptions(10, 90, -1, 1)));
  EXPECT_NEAR(unclipped[0], -1 - 20.0 / 80, 1e-12) << "no clip by default, as MONAI";
  EXPECT_NEAR(unclipped[100], 1 + 20.0 / 80, 1e-12);
  // Equal percentiles (a constant volume): shifted, not divided by zero.
  voxgrad::testing::expect_values(
      scale_intensity_range_percentiles(full({1, 1, 1, 3}, 5.0), ScaleIntensityRangePercentilesOptions(1, 99, 0, 1)),
      {1, 1, 1, 3}, {0, 0, 0});
  // NaN: percentile gives NaN (numpy's), the rescaling refuses.
  const Tensor with_nan = tensor({5.0, std::nan(""), 1.0, 3.0}, kFloat64).reshape({1, 1, 1, 4});
  EXPECT_TRUE(std::isnan(percentile(with_nan, 50)));
  EXPECT_TRUE(std::isnan(percentile(with_nan.flip({3}), 0)));
  EXPECT_ERROR_EQ(scale_intensity_range_percentiles(with_nan, ScaleIntensityRangePercentilesOptions(1, 99, 0, 1)),
                  "scale_intensity_range_percentiles: the volume holds NaN (shape [1, 1, 1, 4])");
  EXPECT_ERROR_EQ(
      scale_intensity_range_percentiles(v, ScaleIntensityRangePercentilesOptions(90, 10, 0, 1)),
      "scale_intensity_range_percentiles: expected 0 <= lower <= upper <= 100, but got lower 90 and upper 10");
}

TEST(RandomIntensity, ScaleShiftAndNoiseFollowTheirFormulasAndTheStream) {
  const Tensor v = tensor({1, 2, 3, 4}, kFloat64).reshape({1, 1, 2, 2});
  const Example in = {{"image", v}, {"label", ones({1, 1, 2, 2}, kFloat64)}};
  // The draws are (coin, u): replay them to know the factor.
  for (std::int64_t i = 0; i < 10; ++i) {
    Generator rng = sample_generator(1, 2, i), replay = sample_generator(1, 2, i);
    const bool apply = replay.next_double() < 0.5;
    const double u = 2 * replay.next_double() - 1;
    const Example s = rand_scale_intensity(0.3, 0.5)(in, rng);
    const double f = apply ? 1 + 0.3 * u : 1.0;
    voxgrad::testing::expect_values(s.at("image"), {1, 1, 2, 2}, {f, 2 * f, 3 * f, 4 * f}, 1e-12);
    voxgrad::testing::expect_values(s.at("label"), {1, 1, 2, 2}, {1, 1, 1, 1});  // labels untouched
    Generator rng2 = sample_generator(1, 2, i);
    const double o = apply ? 0.7 * u : 0.0;
    voxgrad::testing::expect_values(rand_shift_intensity(0.7, 0.5)(in, rng2).at("image"), {1, 1, 2, 2},
                                    {1 + o, 2 + o, 3 + o, 4 + o}, 1e-12);
  }
  // Noise: mean and std of the added values over a large volume, always applied; the std is drawn in
  // [0, 0.5) per call (MONAI's sample_std) from the call's second draw, or fixed without sample_std.
  const Tensor zero = zeros({1, 40, 40, 40}, kFloat64);
  for (const bool sample_std : {true, false}) {
    for (std::int64_t i = 0; i < 3; ++i) {
      Generator rng = sample_generator(0, 0, i), replay = sample_generator(0, 0, i);
      replay.next_double();
      const double want_std = sample_std ? 0.5 * replay.next_double() : 0.5;
      const std::vector<double> n =
          values(rand_gaussian_noise(0.5, 0.2, 1.0, "image", sample_std)({{"image", zero}}, rng).at("image"));
      double mean = 0, var = 0;
      for (const double x : n) mean += x / static_cast<double>(n.size());
      for (const double x : n) var += (x - mean) * (x - mean) / static_cast<double>(n.size());
      EXPECT_NEAR(mean, 0.2, 0.01);
      EXPECT_NEAR(std::sqrt(var), want_std, 0.01 * want_std + 1e-12) << sample_std << " " << i;
    }
  }
  EXPECT_ERROR_EQ(rand_gaussian_noise(-1), "rand_gaussian_noise: std must be non-negative, but got -1");
  EXPECT_ERROR_EQ(rand_scale_intensity(0.1, 2), "rand_scale_intensity: prob must be in [0, 1], but got 2");
  EXPECT_ERROR_EQ(rand_shift_intensity(-0.1), "rand_shift_intensity: offset must be non-negative, but got -0.1");
}

}  // namespace
