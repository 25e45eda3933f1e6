#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace voxgrad {

/// A shape or stride list owned by a tensor.
using Shape = std::vector<std::int64_t>;

/// A non-owning view of int64 values: binds to a Shape, a braced list `{2, 3}` or a single int.
class IntArrayRef {
 public:
  /// Empty list.
  constexpr IntArrayRef() = default;
  /// A single value, so `sum(x, 1)` reads like libtorch.
  constexpr IntArrayRef(const std::int64_t& one) : data_(&one), size_(1) {}  // NOLINT
  /// Views a vector's elements.
  IntArrayRef(const std::vector<std::int64_t>& v) : data_(v.data()), size_(v.size()) {}  // NOLINT
  /// Views a braced list (valid for the full expression that holds it, like llvm::ArrayRef).
#if defined(__GNUC__) && !defined(__clang__)  // GCC's warning; clang has no such group
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
  constexpr IntArrayRef(std::initializer_list<std::int64_t> l)  // NOLINT
      : data_(l.begin()), size_(l.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  /// Views `size` values starting at `data`.
  constexpr IntArrayRef(const std::int64_t* data, std::size_t size) : data_(data), size_(size) {}

  constexpr const std::int64_t* data() const { return data_; }
  constexpr std::size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  /// Value at `i` (unchecked).
  constexpr const std::int64_t& operator[](std::size_t i) const { return data_[i]; }
  constexpr const std::int64_t* begin() const { return data_; }
  constexpr const std::int64_t* end() const { return data_ + size_; }
  /// Copies the values into a Shape.
  Shape vec() const { return Shape(begin(), end()); }

 private:
  const std::int64_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Element-wise equality of two lists.
bool operator==(IntArrayRef a, IntArrayRef b);

/// "[2, 3, 4]".
std::string shape_str(IntArrayRef shape);

/// Product of the sizes; throws voxgrad::Error naming `op` on a negative size or int64 overflow.
std::int64_t checked_numel(IntArrayRef sizes, const char* op);

/// a * b; throws voxgrad::Error naming `op` on int64 overflow.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* op);

/// a + b; throws voxgrad::Error naming `op` on int64 overflow.
std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* op);

/// Row-major (C-order) strides for `sizes`.
Shape contiguous_strides(IntArrayRef sizes);

/// Resolves a possibly negative dim against `ndim` (PyTorch wrapping); throws naming `op` if out of range.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);

/// Throws "{op}: {what} must be non-negative (got {value})" if value < 0.
void check_non_negative(std::int64_t value, const char* op, const char* what);

/// Throws "{op}: {what} out of range (expected to be in range of [{lo}, {hi}], but got {value})" unless
/// lo <= value <= hi.
void check_in_range(std::int64_t value, std::int64_t lo, std::int64_t hi, const char* op, const char* what);

/// NumPy broadcast of two shapes; throws naming `op` with both shapes when they cannot be broadcast.
Shape broadcast_shapes(IntArrayRef a, IntArrayRef b, const char* op);

}  // namespace voxgrad
