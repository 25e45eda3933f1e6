// RandCropByPosNegLabel semantics: centre kinds in the ratio pos : neg, uniform among voxels of the
// kind, clamped so the patch fits; fallback when a kind is missing; errors; the affine translated by the
// patch's start (checked against where each voxel came from).
#include <set>

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
                  "[8, 8, 8] (allow_smaller(true) takes the whole extent there)");
  EXPECT_ERROR_EQ(pos_neg_crop_start(label, RandCropByPosNegLabelOptions({4, 4, 2}).pos(0).neg(0), rng),
                  "rand_crop_by_pos_neg_label: pos and neg must be non-negative with a positive sum, but got pos 0 and "
                  "neg 0");
}

// A (1, 10, 10, 10) image that is 1 for d < 5 and 0 beyond (the "air" the background must avoid).
Tensor half_image(DType dtype = kFloat32) {
  Tensor im = zeros({1, 10, 10, 10}, dtype);
  im.narrow(1, 0, 5).fill_(1.0);
  return im;
}

TEST(PosNegCrop, TheImageThresholdKeepsBackgroundCentresOffTheAirButNotForegroundOnes) {
  // Foreground: the box d in [3, 7), h and w in [2, 4), partly where the image is 0. As MONAI's
  // map_binary_to_indices, the threshold limits the background only (label 0 and image > 0.5);
  // foreground centres still land where the image is 0.
  Tensor label = zeros({1, 10, 10, 10});
  label.narrow(1, 3, 4).narrow(2, 2, 2).narrow(3, 2, 2).fill_(1.0);
  const Tensor image = half_image();
  const RandCropByPosNegLabelOptions opts = RandCropByPosNegLabelOptions({1, 1, 1}).image_threshold(0.5);
  int fg_in_air = 0, bg = 0;
  std::set<Size3> bg_centres;
  for (int i = 0; i < 3000; ++i) {
    Generator rng = sample_generator(6, 0, i);
    const Size3 c = pos_neg_crop_start(label, opts, rng, image);  // a 1^3 patch starts at its centre
    const bool is_fg = voxgrad::testing::at4(label, 0, c[0], c[1], c[2]) != 0;
    if (!is_fg) {
      ASSERT_LT(c[0], 5) << "a background centre where the image is not above the threshold, draw " << i;
      ++bg;
      bg_centres.insert(c);
    }
    fg_in_air += is_fg && c[0] >= 5 ? 1 : 0;
  }
  EXPECT_NEAR(bg / 3000.0, 0.5, 0.03);
  EXPECT_NEAR(fg_in_air / 3000.0, 0.25, 0.03);  // half the foreground voxels, half the draws
  EXPECT_GT(bg_centres.size(), 400u);           // spread over the 500 - 8 allowed background voxels
  // Any channel above the threshold counts: a second channel bright where the first is dark frees the
  // whole volume, and the same draws then give the centres of a label without an image.
  Tensor two = zeros({2, 10, 10, 10});
  two.select(0, 0).copy_(image.select(0, 0));
  two.select(0, 1).narrow(0, 5, 5).fill_(2.0);
  for (int i = 0; i < 200; ++i) {
    Generator r1 = sample_generator(6, 1, i), r2 = sample_generator(6, 1, i);
    EXPECT_EQ(pos_neg_crop_start(label, opts, r1, two), pos_neg_crop_start(label, opts, r2)) << i;
  }
}

