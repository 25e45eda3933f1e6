#pragma once
// Internal: checks and index helpers shared by the volume transforms. A volume is (C, D, H, W),
// channel first as in MONAI; "spatial axis" 0, 1, 2 is D, H, W.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::data::detail {

using Index3 = std::array<std::int64_t, 3>;  // == data::Size3

/// Throws "{op}: expected {what} to be a (C, D, H, W) float32 or float64 volume, but got ..." unless it is.
void check_volume(const Tensor& t, const char* op, const char* what);

/// The spatial sizes (D, H, W) of a (C, D, H, W) volume.
Index3 spatial_sizes(const Tensor& volume);

/// Throws unless `axis` is a spatial axis (0, 1 or 2).
void check_spatial_axis(std::int64_t axis, const char* op, const char* what);

/// Throws unless every entry of `axes` is a spatial axis, each at most once (as torch.flip); returns
/// which of D, H, W they name.
std::array<bool, 3> flip_axes(const std::vector<std::int64_t>& axes, const char* op);

/// Throws unless image and label have the same spatial sizes ("{op}: image {shape} and label {shape} ...").
void check_same_grid(const Tensor& image, const Tensor& label, const char* op);

/// Throws unless every key in `keys` appears once: a dictionary transform moves each key's voxels
/// once and the example's affine once.
void check_unique_keys(const std::vector<std::string>& keys, const char* op);

}  // namespace voxgrad::data::detail
