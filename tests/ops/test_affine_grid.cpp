// affine_grid: the grid of an identity, gradcheck and gradgradcheck w.r.t. theta (also composed with
// grid_sample), and the error messages. Its PyTorch fixtures are run in test_grid_sample.cpp.

#include <voxgrad/ops/affine_grid.h>
#include <voxgrad/ops/grid_sample.h>
#include <voxgrad/voxgrad.h>

#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
using autograd::gradcheck;
namespace vt = voxgrad::testing;
using Mode = GridSampleMode;
using Pad = GridSamplePadding;

TEST(AffineGrid, IdentityGivesTheVoxelCentres) {
  const Tensor eye = vt::f64({1, 0, 0, 0, 1, 0}, {1, 2, 3});
  // W = 3, H = 2: x ∈ (−2/3, 0, 2/3), y ∈ (−1/2, 1/2) without align_corners; (−1, 0, 1), (−1, 1) with.
  vt::expect_values(affine_grid(eye, {1, 1, 2, 3}, false), {1, 2, 3, 2},
                    {-2.0 / 3, -0.5, 0, -0.5, 2.0 / 3, -0.5, -2.0 / 3, 0.5, 0, 0.5, 2.0 / 3, 0.5}, 1e-15);
  vt::expect_values(affine_grid(eye, {1, 1, 2, 3}, true), {1, 2, 3, 2}, {-1, -1, 0, -1, 1, -1, -1, 1, 0, 1, 1, 1});
  // A size of 1 puts its single point at 0.
  vt::expect_values(affine_grid(eye, {1, 1, 1, 1}, true), {1, 1, 1, 2}, {0, 0});
}

TEST(AffineGrid, GradcheckAndGradgradcheckWrtTheta) {
  for (bool align : {false, true}) {
    const Tensor t2 = vt::uniform_leaf({2, 2, 3}, -1, 1, 8), t3 = vt::uniform_leaf({2, 3, 4}, -1, 1, 9);
    EXPECT_TRUE(gradcheck(
        [align](const std::vector<Tensor>& in) {
          return affine_grid(in[0], {2, 1, 3, 4}, align);
        },
        {t2}));
    EXPECT_TRUE(autograd::gradgradcheck(
        [align](const std::vector<Tensor>& in) {
          return affine_grid(in[0], {2, 3, 2, 3, 4}, align);
        },
        {t3}));
  }
}

TEST(AffineGrid, ComposedWithGridSampleIsDifferentiableWrtTheta) {
  const Tensor x = vt::uniform_leaf({1, 2, 4, 3, 5}, -1, 1, 21).detach();
  // A small rotation and shift keeps the points off cell boundaries.
  const Tensor theta = vt::leaf({0.9, 0.1, 0.05, 0.03, -0.12, 0.8, 0.1, -0.07, 0.02, 0.04, 1.1, 0.05}, {1, 3, 4});
  EXPECT_TRUE(gradcheck(
      [x](const std::vector<Tensor>& in) {
        return grid_sample(x, affine_grid(in[0], {1, 2, 3, 4, 3}, false), Mode::Bilinear, Pad::Border);
      },
      {theta}));
}

TEST(AffineGridErrors, EveryCheckNamesTheOpAndTheValues) {
  EXPECT_ERROR_EQ(affine_grid(Tensor(), {1, 1, 2, 2}), "affine_grid: argument 'theta' is an undefined tensor");
  EXPECT_ERROR_EQ(affine_grid(zeros({1, 2, 3}, kInt64), {1, 1, 2, 2}),
                  "affine_grid: Expected theta to have floating point type, but got int64");
  EXPECT_ERROR_EQ(affine_grid(zeros({1, 2, 3}), {1, 2, 2}),
                  "affine_grid: affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                  "respectively. Got size [1, 2, 2].");
  EXPECT_ERROR_EQ(affine_grid(zeros({1, 2, 3}), {1, 1, 2, 2, 2}),
                  "affine_grid: Expected a batch of 3D affine matrices of shape Nx3x4 for size [1, 1, 2, 2, 2]. Got "
                  "[1, 2, 3].");
  EXPECT_ERROR_EQ(affine_grid(zeros({2, 3}), {1, 1, 2, 2}),
                  "affine_grid: Expected a batch of 2D affine matrices of shape Nx2x3 for size [1, 1, 2, 2]. Got [2, "
                  "3].");
  EXPECT_ERROR_EQ(affine_grid(zeros({1, 2, 3}), {1, 1, 0, 2}),
                  "affine_grid: Expected non-zero, positive output size. Got [1, 1, 0, 2]");
  EXPECT_ERROR_EQ(affine_grid(zeros({1, 2, 3}), {1, 1, 1, -2}, true),
                  "affine_grid: Expected non-zero, positive output size. Got [1, 1, 1, -2]");
  EXPECT_ERROR_EQ(affine_grid(zeros({2, 2, 3}), {3, 1, 4, 4}),
                  "affine_grid: expected theta's batch size 2 to equal size[0] = 3 (theta has sizes [2, 2, 3], size "
                  "is [3, 1, 4, 4])");
}

}  // namespace
