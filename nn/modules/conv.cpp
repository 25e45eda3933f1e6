#include "voxgrad/nn/modules/conv.h"

#include <array>
#include <cmath>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/init.h"

namespace voxgrad::nn {
namespace F = functional;
namespace {

// Checks shared by both families; `name` is the module's class name for the messages.
template <std::size_t D>
void check_common(const std::string& name, std::int64_t in_channels, std::int64_t out_channels,
                  const ExpandingArray<D>& kernel_size, const ExpandingArray<D>& stride,
                  const ExpandingArray<D>& dilation, std::int64_t groups) {
  VOXGRAD_CHECK(in_channels > 0 && out_channels > 0,
                "{}: in_channels and out_channels must be positive (got in_channels={}, out_channels={})", name,
                in_channels, out_channels);
  VOXGRAD_CHECK(groups > 0, "{}: groups must be a positive integer (got groups={})", name, groups);
  VOXGRAD_CHECK(in_channels % groups == 0,
                "{}: in_channels must be divisible by groups (got in_channels={}, groups={})", name, in_channels,
                groups);
  VOXGRAD_CHECK(out_channels % groups == 0,
                "{}: out_channels must be divisible by groups (got out_channels={}, groups={})", name, out_channels,
                groups);
  for (std::size_t i = 0; i < D; ++i) {
    VOXGRAD_CHECK(kernel_size[i] > 0, "{}: kernel_size must be positive (got kernel_size={})", name, kernel_size.str());
    VOXGRAD_CHECK(stride[i] > 0, "{}: non-positive stride is not supported (got stride={})", name, stride.str());
    VOXGRAD_CHECK(dilation[i] > 0, "{}: dilation should be greater than zero (got dilation={})", name, dilation.str());
  }
}

template <std::size_t D>
bool all_equal(const ExpandingArray<D>& a, std::int64_t v) {
  for (std::size_t i = 0; i < D; ++i) {
    if (a[i] != v) return false;
  }
  return true;
}

template <std::size_t D>
Shape weight_shape(std::int64_t first, std::int64_t second, const ExpandingArray<D>& kernel_size) {
  Shape shape{first, second};
  for (std::size_t i = 0; i < D; ++i) shape.push_back(kernel_size[i]);
  return shape;
}

// PyTorch's reset_parameters for both layouts: kaiming_uniform_(a = √5) gives U(±1/√fan_in) for the
// weight, and the bias gets the same bound; fan_in = size(1)·prod(kernel) of the weight as stored.
void reset_conv_parameters(Tensor& weight, Tensor& bias) {
  NoGradGuard no_grad;
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const std::int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    if (fan_in != 0) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      init::uniform_(bias, -bound, bound);
    }
  }
}

// Pads the last D dims of a (D + 1)- or (D + 2)-dim tensor with `mode`, through pad3d on a view
// with 3 − D leading size-1 spatial dims (padded by nothing).
template <std::size_t D>
Tensor pad_nd(const Tensor& input, const std::array<std::int64_t, 2 * D>& pads, PaddingMode mode) {
  const std::int64_t spatial_start = input.dim() - static_cast<std::int64_t>(D);
  Tensor x = input;
  for (std::size_t k = D; k < 3; ++k) x = x.unsqueeze(spatial_start);
  std::array<std::int64_t, 6> pads3{};
  for (std::size_t i = 0; i < 2 * D; ++i) pads3[2 * (3 - D) + i] = pads[i];
  Tensor y = pad3d(x, pads3, mode);
  for (std::size_t k = D; k < 3; ++k) y = y.squeeze(spatial_start);
  return y;
}

template <std::size_t D>
Tensor conv_fn(const Tensor& x, const Tensor& w, const F::ConvFuncOptions<D>& o) {
  if constexpr (D == 1)
    return F::conv1d(x, w, o);
  else if constexpr (D == 2)
    return F::conv2d(x, w, o);
  else
    return F::conv3d(x, w, o);
}

