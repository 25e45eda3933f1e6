#pragma once
// The model side of the brain-extraction example: its loss, sliding-window prediction on the training
// grid, resampling back onto the file's grid, Dice, and the NIfTI of the predicted mask.

#include <string>

#include <voxgrad/voxgrad.h>

#include "brain_data.h"
#include "unet3d/unet.h"

namespace brain {

/// Dice loss + binary cross-entropy of one-logit-per-voxel `logits` against the 0/1 `target`
/// (MONAI's DiceCELoss(sigmoid=True, batch=True)).
voxgrad::Tensor segmentation_loss(const voxgrad::Tensor& logits, const voxgrad::Tensor& target);

/// Dice of two 0/1 masks of one shape ((1, Z, Y, X); metrics::compute_dice).
double dice(const voxgrad::Tensor& a, const voxgrad::Tensor& b);

/// Prediction with windows of the training patch size.
struct Inference {
  std::int64_t window;  ///< window edge in voxels of the training grid
  double spacing;       ///< the training grid's spacing in mm (the file's is 1 mm per axis here)

  /// Brain probabilities on the training grid for `image` ((1, Z, Y, X)), by sliding-window inference
  /// (overlap 0.25, Gaussian blending of the logits).
  voxgrad::Tensor probabilities(unet3d::UNet3d& model, const voxgrad::Tensor& image) const;
  /// The mask on the file's grid: probabilities resampled there (trilinear), thresholded at 0.5.
  voxgrad::Tensor native_mask(unet3d::UNet3d& model, const voxgrad::data::Example& volume) const;
  /// Dice over the held-out slab on the file's grid, the whole volume predicted.
  double heldout_dice(unet3d::UNet3d& model, const voxgrad::data::Example& volume, const Split& split) const;
};

/// Writes `mask` ((1, Z, Y, X), 0/1) as a uint8 NIfTI on the grid and affine of `reference` (a file).
void write_mask(const std::string& path, const voxgrad::Tensor& mask, const std::string& reference);

}  // namespace brain
