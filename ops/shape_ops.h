#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Same elements with a new shape (one size may be -1); throws if the strides cannot express it.
Tensor view(const Tensor& a, IntArrayRef sizes);
/// view() when possible, otherwise a contiguous copy with the new shape.
Tensor reshape(const Tensor& a, IntArrayRef sizes);
/// Merges dims start_dim..end_dim into one.
Tensor flatten(const Tensor& a, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
/// Reorders the dims: result dim i is input dim dims[i].
Tensor permute(const Tensor& a, IntArrayRef dims);
/// Moves dims source[i] to positions destination[i] (either may be negative); the other dims keep
/// their order in the remaining positions. A view, as torch.movedim.
Tensor movedim(const Tensor& a, IntArrayRef source, IntArrayRef destination);
/// The diagonal of the planes spanned by dim1 and dim2, as torch.diagonal: a view without those two dims and with
/// a last dim holding a[..., i, ..., i + offset, ...] (offset > 0 above the main diagonal, < 0 below; empty when
/// the offset leaves the plane).
Tensor diagonal(const Tensor& a, std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1);
/// Swaps two dims.
Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1);
/// Transpose of a tensor with at most 2 dims.
Tensor t(const Tensor& a);
/// Removes all size-1 dims.
Tensor squeeze(const Tensor& a);
/// Removes `dim` if it has size 1.
Tensor squeeze(const Tensor& a, std::int64_t dim);
/// Inserts a size-1 dim at `dim` (in [-dim()-1, dim()]).
Tensor unsqueeze(const Tensor& a, std::int64_t dim);
/// Elements [start, start + length) along `dim` (start may be negative).
Tensor narrow(const Tensor& a, std::int64_t dim, std::int64_t start, std::int64_t length);
/// Python slice a[start:end:step] along dim; out-of-range bounds are clamped, step must be > 0.
Tensor slice(const Tensor& a, std::int64_t dim, std::optional<std::int64_t> start = std::nullopt,
             std::optional<std::int64_t> end = std::nullopt, std::int64_t step = 1);
/// The slice at `index` along `dim`, with that dim removed.
Tensor select(const Tensor& a, std::int64_t dim, std::int64_t index);
/// Broadcasts to `sizes` without copying (-1 keeps a size; size-1 dims and new leading dims grow).
Tensor expand(const Tensor& a, IntArrayRef sizes);
/// `a` if contiguous, else a contiguous copy (differentiable).
Tensor contiguous(const Tensor& a);
/// A copy with its own storage (differentiable).
Tensor clone(const Tensor& a);
/// `a` converted to `dtype` (differentiable; returns `a` itself if the dtype matches).
Tensor to(const Tensor& a, DType dtype);
/// Zeros of `input_sizes` with `grad` written into the slice [start:end:step] of `dim`: the
/// adjoint of slice(), itself differentiable (its gradient is that slice).
Tensor slice_backward(const Tensor& grad, IntArrayRef input_sizes, std::int64_t dim, std::int64_t start,
                      std::int64_t end, std::int64_t step);
/// Zeros of `input_sizes` with `grad` written into diagonal(offset, dim1, dim2): the adjoint of diagonal(),
/// itself differentiable (its gradient is that diagonal).
Tensor diagonal_backward(const Tensor& grad, IntArrayRef input_sizes, std::int64_t offset, std::int64_t dim1,
                         std::int64_t dim2);

}  // namespace voxgrad
