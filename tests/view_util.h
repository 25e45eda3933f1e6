#pragma once
// Helpers for tests that pass arguments as expanded views (GoogleTest-free, so the libFuzzer targets
// can include it too).

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <voxgrad/core/shape.h>

namespace voxgrad::testing {

/// Sizes of the dims before `dim`, of `dim`, and after it.
inline std::array<std::int64_t, 3> split_at(const Shape& shape, std::int64_t dim) {
  std::int64_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < static_cast<std::size_t>(dim); ++i) outer *= shape[i];
  for (std::size_t i = static_cast<std::size_t>(dim) + 1; i < shape.size(); ++i) inner *= shape[i];
  return {outer, shape[static_cast<std::size_t>(dim)], inner};
}

/// `v` (row-major of `shape`) summed over `dim`: what the size-1 base of a view expanded along `dim`
/// receives as its gradient.
inline std::vector<double> sum_over(const std::vector<double>& v, const Shape& shape, std::int64_t dim) {
  const auto [outer, n, inner] = split_at(shape, dim);
  std::vector<double> r(static_cast<std::size_t>(outer * inner), 0.0);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t s = 0; s < n; ++s)
      for (std::int64_t j = 0; j < inner; ++j) r[o * inner + j] += v[(o * n + s) * inner + j];
  return r;
}

}  // namespace voxgrad::testing
