#pragma once

#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// The sampling grid of a batch of affine maps, as torch.nn.functional.affine_grid: theta (N, 2, 3)
/// with size (N, C, H, W) gives (N, H, W, 2); theta (N, 3, 4) with size (N, C, D, H, W) gives
/// (N, D, H, W, 3). Entry (…, i) is theta · (x, y[, z], 1) at the normalised centre of each output
/// voxel (linspace(−1, 1) along each dim, scaled by (n − 1)/n without align_corners). float32 or
/// float64; differentiable (twice) w.r.t. theta; the grid feeds voxgrad::grid_sample. Every size must
/// be positive (PyTorch skips that check when align_corners is set and a spatial size is 1, then
/// fails or returns an empty grid).
Tensor affine_grid(const Tensor& theta, IntArrayRef size, bool align_corners = false);

}  // namespace voxgrad
