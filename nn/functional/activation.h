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
/// ELU: input where input > 0, else alpha · (e^input − 1).
Tensor elu(const Tensor& input, const ELUFuncOptions& options = {});
/// log(1 + e^(beta·x)) / beta, x itself above beta·x = threshold (voxgrad::softplus).
Tensor softplus(const Tensor& input, const SoftplusFuncOptions& options = {});
/// input clamped into [min_val, max_val], the gradient 0 on the bounds (voxgrad::hardtanh).
Tensor hardtanh(const Tensor& input, const HardtanhFuncOptions& options = {});
/// hardtanh(input, 0, 6).
Tensor relu6(const Tensor& input);
/// log(sigmoid(input)), computed without overflow (voxgrad::log_sigmoid).
Tensor logsigmoid(const Tensor& input);
/// input · tanh(softplus(input)).
Tensor mish(const Tensor& input);
/// input · relu6(input + 3) / 6.
Tensor hardswish(const Tensor& input);
/// relu6(input + 3) / 6.
Tensor hardsigmoid(const Tensor& input);
/// PReLU, as torch.nn.functional.prelu: input where input > 0, else weight · input, with weight a
/// 1-D tensor of one slope or one per channel (input dim 1; a 0-D or 1-D input has one channel).
/// Differentiable in input and weight to any order.
Tensor prelu(const Tensor& input, const Tensor& weight);
/// Softmax along options.dim(), as torch.nn.functional.softmax.
Tensor softmax(const Tensor& input, const SoftmaxFuncOptions& options);
/// Log-softmax along options.dim(), as torch.nn.functional.log_softmax.
Tensor log_softmax(const Tensor& input, const LogSoftmaxFuncOptions& options);
/// Dropout, as torch.nn.functional.dropout: in training, each element is zeroed with probability p
/// (a Bernoulli mask drawn from the global generator, see manual_seed) and the survivors are scaled
/// by 1 / (1 − p); p = 1 gives zeros, p = 0 or training = false returns the input itself. With inplace
/// the input is overwritten and returned (the mask is the same). Throws unless 0 <= p <= 1.
Tensor dropout(const Tensor& input, const DropoutFuncOptions& options = {});
/// Channel-wise dropout, as torch.nn.functional.dropout3d: in training, every (sample, channel)
/// volume of a 5-D (N, C, D, H, W) input — or channel of an unbatched 4-D (C, D, H, W) input — is
/// zeroed as a whole with probability p and the others are scaled by 1 / (1 − p). Other ranks throw
/// (PyTorch 1.13 warns and treats them as unbatched). Throws unless 0 <= p <= 1.
Tensor dropout3d(const Tensor& input, const Dropout3dFuncOptions& options = {});
/// input.flatten(start_dim, end_dim).
Tensor flatten(const Tensor& input, const FlattenFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