TEST(PosNegCrop, TheThresholdIsComparedInTheImageDtypeAndEmptyChoicesFail) {
  // One foreground voxel at (1, 2, 3); the image 0.1f everywhere. In float32 0.1f > float(0.1) is false
  // (torch compares a float32 tensor with a Python float in float32): no background, every centre is the
  // foreground voxel even with neg only. In float64 the same value exceeds 0.1: background exists.
  Tensor label = zeros({1, 6, 6, 6});
  label.select(1, 1).select(1, 2).select(1, 3).fill_(1.0);
  const Tensor image32 = full({1, 6, 6, 6}, 0.1, kFloat32);
  const RandCropByPosNegLabelOptions neg_only =
      RandCropByPosNegLabelOptions({1, 1, 1}).pos(0).neg(1).image_threshold(0.1);
  int foreground64 = 0;
  for (int i = 0; i < 50; ++i) {
    Generator r32 = sample_generator(3, 0, i), r64 = sample_generator(3, 0, i);
    EXPECT_EQ(pos_neg_crop_start(label, neg_only, r32, image32), (Size3{1, 2, 3}));
    foreground64 += pos_neg_crop_start(label, neg_only, r64, image32.to(kFloat64)) == Size3{1, 2, 3} ? 1 : 0;
  }
  EXPECT_EQ(foreground64, 0);
  // No foreground and no voxel above the threshold: no centre at all (MONAI: "No sampling location
  // available."); an image off the label's grid is refused.
  Generator rng = sample_generator(0, 0, 0);
  EXPECT_ERROR_EQ(pos_neg_crop_start(zeros({1, 6, 6, 6}), neg_only, rng, image32),
                  "rand_crop_by_pos_neg_label: no voxel to centre a patch on: the label has no foreground and the "
                  "image exceeds image_threshold 0.1 nowhere");
  EXPECT_ERROR_EQ(pos_neg_crop_start(label, neg_only, rng, zeros({1, 6, 6, 5})),
                  "rand_crop_by_pos_neg_label: image [1, 6, 6, 5] and label [1, 6, 6, 6] have different spatial sizes");
  // An image without channels exceeds the threshold nowhere (MONAI's any over an empty axis is all
  // false): no background, so the foreground voxel, or no centre without one.
  const Tensor no_channels = zeros({0, 6, 6, 6});
  for (int i = 0; i < 10; ++i) {
    Generator r = sample_generator(3, 1, i);
    EXPECT_EQ(pos_neg_crop_start(label, neg_only, r, no_channels), (Size3{1, 2, 3}));
  }
  EXPECT_ERROR_EQ(pos_neg_crop_start(zeros({1, 6, 6, 6}), neg_only, rng, no_channels),
                  "rand_crop_by_pos_neg_label: no voxel to centre a patch on: the label has no foreground and the "
                  "image exceeds image_threshold 0.1 nowhere");
  // A label without voxels has no centre, with an image or without.
  EXPECT_ERROR_EQ(pos_neg_crop_start(zeros({0, 6, 6, 6}), neg_only, rng, image32),
                  "rand_crop_by_pos_neg_label: no voxel to centre a patch on: the label [0, 6, 6, 6] has none");
  EXPECT_ERROR_EQ(rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({1, 1, 1}).keys({"image", "image"})),
                  "rand_crop_by_pos_neg_label: key 'image' appears more than once in keys [\"image\", \"image\"]");
  EXPECT_ERROR_EQ(
      pos_neg_crop_start(zeros({1, 0, 6, 6}), RandCropByPosNegLabelOptions({1, 1, 1}).allow_smaller(true), rng),
      "rand_crop_by_pos_neg_label: no voxel to centre a patch on: the label [1, 0, 6, 6] has none");
}

