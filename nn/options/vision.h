#pragma once
// Options of F::grid_sample and F::affine_grid (libtorch's torch/nn/options/vision.h).

#include <optional>

#include "voxgrad/nn/arg.h"
#include "voxgrad/ops/grid_sample.h"

namespace voxgrad::nn::functional {

/// Options for grid_sample, as torch::nn::functional::GridSampleFuncOptions:
/// `GridSampleFuncOptions().mode(GridSampleMode::Nearest).padding_mode(GridSamplePadding::Border).align_corners(true)`.
struct GridSampleFuncOptions {
  /// Bilinear (trilinear for 5-D input) or Nearest; Bicubic is refused.
  VOXGRAD_ARG(GridSampleMode, mode) = GridSampleMode::Bilinear;
  /// Zeros, Border or Reflection.
  VOXGRAD_ARG(GridSamplePadding, padding_mode) = GridSamplePadding::Zeros;
  /// Whether −1 and 1 are the centres of the corner voxels (unset means false, as PyTorch's default).
  VOXGRAD_ARG(std::optional<bool>, align_corners);
};

/// Options for affine_grid (the output size is its own argument): align_corners.
struct AffineGridFuncOptions {
  /// Whether −1 and 1 are the centres of the corner voxels (unset means false, as PyTorch's default).
  VOXGRAD_ARG(std::optional<bool>, align_corners);
};

}  // namespace voxgrad::nn::functional
