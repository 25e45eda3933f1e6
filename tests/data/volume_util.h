#pragma once
// Test helpers for (C, D, H, W) volumes: naive element access and a strided, offset view.

#include "test_util.h"

namespace voxgrad::testing {

/// `v` (C, D, H, W) at (c, d, h, w), read through its strides.
inline double at4(const Tensor& v, std::int64_t c, std::int64_t d, std::int64_t h, std::int64_t w) {
  return v.select(0, c).select(0, d).select(0, h).select(0, w).item<double>();
}

/// A volume with the values of `v` whose memory is permuted and offset: a (D+1, C, W, H) buffer
/// permuted to (C, D+1, H, W) and narrowed to drop the first depth slice.
inline Tensor strided_copy(const Tensor& v) {
  const Tensor base = zeros({v.size(1) + 1, v.size(0), v.size(3), v.size(2)}, v.dtype());
  Tensor view = base.permute({1, 0, 3, 2}).narrow(1, 1, v.size(1));
  view.copy_(v);
  EXPECT_FALSE(view.is_contiguous());
  return view;
}

/// A (3, D, H, W) float64 volume whose channels 0, 1, 2 hold each voxel's own d, h, w index: after a
/// transform that moves (or resamples linearly) voxels, an output voxel's channels say which input
/// voxel (or position) it was taken from.
inline Tensor coordinate_volume(std::int64_t d, std::int64_t h, std::int64_t w) {
  std::vector<double> v(static_cast<std::size_t>(3 * d * h * w));
  std::size_t p = 0;
  for (std::int64_t c = 0; c < 3; ++c) {
    for (std::int64_t i = 0; i < d; ++i) {
      for (std::int64_t j = 0; j < h; ++j) {
        for (std::int64_t k = 0; k < w; ++k) v[p++] = static_cast<double>(c == 0 ? i : c == 1 ? j : k);
      }
    }
  }
  return tensor(v, kFloat64).reshape({3, d, h, w});
}

/// A random float64 (4, 4) affine: a random 3 × 4 top (rotation, shear, scale and origin all generic)
/// over the row (0, 0, 0, 1).
inline Tensor random_affine(std::uint64_t seed) {
  manual_seed(seed);
  Tensor a = zeros({4, 4}, kFloat64);
  a.narrow(0, 0, 3).copy_(randn({3, 4}, kFloat64) * 3.0);
  a.select(0, 3).select(0, 3).fill_(1.0);
  return a;
}

/// Checks the definition of a moved affine on every voxel o = (d, h, w) of `moved` (a
/// coordinate_volume after a transform, so its channels hold the input position x the voxel came
/// from): affine_out · (w, h, d, 1) == affine_in · (x_w, x_h, x_d, 1) (NIfTI order (i, j, k) = (w, h, d)).
inline void expect_affine_follows_voxels(const Tensor& moved, const Tensor& affine_in, const Tensor& affine_out,
                                         const std::string& what) {
  ASSERT_EQ(moved.dim(), 4) << what;
  ASSERT_EQ(moved.size(0), 3) << what;
  ASSERT_EQ(affine_out.sizes(), (Shape{4, 4})) << what;
  ASSERT_EQ(affine_out.dtype(), kFloat64) << what;
  const std::vector<double> v = values(moved.contiguous()), a = values(affine_in), b = values(affine_out);
  const std::int64_t d = moved.size(1), h = moved.size(2), w = moved.size(3), n = d * h * w;
  int failures = 0;
  for (std::int64_t i = 0; i < d; ++i) {
    for (std::int64_t j = 0; j < h; ++j) {
      for (std::int64_t k = 0; k < w; ++k) {
        const std::int64_t flat = (i * h + j) * w + k;
        const double out[4] = {static_cast<double>(k), static_cast<double>(j), static_cast<double>(i), 1.0};
        const double in[4] = {v[static_cast<std::size_t>(2 * n + flat)], v[static_cast<std::size_t>(n + flat)],
                              v[static_cast<std::size_t>(flat)], 1.0};
        for (std::size_t r = 0; r < 4; ++r) {
          double world_out = 0, world_in = 0, scale = 1;
          for (std::size_t c = 0; c < 4; ++c) {
            world_out += b[r * 4 + c] * out[c];
            world_in += a[r * 4 + c] * in[c];
            scale += std::abs(a[r * 4 + c] * in[c]);
          }
          if (std::abs(world_out - world_in) > 1e-12 * scale && failures++ < 5) {
            ADD_FAILURE() << what << ": voxel (" << i << ", " << j << ", " << k << ") row " << r << ": " << world_out
                          << " in the moved affine, " << world_in << " where it came from";
          }
        }
      }
    }
  }
}

}  // namespace voxgrad::testing
