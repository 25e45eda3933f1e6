// flip, rot90 and crop against naive index formulas (numpy.flip / numpy.rot90 on the spatial axes),
// on contiguous and strided volumes; the random versions move image and label alike.
#include "data/volume_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::data;
using voxgrad::testing::at4;
using voxgrad::testing::expect_bitwise_equal;

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
        const Tensor out = rot90(in, k, plane);
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
  voxgrad::testing::expect_values(rot90(m, 1, {1, 2}), {1, 1, 2, 2}, {2, 4, 1, 3});
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
  EXPECT_ERROR_EQ(rot90(image, 1, {1, 1}), "rot90: the two axes must differ, but both are 1");
}

}  // namespace
