#include "voxgrad/nn/modules/activation.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/activation.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"

namespace voxgrad::nn {
namespace F = functional;

Tensor ReLUImpl::forward(const Tensor& input) {
  return F::relu(input, F::ReLUFuncOptions().inplace(options_.inplace()));
}

std::string ReLUImpl::extra_repr() const { return options_.inplace() ? "inplace=True" : ""; }

Tensor LeakyReLUImpl::forward(const Tensor& input) {
  return F::leaky_relu(input,
                       F::LeakyReLUFuncOptions().negative_slope(options_.negative_slope()).inplace(options_.inplace()));
}

std::string LeakyReLUImpl::extra_repr() const {
  return "negative_slope=" + detail::py_float(options_.negative_slope()) + (options_.inplace() ? ", inplace=True" : "");
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

Tensor ELUImpl::forward(const Tensor& input) {
  return F::elu(input, F::ELUFuncOptions().alpha(options_.alpha()).inplace(options_.inplace()));
}

std::string ELUImpl::extra_repr() const {
  return "alpha=" + detail::py_float(options_.alpha()) + (options_.inplace() ? ", inplace=True" : "");
}

Tensor SoftplusImpl::forward(const Tensor& input) { return F::softplus(input, options_); }

std::string SoftplusImpl::extra_repr() const {
  // torch.nn.Softplus's defaults are the ints 1 and 20, printed so; other values print as Python floats.
  const auto show = [](double v, double dflt, const char* as) {
    return v == dflt ? std::string(as) : detail::py_float(v);
  };
  return "beta=" + show(options_.beta(), 1.0, "1") + ", threshold=" + show(options_.threshold(), 20.0, "20");
}

HardtanhImpl::HardtanhImpl(const HardtanhOptions& options) : options_(options) {
  VOXGRAD_CHECK(options_.max_val() > options_.min_val(), "Hardtanh: max_val ({}) must be greater than min_val ({})",
                options_.max_val(), options_.min_val());
}

Tensor HardtanhImpl::forward(const Tensor& input) { return F::hardtanh(input, options_); }

std::string HardtanhImpl::extra_repr() const {
  return "min_val=" + detail::py_float(options_.min_val()) + ", max_val=" + detail::py_float(options_.max_val());
}

Tensor ReLU6Impl::forward(const Tensor& input) { return F::relu6(input); }
Tensor LogSigmoidImpl::forward(const Tensor& input) { return F::logsigmoid(input); }
Tensor MishImpl::forward(const Tensor& input) { return F::mish(input); }
Tensor HardswishImpl::forward(const Tensor& input) { return F::hardswish(input); }
Tensor HardsigmoidImpl::forward(const Tensor& input) { return F::hardsigmoid(input); }

PReLUImpl::PReLUImpl(const PReLUOptions& options) : options_(options) {
  VOXGRAD_CHECK(options_.num_parameters() >= 1, "PReLU: num_parameters must be at least 1 (got {})",
                options_.num_parameters());
  reset();
}

void PReLUImpl::reset() { weight = register_parameter("weight", full({options_.num_parameters()}, options_.init())); }

Tensor PReLUImpl::forward(const Tensor& input) { return F::prelu(input, weight); }

std::string PReLUImpl::extra_repr() const { return fmt::format("num_parameters={}", options_.num_parameters()); }

Tensor SoftmaxImpl::forward(const Tensor& input) { return F::softmax(input, options_.dim()); }

std::string SoftmaxImpl::extra_repr() const { return fmt::format("dim={}", options_.dim()); }

Tensor LogSoftmaxImpl::forward(const Tensor& input) { return F::log_softmax(input, options_.dim()); }

std::string LogSoftmaxImpl::extra_repr() const { return fmt::format("dim={}", options_.dim()); }

}  // namespace voxgrad::nn
