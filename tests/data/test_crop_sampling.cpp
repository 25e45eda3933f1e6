// RandCropByPosNegLabel semantics: centre kinds in the ratio pos : neg, uniform among voxels of the
// kind, clamped so the patch fits; fallback when a kind is missing; errors.
#include "data/volume_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::data;

// A (1, 10, 10, 10) label with foreground in the box [2, 4)^3 (8 voxels).
Tensor box_label() {
  Tensor l = zeros({1, 10, 10, 10});
  l.narrow(1, 2, 2).narrow(2, 2, 2).narrow(3, 2, 2).fill_(1.0);
  return l;
}

TEST(PosNegCrop, DrawsForegroundCentresInTheRatioAndClampsThemToFit) {
  const Tensor label = box_label();
  const RandCropByPosNegLabelOptions opts = RandCropByPosNegLabelOptions({4, 4, 4}).pos(3).neg(1);
  int foreground = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    Generator rng = sample_generator(9, 0, i);
    const Size3 start = pos_neg_crop_start(label, opts, rng);
    for (std::size_t j = 0; j < 3; ++j) {
      ASSERT_GE(start[j], 0);
      ASSERT_LE(start[j] + 4, 10);
    }
    // A foreground centre c in {2, 3} gives start c - 2 in {0, 1}; the patch then holds the box's voxel.
    const bool fg =
        start[0] <= 1 && start[1] <= 1 && start[2] <= 1 && crop(label, start, {4, 4, 4}).sum().item<double>() > 0;
    // Replay the draws: the coin decides the kind.
    Generator replay = sample_generator(9, 0, i);
    const bool want_fg = replay.next_double() * 4 < 3;
    if (want_fg) {
      ASSERT_TRUE(fg) << i;
    }
    foreground += want_fg ? 1 : 0;
  }
  EXPECT_NEAR(foreground / static_cast<double>(n), 0.75, 0.03);
}

TEST(PosNegCrop, CentresAreUniformAmongForegroundVoxels) {
  // Foreground: 4 isolated voxels along d at 1, 3, 5, 7 (h = w = 5); patch 1^3, so start == centre.
  Tensor label = zeros({1, 9, 9, 9});
  for (const std::int64_t d : {1, 3, 5, 7}) label.select(1, d).select(1, 5).select(1, 5).fill_(2.0);
  std::map<std::int64_t, int> hits;
  for (int i = 0; i < 2000; ++i) {
    Generator rng = sample_generator(1, 0, i);
    const Size3 s = pos_neg_crop_start(label, RandCropByPosNegLabelOptions({1, 1, 1}).pos(1).neg(0), rng);
    ASSERT_EQ(s[1], 5);
    ASSERT_EQ(s[2], 5);
    ++hits[s[0]];
  }
  ASSERT_EQ(hits.size(), 4u);
  for (const auto& [d, count] : hits) EXPECT_NEAR(count / 2000.0, 0.25, 0.04) << d;
}

TEST(PosNegCrop, ClampsAtTheBordersExactly) {
  // One foreground voxel in the corner (0, 0, 9): the patch 4^3 starts at (0, 0, 6).
  Tensor label = zeros({1, 10, 10, 10});
  label.select(1, 0).select(1, 0).select(1, 9).fill_(1.0);
  Generator rng = sample_generator(0, 0, 0);
  EXPECT_EQ(pos_neg_crop_start(label, RandCropByPosNegLabelOptions({4, 4, 4}).neg(0), rng), (Size3{0, 0, 6}));
  // Odd size 3: start = centre - 1, clamped; a full-size patch starts at 0.
  label.zero_();
  label.select(1, 5).select(1, 5).select(1, 5).fill_(1.0);
  Generator r2 = sample_generator(0, 0, 0);
  EXPECT_EQ(pos_neg_crop_start(label, RandCropByPosNegLabelOptions({3, 10, 3}).neg(0), r2), (Size3{4, 0, 4}));
}

