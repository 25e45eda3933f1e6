#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "voxgrad/core/error.h"

namespace voxgrad {

/// D per-dimension values (depth, height, width for D = 3). Like libtorch's ExpandingArray, an
/// int stands for the same value in every dimension: `stride(2)` or `stride({2, 1, 1})`.
template <std::size_t D>
class ExpandingArray {
 public:
  /// The same value in every dimension.
  ExpandingArray(std::int64_t v) { values_.fill(v); }  // NOLINT
  /// One value per dimension; throws voxgrad::Error unless there are exactly D.
  ExpandingArray(std::initializer_list<std::int64_t> list) {  // NOLINT
    VOXGRAD_CHECK(list.size() == D, "expected {} values (one per spatial dimension), but got {}", D, list.size());
    std::size_t i = 0;
    for (std::int64_t v : list) values_[i++] = v;
  }
  /// From an array.
  ExpandingArray(const std::array<std::int64_t, D>& values) : values_(values) {}  // NOLINT

  /// Value for dimension i.
  std::int64_t operator[](std::size_t i) const { return values_[i]; }
  /// Mutable value for dimension i.
  std::int64_t& operator[](std::size_t i) { return values_[i]; }
  /// All values.
  const std::array<std::int64_t, D>& values() const { return values_; }
  /// Number of values (D).
  static constexpr std::size_t size() { return D; }
  /// Equality of all values.
  bool operator==(const ExpandingArray& other) const = default;
  /// "(2, 2, 2)", as PyTorch prints tuples.
  std::string str() const {
    return D == 1 ? fmt::format("({},)", values_[0]) : fmt::format("({})", fmt::join(values_, ", "));
  }

 private:
  std::array<std::int64_t, D> values_{};
};

}  // namespace voxgrad
