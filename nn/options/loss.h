#pragma once
// Options of the loss modules (nn/modules/loss.h) and functions (nn/functional/loss.h), and Reduction.

#include <cstdint>
#include <functional>
#include <utility>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad {

/// How a loss reduces its element-wise values.
enum class Reduction { None, Mean, Sum };
/// No reduction: the element-wise losses, as torch::kNone.
inline constexpr Reduction kNone = Reduction::None;
/// The mean (weighted losses: divided by the total weight), as torch::kMean.
inline constexpr Reduction kMean = Reduction::Mean;
/// The sum, as torch::kSum.
inline constexpr Reduction kSum = Reduction::Sum;
/// "none", "mean" or "sum".
const char* reduction_name(Reduction reduction);

/// How kl_div reduces: Reduction's three, plus the sum divided by the batch size (the input's first dim).
enum class KLDivReduction { None, BatchMean, Sum, Mean };
/// kl_div's sum over the batch divided by its size, as torch::kBatchMean (the KL divergence per sample).
inline constexpr KLDivReduction kBatchMean = KLDivReduction::BatchMean;

namespace nn {

/// Options of mse_loss / MSELoss, as torch::nn::MSELossOptions.
struct MSELossOptions {
  /// Options with `reduction` (kMean by default).
  MSELossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
};

/// Options of l1_loss / L1Loss, as torch::nn::L1LossOptions.
struct L1LossOptions {
  /// Options with `reduction` (kMean by default).
  L1LossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
};

/// Options of smooth_l1_loss / SmoothL1Loss, as torch::nn::SmoothL1LossOptions.
struct SmoothL1LossOptions {
  /// Options with `reduction` (kMean by default).
  SmoothL1LossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// Where the loss changes from quadratic to linear (≥ 0; 0 gives the L1 loss).
  VOXGRAD_ARG(double, beta) = 1.0;
};

/// Options of huber_loss / HuberLoss, as torch::nn::HuberLossOptions.
struct HuberLossOptions {
  /// Options with `reduction` (kMean by default).
  HuberLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// Where the loss changes from quadratic to linear (> 0).
  VOXGRAD_ARG(double, delta) = 1.0;
};

/// Options of kl_div / KLDivLoss, as torch::nn::KLDivLossOptions: `KLDivLossOptions(kBatchMean)`.
struct KLDivLossOptions {
  /// Options with `reduction` (kMean by default, as PyTorch; kBatchMean gives the divergence per sample).
  KLDivLossOptions(KLDivReduction reduction = KLDivReduction::Mean) : reduction_(reduction) {}  // NOLINT
  /// Options with kNone, kMean or kSum.
  KLDivLossOptions(Reduction reduction) : reduction_(from(reduction)) {}  // NOLINT
  /// kNone, kMean or kSum.
  KLDivLossOptions& reduction(Reduction r) { return reduction(from(r)); }
  /// kNone, kBatchMean, kSum or kMean.
  VOXGRAD_ARG(KLDivReduction, reduction);
  /// The target holds log-probabilities (else probabilities).
  VOXGRAD_ARG(bool, log_target) = false;

