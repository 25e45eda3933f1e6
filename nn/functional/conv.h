#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

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

/// Functional interface, as torch::nn::functional; users write `namespace F = voxgrad::nn::functional;`.
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

/// 1-D convolution: input (N, Cin, L) or (Cin, L), weight (Cout, Cin/groups, k).
Tensor conv1d(const Tensor& input, const Tensor& weight, const Conv1dFuncOptions& options = {});
/// 2-D convolution: input (N, Cin, H, W) or (Cin, H, W), weight (Cout, Cin/groups, kH, kW).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options = {});
/// 3-D convolution: input (N, Cin, D, H, W) or (Cin, D, H, W), weight (Cout, Cin/groups, kD, kH, kW).
/// kSame pads d·(k−1) in total per dim (the odd zero at the end) and needs stride 1.
Tensor conv3d(const Tensor& input, const Tensor& weight, const Conv3dFuncOptions& options = {});

/// 1-D transposed convolution: input (N, Cin, L) or (Cin, L), weight (Cin, Cout/groups, k).
Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const ConvTranspose1dFuncOptions& options = {});
/// 2-D transposed convolution: input (N, Cin, H, W) or (Cin, H, W), weight (Cin, Cout/groups, kH, kW).
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const ConvTranspose2dFuncOptions& options = {});
/// 3-D transposed convolution: input (N, Cin, D, H, W) or unbatched, weight (Cin, Cout/groups, kD, kH, kW).
Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const ConvTranspose3dFuncOptions& options = {});

/// The output_padding that makes a D-dim transposed convolution of an input of `input_sizes`
/// (full shape, batched or not) produce `output_size`: D spatial sizes, or a full shape (D + 2
/// entries for batched input, D + 1 unbatched; only its last D entries are used). Each size must lie
/// in [min, min + stride − 1] with min = (in − 1)·stride − 2·padding + dilation·(kernel − 1) + 1;
/// the result is size − min. Otherwise throws "requested an output size of [...], but valid sizes
/// range from [...] to [...] (for an input of [...])". Call as conv_transpose_output_padding<3>(...).
template <std::size_t D>
ExpandingArray<D> conv_transpose_output_padding(IntArrayRef input_sizes, IntArrayRef output_size,
                                                const ExpandingArray<D>& kernel_size, const ExpandingArray<D>& stride,
                                                const ExpandingArray<D>& padding,
                                                const ExpandingArray<D>& dilation = 1);

}  // namespace functional
}  // namespace nn
}  // namespace voxgrad
