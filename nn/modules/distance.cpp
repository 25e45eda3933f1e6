#include "voxgrad/nn/modules/distance.h"

#include "voxgrad/nn/functional/distance.h"

namespace voxgrad::nn {

Tensor CosineSimilarityImpl::forward(const Tensor& x1, const Tensor& x2) {
  return functional::cosine_similarity(x1, x2, options_);
}

Tensor PairwiseDistanceImpl::forward(const Tensor& x1, const Tensor& x2) {
  return functional::pairwise_distance(x1, x2, options_);
}

}  // namespace voxgrad::nn
