#pragma once
// A PNG of three orthogonal slices of a T1 volume with a mask outlined (stb_image_write, Debian's
// libstb-dev; the implementation is compiled once, in unet3d/png.cpp).

#include <string>

#include <voxgrad/voxgrad.h>

namespace brain {

/// Writes the axial, coronal and sagittal slices through `centre` (a (z, y, x) voxel) of `image`
/// ((1, Z, Y, X) with values in [0, 1], RAS voxel axes as in ch2.nii.gz) side by side into `path`:
/// gray levels, the outline of `mask` (same shape, nonzero inside) in red, and the plane x = `marker_x`
/// (the start of the held-out slab; -1 for none) as a cyan line in the axial and coronal views.
/// Superior and anterior are up, the subject's right is on the right (neurological view).
void write_outline_png(const std::string& path, const voxgrad::Tensor& image, const voxgrad::Tensor& mask,
                       std::array<std::int64_t, 3> centre, std::int64_t marker_x, int scale);

}  // namespace brain
