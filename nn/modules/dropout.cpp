#include "voxgrad/nn/modules/dropout.h"

#include "voxgrad/core/error.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/activation.h"

namespace voxgrad::nn {

Dropout::Dropout(const DropoutOptions& options) : options_(options) {
  VOXGRAD_CHECK(options_.p() >= 0.0 && options_.p() <= 1.0,
                "Dropout: dropout probability has to be between 0 and 1, but got {}", options_.p());
}

Tensor Dropout::forward(const Tensor& input) {
  return functional::dropout(input, functional::DropoutFuncOptions().p(options_.p()).training(is_training()));
}

std::string Dropout::extra_repr() const { return "p=" + detail::py_float(options_.p()) + ", inplace=False"; }

}  // namespace voxgrad::nn
