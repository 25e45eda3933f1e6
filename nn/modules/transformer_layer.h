#pragma once

#include <cstdint>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/modules/attention.h"
#include "voxgrad/nn/modules/dropout.h"
#include "voxgrad/nn/modules/linear.h"
#include "voxgrad/nn/modules/normalization.h"
#include "voxgrad/nn/options/transformer_layer.h"

namespace voxgrad::nn {

/// One Transformer encoder layer, as torch.nn.TransformerEncoderLayer (PyTorch 1.13): self-attention then a
/// feed-forward network (linear1, activation, dropout, linear2), each in a residual branch with dropout.
/// Post-norm: x = norm1(x + sa(x)); x = norm2(x + ff(x)). With norm_first: x = x + sa(norm1(x));
/// x = x + ff(norm2(x)). Submodules and parameter names as PyTorch's: self_attn, linear1, dropout,
/// linear2, norm1, norm2, dropout1, dropout2.
class TransformerEncoderLayerImpl : public Cloneable<TransformerEncoderLayerImpl> {
 public:
  /// Builds the layer: `TransformerEncoderLayer(TransformerEncoderLayerOptions(512, 8).norm_first(true))`.
  explicit TransformerEncoderLayerImpl(const TransformerEncoderLayerOptions& options);
  /// Shorthand for TransformerEncoderLayer(TransformerEncoderLayerOptions(d_model, nhead)).
  TransformerEncoderLayerImpl(std::int64_t d_model, std::int64_t nhead)
      : TransformerEncoderLayerImpl(TransformerEncoderLayerOptions(d_model, nhead)) {}
  /// Registers the submodules (called by the constructor and by clone()).
  void reset() override;
  /// Re-initialises every submodule's parameters as its own reset_parameters does.
  void reset_parameters();
  /// The layer on src (seq, batch, d_model), (batch, seq, d_model) with batch_first, or (seq, d_model).
  Tensor forward(const Tensor& src) override;
  /// With the self-attention's attn_mask (src_mask) and key_padding_mask (see
  /// functional::multi_head_attention_forward for the masks).
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {});
  /// The options the module was built with.
  const TransformerEncoderLayerOptions& options() const { return options_; }

  /// Self-attention over the layer's input.
  MultiheadAttention self_attn{nullptr};
  /// Feed-forward: d_model → dim_feedforward.
  Linear linear1{nullptr};
  /// Dropout after the activation.
  Dropout dropout{nullptr};
  /// Feed-forward: dim_feedforward → d_model.
  Linear linear2{nullptr};
  /// LayerNorm of the self-attention block.
  LayerNorm norm1{nullptr};
  /// LayerNorm of the feed-forward block.
  LayerNorm norm2{nullptr};
  /// Dropout on the self-attention branch.
  Dropout dropout1{nullptr};
  /// Dropout on the feed-forward branch.
  Dropout dropout2{nullptr};

 private:
  TransformerEncoderLayerOptions options_;
};
VOXGRAD_MODULE(TransformerEncoderLayer);

/// One Transformer decoder layer, as torch.nn.TransformerDecoderLayer (PyTorch 1.13): self-attention over tgt,
/// attention over the encoder's output (memory), then the feed-forward network, each in a residual branch.
/// Post-norm: x = norm1(x + sa(x)); x = norm2(x + mha(x, memory)); x = norm3(x + ff(x)); with norm_first the
/// norms apply to each branch's input instead. Submodules as PyTorch's: self_attn, multihead_attn, linear1,
/// dropout, linear2, norm1, norm2, norm3, dropout1, dropout2, dropout3.
// Its forward takes more than one tensor and hides Module's single-tensor forward on purpose, so that
// AnyModule and Sequential reach it by its signature (a `using Module::forward;` would make it overloaded).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
class TransformerDecoderLayerImpl : public Cloneable<TransformerDecoderLayerImpl> {
 public:
  /// Builds the layer: `TransformerDecoderLayer(TransformerDecoderLayerOptions(512, 8))`.
  explicit TransformerDecoderLayerImpl(const TransformerDecoderLayerOptions& options);
  /// Shorthand for TransformerDecoderLayer(TransformerDecoderLayerOptions(d_model, nhead)).
  TransformerDecoderLayerImpl(std::int64_t d_model, std::int64_t nhead)
      : TransformerDecoderLayerImpl(TransformerDecoderLayerOptions(d_model, nhead)) {}
  /// Registers the submodules (called by the constructor and by clone()).
  void reset() override;
  /// Re-initialises every submodule's parameters as its own reset_parameters does.
  void reset_parameters();
  /// The layer on tgt (T, batch, d_model) attending to memory (S, batch, d_model) (batch first with
  /// batch_first; unbatched (T, d_model) and (S, d_model)): tgt_mask and tgt_key_padding_mask go to the
  /// self-attention, memory_mask and memory_key_padding_mask to the attention over memory.
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  /// The options the module was built with.
  const TransformerDecoderLayerOptions& options() const { return options_; }

  /// Self-attention over the layer's input.
  MultiheadAttention self_attn{nullptr};
  /// Attention of the decoder's sequence over memory.
  MultiheadAttention multihead_attn{nullptr};
  /// Feed-forward: d_model → dim_feedforward.
  Linear linear1{nullptr};
  /// Dropout after the activation.
  Dropout dropout{nullptr};
  /// Feed-forward: dim_feedforward → d_model.
  Linear linear2{nullptr};
  /// LayerNorm of the self-attention block.
  LayerNorm norm1{nullptr};
  /// LayerNorm of the attention over memory.
  LayerNorm norm2{nullptr};
  /// LayerNorm of the feed-forward block.
  LayerNorm norm3{nullptr};
  /// Dropout on the self-attention branch.
  Dropout dropout1{nullptr};
  /// Dropout on the attention-over-memory branch.
  Dropout dropout2{nullptr};
  /// Dropout on the feed-forward branch.
  Dropout dropout3{nullptr};

 private:
  TransformerDecoderLayerOptions options_;
};
#pragma GCC diagnostic pop
VOXGRAD_MODULE(TransformerDecoderLayer);

}  // namespace voxgrad::nn
