// Intensity transforms against hand-computed values and naive references (numpy.percentile,
// MONAI NormalizeIntensity / ScaleIntensityRangePercentiles semantics).
#include <cmath>
#include <numeric>

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

// The naive NormalizeIntensity (MONAI 1.2's _normalize, in double): per statistics group (the whole
// volume, or each channel), the selected voxels become (x - sub) / div with sub the mean and div the
// population std about the mean unless given, div 0 taken as 1; a group with nothing selected and
// the unselected voxels keep their values. Reads `v` through its strides; the result is in double.
std::vector<double> reference_normalize(const Tensor& v, bool nonzero, bool channel_wise,
                                        const std::vector<double>& sub, const std::vector<double>& div) {
  const std::int64_t C = v.size(0), D = v.size(1), H = v.size(2), W = v.size(3);
  std::vector<double> x;
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t d = 0; d < D; ++d)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t w = 0; w < W; ++w) x.push_back(voxgrad::testing::at4(v, c, d, h, w));
  const std::size_t groups = channel_wise ? static_cast<std::size_t>(C) : 1, per = x.size() / groups;
  std::vector<double> y = x;
  for (std::size_t g = 0; g < groups; ++g) {
    std::vector<double> sel;
    for (std::size_t i = g * per; i < (g + 1) * per; ++i)
      if (!nonzero || x[i] != 0) sel.push_back(x[i]);
    if (sel.empty()) continue;
    const double mean = std::accumulate(sel.begin(), sel.end(), 0.0) / static_cast<double>(sel.size());
    double var = 0;
    for (const double s : sel) var += (s - mean) * (s - mean) / static_cast<double>(sel.size());
    const double a = sub.empty() ? mean : sub[g];
    double b = div.empty() ? std::sqrt(var) : div[g];
    if (b == 0) b = 1;
    for (std::size_t i = g * per; i < (g + 1) * per; ++i)
      if (!nonzero || x[i] != 0) y[i] = (x[i] - a) / b;
  }
  return y;
}

TEST(NormalizeIntensity, PoolsTheChannelsByDefaultAndSplitsThemWhenChannelWise) {
  // Channel 0: {0, 0, 2, 4}; channel 1: {1, 3, 5, 7}.
  const Tensor v = tensor({0, 0, 2, 4, 1, 3, 5, 7}, kFloat64).reshape({2, 1, 2, 2});
  // Default (MONAI's channel_wise=False): one mean 2.75 and one std sqrt(43.5 / 8) over all 8 voxels.
  const double s = std::sqrt(43.5 / 8);
  const std::vector<double> pooled = {-2.75 / s, -2.75 / s, -0.75 / s, 1.25 / s,
                                      -1.75 / s, 0.25 / s,  2.25 / s,  4.25 / s};
  voxgrad::testing::expect_values(normalize_intensity(v), {2, 1, 2, 2}, pooled, 1e-12);
  voxgrad::testing::expect_values(normalize_intensity(v, false), {2, 1, 2, 2}, pooled, 1e-12);
  // Pooled nonzero: {2, 4, 1, 3, 5, 7}, mean 11/3, variance 35/9; the zeros stay.
  const double m = 11.0 / 3, t = std::sqrt(35.0) / 3;
  voxgrad::testing::expect_values(normalize_intensity(v, true), {2, 1, 2, 2},
                                  {0, 0, (2 - m) / t, (4 - m) / t, (1 - m) / t, (3 - m) / t, (5 - m) / t, (7 - m) / t},
                                  1e-12);
  // Channel-wise: channel 0 mean 1.5, std sqrt(2.75); channel 1 mean 4, std sqrt(5).
  const double s0 = std::sqrt(2.75), s1 = std::sqrt(5.0);
  voxgrad::testing::expect_values(normalize_intensity(v, NormalizeIntensityOptions().channel_wise(true)), {2, 1, 2, 2},
                                  {-1.5 / s0, -1.5 / s0, 0.5 / s0, 2.5 / s0, -3 / s1, -1 / s1, 1 / s1, 3 / s1}, 1e-12);
  // Channel-wise nonzero: channel 0 over {2, 4} (mean 3, std 1), its zeros stay zero.
  voxgrad::testing::expect_values(normalize_intensity(v, NormalizeIntensityOptions().channel_wise(true).nonzero(true)),
                                  {2, 1, 2, 2}, {0, 0, -1, 1, -3 / s1, -1 / s1, 1 / s1, 3 / s1}, 1e-12);
  // One channel: pooled and channel-wise agree bit for bit.
  manual_seed(3);
  const Tensor r = randn({1, 3, 4, 5});
  voxgrad::testing::expect_bitwise_equal(normalize_intensity(r),
                                         normalize_intensity(r, NormalizeIntensityOptions().channel_wise(true)), "C=1");
  expect_close(normalize_intensity(voxgrad::testing::strided_copy(r), true), normalize_intensity(r, true));
}

