#include "voxgrad/nn/modules/dropout.h"

#include "voxgrad/core/error.h"
#include "voxgrad/nn/detail/checks.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/activation.h"

namespace voxgrad::nn {

Dropout::Dropout(const DropoutOptions& options) : options_(options) {
  detail::check_dropout_probability(options_.p(), "Dropout");
}

Tensor Dropout::forward(const Tensor& input) {
  return functional::dropout(
      input, functional::DropoutFuncOptions().p(options_.p()).training(is_training()).inplace(options_.inplace()));
}

std::string Dropout::extra_repr() const {
  return "p=" + detail::py_float(options_.p()) + (options_.inplace() ? ", inplace=True" : ", inplace=False");
}

}  // namespace voxgrad::nn
