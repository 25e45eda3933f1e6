#pragma once
// Options of Upsample (nn/modules/upsampling.h) and F::interpolate, and InterpolateMode.

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "voxgrad/nn/arg.h"

namespace voxgrad {

/// Interpolation modes of Upsample and F::interpolate.
enum class InterpolateMode { Nearest, Linear, Bilinear, Trilinear, Area };
/// libtorch-style names: `UpsampleOptions().mode(kTrilinear)`.
inline constexpr InterpolateMode kNearest = InterpolateMode::Nearest;      ///< Any of 1, 2 or 3 spatial dims.
inline constexpr InterpolateMode kLinear = InterpolateMode::Linear;        ///< 1 spatial dim: (N, C, W).
inline constexpr InterpolateMode kBilinear = InterpolateMode::Bilinear;    ///< 2 spatial dims: (N, C, H, W).
inline constexpr InterpolateMode kTrilinear = InterpolateMode::Trilinear;  ///< Linear along each of the 3 dims.
inline constexpr InterpolateMode kArea = InterpolateMode::Area;            ///< Adaptive average pooling to the size.
/// "nearest", "linear", "bilinear", "trilinear" or "area", as PyTorch spells the mode.
const char* interpolate_mode_name(InterpolateMode mode);

namespace nn {

/// Options for Upsample and F::interpolate, as torch::nn::UpsampleOptions: exactly one of size and
/// scale_factor, e.g. `UpsampleOptions().scale_factor(2.0).mode(kTrilinear).align_corners(false)` or
/// `UpsampleOptions().size({8, 16, 16})`.
struct UpsampleOptions {
  /// The same output size for every spatial dim.
  UpsampleOptions& size(std::int64_t size) {
    size_ = std::vector<std::int64_t>{size};
    return *this;
  }
  /// The output size per spatial dim (depth, height, width).
  UpsampleOptions& size(std::vector<std::int64_t> size) {
    size_ = std::move(size);
    return *this;
  }
  /// The requested output size (one value for all dims, or one per dim), if any.
  const std::optional<std::vector<std::int64_t>>& size() const { return size_; }
  /// The same scale factor for every spatial dim; the output is floor(in · factor).
  UpsampleOptions& scale_factor(double factor) {
    scale_factor_ = std::vector<double>{factor};
    return *this;
  }
  /// One scale factor per spatial dim.
  UpsampleOptions& scale_factor(std::vector<double> factors) {
    scale_factor_ = std::move(factors);
    return *this;
  }
  /// The requested scale factors (one for all dims, or one per dim), if any.
  const std::optional<std::vector<double>>& scale_factor() const { return scale_factor_; }

  /// kNearest, kLinear (3-D input), kBilinear (4-D), kTrilinear (5-D) or kArea.
  VOXGRAD_ARG(InterpolateMode, mode) = kNearest;
  /// The linear modes only: align the corner samples of input and output (unset means false). Setting it
  /// with kNearest is an error, as in PyTorch.
  VOXGRAD_ARG(std::optional<bool>, align_corners);
  /// With scale_factor: true computes the output size and then samples with in/out instead of
  /// 1/scale_factor (PyTorch's recompute_scale_factor); unset or false uses 1/scale_factor.
  VOXGRAD_ARG(std::optional<bool>, recompute_scale_factor);

 private:
  std::optional<std::vector<std::int64_t>> size_;
  std::optional<std::vector<double>> scale_factor_;
};

namespace functional {

/// Options for interpolate (the same type as the module's, as in libtorch's field set).
using InterpolateFuncOptions = UpsampleOptions;

}  // namespace functional
}  // namespace nn
}  // namespace voxgrad
