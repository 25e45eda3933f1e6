#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/module_holder.h"
#include "voxgrad/nn/options/rnn.h"

// These modules' forwards take a hidden state besides the input and return tuples: they hide Module's
// single-tensor forward on purpose, so that AnyModule and Sequential reach them by their signatures.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"

namespace voxgrad::nn {

/// One layer's and direction's parameters of an RNN, LSTM or GRU (PyTorch's all_weights entry): weight_ih,
/// weight_hh, and bias_ih, bias_hh and (LSTM with proj_size) weight_hr where present, else undefined.
struct RecurrentWeights {
  Tensor w_ih, w_hh, b_ih, b_hh, w_hr;
};

/// A multi-layer Elman RNN, as torch::nn::RNN (PyTorch 1.13): h_t = tanh or relu(W_ih x_t + b_ih + W_hh h_{t−1} +
/// b_hh), layer after layer (dropout between them in training mode), each direction over the sequence when
/// bidirectional. Parameters weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, … (_reverse for the second
/// direction), from U(−1/√hidden_size, 1/√hidden_size).
class RNNImpl : public Cloneable<RNNImpl> {
 public:
  /// Builds the layers: `RNN(RNNOptions(16, 32).num_layers(2))`.
  explicit RNNImpl(const RNNOptions& options);
  /// Shorthand for RNN(RNNOptions(input_size, hidden_size)).
  RNNImpl(std::int64_t input_size, std::int64_t hidden_size) : RNNImpl(RNNOptions(input_size, hidden_size)) {}
  /// Registers the parameters (called by the constructor and by clone()).
  void reset() override;
  /// Re-draws every parameter from U(−1/√hidden_size, 1/√hidden_size).
  void reset_parameters();
  /// (output, h_n): input (seq, batch, input_size) (batch first with batch_first; unbatched (seq, input_size)),
  /// hx (num_layers·directions, batch, hidden_size) or zeros; output (seq, batch, directions·hidden_size).
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {});
  /// "16, 32, num_layers=2" and the options that differ from the defaults, as PyTorch prints them.
  std::string extra_repr() const override;
  /// The options the module was built with.
  const RNNOptions& options() const { return options_; }
  /// Every layer's and direction's parameters, in registration order.
  const std::vector<RecurrentWeights>& all_weights() const { return weights_; }

 private:
  RNNOptions options_;
  std::vector<RecurrentWeights> weights_;
};
VOXGRAD_MODULE(RNN);

/// A multi-layer LSTM, as torch::nn::LSTM (PyTorch 1.13): gates i, f, g, o = σ, σ, tanh, σ of W_ih x_t + b_ih +
/// W_hh h_{t−1} + b_hh; c_t = f·c_{t−1} + i·g; h_t = o·tanh(c_t), projected by weight_hr to proj_size features
/// when proj_size > 0. Parameters as RNN's, with weight_hr_l0, … for projections.
class LSTMImpl : public Cloneable<LSTMImpl> {
 public:
  /// Builds the layers: `LSTM(LSTMOptions(16, 32).bidirectional(true))`.
  explicit LSTMImpl(const LSTMOptions& options);
  /// Shorthand for LSTM(LSTMOptions(input_size, hidden_size)).
  LSTMImpl(std::int64_t input_size, std::int64_t hidden_size) : LSTMImpl(LSTMOptions(input_size, hidden_size)) {}
  /// Registers the parameters (called by the constructor and by clone()).
  void reset() override;
  /// Re-draws every parameter from U(−1/√hidden_size, 1/√hidden_size).
  void reset_parameters();
  /// (output, (h_n, c_n)): hx = (h_0, c_0) of shapes (num_layers·directions, batch, proj_size or hidden_size) and
  /// (…, hidden_size), or zeros; output (seq, batch, directions·(proj_size or hidden_size)).
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& input,
                                                         const std::optional<std::tuple<Tensor, Tensor>>& hx = {});
  /// "16, 32, bidirectional=True" and the options that differ from the defaults.
  std::string extra_repr() const override;
  /// The options the module was built with.
  const LSTMOptions& options() const { return options_; }
  /// Every layer's and direction's parameters, in registration order.
  const std::vector<RecurrentWeights>& all_weights() const { return weights_; }

 private:
  LSTMOptions options_;
  std::vector<RecurrentWeights> weights_;
};
VOXGRAD_MODULE(LSTM);

/// A multi-layer GRU, as torch::nn::GRU (PyTorch 1.13): r, z = σ(W_i· x_t + b_i· + W_h· h_{t−1} + b_h·);
/// n = tanh(W_in x_t + b_in + r·(W_hn h_{t−1} + b_hn)); h_t = (1 − z)·n + z·h_{t−1}. Parameters as RNN's.
class GRUImpl : public Cloneable<GRUImpl> {
 public:
  /// Builds the layers: `GRU(GRUOptions(16, 32).num_layers(2))`.
  explicit GRUImpl(const GRUOptions& options);
  /// Shorthand for GRU(GRUOptions(input_size, hidden_size)).
  GRUImpl(std::int64_t input_size, std::int64_t hidden_size) : GRUImpl(GRUOptions(input_size, hidden_size)) {}
  /// Registers the parameters (called by the constructor and by clone()).
  void reset() override;
  /// Re-draws every parameter from U(−1/√hidden_size, 1/√hidden_size).
  void reset_parameters();
  /// (output, h_n), shapes as RNN's.
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {});
  /// "16, 32, num_layers=2" and the options that differ from the defaults.
  std::string extra_repr() const override;
  /// The options the module was built with.
  const GRUOptions& options() const { return options_; }
  /// Every layer's and direction's parameters, in registration order.
  const std::vector<RecurrentWeights>& all_weights() const { return weights_; }

 private:
  GRUOptions options_;
  std::vector<RecurrentWeights> weights_;
};
VOXGRAD_MODULE(GRU);

