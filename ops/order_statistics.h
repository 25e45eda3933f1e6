#pragma once
// Order statistics: kthvalue, median, nanmedian, quantile and nanquantile (PyTorch's names, arguments
// and errors). Values are ranked in sort()'s order: NaN above every number, ties by index.

#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// The k-th smallest element (1 <= k <= a.size(dim), else an error naming k) of every slice of `a`
/// along `dim`, and its int64 index. NaN counts as the largest value. Among equal values the one
/// with the smallest index is taken first (PyTorch leaves which one unspecified). Differentiable in
/// `a`: the gradient goes to that index.
std::tuple<Tensor, Tensor> kthvalue(const Tensor& a, std::int64_t k, std::int64_t dim = -1, bool keepdim = false);

/// The lower median of all elements (the element of rank (n − 1) / 2), NaN if any element is NaN or
/// there are none. As in PyTorch, the gradient is shared evenly among the elements equal to the result.
Tensor median(const Tensor& a);
/// The lower median of every slice along `dim` and its index (NaN, at the first NaN's index, for a
/// slice holding one); an error when that dim has no elements. Differentiable as kthvalue.
std::tuple<Tensor, Tensor> median(const Tensor& a, std::int64_t dim, bool keepdim = false);

/// median() of the elements that are not NaN (NaN when all are).
Tensor nanmedian(const Tensor& a);
/// median(dim) of the elements that are not NaN; a slice of NaNs only gives NaN at index 0.
std::tuple<Tensor, Tensor> nanmedian(const Tensor& a, std::int64_t dim, bool keepdim = false);

/// The q-quantiles of `a` (all elements, or every slice along `dim`), PyTorch's algorithm step by step:
/// sorted values, rank q·(n − 1) computed in a's dtype, then by `interpolation` "linear" (lerp between
/// the neighbouring values), "lower", "higher", "midpoint" or "nearest" (the rank rounded half to even).
/// A slice holding NaN gives NaN. q is a number in [0, 1], or a 0-d or 1-D tensor of a's dtype with
/// values in [0, 1]; a 1-D q puts its quantiles along a new first dim. keepdim keeps the reduced dims
/// (all of them without `dim`) with size 1. Differentiable in `a`, and in a tensor q for "linear".
Tensor quantile(const Tensor& a, double q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                std::string_view interpolation = "linear");
Tensor quantile(const Tensor& a, const Tensor& q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                std::string_view interpolation = "linear");

/// quantile() of the elements that are not NaN: the rank is q·(m − 1) for the m of them (NaN when m = 0).
Tensor nanquantile(const Tensor& a, double q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                   std::string_view interpolation = "linear");
Tensor nanquantile(const Tensor& a, const Tensor& q, std::optional<std::int64_t> dim = std::nullopt,
                   bool keepdim = false, std::string_view interpolation = "linear");

}  // namespace voxgrad
