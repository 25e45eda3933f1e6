#pragma once
// The data side of the brain-extraction example: the T1 / brain-mask pair read through
// voxgrad::data, preprocessed once (intensities to [0, 1], the mask binarised, both resampled to the
// training spacing) and cached, and the split into a training region and a held-out slab.

#include <memory>
#include <string>

#include <voxgrad/voxgrad.h>

namespace brain {

/// Where training patches may come from and where validation happens, along the volume's x axis (the
/// last axis of (1, Z, Y, X), left to right). Training patches lie in columns [0, train_end) of the
/// training grid; the held-out slab is columns [slab_start, X) there and [native_slab_start, X_native)
/// on the file's grid; between them is a margin of at least half a patch.
struct Split {
  std::int64_t train_end = 0;
  std::int64_t slab_start = 0;
  std::int64_t native_slab_start = 0;
  double margin_mm = 0;  ///< from the last training voxel centre to the first held-out one
};

/// The split for a slab starting `slab_mm` mm into the native x axis, for patches `patch` voxels wide
/// on a grid of `spacing` mm (native spacing `native_spacing` mm); an Error when no patch fits.
Split make_split(std::int64_t native_x, double native_spacing, double spacing, std::int64_t patch, double slab_mm);

/// The example's preprocessed volume: keys "image" and "label" on the training grid, "image_native"
/// (in [0, 1]) and "label_native" (0/1) on the file's grid, "affine_native" (the file's (4, 4) affine,
/// for writing the prediction) and "spacing" (the training grid's).
std::shared_ptr<const voxgrad::data::Dataset> preprocessed_pair(const std::string& image, const std::string& mask,
                                                                double spacing, std::size_t cache_bytes);

/// The training patches: from columns [0, split.train_end) of the training grid, centred on brain or
/// not with equal odds (RandCropByPosNegLabel), with random intensity scale and shift; `patches` of
/// them per epoch.
std::shared_ptr<const voxgrad::data::Dataset> training_patches(std::shared_ptr<const voxgrad::data::Dataset> volume,
                                                               const Split& split, std::int64_t patch,
                                                               std::int64_t patches);

}  // namespace brain