TEST(NormalizeIntensity, GivenSubtrahendAndDivisorReplaceTheStatistics) {
  const Tensor v = tensor({0, 0, 2, 4, 1, 3, 5, 7}, kFloat32).reshape({2, 1, 2, 2});
  const Shape shape = {2, 1, 2, 2};
  // Scalars over the whole volume: (x - 1) / 2, exact in float32.
  voxgrad::testing::expect_values(normalize_intensity(v, NormalizeIntensityOptions().subtrahend(1).divisor(2)), shape,
                                  {-0.5, -0.5, 0.5, 1.5, 0, 1, 2, 3}, 0);
  // With nonzero only the nonzero voxels move.
  voxgrad::testing::expect_values(
      normalize_intensity(v, NormalizeIntensityOptions().subtrahend(1).divisor(2).nonzero(true)), shape,
      {0, 0, 0.5, 1.5, 0, 1, 2, 3}, 0);
  // A subtrahend alone: the divisor is still the std about the data's own mean (sqrt(43.5 / 8)).
  const double s = std::sqrt(43.5 / 8);
  voxgrad::testing::expect_values(normalize_intensity(v.to(kFloat64), NormalizeIntensityOptions().subtrahend(0)), shape,
                                  {0, 0, 2 / s, 4 / s, 1 / s, 3 / s, 5 / s, 7 / s}, 1e-12);
  // A divisor alone: the mean 2.75 is subtracted.
  voxgrad::testing::expect_values(normalize_intensity(v, NormalizeIntensityOptions().divisor(4)), shape,
                                  {-0.6875, -0.6875, -0.1875, 0.3125, -0.4375, 0.0625, 0.5625, 1.0625}, 0);
  // Per channel: channel 0 (x - 1) / 2, channel 1 (x - 2) / 4; a scalar with channel_wise serves every channel.
  const auto per_channel = NormalizeIntensityOptions().channel_wise(true);
  voxgrad::testing::expect_values(
      normalize_intensity(v, NormalizeIntensityOptions(per_channel).subtrahend({1.0, 2.0}).divisor({2.0, 4.0})), shape,
      {-0.5, -0.5, 0.5, 1.5, -0.25, 0.25, 0.75, 1.25}, 0);
  voxgrad::testing::expect_values(
      normalize_intensity(v, NormalizeIntensityOptions(per_channel).subtrahend(1).divisor({2.0, 4.0})), shape,
      {-0.5, -0.5, 0.5, 1.5, 0, 0.5, 1, 1.5}, 0);
  // A divisor of 0, given (MONAI: `if _div == 0.0: _div = 1.0` for scalars), is 1: only shifted, no inf.
  voxgrad::testing::expect_values(normalize_intensity(v, NormalizeIntensityOptions().subtrahend(1).divisor(0)), shape,
                                  {-1, -1, 1, 3, 0, 2, 4, 6}, 0);
  voxgrad::testing::expect_values(
      normalize_intensity(v, NormalizeIntensityOptions(per_channel).subtrahend({0.0, 1.0}).divisor({2.0, 0.0})), shape,
      {0, 0, 1, 2, 0, 2, 4, 6}, 0);
}

