#pragma once

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/options/distance.h"

namespace voxgrad::nn::functional {

/// Σ (x1 / max(‖x1‖, eps)) · (x2 / max(‖x2‖, eps)) along options.dim(), x1 and x2 broadcast, as torch 1.13's
/// torch.nn.functional.cosine_similarity (each vector divided by its norm first, so the result stays in
/// [−1, 1]). As there, the squared norms are clamped to eps² outside autograd: the gradient flows through a
/// norm below eps as if it were not clamped.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, const CosineSimilarityFuncOptions& options = {});
/// ‖x1 − x2 + eps‖_p along the last dim, x1 and x2 broadcast, as torch.nn.functional.pairwise_distance.
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, const PairwiseDistanceFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