/// One Elman RNN step, as torch::nn::RNNCell: h' = tanh or relu(W_ih x + b_ih + W_hh h + b_hh). Parameters
/// weight_ih, weight_hh, bias_ih, bias_hh.
class RNNCellImpl : public Cloneable<RNNCellImpl> {
 public:
  /// Builds the cell: `RNNCell(RNNCellOptions(16, 32))`.
  explicit RNNCellImpl(const RNNCellOptions& options);
  /// Shorthand for RNNCell(RNNCellOptions(input_size, hidden_size)).
  RNNCellImpl(std::int64_t input_size, std::int64_t hidden_size)
      : RNNCellImpl(RNNCellOptions(input_size, hidden_size)) {}
  /// Registers the parameters (called by the constructor and by clone()).
  void reset() override;
  /// Re-draws every parameter from U(−1/√hidden_size, 1/√hidden_size).
  void reset_parameters();
  /// h' for input (batch, input_size) or (input_size) and hx (batch, hidden_size) or (hidden_size), zeros if
  /// not given.
  Tensor forward(const Tensor& input, const Tensor& hx = {});
  /// "16, 32" and the options that differ from the defaults.
  std::string extra_repr() const override;
  /// The options the cell was built with.
  const RNNCellOptions& options() const { return options_; }

  Tensor weight_ih;  ///< (hidden_size, input_size).
  Tensor weight_hh;  ///< (hidden_size, hidden_size).
  Tensor bias_ih;    ///< (hidden_size); undefined with bias(false).
  Tensor bias_hh;    ///< (hidden_size); undefined with bias(false).

 private:
  RNNCellOptions options_;
};
VOXGRAD_MODULE(RNNCell);

/// One LSTM step, as torch::nn::LSTMCell: (h', c') from (h, c) as LSTM's layers compute them.
class LSTMCellImpl : public Cloneable<LSTMCellImpl> {
 public:
  /// Builds the cell: `LSTMCell(LSTMCellOptions(16, 32))`.
  explicit LSTMCellImpl(const LSTMCellOptions& options);
  /// Shorthand for LSTMCell(LSTMCellOptions(input_size, hidden_size)).
  LSTMCellImpl(std::int64_t input_size, std::int64_t hidden_size)
      : LSTMCellImpl(LSTMCellOptions(input_size, hidden_size)) {}
  /// Registers the parameters (called by the constructor and by clone()).
  void reset() override;
  /// Re-draws every parameter from U(−1/√hidden_size, 1/√hidden_size).
  void reset_parameters();
  /// (h', c') for input (batch, input_size) or (input_size) and hx = (h, c), zeros if not given.
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const std::optional<std::tuple<Tensor, Tensor>>& hx = {});
  /// "16, 32" and the options that differ from the defaults.
  std::string extra_repr() const override;
  /// The options the cell was built with.
  const LSTMCellOptions& options() const { return options_; }

  Tensor weight_ih;  ///< (4·hidden_size, input_size).
  Tensor weight_hh;  ///< (4·hidden_size, hidden_size).
  Tensor bias_ih;    ///< (4·hidden_size); undefined with bias(false).
  Tensor bias_hh;    ///< (4·hidden_size); undefined with bias(false).

 private:
  LSTMCellOptions options_;
};
VOXGRAD_MODULE(LSTMCell);

/// One GRU step, as torch::nn::GRUCell.
class GRUCellImpl : public Cloneable<GRUCellImpl> {
 public:
  /// Builds the cell: `GRUCell(GRUCellOptions(16, 32))`.
  explicit GRUCellImpl(const GRUCellOptions& options);
  /// Shorthand for GRUCell(GRUCellOptions(input_size, hidden_size)).
  GRUCellImpl(std::int64_t input_size, std::int64_t hidden_size)
      : GRUCellImpl(GRUCellOptions(input_size, hidden_size)) {}
  /// Registers the parameters (called by the constructor and by clone()).
  void reset() override;
  /// Re-draws every parameter from U(−1/√hidden_size, 1/√hidden_size).
  void reset_parameters();
  /// h' for input (batch, input_size) or (input_size) and hx (batch, hidden_size) or (hidden_size), zeros if
  /// not given.
  Tensor forward(const Tensor& input, const Tensor& hx = {});
  /// "16, 32" and the options that differ from the defaults.
  std::string extra_repr() const override;
  /// The options the cell was built with.
  const GRUCellOptions& options() const { return options_; }

  Tensor weight_ih;  ///< (3·hidden_size, input_size).
  Tensor weight_hh;  ///< (3·hidden_size, hidden_size).
  Tensor bias_ih;    ///< (3·hidden_size); undefined with bias(false).
  Tensor bias_hh;    ///< (3·hidden_size); undefined with bias(false).

 private:
  GRUCellOptions options_;
};
VOXGRAD_MODULE(GRUCell);

}  // namespace voxgrad::nn

#pragma GCC diagnostic pop
