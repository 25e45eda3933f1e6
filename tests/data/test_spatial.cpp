// flip, rot90 and crop against naive index formulas (numpy.flip / numpy.rot90 on the spatial axes),
// on contiguous and strided volumes; the random versions move image and label alike, and the affine with
// them (checked against where each voxel came from).
#include "data/volume_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::data;
using voxgrad::testing::at4;
using voxgrad::testing::coordinate_volume;
using voxgrad::testing::expect_affine_follows_voxels;
using voxgrad::testing::expect_bitwise_equal;
using voxgrad::testing::random_affine;

Tensor random_volume(Shape shape, std::uint64_t seed, DType dtype = kFloat64) {
  manual_seed(seed);
  return randn(shape, dtype);
}

TEST(Flip, MatchesTheIndexFormulaOnEveryAxisSetAndOnViews) {
  const Tensor v = random_volume({2, 3, 4, 5}, 1);
  const std::vector<std::vector<std::int64_t>> axis_sets = {{}, {0}, {1}, {2}, {0, 2}, {2, 0, 1}};
  for (const auto& axes : axis_sets) {
    for (const Tensor& in : {v, voxgrad::testing::strided_copy(v)}) {
      const Tensor out = flip(in, axes);
      ASSERT_EQ(out.sizes(), v.sizes());
      std::array<bool, 3> rev{};
      for (const std::int64_t a : axes) rev[static_cast<std::size_t>(a)] = true;
      for (std::int64_t c = 0; c < 2; ++c)
        for (std::int64_t d = 0; d < 3; ++d)
          for (std::int64_t h = 0; h < 4; ++h)
            for (std::int64_t w = 0; w < 5; ++w) {
              const double expected = at4(v, c, rev[0] ? 2 - d : d, rev[1] ? 3 - h : h, rev[2] ? 4 - w : w);
              ASSERT_EQ(at4(out, c, d, h, w), expected) << fmt::format("axes {} at {},{},{},{}", axes, c, d, h, w);
            }
    }
  }
}

// numpy.rot90(m, k, axes=(a, b)) on the spatial axes, written out: k = 1 maps out[i, j] = m[j, nb-1-i].
double rot90_reference(const Tensor& v, std::int64_t k, std::int64_t a, std::int64_t b, Shape out_index) {
  Shape in = out_index;  // (c, d, h, w)
  const std::int64_t na = v.size(a + 1), nb = v.size(b + 1);
  const std::int64_t i = out_index[static_cast<std::size_t>(a + 1)], j = out_index[static_cast<std::size_t>(b + 1)];
  switch (((k % 4) + 4) % 4) {
    case 1: in[static_cast<std::size_t>(a + 1)] = j, in[static_cast<std::size_t>(b + 1)] = nb - 1 - i; break;
    case 2: in[static_cast<std::size_t>(a + 1)] = na - 1 - i, in[static_cast<std::size_t>(b + 1)] = nb - 1 - j; break;
    case 3: in[static_cast<std::size_t>(a + 1)] = na - 1 - j, in[static_cast<std::size_t>(b + 1)] = i; break;
    default: break;
  }
  return at4(v, in[0], in[1], in[2], in[3]);
}

TEST(Rot90, MatchesNumpyRot90InEveryPlaneForEveryK) {
  const Tensor v = random_volume({2, 3, 4, 5}, 2, kFloat32);
  const std::vector<std::array<std::int64_t, 2>> planes = {{0, 1}, {1, 0}, {0, 2}, {1, 2}, {2, 1}};
  for (const auto& plane : planes) {
    for (const std::int64_t k : {-1, 0, 1, 2, 3, 4, 5}) {
      for (const Tensor& in : {v, voxgrad::testing::strided_copy(v)}) {
        const Tensor out = data::rot90(in, k, plane);
        Shape expected_shape = v.sizes();
        if (k % 2 != 0) std::swap(expected_shape[plane[0] + 1], expected_shape[plane[1] + 1]);
        ASSERT_EQ(out.sizes(), expected_shape);
        for (std::int64_t c = 0; c < out.size(0); ++c)
          for (std::int64_t d = 0; d < out.size(1); ++d)
            for (std::int64_t h = 0; h < out.size(2); ++h)
              for (std::int64_t w = 0; w < out.size(3); ++w)
                ASSERT_EQ(at4(out, c, d, h, w), rot90_reference(v, k, plane[0], plane[1], {c, d, h, w}))
                    << fmt::format("plane {} k {} at {},{},{},{}", plane, k, c, d, h, w);
      }
    }
  }
  // A hand-made case: the 2×2 plane [[1, 2], [3, 4]] turns to [[2, 4], [1, 3]] (numpy.rot90).
  const Tensor m = tensor({1, 2, 3, 4}, kFloat64).reshape({1, 1, 2, 2});
  voxgrad::testing::expect_values(data::rot90(m, 1, {1, 2}), {1, 1, 2, 2}, {2, 4, 1, 3});
}

