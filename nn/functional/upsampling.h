#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/upsampling.h"

namespace voxgrad::nn::functional {

/// Resamples (N, C, *) input with 1, 2 or 3 spatial dims as torch.nn.functional.interpolate: to
/// `size`, or to floor(in · scale_factor) per dim sampling with 1/scale_factor (as PyTorch 1.13;
/// recompute_scale_factor(true) samples with in/out). Modes: nearest (any rank), linear (3-D input),
/// bilinear (4-D), trilinear (5-D), each with align_corners either way, and area (adaptive average
/// pooling to the output size). Lower ranks run the 3-D kernels on a view with leading size-1 dims,
/// which they leave unchanged. Differentiable twice. See voxgrad::upsample_nearest3d,
/// voxgrad::upsample_trilinear3d and voxgrad::adaptive_avg_pool3d.
Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& options);

}  // namespace voxgrad::nn::functional
