#pragma once

#include <cstdint>
#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::nn::functional {

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

/// Options for dropout, as torch::nn::functional::DropoutFuncOptions: `F::DropoutFuncOptions().p(0.2)`.
struct DropoutFuncOptions {
  /// Probability of zeroing an element, in [0, 1].
  VOXGRAD_ARG(double, p) = 0.5;
  /// Applies dropout when true; returns the input unchanged when false.
  VOXGRAD_ARG(bool, training) = true;
};

/// Options for flatten: the dims start_dim..end_dim are merged.
struct FlattenFuncOptions {
  /// First dim to flatten.
  VOXGRAD_ARG(std::int64_t, start_dim) = 1;
  /// Last dim to flatten.
  VOXGRAD_ARG(std::int64_t, end_dim) = -1;
};

/// y = input · weightᵀ + bias, as torch.nn.functional.linear: input (*, in_features), weight
/// (out_features, in_features), bias (out_features) or undefined; the result is (*, out_features).
/// The leading dims are folded into one matrix product.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {});
/// max(input, 0).
Tensor relu(const Tensor& input);
/// input where input > 0, else negative_slope · input.
Tensor leaky_relu(const Tensor& input, const LeakyReLUFuncOptions& options = {});
/// GELU: input · Φ(input) (exact, with erf), or its tanh approximation.
Tensor gelu(const Tensor& input, const GELUFuncOptions& options = {});
/// SiLU (swish): input · sigmoid(input).
Tensor silu(const Tensor& input);
/// Dropout, as torch.nn.functional.dropout: in training, each element is zeroed with probability p
/// (a Bernoulli mask drawn from the global generator, see manual_seed) and the survivors are scaled
/// by 1 / (1 − p); p = 1 gives zeros, p = 0 or training = false returns the input itself. Throws
/// unless 0 <= p <= 1.
Tensor dropout(const Tensor& input, const DropoutFuncOptions& options = {});
/// input.flatten(start_dim, end_dim).
Tensor flatten(const Tensor& input, const FlattenFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
