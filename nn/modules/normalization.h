#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/functional/normalization.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/normalization.h"

namespace voxgrad::nn {

/// Batch normalisation over (N, C, D, H, W) input, as torch::nn::BatchNorm3d. Training normalises
/// with the batch's mean and biased variance over (N, D, H, W) and, with track_running_stats,
/// increments num_batches_tracked and moves running_mean / running_var towards the batch mean and
/// unbiased variance; eval normalises with the running statistics (or, without them, with the batch's).
class BatchNorm3dImpl : public Cloneable<BatchNorm3dImpl> {
 public:
  /// Builds the layer: `BatchNorm3d(BatchNorm3dOptions(16).momentum(0.01))` or `BatchNorm3d(16)`.
  explicit BatchNorm3dImpl(const BatchNorm3dOptions& options);
  /// Registers weight and bias (affine), running_mean, running_var and num_batches_tracked
  /// (track_running_stats), then reset_parameters(); called by the constructor and by clone().
  void reset() override;
  /// running_mean = 0, running_var = 1, num_batches_tracked = 0.
  void reset_running_stats();
  /// reset_running_stats(), weight = 1, bias = 0.
  void reset_parameters();
  /// Normalises a 5-D input (and updates the running statistics in training mode).
  Tensor forward(const Tensor& input) override;
  /// "16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True".
  std::string extra_repr() const override;
  const BatchNorm3dOptions& options() const { return options_; }

  /// Per-channel scale (C); parameter "weight"; undefined without affine.
  Tensor weight;
  /// Per-channel shift (C); parameter "bias"; undefined without affine.
  Tensor bias;
  /// Running means (C, float32); buffer "running_mean"; undefined without track_running_stats.
  Tensor running_mean;
  /// Running unbiased variances (C, float32); buffer "running_var".
  Tensor running_var;
  /// Number of training batches seen (0-d int64); buffer "num_batches_tracked".
  Tensor num_batches_tracked;

 private:
  BatchNorm3dOptions options_;
};
VOXGRAD_MODULE(BatchNorm3d);

/// Instance normalisation over (N, C, D, H, W) or unbatched (C, D, H, W) input, as
/// torch::nn::InstanceNorm3d: every (sample, channel) is normalised by its own mean and biased
/// variance over (D, H, W). With track_running_stats the running statistics are updated in training
/// (with the batch-averaged instance statistics) and used in eval; num_batches_tracked is registered
/// but, as in PyTorch, never incremented.
class InstanceNorm3dImpl : public Cloneable<InstanceNorm3dImpl> {
 public:
  /// Builds the layer: `InstanceNorm3d(InstanceNorm3dOptions(16).affine(true))` or `InstanceNorm3d(16)`.
  explicit InstanceNorm3dImpl(const InstanceNorm3dOptions& options);
  /// Registers weight, bias (affine) and the running statistics (track_running_stats), then
  /// reset_parameters(); called by the constructor and by clone().
  void reset() override;
  /// running_mean = 0, running_var = 1, num_batches_tracked = 0.
  void reset_running_stats();
  /// reset_running_stats(), weight = 1, bias = 0.
  void reset_parameters();
  /// Normalises a 4-D or 5-D input.
  Tensor forward(const Tensor& input) override;
  /// "16, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False".
  std::string extra_repr() const override;
  const InstanceNorm3dOptions& options() const { return options_; }

  /// Per-channel scale (C); parameter "weight"; undefined without affine.
  Tensor weight;
  /// Per-channel shift (C); parameter "bias"; undefined without affine.
  Tensor bias;
  /// Running means (C); buffer "running_mean"; undefined without track_running_stats.
  Tensor running_mean;
  /// Running unbiased variances (C); buffer "running_var".
  Tensor running_var;
  /// 0-d int64 buffer "num_batches_tracked" (kept for state-dict compatibility with PyTorch).
  Tensor num_batches_tracked;

 private:
  InstanceNorm3dOptions options_;
};
VOXGRAD_MODULE(InstanceNorm3d);

/// Group normalisation over (N, C, *) input, as torch::nn::GroupNorm: the C channels are split into
/// num_groups groups and each (sample, group) is normalised by its own statistics, in training and
/// eval alike; then the per-channel weight and bias are applied.
class GroupNormImpl : public Cloneable<GroupNormImpl> {
 public:
  /// Builds the layer: `GroupNorm(GroupNormOptions(4, 16))`; throws unless num_channels is a multiple of num_groups.
  explicit GroupNormImpl(const GroupNormOptions& options);
  /// Shorthand for GroupNorm(GroupNormOptions(num_groups, num_channels)).
  GroupNormImpl(std::int64_t num_groups, std::int64_t num_channels)
      : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  /// Registers weight and bias (affine) and sets them to 1 and 0; called by the constructor and by clone().
  void reset() override;
  /// weight = 1, bias = 0.
  void reset_parameters();
  /// Normalises an (N, C, *) input.
  Tensor forward(const Tensor& input) override;
  /// "4, 16, eps=1e-05, affine=True".
  std::string extra_repr() const override;
  const GroupNormOptions& options() const { return options_; }

  /// Per-channel scale (C); parameter "weight"; undefined without affine.
  Tensor weight;
  /// Per-channel shift (C); parameter "bias"; undefined without affine.
  Tensor bias;

 private:
  GroupNormOptions options_;
};
VOXGRAD_MODULE(GroupNorm);

/// Layer normalisation over the trailing normalized_shape dims of (*, normalized_shape) input, as
/// torch::nn::LayerNorm: each slice is normalised by its own statistics, in training and eval alike;
/// then the elementwise weight and bias (of normalized_shape) are applied.
class LayerNormImpl : public Cloneable<LayerNormImpl> {
 public:
  /// Builds the layer: `LayerNorm(LayerNormOptions({16, 8}).eps(1e-6))`; throws for an empty or negative shape.
  explicit LayerNormImpl(const LayerNormOptions& options);
  /// Registers weight and bias (elementwise_affine) and sets them to 1 and 0; called by the constructor and by clone().
  void reset() override;
  /// weight = 1, bias = 0.
  void reset_parameters();
  /// Normalises an (*, normalized_shape) input.
  Tensor forward(const Tensor& input) override;
  /// "(16, 8), eps=1e-05, elementwise_affine=True" (the shape as a Python tuple).
  std::string extra_repr() const override;
  const LayerNormOptions& options() const { return options_; }

  /// Elementwise scale (normalized_shape); parameter "weight"; undefined without elementwise_affine.
  Tensor weight;
  /// Elementwise shift (normalized_shape); parameter "bias"; undefined without elementwise_affine.
  Tensor bias;

 private:
  LayerNormOptions options_;
};
VOXGRAD_MODULE(LayerNorm);

}  // namespace voxgrad::nn
