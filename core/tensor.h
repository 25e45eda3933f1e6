#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "voxgrad/autograd/hooks.h"
#include "voxgrad/core/dtype.h"
#include "voxgrad/core/shape.h"

namespace voxgrad {

struct TensorImpl;
namespace autograd {
class Node;
}
namespace indexing {
class TensorIndex;
}

/// A handle to an n-dimensional array with autograd; copies of a handle share the same tensor,
/// as in libtorch. A default-constructed Tensor is undefined.
class Tensor {
 public:
  /// An undefined tensor.
  Tensor() = default;
  /// Wraps an implementation (used by ops and the engine).
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- identity and metadata ----------------------------------------------------------------
  /// True unless default-constructed.
  bool defined() const { return impl_ != nullptr; }
  /// The implementation (ops and the engine use it).
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  /// True if both handles refer to the same tensor.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  /// Sizes of every dimension.
  const Shape& sizes() const;
  /// Size of one dimension (negative dims count from the end).
  std::int64_t size(std::int64_t dim) const;
  /// Strides in elements.
  const Shape& strides() const;
  /// Stride of one dimension.
  std::int64_t stride(std::int64_t dim) const;
  /// Number of dimensions.
  std::int64_t dim() const;
  /// Number of elements.
  std::int64_t numel() const;
  /// Element type.
  DType dtype() const;
  /// Offset of element 0 in the storage, in elements.
  std::int64_t storage_offset() const;
  /// True if the elements are laid out in row-major order without gaps.
  bool is_contiguous() const;
  /// The storage's version counter (bumped by every in-place op through any view).
  std::uint32_t version() const;
  /// Pointer to element 0; T must match dtype() exactly.
  template <typename T>
  T* data_ptr() const;
  /// Untyped pointer to element 0.
  void* raw_data_ptr() const;
  /// The value of a one-element tensor, converted to T.
  template <typename T>
  T item() const;

  // --- copies and conversions ---------------------------------------------------------------
  /// A tensor of another dtype (differentiable); returns *this when the dtype already matches.
  Tensor to(DType dtype) const;
  /// *this if contiguous, otherwise a contiguous copy (differentiable).
  Tensor contiguous() const;
  /// A copy with its own storage (differentiable).
  Tensor clone() const;
  /// Shares storage but is cut from the graph and does not require grad.
  Tensor detach() const;

  // --- views (share storage) ----------------------------------------------------------------
  /// Same elements, new shape; one size may be -1. Throws if the strides do not allow a view.
  Tensor view(IntArrayRef sizes) const;
  /// Like view, but copies when a view is impossible.
  Tensor reshape(IntArrayRef sizes) const;
  /// Merges dims start_dim..end_dim into one.
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  /// Reorders dimensions.
  Tensor permute(IntArrayRef dims) const;
  /// Moves dims source[i] to positions destination[i], the others keeping their order (a view).
  Tensor movedim(IntArrayRef source, IntArrayRef destination) const;
  /// The diagonal of the planes of dim1 and dim2, as the view's last dim (see voxgrad::diagonal).
  Tensor diagonal(std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1) const;
  /// Copies side by side, repeats[i] along dim i (see voxgrad::repeat).
  Tensor repeat(IntArrayRef repeats) const;
  Tensor tile(IntArrayRef reps) const;           ///< repeat() with leading 1s added to reps (torch.tile).
  Tensor tril(std::int64_t diagonal = 0) const;  ///< On and below the diagonal-th diagonal of the last two dims.
  Tensor triu(std::int64_t diagonal = 0) const;  ///< On and above the diagonal-th diagonal of the last two dims.
  /// Views of split_size elements along dim (the last shorter); see voxgrad::split.
  std::vector<Tensor> split(std::int64_t split_size, std::int64_t dim = 0) const;
  /// Views of the given sizes along dim (summing to its size).
  std::vector<Tensor> split(IntArrayRef split_sizes, std::int64_t dim = 0) const;
  /// At most `chunks` views along dim, as torch.chunk; see voxgrad::chunk.
  std::vector<Tensor> chunk(std::int64_t chunks, std::int64_t dim = 0) const;
  /// The slices along dim, each without it.
  std::vector<Tensor> unbind(std::int64_t dim = 0) const;
  /// Swaps two dimensions.
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  /// Transpose of a tensor with at most 2 dims.
  Tensor t() const;
  /// Removes every size-1 dimension.
  Tensor squeeze() const;
  /// Removes `dim` if its size is 1.
  Tensor squeeze(std::int64_t dim) const;
  /// Inserts a size-1 dimension at `dim`.
  Tensor unsqueeze(std::int64_t dim) const;
  /// Elements [start, start + length) along `dim`.
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  /// Python-style slice [start:end:step] along `dim` (bounds are clamped, negatives wrap).
  Tensor slice(std::int64_t dim, std::optional<std::int64_t> start = std::nullopt,
               std::optional<std::int64_t> end = std::nullopt, std::int64_t step = 1) const;
  /// The sub-tensor at `index` along `dim` (that dim removed).
  Tensor select(std::int64_t dim, std::int64_t index) const;
  /// Broadcasts size-1 dims (and new leading dims) to `sizes`; -1 keeps a size.
  Tensor expand(IntArrayRef sizes) const;
  /// expand(other.sizes()).
  Tensor expand_as(const Tensor& other) const;

