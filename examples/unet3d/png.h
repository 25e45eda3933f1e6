#pragma once
// Writes 2-D slices side by side as one grayscale PNG (values clamped to [0, 1], each pixel
// enlarged `scale` times), with stb_image_write from Debian's libstb-dev.

#include <string>
#include <vector>

#include <voxgrad/voxgrad.h>

namespace unet3d {

/// Writes `slices` (each (1, H, W) or (H, W), equal shapes) left to right into `path`.
void write_slices_png(const std::string& path, const std::vector<voxgrad::Tensor>& slices, int scale);

}  // namespace unet3d
