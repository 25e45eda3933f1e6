#pragma once
// F::embedding: rows of a table looked up by int64 indices.

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/options/embedding.h"

namespace voxgrad::nn::functional {

/// The rows of `weight` (num_embeddings × embedding_dim, float) at the int64 `input` indices, shape
/// input.sizes() + [embedding_dim], as torch::nn::functional::embedding. Differentiable in weight: each
/// row's gradient is the sum, in index order, of the output rows that read it; the padding_idx row gets
/// none, and with scale_grad_by_freq each term is divided by its index's count in `input` (both as
/// PyTorch's CPU kernel). With max_norm, every row `input` reads whose norm_type-norm exceeds max_norm
/// is first scaled in place, without autograd, by max_norm / (norm + 1e-7), as torch.embedding_renorm_.
Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options = {});

}  // namespace voxgrad::nn::functional
