#pragma once

#include <cstdint>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::nn::functional {

/// Options for batch_norm, as torch::nn::functional::BatchNormFuncOptions:
/// `F::BatchNormFuncOptions().weight(w).bias(b).training(true).momentum(0.1).eps(1e-5)`.
struct BatchNormFuncOptions {
  /// Per-channel scale (C), or undefined for none.
  VOXGRAD_ARG(Tensor, weight);
  /// Per-channel shift (C), or undefined for none.
  VOXGRAD_ARG(Tensor, bias);
  /// Normalise with the batch's statistics (and update the running ones) instead of the running ones.
  VOXGRAD_ARG(bool, training) = false;
  /// Weight of the new batch statistic in the running averages: r = (1 − momentum)·r + momentum·batch.
  VOXGRAD_ARG(double, momentum) = 0.1;
  /// Added to the variance before the square root.
  VOXGRAD_ARG(double, eps) = 1e-5;
};

/// Options for instance_norm, as torch::nn::functional::InstanceNormFuncOptions:
/// `F::InstanceNormFuncOptions().running_mean(m).running_var(v).use_input_stats(true)`.
struct InstanceNormFuncOptions {
  /// Running means (C), updated in place when use_input_stats; undefined for none.
  VOXGRAD_ARG(Tensor, running_mean);
  /// Running variances (C), updated in place when use_input_stats; undefined for none.
  VOXGRAD_ARG(Tensor, running_var);
  /// Per-channel scale (C), or undefined for none.
  VOXGRAD_ARG(Tensor, weight);
  /// Per-channel shift (C), or undefined for none.
  VOXGRAD_ARG(Tensor, bias);
  /// Normalise each (sample, channel) with its own statistics; false uses the running ones.
  VOXGRAD_ARG(bool, use_input_stats) = true;
  /// Weight of the new statistics in the running averages.
  VOXGRAD_ARG(double, momentum) = 0.1;
  /// Added to the variance before the square root.
  VOXGRAD_ARG(double, eps) = 1e-5;
};

/// Options for group_norm, as torch::nn::functional::GroupNormFuncOptions:
/// `F::GroupNormFuncOptions(4).weight(w).bias(b).eps(1e-5)`.
struct GroupNormFuncOptions {
  /// The one required option.
  /* implicit */ GroupNormFuncOptions(std::int64_t num_groups) : num_groups_(num_groups) {}  // NOLINT
  /// Number of groups the channels are split into (must divide the channel count).
  VOXGRAD_ARG(std::int64_t, num_groups);
  /// Per-channel scale (C), or undefined for none.
  VOXGRAD_ARG(Tensor, weight);
  /// Per-channel shift (C), or undefined for none.
  VOXGRAD_ARG(Tensor, bias);
  /// Added to the variance before the square root.
  VOXGRAD_ARG(double, eps) = 1e-5;
};

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

}  // namespace voxgrad::nn::functional
