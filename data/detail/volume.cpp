#include "voxgrad/data/detail/volume.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"

namespace voxgrad::data::detail {

void check_volume(const Tensor& t, const char* op, const char* what) {
  VOXGRAD_CHECK(t.defined(), "{}: {} is undefined", op, what);
  VOXGRAD_CHECK(t.dim() == 4 && t.dtype() != kInt64,
                "{}: expected {} to be a (C, D, H, W) float32 or float64 volume, but got a {} tensor of shape {}", op,
                what, dtype_name(t.dtype()), shape_str(t.sizes()));
}

Index3 spatial_sizes(const Tensor& volume) { return {volume.size(1), volume.size(2), volume.size(3)}; }

void check_spatial_axis(std::int64_t axis, const char* op, const char* what) {
  VOXGRAD_CHECK(axis >= 0 && axis < 3, "{}: {} must be a spatial axis (0, 1 or 2 for D, H, W), but got {}", op, what,
                axis);
}

std::array<bool, 3> flip_axes(const std::vector<std::int64_t>& axes, const char* op) {
  std::array<bool, 3> named{};
  for (const std::int64_t axis : axes) {
    check_spatial_axis(axis, op, "each axis");
    // torch.flip refuses a repeated dim rather than flipping it back.
    VOXGRAD_CHECK(!named[static_cast<std::size_t>(axis)], "{}: axis {} appears multiple times in axes {}", op, axis,
                  axes);
    named[static_cast<std::size_t>(axis)] = true;
  }
  return named;
}

void check_same_grid(const Tensor& image, const Tensor& label, const char* op) {
  VOXGRAD_CHECK(spatial_sizes(image) == spatial_sizes(label), "{}: image {} and label {} have different spatial sizes",
                op, shape_str(image.sizes()), shape_str(label.sizes()));
}

void check_unique_keys(const std::vector<std::string>& keys, const char* op) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      VOXGRAD_CHECK(keys[i] != keys[j], "{}: key '{}' appears more than once in keys {}", op, keys[i], keys);
    }
  }
}

}  // namespace voxgrad::data::detail