TEST(NormalizeIntensity, ConstantAndEmptyGroupsAreShiftedOrLeftAlone) {
  // A constant volume (std 0) is only shifted, pooled or per channel.
  voxgrad::testing::expect_values(normalize_intensity(full({1, 2, 2, 2}, 3.0, kFloat64)), {1, 2, 2, 2},
                                  std::vector<double>(8, 0.0), 0);
  // Channel 0 constant 3, channel 1 {1, 3, 5, 7}: channel-wise gives 0s and z-scores; pooled, the
  // mean is 3.5 and the std sqrt(22 / 8) over all 8 voxels.
  const Tensor v = tensor({3, 3, 3, 3, 1, 3, 5, 7}, kFloat64).reshape({2, 1, 2, 2});
  const double s1 = std::sqrt(5.0), s = std::sqrt(22.0 / 8);
  voxgrad::testing::expect_values(normalize_intensity(v, NormalizeIntensityOptions().channel_wise(true)), {2, 1, 2, 2},
                                  {0, 0, 0, 0, -3 / s1, -1 / s1, 1 / s1, 3 / s1}, 1e-12);
  voxgrad::testing::expect_values(normalize_intensity(v), {2, 1, 2, 2},
                                  {-0.5 / s, -0.5 / s, -0.5 / s, -0.5 / s, -2.5 / s, -0.5 / s, 1.5 / s, 3.5 / s},
                                  1e-12);
  // All zero with nonzero: nothing is selected and the volume is returned as it is, even with a
  // subtrahend (MONAI returns before using it); per channel, only the empty channel is left alone.
  const Tensor z = zeros({2, 2, 2, 2});
  for (const auto& o :
       {NormalizeIntensityOptions().nonzero(true), NormalizeIntensityOptions().nonzero(true).subtrahend(5),
        NormalizeIntensityOptions().nonzero(true).channel_wise(true)}) {
    voxgrad::testing::expect_bitwise_equal(normalize_intensity(z, o), z, "all zero");
  }
  Tensor half = zeros({2, 1, 1, 2}, kFloat64);
  half.select(0, 1).fill_(2.0);
  half.select(0, 1).select(0, 0).select(0, 0).select(0, 1).fill_(6.0);  // channel 1: {2, 6}
  voxgrad::testing::expect_values(
      normalize_intensity(half, NormalizeIntensityOptions().nonzero(true).channel_wise(true)), {2, 1, 1, 2},
      {0, 0, -1, 1}, 0);
  // A -0 is not selected by nonzero and stays -0 (MONAI leaves it untouched).
  const Tensor neg_zero = tensor({-0.0, 1.0, 3.0}, kFloat64).reshape({1, 1, 1, 3});
  const std::vector<double> y = values(normalize_intensity(neg_zero, true));
  EXPECT_TRUE(y[0] == 0 && std::signbit(y[0]));
  EXPECT_EQ(y[1], -1);
  EXPECT_EQ(y[2], 1);
}

TEST(NormalizeIntensity, ATinyDivisorDividesAndNaNSpreadsOverItsGroup) {
  // 1 / 1e-310 overflows to inf: the group is divided instead, so x = subtrahend gives 0 (not
  // 0 · inf = NaN) and the others their exact quotients.
  const double d = 1e-310;
  const Tensor v = tensor({0.0, d, 2 * d}, kFloat64).reshape({1, 1, 1, 3});
  voxgrad::testing::expect_values(normalize_intensity(v, NormalizeIntensityOptions().subtrahend(0).divisor(d)),
                                  {1, 1, 1, 3}, {0, 1, 2}, 0);
  // A NaN voxel is selected (it is not 0) and makes its group's statistics NaN, as in MONAI; the
  // other channel is not touched by it.
  const Tensor n = tensor({1.0, std::nan(""), 3.0, 1.0, 2.0, 3.0}, kFloat64).reshape({2, 1, 1, 3});
  const std::vector<double> y = values(normalize_intensity(n, NormalizeIntensityOptions().channel_wise(true)));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(y[i])) << i;
  const double s = std::sqrt(2.0 / 3);
  EXPECT_EQ(y[3], -1 * (1 / s));
  EXPECT_EQ(y[4], 0);
  EXPECT_EQ(y[5], 1 * (1 / s));
  const std::vector<double> pooled = values(normalize_intensity(n));
  for (double p : pooled) EXPECT_TRUE(std::isnan(p));
}

