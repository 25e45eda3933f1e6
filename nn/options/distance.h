#pragma once
// Options of CosineSimilarity / PairwiseDistance (nn/modules/distance.h) and F::cosine_similarity /
// F::pairwise_distance (nn/functional/distance.h).

#include <cstdint>

#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

/// Options for CosineSimilarity, as torch::nn::CosineSimilarityOptions: `CosineSimilarityOptions().dim(-1)`.
struct CosineSimilarityOptions {
  /// The dim the vectors run along.
  VOXGRAD_ARG(std::int64_t, dim) = 1;
  /// The smallest norm a vector is divided by.
  VOXGRAD_ARG(double, eps) = 1e-8;
};

/// Options for PairwiseDistance, as torch::nn::PairwiseDistanceOptions: `PairwiseDistanceOptions().p(1)`.
struct PairwiseDistanceOptions {
  /// The norm's order.
  VOXGRAD_ARG(double, p) = 2.0;
  /// Added to the difference before the norm (so equal vectors are eps·n^(1/p) apart, as in torch).
  VOXGRAD_ARG(double, eps) = 1e-6;
  /// Keep the reduced last dim (size 1).
  VOXGRAD_ARG(bool, keepdim) = false;
};

namespace functional {
/// Options for cosine_similarity, as torch::nn::functional::CosineSimilarityFuncOptions.
using CosineSimilarityFuncOptions = CosineSimilarityOptions;
/// Options for pairwise_distance, as torch::nn::functional::PairwiseDistanceFuncOptions.
using PairwiseDistanceFuncOptions = PairwiseDistanceOptions;
}  // namespace functional

}  // namespace voxgrad::nn
