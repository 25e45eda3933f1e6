#include "voxgrad/nn/functional/conv.h"

#include <array>

#include "voxgrad/ops/detail/conv_spec.h"

namespace voxgrad::nn::functional {
namespace {

// A D-dim call is the 3-D convolution of its lifted form (ops/detail/conv_spec.h): the D real
// spatial dims become the last D of three.
constexpr std::array<const char*, 4> kConvNames = {"", "conv1d", "conv2d", "conv3d"};
constexpr std::array<const char*, 4> kConvTransposeNames = {"", "conv_transpose1d", "conv_transpose2d",
                                                            "conv_transpose3d"};

template <std::size_t D>
detail::ConvSpec spec(bool transposed, const ExpandingArray<D>& stride, const ExpandingArray<D>& padding,
                      const ExpandingArray<D>& dilation, std::int64_t groups) {
  detail::ConvSpec s;
  s.op = transposed ? kConvTransposeNames[D] : kConvNames[D];
  s.rank = static_cast<int>(D);
  s.transposed = transposed;
  s.stride = detail::lift(stride.values(), 1);
  s.padding = detail::lift(padding.values(), 0);
  s.dilation = detail::lift(dilation.values(), 1);
  s.groups = groups;
  return s;
}

template <std::size_t D>
Tensor conv_nd(const Tensor& input, const Tensor& weight, const ConvFuncOptions<D>& o) {
  detail::ConvSpec s = spec<D>(false, o.stride(), o.padding().values(), o.dilation(), o.groups());
  s.same = o.padding().is_same();
  return detail::convolution(s, input, weight, o.bias());
}

template <std::size_t D>
Tensor conv_transpose_nd(const Tensor& input, const Tensor& weight, const ConvTransposeFuncOptions<D>& o) {
  detail::ConvSpec s = spec<D>(true, o.stride(), o.padding(), o.dilation(), o.groups());
  s.output_padding = detail::lift(o.output_padding().values(), 0);
  return detail::convolution(s, input, weight, o.bias());
}

}  // namespace

// The public 1-D, 2-D and 3-D forms, each a call of the template for its rank.
#define VOXGRAD_CONV_FORMS(D)                                                                          \
  Tensor conv##D##d(const Tensor& input, const Tensor& weight, const Conv##D##dFuncOptions& options) { \
    return conv_nd<D>(input, weight, options);                                                         \
  }                                                                                                    \
  Tensor conv_transpose##D##d(const Tensor& input, const Tensor& weight,                               \
                              const ConvTranspose##D##dFuncOptions& options) {                         \
    return conv_transpose_nd<D>(input, weight, options);                                               \
  }
VOXGRAD_CONV_FORMS(1)
VOXGRAD_CONV_FORMS(2)
VOXGRAD_CONV_FORMS(3)
#undef VOXGRAD_CONV_FORMS

template <std::size_t D>
ExpandingArray<D> conv_transpose_output_padding(IntArrayRef input_sizes, IntArrayRef output_size,
                                                const ExpandingArray<D>& kernel_size, const ExpandingArray<D>& stride,
                                                const ExpandingArray<D>& padding, const ExpandingArray<D>& dilation) {
  const detail::ConvSpec s = spec<D>(true, stride, padding, dilation, 1);
  const detail::Dims r =
      detail::conv_transpose_output_padding(s, input_sizes, output_size, detail::lift(kernel_size.values(), 1));
  std::array<std::int64_t, D> result{};
  for (std::size_t i = 0; i < D; ++i) result[i] = r[3 - D + i];
  return result;
}

template ExpandingArray<1> conv_transpose_output_padding<1>(IntArrayRef, IntArrayRef, const ExpandingArray<1>&,
                                                            const ExpandingArray<1>&, const ExpandingArray<1>&,
                                                            const ExpandingArray<1>&);
template ExpandingArray<2> conv_transpose_output_padding<2>(IntArrayRef, IntArrayRef, const ExpandingArray<2>&,
                                                            const ExpandingArray<2>&, const ExpandingArray<2>&,
                                                            const ExpandingArray<2>&);
template ExpandingArray<3> conv_transpose_output_padding<3>(IntArrayRef, IntArrayRef, const ExpandingArray<3>&,
                                                            const ExpandingArray<3>&, const ExpandingArray<3>&,
                                                            const ExpandingArray<3>&);

}  // namespace voxgrad::nn::functional
