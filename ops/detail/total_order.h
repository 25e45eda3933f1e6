#pragma once
// Internal: the one order that sort, topk and the order statistics (kthvalue, median) select by. NaN is
// larger than every number and equal to itself, as in PyTorch; ties are broken by index, so the order
// is total and every selection (std::sort, partial_sort, nth_element) has one result at any thread count.

#include <cmath>
#include <cstdint>

namespace voxgrad::detail {

/// Whether x comes strictly before y (ascending, or descending), by value alone.
template <typename T>
bool comes_before(T x, T y, bool descending) {
  if (std::isnan(x)) return descending && !std::isnan(y);
  if (std::isnan(y)) return !descending;
  return descending ? x > y : x < y;
}

/// The total order on the positions of one slice's values `keys`: by value, then by position.
template <typename T>
struct SliceOrder {
  const T* keys;
  bool descending;
  bool operator()(std::int64_t x, std::int64_t y) const {
    if (comes_before(keys[x], keys[y], descending)) return true;
    if (comes_before(keys[y], keys[x], descending)) return false;
    return x < y;
  }
};

}  // namespace voxgrad::detail
