#pragma once
// Options of TransformerEncoder, TransformerDecoder and Transformer (nn/modules/transformer.h).

#include <cstdint>

#include "voxgrad/nn/any_module.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/modules/transformer_layer.h"
#include "voxgrad/nn/options/transformer_layer.h"

namespace voxgrad::nn {

/// Options for TransformerEncoder, as torch::nn::TransformerEncoderOptions: num_layers copies of
/// encoder_layer, then `norm` (an optional module, usually a LayerNorm).
struct TransformerEncoderOptions {
  /// Copies of `encoder_layer` (each a clone(), as PyTorch's deep copies).
  TransformerEncoderOptions(TransformerEncoderLayer encoder_layer, std::int64_t num_layers)
      : encoder_layer_(std::move(encoder_layer)), num_layers_(num_layers) {}
  /// Layers built from `encoder_layer_options`.
  TransformerEncoderOptions(const TransformerEncoderLayerOptions& encoder_layer_options, std::int64_t num_layers)
      : encoder_layer_(encoder_layer_options), num_layers_(num_layers) {}
  /// The layer the encoder's layers are copies of.
  VOXGRAD_ARG(TransformerEncoderLayer, encoder_layer);
  /// Number of layers.
  VOXGRAD_ARG(std::int64_t, num_layers);
  /// Applied to the last layer's output when not empty (PyTorch's `norm`).
  VOXGRAD_ARG(AnyModule, norm);
};

/// Options for TransformerDecoder, as torch::nn::TransformerDecoderOptions.
struct TransformerDecoderOptions {
  /// Copies of `decoder_layer` (each a clone()).
  TransformerDecoderOptions(TransformerDecoderLayer decoder_layer, std::int64_t num_layers)
      : decoder_layer_(std::move(decoder_layer)), num_layers_(num_layers) {}
  /// Layers built from `decoder_layer_options`.
  TransformerDecoderOptions(const TransformerDecoderLayerOptions& decoder_layer_options, std::int64_t num_layers)
      : decoder_layer_(decoder_layer_options), num_layers_(num_layers) {}
  /// The layer the decoder's layers are copies of.
  VOXGRAD_ARG(TransformerDecoderLayer, decoder_layer);
  /// Number of layers.
  VOXGRAD_ARG(std::int64_t, num_layers);
  /// Applied to the last layer's output when not empty.
  VOXGRAD_ARG(AnyModule, norm);
};

/// Options for Transformer, as torch::nn::TransformerOptions (with the Python module's layer_norm_eps,
/// batch_first and norm_first): `TransformerOptions(256, 8, 3, 3).dim_feedforward(512)`.
struct TransformerOptions {
  /// PyTorch's defaults: d_model 512, 8 heads, 6 encoder and 6 decoder layers.
  TransformerOptions() = default;
  /// The feature size and the number of heads.
  TransformerOptions(std::int64_t d_model, std::int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
  /// The feature size, the number of heads and the numbers of layers.
  TransformerOptions(std::int64_t d_model, std::int64_t nhead, std::int64_t num_encoder_layers,
                     std::int64_t num_decoder_layers)
      : d_model_(d_model),
        nhead_(nhead),
        num_encoder_layers_(num_encoder_layers),
        num_decoder_layers_(num_decoder_layers) {}
  /// Number of features of src, tgt and the output.
  VOXGRAD_ARG(std::int64_t, d_model) = 512;
  /// Number of attention heads.
  VOXGRAD_ARG(std::int64_t, nhead) = 8;
  /// Number of encoder layers (unused with custom_encoder).
  VOXGRAD_ARG(std::int64_t, num_encoder_layers) = 6;
  /// Number of decoder layers (unused with custom_decoder).
  VOXGRAD_ARG(std::int64_t, num_decoder_layers) = 6;
  /// Width of the feed-forward networks' hidden layers.
  VOXGRAD_ARG(std::int64_t, dim_feedforward) = 2048;
  /// Dropout probability in every layer.
  VOXGRAD_ARG(double, dropout) = 0.1;
  /// The feed-forward activation.
  VOXGRAD_ARG(TransformerActivation, activation) = kReLU;
  /// An encoder to use instead of the default (a clone of it, as libtorch's; called as forward(src, mask,
  /// src_key_padding_mask)). PyTorch uses the module itself.
  VOXGRAD_ARG(AnyModule, custom_encoder);
  /// A decoder to use instead of the default (a clone of it; called as forward(tgt, memory, tgt_mask,
  /// memory_mask, tgt_key_padding_mask, memory_key_padding_mask)).
  VOXGRAD_ARG(AnyModule, custom_decoder);
  /// The LayerNorms' eps.
  VOXGRAD_ARG(double, layer_norm_eps) = 1e-5;
  /// src, tgt and the output as (batch, seq, feature).
  VOXGRAD_ARG(bool, batch_first) = false;
  /// Pre-norm layers.
  VOXGRAD_ARG(bool, norm_first) = false;
};

}  // namespace voxgrad::nn
