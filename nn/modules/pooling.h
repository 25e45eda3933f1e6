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

}  // namespace voxgrad::nn
