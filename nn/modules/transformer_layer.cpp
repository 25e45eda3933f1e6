#include "voxgrad/nn/modules/transformer_layer.h"

#include <functional>
#include <tuple>
#include <variant>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/nn/functional/activation.h"

namespace voxgrad::nn {

namespace {

template <class Options>
void check_layer_options(const Options& o, const char* layer) {
  VOXGRAD_CHECK(o.d_model() > 0 && o.nhead() > 0, "{}: d_model and nhead must be positive (got d_model={}, nhead={})",
                layer, o.d_model(), o.nhead());
  VOXGRAD_CHECK(o.d_model() % o.nhead() == 0, "{}: d_model must be divisible by nhead (got d_model={}, nhead={})",
                layer, o.d_model(), o.nhead());
  VOXGRAD_CHECK(o.dim_feedforward() > 0, "{}: dim_feedforward must be positive, but got {}", layer,
                o.dim_feedforward());
  VOXGRAD_CHECK(o.dropout() >= 0.0 && o.dropout() <= 1.0, "{}: dropout must be a probability in [0, 1], but got {}",
                layer, o.dropout());
  VOXGRAD_CHECK(o.layer_norm_eps() >= 0.0, "{}: layer_norm_eps must be non-negative, but got {}", layer,
                o.layer_norm_eps());
  if (const auto* kind = std::get_if<ActivationKind>(&o.activation())) {
    VOXGRAD_CHECK(*kind == kReLU || *kind == kGELU, "{}: activation should be kReLU or kGELU (or a function), not {}",
                  layer, activation_kind_name(*kind));
  }
  if (const auto* f = std::get_if<std::function<Tensor(const Tensor&)>>(&o.activation())) {
    VOXGRAD_CHECK(static_cast<bool>(*f), "{}: the activation is an empty std::function", layer);
  }
}

// A sequence a layer takes: (seq, batch, d_model) or (batch, seq, d_model), or unbatched (seq, d_model).
void check_sequence(const Tensor& x, const char* name, std::int64_t d_model, const char* layer) {
  VOXGRAD_CHECK(x.defined(), "{}: {} is an undefined tensor", layer, name);
  VOXGRAD_CHECK((x.dim() == 2 || x.dim() == 3) && x.size(-1) == d_model,
                "{}: expected {} of shape (seq, batch, {}), (batch, seq, {}) or (seq, {}), but got {}", layer, name,
                d_model, d_model, d_model, shape_str(x.sizes()));
}

Tensor activate(const TransformerActivation& activation, const Tensor& x) {
  if (const auto* kind = std::get_if<ActivationKind>(&activation)) {
    return *kind == kReLU ? functional::relu(x) : functional::gelu(x);
  }
  return std::get<std::function<Tensor(const Tensor&)>>(activation)(x);
}

template <class Options>
MultiheadAttention attention_of(const Options& o) {
  return MultiheadAttention(
      MultiheadAttentionOptions(o.d_model(), o.nhead()).dropout(o.dropout()).batch_first(o.batch_first()));
}

template <class Options>
LayerNorm norm_of(const Options& o) {
  return LayerNorm(LayerNormOptions({o.d_model()}).eps(o.layer_norm_eps()));
}

// The output of one attention block in its residual branch: attention (weights not asked for), then
// dropout.
Tensor attend(MultiheadAttention& attention, Dropout& drop, const Tensor& x, const Tensor& memory, const Tensor& mask,
              const Tensor& key_padding_mask) {
  return drop(std::get<0>(attention(x, memory, memory, key_padding_mask, false, mask)));
}

// The feed-forward block in its residual branch: linear2(dropout(activation(linear1(x)))), then dropout.
Tensor feed_forward(Linear& linear1, Dropout& inner, Linear& linear2, Dropout& outer,
                    const TransformerActivation& activation, const Tensor& x) {
  return outer(linear2(inner(activate(activation, linear1(x)))));
}

}  // namespace

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(const TransformerEncoderLayerOptions& options)
    : options_(options) {
  check_layer_options(options_, "TransformerEncoderLayer");
  reset();
}

void TransformerEncoderLayerImpl::reset() {
  // Registered in PyTorch's order, so parameters and state dicts list the same names in the same order.
  const auto& o = options_;
  self_attn = register_module("self_attn", attention_of(o));
  linear1 = register_module("linear1", Linear(o.d_model(), o.dim_feedforward()));
  dropout = register_module("dropout", Dropout(o.dropout()));
  linear2 = register_module("linear2", Linear(o.dim_feedforward(), o.d_model()));
  norm1 = register_module("norm1", norm_of(o));
  norm2 = register_module("norm2", norm_of(o));
  dropout1 = register_module("dropout1", Dropout(o.dropout()));
  dropout2 = register_module("dropout2", Dropout(o.dropout()));
}

void TransformerEncoderLayerImpl::reset_parameters() {
  self_attn->reset_parameters();
  linear1->reset_parameters();
  linear2->reset_parameters();
  norm1->reset_parameters();
  norm2->reset_parameters();
}

Tensor TransformerEncoderLayerImpl::forward(const Tensor& src) { return forward(src, Tensor(), Tensor()); }

Tensor TransformerEncoderLayerImpl::forward(const Tensor& src, const Tensor& src_mask,
                                            const Tensor& src_key_padding_mask) {
  check_sequence(src, "src", options_.d_model(), "TransformerEncoderLayer");
  const auto sa = [&](const Tensor& x) { return attend(self_attn, dropout1, x, x, src_mask, src_key_padding_mask); };
  const auto ff = [&](const Tensor& x) {
    return feed_forward(linear1, dropout, linear2, dropout2, options_.activation(), x);
  };
  Tensor x = src;
  if (options_.norm_first()) {
    x = x + sa(norm1(x));
    return x + ff(norm2(x));
  }
  x = norm1(x + sa(x));
  return norm2(x + ff(x));
}

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(const TransformerDecoderLayerOptions& options)
    : options_(options) {
  check_layer_options(options_, "TransformerDecoderLayer");
  reset();
}

void TransformerDecoderLayerImpl::reset() {
  const auto& o = options_;
  self_attn = register_module("self_attn", attention_of(o));
  multihead_attn = register_module("multihead_attn", attention_of(o));
  linear1 = register_module("linear1", Linear(o.d_model(), o.dim_feedforward()));
  dropout = register_module("dropout", Dropout(o.dropout()));
  linear2 = register_module("linear2", Linear(o.dim_feedforward(), o.d_model()));
  norm1 = register_module("norm1", norm_of(o));
  norm2 = register_module("norm2", norm_of(o));
  norm3 = register_module("norm3", norm_of(o));
  dropout1 = register_module("dropout1", Dropout(o.dropout()));
  dropout2 = register_module("dropout2", Dropout(o.dropout()));
  dropout3 = register_module("dropout3", Dropout(o.dropout()));
}

void TransformerDecoderLayerImpl::reset_parameters() {
  self_attn->reset_parameters();
  multihead_attn->reset_parameters();
  linear1->reset_parameters();
  linear2->reset_parameters();
  norm1->reset_parameters();
  norm2->reset_parameters();
  norm3->reset_parameters();
}

Tensor TransformerDecoderLayerImpl::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                            const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                            const Tensor& memory_key_padding_mask) {
  const char* layer = "TransformerDecoderLayer";
  check_sequence(tgt, "tgt", options_.d_model(), layer);
  check_sequence(memory, "memory", options_.d_model(), layer);
  const std::int64_t batch_dim = options_.batch_first() ? 0 : 1;
  VOXGRAD_CHECK(memory.dim() == tgt.dim() && (tgt.dim() == 2 || memory.size(batch_dim) == tgt.size(batch_dim)),
                "{}: expected memory with tgt's rank and batch size, but got tgt {} and memory {} (batch_first={})",
                layer, shape_str(tgt.sizes()), shape_str(memory.sizes()), options_.batch_first());
  const auto sa = [&](const Tensor& x) { return attend(self_attn, dropout1, x, x, tgt_mask, tgt_key_padding_mask); };
  const auto mha = [&](const Tensor& x) {
    return attend(multihead_attn, dropout2, x, memory, memory_mask, memory_key_padding_mask);
  };
  const auto ff = [&](const Tensor& x) {
    return feed_forward(linear1, dropout, linear2, dropout3, options_.activation(), x);
  };
  Tensor x = tgt;
  if (options_.norm_first()) {
    x = x + sa(norm1(x));
    x = x + mha(norm2(x));
    return x + ff(norm3(x));
  }
  x = norm1(x + sa(x));
  x = norm2(x + mha(x));
  return norm3(x + ff(x));
}

}  // namespace voxgrad::nn
