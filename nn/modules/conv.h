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
#include "voxgrad/nn/options/conv.h"
#include "voxgrad/ops/conv.h"

namespace voxgrad::nn {

/// The shared implementation of Conv1d/2d/3d (as libtorch's ConvNdImpl): weight
/// (out, in/groups, k...) and bias (out), initialised as PyTorch does.
template <std::size_t D>
class ConvNd : public Module {
 public:
  /// Applies the convolution to (N, C, spatial...) or unbatched (C, spatial...) input.
  Tensor forward(const Tensor& input) override;
  /// Registers weight and bias (empty tensors) and initialises them with reset_parameters(); the
  /// constructor calls it, and clone() calls it on a copy whose registry was cleared.
  void reset() override;
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
  void reset() override;
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
