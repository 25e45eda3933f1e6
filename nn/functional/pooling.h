#pragma once

#include <cstdint>
#include <optional>
#include <tuple>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

/// Options for MaxPool3d and F::max_pool3d, as torch::nn::MaxPool3dOptions:
/// `MaxPool3dOptions(3).stride(2).padding(1)`. The stride starts equal to the kernel size.
struct MaxPool3dOptions {
  /// The one required option (an int for all dims, or {d, h, w}); stride is set to it too.
  /* implicit */ MaxPool3dOptions(ExpandingArray<3> kernel_size)  // NOLINT
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  /// Size of the window per spatial dim.
  VOXGRAD_ARG(ExpandingArray<3>, kernel_size);
  /// Step between windows per spatial dim (the kernel size unless set).
  VOXGRAD_ARG(ExpandingArray<3>, stride);
  /// Implicit −∞ padding on both sides per dim, at most kernel_size / 2.
  VOXGRAD_ARG(ExpandingArray<3>, padding) = 0;
  /// Spacing between window elements per dim.
  VOXGRAD_ARG(ExpandingArray<3>, dilation) = 1;
  /// Round the output size up (a last, partial window) instead of down.
  VOXGRAD_ARG(bool, ceil_mode) = false;
};

/// Options for AvgPool3d and F::avg_pool3d, as torch::nn::AvgPool3dOptions:
/// `AvgPool3dOptions(3).stride(2).padding(1).count_include_pad(false)`.
struct AvgPool3dOptions {
  /// The one required option (an int for all dims, or {d, h, w}); stride is set to it too.
  /* implicit */ AvgPool3dOptions(ExpandingArray<3> kernel_size)  // NOLINT
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  /// Size of the window per spatial dim.
  VOXGRAD_ARG(ExpandingArray<3>, kernel_size);
  /// Step between windows per spatial dim (the kernel size unless set).
  VOXGRAD_ARG(ExpandingArray<3>, stride);
  /// Zero padding on both sides per dim, at most kernel_size / 2.
  VOXGRAD_ARG(ExpandingArray<3>, padding) = 0;
  /// Round the output size up (a last, partial window) instead of down.
  VOXGRAD_ARG(bool, ceil_mode) = false;
  /// Count the padding zeros in each window's divisor.
  VOXGRAD_ARG(bool, count_include_pad) = true;
  /// If set, every window's sum is divided by this instead (must not be 0).
  VOXGRAD_ARG(std::optional<std::int64_t>, divisor_override);
};

namespace functional {

/// Options for max_pool3d (the module's options type, as in libtorch).
using MaxPool3dFuncOptions = MaxPool3dOptions;
/// Options for avg_pool3d.
using AvgPool3dFuncOptions = AvgPool3dOptions;

/// 3-D max pooling of (N, C, D, H, W) or unbatched (C, D, H, W) input, as
/// torch.nn.functional.max_pool3d: `F::max_pool3d(x, F::MaxPool3dFuncOptions(2))`. See voxgrad::max_pool3d.
Tensor max_pool3d(const Tensor& input, const MaxPool3dFuncOptions& options);
/// max_pool3d that also returns the int64 flat index (into each D·H·W plane) of every maximum.
std::tuple<Tensor, Tensor> max_pool3d_with_indices(const Tensor& input, const MaxPool3dFuncOptions& options);
/// 3-D average pooling, as torch.nn.functional.avg_pool3d. See voxgrad::avg_pool3d.
Tensor avg_pool3d(const Tensor& input, const AvgPool3dFuncOptions& options);

}  // namespace functional
}  // namespace voxgrad::nn
