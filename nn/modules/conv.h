#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/functional/conv.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/ops/conv.h"

namespace voxgrad::nn {

/// Options for Conv1d/2d/3d, as torch::nn::ConvOptions:
/// `Conv3dOptions(16, 33, {3, 5, 2}).stride({2, 1, 1}).padding({4, 2, 0})`.
template <std::size_t D>
struct ConvOptions {
  /// The three required options; every int list also takes a single int for all dims.
  ConvOptions(std::int64_t in_channels, std::int64_t out_channels, ExpandingArray<D> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}

  /// Channels of the input.
  VOXGRAD_ARG(std::int64_t, in_channels);
  /// Channels produced by the convolution.
  VOXGRAD_ARG(std::int64_t, out_channels);
  /// Size of the kernel per spatial dim.
  VOXGRAD_ARG(ExpandingArray<D>, kernel_size);
  /// Stride per spatial dim.
  VOXGRAD_ARG(ExpandingArray<D>, stride) = 1;
  /// Padding on both sides per dim (an int or a list), or kSame / kValid.
  VOXGRAD_ARG(ConvPadding<D>, padding) = 0;
  /// Spacing between kernel elements per dim.
  VOXGRAD_ARG(ExpandingArray<D>, dilation) = 1;
  /// Number of blocked connections from input channels to output channels.
  VOXGRAD_ARG(std::int64_t, groups) = 1;
  /// Whether to learn an additive bias.
  VOXGRAD_ARG(bool, bias) = true;
  /// How the padding is filled: kZeros, kReflect, kReplicate or kCircular.
  VOXGRAD_ARG(PaddingMode, padding_mode) = kZeros;
};
/// Options for Conv1d.
using Conv1dOptions = ConvOptions<1>;
/// Options for Conv2d.
using Conv2dOptions = ConvOptions<2>;
/// Options for Conv3d.
using Conv3dOptions = ConvOptions<3>;

/// Options for ConvTranspose1d/2d/3d, as torch::nn::ConvTransposeOptions:
/// `ConvTranspose3dOptions(16, 33, 3).stride(2).output_padding(1)`.
template <std::size_t D>
struct ConvTransposeOptions {
  /// The three required options; every int list also takes a single int for all dims.
  ConvTransposeOptions(std::int64_t in_channels, std::int64_t out_channels, ExpandingArray<D> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}

  /// Channels of the input.
  VOXGRAD_ARG(std::int64_t, in_channels);
  /// Channels produced by the convolution.
  VOXGRAD_ARG(std::int64_t, out_channels);
  /// Size of the kernel per spatial dim.
  VOXGRAD_ARG(ExpandingArray<D>, kernel_size);
  /// Stride per spatial dim.
  VOXGRAD_ARG(ExpandingArray<D>, stride) = 1;
  /// dilation·(kernel_size − 1) − padding zeros are added on both sides of the input.
  VOXGRAD_ARG(ExpandingArray<D>, padding) = 0;
  /// Extra size added to one side of each output dim (smaller than its stride or its dilation).
  VOXGRAD_ARG(ExpandingArray<D>, output_padding) = 0;
  /// Number of blocked connections from input channels to output channels.
  VOXGRAD_ARG(std::int64_t, groups) = 1;
  /// Whether to learn an additive bias.
  VOXGRAD_ARG(bool, bias) = true;
  /// Spacing between kernel elements per dim.
  VOXGRAD_ARG(ExpandingArray<D>, dilation) = 1;
  /// Only kZeros is supported (as in PyTorch); anything else is rejected by the module.
  VOXGRAD_ARG(PaddingMode, padding_mode) = kZeros;
};
/// Options for ConvTranspose1d.
using ConvTranspose1dOptions = ConvTransposeOptions<1>;
/// Options for ConvTranspose2d.
using ConvTranspose2dOptions = ConvTransposeOptions<2>;
/// Options for ConvTranspose3d.
using ConvTranspose3dOptions = ConvTransposeOptions<3>;

/// The shared implementation of Conv1d/2d/3d (as libtorch's ConvNdImpl): weight
/// (out, in/groups, k...) and bias (out), initialised as PyTorch does.
template <std::size_t D>
class ConvNd : public Module {
 public:
  /// Applies the convolution to (N, C, spatial...) or unbatched (C, spatial...) input.
  Tensor forward(const Tensor& input) override;
  /// Registers weight and bias (empty tensors) and initialises them with reset_parameters(); the
  /// constructor calls it, and clone() calls it on a copy whose registry was cleared.
  void reset();
  /// Re-draws weight (kaiming_uniform_ with a = √5) and bias (U(±1/√fan_in)) in place.
  void reset_parameters();
  const ConvOptions<D>& options() const { return options_; }
  /// "16, 33, kernel_size=(3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0)", non-defaults only.
  std::string extra_repr() const override;