 private:
  // Reduction's three to theirs; any other value stays invalid (kl_div then names it).
  static KLDivReduction from(Reduction r) {
    return r == Reduction::None   ? KLDivReduction::None
           : r == Reduction::Sum  ? KLDivReduction::Sum
           : r == Reduction::Mean ? KLDivReduction::Mean
                                  : static_cast<KLDivReduction>(static_cast<int>(r));
  }
};

/// Options of gaussian_nll_loss / GaussianNLLLoss, as torch.nn.GaussianNLLLoss's arguments.
struct GaussianNLLLossOptions {
  /// Options with `reduction` (kMean by default).
  GaussianNLLLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// Add the constant ½·log(2π).
  VOXGRAD_ARG(bool, full) = false;
  /// The variance is clamped to at least this in the loss's value (not in its gradient), as PyTorch.
  VOXGRAD_ARG(double, eps) = 1e-6;
};

/// Options of poisson_nll_loss / PoissonNLLLoss, as torch::nn::PoissonNLLLossOptions.
struct PoissonNLLLossOptions {
  /// Options with `reduction` (kMean by default).
  PoissonNLLLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// The input is the log of the rate: e^input − target·input (else input − target·log(input + eps)).
  VOXGRAD_ARG(bool, log_input) = true;
  /// Add Stirling's approximation of log(target!) where target > 1.
  VOXGRAD_ARG(bool, full) = false;
  /// Added to the rate inside the log when log_input is false.
  VOXGRAD_ARG(double, eps) = 1e-8;
};

/// Options of binary_cross_entropy / BCELoss, as torch::nn::BCELossOptions.
struct BCELossOptions {
  /// Options with `reduction` (kMean by default).
  BCELossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// Rescaling weight of each element, broadcast to the input (undefined: none).
  VOXGRAD_ARG(Tensor, weight);
};

/// Options of binary_cross_entropy_with_logits / BCEWithLogitsLoss, as torch::nn::BCEWithLogitsLossOptions.
struct BCEWithLogitsLossOptions {
  /// Options with `reduction` (kMean by default).
  BCEWithLogitsLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// Rescaling weight of each element, broadcast to the input (undefined: none).
  VOXGRAD_ARG(Tensor, weight);
  /// Weight of the positive term, broadcast to the input (usually one per class, the last dim).
  VOXGRAD_ARG(Tensor, pos_weight);
};

/// Options of nll_loss / NLLLoss, as torch::nn::NLLLossOptions.
struct NLLLossOptions {
  /// Options with `reduction` (kMean by default).
  NLLLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean (divided by the summed weights of the non-ignored targets) or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// A weight per class, shape (C) (undefined: all 1).
  VOXGRAD_ARG(Tensor, weight);
  /// Targets equal to this contribute nothing (neither loss nor weight).
  VOXGRAD_ARG(std::int64_t, ignore_index) = -100;
};

/// Options of cross_entropy / CrossEntropyLoss, as torch::nn::CrossEntropyLossOptions.
struct CrossEntropyLossOptions {
  /// Options with `reduction` (kMean by default).
  CrossEntropyLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean (class indices: divided by the summed weights of the non-ignored targets) or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// A weight per class, shape (C) (undefined: all 1).
  VOXGRAD_ARG(Tensor, weight);
  /// Class-index targets equal to this contribute nothing.
  VOXGRAD_ARG(std::int64_t, ignore_index) = -100;
  /// In [0, 1]: the target mixes (1 − ε)·one-hot with ε/C uniform, as PyTorch.
  VOXGRAD_ARG(double, label_smoothing) = 0.0;
};

/// Options of margin_ranking_loss / MarginRankingLoss, as torch::nn::MarginRankingLossOptions.
struct MarginRankingLossOptions {
  /// Options with `reduction` (kMean by default).
  MarginRankingLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// The loss is max(0, −y·(x1 − x2) + margin).
  VOXGRAD_ARG(double, margin) = 0.0;
};

/// Options of hinge_embedding_loss / HingeEmbeddingLoss, as torch::nn::HingeEmbeddingLossOptions.
struct HingeEmbeddingLossOptions {
  /// Options with `reduction` (kMean by default).
  HingeEmbeddingLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// The loss of a pair labelled −1 is max(0, margin − x).
  VOXGRAD_ARG(double, margin) = 1.0;
};

/// Options of soft_margin_loss / SoftMarginLoss, as torch::nn::SoftMarginLossOptions.
struct SoftMarginLossOptions {
  /// Options with `reduction` (kMean by default).
  SoftMarginLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
};

/// Options of cosine_embedding_loss / CosineEmbeddingLoss, as torch::nn::CosineEmbeddingLossOptions.
struct CosineEmbeddingLossOptions {
  /// Options with `reduction` (kMean by default).
  CosineEmbeddingLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// The loss of a pair labelled −1 is max(0, cos − margin) (PyTorch suggests 0 to 0.5).
  VOXGRAD_ARG(double, margin) = 0.0;
};

/// Options of triplet_margin_loss / TripletMarginLoss, as torch::nn::TripletMarginLossOptions.
struct TripletMarginLossOptions {
  /// Options with `reduction` (kMean by default).
  TripletMarginLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// The loss is max(d(a, p) − d(a, n) + margin, 0).
  VOXGRAD_ARG(double, margin) = 1.0;
  /// The norm of the distances (pairwise_distance's p).
  VOXGRAD_ARG(double, p) = 2.0;
  /// Added to the differences before the norm (pairwise_distance's eps).
  VOXGRAD_ARG(double, eps) = 1e-6;
  /// Use d(p, n) as the negative distance where it is smaller (the distance swap of Balntas et al.).
  VOXGRAD_ARG(bool, swap) = false;
};

/// Options of multi_margin_loss / MultiMarginLoss, as torch::nn::MultiMarginLossOptions.
struct MultiMarginLossOptions {
  /// Options with `reduction` (kMean by default).
  MultiMarginLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone (one loss per sample), kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// The power of the hinge: 1 or 2.
  VOXGRAD_ARG(std::int64_t, p) = 1;
  /// The hinge is max(0, margin − x[y] + x[j]).
  VOXGRAD_ARG(double, margin) = 1.0;
  /// A weight per class, shape (C), multiplying the terms of a sample by its target class's (undefined: all 1).
  VOXGRAD_ARG(Tensor, weight);
};

/// Options of multilabel_margin_loss / MultiLabelMarginLoss, as torch::nn::MultiLabelMarginLossOptions.
struct MultiLabelMarginLossOptions {
  /// Options with `reduction` (kMean by default).
  MultiLabelMarginLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone (one loss per sample), kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
};

/// Options of multilabel_soft_margin_loss / MultiLabelSoftMarginLoss, as torch::nn::MultiLabelSoftMarginLossOptions.
struct MultiLabelSoftMarginLossOptions {
  /// Options with `reduction` (kMean by default).
  MultiLabelSoftMarginLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone (one loss per sample), kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// A weight per class, broadcast to the input (usually shape (C); undefined: all 1).
  VOXGRAD_ARG(Tensor, weight);
};

/// A distance between two batches of embeddings: one value per pair (as pairwise_distance).
using DistanceFunction = std::function<Tensor(const Tensor&, const Tensor&)>;

/// Options of triplet_margin_with_distance_loss / TripletMarginWithDistanceLoss, as
/// torch::nn::TripletMarginWithDistanceLossOptions.
struct TripletMarginWithDistanceLossOptions {
  /// Options with `reduction` (kMean by default).
  TripletMarginWithDistanceLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kNone, kMean or kSum.
  VOXGRAD_ARG(Reduction, reduction);
  /// d(x, y), differentiable (empty: pairwise_distance with p = 2 and eps = 1e-6).
  VOXGRAD_ARG(DistanceFunction, distance_function);
  /// The loss is max(d(a, p) − d(a, n) + margin, 0); must be > 0.
  VOXGRAD_ARG(double, margin) = 1.0;
  /// Use d(p, n) as the negative distance where it is smaller.
  VOXGRAD_ARG(bool, swap) = false;
};

/// Options of dice_loss / DiceLoss, as MONAI's DiceLoss (same names and defaults):
/// `DiceLossOptions().softmax(true).to_onehot_y(true).include_background(false)`.
struct DiceLossOptions {
  /// Options with `reduction` (kMean by default).
  DiceLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  /// kMean (over batch and classes), kSum, or kNone (the [B, C] values shaped [B, C, 1, …, 1], as MONAI).
  VOXGRAD_ARG(Reduction, reduction);
  /// Keep channel 0 (false drops it from input and target after the activation and one-hot).
  VOXGRAD_ARG(bool, include_background) = true;
  /// The target is class indices [B, 1, …]: one-hot encode it to the input's C channels.
  VOXGRAD_ARG(bool, to_onehot_y) = false;
  /// Apply a sigmoid to the input first.
  VOXGRAD_ARG(bool, sigmoid) = false;
  /// Apply a softmax over the channels to the input first (not together with sigmoid).
  VOXGRAD_ARG(bool, softmax) = false;
  /// Square input and target in the denominator (Milletari et al.'s V-Net form).
  VOXGRAD_ARG(bool, squared_pred) = false;
  /// Jaccard (soft IoU) instead of Dice: denominator 2·(|X| + |Y| − |X∩Y|).
  VOXGRAD_ARG(bool, jaccard) = false;
  /// Added to the numerator (2·|X∩Y| + smooth_nr).
  VOXGRAD_ARG(double, smooth_nr) = 1e-5;
  /// Added to the denominator (|X| + |Y| + smooth_dr).
  VOXGRAD_ARG(double, smooth_dr) = 1e-5;
  /// Sum intersection and sizes over the batch too, giving one value per class.
  VOXGRAD_ARG(bool, batch) = false;
  /// Weight of each class that remains after include_background, shape (C') or a scalar (undefined: none).
  VOXGRAD_ARG(Tensor, weight);
};

/// Options of dice_ce_loss / DiceCELoss, as MONAI's DiceCELoss: the Dice options (whose reduction,
/// kMean or kSum, and class weight apply to both terms) plus the terms' weights:
/// `DiceCELossOptions(DiceLossOptions().softmax(true).to_onehot_y(true)).lambda_ce(0.5)`.
struct DiceCELossOptions {
  /// Options with the Dice term's options (MONAI's defaults otherwise).
  DiceCELossOptions(DiceLossOptions dice = {}) : dice_(std::move(dice)) {}  // NOLINT
  /// The Dice term's options; reduction and weight apply to the cross entropy too.
  VOXGRAD_ARG(DiceLossOptions, dice);
  /// Weight of the Dice term (≥ 0).
  VOXGRAD_ARG(double, lambda_dice) = 1.0;
  /// Weight of the cross-entropy term (≥ 0).
  VOXGRAD_ARG(double, lambda_ce) = 1.0;
  /// Label smoothing of the cross-entropy term (multi-channel input only), in [0, 1].
  VOXGRAD_ARG(double, label_smoothing) = 0.0;
};

namespace functional {

/// Options of mse_loss (the module's).
using MSELossFuncOptions = MSELossOptions;
/// Options of l1_loss.
using L1LossFuncOptions = L1LossOptions;
/// Options of smooth_l1_loss.
using SmoothL1LossFuncOptions = SmoothL1LossOptions;
/// Options of huber_loss.
using HuberLossFuncOptions = HuberLossOptions;
/// Options of kl_div.
using KLDivFuncOptions = KLDivLossOptions;
/// Options of gaussian_nll_loss.
using GaussianNLLLossFuncOptions = GaussianNLLLossOptions;
/// Options of poisson_nll_loss.
using PoissonNLLLossFuncOptions = PoissonNLLLossOptions;
/// Options of margin_ranking_loss.
using MarginRankingLossFuncOptions = MarginRankingLossOptions;
/// Options of hinge_embedding_loss.
using HingeEmbeddingLossFuncOptions = HingeEmbeddingLossOptions;
/// Options of soft_margin_loss.
using SoftMarginLossFuncOptions = SoftMarginLossOptions;
/// Options of cosine_embedding_loss.
using CosineEmbeddingLossFuncOptions = CosineEmbeddingLossOptions;
/// Options of triplet_margin_loss.
using TripletMarginLossFuncOptions = TripletMarginLossOptions;
/// Options of functional::multi_margin_loss (the module's).
using MultiMarginLossFuncOptions = MultiMarginLossOptions;
/// Options of functional::multilabel_margin_loss (the module's).
using MultilabelMarginLossFuncOptions = MultiLabelMarginLossOptions;
/// Options of functional::multilabel_soft_margin_loss (the module's).
using MultilabelSoftMarginLossFuncOptions = MultiLabelSoftMarginLossOptions;
/// Options of functional::triplet_margin_with_distance_loss (the module's).
using TripletMarginWithDistanceLossFuncOptions = TripletMarginWithDistanceLossOptions;
/// Options of binary_cross_entropy.
using BinaryCrossEntropyFuncOptions = BCELossOptions;
/// Options of binary_cross_entropy_with_logits.
using BinaryCrossEntropyWithLogitsFuncOptions = BCEWithLogitsLossOptions;
/// Options of nll_loss.
using NLLLossFuncOptions = NLLLossOptions;
/// Options of cross_entropy.
using CrossEntropyFuncOptions = CrossEntropyLossOptions;
/// Options of dice_loss.
using DiceLossFuncOptions = DiceLossOptions;
/// Options of dice_ce_loss.
using DiceCELossFuncOptions = DiceCELossOptions;

}  // namespace functional
}  // namespace nn
}  // namespace voxgrad
