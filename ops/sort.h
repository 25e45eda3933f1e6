#pragma once
// sort and topk: the elements of every slice along one dim in order, with their int64 indices.

#include <cstdint>
#include <tuple>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// The elements of `a` sorted along `dim` (ascending, or descending) and the int64 index each came
/// from. NaN sorts as the largest value, as in PyTorch. Equal elements always keep their original
/// order: the result is the stable sort whether `stable` is true or not (PyTorch leaves the unstable
/// order unspecified; here it is deterministic and the same at any thread count). A 0-d tensor
/// sorts to itself with index 0. Differentiable in `a`: the gradient is scattered back through the
/// indices.
std::tuple<Tensor, Tensor> sort(const Tensor& a, std::int64_t dim = -1, bool descending = false, bool stable = false);

/// The indices sort() gives: the int64 positions of `a`'s elements along `dim` in sorted order (stable).
Tensor argsort(const Tensor& a, std::int64_t dim = -1, bool descending = false, bool stable = false);

/// The `k` largest (or smallest) elements of `a` along `dim` and their int64 indices, in order
/// (NaN counts as the largest). 0 <= k <= a.size(dim) (1 for a 0-d tensor, which is returned as it is
/// for k = 0 too, as in PyTorch 1.13), else an error naming k.
/// The result is always sorted, with ties in index order: `sorted = false` only allows any order in
/// PyTorch, and sorted is one of them. Differentiable in `a`.
std::tuple<Tensor, Tensor> topk(const Tensor& a, std::int64_t k, std::int64_t dim = -1, bool largest = true,
                                bool sorted = true);

}  // namespace voxgrad
