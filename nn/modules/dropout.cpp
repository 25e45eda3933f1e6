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
  return functional::dropout(
      input, functional::DropoutFuncOptions().p(options_.p()).training(is_training()).inplace(options_.inplace()));
}

namespace {
std::string dropout_repr(double p, bool inplace) {
  return "p=" + detail::py_float(p) + (inplace ? ", inplace=True" : ", inplace=False");
}
}  // namespace

std::string DropoutImpl::extra_repr() const { return dropout_repr(options_.p(), options_.inplace()); }

Dropout3dImpl::Dropout3dImpl(const Dropout3dOptions& options) : options_(options) {
  detail::check_dropout_probability(options_.p(), "Dropout3d");
}

Tensor Dropout3dImpl::forward(const Tensor& input) {
  return functional::dropout3d(
      input, functional::Dropout3dFuncOptions().p(options_.p()).training(is_training()).inplace(options_.inplace()));
}

std::string Dropout3dImpl::extra_repr() const { return dropout_repr(options_.p(), options_.inplace()); }

}  // namespace voxgrad::nn
