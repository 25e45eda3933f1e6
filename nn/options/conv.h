#pragma once
// Options of the convolution modules (nn/modules/conv.h) and functions (nn/functional/conv.h),
// and the padding type they share (an amount, kSame or kValid).

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/ops/conv.h"

namespace voxgrad {

/// Type of kSame.
struct SamePadding {};
/// Type of kValid.
struct ValidPadding {};
/// padding='same': the output has the input's spatial size (stride 1 only), as torch::kSame.
inline constexpr SamePadding kSame{};
/// padding='valid': no padding, as torch::kValid.
inline constexpr ValidPadding kValid{};

namespace nn {

/// A convolution's padding: an int (every dim), one value per dim `{d, h, w}`, kSame or kValid.
template <std::size_t D>
class ConvPadding {
 public:
  /// The same explicit padding in every dimension.
  ConvPadding(std::int64_t value) : values_(value) {}  // NOLINT
  /// One explicit padding per dimension; throws unless there are exactly D values.
  ConvPadding(std::initializer_list<std::int64_t> values) : values_(values) {}  // NOLINT
  /// Explicit padding per dimension.
  ConvPadding(const ExpandingArray<D>& values) : values_(values) {}  // NOLINT
  /// padding='same'.
  ConvPadding(SamePadding) : kind_(Kind::Same), values_(0) {}  // NOLINT
  /// padding='valid' (no padding).
  ConvPadding(ValidPadding) : kind_(Kind::Valid), values_(0) {}  // NOLINT

  /// True for kSame.
  bool is_same() const { return kind_ == Kind::Same; }
  /// True for kValid.
  bool is_valid() const { return kind_ == Kind::Valid; }
  /// True for explicit amounts (an int or a list).
  bool is_explicit() const { return kind_ == Kind::Explicit; }
  /// The explicit amounts (zeros for kValid; meaningless for kSame, whose amounts depend on the kernel).
  const ExpandingArray<D>& values() const { return values_; }
  /// "same", "valid" or "(1, 2, 3)", as PyTorch prints it.
  std::string str() const { return is_same() ? "same" : is_valid() ? "valid" : values_.str(); }
  /// Same kind and amounts.
  bool operator==(const ConvPadding& other) const = default;

 private:
  enum class Kind { Explicit, Same, Valid };
  Kind kind_ = Kind::Explicit;
  ExpandingArray<D> values_;
};

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

namespace functional {

/// The padding type is shared with the modules; F::ConvPadding names it too.
using nn::ConvPadding;

/// Options for conv1d/2d/3d, as torch::nn::functional::ConvFuncOptions:
/// `F::Conv3dFuncOptions().bias(b).stride(2).padding(1).dilation(1).groups(1)`.
template <std::size_t D>
struct ConvFuncOptions {
  /// Bias of shape (out_channels), or undefined for none.
  VOXGRAD_ARG(Tensor, bias);
  /// Stride per spatial dim.
  VOXGRAD_ARG(ExpandingArray<D>, stride) = 1;
  /// Zero padding on both sides per dim, or kSame / kValid.
  VOXGRAD_ARG(ConvPadding<D>, padding) = 0;
  /// Spacing between kernel elements per dim.
  VOXGRAD_ARG(ExpandingArray<D>, dilation) = 1;
  /// Number of blocked connections from input channels to output channels.
  VOXGRAD_ARG(std::int64_t, groups) = 1;
};
/// Options for conv1d.
using Conv1dFuncOptions = ConvFuncOptions<1>;
/// Options for conv2d.
using Conv2dFuncOptions = ConvFuncOptions<2>;
/// Options for conv3d.
using Conv3dFuncOptions = ConvFuncOptions<3>;

/// Options for conv_transpose1d/2d/3d, as torch::nn::functional::ConvTransposeFuncOptions:
/// `F::ConvTranspose3dFuncOptions().bias(b).stride({2, 1, 1}).padding({0, 4, 2}).output_padding(1)`.
template <std::size_t D>
struct ConvTransposeFuncOptions {
  /// Bias of shape (out_channels), or undefined for none.
  VOXGRAD_ARG(Tensor, bias);
  /// Stride per spatial dim.
  VOXGRAD_ARG(ExpandingArray<D>, stride) = 1;
  /// dilation·(kernel_size − 1) − padding zeros are added on both sides of the input.
  VOXGRAD_ARG(ExpandingArray<D>, padding) = 0;
  /// Extra size added to one side of the output (each < stride or < dilation of its dim).
  VOXGRAD_ARG(ExpandingArray<D>, output_padding) = 0;
  /// Number of blocked connections from input channels to output channels.
  VOXGRAD_ARG(std::int64_t, groups) = 1;
  /// Spacing between kernel elements per dim.
  VOXGRAD_ARG(ExpandingArray<D>, dilation) = 1;
};
/// Options for conv_transpose1d.
using ConvTranspose1dFuncOptions = ConvTransposeFuncOptions<1>;
/// Options for conv_transpose2d.
using ConvTranspose2dFuncOptions = ConvTransposeFuncOptions<2>;
/// Options for conv_transpose3d.
using ConvTranspose3dFuncOptions = ConvTransposeFuncOptions<3>;

}  // namespace functional
}  // namespace nn
}  // namespace voxgrad
