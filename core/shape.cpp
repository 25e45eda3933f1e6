#include "voxgrad/core/shape.h"

#include <algorithm>

#include "voxgrad/core/error.h"

namespace voxgrad {

bool operator==(IntArrayRef a, IntArrayRef b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::string shape_str(IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape.begin(), shape.end(), ", ")); }

std::int64_t checked_numel(IntArrayRef sizes, const char* op) {
  std::int64_t n = 1;
  for (std::int64_t s : sizes) {
    VOXGRAD_CHECK(s >= 0, "{}: negative dimension {} in size {}", op, s, shape_str(sizes));
    VOXGRAD_CHECK(!__builtin_mul_overflow(n, s, &n), "{}: size {} has more elements than int64 can count", op,
                  shape_str(sizes));
  }
  return n;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* op) {
  std::int64_t r;
  VOXGRAD_CHECK(!__builtin_mul_overflow(a, b, &r), "{}: sizes overflow int64 ({} * {})", op, a, b);
  return r;
}

std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* op) {
  std::int64_t r;
  VOXGRAD_CHECK(!__builtin_add_overflow(a, b, &r), "{}: sizes overflow int64 ({} + {})", op, a, b);
  return r;
}

Shape contiguous_strides(IntArrayRef sizes) {
  Shape strides(sizes.size());
  std::int64_t s = 1;
  for (std::size_t i = sizes.size(); i-- > 0;) {
    strides[i] = s;
    // Only a tensor with no elements can overflow here (others passed checked_numel); any stride
    // is right for it.
    if (__builtin_mul_overflow(s, std::max<std::int64_t>(sizes[i], 1), &s)) s = INT64_MAX;
  }
  return strides;
}

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  // PyTorch treats a 0-d tensor as having one addressable dim (-1 or 0).
  const std::int64_t n = std::max<std::int64_t>(ndim, 1);
  check_in_range(dim, -n, n - 1, op, "dimension");
  return dim < 0 ? dim + n : dim;
}

void check_non_negative(std::int64_t value, const char* op, const char* what) {
  VOXGRAD_CHECK(value >= 0, "{}: {} must be non-negative (got {})", op, what, value);
}

void check_in_range(std::int64_t value, std::int64_t lo, std::int64_t hi, const char* op, const char* what) {
  VOXGRAD_CHECK(value >= lo && value <= hi, "{}: {} out of range (expected to be in range of [{}, {}], but got {})", op,
                what, lo, hi, value);
}

Shape broadcast_shapes(IntArrayRef a, IntArrayRef b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    VOXGRAD_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} cannot be broadcast", op, shape_str(a),
                  shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  // Inputs may be expanded views of any countable size; their broadcast may not be countable.
  checked_numel(out, op);
  return out;
}

}  // namespace voxgrad
