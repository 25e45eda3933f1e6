#pragma once
// Options of the activation modules (nn/modules/activation.h) and functions (nn/functional/activation.h).

#include <string>

#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

/// Options for LeakyReLU, as torch::nn::LeakyReLUOptions: `LeakyReLUOptions().negative_slope(0.2)`.
struct LeakyReLUOptions {
  /// Slope for negative inputs.
  VOXGRAD_ARG(double, negative_slope) = 0.01;
};

/// Options for GELU, as torch::nn::GELUOptions: `GELUOptions().approximate("tanh")`.
struct GELUOptions {
  /// "none" (exact: x·Φ(x) with erf) or "tanh" (the tanh approximation).
  VOXGRAD_ARG(std::string, approximate) = "none";
};

namespace functional {

/// Options for leaky_relu, as torch::nn::functional::LeakyReLUFuncOptions.
struct LeakyReLUFuncOptions {
  /// Slope for negative inputs.
  VOXGRAD_ARG(double, negative_slope) = 0.01;
};

/// Options for gelu, as torch::nn::functional::GELUFuncOptions: `F::GELUFuncOptions().approximate("tanh")`.
struct GELUFuncOptions {
  /// "none" (exact, with erf) or "tanh" (the tanh approximation).
  VOXGRAD_ARG(std::string, approximate) = "none";
};

}  // namespace functional
}  // namespace voxgrad::nn
