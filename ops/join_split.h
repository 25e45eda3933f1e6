#pragma once
// Tensors joined into one and one cut into many, as torch's: cat and stack join a list (copies);
// split, chunk and unbind cut one tensor along a dim, and meshgrid expands several 1-D tensors onto one
// grid (views: they share their input's storage and pass their gradient back to it).

#include <string_view>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Concatenates along `dim`; all other sizes must match (dtypes promote).
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Stacks equal-shaped tensors along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);

/// Views of `split_size` elements along `dim` (the last one shorter if the size does not divide), as
/// torch.split: ceil(size / split_size) of them, one empty view for an empty dim. split_size 0 is
/// allowed only for an empty dim.
std::vector<Tensor> split(const Tensor& a, std::int64_t split_size, std::int64_t dim = 0);
/// Views of the given sizes along `dim`, which must sum to its size (torch.split with a list,
/// split_with_sizes).
std::vector<Tensor> split(const Tensor& a, IntArrayRef split_sizes, std::int64_t dim = 0);
/// split(a, ceil(size / chunks), dim), as torch.chunk: at most `chunks` views (fewer where the size
/// does not allow as many non-empty ones), or `chunks` empty views of an empty dim. chunks > 0.
std::vector<Tensor> chunk(const Tensor& a, std::int64_t chunks, std::int64_t dim = 0);
/// The slices along `dim`, each without that dim (select), as torch.unbind.
std::vector<Tensor> unbind(const Tensor& a, std::int64_t dim = 0);

/// Grids of N 0-d or 1-D tensors (of one dtype), as torch.meshgrid: output k is input k expanded to
/// the shape (n₀, n₁, …) with "ij" indexing, or (n₁, n₀, n₂, …) with "xy" (Cartesian: the first two
/// swapped). A 0-d input counts as one element. The outputs are expanded views: copy (contiguous())
/// before writing into one.
std::vector<Tensor> meshgrid(const std::vector<Tensor>& tensors, std::string_view indexing = "ij");

}  // namespace voxgrad
