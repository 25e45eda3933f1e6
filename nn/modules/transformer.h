#pragma once

#include <cstdint>

#include "voxgrad/core/dtype.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/any_module.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/modules/container.h"
#include "voxgrad/nn/modules/transformer_layer.h"
#include "voxgrad/nn/options/transformer.h"

namespace voxgrad::nn {

/// A stack of encoder layers, as torch::nn::TransformerEncoder: child "layers" (a ModuleList of
/// num_layers clones of the given layer) and, when given, child "norm" applied to the last output.
class TransformerEncoderImpl : public Cloneable<TransformerEncoderImpl> {
 public:
  /// Builds the stack: `TransformerEncoder(TransformerEncoderOptions(TransformerEncoderLayerOptions(512, 8), 6))`.
  explicit TransformerEncoderImpl(TransformerEncoderOptions options);
  /// Shorthand for TransformerEncoder(TransformerEncoderOptions(encoder_layer, num_layers)).
  TransformerEncoderImpl(TransformerEncoderLayer encoder_layer, std::int64_t num_layers)
      : TransformerEncoderImpl(TransformerEncoderOptions(std::move(encoder_layer), num_layers)) {}
  /// Registers the layers (fresh clones of options().encoder_layer()) and the norm.
  void reset() override;
  /// Re-initialises every layer's and the norm's parameters.
  void reset_parameters();
  /// The layers in turn on src, then the norm.
  Tensor forward(const Tensor& src) override;
  /// With every layer's src_mask and src_key_padding_mask.
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {});
  /// The options the module was built with.
  const TransformerEncoderOptions& options() const { return options_; }

  /// The layers, children "layers.0", "layers.1", ….
  ModuleList layers{nullptr};
  /// The final norm (empty when none was given).
  AnyModule norm;

 private:
  TransformerEncoderOptions options_;
};
VOXGRAD_MODULE(TransformerEncoder);

/// A stack of decoder layers, as torch::nn::TransformerDecoder: children "layers" and "norm".
// Its forward takes more than one tensor and hides Module's single-tensor forward on purpose, so that
// AnyModule and Sequential reach it by its signature (a `using Module::forward;` would make it overloaded).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
class TransformerDecoderImpl : public Cloneable<TransformerDecoderImpl> {
 public:
  /// Builds the stack: `TransformerDecoder(TransformerDecoderOptions(TransformerDecoderLayerOptions(512, 8), 6))`.
  explicit TransformerDecoderImpl(TransformerDecoderOptions options);
  /// Shorthand for TransformerDecoder(TransformerDecoderOptions(decoder_layer, num_layers)).
  TransformerDecoderImpl(TransformerDecoderLayer decoder_layer, std::int64_t num_layers)
      : TransformerDecoderImpl(TransformerDecoderOptions(std::move(decoder_layer), num_layers)) {}
  /// Registers the layers (fresh clones of options().decoder_layer()) and the norm.
  void reset() override;
  /// Re-initialises every layer's and the norm's parameters.
  void reset_parameters();
  /// The layers in turn on tgt, each attending to memory with the masks given, then the norm.
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  /// The options the module was built with.
  const TransformerDecoderOptions& options() const { return options_; }

  /// The layers, children "layers.0", "layers.1", ….
  ModuleList layers{nullptr};
  /// The final norm (empty when none was given).
  AnyModule norm;

 private:
  TransformerDecoderOptions options_;
};
#pragma GCC diagnostic pop
VOXGRAD_MODULE(TransformerDecoder);

/// The encoder-decoder Transformer, as torch::nn::Transformer (PyTorch 1.13): children "encoder" (a
/// TransformerEncoder with a final LayerNorm, or custom_encoder) and "decoder" (likewise). Every parameter
/// with more than one dim is initialised by xavier_uniform_, as PyTorch's _reset_parameters.
// Its forward takes more than one tensor and hides Module's single-tensor forward on purpose, so that
// AnyModule and Sequential reach it by its signature (a `using Module::forward;` would make it overloaded).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
class TransformerImpl : public Cloneable<TransformerImpl> {
 public:
  /// Builds the model: `Transformer(TransformerOptions(256, 8, 3, 3).dropout(0.0))`.
  explicit TransformerImpl(TransformerOptions options = {});
  /// Registers encoder and decoder and initialises them.
  void reset() override;
  /// xavier_uniform_ on every parameter with more than one dim.
  void reset_parameters();
  /// decoder(tgt, encoder(src, src_mask, src_key_padding_mask), tgt_mask, memory_mask,
  /// tgt_key_padding_mask, memory_key_padding_mask). src (S, N, d_model) and tgt (T, N, d_model), batch
  /// first with batch_first, or unbatched (S, d_model) and (T, d_model); the result has tgt's shape.
  Tensor forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask = {}, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& src_key_padding_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  /// The (sz, sz) causal mask: 0 on and below the diagonal, −inf above it (position i attends to
  /// positions ≤ i), as torch.nn.Transformer.generate_square_subsequent_mask; float32 by default, as
  /// PyTorch's, or `dtype` (the float mask must have the model's dtype).
  static Tensor generate_square_subsequent_mask(std::int64_t sz, DType dtype = kFloat32);
  /// The options the module was built with.
  const TransformerOptions& options() const { return options_; }

  /// The encoder (called as forward(src, src_mask, src_key_padding_mask)).
  AnyModule encoder;
  /// The decoder (called with the six tensors of TransformerDecoder's forward).
  AnyModule decoder;

 private:
  TransformerOptions options_;
};
#pragma GCC diagnostic pop
VOXGRAD_MODULE(Transformer);

}  // namespace voxgrad::nn
