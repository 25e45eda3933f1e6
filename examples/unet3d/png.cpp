#include "png.h"

#include <algorithm>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace unet3d {

void write_slices_png(const std::string& path, const std::vector<voxgrad::Tensor>& slices, int scale) {
  if (slices.empty()) return;
  const voxgrad::Tensor first = slices[0].reshape({slices[0].size(-2), slices[0].size(-1)});
  const int h = static_cast<int>(first.size(0)), w = static_cast<int>(first.size(1));
  const int gap = 2 * scale;
  const int width = static_cast<int>(slices.size()) * (w * scale + gap) - gap, height = h * scale;
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width * height), 255);
  for (std::size_t k = 0; k < slices.size(); ++k) {
    const voxgrad::Tensor s = slices[k].reshape({h, w}).to(voxgrad::kFloat64).contiguous();
    const double* v = s.data_ptr<double>();
    const int x0 = static_cast<int>(k) * (w * scale + gap);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < w * scale; ++x) {
        const double value = std::clamp(v[(y / scale) * w + x / scale], 0.0, 1.0);
        pixels[static_cast<std::size_t>(y * width + x0 + x)] = static_cast<unsigned char>(value * 255.0 + 0.5);
      }
    }
  }
  if (stbi_write_png(path.c_str(), width, height, 1, pixels.data(), width) == 0) {
    throw voxgrad::Error(fmt::format("write_slices_png: cannot write {}", path));
  }
}

}  // namespace unet3d
