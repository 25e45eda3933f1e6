#pragma once
// Scans along one dim (cumulative sums, products, extremes, log-sum-exp) and finite differences.

#include <cstdint>
#include <tuple>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// out[..., i, ...] = a[..., 0, ...] + ... + a[..., i, ...] along `dim` (negative counts from the
/// end), summed in order; float32 is accumulated in float64 and rounded once per output, as ATen's CPU
/// kernel does. Differentiable: the gradient is the reversed cumulative sum of the upstream gradient.
Tensor cumsum(const Tensor& a, std::int64_t dim);

/// out[..., i, ...] = a[..., 0, ...] * ... * a[..., i, ...] along `dim`, multiplied in order (float32
/// in float64, as ATen on CPU). Differentiable with PyTorch's cumprod_backward, exact where the input
/// has zeros (no division by them); twice too: under create_graph an input with zeros takes its O(n²)
/// form along `dim`, as PyTorch's.
Tensor cumprod(const Tensor& a, std::int64_t dim);

/// The running maximum along `dim` and the int64 index where each was taken, as torch.cummax: of equal
/// values the later index is taken, and a NaN is the maximum from its position on (each later NaN takes
/// its place). float32, float64 or int64; differentiable for floats (the gradient is added up at the
/// indices taken).
std::tuple<Tensor, Tensor> cummax(const Tensor& a, std::int64_t dim);
/// The running minimum and its index, as torch.cummin (ties and NaN as cummax).
std::tuple<Tensor, Tensor> cummin(const Tensor& a, std::int64_t dim);

/// out[..., i, ...] = log Σ_{j≤i} exp(a[..., j, ...]) along `dim`, as torch.logcumsumexp: accumulated
/// in order, in float64 for float32 too (ATen's CPU kernel, the same bits), each step the larger term
/// plus log1p(exp(smaller − larger)). Differentiable (twice too), with PyTorch's backward, which sums the
/// positive and negative upstream gradients apart in log space.
Tensor logcumsumexp(const Tensor& a, std::int64_t dim);

/// The n-th forward difference along `dim` (default the last), as torch.diff: out[i] = x[i+1] − x[i],
/// n times, where x is `prepend`, `a` and `append` (either undefined, or with a's number of dims and
/// sizes but along dim) joined along dim with type promotion. a is float32 or float64 (this library
/// has no integer arithmetic; PyTorch also takes integers). Each order shortens dim by one; an n past
/// the length gives an empty dim. n = 0 gives a copy of a (prepend and append left out, as PyTorch and
/// NumPy do). PyTorch 1.13 returns the input for n < 0; here that is an error, as NumPy's.
/// Differentiable in a, prepend and append.
Tensor diff(const Tensor& a, std::int64_t n = 1, std::int64_t dim = -1, const Tensor& prepend = Tensor(),
            const Tensor& append = Tensor());

}  // namespace voxgrad
