#include "voxgrad/nn/modules/embedding.h"

#include <fmt/format.h>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/embedding.h"
#include "voxgrad/nn/init.h"

namespace voxgrad::nn {

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& options) : options_(options) {
  VOXGRAD_CHECK(options_.num_embeddings() >= 0 && options_.embedding_dim() >= 0,
                "Embedding: num_embeddings and embedding_dim must be non-negative (got num_embeddings={}, "
                "embedding_dim={})",
                options_.num_embeddings(), options_.embedding_dim());
  VOXGRAD_CHECK(!options_.sparse(),
                "Embedding: sparse gradients are not supported (voxgrad has no sparse tensors); "
                "use sparse(false)");
  if (options_.padding_idx()) {
    const std::int64_t rows = options_.num_embeddings();
    const std::int64_t p = *options_.padding_idx();
    VOXGRAD_CHECK(p >= -rows && p < rows,
                  "Embedding: padding_idx must be within num_embeddings, i.e. in [{}, {}), but got {}", -rows, rows, p);
    if (p < 0) options_.padding_idx(p + rows);
  }
  reset();
}

void EmbeddingImpl::reset() {
  const Tensor& given = options_._weight();
  if (given.defined()) {
    VOXGRAD_CHECK(given.sizes() == Shape({options_.num_embeddings(), options_.embedding_dim()}),
                  "Embedding: the shape of _weight ({}) does not match num_embeddings and embedding_dim ({}, {})",
                  shape_str(given.sizes()), options_.num_embeddings(), options_.embedding_dim());
    // A tensor of its own over the given storage, as PyTorch's Parameter(_weight): a clone's reset()
    // registers another one, which clone() then gives data of its own.
    weight = register_parameter("weight", given.detach());
    return;
  }
  weight = register_parameter("weight", voxgrad::empty({options_.num_embeddings(), options_.embedding_dim()}));
  reset_parameters();
}

void EmbeddingImpl::reset_parameters() {
  NoGradGuard no_grad;
  init::normal_(weight);
  if (options_.padding_idx()) weight.select(0, *options_.padding_idx()).fill_(0.0);
}

Tensor EmbeddingImpl::forward(const Tensor& indices) {
  return functional::embedding(indices, weight,
                               functional::EmbeddingFuncOptions()
                                   .padding_idx(options_.padding_idx())
                                   .max_norm(options_.max_norm())
                                   .norm_type(options_.norm_type())
                                   .scale_grad_by_freq(options_.scale_grad_by_freq()));
}

std::string EmbeddingImpl::extra_repr() const {
  std::string s = fmt::format("{}, {}", options_.num_embeddings(), options_.embedding_dim());
  if (options_.padding_idx()) s += fmt::format(", padding_idx={}", *options_.padding_idx());
  if (options_.max_norm()) s += fmt::format(", max_norm={}", detail::py_float(*options_.max_norm()));
  if (options_.norm_type() != 2.0) s += fmt::format(", norm_type={}", detail::py_float(options_.norm_type()));
  if (options_.scale_grad_by_freq()) s += ", scale_grad_by_freq=True";
  return s;
}

Embedding Embedding::from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options) {
  VOXGRAD_CHECK(embeddings.defined() && embeddings.dim() == 2,
                "Embedding::from_pretrained: embeddings must be 2-D (num_embeddings × embedding_dim), but got {}",
                embeddings.defined() ? "shape " + shape_str(embeddings.sizes()) : std::string("an undefined tensor"));
  Embedding embedding(EmbeddingOptions(embeddings.size(0), embeddings.size(1))
                          ._weight(embeddings)
                          .padding_idx(options.padding_idx())
                          .max_norm(options.max_norm())
                          .norm_type(options.norm_type())
                          .scale_grad_by_freq(options.scale_grad_by_freq())
                          .sparse(options.sparse()));
  embedding->weight.requires_grad_(!options.freeze());
  return embedding;
}

}  // namespace voxgrad::nn
