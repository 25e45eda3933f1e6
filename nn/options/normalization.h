#pragma once
// Options of BatchNorm3d / InstanceNorm3d / GroupNorm / LayerNorm (nn/modules/normalization.h) and
// F::batch_norm / F::instance_norm / F::group_norm / F::layer_norm.

#include <cstdint>
#include <optional>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

namespace functional {
/// Options for normalize, as torch::nn::functional::NormalizeFuncOptions: `F::NormalizeFuncOptions().p(1).dim(-1)`.
struct NormalizeFuncOptions {
  /// The norm's order.
  VOXGRAD_ARG(double, p) = 2.0;
  /// The dim the vectors run along.
  VOXGRAD_ARG(std::int64_t, dim) = 1;
  /// The smallest norm an input is divided by.
  VOXGRAD_ARG(double, eps) = 1e-12;
};
}  // namespace functional

/// Options for BatchNorm3d, as torch::nn::BatchNormOptions: `BatchNorm3dOptions(16).momentum(0.01)`.
struct BatchNormOptions {
  /// The one required option: the channel count C of the (N, C, D, H, W) input.
  /* implicit */ BatchNormOptions(std::int64_t num_features) : num_features_(num_features) {}  // NOLINT
  /// Channels C.
  VOXGRAD_ARG(std::int64_t, num_features);
  /// Added to the variance before the square root.
  VOXGRAD_ARG(double, eps) = 1e-5;
  /// Weight of each new batch in the running statistics; std::nullopt gives a cumulative average
  /// (PyTorch's momentum=None: weight 1/num_batches_tracked).
  VOXGRAD_ARG(std::optional<double>, momentum) = 0.1;
  /// Learn a per-channel weight (initialised to 1) and bias (initialised to 0).
  VOXGRAD_ARG(bool, affine) = true;
  /// Keep running_mean, running_var and num_batches_tracked buffers and use them in eval mode.
  VOXGRAD_ARG(bool, track_running_stats) = true;
};
/// Options for BatchNorm3d.
using BatchNorm3dOptions = BatchNormOptions;

/// Options for InstanceNorm3d, as torch::nn::InstanceNormOptions: `InstanceNorm3dOptions(16).affine(true)`.
struct InstanceNormOptions {
  /// The one required option: the channel count C.
  /* implicit */ InstanceNormOptions(std::int64_t num_features) : num_features_(num_features) {}  // NOLINT
  /// Channels C.
  VOXGRAD_ARG(std::int64_t, num_features);
  /// Added to the variance before the square root.
  VOXGRAD_ARG(double, eps) = 1e-5;
  /// Weight of each new batch in the running statistics.
  VOXGRAD_ARG(double, momentum) = 0.1;
  /// Learn a per-channel weight (initialised to 1) and bias (initialised to 0).
  VOXGRAD_ARG(bool, affine) = false;
  /// Keep running statistics (updated in training) and normalise with them in eval mode.
  VOXGRAD_ARG(bool, track_running_stats) = false;
};
/// Options for InstanceNorm3d.
using InstanceNorm3dOptions = InstanceNormOptions;

/// Options for GroupNorm, as torch::nn::GroupNormOptions: `GroupNormOptions(4, 16).eps(1e-3)`.
struct GroupNormOptions {
  /// The two required options; num_channels must be divisible by num_groups.
  GroupNormOptions(std::int64_t num_groups, std::int64_t num_channels)
      : num_groups_(num_groups), num_channels_(num_channels) {}
  /// Number of groups the channels are split into.
  VOXGRAD_ARG(std::int64_t, num_groups);
  /// Channels C of the (N, C, *) input.
  VOXGRAD_ARG(std::int64_t, num_channels);
  /// Added to the variance before the square root.
  VOXGRAD_ARG(double, eps) = 1e-5;
  /// Learn a per-channel weight (initialised to 1) and bias (initialised to 0).
  VOXGRAD_ARG(bool, affine) = true;
};

/// Options for LayerNorm, as torch::nn::LayerNormOptions: `LayerNormOptions({16, 8}).eps(1e-6)`.
struct LayerNormOptions {
  /// The one required option: the trailing dims normalised together.
  /* implicit */ LayerNormOptions(std::vector<std::int64_t> normalized_shape)  // NOLINT
      : normalized_shape_(std::move(normalized_shape)) {}
  /// The shape of the trailing input dims that share one mean and variance.
  VOXGRAD_ARG(std::vector<std::int64_t>, normalized_shape);
  /// Added to the variance before the square root.
  VOXGRAD_ARG(double, eps) = 1e-5;
  /// Learn an elementwise weight (initialised to 1) and bias (initialised to 0) of normalized_shape.
  VOXGRAD_ARG(bool, elementwise_affine) = true;
};

namespace functional {

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

/// Options for layer_norm, as torch::nn::functional::LayerNormFuncOptions:
/// `F::LayerNormFuncOptions({16}).weight(w).bias(b).eps(1e-5)`.
struct LayerNormFuncOptions {
  /// The one required option.
  /* implicit */ LayerNormFuncOptions(std::vector<std::int64_t> normalized_shape)  // NOLINT
      : normalized_shape_(std::move(normalized_shape)) {}
  /// The shape of the trailing input dims normalised together.
  VOXGRAD_ARG(std::vector<std::int64_t>, normalized_shape);
  /// Elementwise scale of normalized_shape, or undefined for none.
  VOXGRAD_ARG(Tensor, weight);
  /// Elementwise shift of normalized_shape, or undefined for none.
  VOXGRAD_ARG(Tensor, bias);
  /// Added to the variance before the square root.
  VOXGRAD_ARG(double, eps) = 1e-5;
};

}  // namespace functional
}  // namespace voxgrad::nn
