#pragma once

#include <cstdint>
#include <tuple>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/modules/linear.h"
#include "voxgrad/nn/options/attention.h"

namespace voxgrad::nn {

/// Multi-head attention, as torch::nn::MultiheadAttention (PyTorch 1.13; see
/// functional::multi_head_attention_forward for the math and the masks). Parameters in PyTorch's order
/// and names: in_proj_weight (3·E, E), or q_proj_weight, k_proj_weight and v_proj_weight when kdim or vdim
/// differ from E; in_proj_bias (3·E); bias_k and bias_v (1, 1, E) with add_bias_kv; out_proj.weight and
/// out_proj.bias. Initialised as PyTorch: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k
/// and bias_v, out_proj.weight as Linear's.
// Its forward takes more than one tensor and hides Module's single-tensor forward on purpose, so that
// AnyModule and Sequential reach it by its signature (a `using Module::forward;` would make it overloaded).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
class MultiheadAttentionImpl : public Cloneable<MultiheadAttentionImpl> {
 public:
  /// Builds the layer: `MultiheadAttention(MultiheadAttentionOptions(64, 8).batch_first(true))`.
  explicit MultiheadAttentionImpl(const MultiheadAttentionOptions& options);
  /// Shorthand for MultiheadAttention(MultiheadAttentionOptions(embed_dim, num_heads)).
  MultiheadAttentionImpl(std::int64_t embed_dim, std::int64_t num_heads)
      : MultiheadAttentionImpl(MultiheadAttentionOptions(embed_dim, num_heads)) {}
  /// Registers the parameters and out_proj and initialises them (called by the constructor and clone()).
  void reset() override;
  /// Re-draws the parameters in place as PyTorch's _reset_parameters.
  void reset_parameters();

  /// Attention of query over key and value: (output, weights) as
  /// functional::multi_head_attention_forward, with this module's parameters, dropout in training mode,
  /// and (batch, seq, feature) inputs and output when batch_first. Pass one tensor as query, key and
  /// value for self-attention.
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const Tensor& key_padding_mask = {}, bool need_weights = true,
                                     const Tensor& attn_mask = {}, bool average_attn_weights = true);
  /// The options the layer was built with.
  const MultiheadAttentionOptions& options() const { return options_; }

  /// Packed q, k, v projection (3·E, E); undefined when kdim or vdim differ from embed_dim.
  Tensor in_proj_weight;
  /// Packed projection bias (3·E); undefined with bias(false).
  Tensor in_proj_bias;
  /// Separate query projection (E, E); defined only when kdim or vdim differ from E.
  Tensor q_proj_weight;
  /// Separate key projection (E, kdim); defined only when kdim or vdim differ from E.
  Tensor k_proj_weight;
  /// Separate value projection (E, vdim); defined only when kdim or vdim differ from E.
  Tensor v_proj_weight;
  /// (1, 1, E) learned key appended to every sequence; defined with add_bias_kv.
  Tensor bias_k;
  /// (1, 1, E) learned value appended to every sequence; defined with add_bias_kv.
  Tensor bias_v;
  /// The output projection (E → E); submodule "out_proj".
  Linear out_proj{nullptr};
  /// embed_dim / num_heads.
  std::int64_t head_dim = 0;

 private:
  bool same_embed_dim() const;

  MultiheadAttentionOptions options_;
};
#pragma GCC diagnostic pop
VOXGRAD_MODULE(MultiheadAttention);

}  // namespace voxgrad::nn
