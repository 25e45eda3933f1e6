#include "voxgrad/nn/modules/transformer.h"

#include <limits>
#include <utility>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/nn/init.h"
#include "voxgrad/nn/modules/normalization.h"
#include "voxgrad/ops/linalg.h"

namespace voxgrad::nn {

namespace {

// A clone of `given` (with its forward), registered as child `name` when not empty.
AnyModule registered_clone(Module& owner, const char* name, const AnyModule& given) {
  AnyModule copy = given.clone();
  if (!copy.is_empty()) owner.register_module(name, copy.ptr());
  return copy;
}

// num_layers clones of `layer` in a ModuleList registered as "layers".
template <class Layer>
ModuleList registered_layers(Module& owner, const Layer& layer, std::int64_t num_layers, const char* who) {
  VOXGRAD_CHECK(!layer.is_empty(), "{}: the layer to copy is an empty holder", who);
  VOXGRAD_CHECK(num_layers >= 0, "{}: num_layers must be non-negative, but got {}", who, num_layers);
  ModuleList layers = owner.register_module("layers", ModuleList());
  for (std::int64_t i = 0; i < num_layers; ++i) layers->push_back(layer->clone());
  return layers;
}

// Every layer's and the norm's own reset_parameters.
template <class Layer>
void reset_stack(const ModuleList& layers, const AnyModule& norm) {
  for (std::size_t i = 0; i < layers->size(); ++i) layers->template at<Layer>(i)->reset_parameters();
  if (const auto layer_norm = std::dynamic_pointer_cast<LayerNormImpl>(norm.ptr())) layer_norm->reset_parameters();
}

// The layer options a Transformer's encoder or decoder layers get from its own options.
template <class LayerOptions>
LayerOptions layer_options(const TransformerOptions& o) {
  return LayerOptions(o.d_model(), o.nhead())
      .dim_feedforward(o.dim_feedforward())
      .dropout(o.dropout())
      .activation(o.activation())
      .layer_norm_eps(o.layer_norm_eps())
      .batch_first(o.batch_first())
      .norm_first(o.norm_first());
}

Tensor apply_norm(AnyModule& norm, Tensor x) { return norm.is_empty() ? x : norm.forward(std::move(x)); }

}  // namespace

TransformerEncoderImpl::TransformerEncoderImpl(TransformerEncoderOptions options) : options_(std::move(options)) {
  reset();
}

void TransformerEncoderImpl::reset() {
  layers = registered_layers(*this, options_.encoder_layer(), options_.num_layers(), "TransformerEncoder");
  norm = registered_clone(*this, "norm", options_.norm());
}

void TransformerEncoderImpl::reset_parameters() { reset_stack<TransformerEncoderLayer>(layers, norm); }

Tensor TransformerEncoderImpl::forward(const Tensor& src) { return forward(src, Tensor(), Tensor()); }

Tensor TransformerEncoderImpl::forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask) {
  Tensor x = src;
  for (std::size_t i = 0; i < layers->size(); ++i) {
    x = layers->at<TransformerEncoderLayer>(i)(x, src_mask, src_key_padding_mask);
  }
  return apply_norm(norm, std::move(x));
}

TransformerDecoderImpl::TransformerDecoderImpl(TransformerDecoderOptions options) : options_(std::move(options)) {
  reset();
}

void TransformerDecoderImpl::reset() {
  layers = registered_layers(*this, options_.decoder_layer(), options_.num_layers(), "TransformerDecoder");
  norm = registered_clone(*this, "norm", options_.norm());
}

void TransformerDecoderImpl::reset_parameters() { reset_stack<TransformerDecoderLayer>(layers, norm); }

Tensor TransformerDecoderImpl::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                       const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                       const Tensor& memory_key_padding_mask) {
  Tensor x = tgt;
  for (std::size_t i = 0; i < layers->size(); ++i) {
    x = layers->at<TransformerDecoderLayer>(i)(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                                               memory_key_padding_mask);
  }
  return apply_norm(norm, std::move(x));
}

TransformerImpl::TransformerImpl(TransformerOptions options) : options_(std::move(options)) { reset(); }

void TransformerImpl::reset() {
  const auto& o = options_;
  const auto norm = [&] { return AnyModule(LayerNorm(LayerNormOptions({o.d_model()}).eps(o.layer_norm_eps()))); };
  VOXGRAD_CHECK(o.num_encoder_layers() >= 0 && o.num_decoder_layers() >= 0,
                "Transformer: num_encoder_layers and num_decoder_layers must be non-negative (got {} and {})",
                o.num_encoder_layers(), o.num_decoder_layers());
  if (!o.custom_encoder().is_empty()) {
    encoder = registered_clone(*this, "encoder", o.custom_encoder());
  } else {
    encoder = AnyModule(register_module(
        "encoder", TransformerEncoder(TransformerEncoderOptions(layer_options<TransformerEncoderLayerOptions>(o),
                                                                o.num_encoder_layers())
                                          .norm(norm()))));
  }
  if (!o.custom_decoder().is_empty()) {
    decoder = registered_clone(*this, "decoder", o.custom_decoder());
  } else {
    decoder = AnyModule(register_module(
        "decoder", TransformerDecoder(TransformerDecoderOptions(layer_options<TransformerDecoderLayerOptions>(o),
                                                                o.num_decoder_layers())
                                          .norm(norm()))));
  }
  reset_parameters();
}

void TransformerImpl::reset_parameters() {
  NoGradGuard no_grad;
  for (Tensor& p : parameters()) {
    if (p.dim() > 1) init::xavier_uniform_(p);
  }
}

Tensor TransformerImpl::forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask, const Tensor& tgt_mask,
                                const Tensor& memory_mask, const Tensor& src_key_padding_mask,
                                const Tensor& tgt_key_padding_mask, const Tensor& memory_key_padding_mask) {
  VOXGRAD_CHECK(src.defined() && tgt.defined(), "Transformer: src and tgt must be defined tensors");
  // PyTorch's checks: batched is decided by src alone.
  if (src.dim() == 3) {
    const std::int64_t batch_dim = options_.batch_first() ? 0 : 1;
    VOXGRAD_CHECK(tgt.dim() == 3 && src.size(batch_dim) == tgt.size(batch_dim),
                  "Transformer: the batch number of src and tgt must be equal (src {}, tgt {}, batch_first={})",
                  shape_str(src.sizes()), shape_str(tgt.sizes()), options_.batch_first());
  }
  VOXGRAD_CHECK(
      src.dim() > 0 && tgt.dim() > 0 && src.size(-1) == options_.d_model() && tgt.size(-1) == options_.d_model(),
      "Transformer: the feature number of src and tgt must be equal to d_model {} (src {}, tgt {})", options_.d_model(),
      shape_str(src.sizes()), shape_str(tgt.sizes()));
  // Called as modules (their forward hooks run), as PyTorch's self.encoder(...) and self.decoder(...).
  const Tensor memory = encoder.forward(src, src_mask, src_key_padding_mask);
  return decoder.forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
}

Tensor TransformerImpl::generate_square_subsequent_mask(std::int64_t sz, DType dtype) {
  VOXGRAD_CHECK(sz >= 0, "Transformer::generate_square_subsequent_mask: sz must be non-negative, but got {}", sz);
  VOXGRAD_CHECK(is_floating_point(dtype),
                "Transformer::generate_square_subsequent_mask: dtype must be float32 or float64, but got {}", dtype);
  return triu(full({sz, sz}, -std::numeric_limits<double>::infinity(), dtype), 1);
}

}  // namespace voxgrad::nn
