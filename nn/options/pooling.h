#pragma once
// Options of MaxPool3d / AvgPool3d / AdaptiveMaxPool3d / AdaptiveAvgPool3d (nn/modules/pooling.h) and
// their functional forms.

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

/// Options for AdaptiveAvgPool3d and F::adaptive_avg_pool3d, as torch::nn::AdaptiveAvgPool3dOptions:
/// `AdaptiveAvgPool3dOptions(1)` or `AdaptiveAvgPool3dOptions({4, 8, 8})` (PyTorch's None entries,
/// "keep the input size", are not supported).
struct AdaptiveAvgPool3dOptions {
  /// The one required option: the output's (D, H, W), or one int for all three.
  /* implicit */ AdaptiveAvgPool3dOptions(ExpandingArray<3> output_size) : output_size_(output_size) {}  // NOLINT
  /// The output's spatial size (each ≥ 0).
  VOXGRAD_ARG(ExpandingArray<3>, output_size);
};

/// Options for AdaptiveMaxPool3d and F::adaptive_max_pool3d, as torch::nn::AdaptiveMaxPool3dOptions.
struct AdaptiveMaxPool3dOptions {
  /// The one required option: the output's (D, H, W), or one int for all three.
  /* implicit */ AdaptiveMaxPool3dOptions(ExpandingArray<3> output_size) : output_size_(output_size) {}  // NOLINT
  /// The output's spatial size (each ≥ 0).
  VOXGRAD_ARG(ExpandingArray<3>, output_size);
};

namespace functional {

/// Options for max_pool3d (the module's options type, as in libtorch).
using MaxPool3dFuncOptions = MaxPool3dOptions;
/// Options for avg_pool3d.
using AvgPool3dFuncOptions = AvgPool3dOptions;

/// Options for adaptive_avg_pool3d.
using AdaptiveAvgPool3dFuncOptions = AdaptiveAvgPool3dOptions;
/// Options for adaptive_max_pool3d.
using AdaptiveMaxPool3dFuncOptions = AdaptiveMaxPool3dOptions;
}  // namespace functional
}  // namespace voxgrad::nn
