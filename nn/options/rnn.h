#pragma once
// Options of RNN, LSTM, GRU and their cells (nn/modules/rnn.h).

#include <cstdint>

#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/activation_kind.h"

namespace voxgrad::nn {

/// Options for RNN, as torch::nn::RNNOptions: `RNNOptions(16, 32).num_layers(2).nonlinearity(kReLU)`.
struct RNNOptions {
  /// The input's and the hidden state's feature sizes.
  RNNOptions(std::int64_t input_size, std::int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Number of features of each input step.
  VOXGRAD_ARG(std::int64_t, input_size);
  /// Number of features of the hidden state.
  VOXGRAD_ARG(std::int64_t, hidden_size);
  /// Number of stacked layers (each layer's output is the next one's input).
  VOXGRAD_ARG(std::int64_t, num_layers) = 1;
  /// kTanh or kReLU.
  VOXGRAD_ARG(ActivationKind, nonlinearity) = kTanh;
  /// Whether the layers have the biases b_ih and b_hh.
  VOXGRAD_ARG(bool, bias) = true;
  /// Input and output as (batch, seq, feature) instead of (seq, batch, feature); hidden states unchanged.
  VOXGRAD_ARG(bool, batch_first) = false;
  /// Dropout on each layer's output but the last (in training mode).
  VOXGRAD_ARG(double, dropout) = 0.0;
  /// A second direction over the reversed sequence, its output concatenated to the first's.
  VOXGRAD_ARG(bool, bidirectional) = false;
};

/// Options for LSTM, as torch::nn::LSTMOptions: `LSTMOptions(16, 32).bidirectional(true).proj_size(8)`.
struct LSTMOptions {
  /// The input's and the cell state's feature sizes.
  LSTMOptions(std::int64_t input_size, std::int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Number of features of each input step.
  VOXGRAD_ARG(std::int64_t, input_size);
  /// Number of features of the cell state (and of the hidden state without a projection).
  VOXGRAD_ARG(std::int64_t, hidden_size);
  /// Number of stacked layers.
  VOXGRAD_ARG(std::int64_t, num_layers) = 1;
  /// Whether the layers have the biases b_ih and b_hh.
  VOXGRAD_ARG(bool, bias) = true;
  /// Input and output as (batch, seq, feature).
  VOXGRAD_ARG(bool, batch_first) = false;
  /// Dropout on each layer's output but the last (in training mode).
  VOXGRAD_ARG(double, dropout) = 0.0;
  /// A second direction over the reversed sequence.
  VOXGRAD_ARG(bool, bidirectional) = false;
  /// When > 0, the hidden state is projected to this many features by weight_hr (LSTMs with projections).
  VOXGRAD_ARG(std::int64_t, proj_size) = 0;
};

/// Options for GRU, as torch::nn::GRUOptions.
struct GRUOptions {
  /// The input's and the hidden state's feature sizes.
  GRUOptions(std::int64_t input_size, std::int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Number of features of each input step.
  VOXGRAD_ARG(std::int64_t, input_size);
  /// Number of features of the hidden state.
  VOXGRAD_ARG(std::int64_t, hidden_size);
  /// Number of stacked layers.
  VOXGRAD_ARG(std::int64_t, num_layers) = 1;
  /// Whether the layers have the biases b_ih and b_hh.
  VOXGRAD_ARG(bool, bias) = true;
  /// Input and output as (batch, seq, feature).
  VOXGRAD_ARG(bool, batch_first) = false;
  /// Dropout on each layer's output but the last (in training mode).
  VOXGRAD_ARG(double, dropout) = 0.0;
  /// A second direction over the reversed sequence.
  VOXGRAD_ARG(bool, bidirectional) = false;
};

/// Options for RNNCell, as torch::nn::RNNCellOptions.
struct RNNCellOptions {
  /// The input's and the hidden state's feature sizes.
  RNNCellOptions(std::int64_t input_size, std::int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Number of input features.
  VOXGRAD_ARG(std::int64_t, input_size);
  /// Number of hidden features.
  VOXGRAD_ARG(std::int64_t, hidden_size);
  /// Whether the cell has the biases b_ih and b_hh.
  VOXGRAD_ARG(bool, bias) = true;
  /// kTanh or kReLU.
  VOXGRAD_ARG(ActivationKind, nonlinearity) = kTanh;
};

/// Options for LSTMCell and GRUCell, as torch::nn::LSTMCellOptions / GRUCellOptions. One template, so the two
/// are distinct types with the same options.
template <class Cell>
struct GatedCellOptions {
  /// The input's and the hidden state's feature sizes.
  GatedCellOptions(std::int64_t input_size, std::int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Number of input features.
  VOXGRAD_ARG(std::int64_t, input_size);
  /// Number of hidden features.
  VOXGRAD_ARG(std::int64_t, hidden_size);
  /// Whether the cell has the biases b_ih and b_hh.
  VOXGRAD_ARG(bool, bias) = true;
};

class LSTMCellImpl;
class GRUCellImpl;
/// Options for LSTMCell.
using LSTMCellOptions = GatedCellOptions<LSTMCellImpl>;
/// Options for GRUCell.
using GRUCellOptions = GatedCellOptions<GRUCellImpl>;

}  // namespace voxgrad::nn
