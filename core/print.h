#pragma once

#include <ostream>
#include <string>

#include <fmt/format.h>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// PyTorch-style text: `tensor([[1.0000, 2.5000], ...], dtype=float64, requires_grad=True)`;
/// tensors over 1000 elements show 3 items at each edge with `...`.
std::string to_string(const Tensor& t);

/// Writes to_string(t).
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace voxgrad

/// fmt support: `fmt::format("{}", tensor)`.
template <>
struct fmt::formatter<voxgrad::Tensor> : fmt::formatter<std::string_view> {
  auto format(const voxgrad::Tensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(voxgrad::to_string(t), ctx);
  }
};
