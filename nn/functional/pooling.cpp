#include "voxgrad/nn/functional/pooling.h"

#include "voxgrad/ops/pool.h"

namespace voxgrad::nn::functional {

Tensor max_pool3d(const Tensor& input, const MaxPool3dFuncOptions& options) {
  return std::get<0>(max_pool3d_with_indices(input, options));
}

std::tuple<Tensor, Tensor> max_pool3d_with_indices(const Tensor& input, const MaxPool3dFuncOptions& options) {
  return ::voxgrad::max_pool3d_with_indices(input, options.kernel_size(), options.stride(), options.padding(),
                                            options.dilation(), options.ceil_mode());
}

Tensor avg_pool3d(const Tensor& input, const AvgPool3dFuncOptions& options) {
  return ::voxgrad::avg_pool3d(input, options.kernel_size(), options.stride(), options.padding(), options.ceil_mode(),
                               options.count_include_pad(), options.divisor_override());
}

Tensor adaptive_avg_pool3d(const Tensor& input, const AdaptiveAvgPool3dFuncOptions& options) {
  return ::voxgrad::adaptive_avg_pool3d(input, options.output_size());
}

Tensor adaptive_max_pool3d(const Tensor& input, const AdaptiveMaxPool3dFuncOptions& options) {
  return ::voxgrad::adaptive_max_pool3d(input, options.output_size());
}

std::tuple<Tensor, Tensor> adaptive_max_pool3d_with_indices(const Tensor& input,
                                                            const AdaptiveMaxPool3dFuncOptions& options) {
  return ::voxgrad::adaptive_max_pool3d_with_indices(input, options.output_size());
}

}  // namespace voxgrad::nn::functional
