#include "voxgrad/nn/modules/activation.h"

#include "voxgrad/core/error.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/activation.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"

namespace voxgrad::nn {
namespace F = functional;

Tensor ReLUImpl::forward(const Tensor& input) { return F::relu(input); }

Tensor LeakyReLUImpl::forward(const Tensor& input) {
  return F::leaky_relu(input, F::LeakyReLUFuncOptions().negative_slope(options_.negative_slope()));
}

std::string LeakyReLUImpl::extra_repr() const {
  return "negative_slope=" + detail::py_float(options_.negative_slope());
}

Tensor SigmoidImpl::forward(const Tensor& input) { return voxgrad::sigmoid(input); }

Tensor TanhImpl::forward(const Tensor& input) { return voxgrad::tanh(input); }

GELUImpl::GELUImpl(const GELUOptions& options) : options_(options) {
  voxgrad::detail::check_gelu_approximate(options_.approximate(), "GELU");
}

Tensor GELUImpl::forward(const Tensor& input) {
  return F::gelu(input, F::GELUFuncOptions().approximate(options_.approximate()));
}

std::string GELUImpl::extra_repr() const { return fmt::format("approximate='{}'", options_.approximate()); }

Tensor SiLUImpl::forward(const Tensor& input) { return F::silu(input); }

}  // namespace voxgrad::nn
