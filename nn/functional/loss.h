#pragma once

#include <cstdint>
#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/loss.h"

namespace voxgrad::nn::functional {

/// (input − target)², reduced. input and target must have the same shape (PyTorch broadcasts with a
/// warning; voxgrad refuses) and be floating point; both are differentiable.
Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& options = {});

/// |input − target|, reduced; same shape rules as mse_loss.
Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& options = {});

/// 0.5·d²/β where |d| < β, else |d| − 0.5·β (d = input − target), reduced; β = 0 gives l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& options = {});

/// −w·(t·log x + (1 − t)·log(1 − x)) with each log clamped to ≥ −100, as PyTorch. input must lie in
/// [0, 1] and have target's shape. The input gradient is PyTorch's w·(x − t)/max(x·(1 − x), 1e-12);
/// the target gradient (w·(log(1 − x) − log x), clamped logs) is available too.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target,
                            const BinaryCrossEntropyFuncOptions& options = {});

/// binary_cross_entropy(sigmoid(x), t) computed stably from the logits x:
/// (1 − t)·x + (1 + (pos_weight − 1)·t)·log(1 + e^−x), times weight, reduced. input and target must
/// have the same shape; both are differentiable.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsFuncOptions& options = {});

/// The negative log likelihood −weight[t]·input[n, t, d…] of int64 class indices `target`, for
/// input (C) with a 0-d target, (N, C) with target (N), or (N, C, d1, …, dk) with target
/// (N, d1, …, dk) (segmentation). kMean divides by Σ weight[t] over non-ignored targets (NaN if
/// all are ignored, as PyTorch). Throws for bad shapes, a non-int64 target, or a target outside
/// [0, C) that is not ignore_index.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& options = {});

/// nll_loss(log_softmax(input, class dim), target) for int64 class indices (shapes as nll_loss),
/// with PyTorch 1.13's label smoothing; or, for a floating-point target of input's shape, the
/// cross entropy with class probabilities (kMean divides by the number of samples N·d1·…·dk).
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