TEST(PosNegCrop, AnyChannelButTheBackgroundMarksForegroundInEveryDtypeAndLayout) {
  // A one-hot label of three channels: channel 0 the background (1 everywhere else), channel 1 holds
  // (1, 2, 3), channel 2 holds (7, 8, 9). As MONAI, channel 0 is left out and any other nonzero channel
  // marks foreground: the same draws pick the same centres for a float64, a float32 and a channel-last
  // (permuted) label as for the one-channel float32 label of the two voxels, background included.
  Tensor two = zeros({3, 10, 10, 10}, kFloat64);
  two.select(0, 0).fill_(1.0);
  two.select(0, 0).select(0, 1).select(0, 2).select(0, 3).fill_(0.0);
  two.select(0, 0).select(0, 7).select(0, 8).select(0, 9).fill_(0.0);
  two.select(0, 1).select(0, 1).select(0, 2).select(0, 3).fill_(2.0);
  two.select(0, 2).select(0, 7).select(0, 8).select(0, 9).fill_(-1.0);
  Tensor one = zeros({1, 10, 10, 10});
  one.select(0, 0).select(0, 1).select(0, 2).select(0, 3).fill_(1.0);
  one.select(0, 0).select(0, 7).select(0, 8).select(0, 9).fill_(1.0);
  const Tensor channel_last = two.permute({1, 2, 3, 0}).contiguous().permute({3, 0, 1, 2});
  for (const double pos : {1.0, 0.0}) {
    const RandCropByPosNegLabelOptions opts = RandCropByPosNegLabelOptions({1, 1, 1}).pos(pos).neg(1.0 - pos);
    for (int i = 0; i < 50; ++i) {
      Generator r0 = sample_generator(4, 0, i);
      const Size3 expected = pos_neg_crop_start(one, opts, r0);
      if (pos == 1.0) {
        EXPECT_TRUE(expected == (Size3{1, 2, 3}) || expected == (Size3{7, 8, 9})) << expected[0];
      }
      for (const Tensor& label : {two, two.to(kFloat32), channel_last}) {
        Generator r = sample_generator(4, 0, i);
        EXPECT_EQ(pos_neg_crop_start(label, opts, r), expected);
      }
    }
  }
}

TEST(PosNegCrop, FindsTheOnlyVoxelOfAKindPastManyBlocks) {
  // 40^3 = 64 000 voxels, scanned in blocks of a few thousand: the one foreground voxel (pos only),
  // then the one background voxel (neg only) at (37, 21, 5); a 1^3 patch starts at the centre itself.
  for (const double rest : {0.0, 1.0}) {
    Tensor label = full({1, 40, 40, 40}, rest);
    label.select(1, 37).select(1, 21).select(1, 5).fill_(1.0 - rest);
    const RandCropByPosNegLabelOptions opts = RandCropByPosNegLabelOptions({1, 1, 1}).pos(1.0 - rest).neg(rest);
    for (int i = 0; i < 5; ++i) {
      Generator rng = sample_generator(2, 0, i);
      EXPECT_EQ(pos_neg_crop_start(label, opts, rng), (Size3{37, 21, 5})) << rest;
    }
  }
}

TEST(PosNegCrop, FallsBackToTheKindThatExists) {
  // No foreground at all: pos = 1, neg = 0 still yields a (background) patch; all foreground likewise.
  for (const double value : {0.0, 1.0}) {
    const Tensor label = full({1, 5, 5, 5}, value);
    Generator rng = sample_generator(0, 0, 3);
    const Size3 s =
        pos_neg_crop_start(label, RandCropByPosNegLabelOptions({2, 2, 2}).pos(value == 0 ? 1 : 0).neg(value), rng);
    for (const std::int64_t x : s) EXPECT_TRUE(x >= 0 && x <= 3);
  }
}

TEST(PosNegCrop, TheTransformCutsEveryKeyAtOneBoxAndNamesMismatches) {
  manual_seed(2);
  const Tensor image = randn({2, 8, 8, 8});
  const Tensor label = box_label().narrow(1, 0, 8).narrow(2, 0, 8).narrow(3, 0, 8).contiguous();
  const Transform t = rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({4, 3, 2}));
  for (int i = 0; i < 10; ++i) {
    Generator rng = sample_generator(0, 0, i), replay = sample_generator(0, 0, i);
    const Example out = t({{"image", image}, {"label", label}}, rng);
    const Size3 start = pos_neg_crop_start(label, RandCropByPosNegLabelOptions({4, 3, 2}), replay);
    voxgrad::testing::expect_bitwise_equal(out.at("image"), crop(image, start, {4, 3, 2}), "image");
    voxgrad::testing::expect_bitwise_equal(out.at("label"), crop(label, start, {4, 3, 2}), "label");
  }
  Generator rng = sample_generator(0, 0, 0);
  EXPECT_ERROR_EQ(t({{"image", zeros({1, 8, 8, 7})}, {"label", label}}, rng),
                  "rand_crop_by_pos_neg_label: 'image' [1, 8, 8, 7] is not on the grid of 'label' [1, 8, 8, 8]");
  EXPECT_ERROR_EQ(pos_neg_crop_start(label, RandCropByPosNegLabelOptions({4, 9, 2}), rng),
                  "rand_crop_by_pos_neg_label: the patch size [4, 9, 2] is larger than the volume's spatial size "
                  "[8, 8, 8]");
  EXPECT_ERROR_EQ(pos_neg_crop_start(label, RandCropByPosNegLabelOptions({4, 4, 2}).pos(0).neg(0), rng),
                  "rand_crop_by_pos_neg_label: pos and neg must be non-negative with a positive sum, but got pos 0 and "
                  "neg 0");
  EXPECT_ERROR_EQ(rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({0, 4, 2})),
                  "rand_crop_by_pos_neg_label: spatial_size must be positive, but got [0, 4, 2]");
}

}  // namespace
