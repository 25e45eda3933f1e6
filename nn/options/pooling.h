#pragma once
// Options of MaxPool3d / AvgPool3d (nn/modules/pooling.h) and F::max_pool3d / F::avg_pool3d.

#include <cstdint>
#include <optional>

#include "voxgrad/core/expanding_array.h"
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

}  // namespace functional
}  // namespace voxgrad::nn
