#include "voxgrad/nn/modules/loss.h"

namespace voxgrad::nn {

namespace F = functional;

Tensor MSELossImpl::forward(const Tensor& input, const Tensor& target) { return F::mse_loss(input, target, options_); }

Tensor L1LossImpl::forward(const Tensor& input, const Tensor& target) { return F::l1_loss(input, target, options_); }

Tensor SmoothL1LossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::smooth_l1_loss(input, target, options_);
}

Tensor HuberLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::huber_loss(input, target, options_);
}

Tensor KLDivLossImpl::forward(const Tensor& input, const Tensor& target) { return F::kl_div(input, target, options_); }

Tensor GaussianNLLLossImpl::forward(const Tensor& input, const Tensor& target, const Tensor& var) {
  return F::gaussian_nll_loss(input, target, var, options_);
}

Tensor PoissonNLLLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::poisson_nll_loss(input, target, options_);
}

BCELossImpl::BCELossImpl(const BCELossOptions& options) : options_(options) { reset(); }

void BCELossImpl::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
}

Tensor BCELossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy(input, target, BCELossOptions(options_).weight(weight));
}

BCEWithLogitsLossImpl::BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& options) : options_(options) { reset(); }

void BCEWithLogitsLossImpl::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
  pos_weight = options_.pos_weight().defined() ? register_buffer("pos_weight", options_.pos_weight().detach().clone())
                                               : Tensor();
}

Tensor BCEWithLogitsLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy_with_logits(input, target,
                                             BCEWithLogitsLossOptions(options_).weight(weight).pos_weight(pos_weight));
}

NLLLossImpl::NLLLossImpl(const NLLLossOptions& options) : options_(options) { reset(); }

void NLLLossImpl::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
}

Tensor NLLLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::nll_loss(input, target, NLLLossOptions(options_).weight(weight));
}

CrossEntropyLossImpl::CrossEntropyLossImpl(const CrossEntropyLossOptions& options) : options_(options) { reset(); }

void CrossEntropyLossImpl::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
}

Tensor CrossEntropyLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::cross_entropy(input, target, CrossEntropyLossOptions(options_).weight(weight));
}

DiceLossImpl::DiceLossImpl(const DiceLossOptions& options) : options_(options) { reset(); }

void DiceLossImpl::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
}

Tensor DiceLossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::dice_loss(input, target, DiceLossOptions(options_).weight(weight));
}

DiceCELossImpl::DiceCELossImpl(const DiceCELossOptions& options) : options_(options) { reset(); }

void DiceCELossImpl::reset() {
  const Tensor& w = options_.dice().weight();
  weight = w.defined() ? register_buffer("weight", w.detach().clone()) : Tensor();
}

Tensor DiceCELossImpl::forward(const Tensor& input, const Tensor& target) {
  return F::dice_ce_loss(input, target,
                         DiceCELossOptions(options_).dice(DiceLossOptions(options_.dice()).weight(weight)));
}

}  // namespace voxgrad::nn
