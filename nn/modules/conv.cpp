#include "voxgrad/nn/modules/conv.h"

#include <array>
#include <cmath>
#include <tuple>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/init.h"
#include "voxgrad/ops/detail/conv_spec.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::nn {
namespace F = functional;
namespace {

// The options a module owns, checked as libtorch's ConvNdImpl::reset does: channel counts and
// groups here, the hyper-parameters by the rules every convolution shares (ops/detail/conv_spec.h).
template <std::size_t D>
void check_options(const std::string& name, std::int64_t in_channels, std::int64_t out_channels,
                   const ExpandingArray<D>& kernel_size, ::voxgrad::detail::ConvSpec spec) {
  VOXGRAD_CHECK(in_channels > 0 && out_channels > 0,
                "{}: in_channels and out_channels must be positive (got in_channels={}, out_channels={})", name,
                in_channels, out_channels);
  VOXGRAD_CHECK(spec.groups > 0, "{}: groups must be a positive integer (got groups={})", name, spec.groups);
  VOXGRAD_CHECK(in_channels % spec.groups == 0,
                "{}: in_channels must be divisible by groups (got in_channels={}, groups={})", name, in_channels,
                spec.groups);
  VOXGRAD_CHECK(out_channels % spec.groups == 0,
                "{}: out_channels must be divisible by groups (got out_channels={}, groups={})", name, out_channels,
                spec.groups);
  spec.op = name.c_str();
  spec.rank = static_cast<int>(D);
  ::voxgrad::detail::check_conv_kernel_size(spec.op, spec.rank, ::voxgrad::detail::lift(kernel_size.values(), 1));
  ::voxgrad::detail::check_conv_hyper_parameters(spec);
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

// Pads the last D dims of a (D + 1)- or (D + 2)-dim tensor with `mode`, through pad3d on a view
// with 3 − D leading size-1 spatial dims (padded by nothing).
template <std::size_t D>
Tensor pad_nd(const Tensor& input, const std::array<std::int64_t, 2 * D>& pads, PaddingMode mode) {
  const std::int64_t spatial_start = input.dim() - static_cast<std::int64_t>(D);
  std::array<std::int64_t, 6> pads3{};
  for (std::size_t i = 0; i < 2 * D; ++i) pads3[2 * (3 - D) + i] = pads[i];
  const Tensor y = pad3d(::voxgrad::detail::lift_spatial(input, static_cast<int>(D), spatial_start), pads3, mode);
  return ::voxgrad::detail::drop_spatial(y, static_cast<int>(D), spatial_start);
}

// The functional form of rank D.
template <std::size_t D>
Tensor conv_fn(const Tensor& x, const Tensor& w, const F::ConvFuncOptions<D>& o) {
  return std::get<D - 1>(std::make_tuple(&F::conv1d, &F::conv2d, &F::conv3d))(x, w, o);
}

template <std::size_t D>
Tensor conv_transpose_fn(const Tensor& x, const Tensor& w, const F::ConvTransposeFuncOptions<D>& o) {
  return std::get<D - 1>(std::make_tuple(&F::conv_transpose1d, &F::conv_transpose2d, &F::conv_transpose3d))(x, w, o);
}

}  // namespace

// =================================================================================================
// ConvBase
// =================================================================================================

template <std::size_t D, typename Options>
ConvBase<D, Options>::ConvBase(const Options& options) : options_(options) {
  // name() would give the base class's name while the base is being constructed.
  const std::string n = kTransposed ? fmt::format("ConvTranspose{}d", D) : fmt::format("Conv{}d", D);
  const Options& o = options_;
  ::voxgrad::detail::ConvSpec spec;
  spec.transposed = kTransposed;
  spec.stride = ::voxgrad::detail::lift(o.stride().values(), 1);
  spec.dilation = ::voxgrad::detail::lift(o.dilation().values(), 1);
  spec.groups = o.groups();
  if constexpr (kTransposed) {
    VOXGRAD_CHECK(o.padding_mode() == kZeros, "Only \"zeros\" padding mode is supported for {} (got padding_mode={})",
                  n, padding_mode_name(o.padding_mode()));
    spec.padding = ::voxgrad::detail::lift(o.padding().values(), 0);
    spec.output_padding = ::voxgrad::detail::lift(o.output_padding().values(), 0);
  } else {
    spec.padding = ::voxgrad::detail::lift(o.padding().values().values(), 0);
    spec.same = o.padding().is_same();
  }
  check_options<D>(n, o.in_channels(), o.out_channels(), o.kernel_size(), spec);
  reset();
}

template <std::size_t D, typename Options>
void ConvBase<D, Options>::reset() {
  const Options& o = options_;
  const std::int64_t first = kTransposed ? o.in_channels() : o.out_channels();
  const std::int64_t second = (kTransposed ? o.out_channels() : o.in_channels()) / o.groups();
  weight = register_parameter("weight", voxgrad::empty(weight_shape<D>(first, second, o.kernel_size())));
  bias = o.bias() ? register_parameter("bias", voxgrad::empty({o.out_channels()})) : Tensor();
  reset_parameters();
}

// PyTorch's reset_parameters for both layouts: kaiming_uniform_(a = √5) gives U(±1/√fan_in) for the
// weight, and the bias gets the same bound; fan_in = size(1)·prod(kernel) of the weight as stored.
template <std::size_t D, typename Options>
void ConvBase<D, Options>::reset_parameters() {
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

template <std::size_t D, typename Options>
std::string ConvBase<D, Options>::extra_repr() const {
  const Options& o = options_;
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", o.in_channels(), o.out_channels(),
                              o.kernel_size().str(), o.stride().str());
  if constexpr (kTransposed) {
    if (!all_equal(o.padding(), 0)) s += ", padding=" + o.padding().str();
  } else {
    if (!(o.padding().is_explicit() && all_equal(o.padding().values(), 0))) s += ", padding=" + o.padding().str();
  }
  if (!all_equal(o.dilation(), 1)) s += ", dilation=" + o.dilation().str();
  if constexpr (kTransposed) {
    if (!all_equal(o.output_padding(), 0)) s += ", output_padding=" + o.output_padding().str();
  }
  if (o.groups() != 1) s += fmt::format(", groups={}", o.groups());
  if (!o.bias()) s += ", bias=False";
  if constexpr (!kTransposed) {
    if (o.padding_mode() != kZeros) s += fmt::format(", padding_mode={}", padding_mode_name(o.padding_mode()));
  }
  return s;
}

// =================================================================================================
// ConvNd and ConvTransposeNd
// =================================================================================================

template <std::size_t D>
Tensor ConvNd<D>::forward(const Tensor& input) {
  const ConvOptions<D>& o = this->options();
  auto fo = F::ConvFuncOptions<D>().bias(this->bias).stride(o.stride()).dilation(o.dilation()).groups(o.groups());
  if (o.padding_mode() == kZeros) return conv_fn<D>(input, this->weight, fo.padding(o.padding()));

  // Other modes pad explicitly (asymmetrically for 'same', the odd element at the end, as PyTorch's
  // _reversed_padding_repeated_twice), then convolve without padding.
  ::voxgrad::detail::check_defined(input, this->name().c_str(), "input");
  ::voxgrad::detail::check_conv_input_rank(fmt::format("conv{}d", D).c_str(), static_cast<int>(D), input.sizes());
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
  return conv_fn<D>(pad_nd<D>(input, pads, o.padding_mode()), this->weight, fo.padding(0));
}

template <std::size_t D>
Tensor ConvTransposeNd<D>::forward(const Tensor& input, IntArrayRef output_size) {
  const ConvTransposeOptions<D>& o = this->options();
  ExpandingArray<D> output_padding = o.output_padding();
  if (!output_size.empty()) {
    ::voxgrad::detail::check_defined(input, this->name().c_str(), "input");
    output_padding = F::conv_transpose_output_padding<D>(input.sizes(), output_size, o.kernel_size(), o.stride(),
                                                         o.padding(), o.dilation());
  }
  return conv_transpose_fn<D>(input, this->weight,
                              F::ConvTransposeFuncOptions<D>()
                                  .bias(this->bias)
                                  .stride(o.stride())
                                  .padding(o.padding())
                                  .output_padding(output_padding)
                                  .groups(o.groups())
                                  .dilation(o.dilation()));
}

template class ConvBase<1, ConvOptions<1>>;
template class ConvBase<2, ConvOptions<2>>;
template class ConvBase<3, ConvOptions<3>>;
template class ConvBase<1, ConvTransposeOptions<1>>;
template class ConvBase<2, ConvTransposeOptions<2>>;
template class ConvBase<3, ConvTransposeOptions<3>>;
template class ConvNd<1>;
template class ConvNd<2>;
template class ConvNd<3>;
template class ConvTransposeNd<1>;
template class ConvTransposeNd<2>;
template class ConvTransposeNd<3>;

}  // namespace voxgrad::nn
