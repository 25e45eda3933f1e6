#pragma once
// Options of RNN, LSTM, GRU and their cells (nn/modules/rnn.h).

#include <cstdint>

#include "voxgrad/nn/arg.h"
#include "voxgrad/nn/options/activation_kind.h"

namespace voxgrad::nn {

/// Options for RNN, LSTM and GRU, as torch::nn::RNNOptions, LSTMOptions and GRUOptions:
/// `LSTMOptions(16, 32).num_layers(2).bidirectional(true)`. One template, so the three are distinct types; the
/// options of one module only (nonlinearity, proj_size) are refused by the others, as PyTorch refuses them.
template <class Module>
struct RecurrentOptions {
  /// The input's and the hidden (for LSTM the cell) state's feature sizes.
  RecurrentOptions(std::int64_t input_size, std::int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Number of features of each input step.
  VOXGRAD_ARG(std::int64_t, input_size);
  /// Number of features of the hidden state (LSTM: of the cell state, and of the hidden state without a
  /// projection).
  VOXGRAD_ARG(std::int64_t, hidden_size);
  /// Number of stacked layers (each layer's output is the next one's input).
  VOXGRAD_ARG(std::int64_t, num_layers) = 1;
  /// RNN only: kTanh or kReLU.
  VOXGRAD_ARG(ActivationKind, nonlinearity) = kTanh;
  /// Whether the layers have the biases b_ih and b_hh.
  VOXGRAD_ARG(bool, bias) = true;
  /// Input and output as (batch, seq, feature) instead of (seq, batch, feature); hidden states unchanged.
  VOXGRAD_ARG(bool, batch_first) = false;
  /// Dropout on each layer's output but the last (in training mode).
  VOXGRAD_ARG(double, dropout) = 0.0;
  /// A second direction over the reversed sequence, its output concatenated to the first's.
  VOXGRAD_ARG(bool, bidirectional) = false;
  /// LSTM only: when > 0, the hidden state is projected to this many features by weight_hr.
  VOXGRAD_ARG(std::int64_t, proj_size) = 0;
};

/// Options for RNNCell, LSTMCell and GRUCell, as torch::nn::RNNCellOptions, LSTMCellOptions and GRUCellOptions.
template <class Cell>
struct RecurrentCellOptions {
  /// The input's and the hidden state's feature sizes.
  RecurrentCellOptions(std::int64_t input_size, std::int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  /// Number of input features.
  VOXGRAD_ARG(std::int64_t, input_size);
  /// Number of hidden features.
  VOXGRAD_ARG(std::int64_t, hidden_size);
  /// Whether the cell has the biases b_ih and b_hh.
  VOXGRAD_ARG(bool, bias) = true;
  /// RNNCell only: kTanh or kReLU.
  VOXGRAD_ARG(ActivationKind, nonlinearity) = kTanh;
};

class RNNImpl;
class LSTMImpl;
class GRUImpl;
class RNNCellImpl;
class LSTMCellImpl;
class GRUCellImpl;
using RNNOptions = RecurrentOptions<RNNImpl>;                ///< Options for RNN.
using LSTMOptions = RecurrentOptions<LSTMImpl>;              ///< Options for LSTM.
using GRUOptions = RecurrentOptions<GRUImpl>;                ///< Options for GRU.
using RNNCellOptions = RecurrentCellOptions<RNNCellImpl>;    ///< Options for RNNCell.
using LSTMCellOptions = RecurrentCellOptions<LSTMCellImpl>;  ///< Options for LSTMCell.
using GRUCellOptions = RecurrentCellOptions<GRUCellImpl>;    ///< Options for GRUCell.

}  // namespace voxgrad::nn