TEST(Crop, CutsTheBoxAndNamesItWhenItDoesNotFit) {
  const Tensor v = random_volume({1, 6, 5, 4}, 3);
  for (const Tensor& in : {v, voxgrad::testing::strided_copy(v)}) {
    const Tensor out = crop(in, {1, 2, 0}, {4, 3, 4});
    ASSERT_EQ(out.sizes(), (Shape{1, 4, 3, 4}));
    for (std::int64_t d = 0; d < 4; ++d)
      for (std::int64_t h = 0; h < 3; ++h)
        for (std::int64_t w = 0; w < 4; ++w) ASSERT_EQ(at4(out, 0, d, h, w), at4(v, 0, d + 1, h + 2, w));
  }
  EXPECT_ERROR_EQ(crop(v, {3, 0, 0}, {4, 5, 4}),
                  "crop: the box of size [4, 5, 4] at [3, 0, 0] does not fit in the volume's spatial size [6, 5, 4]");
  EXPECT_ERROR_EQ(crop(zeros({6, 5, 4}), {0, 0, 0}, {1, 1, 1}),
                  "crop: expected the volume to be a (C, D, H, W) float32 or float64 volume, but got a float32 tensor "
                  "of shape [6, 5, 4]");
}

TEST(RandFlipAndRotate90, MoveImageAndLabelAlikeAndFollowTheStream) {
  const Tensor image = random_volume({1, 4, 4, 4}, 4);
  const Tensor label = image.gt(0.0);
  const Transform t = compose({rand_flip(RandFlipOptions().prob(0.5)), rand_rotate90(RandRotate90Options().prob(1))});
  int changed = 0;
  for (std::int64_t i = 0; i < 20; ++i) {
    Generator rng = sample_generator(7, 0, i);
    const Example out = t(Example{{"image", image}, {"label", label}}, rng);
    expect_bitwise_equal(out.at("label"), out.at("image").gt(0.0), fmt::format("sample {}", i));
    changed += voxgrad::testing::bit_identical(out.at("image"), image) ? 0 : 1;
    Generator again = sample_generator(7, 0, i);
    expect_bitwise_equal(t(Example{{"image", image}, {"label", label}}, again).at("image"), out.at("image"),
                         "same stream");
  }
  EXPECT_GT(changed, 15);
  EXPECT_ERROR_EQ(rand_flip(RandFlipOptions().prob(1.5)), "rand_flip: prob must be in [0, 1], but got 1.5");
  EXPECT_ERROR_EQ(rand_flip(RandFlipOptions().axes({3})),
                  "rand_flip: each axis must be a spatial axis (0, 1 or 2 for D, H, W), but got 3");
  EXPECT_ERROR_EQ(rand_flip(RandFlipOptions().axes({2, 0, 2})),
                  "rand_flip: axis 2 appears multiple times in axes [2, 0, 2]");
  EXPECT_ERROR_EQ(flip(image, std::vector<std::int64_t>{1, 1}), "flip: axis 1 appears multiple times in axes [1, 1]");
  EXPECT_ERROR_EQ(rand_rotate90(RandRotate90Options().max_k(0)), "rand_rotate90: max_k must be at least 1, but got 0");
  EXPECT_ERROR_EQ(data::rot90(image, 1, {1, 1}), "rot90: the two axes must differ, but both are 1");
}

