#pragma once
// Spatial transforms of (C, D, H, W) volumes that move voxels without interpolation — flips, 90°
// rotations, crops — and their random dictionary versions, which draw once per example and apply the
// same move to every listed key (image and label stay aligned). MONAI: Flip / RandFlipd,
// Rotate90 / RandRotate90d, SpatialCrop.
//
// The dictionary versions also move the example's affine (`affine_key`, "affine" by default, a (4, 4)
// tensor in NIfTI's convention world = affine · (i, j, k, 1), (i, j, k) = (w, h, d); stored as
// float64), when the example holds it, as MONAI's MetaTensor does: with M the homogeneous map from an
// output voxel index to the input voxel it was taken from, the affine becomes affine · M, so every
// voxel keeps its world position. Spatial axis a (0, 1, 2 = D, H, W) is affine column 2 - a. A flip of
// axis a of n voxels (x = n - 1 - o) is M = identity with M[c][c] = -1, M[c][3] = n - 1, c = 2 - a;
// a rotation is the signed permutation of rot90's index map below plus its shift (n - 1 of each
// input axis read backwards). The affine is stored as float64 whether a move was drawn or not.
// Axis numbers count D, H, W: MONAI's (C, W, H, D)-ordered arrays (i, j, k as NIfTI stores them)
// number them the other way, so MONAI's spatial axis a is voxgrad's 2 - a (MONAI's default
// Rotate90 plane spatial_axes=(0, 1) is voxgrad's axes {2, 1}). A malformed affine is an Error naming the transform,
// the key and its shape, and with an affine the keys must share one spatial size (the grid it describes).

#include <array>
#include <string>
#include <vector>

#include "voxgrad/data/dataset.h"

namespace voxgrad::data {

/// `volume` reversed along each spatial axis in `axes` (0, 1, 2 = D, H, W; each at most once, as
/// torch.flip). Any strides; a new tensor.
Tensor flip(const Tensor& volume, const std::vector<std::int64_t>& axes);

/// `volume` rotated by k * 90° in the plane of spatial axes (a, b), from a towards b (numpy.rot90 on
/// the spatial axes, as MONAI's Rotate90): k = 1 maps out[.., i, j] = in[.., j, n_b - 1 - i]. k may
/// be negative; the two axes' sizes swap when k is odd. (voxgrad::rot90, ops/reorder.h, turns any two
/// dims of a tensor, counted with the channel dim; with both namespaces in use, name this one data::rot90.)
Tensor rot90(const Tensor& volume, std::int64_t k, Axes2 axes = {0, 1});

/// The box of `size` starting at `start` (spatial), as a new contiguous tensor; an Error naming the
/// box and the volume when it does not fit.
Tensor crop(const Tensor& volume, Size3 start, Size3 size);

/// Options of rand_flip: each spatial axis in `axes` is flipped with probability `prob`, independently
/// (as one MONAI RandFlipd per axis; a single RandFlipd with several axes flips all or none of them,
/// with prob 0.1 by default).
struct RandFlipOptions {
  RandFlipOptions(std::vector<std::string> keys = {"image", "label"}) : keys_(std::move(keys)) {}  // NOLINT
  VOXGRAD_ARG(std::vector<std::string>, keys);
  VOXGRAD_ARG(double, prob) = 0.5;
  VOXGRAD_ARG(std::vector<std::int64_t>, axes) = {0, 1, 2};
  /// The affine moved with the voxels when the example holds it (see above); otherwise ignored.
  VOXGRAD_ARG(std::string, affine_key) = "affine";
};

/// Random flips, one draw per axis per example, applied to every key alike and to the affine.
Transform rand_flip(RandFlipOptions options = {});

/// Options of rand_rotate90 (MONAI RandRotate90d): with probability `prob`, rotate by k * 90°, k
/// uniform in {1, ..., max_k}, in the plane `axes`.
struct RandRotate90Options {
  RandRotate90Options(std::vector<std::string> keys = {"image", "label"}) : keys_(std::move(keys)) {}  // NOLINT
  VOXGRAD_ARG(std::vector<std::string>, keys);
  VOXGRAD_ARG(double, prob) = 0.1;
  VOXGRAD_ARG(std::int64_t, max_k) = 3;
  VOXGRAD_ARG(Axes2, axes) = {0, 1};
  /// The affine moved with the voxels when the example holds it (see above); otherwise ignored.
  VOXGRAD_ARG(std::string, affine_key) = "affine";
};

/// Random 90° rotations, one draw per example, applied to every key alike and to the affine. The axes
/// are checked when the transform is made.
Transform rand_rotate90(RandRotate90Options options = {});

}  // namespace voxgrad::data
