#pragma once
// Test data for the optimizers' one-pass updates (test_adam_kernel.cpp, test_update_kernels.cpp).

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>

namespace voxgrad::testing {

// Values of `shape`: normal ones and, at every 13th index (shifted by `shift`), ±0, ±inf, NaN, huge or tiny.
inline Tensor special_values(const Shape& shape, DType dt, std::uint64_t seed, int shift) {
  manual_seed(seed);
  Tensor t = randn(shape, dt).contiguous();
  const double edges[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e30, -1e30, 1e-30};
  const std::int64_t n = t.numel();
  for (std::int64_t i = shift; i < n; i += 13) {
    const double e = edges[static_cast<std::size_t>(i / 13) % 8];
    if (dt == kFloat32) {
      t.data_ptr<float>()[i] = static_cast<float>(e);
    } else {
      t.data_ptr<double>()[i] = e;
    }
  }
  return t;
}

}  // namespace voxgrad::testing
