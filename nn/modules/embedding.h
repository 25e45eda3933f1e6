#pragma once

#include <cstdint>
#include <string>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/embedding.h"

namespace voxgrad::nn {

/// A lookup table of num_embeddings rows of embedding_dim values, indexed by int64 tensors, as
/// torch::nn::Embedding (see functional::embedding for the gradient, padding_idx and max_norm). The weight
/// is initialised N(0, 1) with the padding_idx row zeroed, as PyTorch.
class EmbeddingImpl : public Cloneable<EmbeddingImpl> {
 public:
  /// Builds the table: `Embedding(EmbeddingOptions(1000, 64).padding_idx(0))`.
  explicit EmbeddingImpl(const EmbeddingOptions& options);
  /// Shorthand for Embedding(EmbeddingOptions(num_embeddings, embedding_dim)).
  EmbeddingImpl(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  /// Registers the weight: options._weight() when given (its shape checked), else a new one initialised by
  /// reset_parameters(). A negative padding_idx is stored counted from the front, as PyTorch.
  void reset() override;
  /// Re-draws the weight N(0, 1) in place and zeroes the padding_idx row.
  void reset_parameters();
  /// Rows of the table at `indices` (int64, any shape): shape indices.sizes() + [embedding_dim].
  Tensor forward(const Tensor& indices) override;
  /// "10, 3, padding_idx=0" (and max_norm, norm_type, scale_grad_by_freq where set), as PyTorch.
  std::string extra_repr() const override;
  /// The options, padding_idx counted from the front.
  const EmbeddingOptions& options() const { return options_; }

  /// The table, shape (num_embeddings, embedding_dim); parameter "weight".
  Tensor weight;

 private:
  EmbeddingOptions options_;
};

/// The module holder of EmbeddingImpl, with libtorch's from_pretrained.
class Embedding : public ModuleHolder<EmbeddingImpl> {
 public:
  using ModuleHolder<EmbeddingImpl>::ModuleHolder;
  using Impl = EmbeddingImpl;
  /// A table over `embeddings` (2-D; the weight shares its storage, not copied), frozen unless
  /// options.freeze(false), as torch::nn::Embedding::from_pretrained.
  static Embedding from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options = {});
};

}  // namespace voxgrad::nn