TEST(RandFlipAndRotate90, MoveTheAffineWithTheVoxels) {
  const std::vector<Shape> shapes = {{4, 5, 6}, {1, 3, 7}, {5, 5, 5}};
  const std::vector<std::vector<std::int64_t>> axis_sets = {{0}, {1}, {2}, {0, 2}, {1, 2}, {2, 0, 1}};
  std::uint64_t seed = 10;
  for (const Shape& shape : shapes) {
    const Tensor coords = coordinate_volume(shape[0], shape[1], shape[2]);
    for (const auto& axes : axis_sets) {
      const Tensor affine = random_affine(seed++);
      Generator rng(seed);
      const Example out =
          rand_flip(RandFlipOptions({"image"}).axes(axes).prob(1))(Example{{"image", coords}, {"affine", affine}}, rng);
      expect_bitwise_equal(out.at("image"), flip(coords, axes), "flip");
      expect_affine_follows_voxels(out.at("image"), affine, out.at("affine"),
                                   fmt::format("flip {} of {}", axes, shape_str(shape)));
    }
    const std::vector<Axes2> planes = {{0, 1}, {1, 0}, {0, 2}, {2, 0}, {1, 2}, {2, 1}};
    for (const Axes2& plane : planes) {
      std::array<bool, 5> seen{};
      for (std::int64_t i = 0; i < 16; ++i) {
        const Tensor affine = random_affine(seed++);
        Generator rng = sample_generator(3, 0, i);
        const Example out = rand_rotate90(RandRotate90Options({"image"}).prob(1).max_k(4).axes(plane))(
            Example{{"image", coords}, {"affine", affine}}, rng);
        for (std::int64_t k = 1; k <= 4; ++k) {
          seen[static_cast<std::size_t>(k)] |=
              voxgrad::testing::bit_identical(out.at("image"), data::rot90(coords, k, plane));
        }
        expect_affine_follows_voxels(out.at("image"), affine, out.at("affine"),
                                     fmt::format("rot90 in plane {} of {}, sample {}", plane, shape_str(shape), i));
      }
      EXPECT_TRUE(seen[1] && seen[2] && seen[3]) << "every odd and even k drawn in plane " << fmt::format("{}", plane);
    }
  }
}

