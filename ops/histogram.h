#pragma once
// Counting and binning: bincount, histc, searchsorted/bucketize, unique, unique_consecutive and count_nonzero
// (PyTorch's names, arguments and results). None of them is differentiable: their results never require grad.

#include <cstdint>
#include <optional>
#include <tuple>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// How often each value of the 1-D int64 `input` (all >= 0) occurs: out[v] for v in [0, max(max + 1,
/// minlength)), int64; with `weights` (1-D, input's length) the sum of the weights of the occurrences
/// instead, in the weights' dtype (float64 for int64 weights) and added in input order (as PyTorch's loop).
/// An empty input gives int64 zeros of length minlength, weights or not (as PyTorch 1.13).
Tensor bincount(const Tensor& input, const Tensor& weights = {}, std::int64_t minlength = 0);

/// Histogram of a floating tensor's elements in `bins` equal bins over [min, max] (both 0, or equal: the
/// elements' own range; an empty range grows by 1 each way), in its dtype. Element x falls in bin
/// ⌊(x − min) / (max − min) · bins⌋ computed in that dtype (PyTorch's formula), max in the last bin;
/// elements outside the range are left out, and so are NaNs (PyTorch 1.13 counts them in bin 0). The range's
/// ends are min and max themselves; PyTorch takes the upper one from its vectorised linspace, which can end an
/// ulp or so below max (float32, over 30 bins or so, depending on the CPU), and then leaves a value at max out.
Tensor histc(const Tensor& input, std::int64_t bins = 100, double min = 0.0, double max = 0.0);

/// For each element of `values`, the index in `sorted_sequence` (ascending along its last dim) at which it
/// would be inserted to keep the order: the first i with sequence[i] >= value, or with `right` the first with
/// sequence[i] > value (the length if none; a NaN value goes last). A 1-D sequence serves every value, an
/// N-D one needs the leading dims of `values`. int64 results; the two are compared in their result_type (a
/// 0-d values tensor does not promote the sequence).
/// `out_int32` must be false (this library has no int32 dtype).
Tensor searchsorted(const Tensor& sorted_sequence, const Tensor& values, bool out_int32 = false, bool right = false);

/// searchsorted(boundaries, input, out_int32, right) for 1-D boundaries: the bucket of each element.
Tensor bucketize(const Tensor& input, const Tensor& boundaries, bool out_int32 = false, bool right = false);

/// The distinct elements of `input` in ascending order (1-D; NaN last, each NaN distinct as NaN != NaN, and of
/// equal values such as −0 and +0 the first in index order), as PyTorch's unique returns them sorted (on the CPU
/// PyTorch 1.13 leaves them unordered for sorted = false and garbles the order around NaN; here they are always
/// sorted). With dim, the distinct slices along dim in ascending lexicographic order, NaN last (as
/// torch.unique(dim=...), whose comparison skips NaN, so 1.13 orders slices holding one elsewhere); a slice
/// holding a NaN equals no other; every other dim must be nonzero. With return_inverse, the int64 index
/// into the values of every element (input's shape) or slice (size(dim)); with return_counts, how often each
/// value occurs (int64). Tensors not asked for are empty int64 tensors.
std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& input, bool sorted = true, bool return_inverse = false,
                                          bool return_counts = false, std::optional<std::int64_t> dim = std::nullopt);

/// As torch.unique_consecutive: without dim, the first element of every run of equal consecutive
/// elements of the flattened input (a 1-D result); with dim, the first slice along dim of every run of
/// equal consecutive slices (every other dim must be nonzero, as PyTorch requires). NaN equals nothing
/// (each NaN is a run of its own, and so is a slice holding one). With return_inverse, the int64 run of
/// every element (input's shape) or slice (size(dim)); with return_counts, each run's length. Tensors
/// not asked for are empty int64 tensors. Not differentiable, as PyTorch's.
std::tuple<Tensor, Tensor, Tensor> unique_consecutive(const Tensor& input, bool return_inverse = false,
                                                      bool return_counts = false,
                                                      std::optional<std::int64_t> dim = std::nullopt);

/// The number of nonzero elements (NaN counts) over `dims` (all when empty), int64.
Tensor count_nonzero(const Tensor& input, IntArrayRef dims = {});

}  // namespace voxgrad