TEST(PosNegCrop, TheTransformReadsTheImageKeyAndDefaultsKeepTheDraws) {
  manual_seed(4);
  const Tensor label = box_label();
  const Tensor image = half_image(kFloat64) * 3.0;
  const RandCropByPosNegLabelOptions opts =
      RandCropByPosNegLabelOptions({4, 3, 2}).image_key("image").image_threshold(1);
  const Transform t = rand_crop_by_pos_neg_label(opts);
  const Transform plain = rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({4, 3, 2}));
  bool differs = false;
  for (int i = 0; i < 40; ++i) {
    Generator rng = sample_generator(5, 0, i), replay = sample_generator(5, 0, i), rp = sample_generator(5, 0, i);
    const Example out = t({{"image", image}, {"label", label}}, rng);
    const Size3 start = pos_neg_crop_start(label, opts, replay, image);
    voxgrad::testing::expect_bitwise_equal(out.at("image"), crop(image, start, {4, 3, 2}), "image");
    voxgrad::testing::expect_bitwise_equal(out.at("label"), crop(label, start, {4, 3, 2}), "label");
    // Without an image key the transform keeps its draws: the box of the plain replay.
    Generator pr = sample_generator(5, 0, i);
    const Size3 plain_start = pos_neg_crop_start(label, RandCropByPosNegLabelOptions({4, 3, 2}), rp);
    voxgrad::testing::expect_bitwise_equal(plain({{"image", image}, {"label", label}}, pr).at("label"),
                                           crop(label, plain_start, {4, 3, 2}), "plain");
    differs |= plain_start != start;
  }
  EXPECT_TRUE(differs) << "the threshold moved no centre";
  Generator rng = sample_generator(0, 0, 0);
  EXPECT_ERROR_EQ(t({{"img", image}, {"label", label}}, rng),
                  "rand_crop_by_pos_neg_label: image_key 'image' is not in the example (it holds [\"img\", "
                  "\"label\"])");
  EXPECT_ERROR_EQ(t({{"image", zeros({1, 10, 10, 10, 1})}, {"label", label}}, rng),
                  "rand_crop_by_pos_neg_label: expected the image to be a (C, D, H, W) float32 or float64 volume, but "
                  "got a float32 tensor of shape [1, 10, 10, 10, 1]");
}

TEST(PosNegCrop, AllowSmallerTakesTheWholeExtentAndNonPositiveSizesFallBack) {
  // A (1, 6, 10, 10) label: a patch of depth 8 does not fit. MONAI's default refuses; allow_smaller
  // cuts the whole depth (start 0, size 6) and leaves the other axes as before.
  Tensor label = zeros({1, 6, 10, 10});
  label.narrow(1, 4, 2).narrow(2, 7, 3).narrow(3, 0, 2).fill_(1.0);
  const RandCropByPosNegLabelOptions big({8, 4, 4});
  Generator rng = sample_generator(0, 0, 0);
  EXPECT_ERROR_EQ(pos_neg_crop_start(label, big, rng),
                  "rand_crop_by_pos_neg_label: the patch size [8, 4, 4] is larger than the volume's spatial size "
                  "[6, 10, 10] (allow_smaller(true) takes the whole extent there)");
  EXPECT_EQ(pos_neg_crop_size({6, 10, 10}, RandCropByPosNegLabelOptions(big).allow_smaller(true)), (Size3{6, 4, 4}));
  // Entries <= 0 take the volume's size (MONAI's fall_back_tuple): {-1, 4, 0} is {6, 4, 10}; MONAI's
  // docstring example {32, 64, -1} on 40^3 with allow_smaller is {32, 40, 40}.
  EXPECT_EQ(pos_neg_crop_size({6, 10, 10}, RandCropByPosNegLabelOptions({-1, 4, 0})), (Size3{6, 4, 10}));
  EXPECT_EQ(pos_neg_crop_size({40, 40, 40}, RandCropByPosNegLabelOptions({32, 64, -1}).allow_smaller(true)),
            (Size3{32, 40, 40}));
  const Tensor image = arange(0, 600, 1, kFloat32).reshape({1, 6, 10, 10});
  for (const Size3 requested : {Size3{8, 4, 4}, Size3{-1, 4, 4}}) {
    const RandCropByPosNegLabelOptions o = RandCropByPosNegLabelOptions(requested).allow_smaller(true);
    const Transform t = rand_crop_by_pos_neg_label(o);
    for (int i = 0; i < 30; ++i) {
      Generator r = sample_generator(8, 0, i), replay = sample_generator(8, 0, i), plain = sample_generator(8, 0, i);
      const Size3 start = pos_neg_crop_start(label, o, replay);
      EXPECT_EQ(start[0], 0);
      // The H and W boxes are those of a fitting request with the same draws.
      const Size3 fitting = pos_neg_crop_start(label, RandCropByPosNegLabelOptions({6, 4, 4}), plain);
      EXPECT_EQ(start, fitting) << i;
      const Example out = t({{"image", image}, {"label", label}}, r);
      EXPECT_EQ(out.at("image").sizes(), (Shape{1, 6, 4, 4}));
      voxgrad::testing::expect_bitwise_equal(out.at("image"), crop(image, start, {6, 4, 4}), "image");
    }
  }
}