TEST(RandFlipAndRotate90, AffineMatricesAreMonaisFlipAndRotation) {
  const Tensor image = zeros({1, 4, 6, 5}, kFloat64);
  const Tensor eye = voxgrad::testing::f64({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, {4, 4});
  Generator rng(0);
  // Spatial axis 0 (D, 4 voxels) is affine column 2: F[2][2] = -1, F[2][3] = 3.
  voxgrad::testing::expect_values(
      rand_flip(RandFlipOptions({"image"}).axes({0}).prob(1))(Example{{"image", image}, {"affine", eye}}, rng)
          .at("affine"),
      {4, 4}, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1, 3, 0, 0, 0, 1});
  // Spatial axis 2 (W, 5 voxels) is column 0.
  voxgrad::testing::expect_values(
      rand_flip(RandFlipOptions({"image"}).axes({2}).prob(1))(Example{{"image", image}, {"affine", eye}}, rng)
          .at("affine"),
      {4, 4}, {-1, 0, 0, 4, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  // k = 1 in plane (D, H): out[i, j] = in[j, 5 - i], so input h (row 1) = 5 - output d (column 2) and
  // input d (row 2) = output h (column 1); max_k 1 makes k = 1.
  voxgrad::testing::expect_values(
      rand_rotate90(RandRotate90Options({"image"}).prob(1).max_k(1))(Example{{"image", image}, {"affine", eye}}, rng)
          .at("affine"),
      {4, 4}, {1, 0, 0, 0, 0, 0, -1, 5, 0, 1, 0, 0, 0, 0, 0, 1});
}

TEST(RandFlipAndRotate90, WithoutAnAffineNothingElseChangesAndAMalformedOneIsNamed) {
  const Tensor image = random_volume({1, 4, 5, 6}, 5);
  const Tensor label = image.gt(0.0);
  const Tensor affine = random_affine(6);
  const Transform t = compose({rand_flip(RandFlipOptions().prob(0.5)), rand_rotate90(RandRotate90Options().prob(0.5))});
  for (std::int64_t i = 0; i < 8; ++i) {
    Generator a = sample_generator(1, 0, i), b = sample_generator(1, 0, i);
    const Example plain = t(Example{{"image", image}, {"label", label}}, a);
    const Example with = t(Example{{"image", image}, {"label", label}, {"affine", affine}}, b);
    EXPECT_EQ(plain.keys(), (std::vector<std::string>{"image", "label"}));
    expect_bitwise_equal(plain.at("image"), with.at("image"), "the same draws with an affine");
    expect_bitwise_equal(plain.at("label"), with.at("label"), "the same draws with an affine");
    EXPECT_EQ(a.next_double(), b.next_double()) << "the stream continues alike";
  }
  // Another key, and a float32 affine read as float64: only that key moves.
  Generator rng(0);
  const Tensor f32 = affine.to(kFloat32);
  const Example out = rand_flip(RandFlipOptions().axes({1}).prob(1).affine_key("geometry"))(
      Example{{"image", image}, {"label", label}, {"affine", affine}, {"geometry", f32}}, rng);
  expect_bitwise_equal(out.at("affine"), affine, "not the affine key");
  EXPECT_EQ(out.at("geometry").dtype(), kFloat64);
  voxgrad::testing::expect_close(out.at("geometry").select(1, 1), -f32.to(kFloat64).select(1, 1), 0.0);
  voxgrad::testing::expect_close(out.at("geometry").select(1, 3),
                                 (f32.to(kFloat64).select(1, 3) + f32.to(kFloat64).select(1, 1) * 4.0), 1e-12);
  EXPECT_ERROR_EQ(rand_flip(RandFlipOptions().prob(1))(Example{{"image", image}, {"affine", zeros({3, 4})}}, rng),
                  "rand_flip: 'affine' must be (4, 4), but has shape [3, 4]");
  EXPECT_ERROR_EQ(
      rand_rotate90(RandRotate90Options().affine_key("a"))(Example{{"image", image}, {"a", zeros({16})}}, rng),
      "rand_rotate90: 'a' must be (4, 4), but has shape [16]");
  EXPECT_ERROR_EQ(rand_flip(RandFlipOptions().prob(1))(
                      Example{{"image", image}, {"label", zeros({1, 4, 5, 7})}, {"affine", affine}}, rng),
                  "rand_flip: 'label' [1, 4, 5, 7] is not on the grid of 'image' [1, 4, 5, 6], which the affine "
                  "'affine' describes");
  EXPECT_ERROR_EQ(rand_rotate90(RandRotate90Options().axes({0, 3})),
                  "rand_rotate90: axes[1] must be a spatial axis (0, 1 or 2 for D, H, W), but got 3");
  // The checks and the affine's dtype do not depend on the draws: with prob 0 nothing moves, yet the
  // float32 affine comes back as float64 and keys off the grid are refused all the same.
  for (const Transform& never : {rand_flip(RandFlipOptions().prob(0)), rand_rotate90(RandRotate90Options().prob(0))}) {
    const Example kept = never(Example{{"image", image}, {"label", label}, {"affine", f32}}, rng);
    EXPECT_EQ(kept.at("affine").dtype(), kFloat64);
    expect_bitwise_equal(kept.at("affine"), f32.to(kFloat64), "unmoved");
    expect_bitwise_equal(kept.at("image"), image, "unmoved");
    EXPECT_ERROR_CONTAINS(never(Example{{"image", image}, {"label", zeros({1, 4, 5, 7})}, {"affine", affine}}, rng),
                          "'label' [1, 4, 5, 7] is not on the grid of 'image' [1, 4, 5, 6]");
  }
  // A key listed twice would be moved twice and its affine once.
  EXPECT_ERROR_EQ(rand_flip(RandFlipOptions().keys({"image", "label", "image"})),
                  "rand_flip: key 'image' appears more than once in keys [\"image\", \"label\", \"image\"]");
  EXPECT_ERROR_EQ(rand_rotate90(RandRotate90Options().keys({"label", "label"})),
                  "rand_rotate90: key 'label' appears more than once in keys [\"label\", \"label\"]");
}

}  // namespace
