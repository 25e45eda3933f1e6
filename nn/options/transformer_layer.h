#pragma once
// Options of TransformerEncoderLayer and TransformerDecoderLayer (nn/modules/transformer_layer.h).

#include <cstdint>
#include <functional>
#include <variant>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/activation_kind.h"

namespace voxgrad::nn {

/// The feed-forward activation: kReLU, kGELU (nn/options/activation_kind.h) or any unary function of tensors.
using TransformerActivation = std::variant<ActivationKind, std::function<Tensor(const Tensor&)>>;

/// Options for TransformerEncoderLayer and TransformerDecoderLayer, as libtorch's
/// TransformerEncoderLayerOptions / TransformerDecoderLayerOptions (with the Python modules'
/// layer_norm_eps, batch_first and norm_first, which libtorch 1.13's C++ options lack):
/// `TransformerEncoderLayerOptions(512, 8).dim_feedforward(1024).activation(kGELU)`. One template, so
/// the two are distinct types with the same options.
template <class Layer>
struct TransformerLayerOptions {
  /// The model's feature size and the number of attention heads (which must divide it).
  TransformerLayerOptions(std::int64_t d_model, std::int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
  /// Number of features of the input (and memory) and of the output.
  VOXGRAD_ARG(std::int64_t, d_model);
  /// Number of attention heads.
  VOXGRAD_ARG(std::int64_t, nhead);
  /// Width of the feed-forward network's hidden layer.
  VOXGRAD_ARG(std::int64_t, dim_feedforward) = 2048;
  /// Dropout probability (attention weights, feed-forward, residual branches).
  VOXGRAD_ARG(double, dropout) = 0.1;
  /// The feed-forward activation.
  VOXGRAD_ARG(TransformerActivation, activation) = kReLU;
  /// The LayerNorms' eps.
  VOXGRAD_ARG(double, layer_norm_eps) = 1e-5;
  /// Inputs and output as (batch, seq, feature) instead of (seq, batch, feature).
  VOXGRAD_ARG(bool, batch_first) = false;
  /// Normalise before each block (pre-norm) instead of after the residual sums (post-norm).
  VOXGRAD_ARG(bool, norm_first) = false;
};

class TransformerEncoderLayerImpl;
class TransformerDecoderLayerImpl;
/// Options for TransformerEncoderLayer.
using TransformerEncoderLayerOptions = TransformerLayerOptions<TransformerEncoderLayerImpl>;
/// Options for TransformerDecoderLayer.
using TransformerDecoderLayerOptions = TransformerLayerOptions<TransformerDecoderLayerImpl>;

}  // namespace voxgrad::nn
