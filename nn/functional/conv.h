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
#include "voxgrad/nn/options/conv.h"

namespace voxgrad::nn {

/// Functional interface, as torch::nn::functional; users write `namespace F = voxgrad::nn::functional;`.
namespace functional {

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
}  // namespace voxgrad::nn
