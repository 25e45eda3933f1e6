#pragma once
// Tensor indexing as libtorch's `x.index({Slice(), 0, None, Ellipsis, idx})`, the writes that go with
// it, and the indexing ops (index_select, masked_fill, masked_select, masked_scatter).

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::indexing {

/// `None` as an index inserts a size-1 dim (Python's None / np.newaxis); as a Slice bound it means
/// "the default" (libtorch's torch::indexing::None).
inline constexpr std::nullopt_t None = std::nullopt;

/// The type of `Ellipsis`.
struct EllipsisIndexType {};
/// `...`: as many full slices as the other indices leave dims (at most one per index list).
inline constexpr EllipsisIndexType Ellipsis{};

/// Python's start:stop:step. Absent bounds default to the whole dim; negative bounds count from the
/// end and out-of-range bounds are clamped, as in Python. The step must be positive (as in PyTorch).
struct Slice {
  /// Slice() is `:`, Slice(1) is `1:`, Slice(None, 8) is `:8`, Slice(0, 8, 2) is `0:8:2`.
  Slice(std::optional<std::int64_t> start = std::nullopt, std::optional<std::int64_t> stop = std::nullopt,
        std::optional<std::int64_t> step = std::nullopt)
      : start(start), stop(stop), step(step) {}
  std::optional<std::int64_t> start, stop, step;
};

/// One entry of an index list: an integer (negative counts from the end; removes the dim), a Slice,
/// None, Ellipsis, a bool (true: a new size-1 dim; false: a new size-0 dim), or a Tensor.
///
/// A Tensor index is an int64 tensor of positions (any shape; negatives count from the end), or a
/// mask: voxgrad has no bool dtype, and its comparisons (eq, lt, ...) return float 0/1 masks, so a
/// float32/float64 index must hold only 0 and 1 and selects where it is 1 (PyTorch's bool mask,
/// which PyTorch would reject as a float index). Tensor indices follow NumPy/PyTorch advanced
/// indexing: they broadcast together, and the result is a copy (basic indexing gives a view).
class TensorIndex {
 public:
  enum class Kind { Integer, Boolean, Slice, None, Ellipsis, Tensor };
  /// An integer (any integral type) or a bool.
  template <std::integral I>
  TensorIndex(I value)  // NOLINT
      : kind_(std::is_same_v<I, bool> ? Kind::Boolean : Kind::Integer), integer_(static_cast<std::int64_t>(value)) {}
  TensorIndex(Slice slice) : kind_(Kind::Slice), slice_(slice) {}                  // NOLINT
  TensorIndex(std::nullopt_t) : kind_(Kind::None) {}                               // NOLINT
  TensorIndex(EllipsisIndexType) : kind_(Kind::Ellipsis) {}                        // NOLINT
  TensorIndex(Tensor tensor) : kind_(Kind::Tensor), tensor_(std::move(tensor)) {}  // NOLINT

  Kind kind() const { return kind_; }
  /// The integer (Integer), or 0/1 (Boolean).
  std::int64_t integer() const { return integer_; }
  const Slice& slice() const { return slice_; }
  const Tensor& tensor() const { return tensor_; }

 private:
  Kind kind_;
  std::int64_t integer_ = 0;
  Slice slice_;
  Tensor tensor_;
};

}  // namespace voxgrad::indexing

namespace voxgrad {

/// self[indices]: a view of self for integers, slices, None, bools and Ellipsis (sharing storage,
/// gradients flow to self); with Tensor indices, a copy by advanced indexing (gradients are
/// scattered back and accumulate over repeated indices). Errors name the offending index.
Tensor index(const Tensor& self, const std::vector<indexing::TensorIndex>& indices);

/// self with self[indices] = values (broadcast to the indexed shape, converted to self's dtype), or
/// += values if accumulate (repeated indices then add up). Out of place and differentiable in self and
/// values; of repeated indices without accumulate the last value wins (PyTorch leaves it undefined).
Tensor index_put(const Tensor& self, const std::vector<indexing::TensorIndex>& indices, const Tensor& values,
                 bool accumulate = false);
/// index_put with a scalar value.
Tensor index_put(const Tensor& self, const std::vector<indexing::TensorIndex>& indices, double value,
                 bool accumulate = false);
/// In place: self[indices] = values (or += if accumulate); bumps the version. Like every in-place op
/// today, refused when self or values requires grad (use index_put).
Tensor& index_put_(Tensor& self, const std::vector<indexing::TensorIndex>& indices, const Tensor& values,
                   bool accumulate = false);
/// index_put_ with a scalar value.
Tensor& index_put_(Tensor& self, const std::vector<indexing::TensorIndex>& indices, double value,
                   bool accumulate = false);

/// The entries of self at positions `index` (a 1-D or 0-d int64 tensor, values in [0, size)) along
/// `dim`, which takes the length of `index`.
Tensor index_select(const Tensor& self, std::int64_t dim, const Tensor& index);

/// self with `value` where mask is 1 (mask: 0/1 float or int64, broadcast with self).
/// Differentiable in self.
Tensor masked_fill(const Tensor& self, const Tensor& mask, double value);
/// masked_fill with a 0-d tensor value (differentiable in self and value).
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value);
/// In place (mask must broadcast to self's shape); refused when a tensor involved requires grad.
Tensor& masked_fill_(Tensor& self, const Tensor& mask, double value);
/// In place, with a 0-d tensor value.
Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Tensor& value);

/// The elements of self where mask is 1, in row-major order, as a 1-D tensor (torch.masked_select): self
/// and mask (0/1, float or int64) broadcast together first. Differentiable in self.
Tensor masked_select(const Tensor& self, const Tensor& mask);

/// A copy of self with the positions where mask is 1 (in row-major order) taking source's elements in
/// row-major order (torch.Tensor.masked_scatter): self and mask broadcast together, source has self's
/// dtype and at least as many elements as the mask has ones (the rest are unused). Differentiable in self
/// and source.
Tensor masked_scatter(const Tensor& self, const Tensor& mask, const Tensor& source);

/// The row-major positions of the nonzero elements of `self`: an int64 tensor of shape (count, dim).
Tensor nonzero(const Tensor& self);

}  // namespace voxgrad
