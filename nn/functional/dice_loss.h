#pragma once
// Overlap losses for segmentation, after MONAI (monai.losses.DiceLoss, DiceCELoss) and the one-hot
// encoding they use (monai.networks.utils.one_hot).

#include <cstdint>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/options/loss.h"

namespace voxgrad::nn::functional {

/// Class indices → one-hot along `dim`, as MONAI's one_hot: labels [B, 1, …] (any dtype, integral
/// values in [0, num_classes)) give a [B, num_classes, …] tensor of `dtype` (float32 by default)
/// holding 1 at each voxel's class. Not differentiable. Throws for a labels dim that is not 1, a
/// non-integral value or one outside [0, num_classes), naming the value and its flat index.
Tensor one_hot(const Tensor& labels, std::int64_t num_classes, std::int64_t dim = 1, DType dtype = kFloat32);

/// MONAI's Dice loss of input [B, C, spatial…] (logits or probabilities) and target (the same shape,
/// floating point; or with to_onehot_y, class indices [B, 1, spatial…]):
///   f[b, c] = 1 − (2·Σ x·y + smooth_nr) / (Σ x + Σ y + smooth_dr)
/// summed over the spatial dims (and the batch with `batch`), after the optional sigmoid/softmax,
/// one-hot and background removal (see DiceLossOptions), times the class weight, then reduced.
/// Differentiable in the input (and a floating target). Where MONAI only warns -- softmax,
/// to_onehot_y or include_background(false) on a single channel, a wrong weight length -- voxgrad
/// throws; every error names dice_loss, the argument and the values.
Tensor dice_loss(const Tensor& input, const Tensor& target, const DiceLossFuncOptions& options = {});

/// MONAI's DiceCELoss: lambda_dice · dice_loss(input, target) + lambda_ce · the cross entropy of
/// the logits `input` -- cross_entropy with class indices (a [B, 1, …] target) or class
/// probabilities (a [B, C, …] target) for C > 1, binary_cross_entropy_with_logits (pos_weight =
/// weight) for C = 1 -- both reduced with the Dice options' reduction (kMean or kSum).
Tensor dice_ce_loss(const Tensor& input, const Tensor& target, const DiceCELossFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
