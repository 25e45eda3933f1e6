#pragma once
// Options of the activation modules (nn/modules/activation.h) and functions (nn/functional/activation.h).

#include <cstdint>
#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

/// Options for ReLU, as torch::nn::ReLUOptions: `ReLUOptions().inplace(true)` or `ReLUOptions(true)`.
struct ReLUOptions {
  /// Default options (not in place).
  ReLUOptions(bool inplace = false) : inplace_(inplace) {}  // NOLINT: implicit, as libtorch's
  /// Overwrite the input (recorded by autograd; saves one activation's memory).
  VOXGRAD_ARG(bool, inplace);
};

/// Options for LeakyReLU, as torch::nn::LeakyReLUOptions: `LeakyReLUOptions().negative_slope(0.2)`.
struct LeakyReLUOptions {
  /// Slope for negative inputs.
  VOXGRAD_ARG(double, negative_slope) = 0.01;
  /// Overwrite the input (with autograd, negative_slope must then be >= 0).
  VOXGRAD_ARG(bool, inplace) = false;
};

/// Options for GELU, as torch::nn::GELUOptions: `GELUOptions().approximate("tanh")`.
struct GELUOptions {
  /// "none" (exact: x·Φ(x) with erf) or "tanh" (the tanh approximation).
  VOXGRAD_ARG(std::string, approximate) = "none";
};

/// Options for ELU, as torch::nn::ELUOptions: `ELUOptions().alpha(0.5).inplace(true)`.
struct ELUOptions {
  /// The saturation value −alpha for large negative inputs.
  VOXGRAD_ARG(double, alpha) = 1.0;
  /// Overwrite the input (recorded by autograd; alpha >= 0 then).
  VOXGRAD_ARG(bool, inplace) = false;
};

/// Options for Softplus, as torch::nn::SoftplusOptions: `SoftplusOptions().beta(2).threshold(10)`.
struct SoftplusOptions {
  /// The sharpness: log(1 + e^(beta·x)) / beta.
  VOXGRAD_ARG(double, beta) = 1.0;
  /// Above beta·x = threshold the result is x itself.
  VOXGRAD_ARG(double, threshold) = 20.0;
};

/// Options for Hardtanh, as torch::nn::HardtanhOptions: `HardtanhOptions().min_val(-2).max_val(2)`.
struct HardtanhOptions {
  /// The lower bound.
  VOXGRAD_ARG(double, min_val) = -1.0;
  /// The upper bound (above min_val).
  VOXGRAD_ARG(double, max_val) = 1.0;
};

/// Options for PReLU, as torch::nn::PReLUOptions: `PReLUOptions().num_parameters(16).init(0.1)`.
struct PReLUOptions {
  /// 1 (one slope shared by all channels) or the channel count (input dim 1).
  VOXGRAD_ARG(std::int64_t, num_parameters) = 1;
  /// The initial slope.
  VOXGRAD_ARG(double, init) = 0.25;
};

/// Options for Softmax, as torch::nn::SoftmaxOptions: `SoftmaxOptions(1)`.
struct SoftmaxOptions {
  /// The dim to normalise over.
  /* implicit */ SoftmaxOptions(std::int64_t dim) : dim_(dim) {}  // NOLINT
  /// The dim the softmax runs along (negative counts from the end).
  VOXGRAD_ARG(std::int64_t, dim);
};

/// Options for LogSoftmax, as torch::nn::LogSoftmaxOptions: `LogSoftmaxOptions(1)`.
struct LogSoftmaxOptions {
  /// The dim to normalise over.
  /* implicit */ LogSoftmaxOptions(std::int64_t dim) : dim_(dim) {}  // NOLINT
  /// The dim the log-softmax runs along (negative counts from the end).
  VOXGRAD_ARG(std::int64_t, dim);
};

namespace functional {

/// Options for relu, as torch::nn::functional::ReLUFuncOptions: `F::ReLUFuncOptions().inplace(true)`.
struct ReLUFuncOptions {
  /// Overwrite (and return) the input.
  VOXGRAD_ARG(bool, inplace) = false;
};

/// Options for leaky_relu, as torch::nn::functional::LeakyReLUFuncOptions.
struct LeakyReLUFuncOptions {
  /// Slope for negative inputs.
  VOXGRAD_ARG(double, negative_slope) = 0.01;
  /// Overwrite (and return) the input.
  VOXGRAD_ARG(bool, inplace) = false;
};

/// Options for gelu, as torch::nn::functional::GELUFuncOptions: `F::GELUFuncOptions().approximate("tanh")`.
struct GELUFuncOptions {
  /// "none" (exact, with erf) or "tanh" (the tanh approximation).
  VOXGRAD_ARG(std::string, approximate) = "none";
};

/// Options for elu, as torch::nn::functional::ELUFuncOptions: `F::ELUFuncOptions().alpha(0.5)`.
struct ELUFuncOptions {
  /// The saturation value −alpha for large negative inputs.
  VOXGRAD_ARG(double, alpha) = 1.0;
  /// Overwrite (and return) the input.
  VOXGRAD_ARG(bool, inplace) = false;
};

/// Options for softplus, as torch::nn::functional::SoftplusFuncOptions.
using SoftplusFuncOptions = SoftplusOptions;
/// Options for hardtanh, as torch::nn::functional::HardtanhFuncOptions.
using HardtanhFuncOptions = HardtanhOptions;

/// Options for softmax, as torch::nn::functional::SoftmaxFuncOptions: `F::SoftmaxFuncOptions(1)`.
using SoftmaxFuncOptions = SoftmaxOptions;
/// Options for log_softmax, as torch::nn::functional::LogSoftmaxFuncOptions: `F::LogSoftmaxFuncOptions(1)`.
using LogSoftmaxFuncOptions = LogSoftmaxOptions;

}  // namespace functional
}  // namespace voxgrad::nn
