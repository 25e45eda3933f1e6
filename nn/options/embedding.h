#pragma once
// Options of Embedding (nn/modules/embedding.h) and F::embedding (nn/functional/embedding.h).

#include <cstdint>
#include <optional>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

/// Options for Embedding, as torch::nn::EmbeddingOptions: `EmbeddingOptions(1000, 64).padding_idx(0)`.
struct EmbeddingOptions {
  /// The two required sizes.
  EmbeddingOptions(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  /// Number of rows of the table (indices run over [0, num_embeddings)).
  VOXGRAD_ARG(std::int64_t, num_embeddings);
  /// Length of each row.
  VOXGRAD_ARG(std::int64_t, embedding_dim);
  /// A row that gets no gradient (and is initialised to zeros); negative values count from the end.
  VOXGRAD_ARG(std::optional<std::int64_t>, padding_idx);
  /// Each row a forward call reads is scaled, in place, to this norm when its norm is larger.
  VOXGRAD_ARG(std::optional<double>, max_norm);
  /// The p of max_norm's p-norm.
  VOXGRAD_ARG(double, norm_type) = 2.0;
  /// Divides each row's gradient by how often its index occurs in the batch.
  VOXGRAD_ARG(bool, scale_grad_by_freq) = false;
  /// Sparse gradients: refused (voxgrad has no sparse tensors), kept for a port's option lists.
  VOXGRAD_ARG(bool, sparse) = false;
  /// A table to use instead of a freshly initialised one (num_embeddings × embedding_dim).
  VOXGRAD_ARG(Tensor, _weight);
};

/// Options for Embedding::from_pretrained, as torch::nn::EmbeddingFromPretrainedOptions.
struct EmbeddingFromPretrainedOptions {
  /// Whether the table is frozen (requires_grad false).
  VOXGRAD_ARG(bool, freeze) = true;
  /// See EmbeddingOptions.
  VOXGRAD_ARG(std::optional<std::int64_t>, padding_idx);
  /// See EmbeddingOptions.
  VOXGRAD_ARG(std::optional<double>, max_norm);
  /// See EmbeddingOptions.
  VOXGRAD_ARG(double, norm_type) = 2.0;
  /// See EmbeddingOptions.
  VOXGRAD_ARG(bool, scale_grad_by_freq) = false;
  /// See EmbeddingOptions.
  VOXGRAD_ARG(bool, sparse) = false;
};

namespace functional {

/// Options for embedding, as torch::nn::functional::EmbeddingFuncOptions.
struct EmbeddingFuncOptions {
  /// See EmbeddingOptions.
  VOXGRAD_ARG(std::optional<std::int64_t>, padding_idx);
  /// See EmbeddingOptions (the weight is renormalised in place).
  VOXGRAD_ARG(std::optional<double>, max_norm);
  /// See EmbeddingOptions.
  VOXGRAD_ARG(double, norm_type) = 2.0;
  /// See EmbeddingOptions.
  VOXGRAD_ARG(bool, scale_grad_by_freq) = false;
  /// See EmbeddingOptions.
  VOXGRAD_ARG(bool, sparse) = false;
};

}  // namespace functional
}  // namespace voxgrad::nn
