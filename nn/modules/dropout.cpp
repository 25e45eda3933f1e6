#include "voxgrad/nn/modules/dropout.h"

#include "voxgrad/core/error.h"
#include "voxgrad/nn/detail/checks.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/activation.h"

namespace voxgrad::nn {

DropoutImpl::DropoutImpl(const DropoutOptions& options) : options_(options) {
  detail::check_dropout_probability(options_.p(), "Dropout");
}

Tensor DropoutImpl::forward(const Tensor& input) {
  return functional::dropout(input, functional::DropoutFuncOptions().p(options_.p()).training(is_training()));
}

std::string DropoutImpl::extra_repr() const { return "p=" + detail::py_float(options_.p()) + ", inplace=False"; }

}  // namespace voxgrad::nn
