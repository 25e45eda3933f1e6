#pragma once

#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/options/vision.h"

namespace voxgrad::nn::functional {

/// torch::nn::functional::grid_sample: voxgrad::grid_sample with the options' mode, padding_mode and
/// align_corners (false when unset). 5-D input with a (N, Do, Ho, Wo, 3) grid or 4-D input with a
/// (N, Ho, Wo, 2) grid; differentiable w.r.t. input and grid.
Tensor grid_sample(const Tensor& input, const Tensor& grid, const GridSampleFuncOptions& options = {});

/// torch::nn::functional::affine_grid: voxgrad::affine_grid(theta, size, align_corners) with
/// align_corners false when unset.
Tensor affine_grid(const Tensor& theta, IntArrayRef size, const AffineGridFuncOptions& options = {});

/// torch::nn::functional::affine_grid(theta, size, align_corners), libtorch 1.13's own signature.
Tensor affine_grid(const Tensor& theta, IntArrayRef size, bool align_corners);

}  // namespace voxgrad::nn::functional