template <std::size_t D>
Tensor conv_transpose_fn(const Tensor& x, const Tensor& w, const F::ConvTransposeFuncOptions<D>& o) {
  if constexpr (D == 1)
    return F::conv_transpose1d(x, w, o);
  else if constexpr (D == 2)
    return F::conv_transpose2d(x, w, o);
  else
    return F::conv_transpose3d(x, w, o);
}

}  // namespace

// =================================================================================================
// ConvNd
// =================================================================================================

template <std::size_t D>
ConvNd<D>::ConvNd(const ConvOptions<D>& options) : options_(options) {
  // name() would give the base class's name while the base is being constructed.
  const std::string n = fmt::format("Conv{}d", D);
  const ConvOptions<D>& o = options_;
  check_common<D>(n, o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(), o.dilation(), o.groups());
  if (o.padding().is_same()) {
    VOXGRAD_CHECK(all_equal(o.stride(), 1),
                  "{}: padding='same' is not supported for strided convolutions (got stride={})", n, o.stride().str());
  } else {
    for (std::size_t i = 0; i < D; ++i) {
      VOXGRAD_CHECK(o.padding().values()[i] >= 0, "{}: negative padding is not supported (got padding={})", n,
                    o.padding().str());
    }
  }
  reset();
}

template <std::size_t D>
void ConvNd<D>::reset() {
  const ConvOptions<D>& o = options_;
  weight = register_parameter(
      "weight", voxgrad::empty(weight_shape<D>(o.out_channels(), o.in_channels() / o.groups(), o.kernel_size())));
  bias = o.bias() ? register_parameter("bias", voxgrad::empty({o.out_channels()})) : Tensor();
  reset_parameters();
}

template <std::size_t D>
void ConvNd<D>::reset_parameters() {
  reset_conv_parameters(weight, bias);
}

template <std::size_t D>
Tensor ConvNd<D>::forward(const Tensor& input) {
  const ConvOptions<D>& o = options_;
  auto fo = F::ConvFuncOptions<D>().bias(bias).stride(o.stride()).dilation(o.dilation()).groups(o.groups());
  if (o.padding_mode() == kZeros) return conv_fn<D>(input, weight, fo.padding(o.padding()));

  // Other modes pad explicitly (asymmetrically for 'same', the odd element at the end, as PyTorch's
  // _reversed_padding_repeated_twice), then convolve without padding.
  const auto rank = static_cast<std::int64_t>(D);
  VOXGRAD_CHECK(input.defined(), "{}: argument 'input' is an undefined tensor", name());
  VOXGRAD_CHECK(input.dim() == rank + 1 || input.dim() == rank + 2,
                "Expected {}D (unbatched) or {}D (batched) input to conv{}d, but got input of size: {}", rank + 1,
                rank + 2, D, shape_str(input.sizes()));
  std::array<std::int64_t, 2 * D> pads{};
  for (std::size_t i = 0; i < D; ++i) {
    if (o.padding().is_same()) {
      const std::int64_t total = o.dilation()[i] * (o.kernel_size()[i] - 1);
      pads[2 * i] = total / 2;
      pads[2 * i + 1] = total - total / 2;
    } else {
      pads[2 * i] = pads[2 * i + 1] = o.padding().values()[i];
    }
  }
  return conv_fn<D>(pad_nd<D>(input, pads, o.padding_mode()), weight, fo.padding(0));
}

template <std::size_t D>
std::string ConvNd<D>::extra_repr() const {
  const ConvOptions<D>& o = options_;
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", o.in_channels(), o.out_channels(),
                              o.kernel_size().str(), o.stride().str());
  if (!(o.padding().is_explicit() && all_equal(o.padding().values(), 0))) s += ", padding=" + o.padding().str();
  if (!all_equal(o.dilation(), 1)) s += ", dilation=" + o.dilation().str();
  if (o.groups() != 1) s += fmt::format(", groups={}", o.groups());
  if (!o.bias()) s += ", bias=False";
  if (o.padding_mode() != kZeros) s += fmt::format(", padding_mode={}", padding_mode_name(o.padding_mode()));
  return s;
}

