#pragma once
// Options of the loss modules (nn/modules/loss.h) and functions (nn/functional/loss.h), and Reduction.

#include <cstdint>

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

}  // namespace functional
}  // namespace nn
}  // namespace voxgrad
