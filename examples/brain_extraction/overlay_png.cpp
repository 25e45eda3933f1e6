#include "overlay_png.h"

#include <algorithm>
#include <vector>

#include <stb/stb_image_write.h>

namespace brain {

namespace {

using voxgrad::Tensor;

// One view: rows are drawn top to bottom, so the "up" axis is read reversed.
struct View {
  Tensor image, mask;       // (rows, cols), row 0 at the bottom (inferior / posterior)
  std::int64_t marker_col;  // column of the marker line, or -1
};

struct Rgb {
  unsigned char r, g, b;
};

// Paints `view` at column offset x0 of an RGB canvas `width` pixels wide.
void paint(const View& v, std::vector<Rgb>& canvas, int width, int x0, int scale) {
  const Tensor img = v.image.to(voxgrad::kFloat64).contiguous(), msk = v.mask.to(voxgrad::kFloat64).contiguous();
  const auto rows = img.size(0), cols = img.size(1);
  const double* p = img.data_ptr<double>();
  const double* m = msk.data_ptr<double>();
  auto inside = [&](std::int64_t r, std::int64_t c) {
    return r >= 0 && r < rows && c >= 0 && c < cols && m[r * cols + c] != 0;
  };
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      const auto g = static_cast<unsigned char>(std::clamp(p[r * cols + c], 0.0, 1.0) * 255.0 + 0.5);
      Rgb colour{g, g, g};
      const bool edge =
          inside(r, c) && (!inside(r - 1, c) || !inside(r + 1, c) || !inside(r, c - 1) || !inside(r, c + 1));
      if (edge) colour = {255, 40, 40};
      if (c == v.marker_col && !edge) colour = {0, 200, 220};
      const std::int64_t y_top = rows - 1 - r;  // up is up
      for (int dy = 0; dy < scale; ++dy) {
        for (int dx = 0; dx < scale; ++dx) {
          const auto y = static_cast<std::size_t>(y_top * scale + dy),
                     x = static_cast<std::size_t>(x0 + c * scale + dx);
          canvas[y * static_cast<std::size_t>(width) + x] = colour;
        }
      }
    }
  }
}

}  // namespace

void write_outline_png(const std::string& path, const Tensor& image, const Tensor& mask,
                       std::array<std::int64_t, 3> centre, std::int64_t marker_x, int scale) {
  const Tensor img = image.select(0, 0), msk = mask.select(0, 0);  // (Z, Y, X)
  const auto [z, y, x] = centre;
  const std::vector<View> views = {
      {img.select(0, z), msk.select(0, z), marker_x},  // axial: rows y, cols x
      {img.select(1, y), msk.select(1, y), marker_x},  // coronal: rows z, cols x
      {img.select(2, x), msk.select(2, x), -1},        // sagittal: rows z, cols y
  };
  const int gap = 4 * scale;
  int width = -gap, height = 0;
  for (const View& v : views) {
    width += static_cast<int>(v.image.size(1)) * scale + gap;
    height = std::max(height, static_cast<int>(v.image.size(0)) * scale);
  }
  std::vector<Rgb> canvas(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), Rgb{0, 0, 0});
  int x0 = 0;
  for (const View& v : views) {
    paint(v, canvas, width, x0, scale);
    x0 += static_cast<int>(v.image.size(1)) * scale + gap;
  }
  if (stbi_write_png(path.c_str(), width, height, 3, canvas.data(), width * 3) == 0) {
    throw voxgrad::Error(fmt::format("write_outline_png: cannot write {}", path));
  }
}

}  // namespace brain
