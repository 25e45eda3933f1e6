#pragma once
// Resampling to a target voxel spacing (MONAI Spacing / Spacingd): trilinear for images, nearest for
// labels.
//
// Grid convention: voxel indices are voxel centres. The centre of voxel 0 stays where it is; output
// voxel j (per axis) sits at input coordinate x = j * target / spacing, and the output has
// m = max(1, round((n - 1) * spacing * (1 / target) + 1)) voxels (half to even), as MONAI's Spacing
// (scale_extent=False, with the affine's origin at 0): the extent from the first to the last voxel
// centre is kept to within a voxel. (MONAI takes the extent through its affines, so where it lies
// within rounding of a half, an origin away from 0 may tip MONAI's size by one.) Points beyond the
// last input centre take the border value (MONAI's padding_mode "border"). Linear:
// (1 - w) * in[floor(x)] + w * in[floor(x) + 1], w = x - floor(x), per axis. Nearest:
// in[floor(x + 0.5)]. The affine, in NIfTI's convention (world = affine · (i, j, k, 1) with
// (i, j, k) = (w, h, d), io/nifti.h), becomes affine · diag(r_w, r_h, r_d, 1), r = target / spacing:
// its columns scale and its origin stays.

#include <array>
#include <string>
#include <vector>

#include "voxgrad/data/dataset.h"

namespace voxgrad::data {

enum class Interpolation { Linear, Nearest };

/// The output spatial size for `size` voxels of `spacing` resampled to `target` (see above).
Size3 resampled_size(Size3 size, Spacing3 spacing, Spacing3 target);

/// `volume` ((C, D, H, W), spacing in D, H, W order) resampled onto the grid of `size` voxels of
/// `target` spacing whose voxel 0 is the input's (e.g. back onto an original grid: a 182-voxel 1 mm axis
/// downsampled to 92 voxels of 2 mm returns to 182, where resample_to_spacing would give 183).
Tensor resample_to_grid(const Tensor& volume, Spacing3 spacing, Spacing3 target, Size3 size, Interpolation mode);

/// `volume` ((C, D, H, W), spacing in D, H, W order) resampled to `target` spacing:
/// resample_to_grid with size resampled_size(...).
Tensor resample_to_spacing(const Tensor& volume, Spacing3 spacing, Spacing3 target, Interpolation mode);

/// Options of the spacing transform: linear keys (images) and nearest keys (labels) all on one grid,
/// whose spacing is read from (and written back to) `spacing_key`, a float64 (3,) tensor in D, H, W
/// order; an `affine_key` tensor (float64 (4, 4)), when present, is updated too.
struct SpacingOptions {
  SpacingOptions(Spacing3 target) : target_(target) {}  // NOLINT: implicit
  VOXGRAD_ARG(Spacing3, target);
  VOXGRAD_ARG(std::vector<std::string>, linear_keys) = {"image"};
  VOXGRAD_ARG(std::vector<std::string>, nearest_keys) = {"label"};
  VOXGRAD_ARG(std::string, spacing_key) = "spacing";
  VOXGRAD_ARG(std::string, affine_key) = "affine";
};

/// The dictionary transform (MONAI Spacingd with mode ("bilinear", "nearest")).
Transform spacing(SpacingOptions options);

}  // namespace voxgrad::data