// =================================================================================================
// ConvTransposeNd
// =================================================================================================

template <std::size_t D>
ConvTransposeNd<D>::ConvTransposeNd(const ConvTransposeOptions<D>& options) : options_(options) {
  const std::string n = fmt::format("ConvTranspose{}d", D);
  const ConvTransposeOptions<D>& o = options_;
  VOXGRAD_CHECK(o.padding_mode() == kZeros, "Only \"zeros\" padding mode is supported for {} (got padding_mode={})", n,
                padding_mode_name(o.padding_mode()));
  check_common<D>(n, o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(), o.dilation(), o.groups());
  for (std::size_t i = 0; i < D; ++i) {
    VOXGRAD_CHECK(o.padding()[i] >= 0, "{}: negative padding is not supported (got padding={})", n, o.padding().str());
    VOXGRAD_CHECK(o.output_padding()[i] >= 0, "{}: negative output_padding is not supported (got output_padding={})", n,
                  o.output_padding().str());
    VOXGRAD_CHECK(o.output_padding()[i] < o.stride()[i] || o.output_padding()[i] < o.dilation()[i],
                  "{}: output padding must be smaller than either stride or dilation, but got output_padding={}, "
                  "stride={}, dilation={}",
                  n, o.output_padding().str(), o.stride().str(), o.dilation().str());
  }
  reset();
}

template <std::size_t D>
void ConvTransposeNd<D>::reset() {
  const ConvTransposeOptions<D>& o = options_;
  weight = register_parameter(
      "weight", voxgrad::empty(weight_shape<D>(o.in_channels(), o.out_channels() / o.groups(), o.kernel_size())));
  bias = o.bias() ? register_parameter("bias", voxgrad::empty({o.out_channels()})) : Tensor();
  reset_parameters();
}

template <std::size_t D>
void ConvTransposeNd<D>::reset_parameters() {
  reset_conv_parameters(weight, bias);
}

template <std::size_t D>
Tensor ConvTransposeNd<D>::forward(const Tensor& input, IntArrayRef output_size) {
  const ConvTransposeOptions<D>& o = options_;
  ExpandingArray<D> output_padding = o.output_padding();
  if (!output_size.empty()) {
    VOXGRAD_CHECK(input.defined(), "{}: argument 'input' is an undefined tensor", name());
    output_padding = F::conv_transpose_output_padding<D>(input.sizes(), output_size, o.kernel_size(), o.stride(),
                                                         o.padding(), o.dilation());
  }
  return conv_transpose_fn<D>(input, weight,
                              F::ConvTransposeFuncOptions<D>()
                                  .bias(bias)
                                  .stride(o.stride())
                                  .padding(o.padding())
                                  .output_padding(output_padding)
                                  .groups(o.groups())
                                  .dilation(o.dilation()));
}

template <std::size_t D>
std::string ConvTransposeNd<D>::extra_repr() const {
  const ConvTransposeOptions<D>& o = options_;
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", o.in_channels(), o.out_channels(),
                              o.kernel_size().str(), o.stride().str());
  if (!all_equal(o.padding(), 0)) s += ", padding=" + o.padding().str();
  if (!all_equal(o.dilation(), 1)) s += ", dilation=" + o.dilation().str();
  if (!all_equal(o.output_padding(), 0)) s += ", output_padding=" + o.output_padding().str();
  if (o.groups() != 1) s += fmt::format(", groups={}", o.groups());
  if (!o.bias()) s += ", bias=False";
  return s;
}

template class ConvNd<1>;
template class ConvNd<2>;
template class ConvNd<3>;
template class ConvTransposeNd<1>;
template class ConvTransposeNd<2>;
template class ConvTransposeNd<3>;

}  // namespace voxgrad::nn
