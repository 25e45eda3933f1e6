#pragma once

#include <cstdint>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/normalization.h"

namespace voxgrad::nn::functional {

/// Batch normalisation, as torch.nn.functional.batch_norm, for input (N, C, *): each channel is
/// normalised to (x − mean)/√(var + eps), then scaled by weight and shifted by bias. In training the
/// mean and biased variance are the batch's over (N, *), and defined running_mean / running_var are
/// updated in place (not recorded by autograd) with the batch mean and the *unbiased* variance; in
/// evaluation the running statistics are used and must be defined. Differentiable in input, weight
/// and bias to any order. With batch statistics the forward and first-order backward are fused
/// kernels (statistics summed in float64, results independent of the thread count); a backward
/// recorded for higher derivatives is built from differentiable ops.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options = {});

/// Instance normalisation, as torch.nn.functional.instance_norm, for input (N, C, *): with
/// use_input_stats each (sample, channel) is normalised by its own mean and biased variance over
/// (*), and defined running statistics are updated with the batch average of the per-instance means
/// and unbiased variances (as PyTorch); otherwise the per-channel running statistics are used.
/// Differentiable to any order; fused kernels as batch_norm.
Tensor instance_norm(const Tensor& input, const InstanceNormFuncOptions& options = {});

/// Group normalisation, as torch.nn.functional.group_norm, for input (N, C, *): the channels are
/// split into num_groups groups, each (sample, group) is normalised by its mean and biased variance,
/// then the per-channel weight and bias are applied. Behaves the same in training and evaluation.
/// Differentiable to any order; fused kernels as batch_norm.
Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& options);

/// relu(group_norm(input, options)) as one op (PyTorch has no such function; a U-Net block's
/// GroupNorm is followed by a ReLU): the same values and gradients to the bit, without the normalised
/// tensor in between. Its forward writes the rectified output directly, its backward takes ReLU's mask
/// from the normalised values computed again chunk by chunk, and with recomputation on
/// (autograd/recompute.h) a later op saves it as one recipe instead of two: three passes over
/// activation-sized memory fewer per use. Differentiable to any order; errors name group_norm_relu.
Tensor group_norm_relu(const Tensor& input, const GroupNormFuncOptions& options);

/// Layer normalisation, as torch.nn.functional.layer_norm, for input (*, normalized_shape): every
/// slice over the trailing normalized_shape dims is normalised by its own mean and biased variance,
/// then multiplied by weight and shifted by bias (both of normalized_shape, elementwise). Behaves the
/// same in training and evaluation. Differentiable in input, weight and bias to any order; the
/// statistics and first-order backward run as the fused kernels of group_norm.
Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& options);
/// input / max(‖input‖_p, eps) along options.dim(), as torch.nn.functional.normalize (the clamp is
/// differentiable: below eps no gradient flows through the norm).
Tensor normalize(const Tensor& input, const NormalizeFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
