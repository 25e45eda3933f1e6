#pragma once
// Options of the loss modules (nn/modules/loss.h) and functions (nn/functional/loss.h), and Reduction.

#include <cstdint>
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
