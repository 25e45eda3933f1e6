#pragma once
// The margin and embedding losses, as torch.nn.functional's: margin_ranking_loss, hinge_embedding_loss,
// soft_margin_loss, cosine_embedding_loss, triplet_margin_loss, triplet_margin_with_distance_loss,
// multi_margin_loss, multilabel_margin_loss and multilabel_soft_margin_loss. Labels are ±1 (or 0/1 for
// multilabel_soft_margin_loss) in a floating-point tensor, classes int64 indices; every loss reduces as kNone, kMean
// (the default) or kSum.

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/options/loss.h"

namespace voxgrad::nn::functional {

/// max(0, −target·(input1 − input2) + margin), the three broadcast; they must have the same number of dims (as
/// PyTorch). All three are differentiable (the gradient at the hinge itself is that of the linear part).
Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossFuncOptions& options = {});

/// input where target ≠ −1, plus max(0, margin − input) where target ≠ 1 (so both for labels other than ±1, as
/// PyTorch), broadcast. The input is differentiable; the target only selects.
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target,
                            const HingeEmbeddingLossFuncOptions& options = {});

/// log(1 + e^(−target·input)), of one shape. The input is differentiable; the target is not (PyTorch refuses to
/// differentiate it; here it gets no gradient).
Tensor soft_margin_loss(const Tensor& input, const Tensor& target, const SoftMarginLossFuncOptions& options = {});

/// 1 − cos(input1, input2) where target = 1, max(0, cos − margin) where target = −1 (0 for other labels), the
/// cosine over the last dim with 1e-12 added to each squared norm, as PyTorch: inputs (N, D) with target (N), or
/// (D) with a 0-d target. The inputs are differentiable; the target only selects.
Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             const CosineEmbeddingLossFuncOptions& options = {});

/// max(d(anchor, positive) − d(anchor, negative) + margin, 0), d = pairwise_distance(·, ·, p, eps) along the
/// last dim; with `swap`, d(anchor, negative) is replaced by d(positive, negative) where that is smaller. The
/// three must have the same number of dims; all three are differentiable.
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           const TripletMarginLossFuncOptions& options = {});

/// triplet_margin_loss with any distance: max(d(anchor, positive) − d(anchor, negative) + margin, 0), d the options'
/// distance_function (empty: pairwise_distance); with `swap`, d(anchor, negative) is replaced by d(positive,
/// negative) where that is smaller. margin must be > 0 and the three must have the same number of dims (as
/// PyTorch). Differentiable as far as d is.
Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                         const TripletMarginWithDistanceLossFuncOptions& options = {});

/// Multi-class hinge loss, as PyTorch's kernel: for input (N, C) (or (C), or 0-d as one class) and int64 target (N)
/// (or 0-d/(1)) in [0, C), the loss of sample n is Σ_{j ≠ y} w[y]·max(0, margin − x[y] + x[j])^p / C, p 1 or 2.
/// kNone gives one loss per sample (0-d for an unbatched input with a 0-d target). The input is differentiable
/// (no gradient where the hinge is 0, as PyTorch's); the weight and target are not.
Tensor multi_margin_loss(const Tensor& input, const Tensor& target, const MultiMarginLossFuncOptions& options = {});

/// Multi-label hinge loss, as PyTorch's kernel: for input (N, C) (or (C), or 0-d as one class) and an int64 target of
/// the same shape listing each sample's classes up to the first −1, the loss of a sample is
/// Σ_{listed j} Σ_{i not listed} max(0, 1 − x[j] + x[i]) / C (a class listed twice counts twice). kNone gives one loss
/// per sample (0-d for an unbatched input). A NaN hinge counts as 0 (z > 0 is false), as in PyTorch. Rounded as
/// PyTorch's kernel (each sample's hinges summed in double, rounded to the input's dtype), so the same bits. The
/// input is differentiable (no gradient where a hinge is 0), twice (PyTorch 1.13 has no double backward); the
/// target is not.
Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target,
                              const MultilabelMarginLossFuncOptions& options = {});

/// −(y·log σ(x) + (1 − y)·log σ(−x)), times the weight where given, averaged over the last dim (the classes):
/// one loss per sample, then reduced. Input and target (labels in [0, 1]) of one shape; both are differentiable,
/// as in PyTorch.
Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target,
                                   const MultilabelSoftMarginLossFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
