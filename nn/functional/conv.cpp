#include "voxgrad/nn/functional/conv.h"

#include <array>
#include <string>

#include "voxgrad/core/error.h"
#include "voxgrad/ops/conv.h"

namespace voxgrad::nn::functional {
namespace {

// 1-d and 2-d convolutions run on the 3-D kernels: the D real spatial dims become the last D of
// three, and the 3 − D leading ones have size 1, kernel 1, stride 1, padding 0 and dilation 1, so
// they pass through unchanged (output size 1) and are squeezed away afterwards.

constexpr std::array<const char*, 4> kConvNames = {"", "conv1d", "conv2d", "conv3d"};
constexpr std::array<const char*, 4> kConvTransposeNames = {"", "conv_transpose1d", "conv_transpose2d",
                                                            "conv_transpose3d"};

template <std::size_t D>
ExpandingArray<3> lift(const ExpandingArray<D>& a, std::int64_t fill) {
  std::array<std::int64_t, 3> r;
  r.fill(fill);
  for (std::size_t i = 0; i < D; ++i) r[3 - D + i] = a[i];
  return r;
}

// Inserts the 3 − D size-1 dims in front of the spatial dims that start at `spatial_start`.
Tensor lift_tensor(Tensor t, std::size_t D, std::int64_t spatial_start) {
  for (std::size_t k = D; k < 3; ++k) t = t.unsqueeze(spatial_start);
  return t;
}

// Removes what lift_tensor inserted (those dims have size 1 in the output too).
Tensor drop_tensor(Tensor t, std::size_t D, std::int64_t spatial_start) {
  for (std::size_t k = D; k < 3; ++k) t = t.squeeze(spatial_start);
  return t;
}

// "(5 x 5)" as PyTorch prints per-channel sizes.
template <std::size_t D>
std::string dims_str(const std::array<std::int64_t, D>& d) {
  return fmt::format("({})", fmt::join(d, " x "));
}

// Ranks, groups and channels, checked on the D-dim shapes so that messages show what the caller
// passed (the 3-D op checks the rest, and checks all of it again).
template <std::size_t D>
void check_shapes(const char* op, const Tensor& input, const Tensor& weight, std::int64_t groups, bool transposed) {
  VOXGRAD_CHECK(input.defined(), "{}: argument 'input' is an undefined tensor", op);
  VOXGRAD_CHECK(weight.defined(), "{}: argument 'weight' is an undefined tensor", op);
  const auto rank = static_cast<std::int64_t>(D);
  VOXGRAD_CHECK(input.dim() == rank + 1 || input.dim() == rank + 2,
                "Expected {}D (unbatched) or {}D (batched) input to {}, but got input of size: {}", rank + 1, rank + 2,
                op, shape_str(input.sizes()));
  VOXGRAD_CHECK(weight.dim() == rank + 2, "{}: expected a {}-D weight, but got weight of size {}", op, rank + 2,
                shape_str(weight.sizes()));
  for (std::int64_t d = 2; d < weight.dim(); ++d) {
    VOXGRAD_CHECK(weight.size(d) > 0, "{}: kernel size must be positive, but got weight of size {}", op,
                  shape_str(weight.sizes()));
  }
  VOXGRAD_CHECK(groups > 0, "{}: non-positive groups is not supported (got groups={})", op, groups);
  if constexpr (D < 3) {
    const std::int64_t channels = input.size(input.dim() - rank - 1);
    VOXGRAD_CHECK(weight.size(0) % groups == 0,
                  "Given groups={}, expected weight to be divisible by {} at dimension 0, but got weight of size "
                  "{} instead",
                  groups, groups, shape_str(weight.sizes()));
    if (transposed) {
      VOXGRAD_CHECK(weight.size(0) == channels,
                    "Given transposed=1, weight of size {}, expected input{} to have {} channels, but got {} "
                    "channels instead",
                    shape_str(weight.sizes()), shape_str(input.sizes()), weight.size(0), channels);
    } else {
      const std::int64_t expected = checked_mul(weight.size(1), groups, op);
      VOXGRAD_CHECK(expected == channels,
                    "Given groups={}, weight of size {}, expected input{} to have {} channels, but got {} channels "
                    "instead",
                    groups, shape_str(weight.sizes()), shape_str(input.sizes()), expected, channels);
    }
  }
}

template <std::size_t D>
Tensor conv_nd(const Tensor& input, const Tensor& weight, const ConvFuncOptions<D>& options) {
  const char* op = kConvNames[D];
  check_shapes<D>(op, input, weight, options.groups(), /*transposed=*/false);
  const std::int64_t spatial_start = input.dim() - static_cast<std::int64_t>(D);
  const Tensor x = lift_tensor(input, D, spatial_start);
  const Tensor w = lift_tensor(weight, D, 2);
  const ExpandingArray<3> stride = lift(options.stride(), 1);
  const ExpandingArray<3> dilation = lift(options.dilation(), 1);
  ExpandingArray<3> padding = lift(options.padding().values(), 0);

  if (options.padding().is_same()) {
    for (std::size_t i = 0; i < D; ++i) {
      VOXGRAD_CHECK(options.stride()[i] == 1,
                    "{}: padding='same' is not supported for strided convolutions (got stride={})", op,
                    options.stride().str());
      VOXGRAD_CHECK(options.dilation()[i] > 0, "{}: dilation should be greater than zero (got dilation={})", op,
                    options.dilation().str());
    }
    // 'same' pads d·(k − 1) zeros in total per dim; half on each side, the odd one at the end.
    // An odd total is padded (total + 1) / 2 on both sides instead and the first output plane of
    // that dim dropped: the same taps, without materialising a padded copy of the input (which
    // for a huge dilation was an unchecked, possibly astronomical allocation).
    std::array<bool, 3> odd{};
    std::array<std::int64_t, 3> in{}, padded{}, dilated{};
    for (std::size_t i = 0; i < 3; ++i) {
      const std::int64_t total = checked_mul(dilation[i], w.size(2 + static_cast<std::int64_t>(i)) - 1, op);
      odd[i] = total % 2 == 1;
      padding[i] = total / 2 + (odd[i] ? 1 : 0);
      in[i] = x.size(x.dim() - 3 + static_cast<std::int64_t>(i));
      padded[i] = checked_add(in[i], total, op);
      dilated[i] = checked_add(total, 1, op);
    }
    // An empty dim cannot hold the kernel (as when the padded copy was made explicitly).
    VOXGRAD_CHECK(in[0] > 0 && in[1] > 0 && in[2] > 0,
                  "{}: Calculated padded input size per channel: {}. Kernel size: {}. Kernel size can't be greater "
                  "than actual input size",
                  op, dims_str<3>(padded), dims_str<3>(dilated));
    Tensor y = ::voxgrad::conv3d(x, w, options.bias(), stride, padding, dilation, options.groups());
    if (odd[0] || odd[1] || odd[2]) {
      for (std::size_t i = 0; i < 3; ++i) {
        if (odd[i]) y = y.narrow(y.dim() - 3 + static_cast<std::int64_t>(i), 1, in[i]);
      }
      y = y.contiguous();
    }
    return drop_tensor(y, D, spatial_start);
  } else if constexpr (D < 3) {
    // Kernel-size check on the caller's shapes; the 3-D op would report the lifted ones.
    std::array<std::int64_t, D> padded{}, dilated{};
    bool fits = true;
    for (std::size_t i = 0; i < D; ++i) {
      const auto dim = static_cast<std::int64_t>(i);
      VOXGRAD_CHECK(options.padding().values()[i] >= 0, "{}: negative padding is not supported (got padding={})", op,
                    options.padding().str());
      VOXGRAD_CHECK(options.dilation()[i] > 0, "{}: dilation should be greater than zero (got dilation={})", op,
                    options.dilation().str());
      padded[i] = checked_add(input.size(spatial_start + dim), checked_mul(2, options.padding().values()[i], op), op);
      dilated[i] = checked_add(checked_mul(options.dilation()[i], weight.size(2 + dim) - 1, op), 1, op);
      fits = fits && dilated[i] <= padded[i];
    }
    VOXGRAD_CHECK(fits,
                  "{}: Calculated padded input size per channel: {}. Kernel size: {}. Kernel size can't be greater "
                  "than actual input size",
                  op, dims_str<D>(padded), dims_str<D>(dilated));
  }
  const Tensor y = ::voxgrad::conv3d(x, w, options.bias(), stride, padding, dilation, options.groups());
  return drop_tensor(y, D, spatial_start);
}

template <std::size_t D>
Tensor conv_transpose_nd(const Tensor& input, const Tensor& weight, const ConvTransposeFuncOptions<D>& options) {
  const char* op = kConvTransposeNames[D];
  check_shapes<D>(op, input, weight, options.groups(), /*transposed=*/true);
  const std::int64_t spatial_start = input.dim() - static_cast<std::int64_t>(D);
  const Tensor y = ::voxgrad::conv_transpose3d(
      lift_tensor(input, D, spatial_start), lift_tensor(weight, D, 2), options.bias(), lift(options.stride(), 1),
      lift(options.padding(), 0), lift(options.output_padding(), 0), options.groups(), lift(options.dilation(), 1));
  return drop_tensor(y, D, spatial_start);
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Conv1dFuncOptions& options) {
  return conv_nd<1>(input, weight, options);
}
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options) {
  return conv_nd<2>(input, weight, options);
}
Tensor conv3d(const Tensor& input, const Tensor& weight, const Conv3dFuncOptions& options) {
  return conv_nd<3>(input, weight, options);
}

Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const ConvTranspose1dFuncOptions& options) {
  return conv_transpose_nd<1>(input, weight, options);
}
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const ConvTranspose2dFuncOptions& options) {
  return conv_transpose_nd<2>(input, weight, options);
}
Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const ConvTranspose3dFuncOptions& options) {
  return conv_transpose_nd<3>(input, weight, options);
}

