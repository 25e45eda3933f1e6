#include "voxgrad/nn/modules/pooling.h"

#include <fmt/format.h>

#include "voxgrad/nn/detail/repr.h"

namespace voxgrad::nn {
namespace {

// PyTorch prints the option as the user stored it: an int, or a tuple. We print one int when all
// three values agree and the tuple otherwise, which is what PyTorch shows for the usual spellings
// (MaxPool3d(2), MaxPool3d((1, 2, 2))).
std::string int_or_tuple(const ExpandingArray<3>& a) {
  if (a[0] == a[1] && a[1] == a[2]) return fmt::format("{}", a[0]);
  return a.str();
}

}  // namespace

Tensor MaxPool3dImpl::forward(const Tensor& input) { return functional::max_pool3d(input, options_); }

std::tuple<Tensor, Tensor> MaxPool3dImpl::forward_with_indices(const Tensor& input) {
  return functional::max_pool3d_with_indices(input, options_);
}

std::string MaxPool3dImpl::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}",
                     int_or_tuple(options_.kernel_size()), int_or_tuple(options_.stride()),
                     int_or_tuple(options_.padding()), int_or_tuple(options_.dilation()),
                     detail::py_bool(options_.ceil_mode()));
}

Tensor AvgPool3dImpl::forward(const Tensor& input) { return functional::avg_pool3d(input, options_); }

std::string AvgPool3dImpl::extra_repr() const {
  return fmt::format("kernel_size={}, stride={}, padding={}", int_or_tuple(options_.kernel_size()),
                     int_or_tuple(options_.stride()), int_or_tuple(options_.padding()));
}

Tensor AdaptiveAvgPool3dImpl::forward(const Tensor& input) { return functional::adaptive_avg_pool3d(input, options_); }

std::string AdaptiveAvgPool3dImpl::extra_repr() const { return "output_size=" + int_or_tuple(options_.output_size()); }

Tensor AdaptiveMaxPool3dImpl::forward(const Tensor& input) { return functional::adaptive_max_pool3d(input, options_); }

std::tuple<Tensor, Tensor> AdaptiveMaxPool3dImpl::forward_with_indices(const Tensor& input) {
  return functional::adaptive_max_pool3d_with_indices(input, options_);
}

std::string AdaptiveMaxPool3dImpl::extra_repr() const { return "output_size=" + int_or_tuple(options_.output_size()); }

}  // namespace voxgrad::nn