  // --- in-place (bump the version counter; recorded by autograd as in PyTorch: on a non-leaf the
  // op becomes the tensor's grad_fn, on a view the base's history is rewritten; on a leaf that
  // requires grad, or a view of one, it is an error unless grad mode is off) ------------------
  /// self += alpha * other (other broadcast to self).
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  /// self += value.
  Tensor& add_(double value);
  /// self -= alpha * other.
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  /// self -= value.
  Tensor& sub_(double value);
  /// self *= other.
  Tensor& mul_(const Tensor& other);
  /// self *= value.
  Tensor& mul_(double value);
  /// self /= other.
  Tensor& div_(const Tensor& other);
  /// self /= value.
  Tensor& div_(double value);
  /// Sets every element to zero.
  Tensor& zero_();
  /// Sets every element to value.
  Tensor& fill_(double value);
  /// Copies src (broadcast, converted) into self.
  Tensor& copy_(const Tensor& src);
  /// self = relu(self).
  Tensor& relu_();
  /// self = leaky_relu(self, negative_slope); with autograd, negative_slope must be >= 0 (the
  /// backward reads the result's sign).
  Tensor& leaky_relu_(double negative_slope = 0.01);

  // --- elementwise (differentiable) ---------------------------------------------------------
  Tensor add(const Tensor& other, double alpha = 1.0) const;  ///< self + alpha * other.
  Tensor sub(const Tensor& other, double alpha = 1.0) const;  ///< self - alpha * other.
  Tensor mul(const Tensor& other) const;                      ///< self * other.
  Tensor div(const Tensor& other) const;                      ///< self / other.
  /// self / other rounded: "trunc" or "floor" (std::nullopt: true division); see voxgrad::div in ops/division.h.
  Tensor div(const Tensor& other, std::optional<std::string_view> rounding_mode) const;
  /// self / other rounded: "trunc" or "floor" (std::nullopt: true division).
  Tensor div(double other, std::optional<std::string_view> rounding_mode) const;
  Tensor floor_divide(const Tensor& other) const;  ///< div(other, "floor").
  Tensor floor_divide(double other) const;         ///< div(other, "floor").
  Tensor fmod(const Tensor& other) const;          ///< Remainder of self / other with self's sign (std::fmod).
  Tensor fmod(double other) const;                 ///< fmod with a number.
  Tensor remainder(const Tensor& other) const;     ///< Remainder with other's sign (Python's %).
  Tensor remainder(double other) const;            ///< remainder with a number.
  Tensor neg() const;                              ///< -self.
  Tensor pow(double exponent) const;               ///< self ** exponent.
  Tensor pow(const Tensor& exponent) const;        ///< self ** exponent (broadcast).
  Tensor exp() const;                              ///< e ** self.
  Tensor log() const;                              ///< Natural logarithm.
  Tensor sqrt() const;                             ///< Square root.
  Tensor abs() const;                              ///< Absolute value.
  Tensor sign() const;                             ///< -1, 0 or 1 (zero gradient).
  /// Clamps into [min, max]; either bound may be absent.
  Tensor clamp(std::optional<double> min, std::optional<double> max = std::nullopt) const;
  /// Clamps into tensor bounds, broadcast (see voxgrad::clamp in ops/elementwise_math.h).
  Tensor clamp(const std::optional<Tensor>& min, const std::optional<Tensor>& max = std::nullopt) const;
  Tensor relu() const;                                           ///< max(self, 0).
  Tensor leaky_relu(double negative_slope = 0.01) const;         ///< self or slope * self.
  Tensor sigmoid() const;                                        ///< 1 / (1 + e ** -self).
  Tensor tanh() const;                                           ///< Hyperbolic tangent.
  Tensor log1p() const;                                          ///< log(1 + self), exact near 0.
  Tensor expm1() const;                                          ///< e ** self − 1, exact near 0.
  Tensor log2() const;                                           ///< Base-2 logarithm.
  Tensor log10() const;                                          ///< Base-10 logarithm.
  Tensor exp2() const;                                           ///< 2 ** self.
  Tensor square() const;                                         ///< self · self.
  Tensor sin() const;                                            ///< Sine (radians).
  Tensor cos() const;                                            ///< Cosine (radians).
  Tensor tan() const;                                            ///< Tangent (radians).
  Tensor asin() const;                                           ///< Arcsine (NaN outside [−1, 1]).
  Tensor acos() const;                                           ///< Arccosine (NaN outside [−1, 1]).
  Tensor atan() const;                                           ///< Arctangent.
  Tensor atan2(const Tensor& other) const;                       ///< Angle of the point (other, self), broadcast.
  Tensor sinh() const;                                           ///< Hyperbolic sine.
  Tensor cosh() const;                                           ///< Hyperbolic cosine.
  Tensor asinh() const;                                          ///< Inverse hyperbolic sine.
  Tensor acosh() const;                                          ///< Inverse hyperbolic cosine (NaN below 1).
  Tensor atanh() const;                                          ///< Inverse hyperbolic tangent.
  Tensor reciprocal() const;                                     ///< 1 / self.
  Tensor rsqrt() const;                                          ///< 1 / √self.
  Tensor floor() const;                                          ///< Rounded down (zero gradient).
  Tensor ceil() const;                                           ///< Rounded up (zero gradient).
  Tensor round() const;                                          ///< Rounded to nearest, halves to even.
  Tensor round(std::int64_t decimals) const;                     ///< Rounded to `decimals` places, halves to even.
  Tensor trunc() const;                                          ///< Rounded towards zero (zero gradient).
  Tensor frac() const;                                           ///< self − trunc(self).
  Tensor erf() const;                                            ///< The error function.
  Tensor erfc() const;                                           ///< 1 − erf(self).
  Tensor erfinv() const;                                         ///< The inverse error function on [−1, 1].
  Tensor lgamma() const;                                         ///< log|Γ(self)|.
  Tensor digamma() const;                                        ///< ψ(self) = Γ′/Γ.
  Tensor polygamma(std::int64_t n) const;                        ///< The n-th derivative of digamma.
  Tensor logit(std::optional<double> eps = std::nullopt) const;  ///< log(p / (1 − p)), p clamped to [eps, 1 − eps].
  Tensor sinc() const;                                           ///< sin(π·self) / (π·self), 1 at 0.
  Tensor deg2rad() const;                                        ///< Degrees to radians.
  Tensor rad2deg() const;                                        ///< Radians to degrees.
  Tensor hypot(const Tensor& other) const;                       ///< √(self² + other²), broadcast.
  Tensor copysign(const Tensor& other) const;                    ///< |self| with other's sign, broadcast.
  Tensor xlogy(const Tensor& other) const;                       ///< self · log(other), 0 where self = 0.
  Tensor logaddexp(const Tensor& other) const;                   ///< log(exp(self) + exp(other)).
  Tensor logaddexp2(const Tensor& other) const;                  ///< log2(2^self + 2^other).
  /// NaN, +inf and −inf replaced (by 0 and the dtype's largest and lowest finite values unless given).
  Tensor nan_to_num(std::optional<double> nan = std::nullopt, std::optional<double> posinf = std::nullopt,
                    std::optional<double> neginf = std::nullopt) const;
  /// Rotated k quarter turns in the plane of `dims`, from the first towards the second.
  Tensor rot90(std::int64_t k = 1, IntArrayRef dims = {0, 1}) const;
  Tensor maximum(const Tensor& other) const;      ///< The larger (NaN if either is).
  Tensor minimum(const Tensor& other) const;      ///< The smaller (NaN if either is).
  Tensor isnan() const;                           ///< Mask (1 or 0, self's dtype) of NaN elements.
  Tensor isinf() const;                           ///< Mask of infinite elements.
  Tensor isfinite() const;                        ///< Mask of elements neither infinite nor NaN.
  Tensor logical_not() const;                     ///< Mask (1 or 0, self's dtype) of self == 0.
  Tensor logical_and(const Tensor& other) const;  ///< Mask of self ≠ 0 and other ≠ 0.
  Tensor logical_or(const Tensor& other) const;   ///< Mask of self ≠ 0 or other ≠ 0.
  Tensor logical_xor(const Tensor& other) const;  ///< Mask of exactly one of them ≠ 0.
  Tensor eq(const Tensor& other) const;           ///< Mask (1 or 0, dtype of the operands) of self == other.
  Tensor ne(const Tensor& other) const;           ///< Mask of self != other.
  Tensor lt(const Tensor& other) const;           ///< Mask of self < other.
  Tensor le(const Tensor& other) const;           ///< Mask of self <= other.
  Tensor gt(const Tensor& other) const;           ///< Mask of self > other.
  Tensor ge(const Tensor& other) const;           ///< Mask of self >= other.
  Tensor eq(double other) const;                  ///< Mask of self == other.
  Tensor ne(double other) const;                  ///< Mask of self != other.
  Tensor lt(double other) const;                  ///< Mask of self < other.
  Tensor le(double other) const;                  ///< Mask of self <= other.
  Tensor gt(double other) const;                  ///< Mask of self > other.
  Tensor ge(double other) const;                  ///< Mask of self >= other.