template <std::size_t D>
ExpandingArray<D> conv_transpose_output_padding(IntArrayRef input_sizes, IntArrayRef output_size,
                                                const ExpandingArray<D>& kernel_size, const ExpandingArray<D>& stride,
                                                const ExpandingArray<D>& padding, const ExpandingArray<D>& dilation) {
  const char* op = kConvTransposeNames[D];
  const auto rank = static_cast<std::int64_t>(D);
  const auto in_dim = static_cast<std::int64_t>(input_sizes.size());
  VOXGRAD_CHECK(in_dim == rank + 1 || in_dim == rank + 2,
                "Expected {}D (unbatched) or {}D (batched) input to {}, but got input of size: {}", rank + 1, rank + 2,
                op, shape_str(input_sizes));
  // A full shape carries batch and channel entries first; only the spatial sizes matter (the
  // channel entry is often the encoder input's, not this layer's output channels).
  const auto out_len = static_cast<std::int64_t>(output_size.size());
  VOXGRAD_CHECK(out_len == rank || out_len == in_dim,
                "{}: for {}D input, output_size must have {} or {} elements (got {}: {})", op, in_dim, rank, in_dim,
                out_len, shape_str(output_size));
  const IntArrayRef requested(output_size.data() + (out_len - rank), D);
  const IntArrayRef in_spatial(input_sizes.data() + (in_dim - rank), D);

  Shape min_sizes(D), max_sizes(D);
  for (std::size_t i = 0; i < D; ++i) {
    VOXGRAD_CHECK(stride[i] > 0, "{}: non-positive stride is not supported (got stride={})", op, stride.str());
    VOXGRAD_CHECK(dilation[i] > 0, "{}: dilation should be greater than zero (got dilation={})", op, dilation.str());
    VOXGRAD_CHECK(kernel_size[i] > 0, "{}: kernel size must be positive (got kernel_size={})", op, kernel_size.str());
    VOXGRAD_CHECK(padding[i] >= 0, "{}: negative padding is not supported (got padding={})", op, padding.str());
    // min = (in − 1)·s − 2p + d·(k − 1) + 1; output_padding adds 0 .. s − 1 to it.
    std::int64_t m = checked_mul(in_spatial[i] - 1, stride[i], op);
    m = checked_add(m, -checked_mul(2, padding[i], op), op);
    m = checked_add(m, checked_mul(dilation[i], kernel_size[i] - 1, op), op);
    min_sizes[i] = checked_add(m, 1, op);
    max_sizes[i] = checked_add(min_sizes[i], stride[i] - 1, op);
  }
  ExpandingArray<D> result(0);
  for (std::size_t i = 0; i < D; ++i) {
    VOXGRAD_CHECK(requested[i] >= min_sizes[i] && requested[i] <= max_sizes[i],
                  "{}: requested an output size of {}, but valid sizes range from {} to {} (for an input of {})", op,
                  shape_str(requested), shape_str(min_sizes), shape_str(max_sizes), shape_str(in_spatial));
    result[i] = requested[i] - min_sizes[i];
  }
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
