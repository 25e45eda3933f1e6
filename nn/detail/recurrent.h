#pragma once
// Internal: what RNN, LSTM and GRU (nn/modules/rnn.h) and their cells share: the parameters of every layer and
// direction, the cell step of each mode, and the loop over layers, directions and time.

#include <cstdint>
#include <vector>

#include "voxgrad/core/tensor.h"
#include "voxgrad/nn/module.h"
#include "voxgrad/nn/modules/rnn.h"

namespace voxgrad::nn::detail {

/// Which recurrence: h' = tanh/relu(W_ih x + b_ih + W_hh h + b_hh), LSTM's four gates, GRU's three.
enum class RecurrentMode { RNNTanh, RNNReLU, LSTM, GRU };

/// The shape of a (multi-layer, maybe bidirectional) recurrent module.
struct RecurrentSpec {
  const char* name = "RNN";                     ///< "RNN", "LSTM", "GRU" or a cell's name, for messages.
  RecurrentMode mode = RecurrentMode::RNNTanh;  ///< The recurrence.
  std::int64_t input_size = 0;                  ///< Features of each input step.
  std::int64_t hidden_size = 0;                 ///< Features of the hidden (LSTM: cell) state.
  std::int64_t num_layers = 1;                  ///< Stacked layers.
  bool bias = true;                             ///< Whether b_ih and b_hh exist.
  bool batch_first = false;                     ///< Input and output as (batch, seq, feature).
  double dropout = 0.0;                         ///< Dropout between layers in training mode.
  bool bidirectional = false;                   ///< A second direction over the reversed sequence.
  std::int64_t proj_size = 0;                   ///< LSTM only; 0 = no projection.

  /// 2 when bidirectional, else 1.
  std::int64_t directions() const { return bidirectional ? 2 : 1; }
  /// The hidden state's features (proj_size when projecting).
  std::int64_t output_size() const { return proj_size > 0 ? proj_size : hidden_size; }
  /// Rows of W_ih and W_hh: hidden_size times 1, 4 or 3.
  std::int64_t gate_size() const;
};

/// Throws (naming spec.name and the values) unless the sizes, dropout and proj_size are valid.
void check_spec(const RecurrentSpec& spec);

/// One layer-direction's parameters (nn/modules/rnn.h).
using CellWeights = RecurrentWeights;

/// Registers every layer's and direction's parameters on `owner` in PyTorch's order and names (weight_ih_l0,
/// weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_hr_l0, then the _reverse ones, then layer 1, …; a cell's are
/// weight_ih, weight_hh, bias_ih, bias_hh) and fills them from U(−1/√hidden_size, 1/√hidden_size), as PyTorch's
/// reset_parameters.
std::vector<CellWeights> register_weights(Module& owner, const RecurrentSpec& spec, bool cell);

/// U(−1/√hidden_size, 1/√hidden_size) on every tensor of `weights`.
void reset_weights(const std::vector<CellWeights>& weights, std::int64_t hidden_size);

/// One step: the new hidden state (and, for LSTM, the new cell state in `c`). `input_gates` is W_ih x + b_ih,
/// computed ahead for a whole sequence; PyTorch's cell formulas and their order of operations.
Tensor cell_step(RecurrentMode mode, const Tensor& input_gates, const Tensor& h, Tensor& c, const CellWeights& w);

/// What run_recurrent returns: the output sequence and the final states.
struct RecurrentResult {
  Tensor output;  ///< (seq, batch, directions·out) in the input's layout (batch first, unbatched).
  Tensor h_n;     ///< (layers·directions, batch, out), or without the batch dim for unbatched input.
  Tensor c_n;     ///< LSTM: the final cell states, like h_n with hidden_size features; else undefined.
};

/// The whole module on `input` ((seq, batch, in), batch first with spec.batch_first, or unbatched (seq, in)) with
/// optional initial states h0 ((layers·directions, batch, out) or unbatched (layers·directions, out)) and, for
/// LSTM, c0 (zeros where undefined); dropout between layers when `training`.
RecurrentResult run_recurrent(const RecurrentSpec& spec, const std::vector<CellWeights>& weights, const Tensor& input,
                              const Tensor& h0, const Tensor& c0, bool training);

}  // namespace voxgrad::nn::detail
