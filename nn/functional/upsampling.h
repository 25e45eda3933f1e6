#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/upsampling.h"

namespace voxgrad::nn::functional {

/// Resamples (N, C, D, H, W) input as torch.nn.functional.interpolate with mode 'nearest' or
/// 'trilinear': to `size`, or to floor(in · scale_factor) per dim sampling with 1/scale_factor (as
/// PyTorch 1.13; recompute_scale_factor(true) samples with in/out). Differentiable twice. See
/// voxgrad::upsample_nearest3d and voxgrad::upsample_trilinear3d.
Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& options);

}  // namespace voxgrad::nn::functional
