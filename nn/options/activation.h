#pragma once
// Options of the activation modules (nn/modules/activation.h) and functions (nn/functional/activation.h).

#include <string>

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

}  // namespace functional
}  // namespace voxgrad::nn
