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

/// 0.5·d² where |d| < delta, else delta·(|d| − 0.5·delta) (d = input − target), reduced; delta > 0. Same shape
/// rules as mse_loss. (smooth_l1_loss with β = delta, times delta.)
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossFuncOptions& options = {});

/// The Kullback-Leibler divergence of target from input (log-probabilities): target·(log target − input) with
/// 0·log 0 = 0 (xlogy), or e^target·(target − input) with log_target; reduced as kNone, kSum, kMean or kBatchMean
/// (the sum over the batch's first dim divided by its size). Same shape rules as mse_loss (PyTorch broadcasts
/// kl_div's operands silently). Both are differentiable; as PyTorch's, the target gradient is NaN where a
/// probability target is 0.
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& options = {});

/// The negative log likelihood of target under a Gaussian of mean input and variance var:
/// ½·(log max(var, eps) + (input − target)² / max(var, eps)) (+ ½·log 2π with `full`), reduced. var has input's
/// shape, or that shape without its last dim, or with a last dim of 1; it must not be negative (NaN passes, as in
/// PyTorch). The clamp to eps is in the value only: the variance's gradient is that of the unclamped loss taken at
/// the clamped value, as PyTorch's. All three are differentiable. input and target must have one shape (PyTorch
/// broadcasts them); the result takes the three's common dtype.
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                         const GaussianNLLLossFuncOptions& options = {});

/// The negative log likelihood of target under a Poisson distribution: e^input − target·input (log_input), or
/// input − target·log(input + eps); with `full`, plus Stirling's target·log target − target + ½·log(2π·target)
/// where target > 1. Same shape rules as mse_loss; both are differentiable.
Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, const PoissonNLLLossFuncOptions& options = {});

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
