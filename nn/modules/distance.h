#pragma once

#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/distance.h"

namespace voxgrad::nn {

/// The cosine similarity of two inputs along a dim, as torch::nn::CosineSimilarity.
class CosineSimilarityImpl : public Cloneable<CosineSimilarityImpl> {
 public:
  /// Builds the layer: `CosineSimilarity()` or `CosineSimilarity(CosineSimilarityOptions().dim(-1))`.
  explicit CosineSimilarityImpl(const CosineSimilarityOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: this layer takes two inputs).
  using Module::forward;
  /// cosine_similarity(x1, x2, dim, eps).
  Tensor forward(const Tensor& x1, const Tensor& x2);
  const CosineSimilarityOptions& options() const { return options_; }

 private:
  CosineSimilarityOptions options_;
};
VOXGRAD_MODULE(CosineSimilarity);

/// The p-norm distance of two inputs along their last dim, as torch::nn::PairwiseDistance.
class PairwiseDistanceImpl : public Cloneable<PairwiseDistanceImpl> {
 public:
  /// Builds the layer: `PairwiseDistance()` or `PairwiseDistance(PairwiseDistanceOptions().p(1))`.
  explicit PairwiseDistanceImpl(const PairwiseDistanceOptions& options = {}) : options_(options) {}
  /// The single-input forward of Module (throws: this layer takes two inputs).
  using Module::forward;
  /// pairwise_distance(x1, x2, p, eps, keepdim).
  Tensor forward(const Tensor& x1, const Tensor& x2);
  const PairwiseDistanceOptions& options() const { return options_; }

 private:
  PairwiseDistanceOptions options_;
};
VOXGRAD_MODULE(PairwiseDistance);

}  // namespace voxgrad::nn
