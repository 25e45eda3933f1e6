#include "voxgrad/nn/modules/upsampling.h"

#include <fmt/format.h>

#include <vector>

#include "voxgrad/nn/detail/repr.h"

namespace voxgrad::nn {

Tensor UpsampleImpl::forward(const Tensor& input) { return functional::interpolate(input, options_); }

std::string UpsampleImpl::extra_repr() const {
  // PyTorch prints scale_factor when set (as float(s): "2.0", or a tuple of floats), else size
  // (as given: an int, or a tuple), then the mode.
  std::string info;
  if (const auto& s = options_.scale_factor()) {
    std::vector<std::string> parts;
    for (double f : *s) parts.push_back(detail::py_float(f));
    info = "scale_factor=" + (parts.size() == 1 ? parts[0] : fmt::format("({})", fmt::join(parts, ", ")));
  } else if (const auto& z = options_.size()) {
    info = "size=" + (z->size() == 1 ? fmt::format("{}", (*z)[0]) : fmt::format("({})", fmt::join(*z, ", ")));
  } else {
    info = "size=None";
  }
  return info + ", mode=" + interpolate_mode_name(options_.mode());
}

}  // namespace voxgrad::nn
