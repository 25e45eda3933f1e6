// Resampling to a target spacing: the grid convention (voxel 0 kept, x = j * target / spacing,
// m = round((n - 1) * spacing / target + 1) half to even, border values beyond the last centre), exact on linear ramps,
// nearest for labels, against a naive trilinear reference, and the affine update.
#include <cmath>

#include "data/volume_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::data;
using voxgrad::testing::at4;
using voxgrad::testing::values;

// The naive reference: every output voxel interpolated from the formula, one axis at a time.
double reference(const Tensor& v, std::int64_t c, Spacing3 ratio, Size3 out, Interpolation mode) {
  std::array<std::array<std::int64_t, 2>, 3> idx{};
  std::array<double, 3> w{};
  for (std::size_t a = 0; a < 3; ++a) {
    const std::int64_t n = v.size(static_cast<std::int64_t>(a) + 1);
    const double x = std::min(static_cast<double>(out[a]) * ratio[a], static_cast<double>(n - 1));
    if (mode == Interpolation::Nearest) {
      idx[a] = {static_cast<std::int64_t>(std::floor(x + 0.5)), 0};
      w[a] = 0;
    } else {
      const auto i = static_cast<std::int64_t>(std::floor(x));
      idx[a] = {i, std::min(i + 1, n - 1)};
      w[a] = x - static_cast<double>(i);
    }
  }
  double sum = 0;
  for (int corner = 0; corner < 8; ++corner) {
    double weight = 1;
    std::array<std::int64_t, 3> at{};
    for (std::size_t a = 0; a < 3; ++a) {
      const int bit = (corner >> a) & 1;
      weight *= bit ? w[a] : 1 - w[a];
      at[a] = idx[a][static_cast<std::size_t>(bit)];
    }
    if (weight != 0) sum += weight * at4(v, c, at[0], at[1], at[2]);
  }
  return sum;
}

TEST(ResampleToSpacing, SizesFollowTheRoundedExtent) {
  // MONAI's Spacing: round((n − 1) · spacing / target + 1), half to even.
  EXPECT_EQ(resampled_size({181, 217, 181}, {1, 1, 1}, {2, 2, 2}), (Size3{91, 109, 91}));  // 91, 109, 91 exactly
  EXPECT_EQ(resampled_size({10, 10, 3}, {1, 2, 0.5}, {0.5, 1, 3}), (Size3{19, 19, 1}));    // 19, 19, 1.33
  EXPECT_EQ(resampled_size({182, 184, 4}, {1, 1, 1}, {2, 2, 2}), (Size3{92, 92, 2}));      // 91.5, 92.5, 2.5
  EXPECT_EQ(resampled_size({10, 10, 181}, {1, 1, 1}, {0.5, 3, 2}), (Size3{19, 4, 91}));    // 19, 4, 91 exactly
  EXPECT_EQ(resampled_size({7, 1, 1}, {0.6, 1, 1}, {0.8, 1, 1}), (Size3{6, 1, 1}));  // 6 · 0.6 · (1 / 0.8) + 1 = 5.5
  EXPECT_EQ(resampled_size({1, 1, 1}, {1, 1, 1}, {0.25, 9, 1}), (Size3{1, 1, 1}));
  EXPECT_ERROR_EQ(resampled_size({10, 10, 10}, {1, 1, 1}, {1e-20, 1, 1}),
                  "resampled_size: 10 voxels of spacing 1 resampled to 1e-20 would give 9e+20 voxels along axis 0");
  EXPECT_ERROR_EQ(resampled_size({10, 0, 10}, {1, 1, 1}, {1, 1, 1}),
                  "resampled_size: sizes must be positive, but got [10, 0, 10]");
  EXPECT_ERROR_CONTAINS(resample_to_spacing(zeros({1, 0, 4, 4}), {1, 1, 1}, {1, 1, 1}, Interpolation::Linear),
                        "resampled_size: sizes must be positive, but got [0, 4, 4]");
  EXPECT_ERROR_EQ(resample_to_grid(zeros({1, 4, 0, 4}), {1, 1, 1}, {1, 1, 1}, {2, 2, 2}, Interpolation::Nearest),
                  "resample_to_grid: the volume has no voxels (shape [1, 4, 0, 4])");
  EXPECT_ERROR_EQ(
      resampled_size({2, 2, 2}, {1, 0, 1}, {1, 1, 1}),
      "resampled_size: spacings must be positive and finite, but got spacing [1, 0, 1] and target [1, 1, 1]");
}

