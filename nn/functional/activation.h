#pragma once

#include <cstdint>
#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/activation.h"
#include "voxgrad/nn/options/dropout.h"
#include "voxgrad/nn/options/linear.h"

namespace voxgrad::nn::functional {

/// y = input · weightᵀ + bias, as torch.nn.functional.linear: input (*, in_features), weight
/// (out_features, in_features), bias (out_features) or undefined; the result is (*, out_features).
/// The leading dims are folded into one matrix product.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {});
/// max(input, 0); with inplace, input is overwritten and returned.
Tensor relu(const Tensor& input, const ReLUFuncOptions& options = {});
/// input where input > 0, else negative_slope · input; with inplace, input is overwritten and returned.
Tensor leaky_relu(const Tensor& input, const LeakyReLUFuncOptions& options = {});
/// GELU: input · Φ(input) (exact, with erf), or its tanh approximation.
Tensor gelu(const Tensor& input, const GELUFuncOptions& options = {});
/// SiLU (swish): input · sigmoid(input).
Tensor silu(const Tensor& input);
/// Dropout, as torch.nn.functional.dropout: in training, each element is zeroed with probability p
/// (a Bernoulli mask drawn from the global generator, see manual_seed) and the survivors are scaled
/// by 1 / (1 − p); p = 1 gives zeros, p = 0 or training = false returns the input itself. With inplace
/// the input is overwritten and returned (the mask is the same). Throws unless 0 <= p <= 1.
Tensor dropout(const Tensor& input, const DropoutFuncOptions& options = {});
/// input.flatten(start_dim, end_dim).
Tensor flatten(const Tensor& input, const FlattenFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
