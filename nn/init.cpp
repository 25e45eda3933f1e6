#include "voxgrad/nn/init.h"

#include <cmath>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"

namespace voxgrad::nn::init {

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv1D:
    case Nonlinearity::Conv2D:
    case Nonlinearity::Conv3D:
    case Nonlinearity::ConvTranspose1D:
    case Nonlinearity::ConvTranspose2D:
    case Nonlinearity::ConvTranspose3D:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: {
      const double slope = param.value_or(0.01);
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    case Nonlinearity::SELU: return 3.0 / 4.0;
  }
  throw Error("calculate_gain: unknown nonlinearity");
}

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  voxgrad::detail::check_tensor_defined(tensor, "calculate_fan_in_and_fan_out");
  VOXGRAD_CHECK(tensor.dim() >= 2,
                "calculate_fan_in_and_fan_out: Fan in and fan out can not be computed for tensor with fewer "
                "than 2 dimensions (got a tensor of size {})",
                shape_str(tensor.sizes()));
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < tensor.dim(); ++d) receptive *= tensor.size(d);
  return {tensor.size(1) * receptive, tensor.size(0) * receptive};
}

Tensor uniform_(Tensor tensor, double low, double high) {
  voxgrad::detail::check_tensor_defined(tensor, "uniform_");
  voxgrad::detail::check_floating_dtype(tensor.dtype(), "uniform_");
  VOXGRAD_CHECK(low <= high, "uniform_: expects low <= high, but got low={} and high={}", low, high);
  NoGradGuard no_grad;
  // low + (high − low)·u with u ~ U[0, 1) drawn in the tensor's own dtype.
  Tensor u = rand(tensor.sizes(), tensor.dtype());
  u.mul_(high - low).add_(low);
  tensor.copy_(u);
  return tensor;
}

Tensor normal_(Tensor tensor, double mean, double std) {
  voxgrad::detail::check_tensor_defined(tensor, "normal_");
  voxgrad::detail::check_floating_dtype(tensor.dtype(), "normal_");
  VOXGRAD_CHECK(std >= 0.0, "normal_: normal expects std >= 0.0, but found std {}", std);
  NoGradGuard no_grad;
  // mean + std·z with z ~ N(0, 1) drawn in the tensor's own dtype.
  Tensor z = randn(tensor.sizes(), tensor.dtype());
  z.mul_(std).add_(mean);
  tensor.copy_(z);
  return tensor;
}

Tensor constant_(Tensor tensor, double value) {
  voxgrad::detail::check_tensor_defined(tensor, "constant_");
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor zeros_(Tensor tensor) {
  voxgrad::detail::check_tensor_defined(tensor, "zeros_");
  return constant_(std::move(tensor), 0.0);
}

Tensor ones_(Tensor tensor) {
  voxgrad::detail::check_tensor_defined(tensor, "ones_");
  return constant_(std::move(tensor), 1.0);
}

namespace {

// gain·√(2 / (fan_in + fan_out)), the Glorot standard deviation.
double xavier_std(const Tensor& tensor, double gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
}

// gain / √fan for kaiming_*; gain from the non-linearity and `a`.
double kaiming_std(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const std::int64_t fan = mode == FanMode::FanIn ? fan_in : fan_out;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

}  // namespace

Tensor xavier_uniform_(Tensor tensor, double gain) {
  voxgrad::detail::check_tensor_defined(tensor, "xavier_uniform_");
  const double bound = std::sqrt(3.0) * xavier_std(tensor, gain);  // U(−a, a) has std a/√3
  if (tensor.numel() == 0) return tensor;
  return uniform_(std::move(tensor), -bound, bound);
}

Tensor xavier_normal_(Tensor tensor, double gain) {
  voxgrad::detail::check_tensor_defined(tensor, "xavier_normal_");
  const double std = xavier_std(tensor, gain);
  if (tensor.numel() == 0) return tensor;
  return normal_(std::move(tensor), 0.0, std);
}

Tensor kaiming_normal_(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  voxgrad::detail::check_tensor_defined(tensor, "kaiming_normal_");
  if (tensor.numel() == 0) return tensor;  // PyTorch warns and does nothing
  const double std = kaiming_std(tensor, a, mode, nonlinearity);
  return normal_(std::move(tensor), 0.0, std);
}

Tensor kaiming_uniform_(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  voxgrad::detail::check_tensor_defined(tensor, "kaiming_uniform_");
  if (tensor.numel() == 0) return tensor;  // PyTorch warns and does nothing
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const std::int64_t fan = mode == FanMode::FanIn ? fan_in : fan_out;
  const double gain = calculate_gain(nonlinearity, a);
  const double bound = std::sqrt(3.0) * gain / std::sqrt(static_cast<double>(fan));
  return uniform_(std::move(tensor), -bound, bound);
}

}  // namespace voxgrad::nn::init
