#pragma once
// Patch sampling around label voxels (MONAI RandCropByPosNegLabel): a patch centre is a foreground
// voxel (label != 0 in its one channel or, with several, in any channel but channel 0, a one-hot
// label's background, as MONAI) with probability pos / (pos + neg), else a background voxel,
// uniform among them; the centre is then moved the least needed for the patch to fit (MONAI's
// correct_crop_centers), and image and label are cut at the same box.

#include <array>
#include <string>
#include <vector>

#include "voxgrad/data/dataset.h"

namespace voxgrad::data {

/// Options of rand_crop_by_pos_neg_label. One call cuts one patch; for MONAI's num_samples patches per
/// volume wrap it in TransformDataset(base, transform, num_samples).
struct RandCropByPosNegLabelOptions {
  RandCropByPosNegLabelOptions(Size3 spatial_size)  // NOLINT: implicit
      : spatial_size_(spatial_size) {}
  /// Patch size (D, H, W).
  VOXGRAD_ARG(Size3, spatial_size);
  /// Relative weight of foreground-centred patches (>= 0).
  VOXGRAD_ARG(double, pos) = 1.0;
  /// Relative weight of background-centred patches (>= 0; pos + neg > 0).
  VOXGRAD_ARG(double, neg) = 1.0;
  /// The key the foreground is read from.
  VOXGRAD_ARG(std::string, label_key) = "label";
  /// The keys cropped (all on the label's grid).
  VOXGRAD_ARG(std::vector<std::string>, keys) = {"image", "label"};
};

/// Where the patch of `options.spatial_size()` starts in `label` ((C, D, H, W)): the centre is drawn as
/// above (two draws from `rng`), then start = clamp(centre - size / 2, 0, n - size) per axis. When the
/// label has no foreground (or no background) the other kind is used, as MONAI does; an Error when the
/// patch is larger than the volume.
Size3 pos_neg_crop_start(const Tensor& label, const RandCropByPosNegLabelOptions& options, Generator& rng);

/// The dictionary transform: cuts every key in `options.keys()` at pos_neg_crop_start of the label.
Transform rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions options);

}  // namespace voxgrad::data
