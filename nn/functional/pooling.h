#pragma once

#include <cstdint>
#include <optional>
#include <tuple>

#include "voxgrad/core/expanding_array.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/pooling.h"

namespace voxgrad::nn::functional {

/// 3-D max pooling of (N, C, D, H, W) or unbatched (C, D, H, W) input, as
/// torch.nn.functional.max_pool3d: `F::max_pool3d(x, F::MaxPool3dFuncOptions(2))`. See voxgrad::max_pool3d.
Tensor max_pool3d(const Tensor& input, const MaxPool3dFuncOptions& options);
/// max_pool3d that also returns the int64 flat index (into each D·H·W plane) of every maximum.
std::tuple<Tensor, Tensor> max_pool3d_with_indices(const Tensor& input, const MaxPool3dFuncOptions& options);
/// 3-D average pooling, as torch.nn.functional.avg_pool3d. See voxgrad::avg_pool3d.
Tensor avg_pool3d(const Tensor& input, const AvgPool3dFuncOptions& options);

/// 3-D adaptive average pooling, as torch.nn.functional.adaptive_avg_pool3d:
/// `F::adaptive_avg_pool3d(x, F::AdaptiveAvgPool3dFuncOptions(1))`. See voxgrad::adaptive_avg_pool3d.
Tensor adaptive_avg_pool3d(const Tensor& input, const AdaptiveAvgPool3dFuncOptions& options);
/// 3-D adaptive max pooling, as torch.nn.functional.adaptive_max_pool3d. See voxgrad::adaptive_max_pool3d.
Tensor adaptive_max_pool3d(const Tensor& input, const AdaptiveMaxPool3dFuncOptions& options);
/// adaptive_max_pool3d that also returns the int64 flat index (into each D·H·W plane) of every maximum.
std::tuple<Tensor, Tensor> adaptive_max_pool3d_with_indices(const Tensor& input,
                                                            const AdaptiveMaxPool3dFuncOptions& options);

}  // namespace voxgrad::nn::functional
