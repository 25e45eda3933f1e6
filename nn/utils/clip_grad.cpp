#include "voxgrad/nn/utils/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/ops/elementwise.h"

namespace voxgrad::nn::utils {
namespace {

// The p-norm of all elements of `g` (p = ∞: the largest |x|; NaN propagates), in float64.
double tensor_norm(const Tensor& g, double p) {
  const Tensor c = g.detach().contiguous();
  return detail::dispatch_floating(c.dtype(), "clip_grad_norm_", [&]<typename T>() {
    const T* x = c.data_ptr<T>();
    const std::int64_t n = c.numel();
    if (std::isinf(p)) {
      double m = 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        const double a = std::abs(static_cast<double>(x[i]));
        if (std::isnan(a)) return a;
        m = std::max(m, a);
      }
      return m;
    }
    double s = 0.0;
    if (p == 2.0) {
      for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
      return std::sqrt(s);
    }
    if (p == 1.0) {
      for (std::int64_t i = 0; i < n; ++i) s += std::abs(static_cast<double>(x[i]));
      return s;
    }
    for (std::int64_t i = 0; i < n; ++i) s += std::pow(std::abs(static_cast<double>(x[i])), p);
    return std::pow(s, 1.0 / p);
  });
}

void check_parameter_defined(const Tensor& p, const char* op) {
  VOXGRAD_CHECK(p.defined(), "{}: a parameter is an undefined tensor", op);
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  VOXGRAD_CHECK(norm_type > 0.0 && !std::isnan(norm_type),
                "clip_grad_norm_: norm_type must be positive or infinity (got {})", norm_type);
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters) {
    check_parameter_defined(p, "clip_grad_norm_");
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return 0.0;
  // PyTorch: the norm of the per-gradient norms.
  std::vector<double> norms;
  for (const Tensor& g : grads) norms.push_back(tensor_norm(g, norm_type));
  double total = 0.0;
  if (std::isinf(norm_type)) {
    for (double n : norms) total = std::isnan(n) || std::isnan(total) ? NAN : std::max(total, n);
  } else {
    double s = 0.0;
    for (double n : norms) s += norm_type == 2.0 ? n * n : norm_type == 1.0 ? n : std::pow(n, norm_type);
    total = norm_type == 2.0 ? std::sqrt(s) : norm_type == 1.0 ? s : std::pow(s, 1.0 / norm_type);
  }
  VOXGRAD_CHECK(!error_if_nonfinite || std::isfinite(total),
                "clip_grad_norm_: the total norm of order {} for gradients from `parameters` is non-finite, so it "
                "cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, "
                "set error_if_nonfinite=false",
                norm_type);
  // min(coef, 1) keeps a NaN coefficient NaN, as torch.clamp(max=1) does.
  const double coef = max_norm / (total + 1e-6);
  const double clip_coef = std::isnan(coef) ? coef : std::min(coef, 1.0);
  NoGradGuard no_grad;
  for (const Tensor& g : grads) {
    Tensor d = g.detach();
    d.mul_(clip_coef);
  }
  return total;
}

double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type, bool error_if_nonfinite) {
  return clip_grad_norm_(std::vector<Tensor>{parameter}, max_norm, norm_type, error_if_nonfinite);
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& p : parameters) {
    check_parameter_defined(p, "clip_grad_value_");
    if (!p.grad().defined()) continue;
    Tensor d = p.grad().detach();
    d.copy_(d.clamp(-clip_value, clip_value));
  }
}

void clip_grad_value_(const Tensor& parameter, double clip_value) {
  clip_grad_value_(std::vector<Tensor>{parameter}, clip_value);
}

}  // namespace voxgrad::nn::utils
