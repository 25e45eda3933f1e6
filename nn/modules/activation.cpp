#include "voxgrad/nn/modules/activation.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/activation.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"

namespace voxgrad::nn {
namespace F = functional;

Tensor ReLU::forward(const Tensor& input) { return F::relu(input, F::ReLUFuncOptions().inplace(options_.inplace())); }

std::string ReLU::extra_repr() const { return options_.inplace() ? "inplace=True" : ""; }

Tensor LeakyReLU::forward(const Tensor& input) {
  return F::leaky_relu(input,
                       F::LeakyReLUFuncOptions().negative_slope(options_.negative_slope()).inplace(options_.inplace()));
}

std::string LeakyReLU::extra_repr() const {
  return "negative_slope=" + detail::py_float(options_.negative_slope()) + (options_.inplace() ? ", inplace=True" : "");
}

Tensor Sigmoid::forward(const Tensor& input) { return voxgrad::sigmoid(input); }

Tensor Tanh::forward(const Tensor& input) { return voxgrad::tanh(input); }

GELU::GELU(const GELUOptions& options) : options_(options) {
  voxgrad::detail::check_gelu_approximate(options_.approximate(), "GELU");
}

Tensor GELU::forward(const Tensor& input) {
  return F::gelu(input, F::GELUFuncOptions().approximate(options_.approximate()));
}

std::string GELU::extra_repr() const { return fmt::format("approximate='{}'", options_.approximate()); }

Tensor SiLU::forward(const Tensor& input) { return F::silu(input); }

Tensor ELU::forward(const Tensor& input) { return F::elu(input, F::ELUFuncOptions().alpha(options_.alpha())); }

std::string ELU::extra_repr() const { return "alpha=" + detail::py_float(options_.alpha()); }

PReLU::PReLU(const PReLUOptions& options) : options_(options) {
  VOXGRAD_CHECK(options_.num_parameters() >= 1, "PReLU: num_parameters must be at least 1 (got {})",
                options_.num_parameters());
  reset();
}

void PReLU::reset() { weight = register_parameter("weight", full({options_.num_parameters()}, options_.init())); }

Tensor PReLU::forward(const Tensor& input) { return F::prelu(input, weight); }

std::string PReLU::extra_repr() const { return fmt::format("num_parameters={}", options_.num_parameters()); }

Tensor Softmax::forward(const Tensor& input) { return F::softmax(input, options_.dim()); }

std::string Softmax::extra_repr() const { return fmt::format("dim={}", options_.dim()); }

Tensor LogSoftmax::forward(const Tensor& input) { return F::log_softmax(input, options_.dim()); }

std::string LogSoftmax::extra_repr() const { return fmt::format("dim={}", options_.dim()); }

}  // namespace voxgrad::nn
