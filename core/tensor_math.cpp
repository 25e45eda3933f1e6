// Tensor's method forms of the element-wise ops, reductions and linear algebra: thin forwards to ops/ (the
// methods of the tensor itself, its views and in-place ops are in tensor.cpp).

#include "voxgrad/core/tensor.h"

#include "voxgrad/ops/cumulative.h"
#include "voxgrad/ops/division.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/gather_scatter.h"
#include "voxgrad/ops/histogram.h"
#include "voxgrad/ops/indexing.h"
#include "voxgrad/ops/lerp.h"
#include "voxgrad/ops/linalg.h"
#include "voxgrad/ops/order_statistics.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/reorder.h"
#include "voxgrad/ops/sort.h"
#include "voxgrad/ops/special.h"
#include "voxgrad/ops/trigonometric.h"

namespace voxgrad {

// --- elementwise ----------------------------------------------------------------------------

Tensor Tensor::add(const Tensor& o, double alpha) const { return voxgrad::add(*this, o, alpha); }
Tensor Tensor::sub(const Tensor& o, double alpha) const { return voxgrad::sub(*this, o, alpha); }
Tensor Tensor::mul(const Tensor& o) const { return voxgrad::mul(*this, o); }
Tensor Tensor::div(const Tensor& o) const { return voxgrad::div(*this, o); }
Tensor Tensor::div(const Tensor& o, std::optional<std::string_view> rounding_mode) const {
  return voxgrad::div(*this, o, rounding_mode);
}
Tensor Tensor::div(double o, std::optional<std::string_view> rounding_mode) const {
  return voxgrad::div(*this, o, rounding_mode);
}
Tensor Tensor::floor_divide(const Tensor& o) const { return voxgrad::floor_divide(*this, o); }
Tensor Tensor::floor_divide(double o) const { return voxgrad::floor_divide(*this, o); }
Tensor Tensor::fmod(const Tensor& o) const { return voxgrad::fmod(*this, o); }
Tensor Tensor::fmod(double o) const { return voxgrad::fmod(*this, o); }
Tensor Tensor::remainder(const Tensor& o) const { return voxgrad::remainder(*this, o); }
Tensor Tensor::remainder(double o) const { return voxgrad::remainder(*this, o); }
Tensor Tensor::neg() const { return voxgrad::neg(*this); }
Tensor Tensor::pow(double e) const { return voxgrad::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return voxgrad::pow(*this, e); }
Tensor Tensor::exp() const { return voxgrad::exp(*this); }
Tensor Tensor::log() const { return voxgrad::log(*this); }
Tensor Tensor::sqrt() const { return voxgrad::sqrt(*this); }
Tensor Tensor::abs() const { return voxgrad::abs(*this); }
Tensor Tensor::sign() const { return voxgrad::sign(*this); }
Tensor Tensor::clamp(std::optional<double> lo, std::optional<double> hi) const { return voxgrad::clamp(*this, lo, hi); }
Tensor Tensor::clamp(const std::optional<Tensor>& lo, const std::optional<Tensor>& hi) const {
  return voxgrad::clamp(*this, lo, hi);
}
Tensor Tensor::relu() const { return voxgrad::relu(*this); }
Tensor Tensor::leaky_relu(double s) const { return voxgrad::leaky_relu(*this, s); }
Tensor Tensor::sigmoid() const { return voxgrad::sigmoid(*this); }
Tensor Tensor::tanh() const { return voxgrad::tanh(*this); }
Tensor Tensor::log1p() const { return voxgrad::log1p(*this); }
Tensor Tensor::log2() const { return voxgrad::log2(*this); }
Tensor Tensor::log10() const { return voxgrad::log10(*this); }
Tensor Tensor::exp2() const { return voxgrad::exp2(*this); }
Tensor Tensor::square() const { return voxgrad::square(*this); }
Tensor Tensor::expm1() const { return voxgrad::expm1(*this); }
Tensor Tensor::sin() const { return voxgrad::sin(*this); }
Tensor Tensor::cos() const { return voxgrad::cos(*this); }
Tensor Tensor::tan() const { return voxgrad::tan(*this); }
Tensor Tensor::asin() const { return voxgrad::asin(*this); }
Tensor Tensor::acos() const { return voxgrad::acos(*this); }
Tensor Tensor::atan() const { return voxgrad::atan(*this); }
Tensor Tensor::atan2(const Tensor& o) const { return voxgrad::atan2(*this, o); }
Tensor Tensor::sinh() const { return voxgrad::sinh(*this); }
Tensor Tensor::cosh() const { return voxgrad::cosh(*this); }
Tensor Tensor::asinh() const { return voxgrad::asinh(*this); }
Tensor Tensor::acosh() const { return voxgrad::acosh(*this); }
Tensor Tensor::atanh() const { return voxgrad::atanh(*this); }
Tensor Tensor::reciprocal() const { return voxgrad::reciprocal(*this); }
Tensor Tensor::rsqrt() const { return voxgrad::rsqrt(*this); }
Tensor Tensor::floor() const { return voxgrad::floor(*this); }
Tensor Tensor::ceil() const { return voxgrad::ceil(*this); }
Tensor Tensor::round() const { return voxgrad::round(*this); }
Tensor Tensor::round(std::int64_t decimals) const { return voxgrad::round(*this, decimals); }
Tensor Tensor::trunc() const { return voxgrad::trunc(*this); }
Tensor Tensor::frac() const { return voxgrad::frac(*this); }
Tensor Tensor::erf() const { return voxgrad::erf(*this); }
Tensor Tensor::erfc() const { return voxgrad::erfc(*this); }
Tensor Tensor::erfinv() const { return voxgrad::erfinv(*this); }
Tensor Tensor::lgamma() const { return voxgrad::lgamma(*this); }
Tensor Tensor::digamma() const { return voxgrad::digamma(*this); }
Tensor Tensor::polygamma(std::int64_t n) const { return voxgrad::polygamma(n, *this); }
Tensor Tensor::logit(std::optional<double> eps) const { return voxgrad::logit(*this, eps); }
Tensor Tensor::sinc() const { return voxgrad::sinc(*this); }
Tensor Tensor::deg2rad() const { return voxgrad::deg2rad(*this); }
Tensor Tensor::rad2deg() const { return voxgrad::rad2deg(*this); }
Tensor Tensor::hypot(const Tensor& o) const { return voxgrad::hypot(*this, o); }
Tensor Tensor::copysign(const Tensor& o) const { return voxgrad::copysign(*this, o); }
Tensor Tensor::xlogy(const Tensor& o) const { return voxgrad::xlogy(*this, o); }
Tensor Tensor::logaddexp(const Tensor& o) const { return voxgrad::logaddexp(*this, o); }
Tensor Tensor::logaddexp2(const Tensor& o) const { return voxgrad::logaddexp2(*this, o); }
Tensor Tensor::nan_to_num(std::optional<double> nan, std::optional<double> posinf, std::optional<double> neginf) const {
  return voxgrad::nan_to_num(*this, nan, posinf, neginf);
}
Tensor Tensor::rot90(std::int64_t k, IntArrayRef dims) const { return voxgrad::rot90(*this, k, dims); }
Tensor Tensor::maximum(const Tensor& o) const { return voxgrad::maximum(*this, o); }
Tensor Tensor::minimum(const Tensor& o) const { return voxgrad::minimum(*this, o); }
Tensor Tensor::isnan() const { return voxgrad::isnan(*this); }
Tensor Tensor::isinf() const { return voxgrad::isinf(*this); }
Tensor Tensor::isfinite() const { return voxgrad::isfinite(*this); }
Tensor Tensor::logical_not() const { return voxgrad::logical_not(*this); }
Tensor Tensor::logical_and(const Tensor& other) const { return voxgrad::logical_and(*this, other); }
Tensor Tensor::logical_or(const Tensor& other) const { return voxgrad::logical_or(*this, other); }
Tensor Tensor::logical_xor(const Tensor& other) const { return voxgrad::logical_xor(*this, other); }
Tensor Tensor::eq(const Tensor& o) const { return voxgrad::eq(*this, o); }
Tensor Tensor::ne(const Tensor& o) const { return voxgrad::ne(*this, o); }
Tensor Tensor::lt(const Tensor& o) const { return voxgrad::lt(*this, o); }
Tensor Tensor::le(const Tensor& o) const { return voxgrad::le(*this, o); }
Tensor Tensor::gt(const Tensor& o) const { return voxgrad::gt(*this, o); }
Tensor Tensor::ge(const Tensor& o) const { return voxgrad::ge(*this, o); }
Tensor Tensor::eq(double o) const { return voxgrad::eq(*this, o); }
Tensor Tensor::ne(double o) const { return voxgrad::ne(*this, o); }
Tensor Tensor::lt(double o) const { return voxgrad::lt(*this, o); }
Tensor Tensor::le(double o) const { return voxgrad::le(*this, o); }
Tensor Tensor::gt(double o) const { return voxgrad::gt(*this, o); }
Tensor Tensor::ge(double o) const { return voxgrad::ge(*this, o); }

// --- reductions and linear algebra ----------------------------------------------------------

Tensor Tensor::any() const { return voxgrad::any(*this); }
Tensor Tensor::any(std::int64_t dim, bool keepdim) const { return voxgrad::any(*this, dim, keepdim); }
Tensor Tensor::all() const { return voxgrad::all(*this); }
Tensor Tensor::all(std::int64_t dim, bool keepdim) const { return voxgrad::all(*this, dim, keepdim); }
Tensor Tensor::sum() const { return voxgrad::sum(*this); }
Tensor Tensor::sum(IntArrayRef d, bool k) const { return voxgrad::sum(*this, d, k); }
Tensor Tensor::mean() const { return voxgrad::mean(*this); }
Tensor Tensor::mean(IntArrayRef d, bool k) const { return voxgrad::mean(*this, d, k); }
Tensor Tensor::nansum() const { return voxgrad::nansum(*this); }
Tensor Tensor::nansum(IntArrayRef d, bool k) const { return voxgrad::nansum(*this, d, k); }
Tensor Tensor::nanmean() const { return voxgrad::nanmean(*this); }
Tensor Tensor::nanmean(IntArrayRef d, bool k) const { return voxgrad::nanmean(*this, d, k); }
Tensor Tensor::max() const { return voxgrad::max(*this); }
Tensor Tensor::min() const { return voxgrad::min(*this); }
std::tuple<Tensor, Tensor> Tensor::max(std::int64_t d, bool k) const { return voxgrad::max(*this, d, k); }
std::tuple<Tensor, Tensor> Tensor::min(std::int64_t d, bool k) const { return voxgrad::min(*this, d, k); }
Tensor Tensor::var() const { return voxgrad::var(*this); }
Tensor Tensor::var(IntArrayRef d, std::int64_t c, bool k) const { return voxgrad::var(*this, d, c, k); }
Tensor Tensor::std() const { return voxgrad::std(*this); }
Tensor Tensor::std(IntArrayRef d, std::int64_t c, bool k) const { return voxgrad::std(*this, d, c, k); }
Tensor Tensor::sum_to_size(IntArrayRef s) const { return voxgrad::sum_to_size(*this, s); }
Tensor Tensor::argmax(std::optional<std::int64_t> d, bool k) const { return voxgrad::argmax(*this, d, k); }
Tensor Tensor::argmin(std::optional<std::int64_t> d, bool k) const { return voxgrad::argmin(*this, d, k); }
Tensor Tensor::norm(double p) const { return voxgrad::norm(*this, p); }
Tensor Tensor::norm(double p, IntArrayRef d, bool k) const { return voxgrad::norm(*this, p, d, k); }
Tensor Tensor::amax(IntArrayRef d, bool k) const { return voxgrad::amax(*this, d, k); }
Tensor Tensor::amin(IntArrayRef d, bool k) const { return voxgrad::amin(*this, d, k); }
Tensor Tensor::logsumexp(IntArrayRef d, bool k) const { return voxgrad::logsumexp(*this, d, k); }
Tensor Tensor::prod() const { return voxgrad::prod(*this); }
Tensor Tensor::prod(std::int64_t d, bool k) const { return voxgrad::prod(*this, d, k); }
Tensor Tensor::cumsum(std::int64_t d) const { return voxgrad::cumsum(*this, d); }
Tensor Tensor::cumprod(std::int64_t d) const { return voxgrad::cumprod(*this, d); }
std::tuple<Tensor, Tensor> Tensor::cummax(std::int64_t d) const { return voxgrad::cummax(*this, d); }
std::tuple<Tensor, Tensor> Tensor::cummin(std::int64_t d) const { return voxgrad::cummin(*this, d); }
Tensor Tensor::logcumsumexp(std::int64_t d) const { return voxgrad::logcumsumexp(*this, d); }
Tensor Tensor::diff(std::int64_t n, std::int64_t d, const Tensor& prepend, const Tensor& append) const {
  return voxgrad::diff(*this, n, d, prepend, append);
}
Tensor Tensor::argsort(std::int64_t d, bool descending, bool stable) const {
  return voxgrad::argsort(*this, d, descending, stable);
}
std::tuple<Tensor, Tensor> Tensor::sort(std::int64_t d, bool descending, bool stable) const {
  return voxgrad::sort(*this, d, descending, stable);
}
std::tuple<Tensor, Tensor> Tensor::kthvalue(std::int64_t k, std::int64_t d, bool keepdim) const {
  return voxgrad::kthvalue(*this, k, d, keepdim);
}
Tensor Tensor::median() const { return voxgrad::median(*this); }
std::tuple<Tensor, Tensor> Tensor::median(std::int64_t d, bool keep) const { return voxgrad::median(*this, d, keep); }
Tensor Tensor::nanmedian() const { return voxgrad::nanmedian(*this); }
std::tuple<Tensor, Tensor> Tensor::nanmedian(std::int64_t d, bool keep) const {
  return voxgrad::nanmedian(*this, d, keep);
}
Tensor Tensor::quantile(double q, std::optional<std::int64_t> d, bool keep, std::string_view i) const {
  return voxgrad::quantile(*this, q, d, keep, i);
}
Tensor Tensor::quantile(const Tensor& q, std::optional<std::int64_t> d, bool keep, std::string_view i) const {
  return voxgrad::quantile(*this, q, d, keep, i);
}
Tensor Tensor::nanquantile(double q, std::optional<std::int64_t> d, bool keep, std::string_view i) const {
  return voxgrad::nanquantile(*this, q, d, keep, i);
}
Tensor Tensor::nanquantile(const Tensor& q, std::optional<std::int64_t> d, bool keep, std::string_view i) const {
  return voxgrad::nanquantile(*this, q, d, keep, i);
}
std::tuple<Tensor, Tensor> Tensor::topk(std::int64_t k, std::int64_t d, bool largest, bool sorted) const {
  return voxgrad::topk(*this, k, d, largest, sorted);
}
Tensor Tensor::lerp(const Tensor& e, double w) const { return voxgrad::lerp(*this, e, w); }
Tensor Tensor::lerp(const Tensor& e, const Tensor& w) const { return voxgrad::lerp(*this, e, w); }
Tensor Tensor::cross(const Tensor& o, std::optional<std::int64_t> d) const { return voxgrad::cross(*this, o, d); }
Tensor Tensor::trace() const { return voxgrad::trace(*this); }
Tensor Tensor::diag(std::int64_t k) const { return voxgrad::diag(*this, k); }
Tensor Tensor::diag_embed(std::int64_t k, std::int64_t d1, std::int64_t d2) const {
  return voxgrad::diag_embed(*this, k, d1, d2);
}
Tensor Tensor::masked_select(const Tensor& m) const { return voxgrad::masked_select(*this, m); }
Tensor Tensor::masked_scatter(const Tensor& m, const Tensor& s) const { return voxgrad::masked_scatter(*this, m, s); }
Tensor Tensor::take_along_dim(const Tensor& i, std::optional<std::int64_t> d) const {
  return voxgrad::take_along_dim(*this, i, d);
}
std::tuple<Tensor, Tensor, Tensor> Tensor::unique_consecutive(bool inverse, bool counts,
                                                              std::optional<std::int64_t> d) const {
  return voxgrad::unique_consecutive(*this, inverse, counts, d);
}
Tensor Tensor::matmul(const Tensor& o) const { return voxgrad::matmul(*this, o); }
Tensor Tensor::dot(const Tensor& o) const { return voxgrad::dot(*this, o); }
Tensor Tensor::outer(const Tensor& o) const { return voxgrad::outer(*this, o); }

}  // namespace voxgrad