  /// The learnable kernel, shape (out_channels, in_channels / groups, k...); parameter "weight".
  Tensor weight;
  /// The learnable bias, shape (out_channels); parameter "bias"; undefined with bias(false).
  Tensor bias;

 protected:
  /// Validates `options` and registers the parameters (use Conv1d, Conv2d or Conv3d).
  explicit ConvNd(const ConvOptions<D>& options);

 private:
  ConvOptions<D> options_;
};

/// The shared implementation of ConvTranspose1d/2d/3d: weight (in, out/groups, k...) and bias (out).
template <std::size_t D>
class ConvTransposeNd : public Module {
 public:
  /// Applies the transposed convolution; a non-empty `output_size` (D spatial sizes, or the full
  /// output shape) picks the output_padding that yields that size, overriding the option.
  Tensor forward(const Tensor& input, IntArrayRef output_size);
  /// forward(input, {}): the output size given by the options' output_padding.
  Tensor forward(const Tensor& input) override { return forward(input, IntArrayRef{}); }
  /// Registers weight and bias (empty tensors) and initialises them with reset_parameters(); the
  /// constructor calls it, and clone() calls it on a copy whose registry was cleared.
  void reset();
  /// Re-draws weight (kaiming_uniform_ with a = √5) and bias (U(±1/√fan_in)) in place.
  void reset_parameters();
  const ConvTransposeOptions<D>& options() const { return options_; }
  /// "16, 33, kernel_size=(3, 3, 3), stride=(2, 2, 2)", non-defaults only.
  std::string extra_repr() const override;

  /// The learnable kernel, shape (in_channels, out_channels / groups, k...); parameter "weight".
  Tensor weight;
  /// The learnable bias, shape (out_channels); parameter "bias"; undefined with bias(false).
  Tensor bias;

 protected:
  /// Validates `options` and registers the parameters (use ConvTranspose1d, 2d or 3d).
  explicit ConvTransposeNd(const ConvTransposeOptions<D>& options);

 private:
  ConvTransposeOptions<D> options_;
};

/// 1-D convolution over (N, C, L) input, as torch::nn::Conv1d.
class Conv1d : public Cloneable<Conv1d, ConvNd<1>> {
 public:
  /// Builds the layer: `Conv1d(Conv1dOptions(4, 8, 3).padding(1))`.
  explicit Conv1d(const Conv1dOptions& options) : Cloneable(options) {}
};

/// 2-D convolution over (N, C, H, W) input, as torch::nn::Conv2d.
class Conv2d : public Cloneable<Conv2d, ConvNd<2>> {
 public:
  /// Builds the layer: `Conv2d(Conv2dOptions(4, 8, {3, 5}).stride(2))`.
  explicit Conv2d(const Conv2dOptions& options) : Cloneable(options) {}
};

/// 3-D convolution over (N, C, D, H, W) input, as torch::nn::Conv3d.
class Conv3d : public Cloneable<Conv3d, ConvNd<3>> {
 public:
  /// Builds the layer: `Conv3d(Conv3dOptions(16, 33, {3, 5, 2}).stride({2, 1, 1}).padding({4, 2, 0}))`.
  explicit Conv3d(const Conv3dOptions& options) : Cloneable(options) {}
};

/// 1-D transposed convolution, as torch::nn::ConvTranspose1d.
class ConvTranspose1d : public Cloneable<ConvTranspose1d, ConvTransposeNd<1>> {
 public:
  /// Builds the layer: `ConvTranspose1d(ConvTranspose1dOptions(8, 4, 3).stride(2))`.
  explicit ConvTranspose1d(const ConvTranspose1dOptions& options) : Cloneable(options) {}
};

/// 2-D transposed convolution, as torch::nn::ConvTranspose2d.
class ConvTranspose2d : public Cloneable<ConvTranspose2d, ConvTransposeNd<2>> {
 public:
  /// Builds the layer: `ConvTranspose2d(ConvTranspose2dOptions(8, 4, 3).stride(2))`.
  explicit ConvTranspose2d(const ConvTranspose2dOptions& options) : Cloneable(options) {}
};

/// 3-D transposed convolution, as torch::nn::ConvTranspose3d.
class ConvTranspose3d : public Cloneable<ConvTranspose3d, ConvTransposeNd<3>> {
 public:
  /// Builds the layer: `ConvTranspose3d(ConvTranspose3dOptions(16, 33, 3).stride(2))`.
  explicit ConvTranspose3d(const ConvTranspose3dOptions& options) : Cloneable(options) {}
};

extern template class ConvNd<1>;
extern template class ConvNd<2>;
extern template class ConvNd<3>;
extern template class ConvTransposeNd<1>;
extern template class ConvTransposeNd<2>;
extern template class ConvTransposeNd<3>;

}  // namespace voxgrad::nn
