#pragma once

#include <cstdint>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/ops/pad.h"  // PaddingMode, pad3d

namespace voxgrad {

/// 3-D convolution (cross-correlation) as torch::conv3d: input (N, Cin, D, H, W) or unbatched
/// (Cin, D, H, W); weight (Cout, Cin/groups, kD, kH, kW); bias (Cout) or undefined.
/// Output size per dim: floor((in + 2p - d(k-1) - 1) / s) + 1. Its input gradient is
/// conv_transpose3d with the same weight; double backward works.
Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, ExpandingArray<3> stride = 1,
              ExpandingArray<3> padding = 0, ExpandingArray<3> dilation = 1, std::int64_t groups = 1);

/// 3-D transposed convolution as torch::conv_transpose3d (same argument order): input
/// (N, Cin, D, H, W) or unbatched; weight (Cin, Cout/groups, kD, kH, kW); bias (Cout).
/// Output size per dim: (in - 1)s - 2p + d(k-1) + output_padding + 1, with each output_padding
/// smaller than its stride or its dilation. Its input gradient is conv3d with the same weight.
Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
                        ExpandingArray<3> stride = 1, ExpandingArray<3> padding = 0,
                        ExpandingArray<3> output_padding = 0, std::int64_t groups = 1, ExpandingArray<3> dilation = 1);

/// The weight gradient of conv3d: given its input (N, Cin, ...) and output gradient
/// (N, Cout, ...), returns dL/dweight of shape (Cout, Cin/groups, kD, kH, kW). It is also the
/// weight gradient of conv_transpose3d with the two tensors swapped. Differentiable.
Tensor conv3d_weight_grad(const Tensor& input, const Tensor& grad_output, ExpandingArray<3> kernel_size,
                          ExpandingArray<3> stride, ExpandingArray<3> padding, ExpandingArray<3> dilation,
                          std::int64_t groups);

}  // namespace voxgrad