TEST(NormalizeIntensity, MatchesTheNaiveReferenceForShapesDtypesAndOptions) {
  manual_seed(11);
  for (const Shape& shape : std::vector<Shape>{{1, 3, 4, 5}, {3, 2, 5, 4}, {2, 3, 2, 7}}) {
    for (const DType dtype : {kFloat32, kFloat64}) {
      // Normal values with a third of them zero (for nonzero), read through a strided view.
      const Tensor base = randn(shape, kFloat64) * 3.0 + 1.0;
      const Tensor mask = rand(shape, kFloat64).gt(1.0 / 3).to(kFloat64);
      const Tensor v = voxgrad::testing::strided_copy((base * mask).to(dtype));
      const std::int64_t C = shape[0];
      std::vector<double> sub_c, div_c;
      for (std::int64_t c = 0; c < C; ++c) {
        sub_c.push_back(0.5 * static_cast<double>(c) - 1);
        div_c.push_back(1.5 + static_cast<double>(c));
      }
      for (const bool channel_wise : {false, true}) {
        for (const bool nonzero : {false, true}) {
          for (int given = 0; given < 4; ++given) {  // none, subtrahend, divisor, both
            NormalizeIntensityOptions o = NormalizeIntensityOptions().channel_wise(channel_wise).nonzero(nonzero);
            const std::size_t groups = channel_wise ? static_cast<std::size_t>(C) : 1;
            std::vector<double> sub, div;
            if (given & 1) {
              if (channel_wise) {
                o.subtrahend(sub_c);
                sub = sub_c;
              } else {
                o.subtrahend(-0.25);
                sub.assign(groups, -0.25);
              }
            }
            if (given & 2) {
              if (channel_wise) {
                o.divisor(div_c);
                div = div_c;
              } else {
                o.divisor(2.5);
                div.assign(groups, 2.5);
              }
            }
            const Tensor out = normalize_intensity(v, o);
            ASSERT_EQ(out.dtype(), dtype);
            const std::vector<double> want = reference_normalize(v, nonzero, channel_wise, sub, div);
            const std::vector<double> got = values(out);
            ASSERT_EQ(got.size(), want.size());
            // The result is computed in double and rounded once: within half an ulp of the dtype and
            // the reference's division against the reciprocal's product.
            const double tol = dtype == kFloat32 ? 6e-8 : 1e-15;
            for (std::size_t i = 0; i < got.size(); ++i) {
              ASSERT_NEAR(got[i], want[i], tol * (1 + std::abs(want[i])))
                  << shape_str(shape) << " " << dtype_name(dtype) << " channel_wise " << channel_wise << " nonzero "
                  << nonzero << " given " << given << " at " << i;
            }
            // The output dtype on request: the same values rounded once to it.
            const DType other = dtype == kFloat32 ? kFloat64 : kFloat32;
            const Tensor converted = normalize_intensity(v, NormalizeIntensityOptions(o).dtype(other));
            ASSERT_EQ(converted.dtype(), other);
            const std::vector<double> c = values(converted);
            for (std::size_t i = 0; i < c.size(); ++i) {
              ASSERT_NEAR(c[i], want[i], (other == kFloat32 ? 6e-8 : 1e-15) * (1 + std::abs(want[i]))) << i;
            }
          }
        }
      }
    }
  }
}

