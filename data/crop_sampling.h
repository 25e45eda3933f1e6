#pragma once
// Patch sampling around label voxels (MONAI RandCropByPosNegLabel): a patch centre is a foreground
// voxel (label != 0 in its one channel or, with several, in any channel but channel 0, a one-hot
// label's background, as MONAI) with probability pos / (pos + neg), else a background voxel (label
// 0 and, when an image is given, image > image_threshold in some channel), uniform among them; the
// centre is then moved the least needed for the patch to fit (MONAI's correct_crop_centers), and
// image and label are cut at the same box.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "voxgrad/data/dataset.h"

namespace voxgrad::data {

/// Options of rand_crop_by_pos_neg_label. One call cuts one patch; for MONAI's num_samples patches per
/// volume wrap it in TransformDataset(base, transform, num_samples).
struct RandCropByPosNegLabelOptions {
  RandCropByPosNegLabelOptions(Size3 spatial_size)  // NOLINT: implicit
      : spatial_size_(spatial_size) {}
  /// Patch size (D, H, W); an entry <= 0 takes the volume's size along that axis (MONAI's
  /// fall_back_tuple: {32, 64, -1} on a 40^3 volume with allow_smaller cuts 32 x 40 x 40).
  VOXGRAD_ARG(Size3, spatial_size);
  /// Relative weight of foreground-centred patches (>= 0).
  VOXGRAD_ARG(double, pos) = 1.0;
  /// Relative weight of background-centred patches (>= 0; pos + neg > 0).
  VOXGRAD_ARG(double, neg) = 1.0;
  /// The key the foreground is read from.
  VOXGRAD_ARG(std::string, label_key) = "label";
  /// The keys cropped (all on the label's grid).
  VOXGRAD_ARG(std::vector<std::string>, keys) = {"image", "label"};
  /// The key of an image (on the label's grid) that limits the background: a background centre must
  /// also have image > image_threshold in at least one channel (MONAI's map_binary_to_indices,
  /// any(image > image_threshold, axis=0)), so that patches are not centred in the air around a scan.
  /// Foreground centres are not limited by it (as MONAI). None by default; unlike MONAI's dictionary
  /// transform, a missing key is an error rather than no limit.
  VOXGRAD_ARG(std::optional<std::string>, image_key);
  /// The threshold of image_key, compared in the image's dtype (the threshold rounded to it, as torch
  /// compares a float32 tensor with a Python float); a NaN voxel never exceeds it.
  VOXGRAD_ARG(double, image_threshold) = 0.0;
  /// Along an axis where the volume is smaller than spatial_size: false (MONAI's default) throws, true
  /// takes the whole extent of that axis, so the patch is smaller than spatial_size there (MONAI's
  /// allow_smaller; such patches take each volume's own size there, so patches of different volumes
  /// stack into one batch only where the volumes agree).
  VOXGRAD_ARG(bool, allow_smaller) = false;
  /// The example's affine (NIfTI convention, world = affine · (i, j, k, 1) with (i, j, k) = (w, h, d);
  /// (4, 4), stored as float64), when the example holds this key: moved with the patch as MONAI's
  /// MetaTensor, affine · T(start) (output voxel o is input voxel o + start, and spatial axis a is
  /// affine column 2 - a), so the patch keeps its place in the world. A malformed affine is an Error
  /// naming the transform, the key and its shape; no such key, nothing changes.
  VOXGRAD_ARG(std::string, affine_key) = "affine";
};

/// The patch size cut from a volume of spatial size `n` (D, H, W): spatial_size with its entries <= 0
/// replaced by n and, with allow_smaller, capped at n; an Error when it exceeds n otherwise.
Size3 pos_neg_crop_size(const Size3& n, const RandCropByPosNegLabelOptions& options);

/// Where the patch of pos_neg_crop_size starts in `label` ((C, D, H, W)): the centre is drawn as above
/// (two draws from `rng`), then start = clamp(centre - size / 2, 0, n - size) per axis. `image`, when
/// defined, limits the background to the voxels where it exceeds options.image_threshold() (the
/// transform passes options.image_key()'s). When there is no foreground (or no background) the other
/// kind is used, as MONAI does; an Error when there is neither (MONAI's "No sampling location
/// available") and as pos_neg_crop_size.
Size3 pos_neg_crop_start(const Tensor& label, const RandCropByPosNegLabelOptions& options, Generator& rng,
                         const Tensor& image = Tensor());

/// The dictionary transform: cuts every key in `options.keys()` at pos_neg_crop_start of the label, to
/// pos_neg_crop_size, and translates the affine (options.affine_key()) by that start.
Transform rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions options);

}  // namespace voxgrad::data
