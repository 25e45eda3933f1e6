#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <typeinfo>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/functional/conv.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/conv.h"
#include "voxgrad/ops/conv.h"

namespace voxgrad::nn {

/// What Conv1d/2d/3d and ConvTranspose1d/2d/3d share (libtorch's ConvNdImpl): the options, which the
/// constructor checks, and weight and bias, initialised as PyTorch does. Options is ConvOptions<D> or
/// ConvTransposeOptions<D>.
template <std::size_t D, typename Options>
class ConvBase : public Module {
 public:
  /// Registers weight and bias (empty tensors) and initialises them with reset_parameters(); the
  /// constructor calls it, and clone() calls it on a copy whose registry was cleared.
  void reset() override;
  /// Re-draws weight (kaiming_uniform_ with a = √5) and bias (U(±1/√fan_in)) in place.
  void reset_parameters();
  const Options& options() const { return options_; }
  /// "16, 33, kernel_size=(3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0)", non-defaults only.
  std::string extra_repr() const override;

  /// The learnable kernel: (out_channels, in_channels / groups, k...) for a convolution,
  /// (in_channels, out_channels / groups, k...) for a transposed one; parameter "weight".
  Tensor weight;
  /// The learnable bias, shape (out_channels); parameter "bias"; undefined with bias(false).
  Tensor bias;

 protected:
  /// Checks `options` (channels and groups here, the hyper-parameters by the rules every convolution
  /// shares) and registers the parameters.
  explicit ConvBase(const Options& options);

 private:
  static constexpr bool kTransposed = std::is_same_v<Options, ConvTransposeOptions<D>>;
  Options options_;
};

/// The shared implementation of Conv1d/2d/3d.
template <std::size_t D>
class ConvNd : public ConvBase<D, ConvOptions<D>> {
 public:
  /// Applies the convolution to (N, C, spatial...) or unbatched (C, spatial...) input.
  Tensor forward(const Tensor& input) override;

 protected:
  /// Use Conv1d, Conv2d or Conv3d.
  explicit ConvNd(const ConvOptions<D>& options) : ConvBase<D, ConvOptions<D>>(options) {}
};

/// The shared implementation of ConvTranspose1d/2d/3d.
template <std::size_t D>
class ConvTransposeNd : public ConvBase<D, ConvTransposeOptions<D>> {
 public:
  /// Applies the transposed convolution; a non-empty `output_size` (D spatial sizes, or the full
  /// output shape) picks the output_padding that yields that size, overriding the option.
  Tensor forward(const Tensor& input, IntArrayRef output_size);
  /// forward(input, {}): the output size given by the options' output_padding.
  Tensor forward(const Tensor& input) override { return forward(input, IntArrayRef{}); }

 protected:
  /// Use ConvTranspose1d, 2d or 3d.
  explicit ConvTransposeNd(const ConvTransposeOptions<D>& options) : ConvBase<D, ConvTransposeOptions<D>>(options) {}
};

/// Conv1d, Conv2d and Conv3d, as torch::nn::Conv3d over (N, C, D, H, W) input (or unbatched):
/// `Conv3d(Conv3dOptions(16, 33, {3, 5, 2}).stride({2, 1, 1}).padding({4, 2, 0}))`.
template <std::size_t D>
class ConvImpl : public Cloneable<ConvImpl<D>, ConvNd<D>> {
 public:
  explicit ConvImpl(const ConvOptions<D>& options) : Cloneable<ConvImpl<D>, ConvNd<D>>(options) {}
  /// "Conv1d", "Conv2d" or "Conv3d" (a subclass keeps its own class name).
  std::string name() const override {
    return typeid(*this) == typeid(ConvImpl) ? fmt::format("Conv{}d", D) : Module::name();
  }
};
using Conv1dImpl = ConvImpl<1>;
using Conv2dImpl = ConvImpl<2>;
using Conv3dImpl = ConvImpl<3>;
VOXGRAD_MODULE(Conv1d);
VOXGRAD_MODULE(Conv2d);
VOXGRAD_MODULE(Conv3d);

/// ConvTranspose1d, ConvTranspose2d and ConvTranspose3d, as torch::nn::ConvTranspose3d:
/// `ConvTranspose3d(ConvTranspose3dOptions(16, 33, 3).stride(2))`.
template <std::size_t D>
class ConvTransposeImpl : public Cloneable<ConvTransposeImpl<D>, ConvTransposeNd<D>> {
 public:
  explicit ConvTransposeImpl(const ConvTransposeOptions<D>& options)
      : Cloneable<ConvTransposeImpl<D>, ConvTransposeNd<D>>(options) {}
  /// "ConvTranspose1d", "ConvTranspose2d" or "ConvTranspose3d" (a subclass keeps its own class name).
  std::string name() const override {
    return typeid(*this) == typeid(ConvTransposeImpl) ? fmt::format("ConvTranspose{}d", D) : Module::name();
  }
};
using ConvTranspose1dImpl = ConvTransposeImpl<1>;
using ConvTranspose2dImpl = ConvTransposeImpl<2>;
using ConvTranspose3dImpl = ConvTransposeImpl<3>;
VOXGRAD_MODULE(ConvTranspose1d);
VOXGRAD_MODULE(ConvTranspose2d);
VOXGRAD_MODULE(ConvTranspose3d);

extern template class ConvBase<1, ConvOptions<1>>;
extern template class ConvBase<2, ConvOptions<2>>;
extern template class ConvBase<3, ConvOptions<3>>;
extern template class ConvBase<1, ConvTransposeOptions<1>>;
extern template class ConvBase<2, ConvTransposeOptions<2>>;
extern template class ConvBase<3, ConvTransposeOptions<3>>;
extern template class ConvNd<1>;
extern template class ConvNd<2>;
extern template class ConvNd<3>;
extern template class ConvTransposeNd<1>;
extern template class ConvTransposeNd<2>;
extern template class ConvTransposeNd<3>;

}  // namespace voxgrad::nn