  // --- reductions (differentiable) ----------------------------------------------------------
  /// 1 if any element is nonzero, else 0 (0-d, self's dtype; like the masks, never requires grad).
  Tensor any() const;
  Tensor any(std::int64_t dim, bool keepdim = false) const;  ///< any() along dim.
  /// 1 if every element is nonzero, else 0 (0-d, self's dtype; never requires grad).
  Tensor all() const;
  Tensor all(std::int64_t dim, bool keepdim = false) const;      ///< all() along dim.
  Tensor sum() const;                                            ///< Sum of all elements (0-d).
  Tensor sum(IntArrayRef dims, bool keepdim = false) const;      ///< Sum over dims.
  Tensor mean() const;                                           ///< Mean of all elements (0-d).
  Tensor mean(IntArrayRef dims, bool keepdim = false) const;     ///< Mean over dims.
  Tensor nansum() const;                                         ///< Sum of the non-NaN elements (0-d).
  Tensor nansum(IntArrayRef dims, bool keepdim = false) const;   ///< nansum over dims.
  Tensor nanmean() const;                                        ///< Mean of the non-NaN elements (0-d).
  Tensor nanmean(IntArrayRef dims, bool keepdim = false) const;  ///< nanmean over dims.
  Tensor max() const;  ///< Largest element (0-d); gradient shared evenly among ties.
  Tensor min() const;  ///< Smallest element (0-d); gradient shared evenly among ties.
  /// Largest values along dim and their int64 indices (first occurrence).
  std::tuple<Tensor, Tensor> max(std::int64_t dim, bool keepdim = false) const;
  /// Smallest values along dim and their int64 indices (first occurrence).
  std::tuple<Tensor, Tensor> min(std::int64_t dim, bool keepdim = false) const;
  /// Variance of all elements with Bessel's correction (divides by N - 1).
  Tensor var() const;
  /// Variance over dims (empty: all), divided by N - correction. `x.var(0)` reduces dim 0.
  Tensor var(IntArrayRef dims, std::int64_t correction = 1, bool keepdim = false) const;
  Tensor std() const;  ///< Standard deviation of all elements.
  /// √var over dims (empty: all); gradient 0 where it is 0, as PyTorch's.
  Tensor std(IntArrayRef dims, std::int64_t correction = 1, bool keepdim = false) const;
  /// Index of the largest element along dim (flattened without a dim); see voxgrad::argmax.
  Tensor argmax(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;
  /// Index of the smallest element along dim (flattened without a dim).
  Tensor argmin(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;
  /// The p-norm of all elements (p = 2, 1, inf, -inf, 0 or any other real); see voxgrad::norm.
  Tensor norm(double p = 2.0) const;
  /// The p-norm over dims.
  Tensor norm(double p, IntArrayRef dims, bool keepdim = false) const;
  /// Sums broadcast dims away so the result has `sizes` (the adjoint of expand).
  Tensor sum_to_size(IntArrayRef sizes) const;
  /// Largest element over dims (empty: all); see voxgrad::amax.
  Tensor amax(IntArrayRef dims = {}, bool keepdim = false) const;
  /// Smallest element over dims (empty: all); see voxgrad::amin.
  Tensor amin(IntArrayRef dims = {}, bool keepdim = false) const;
  /// log(sum(exp(self))) over dims, stably; see voxgrad::logsumexp.
  Tensor logsumexp(IntArrayRef dims, bool keepdim = false) const;
  /// Product of all elements (0-d); see voxgrad::prod.
  Tensor prod() const;
  /// Product along dim.
  Tensor prod(std::int64_t dim, bool keepdim = false) const;
  /// Running sum along dim (ops/cumulative.h).
  Tensor cumsum(std::int64_t dim) const;
  /// Running product along dim (ops/cumulative.h).
  Tensor cumprod(std::int64_t dim) const;
  /// Running maximum along dim and where each was taken (ops/cumulative.h).
  std::tuple<Tensor, Tensor> cummax(std::int64_t dim) const;
  /// Running minimum along dim and where each was taken.
  std::tuple<Tensor, Tensor> cummin(std::int64_t dim) const;
  /// log Σ exp of the elements so far along dim (ops/cumulative.h).
  Tensor logcumsumexp(std::int64_t dim) const;
  /// The n-th forward difference along dim, with optional prepend and append (ops/cumulative.h).
  Tensor diff(std::int64_t n = 1, std::int64_t dim = -1, const Tensor& prepend = Tensor(),
              const Tensor& append = Tensor()) const;
  /// Values sorted along dim and their int64 indices (ops/sort.h; ties keep their order).
  std::tuple<Tensor, Tensor> sort(std::int64_t dim = -1, bool descending = false, bool stable = false) const;
  /// sort()'s indices alone.
  Tensor argsort(std::int64_t dim = -1, bool descending = false, bool stable = false) const;
  /// The k largest (or smallest) values along dim and their int64 indices (ops/sort.h).
  std::tuple<Tensor, Tensor> topk(std::int64_t k, std::int64_t dim = -1, bool largest = true, bool sorted = true) const;
  /// The k-th smallest value along dim and its int64 index (ops/order_statistics.h).
  std::tuple<Tensor, Tensor> kthvalue(std::int64_t k, std::int64_t dim = -1, bool keepdim = false) const;
  /// The lower median of all elements (ops/order_statistics.h).
  Tensor median() const;
  /// The lower median along dim and its int64 index.
  std::tuple<Tensor, Tensor> median(std::int64_t dim, bool keepdim = false) const;
  /// median() of the elements that are not NaN.
  Tensor nanmedian() const;
  /// median(dim) of the elements that are not NaN.
  std::tuple<Tensor, Tensor> nanmedian(std::int64_t dim, bool keepdim = false) const;
  /// The q-quantiles of all elements or along dim (ops/order_statistics.h).
  Tensor quantile(double q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                  std::string_view interpolation = "linear") const;
  Tensor quantile(const Tensor& q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                  std::string_view interpolation = "linear") const;
  /// quantile() of the elements that are not NaN.
  Tensor nanquantile(double q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                     std::string_view interpolation = "linear") const;
  Tensor nanquantile(const Tensor& q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                     std::string_view interpolation = "linear") const;
  /// The cross product with other along dim, by default the first dim of size 3 (ops/linalg.h).
  Tensor cross(const Tensor& other, std::optional<std::int64_t> dim = std::nullopt) const;
  /// The sum of a matrix's main diagonal (ops/linalg.h).
  Tensor trace() const;
  /// A vector as a diagonal of a matrix, or a matrix's diagonal as a vector (ops/linalg.h).
  Tensor diag(std::int64_t diagonal = 0) const;
  /// The last dim written on a diagonal of the planes of dim1 and dim2 (ops/linalg.h).
  Tensor diag_embed(std::int64_t offset = 0, std::int64_t dim1 = -2, std::int64_t dim2 = -1) const;
  /// The elements where mask is 1, as a 1-D tensor (ops/indexing.h).
  Tensor masked_select(const Tensor& mask) const;
  /// A copy with the positions where mask is 1 taking source's elements in order (ops/indexing.h).
  Tensor masked_scatter(const Tensor& mask, const Tensor& source) const;
  /// The elements at indices along dim (or of the flattened tensor), as torch.take_along_dim.
  Tensor take_along_dim(const Tensor& indices, std::optional<std::int64_t> dim = std::nullopt) const;
  /// The first element (or slice along dim) of every run of equal ones, with the inverse and counts
  /// (ops/histogram.h).
  std::tuple<Tensor, Tensor, Tensor> unique_consecutive(bool return_inverse = false, bool return_counts = false,
                                                        std::optional<std::int64_t> dim = std::nullopt) const;
  /// self + weight * (end - self), as torch.lerp (ops/lerp.h).
  Tensor lerp(const Tensor& end, double weight) const;
  /// lerp with a tensor weight.
  Tensor lerp(const Tensor& end, const Tensor& weight) const;

  // --- indexing (ops/indexing.h, ops/gather_scatter.h, ops/reorder.h; Slice, None, Ellipsis are in
  // voxgrad::indexing) ----------------------------------------------------------------------
  /// self[indices], as libtorch's x.index({Slice(), 0, None, Ellipsis, idx}): see voxgrad::index.
  Tensor index(std::initializer_list<indexing::TensorIndex> indices) const;
  /// self[indices] with the list built at run time.
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  /// self[indices] = values (or += with accumulate), in place: see voxgrad::index_put_.
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& values, bool accumulate = false);
  /// self[indices] = value, in place.
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, double value, bool accumulate = false);
  /// Out-of-place, differentiable index_put_.
  Tensor index_put(const std::vector<indexing::TensorIndex>& indices, const Tensor& values,
                   bool accumulate = false) const;
  /// Entries at `index` (1-D int64) along dim.
  Tensor index_select(std::int64_t dim, const Tensor& index) const;
  /// value where mask is 1.
  Tensor masked_fill(const Tensor& mask, double value) const;
  /// value (0-d tensor) where mask is 1.
  Tensor masked_fill(const Tensor& mask, const Tensor& value) const;
  /// In-place masked_fill.
  Tensor& masked_fill_(const Tensor& mask, double value);
  /// In-place masked_fill with a 0-d tensor value.
  Tensor& masked_fill_(const Tensor& mask, const Tensor& value);
  /// Values along dim at the positions in index.
  Tensor gather(std::int64_t dim, const Tensor& index) const;
  /// self with src added at the positions in index along dim.
  Tensor scatter_add(std::int64_t dim, const Tensor& index, const Tensor& src) const;
  /// In-place scatter_add.
  Tensor& scatter_add_(std::int64_t dim, const Tensor& index, const Tensor& src);
  /// Elements in reverse order along dims.
  Tensor flip(IntArrayRef dims) const;
  /// Elements shifted (with wrap-around) along dims; flattened when dims is empty.
  Tensor roll(IntArrayRef shifts, IntArrayRef dims = {}) const;
  /// self where condition is nonzero, else other (PyTorch's Tensor.where).
  Tensor where(const Tensor& condition, const Tensor& other) const;
  /// self where condition is nonzero, else other.
  Tensor where(const Tensor& condition, double other) const;

