#pragma once

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// How grid_sample reads the input at a sampling location (PyTorch's `mode`).
enum class GridSampleMode {
  Bilinear,  ///< Linear along each spatial dim (trilinear for 5-D input), as PyTorch's "bilinear".
  Nearest,   ///< The voxel at the location rounded half to even (std::nearbyint), as PyTorch.
  Bicubic,   ///< Not implemented: refused with an Error (PyTorch has it for 4-D input only).
};

/// What grid_sample reads outside the input (PyTorch's `padding_mode`).
enum class GridSamplePadding {
  Zeros,       ///< Locations outside the input read 0.
  Border,      ///< Locations are clamped to [0, size − 1] first.
  Reflection,  ///< Locations are reflected at the borders (at the corner centres with align_corners, else at
               ///< the outer edges), then clamped.
};

/// "bilinear", "nearest" or "bicubic", as PyTorch spells the mode.
const char* grid_sample_mode_name(GridSampleMode mode);
/// "zeros", "border" or "reflection", as PyTorch spells the padding mode.
const char* grid_sample_padding_name(GridSamplePadding padding);

/// Samples `input` at the locations in `grid`, as torch.nn.functional.grid_sample (PyTorch 1.13):
/// input (N, C, D, H, W) with grid (N, Do, Ho, Wo, 3) gives (N, C, Do, Ho, Wo); input (N, C, H, W)
/// with grid (N, Ho, Wo, 2) gives (N, C, Ho, Wo). The grid's last dim is (x, y[, z]), normalised to
/// [−1, 1] along (W, H[, D]): with align_corners −1 and 1 are the centres of the corner voxels, else
/// their outer edges. The locations and weights follow ATen's CPU kernels bit for bit in formula
/// (GridSampler.cpp for 5-D, GridSamplerKernel.cpp's for 4-D). float32 or float64; input and grid
/// of one dtype; any layout. A NaN location reads 0 and passes no gradient, and so does an infinite
/// one, except under Border, which clamps it to the edge voxel (ATen's result there depends on the
/// kernel and the padding). Differentiable once w.r.t. input and grid (the grid gradient is
/// zero for Nearest, and zero where Border or Reflection clamps, as in PyTorch); differentiating the backward again
/// throws, as PyTorch does. Bicubic is refused. Parallel over grid points (forward, grid gradient) and (n, c) planes
/// (input gradient, a race-free scatter in grid order); results do not depend on the thread count.
Tensor grid_sample(const Tensor& input, const Tensor& grid, GridSampleMode mode = GridSampleMode::Bilinear,
                   GridSamplePadding padding = GridSamplePadding::Zeros, bool align_corners = false);

}  // namespace voxgrad
