#pragma once

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/functional/dice_loss.h"
#include "voxgrad/nn/functional/loss.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/loss.h"

namespace voxgrad::nn {

/// Mean squared error, as torch::nn::MSELoss: `MSELoss(MSELossOptions(kSum))`.
class MSELossImpl : public Cloneable<MSELossImpl> {
 public:
  /// Builds the loss (kMean by default).
  explicit MSELossImpl(const MSELossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::mse_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const MSELossOptions& options() const { return options_; }

 private:
  MSELossOptions options_;
};
VOXGRAD_MODULE(MSELoss);

/// Mean absolute error, as torch::nn::L1Loss.
class L1LossImpl : public Cloneable<L1LossImpl> {
 public:
  /// Builds the loss (kMean by default).
  explicit L1LossImpl(const L1LossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::l1_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const L1LossOptions& options() const { return options_; }

 private:
  L1LossOptions options_;
};
VOXGRAD_MODULE(L1Loss);

/// Huber-like smooth L1 loss, as torch::nn::SmoothL1Loss: `SmoothL1Loss(SmoothL1LossOptions().beta(0.5))`.
class SmoothL1LossImpl : public Cloneable<SmoothL1LossImpl> {
 public:
  /// Builds the loss (kMean, beta 1 by default).
  explicit SmoothL1LossImpl(const SmoothL1LossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::smooth_l1_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const SmoothL1LossOptions& options() const { return options_; }

 private:
  SmoothL1LossOptions options_;
};
VOXGRAD_MODULE(SmoothL1Loss);

/// Huber loss, as torch::nn::HuberLoss: `HuberLoss(HuberLossOptions().delta(0.5))`.
class HuberLossImpl : public Cloneable<HuberLossImpl> {
 public:
  /// Builds the loss (kMean, delta 1 by default).
  explicit HuberLossImpl(const HuberLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::huber_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const HuberLossOptions& options() const { return options_; }

 private:
  HuberLossOptions options_;
};
VOXGRAD_MODULE(HuberLoss);

/// Kullback-Leibler divergence of log-probabilities, as torch::nn::KLDivLoss:
/// `KLDivLoss(KLDivLossOptions(kBatchMean))`.
class KLDivLossImpl : public Cloneable<KLDivLossImpl> {
 public:
  /// Builds the loss (kMean, probability targets by default).
  explicit KLDivLossImpl(const KLDivLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::kl_div(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const KLDivLossOptions& options() const { return options_; }

 private:
  KLDivLossOptions options_;
};
VOXGRAD_MODULE(KLDivLoss);

/// Gaussian negative log likelihood with a predicted variance, as torch::nn::GaussianNLLLoss:
/// `GaussianNLLLoss(GaussianNLLLossOptions().full(true))`.
class GaussianNLLLossImpl : public Cloneable<GaussianNLLLossImpl> {
 public:
  /// Builds the loss (kMean, eps 1e-6 by default).
  explicit GaussianNLLLossImpl(const GaussianNLLLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::gaussian_nll_loss(input, target, var, options).
  Tensor forward(const Tensor& input, const Tensor& target, const Tensor& var);
  const GaussianNLLLossOptions& options() const { return options_; }

 private:
  GaussianNLLLossOptions options_;
};
VOXGRAD_MODULE(GaussianNLLLoss);

/// Poisson negative log likelihood, as torch::nn::PoissonNLLLoss:
/// `PoissonNLLLoss(PoissonNLLLossOptions().log_input(false))`.
class PoissonNLLLossImpl : public Cloneable<PoissonNLLLossImpl> {
 public:
  /// Builds the loss (kMean, log-rate input by default).
  explicit PoissonNLLLossImpl(const PoissonNLLLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::poisson_nll_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const PoissonNLLLossOptions& options() const { return options_; }

 private:
  PoissonNLLLossOptions options_;
};
VOXGRAD_MODULE(PoissonNLLLoss);

/// Binary cross entropy on probabilities, as torch::nn::BCELoss; the weight is buffer "weight".
class BCELossImpl : public Cloneable<BCELossImpl> {
 public:
  /// Builds the loss (kMean, no weight by default).
  explicit BCELossImpl(const BCELossOptions& options = {});
  /// Registers the weight buffer (if the options have one).
  void reset() override;
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::binary_cross_entropy(input, target, options with the buffer as weight).
  Tensor forward(const Tensor& input, const Tensor& target);
  /// The options the loss was built with; forward() weighs with the buffer `weight`, not options().weight().
  const BCELossOptions& options() const { return options_; }
  /// Buffer "weight", a copy of options().weight() (undefined without a weight).
  Tensor weight;

 private:
  BCELossOptions options_;
};
VOXGRAD_MODULE(BCELoss);

/// Binary cross entropy on logits, as torch::nn::BCEWithLogitsLoss; buffers "weight", "pos_weight".
class BCEWithLogitsLossImpl : public Cloneable<BCEWithLogitsLossImpl> {
 public:
  /// Builds the loss (kMean, no weights by default).
  explicit BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& options = {});
  /// Registers the weight and pos_weight buffers (those the options have).
  void reset() override;
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::binary_cross_entropy_with_logits(input, target, options with the buffers).
  Tensor forward(const Tensor& input, const Tensor& target);
  /// The options the loss was built with; forward() weighs with the buffers below, not the options' tensors.
  const BCEWithLogitsLossOptions& options() const { return options_; }
  /// Buffer "weight", a copy of options().weight() (undefined without a weight).
  Tensor weight;
  /// Buffer "pos_weight", a copy of options().pos_weight() (undefined without one).
  Tensor pos_weight;

 private:
  BCEWithLogitsLossOptions options_;
};
VOXGRAD_MODULE(BCEWithLogitsLoss);

/// Negative log likelihood of class indices, as torch::nn::NLLLoss; the class weights are buffer "weight".
class NLLLossImpl : public Cloneable<NLLLossImpl> {
 public:
  /// Builds the loss (kMean, no weights, ignore_index −100 by default).
  explicit NLLLossImpl(const NLLLossOptions& options = {});
  /// Registers the weight buffer (if the options have one).
  void reset() override;
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::nll_loss(input, target, options with the buffer as weight).
  Tensor forward(const Tensor& input, const Tensor& target);
  /// The options the loss was built with; forward() weighs with the buffer `weight`, not options().weight().
  const NLLLossOptions& options() const { return options_; }
  /// Buffer "weight", a copy of options().weight() (undefined without class weights).
  Tensor weight;

 private:
  NLLLossOptions options_;
};
VOXGRAD_MODULE(NLLLoss);

/// Cross entropy of logits and class indices (or probabilities), as torch::nn::CrossEntropyLoss:
/// `CrossEntropyLoss(CrossEntropyLossOptions().weight(w).ignore_index(255).label_smoothing(0.1))`;
/// the class weights are buffer "weight".
class CrossEntropyLossImpl : public Cloneable<CrossEntropyLossImpl> {
 public:
  /// Builds the loss (kMean, no weights, ignore_index −100, no smoothing by default).
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& options = {});
  /// Registers the weight buffer (if the options have one).
  void reset() override;
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::cross_entropy(input, target, options with the buffer as weight).
  Tensor forward(const Tensor& input, const Tensor& target);
  /// The options the loss was built with; forward() weighs with the buffer `weight`, not options().weight().
  const CrossEntropyLossOptions& options() const { return options_; }
  /// Buffer "weight", a copy of options().weight() (undefined without class weights).
  Tensor weight;

 private:
  CrossEntropyLossOptions options_;
};
VOXGRAD_MODULE(CrossEntropyLoss);

/// MONAI's Dice loss for segmentation: `DiceLoss(DiceLossOptions().softmax(true).to_onehot_y(true))`;
/// the class weights are buffer "weight".
class DiceLossImpl : public Cloneable<DiceLossImpl> {
 public:
  /// Builds the loss (MONAI's defaults: no activation, background included, smooth terms 1e-5).
  explicit DiceLossImpl(const DiceLossOptions& options = {});
  /// Registers the weight buffer (if the options have one).
  void reset() override;
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::dice_loss(input, target, options with the buffer as weight).
  Tensor forward(const Tensor& input, const Tensor& target);
  /// The options the loss was built with; forward() weighs with the buffer `weight`.
  const DiceLossOptions& options() const { return options_; }
  /// Buffer "weight", a copy of options().weight() (undefined without class weights).
  Tensor weight;

 private:
  DiceLossOptions options_;
};
VOXGRAD_MODULE(DiceLoss);

/// MONAI's DiceCELoss (Dice + cross entropy); the class weights are buffer "weight".
class DiceCELossImpl : public Cloneable<DiceCELossImpl> {
 public:
  /// Builds the loss (MONAI's defaults).
  explicit DiceCELossImpl(const DiceCELossOptions& options = {});
  /// Registers the weight buffer (if the Dice options have one).
  void reset() override;
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::dice_ce_loss(input, target, options with the buffer as weight).
  Tensor forward(const Tensor& input, const Tensor& target);
  /// The options the loss was built with; forward() weighs with the buffer `weight`.
  const DiceCELossOptions& options() const { return options_; }
  /// Buffer "weight", a copy of options().dice().weight() (undefined without class weights).
  Tensor weight;

 private:
  DiceCELossOptions options_;
};
VOXGRAD_MODULE(DiceCELoss);

}  // namespace voxgrad::nn