TEST(ResampleToSpacing, IsExactOnLinearRampsAndKeepsVoxelZero) {
  // f(d, h, w) = 1 + 2d + 3h - w in mm at spacing (1, 2, 0.5): trilinear reproduces it at every output
  // centre inside the input's extent.
  const Spacing3 spacing = {1, 2, 0.5}, target = {0.5, 3, 1};
  Tensor v = empty({1, 6, 5, 8}, kFloat64);
  for (std::int64_t d = 0; d < 6; ++d)
    for (std::int64_t h = 0; h < 5; ++h)
      for (std::int64_t w = 0; w < 8; ++w)
        v.select(0, 0).select(0, d).select(0, h).select(0, w).fill_(1 + 2.0 * d * 1 + 3.0 * h * 2 - w * 0.5);
  const Tensor out = resample_to_spacing(v, spacing, target, Interpolation::Linear);
  ASSERT_EQ(out.sizes(), (Shape{1, 11, 4, 4}));  // 5 · 2 + 1, 4 · 2/3 + 1 = 3.67, 7 · 0.5 + 1 = 4.5 → 4
  for (std::int64_t d = 0; d < 11; ++d)
    for (std::int64_t h = 0; h < 4; ++h)
      for (std::int64_t w = 0; w < 4; ++w) {
        const double md = std::min(d * 0.5, 5.0), mh = std::min(h * 3.0, 8.0), mw = std::min(w * 1.0, 3.5);
        EXPECT_NEAR(at4(out, 0, d, h, w), 1 + 2 * md + 3 * mh - mw, 1e-12) << d << " " << h << " " << w;
      }
  // Same spacing: the volume itself.
  voxgrad::testing::expect_bitwise_equal(resample_to_spacing(v, spacing, spacing, Interpolation::Linear), v,
                                         "identity");
}

TEST(ResampleToSpacing, MatchesTheNaiveReferenceForBothModesAndOnViews) {
  manual_seed(4);
  const Tensor v = randn({2, 7, 6, 5}, kFloat32);
  const Spacing3 spacing = {1, 1.5, 2}, target = {2.2, 1, 1.3};
  for (const Interpolation mode : {Interpolation::Linear, Interpolation::Nearest}) {
    for (const Tensor& in : {v, voxgrad::testing::strided_copy(v)}) {
      const Tensor out = resample_to_spacing(in, spacing, target, mode);
      const Size3 m = resampled_size({7, 6, 5}, spacing, target);
      ASSERT_EQ(out.sizes(), (Shape{2, m[0], m[1], m[2]}));
      const Spacing3 ratio = {target[0] / spacing[0], target[1] / spacing[1], target[2] / spacing[2]};
      for (std::int64_t c = 0; c < 2; ++c)
        for (std::int64_t d = 0; d < m[0]; ++d)
          for (std::int64_t h = 0; h < m[1]; ++h)
            for (std::int64_t w = 0; w < m[2]; ++w)
              ASSERT_NEAR(at4(out, c, d, h, w), reference(v, c, ratio, {d, h, w}, mode), 1e-5);
    }
  }
}

TEST(ResampleToGrid, ReturnsOntoTheOriginalGridWithItsExactSize) {
  // 182 voxels of 1 mm -> 92 of 2 mm (91.5 to even) -> back to 182 of 1 mm, where resample_to_spacing
  // would give 183; a ramp survives wherever both neighbours are ramp samples (up to 180: the last
  // down-sampled centre, x = 182, lies past the ramp and takes its border value 181).
  Tensor v = arange(0, 182, 1, kFloat64).reshape({1, 1, 1, 182}).expand({1, 2, 3, 182}).contiguous();
  const Tensor down = resample_to_spacing(v, {1, 1, 1}, {1, 1, 2}, Interpolation::Linear);
  ASSERT_EQ(down.sizes(), (Shape{1, 2, 3, 92}));
  EXPECT_EQ(resample_to_spacing(down, {1, 1, 2}, {1, 1, 1}, Interpolation::Linear).size(3), 183);
  const Tensor up = resample_to_grid(down, {1, 1, 2}, {1, 1, 1}, {2, 3, 182}, Interpolation::Linear);
  ASSERT_EQ(up.sizes(), v.sizes());
  voxgrad::testing::expect_close(up.narrow(3, 0, 181), v.narrow(3, 0, 181), 1e-12);
  EXPECT_ERROR_EQ(resample_to_grid(down, {1, 1, 2}, {1, 1, 1}, {2, 0, 182}, Interpolation::Linear),
                  "resample_to_grid: the output size must be positive, but got [2, 0, 182]");
}