  // --- linear algebra -----------------------------------------------------------------------
  /// Matrix product with NumPy semantics (1-D, 2-D and broadcast batched operands).
  Tensor matmul(const Tensor& other) const;
  Tensor dot(const Tensor& other) const;    ///< Σ self[i] · other[i] of two 1-D tensors (0-d).
  Tensor outer(const Tensor& other) const;  ///< self[i] · other[j] of two 1-D tensors.

  // --- autograd -----------------------------------------------------------------------------
  /// Marks a leaf as requiring grad (or not); returns *this.
  Tensor& requires_grad_(bool requires_grad = true);
  /// True for a leaf that requires grad, or any tensor produced from one in grad mode.
  bool requires_grad() const;
  /// True if no op recorded this tensor (user-created, or not requiring grad).
  bool is_leaf() const;
  /// The accumulated gradient (undefined until a backward reaches this tensor).
  Tensor grad() const;
  /// Replaces the accumulated gradient (an undefined tensor clears it).
  void set_grad(const Tensor& grad) const;
  /// Makes this tensor take `new_data`'s elements, as libtorch's set_data (PyTorch's
  /// `t.data = new_data`): its storage, sizes, strides, offset and dtype, so that every handle to this
  /// tensor sees them; requires_grad, grad_fn, the gradient and the gradient accumulator stay (the
  /// tensor keeps its place in the graph and in optimizers). Not recorded by autograd. Throws if
  /// either tensor is undefined, or if this tensor requires grad and `new_data` is not floating-point.
  void set_data(const Tensor& new_data) const;
  /// The node that produced this tensor, or null for a leaf.
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  /// Makes backward also store this non-leaf's gradient in grad().
  Tensor& retain_grad();
  /// True for a non-leaf that retains its gradient.
  bool retains_grad() const;
  /// Registers a gradient hook, run each time the gradient w.r.t. this tensor is computed (before a
  /// leaf accumulates it, before a non-leaf's gradient flows on, before autograd::grad returns it).
  /// The hook returns an undefined tensor to keep the gradient or a replacement of the same shape and
  /// dtype; several hooks run in registration order, each on the previous one's result. On a view the
  /// hook sees the view's gradient. Throws if this tensor does not require grad.
  autograd::RemovableHandle register_hook(autograd::GradHook hook) const;
  /// Registers a hook on a leaf that runs after backward has accumulated into its grad(), with the leaf
  /// as argument (PyTorch 2.1's register_post_accumulate_grad_hook); not run by autograd::grad, which
  /// accumulates nothing. Throws for a non-leaf or a tensor that does not require grad.
  autograd::RemovableHandle register_post_accumulate_grad_hook(autograd::PostAccumulateGradHook hook) const;
  /// Computes gradients of this tensor w.r.t. graph leaves and accumulates them into their grad().
  /// `gradient` may be omitted for a one-element tensor; retain_graph defaults to create_graph.
  void backward(const Tensor& gradient = {}, std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Operators are the functions add, sub (rsub for scalar - tensor), mul, div (rdiv), neg: broadcast,
// type-promoted and recorded by autograd.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& a);

// The compound assignments are add_ / sub_ / mul_ / div_ (in place, recorded by autograd).
Tensor& operator+=(Tensor& a, const Tensor& b);
Tensor& operator+=(Tensor& a, double b);
Tensor& operator-=(Tensor& a, const Tensor& b);
Tensor& operator-=(Tensor& a, double b);
Tensor& operator*=(Tensor& a, const Tensor& b);
Tensor& operator*=(Tensor& a, double b);
Tensor& operator/=(Tensor& a, const Tensor& b);
Tensor& operator/=(Tensor& a, double b);

}  // namespace voxgrad
