#include "voxgrad/nn/modules/loss.h"

namespace voxgrad::nn {

namespace F = functional;

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) { return F::mse_loss(input, target, options_); }

Tensor L1Loss::forward(const Tensor& input, const Tensor& target) { return F::l1_loss(input, target, options_); }

Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
  return F::smooth_l1_loss(input, target, options_);
}

BCELoss::BCELoss(const BCELossOptions& options) : options_(options) { reset(); }

void BCELoss::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
}

Tensor BCELoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy(input, target, BCELossOptions(options_).weight(weight));
}

BCEWithLogitsLoss::BCEWithLogitsLoss(const BCEWithLogitsLossOptions& options) : options_(options) { reset(); }

void BCEWithLogitsLoss::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
  pos_weight = options_.pos_weight().defined() ? register_buffer("pos_weight", options_.pos_weight().detach().clone())
                                               : Tensor();
}

Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy_with_logits(input, target,
                                             BCEWithLogitsLossOptions(options_).weight(weight).pos_weight(pos_weight));
}

NLLLoss::NLLLoss(const NLLLossOptions& options) : options_(options) { reset(); }

void NLLLoss::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
}

Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) {
  return F::nll_loss(input, target, NLLLossOptions(options_).weight(weight));
}

CrossEntropyLoss::CrossEntropyLoss(const CrossEntropyLossOptions& options) : options_(options) { reset(); }

void CrossEntropyLoss::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
}

Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  return F::cross_entropy(input, target, CrossEntropyLossOptions(options_).weight(weight));
}

DiceLoss::DiceLoss(const DiceLossOptions& options) : options_(options) { reset(); }

void DiceLoss::reset() {
  weight = options_.weight().defined() ? register_buffer("weight", options_.weight().detach().clone()) : Tensor();
}

Tensor DiceLoss::forward(const Tensor& input, const Tensor& target) {
  return F::dice_loss(input, target, DiceLossOptions(options_).weight(weight));
}

DiceCELoss::DiceCELoss(const DiceCELossOptions& options) : options_(options) { reset(); }

void DiceCELoss::reset() {
  const Tensor& w = options_.dice().weight();
  weight = w.defined() ? register_buffer("weight", w.detach().clone()) : Tensor();
}

Tensor DiceCELoss::forward(const Tensor& input, const Tensor& target) {
  return F::dice_ce_loss(input, target,
                         DiceCELossOptions(options_).dice(DiceLossOptions(options_.dice()).weight(weight)));
}

}  // namespace voxgrad::nn
