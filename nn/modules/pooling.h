#pragma once

#include <string>
#include <tuple>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/functional/pooling.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/pooling.h"

namespace voxgrad::nn {

/// 3-D max pooling over (N, C, D, H, W) or unbatched (C, D, H, W) input, as torch::nn::MaxPool3d;
/// the gradient flows to each window's arg-max. Arguments are validated at forward, as in PyTorch.
class MaxPool3dImpl : public Cloneable<MaxPool3dImpl> {
 public:
  /// Builds the layer: `MaxPool3d(MaxPool3dOptions(3).stride(2).padding(1))`.
  explicit MaxPool3dImpl(const MaxPool3dOptions& options) : options_(options) {}
  /// Shorthand for MaxPool3d(MaxPool3dOptions(kernel_size)): `MaxPool3d(2)` or `MaxPool3d({1, 2, 2})`.
  explicit MaxPool3dImpl(ExpandingArray<3> kernel_size) : options_(kernel_size) {}
  /// The pooled maxima.
  Tensor forward(const Tensor& input) override;
  /// The pooled maxima and their int64 flat indices into each D·H·W plane (return_indices=True).
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& input);
  /// "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False" (a value equal in all dims
  /// prints as one int, otherwise as a tuple).
  std::string extra_repr() const override;
  const MaxPool3dOptions& options() const { return options_; }

 private:
  MaxPool3dOptions options_;
};
VOXGRAD_MODULE(MaxPool3d);

/// 3-D average pooling over (N, C, D, H, W) or unbatched (C, D, H, W) input, as torch::nn::AvgPool3d.
class AvgPool3dImpl : public Cloneable<AvgPool3dImpl> {
 public:
  /// Builds the layer: `AvgPool3d(AvgPool3dOptions(3).stride(2).count_include_pad(false))`.
  explicit AvgPool3dImpl(const AvgPool3dOptions& options) : options_(options) {}
  /// Shorthand for AvgPool3d(AvgPool3dOptions(kernel_size)).
  explicit AvgPool3dImpl(ExpandingArray<3> kernel_size) : options_(kernel_size) {}
  /// The window averages.
  Tensor forward(const Tensor& input) override;
  /// "kernel_size=2, stride=2, padding=0", as PyTorch prints it.
  std::string extra_repr() const override;
  const AvgPool3dOptions& options() const { return options_; }

 private:
  AvgPool3dOptions options_;
};
VOXGRAD_MODULE(AvgPool3d);

/// 3-D adaptive average pooling to a fixed output size, as torch::nn::AdaptiveAvgPool3d:
/// `AdaptiveAvgPool3d(1)` is global average pooling.
class AdaptiveAvgPool3dImpl : public Cloneable<AdaptiveAvgPool3dImpl> {
 public:
  /// Builds the layer: `AdaptiveAvgPool3d(AdaptiveAvgPool3dOptions({2, 4, 4}))` or `AdaptiveAvgPool3d(1)`.
  explicit AdaptiveAvgPool3dImpl(const AdaptiveAvgPool3dOptions& options) : options_(options) {}
  /// Shorthand for AdaptiveAvgPool3d(AdaptiveAvgPool3dOptions(output_size)).
  explicit AdaptiveAvgPool3dImpl(ExpandingArray<3> output_size) : options_(output_size) {}
  /// The window averages.
  Tensor forward(const Tensor& input) override;
  /// "output_size=1" or "output_size=(2, 4, 4)".
  std::string extra_repr() const override;
  const AdaptiveAvgPool3dOptions& options() const { return options_; }

 private:
  AdaptiveAvgPool3dOptions options_;
};
VOXGRAD_MODULE(AdaptiveAvgPool3d);

/// 3-D adaptive max pooling to a fixed output size, as torch::nn::AdaptiveMaxPool3d.
class AdaptiveMaxPool3dImpl : public Cloneable<AdaptiveMaxPool3dImpl> {
 public:
  /// Builds the layer: `AdaptiveMaxPool3d(AdaptiveMaxPool3dOptions({2, 4, 4}))` or `AdaptiveMaxPool3d(1)`.
  explicit AdaptiveMaxPool3dImpl(const AdaptiveMaxPool3dOptions& options) : options_(options) {}
  /// Shorthand for AdaptiveMaxPool3d(AdaptiveMaxPool3dOptions(output_size)).
  explicit AdaptiveMaxPool3dImpl(ExpandingArray<3> output_size) : options_(output_size) {}
  /// The window maxima.
  Tensor forward(const Tensor& input) override;
  /// The maxima and their int64 flat indices into each D·H·W plane (return_indices=True).
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& input);
  /// "output_size=1" or "output_size=(2, 4, 4)".
  std::string extra_repr() const override;
  const AdaptiveMaxPool3dOptions& options() const { return options_; }

 private:
  AdaptiveMaxPool3dOptions options_;
};
VOXGRAD_MODULE(AdaptiveMaxPool3d);

}  // namespace voxgrad::nn
