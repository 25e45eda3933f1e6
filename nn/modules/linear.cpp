#include "voxgrad/nn/modules/linear.h"

#include <cmath>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/activation.h"
#include "voxgrad/nn/init.h"

namespace voxgrad::nn {

LinearImpl::LinearImpl(const LinearOptions& options) : options_(options) {
  VOXGRAD_CHECK(options_.in_features() >= 0 && options_.out_features() >= 0,
                "Linear: in_features and out_features must be non-negative (got in_features={}, out_features={})",
                options_.in_features(), options_.out_features());
  reset();
}

void LinearImpl::reset() {
  weight = register_parameter("weight", voxgrad::empty({options_.out_features(), options_.in_features()}));
  bias = options_.bias() ? register_parameter("bias", voxgrad::empty({options_.out_features()})) : Tensor();
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  NoGradGuard no_grad;
  // kaiming_uniform_ with a = √5 gives gain √(1/3) and bound √3·gain/√fan_in = 1/√fan_in.
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const std::int64_t fan_in = options_.in_features();
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor LinearImpl::forward(const Tensor& input) { return functional::linear(input, weight, bias); }

std::string LinearImpl::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", options_.in_features(), options_.out_features(),
                     detail::py_bool(options_.bias()));
}

Tensor IdentityImpl::forward(const Tensor& input) { return input; }

Tensor FlattenImpl::forward(const Tensor& input) {
  return functional::flatten(
      input, functional::FlattenFuncOptions().start_dim(options_.start_dim()).end_dim(options_.end_dim()));
}

std::string FlattenImpl::extra_repr() const {
  return fmt::format("start_dim={}, end_dim={}", options_.start_dim(), options_.end_dim());
}

}  // namespace voxgrad::nn