TEST(PosNegCrop, TheTransformTranslatesTheAffineByTheStart) {
  // A label (1, 9, 10, 11) with foreground in one corner and one voxel far away, so starts vary.
  Tensor label = zeros({1, 9, 10, 11}, kFloat64);
  label.narrow(1, 0, 3).narrow(2, 0, 2).narrow(3, 0, 4).fill_(1.0);
  label.narrow(1, 8, 1).narrow(2, 9, 1).narrow(3, 10, 1).fill_(1.0);
  const Tensor coords = voxgrad::testing::coordinate_volume(9, 10, 11);
  const std::vector<Size3> sizes = {{4, 3, 2}, {9, 1, 5}, {1, 10, 11}, {-1, 6, 7}};
  std::set<Size3> starts;
  std::uint64_t seed = 30;
  for (const Size3& size : sizes) {
    const RandCropByPosNegLabelOptions opts = RandCropByPosNegLabelOptions(size).keys({"image", "label"});
    for (int i = 0; i < 12; ++i) {
      const Tensor affine = voxgrad::testing::random_affine(seed++);
      Generator rng = sample_generator(9, 0, i), replay = sample_generator(9, 0, i);
      const Example out =
          rand_crop_by_pos_neg_label(opts)({{"image", coords}, {"label", label}, {"affine", affine}}, rng);
      const Size3 start = pos_neg_crop_start(label, opts, replay);
      starts.insert(start);
      voxgrad::testing::expect_bitwise_equal(out.at("image"), crop(coords, start, pos_neg_crop_size({9, 10, 11}, opts)),
                                             "image");
      voxgrad::testing::expect_affine_follows_voxels(out.at("image"), affine, out.at("affine"),
                                                     fmt::format("patch {} at {}", size, start));
      // Explicitly: the rotation part is kept and the origin moves to the start's world position
      // (affine column 2 - a multiplies spatial axis a).
      const std::vector<double> A = voxgrad::testing::values(affine), B = voxgrad::testing::values(out.at("affine"));
      for (std::size_t r = 0; r < 4; ++r) {
        double origin = A[r * 4 + 3];
        for (std::size_t c = 0; c < 3; ++c) {
          EXPECT_EQ(B[r * 4 + c], A[r * 4 + c]);
          origin += A[r * 4 + c] * static_cast<double>(start[2 - c]);
        }
        EXPECT_NEAR(B[r * 4 + 3], origin, 1e-12 * (1 + std::abs(origin)));
      }
    }
  }
  EXPECT_GT(starts.size(), 8U);
  // No affine, no new key and the same patch; a malformed affine is named.
  Generator a = sample_generator(1, 0, 0), b = sample_generator(1, 0, 0);
  const Transform t = rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({4, 3, 2}));
  const Example plain = t({{"image", coords}, {"label", label}}, a);
  EXPECT_EQ(plain.keys(), (std::vector<std::string>{"image", "label"}));
  voxgrad::testing::expect_bitwise_equal(
      plain.at("image"),
      t({{"image", coords}, {"label", label}, {"affine", voxgrad::testing::random_affine(1)}}, b).at("image"),
      "the same patch with an affine");
  EXPECT_ERROR_EQ(t({{"image", coords}, {"label", label}, {"affine", zeros({4, 4, 1})}}, a),
                  "rand_crop_by_pos_neg_label: 'affine' must be (4, 4), but has shape [4, 4, 1]");
  EXPECT_ERROR_EQ(rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({4, 3, 2}).affine_key("world"))(
                      {{"image", coords}, {"label", label}, {"world", zeros({3, 3})}}, a),
                  "rand_crop_by_pos_neg_label: 'world' must be (4, 4), but has shape [3, 3]");
}

}  // namespace
