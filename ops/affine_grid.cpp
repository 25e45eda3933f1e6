#include "voxgrad/ops/affine_grid.h"

#include <cstdint>
#include <vector>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/linalg.h"

namespace voxgrad {

// affine_grid is ATen's affine_grid_generator: a constant base grid of homogeneous coordinates
// (x, y[, z], 1) per output voxel, times thetaᵀ. The product is an ordinary (differentiable) matmul,
// so the gradient w.r.t. theta is baseᵀ · dgrid.

namespace {

constexpr const char* kOp = "affine_grid";

// ATen's linspace_from_neg_one in T: linspace(−1, 1, n) (from the nearer end, as ATen's scalar
// linspace; 1.13's vectorised one, for rows of two vectors or more, may differ in the last bit),
// times (n − 1), over n without align_corners; a single step is 0.
template <typename T>
std::vector<T> normalised_centres(std::int64_t n, bool align_corners) {
  std::vector<T> v(static_cast<std::size_t>(n), T(0));
  if (n <= 1) return v;
  const T step = (T(1) - T(-1)) / static_cast<T>(n - 1);
  for (std::int64_t i = 0; i < n; ++i) {
    T x = i < n / 2 ? T(-1) + step * static_cast<T>(i) : T(1) - step * static_cast<T>(n - i - 1);
    if (!align_corners) x = x * static_cast<T>(n - 1) / static_cast<T>(n);
    v[static_cast<std::size_t>(i)] = x;
  }
  return v;
}

// (points, K + 1): for each voxel (d, h, w) in row-major order, (x_w, y_h[, z_d], 1).
Tensor base_grid(const std::vector<std::int64_t>& spatial, bool align_corners, DType dtype) {
  const std::size_t K = spatial.size();
  std::int64_t points = 1;
  for (std::int64_t s : spatial) points *= s;
  Tensor base = empty({points, static_cast<std::int64_t>(K) + 1}, dtype);
  detail::dispatch_floating(dtype, kOp, [&]<typename T>() {
    std::vector<std::vector<T>> axis;  // axis[k]: coordinate k (x, y, z) along spatial dim K − 1 − k
    for (std::size_t k = 0; k < K; ++k) axis.push_back(normalised_centres<T>(spatial[K - 1 - k], align_corners));
    T* out = base.data_ptr<T>();
    std::vector<std::int64_t> idx(K, 0);  // row-major index over spatial
    for (std::int64_t p = 0; p < points; ++p) {
      for (std::size_t k = 0; k < K; ++k) *out++ = axis[k][static_cast<std::size_t>(idx[K - 1 - k])];
      *out++ = T(1);
      for (std::size_t d = K; d-- > 0;) {
        if (++idx[d] < spatial[d]) break;
        idx[d] = 0;
      }
    }
  });
  return base;
}

}  // namespace

Tensor affine_grid(const Tensor& theta, IntArrayRef size, bool align_corners) {
  detail::check_defined(theta, kOp, "theta");
  VOXGRAD_CHECK(is_floating_point(theta.dtype()), "{}: Expected theta to have floating point type, but got {}", kOp,
                theta.dtype());
  VOXGRAD_CHECK(size.size() == 4 || size.size() == 5,
                "{}: affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. Got "
                "size {}.",
                kOp, shape_str(size));
  const std::int64_t K = static_cast<std::int64_t>(size.size()) - 2;
  VOXGRAD_CHECK(theta.dim() == 3 && theta.sizes()[1] == K && theta.sizes()[2] == K + 1,
                "{}: Expected a batch of {}D affine matrices of shape Nx{}x{} for size {}. Got {}.", kOp, K, K, K + 1,
                shape_str(size), shape_str(theta.sizes()));
  for (std::int64_t s : size) {
    VOXGRAD_CHECK(s > 0, "{}: Expected non-zero, positive output size. Got {}", kOp, shape_str(size));
  }
  VOXGRAD_CHECK(theta.sizes()[0] == size[0],
                "{}: expected theta's batch size {} to equal size[0] = {} (theta has sizes {}, size is {})", kOp,
                theta.sizes()[0], size[0], shape_str(theta.sizes()), shape_str(size));
  const std::vector<std::int64_t> spatial(size.begin() + 2, size.end());
  Shape out{size[0]};
  out.insert(out.end(), spatial.begin(), spatial.end());
  out.push_back(K);
  checked_numel(out, kOp);
  // (points, K + 1) · (N, K + 1, K) broadcasts to (N, points, K).
  const Tensor base = base_grid(spatial, align_corners, theta.dtype());
  return matmul(base, theta.transpose(1, 2)).reshape(out);
}

}  // namespace voxgrad
