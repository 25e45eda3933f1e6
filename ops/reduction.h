#pragma once

#include <cstdint>
#include <optional>
#include <tuple>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// Sum of all elements as a 0-d tensor (float32 is accumulated in float64).
Tensor sum(const Tensor& a);
/// Sum over `dims` (each may be negative); keepdim keeps them as size 1.
Tensor sum(const Tensor& a, IntArrayRef dims, bool keepdim = false);
/// Mean of all elements.
Tensor mean(const Tensor& a);
/// Mean over `dims`.
Tensor mean(const Tensor& a, IntArrayRef dims, bool keepdim = false);
/// Sum of the elements that are not NaN over `dims` (empty: all), as torch.nansum; the gradient is the upstream
/// gradient at every element but the NaNs (0 there). float32 and float64 only (torch.nansum also sums integers,
/// which hold no NaN: use sum).
Tensor nansum(const Tensor& a, IntArrayRef dims, bool keepdim = false);
/// nansum of all elements as a 0-d tensor.
Tensor nansum(const Tensor& a);
/// Mean of the elements that are not NaN over `dims` (empty: all), as torch.nanmean: nansum over their count
/// (NaN for a slice of NaNs only).
Tensor nanmean(const Tensor& a, IntArrayRef dims, bool keepdim = false);
/// nanmean of all elements as a 0-d tensor.
Tensor nanmean(const Tensor& a);
/// Largest element (NaN if any); the gradient is shared evenly among equal maxima.
Tensor max(const Tensor& a);
/// Smallest element (NaN if any); the gradient is shared evenly among equal minima.
Tensor min(const Tensor& a);
/// Largest values along `dim` and the int64 index of the first of each (NaN counts as largest).
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// Smallest values along `dim` and the int64 index of the first of each.
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// Variance of all elements, divided by N - 1.
Tensor var(const Tensor& a);
/// Variance over `dims` (empty: all), divided by N - correction. There is deliberately no
/// var(a, correction) overload: `var(a, 0)` reduces dim 0, never means "correction 0".
Tensor var(const Tensor& a, IntArrayRef dims, std::int64_t correction = 1, bool keepdim = false);
/// Standard deviation of all elements, √var(a).
Tensor std(const Tensor& a);
/// √var(a, dims, correction, keepdim), as torch.std; its gradient is 0 where the deviation is 0 (a
/// constant slice), as PyTorch's, rather than the NaN that differentiating √ then var would give.
Tensor std(const Tensor& a, IntArrayRef dims, std::int64_t correction = 1, bool keepdim = false);
/// Index (int64) of the largest element along `dim` (first occurrence; NaN counts as largest, as in
/// PyTorch); without a dim, of the flattened tensor (keepdim then gives a size-1 dim per dim).
Tensor argmax(const Tensor& a, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false);
/// Index of the smallest element along `dim` (first occurrence; NaN counts as smallest).
Tensor argmin(const Tensor& a, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false);
/// The p-norm over `dims` (empty: all), as torch.norm / linalg.vector_norm: (Σ|x|^p)^(1/p); p = inf
/// is max|x|, -inf min|x|, 0 the number of nonzeros. The gradient is PyTorch's, with 0 where the
/// formula would divide by a zero norm (so the 2-norm of zeros has gradient 0), and for ±inf
/// shared evenly among the elements attaining the norm.
Tensor norm(const Tensor& a, double p, IntArrayRef dims, bool keepdim = false);
/// The p-norm of all elements (0-d).
Tensor norm(const Tensor& a, double p = 2.0);
/// Largest element over `dims` (empty: all; each may be negative), NaN if the slice has one; every
/// reduced dim must be non-empty. The gradient is split evenly among the elements equal to the
/// result, as PyTorch's amax (a NaN result gives NaN gradients to its slice, as there).
Tensor amax(const Tensor& a, IntArrayRef dims = {}, bool keepdim = false);
/// Smallest element over `dims`; as amax.
Tensor amin(const Tensor& a, IntArrayRef dims = {}, bool keepdim = false);
/// log(sum(exp(a))) over `dims` (empty: all), computed as PyTorch does: the slice's maximum m is
/// subtracted first (0 instead when m is +-inf), so large inputs do not overflow; a slice of -inf
/// (or no elements) gives -inf, one with +inf gives +inf, NaN propagates. The gradient is
/// exp(a - result) times the upstream gradient.
Tensor logsumexp(const Tensor& a, IntArrayRef dims, bool keepdim = false);
/// Product of all elements as a 0-d tensor (1 for no elements). float32 is accumulated in float64,
/// unlike PyTorch 1.13 (which multiplies in float32): [1e30, 1e30, 1e-30] gives 1e30 here, inf there.
/// The gradient is PyTorch's: result / a without zeros, the product of the others at a single zero,
/// 0 with two or more (the product of the others again under create_graph, so that second
/// derivatives are right).
Tensor prod(const Tensor& a);
/// Product along `dim` (the gradient as prod(a), slice by slice).
Tensor prod(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// 1 if any element is nonzero (NaN counts), else 0 (also for no elements), as a 0-d tensor in a's dtype (PyTorch's
/// is bool). Never requires grad.
Tensor any(const Tensor& a);
/// any() along `dim`, one slice at a time.
Tensor any(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// 1 if every element is nonzero (NaN counts), else 0; 1 for no elements. As any(), a's dtype.
Tensor all(const Tensor& a);
/// all() along `dim`.
Tensor all(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// Sums `a` down to `sizes` (which must broadcast to a's shape): the adjoint of expand.
Tensor sum_to_size(const Tensor& a, IntArrayRef sizes);

}  // namespace voxgrad