TEST(NormalizeIntensity, OneChannelResultsAreTheZScoresTimesTheReciprocalStd) {
  // The single-channel results, pooled being the same as per channel for one channel, stay those of
  // (x - mean) * (1 / std) with the sums taken in memory order in double, bit for bit.
  manual_seed(7);
  for (const DType dtype : {kFloat32, kFloat64}) {
    for (const bool nonzero : {false, true}) {
      const Tensor v = (randn({1, 4, 3, 5}, kFloat64) * rand({1, 4, 3, 5}, kFloat64).gt(0.3).to(kFloat64)).to(dtype);
      const std::vector<double> x = values(v);
      double sum = 0, count = 0;
      for (const double xi : x) {
        if (nonzero && xi == 0) continue;
        sum += xi;
        count += 1;
      }
      const double mean = sum / count;
      double ss = 0;
      for (const double xi : x)
        if (!nonzero || xi != 0) ss += (xi - mean) * (xi - mean);
      const double scale = 1 / std::sqrt(ss / count);
      Tensor want = empty({1, 4, 3, 5}, kFloat64);
      double* w = want.data_ptr<double>();
      for (std::size_t i = 0; i < x.size(); ++i) w[i] = nonzero && x[i] == 0 ? x[i] : (x[i] - mean) * scale;
      voxgrad::testing::expect_bitwise_equal(normalize_intensity(v, nonzero), want.to(dtype), "one channel");
    }
  }
}

TEST(NormalizeIntensity, TheDictionaryTransformAndErrors) {
  const Tensor v = tensor({0, 0, 2, 4, 1, 3, 5, 7}, kFloat64).reshape({2, 1, 2, 2});
  const Tensor label = ones({1, 1, 2, 2});
  const auto o = NormalizeIntensityOptions().channel_wise(true).nonzero(true).dtype(kFloat32);
  Generator rng = sample_generator(0, 0, 0);
  const Example out = normalize_intensity_transform(o, "img")({{"img", v}, {"label", label}}, rng);
  voxgrad::testing::expect_bitwise_equal(out.at("img"), normalize_intensity(v, o), "img");
  voxgrad::testing::expect_bitwise_equal(out.at("label"), label, "label untouched");
  const Example legacy = normalize_intensity_transform("image", true)({{"image", v}}, rng);
  voxgrad::testing::expect_bitwise_equal(legacy.at("image"), normalize_intensity(v, true), "key and nonzero");

  EXPECT_ERROR_EQ(normalize_intensity(zeros({2, 3, 4})),
                  "normalize_intensity: expected the volume to be a (C, D, H, W) float32 or float64 volume, but got a "
                  "float32 tensor of shape [2, 3, 4]");
  EXPECT_ERROR_EQ(normalize_intensity(v, NormalizeIntensityOptions().subtrahend({1.0, 2.0})),
                  "normalize_intensity: subtrahend [1, 2] has one value per channel, which needs channel_wise(true)");
  EXPECT_ERROR_EQ(
      normalize_intensity(v, NormalizeIntensityOptions().channel_wise(true).divisor({1.0, 2.0, 0.5})),
      "normalize_intensity: divisor [1, 2, 0.5] must have one value per channel, but the volume has 2 channels");
  EXPECT_ERROR_EQ(
      normalize_intensity(v, NormalizeIntensityOptions().channel_wise(true).subtrahend(std::vector{1.5})),
      "normalize_intensity: subtrahend [1.5] must have one value per channel, but the volume has 2 channels");
  EXPECT_ERROR_EQ(normalize_intensity(v, NormalizeIntensityOptions().dtype(kInt64)),
                  "normalize_intensity: dtype must be float32 or float64, but got int64");
  Generator r = sample_generator(0, 0, 0);
  EXPECT_ERROR_CONTAINS(normalize_intensity_transform(NormalizeIntensityOptions().channel_wise(true).subtrahend(
                            {1.0, 2.0, 3.0}))({{"image", v}}, r),
                        "subtrahend [1, 2, 3] must have one value per channel, but the volume has 2 channels");
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
