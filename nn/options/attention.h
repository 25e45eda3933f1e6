#pragma once
// Options of MultiheadAttention (nn/modules/attention.h) and F::multi_head_attention_forward
// (nn/functional/attention.h).

#include <cstdint>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::nn {

/// Options for MultiheadAttention, as torch::nn::MultiheadAttentionOptions:
/// `MultiheadAttentionOptions(64, 8).dropout(0.1).batch_first(true)`.
struct MultiheadAttentionOptions {
  /// embed_dim (each head gets embed_dim / num_heads of it) and the number of heads; kdim and vdim
  /// default to embed_dim.
  MultiheadAttentionOptions(std::int64_t embed_dim, std::int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads), kdim_(embed_dim), vdim_(embed_dim) {}
  /// Size of the query's features and of the output.
  VOXGRAD_ARG(std::int64_t, embed_dim);
  /// Number of parallel heads; must divide embed_dim.
  VOXGRAD_ARG(std::int64_t, num_heads);
  /// Dropout probability on the attention weights (in training mode).
  VOXGRAD_ARG(double, dropout) = 0.0;
  /// Whether the input and output projections have biases.
  VOXGRAD_ARG(bool, bias) = true;
  /// Learned bias_k and bias_v appended to the keys and values as one more source position.
  VOXGRAD_ARG(bool, add_bias_kv) = false;
  /// A zero key and value appended as one more source position.
  VOXGRAD_ARG(bool, add_zero_attn) = false;
  /// Size of the key's features.
  VOXGRAD_ARG(std::int64_t, kdim);
  /// Size of the value's features.
  VOXGRAD_ARG(std::int64_t, vdim);
  /// Inputs and outputs as (batch, seq, feature) instead of (seq, batch, feature). PyTorch's Python
  /// module has it; libtorch 1.13's C++ options do not.
  VOXGRAD_ARG(bool, batch_first) = false;
};

namespace functional {

/// Options for multi_head_attention_forward, as torch::nn::functional::MultiheadAttentionForwardFuncOptions:
/// the module's tensors and settings, passed explicitly.
struct MultiheadAttentionForwardFuncOptions {
  MultiheadAttentionForwardFuncOptions(std::int64_t embed_dim_to_check, std::int64_t num_heads, Tensor in_proj_weight,
                                       Tensor in_proj_bias, Tensor bias_k, Tensor bias_v, bool add_zero_attn,
                                       double dropout_p, Tensor out_proj_weight, Tensor out_proj_bias)
      : embed_dim_to_check_(embed_dim_to_check),
        num_heads_(num_heads),
        in_proj_weight_(std::move(in_proj_weight)),
        in_proj_bias_(std::move(in_proj_bias)),
        bias_k_(std::move(bias_k)),
        bias_v_(std::move(bias_v)),
        add_zero_attn_(add_zero_attn),
        dropout_p_(dropout_p),
        out_proj_weight_(std::move(out_proj_weight)),
        out_proj_bias_(std::move(out_proj_bias)) {}
  /// The query's feature size must equal this.
  VOXGRAD_ARG(std::int64_t, embed_dim_to_check);
  /// Number of heads.
  VOXGRAD_ARG(std::int64_t, num_heads);
  /// The packed (3·E, E) q, k, v projection (rows in that order); unused with use_separate_proj_weight.
  VOXGRAD_ARG(Tensor, in_proj_weight);
  /// The packed (3·E) q, k, v projection bias, or undefined.
  VOXGRAD_ARG(Tensor, in_proj_bias);
  /// (1, 1, E) bias appended to the keys, or undefined (then bias_v must be too).
  VOXGRAD_ARG(Tensor, bias_k);
  /// (1, 1, E) bias appended to the values, or undefined.
  VOXGRAD_ARG(Tensor, bias_v);
  /// Append a zero key and value.
  VOXGRAD_ARG(bool, add_zero_attn);
  /// Dropout probability on the attention weights (only when training).
  VOXGRAD_ARG(double, dropout_p);
  /// The (E, E) output projection.
  VOXGRAD_ARG(Tensor, out_proj_weight);
  /// The (E) output projection bias, or undefined.
  VOXGRAD_ARG(Tensor, out_proj_bias);
  /// Whether dropout is applied.
  VOXGRAD_ARG(bool, training) = true;
  /// (N, S) or, unbatched, (S): int64 0/1, 1 where a key is ignored (PyTorch's bool mask); or float,
  /// added to the attention scores.
  VOXGRAD_ARG(Tensor, key_padding_mask);
  /// Return the attention weights as well.
  VOXGRAD_ARG(bool, need_weights) = true;
  /// (L, S) or (N·num_heads, L, S) (unbatched: (num_heads, L, S)): int64 0/1, 1 where attention is not
  /// allowed (PyTorch's bool mask); or float, added to the attention scores.
  VOXGRAD_ARG(Tensor, attn_mask);
  /// Use q_proj_weight, k_proj_weight and v_proj_weight instead of in_proj_weight.
  VOXGRAD_ARG(bool, use_separate_proj_weight) = false;
  /// (E, E) query projection (with use_separate_proj_weight).
  VOXGRAD_ARG(Tensor, q_proj_weight);
  /// (E, kdim) key projection (with use_separate_proj_weight).
  VOXGRAD_ARG(Tensor, k_proj_weight);
  /// (E, vdim) value projection (with use_separate_proj_weight).
  VOXGRAD_ARG(Tensor, v_proj_weight);
  /// Projected keys to use as they are, (N·num_heads, S, E / num_heads).
  VOXGRAD_ARG(Tensor, static_k);
  /// Projected values to use as they are, (N·num_heads, S, E / num_heads).
  VOXGRAD_ARG(Tensor, static_v);
  /// Average the returned weights over the heads (else one set per head).
  VOXGRAD_ARG(bool, average_attn_weights) = true;
};

}  // namespace functional
}  // namespace voxgrad::nn
