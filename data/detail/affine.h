#pragma once
// Internal: how the dictionary transforms that move voxels keep the example's affine true, as MONAI's
// MetaTensor does. The affine is in NIfTI's convention: world = A · (i, j, k, 1) with (i, j, k) =
// (w, h, d), i.e. affine column c belongs to spatial axis 2 - c (spatial axes 0, 1, 2 = D, H, W).
//
// The rule, written once: a transform that fills output voxel o from input position x = M · o (M the
// homogeneous 4×4 index map, output voxel index ↦ input voxel index, in the (i, j, k, 1) order) keeps
// every voxel where it was in the world when the affine becomes A' = A · M, since then
// A' · o = A · (M · o) = A · x. A flip of an axis of n voxels is x = n - 1 - o on that axis, a 90°
// rotation a signed permutation of the axes plus a shift, a crop at `start` x = o + start (MONAI's
// translation by the start), a pad x = o - pad_before, and spacing's resampling x = o · target / spacing.

#include <array>
#include <cstdint>
#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/data/example.h"

namespace voxgrad::data::detail {

/// Where output spatial axis j reads from: input spatial axis `from`, at x = scale · o + offset.
struct AxisMap {
  std::int64_t from = 0;
  double scale = 1.0;
  double offset = 0.0;
};

/// The index map of a transform, one entry per output spatial axis (D, H, W).
using SpatialMap = std::array<AxisMap, 3>;

/// The identity map (no voxel moves).
SpatialMap identity_map();

/// The homogeneous 4×4 M of `map` in NIfTI's (i, j, k, 1) order, row-major: output axis j is column
/// 2 - j, input axis `from` is row 2 - from, so M[2 - from][2 - j] = scale and M[2 - from][3] = offset.
std::array<std::array<double, 4>, 4> index_matrix(const SpatialMap& map);

/// The affine under `key` as a float64 (4, 4) tensor, or an undefined tensor when the example holds no
/// such key; an Error "{op}: '{key}' must be (4, 4), but has shape {shape}" when it holds another shape.
Tensor find_affine(const Example& example, const std::string& key, const char* op);

/// affine · index_matrix(map), a new float64 (4, 4) tensor (`affine` as find_affine returns it).
Tensor moved_affine(const Tensor& affine, const SpatialMap& map);

}  // namespace voxgrad::data::detail