TEST(SpacingTransform, ResamplesImagesLinearlyLabelsNearestAndUpdatesSpacingAndAffine) {
  manual_seed(6);
  const Tensor image = rand({1, 8, 8, 8}, kFloat64);
  const Tensor label = image.gt(0.5);
  Tensor affine = zeros({4, 4}, kFloat64);
  // NIfTI convention, columns (i, j, k) = (w, h, d): i -> -x, j -> y, k -> z; spacing (d, h, w) = (2, 1, 1).
  const std::vector<double> a = {-1, 0, 0, 10, 0, 1, 0, -20, 0, 0, 2, 30, 0, 0, 0, 1};
  affine.copy_(tensor(std::vector<double>(a), kFloat64).reshape({4, 4}));
  const Example in = {{"image", image}, {"label", label}, {"spacing", tensor({2, 1, 1}, kFloat64)}, {"affine", affine}};
  Generator rng(0);
  const Example out = spacing(SpacingOptions({2, 2, 2}))(in, rng);
  EXPECT_EQ(out.at("image").sizes(), (Shape{1, 8, 4, 4}));
  voxgrad::testing::expect_bitwise_equal(
      out.at("image"), resample_to_spacing(image, {2, 1, 1}, {2, 2, 2}, Interpolation::Linear), "image");
  voxgrad::testing::expect_bitwise_equal(
      out.at("label"), resample_to_spacing(label, {2, 1, 1}, {2, 2, 2}, Interpolation::Nearest), "label");
  for (const double l : values(out.at("label"))) EXPECT_TRUE(l == 0 || l == 1);
  voxgrad::testing::expect_values(out.at("spacing"), {3}, {2, 2, 2});
  voxgrad::testing::expect_values(out.at("affine"), {4, 4}, {-2, 0, 0, 10, 0, 2, 0, -20, 0, 0, 2, 30, 0, 0, 0, 1});
  EXPECT_ERROR_EQ(
      spacing(SpacingOptions({2, 2, 2}))(
          {{"image", image}, {"label", zeros({1, 8, 8, 7})}, {"spacing", tensor({1, 1, 1}, kFloat64)}}, rng),
      "spacing: image [1, 8, 8, 8] and label [1, 8, 8, 7] have different spatial sizes");
  EXPECT_ERROR_EQ(spacing(SpacingOptions({2, 2, 2}))({{"image", image}, {"spacing", tensor({1, 1}, kFloat64)}}, rng),
                  "spacing: 'spacing' must hold 3 values (D, H, W), but has shape [2]");
}

TEST(SpacingTransform, TheAffineFollowsTheResampledVoxels) {
  // Linear resampling reproduces a linear ramp exactly, so each output voxel of a coordinate volume holds
  // the input position it was sampled at; sizes where the last output centre is the last input one.
  const Tensor coords = voxgrad::testing::coordinate_volume(9, 9, 5);
  const std::vector<Spacing3> targets = {{1, 2, 0.5}, {4, 0.5, 1}, {2, 1, 0.25}};
  std::uint64_t seed = 40;
  for (const Spacing3& target : targets) {
    const Tensor affine = voxgrad::testing::random_affine(seed++);
    Generator rng(0);
    const Example out = spacing(SpacingOptions(target).nearest_keys({}))(
        {{"image", coords}, {"spacing", tensor({2, 1, 1}, kFloat64)}, {"affine", affine}}, rng);
    voxgrad::testing::expect_affine_follows_voxels(out.at("image"), affine, out.at("affine"),
                                                   fmt::format("target {}", target));
  }
  Generator rng(0);
  EXPECT_ERROR_EQ(spacing(SpacingOptions({2, 2, 2}).nearest_keys({}))(
                      {{"image", coords}, {"spacing", tensor({1, 1, 1}, kFloat64)}, {"affine", zeros({4})}}, rng),
                  "spacing: 'affine' must be (4, 4), but has shape [4]");
}

}  // namespace
