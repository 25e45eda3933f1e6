#pragma once
// Modules of the margin and embedding losses (nn/functional/margin_loss.h), as torch::nn's.

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/functional/margin_loss.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/loss.h"

namespace voxgrad::nn {

/// Ranking hinge loss of pairs, as torch::nn::MarginRankingLoss:
/// `MarginRankingLoss(MarginRankingLossOptions().margin(0.5))`.
class MarginRankingLossImpl : public Cloneable<MarginRankingLossImpl> {
 public:
  /// Builds the loss (kMean, margin 0 by default).
  explicit MarginRankingLossImpl(const MarginRankingLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::margin_ranking_loss(input1, input2, target, options).
  Tensor forward(const Tensor& input1, const Tensor& input2, const Tensor& target);
  const MarginRankingLossOptions& options() const { return options_; }

 private:
  MarginRankingLossOptions options_;
};
VOXGRAD_MODULE(MarginRankingLoss);

/// Hinge loss of ±1-labelled distances, as torch::nn::HingeEmbeddingLoss:
/// `HingeEmbeddingLoss(HingeEmbeddingLossOptions().margin(2))`.
class HingeEmbeddingLossImpl : public Cloneable<HingeEmbeddingLossImpl> {
 public:
  /// Builds the loss (kMean, margin 1 by default).
  explicit HingeEmbeddingLossImpl(const HingeEmbeddingLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::hinge_embedding_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const HingeEmbeddingLossOptions& options() const { return options_; }

 private:
  HingeEmbeddingLossOptions options_;
};
VOXGRAD_MODULE(HingeEmbeddingLoss);

/// Logistic loss of ±1 labels, as torch::nn::SoftMarginLoss: `SoftMarginLoss(kSum)`.
class SoftMarginLossImpl : public Cloneable<SoftMarginLossImpl> {
 public:
  /// Builds the loss (kMean by default).
  explicit SoftMarginLossImpl(const SoftMarginLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::soft_margin_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const SoftMarginLossOptions& options() const { return options_; }

 private:
  SoftMarginLossOptions options_;
};
VOXGRAD_MODULE(SoftMarginLoss);

/// Cosine loss of ±1-labelled pairs, as torch::nn::CosineEmbeddingLoss:
/// `CosineEmbeddingLoss(CosineEmbeddingLossOptions().margin(0.2))`.
class CosineEmbeddingLossImpl : public Cloneable<CosineEmbeddingLossImpl> {
 public:
  /// Builds the loss (kMean, margin 0 by default).
  explicit CosineEmbeddingLossImpl(const CosineEmbeddingLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::cosine_embedding_loss(input1, input2, target, options).
  Tensor forward(const Tensor& input1, const Tensor& input2, const Tensor& target);
  const CosineEmbeddingLossOptions& options() const { return options_; }

 private:
  CosineEmbeddingLossOptions options_;
};
VOXGRAD_MODULE(CosineEmbeddingLoss);

/// Triplet loss with a margin, as torch::nn::TripletMarginLoss:
/// `TripletMarginLoss(TripletMarginLossOptions().swap(true))`.
class TripletMarginLossImpl : public Cloneable<TripletMarginLossImpl> {
 public:
  /// Builds the loss (kMean, margin 1, p 2 by default).
  explicit TripletMarginLossImpl(const TripletMarginLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::triplet_margin_loss(anchor, positive, negative, options).
  Tensor forward(const Tensor& anchor, const Tensor& positive, const Tensor& negative);
  const TripletMarginLossOptions& options() const { return options_; }

 private:
  TripletMarginLossOptions options_;
};
VOXGRAD_MODULE(TripletMarginLoss);

/// Triplet loss with any distance, as torch::nn::TripletMarginWithDistanceLoss:
/// `TripletMarginWithDistanceLoss(TripletMarginWithDistanceLossOptions().distance_function(f).margin(0.5))`.
class TripletMarginWithDistanceLossImpl : public Cloneable<TripletMarginWithDistanceLossImpl> {
 public:
  /// Builds the loss (kMean, pairwise_distance, margin 1 by default).
  explicit TripletMarginWithDistanceLossImpl(const TripletMarginWithDistanceLossOptions& options = {})
      : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::triplet_margin_with_distance_loss(anchor, positive, negative, options).
  Tensor forward(const Tensor& anchor, const Tensor& positive, const Tensor& negative);
  const TripletMarginWithDistanceLossOptions& options() const { return options_; }

 private:
  TripletMarginWithDistanceLossOptions options_;
};
VOXGRAD_MODULE(TripletMarginWithDistanceLoss);

/// Multi-class hinge loss, as torch::nn::MultiMarginLoss: `MultiMarginLoss(MultiMarginLossOptions().p(2))`.
class MultiMarginLossImpl : public Cloneable<MultiMarginLossImpl> {
 public:
  /// Builds the loss (kMean, p 1, margin 1, no weight by default).
  explicit MultiMarginLossImpl(const MultiMarginLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::multi_margin_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const MultiMarginLossOptions& options() const { return options_; }

 private:
  MultiMarginLossOptions options_;
};
VOXGRAD_MODULE(MultiMarginLoss);

/// Multi-label hinge loss, as torch::nn::MultiLabelMarginLoss: `MultiLabelMarginLoss(kSum)`.
class MultiLabelMarginLossImpl : public Cloneable<MultiLabelMarginLossImpl> {
 public:
  /// Builds the loss (kMean by default).
  explicit MultiLabelMarginLossImpl(const MultiLabelMarginLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::multilabel_margin_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const MultiLabelMarginLossOptions& options() const { return options_; }

 private:
  MultiLabelMarginLossOptions options_;
};
VOXGRAD_MODULE(MultiLabelMarginLoss);

/// Multi-label logistic loss, as torch::nn::MultiLabelSoftMarginLoss: `MultiLabelSoftMarginLoss(kSum)`.
class MultiLabelSoftMarginLossImpl : public Cloneable<MultiLabelSoftMarginLossImpl> {
 public:
  /// Builds the loss (kMean, no weight by default).
  explicit MultiLabelSoftMarginLossImpl(const MultiLabelSoftMarginLossOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: a loss needs a target).
  using Module::forward;
  /// functional::multilabel_soft_margin_loss(input, target, options).
  Tensor forward(const Tensor& input, const Tensor& target);
  const MultiLabelSoftMarginLossOptions& options() const { return options_; }

 private:
  MultiLabelSoftMarginLossOptions options_;
};
VOXGRAD_MODULE(MultiLabelSoftMarginLoss);

}  // namespace voxgrad::nn
