#pragma once

#include <cstdint>
#include <optional>
#include <tuple>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Number of windows a pooling sweep gives along one dim, as PyTorch's pooling_output_shape:
/// floor((in + 2·padding − dilation·(kernel − 1) − 1 + (ceil_mode ? stride − 1 : 0)) / stride) + 1, and
/// in ceil mode one fewer when the last window would start at or beyond in + padding (every window
/// must start inside the input or the left padding). May be ≤ 0; the pools reject that.
std::int64_t pool_output_size(std::int64_t input_size, std::int64_t kernel_size, std::int64_t padding,
                              std::int64_t stride, std::int64_t dilation, bool ceil_mode);

/// 3-D max pooling as torch::max_pool3d_with_indices: input (N, C, D, H, W) or unbatched (C, D, H, W),
/// float32 or float64. Returns the maxima and, as int64, the flat index of each into its input plane
/// (d·H·W + h·W + w, as PyTorch; NaN wins, ties keep the first; a dilated window whose taps all
/// miss the input gives −∞ and index −1). stride defaults to kernel_size;
/// padding (implicit −∞) must be at most kernel_size / 2. The gradient goes to the arg-max; that
/// backward is itself differentiable (its gradient gathers by the same indices). Parallel over N·C,
/// results independent of the thread count.
std::tuple<Tensor, Tensor> max_pool3d_with_indices(const Tensor& input, ExpandingArray<3> kernel_size,
                                                   std::optional<ExpandingArray<3>> stride = std::nullopt,
                                                   ExpandingArray<3> padding = 0, ExpandingArray<3> dilation = 1,
                                                   bool ceil_mode = false);

/// The values of max_pool3d_with_indices, as torch::max_pool3d.
Tensor max_pool3d(const Tensor& input, ExpandingArray<3> kernel_size,
                  std::optional<ExpandingArray<3>> stride = std::nullopt, ExpandingArray<3> padding = 0,
                  ExpandingArray<3> dilation = 1, bool ceil_mode = false);

/// 3-D average pooling as torch::avg_pool3d: input (N, C, D, H, W) or unbatched (C, D, H, W). Each
/// window's sum is divided by divisor_override if given, else by the window's size clipped to the
/// padded input (count_include_pad) or by the number of input elements it covers. stride defaults to
/// kernel_size; padding (zeros) must be at most kernel_size / 2. Differentiable twice (its adjoint
/// spreads each output gradient evenly over its window, and the adjoint's gradient is the pool).
Tensor avg_pool3d(const Tensor& input, ExpandingArray<3> kernel_size,
                  std::optional<ExpandingArray<3>> stride = std::nullopt, ExpandingArray<3> padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true,
                  std::optional<std::int64_t> divisor_override = std::nullopt);

/// 3-D adaptive average pooling as torch::adaptive_avg_pool3d: input (N, C, D, H, W) or unbatched
/// (C, D, H, W) to output_size (D', H', W'); output o of a dim of size in averages the input
/// positions [⌊o·in/out⌋, ⌈(o + 1)·in/out⌉) (windows may overlap). Differentiable twice, as avg_pool3d.
Tensor adaptive_avg_pool3d(const Tensor& input, ExpandingArray<3> output_size);
/// 3-D adaptive max pooling as torch::adaptive_max_pool3d, with adaptive_avg_pool3d's windows:
/// the maxima and the int64 flat index of each into its input plane (NaN wins, ties keep the
/// first, as max_pool3d_with_indices). The gradient goes to the arg-max, differentiable again.
std::tuple<Tensor, Tensor> adaptive_max_pool3d_with_indices(const Tensor& input, ExpandingArray<3> output_size);
/// The values of adaptive_max_pool3d_with_indices.
Tensor adaptive_max_pool3d(const Tensor& input, ExpandingArray<3> output_size);

}  // namespace voxgrad
