#include "voxgrad/data/detail/affine.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"

namespace voxgrad::data::detail {

SpatialMap identity_map() { return {AxisMap{0, 1.0, 0.0}, AxisMap{1, 1.0, 0.0}, AxisMap{2, 1.0, 0.0}}; }

std::array<std::array<double, 4>, 4> index_matrix(const SpatialMap& map) {
  std::array<std::array<double, 4>, 4> m{};
  m[3][3] = 1.0;
  for (std::size_t j = 0; j < 3; ++j) {
    const AxisMap& a = map[j];
    VOXGRAD_CHECK(a.from >= 0 && a.from < 3, "index_matrix: output axis {} reads from {}, not a spatial axis", j,
                  a.from);
    // Input index (row) 2 - from = scale · output index (column) 2 - j + offset.
    const auto row = static_cast<std::size_t>(2 - a.from), col = 2 - j;
    m[row][col] = a.scale;
    m[row][3] = a.offset;
  }
  return m;
}

Tensor find_affine(const Example& example, const std::string& key, const char* op) {
  if (!example.contains(key)) return Tensor();
  const Tensor& a = example.at(key);
  VOXGRAD_CHECK(a.defined() && a.sizes() == Shape({4, 4}), "{}: '{}' must be (4, 4), but has shape {}", op, key,
                a.defined() ? shape_str(a.sizes()) : std::string("(undefined)"));
  return a.to(kFloat64).contiguous();
}

Tensor moved_affine(const Tensor& affine, const SpatialMap& map) {
  const auto m = index_matrix(map);
  const double* a = affine.data_ptr<double>();
  Tensor out = empty({4, 4}, kFloat64);
  double* o = out.data_ptr<double>();
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t c = 0; c < 4; ++c) {
      double s = 0.0;
      for (std::size_t k = 0; k < 4; ++k) s += a[r * 4 + k] * m[k][c];
      o[r * 4 + c] = s;
    }
  }
  return out;
}

}  // namespace voxgrad::data::detail
