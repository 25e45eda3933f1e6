#include "voxgrad/nn/modules/rnn.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/recurrent.h"
#include "voxgrad/nn/detail/repr.h"
#include "voxgrad/nn/functional/activation.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::nn {

using detail::RecurrentMode;
using detail::RecurrentSpec;

namespace {

RecurrentMode rnn_mode(ActivationKind nonlinearity, const char* name) {
  VOXGRAD_CHECK(nonlinearity == kTanh || nonlinearity == kReLU, "{}: Unknown nonlinearity '{}' (kTanh or kReLU)", name,
                activation_kind_name(nonlinearity));
  return nonlinearity == kTanh ? RecurrentMode::RNNTanh : RecurrentMode::RNNReLU;
}

// What each module is: its name, and its recurrence given its options (nonlinearity and proj_size only where the
// module has them, as PyTorch's RNNBase refuses them elsewhere).
template <class M>
struct Kind;
template <>
struct Kind<RNNImpl> {
  static constexpr const char* name = "RNN";
};
template <>
struct Kind<LSTMImpl> {
  static constexpr const char* name = "LSTM";
};
template <>
struct Kind<GRUImpl> {
  static constexpr const char* name = "GRU";
};
template <>
struct Kind<RNNCellImpl> {
  static constexpr const char* name = "RNNCell";
};
template <>
struct Kind<LSTMCellImpl> {
  static constexpr const char* name = "LSTMCell";
};
template <>
struct Kind<GRUCellImpl> {
  static constexpr const char* name = "GRUCell";
};

template <class M, class Options>
RecurrentMode mode_of(const Options& o) {
  constexpr bool rnn = std::is_same_v<M, RNNImpl> || std::is_same_v<M, RNNCellImpl>;
  constexpr bool lstm = std::is_same_v<M, LSTMImpl> || std::is_same_v<M, LSTMCellImpl>;
  if constexpr (rnn) return rnn_mode(o.nonlinearity(), Kind<M>::name);
  VOXGRAD_CHECK(o.nonlinearity() == kTanh, "{}: nonlinearity is an option of RNN and RNNCell only (got {})",
                Kind<M>::name, activation_kind_name(o.nonlinearity()));
  return lstm ? RecurrentMode::LSTM : RecurrentMode::GRU;
}

// The checked spec of a module.
template <class M>
RecurrentSpec spec_of(const RecurrentOptions<M>& o) {
  RecurrentSpec spec;
  spec.name = Kind<M>::name;
  spec.mode = mode_of<M>(o);
  spec.input_size = o.input_size();
  spec.hidden_size = o.hidden_size();
  spec.num_layers = o.num_layers();
  spec.bias = o.bias();
  spec.batch_first = o.batch_first();
  spec.dropout = o.dropout();
  spec.bidirectional = o.bidirectional();
  spec.proj_size = o.proj_size();
  VOXGRAD_CHECK(spec.proj_size == 0 || spec.mode == RecurrentMode::LSTM,
                "{}: proj_size argument is only supported for LSTM, not RNN or GRU (got proj_size={})", spec.name,
                spec.proj_size);
  detail::check_spec(spec);
  return spec;
}

// A cell as a one-layer, one-direction module.
template <class M>
RecurrentSpec spec_of(const RecurrentCellOptions<M>& o) {
  RecurrentSpec spec;
  spec.name = Kind<M>::name;
  spec.mode = mode_of<M>(o);
  spec.input_size = o.input_size();
  spec.hidden_size = o.hidden_size();
  spec.bias = o.bias();
  detail::check_spec(spec);
  return spec;
}

// An LSTM's (h, c): both given or neither.
void check_lstm_state(const Tensor& h, const Tensor& c, const char* name) {
  VOXGRAD_CHECK(h.defined() == c.defined(), "{}: hx must hold both h_0 and c_0 (got {} and {})", name,
                h.defined() ? "h_0" : "an undefined h_0", c.defined() ? "c_0" : "an undefined c_0");
}

// PyTorch's RNNBase.extra_repr: the sizes, then the options that differ from their defaults.
std::string recurrent_repr(const RecurrentSpec& s) {
  std::string r = fmt::format("{}, {}", s.input_size, s.hidden_size);
  if (s.proj_size != 0) r += fmt::format(", proj_size={}", s.proj_size);
  if (s.num_layers != 1) r += fmt::format(", num_layers={}", s.num_layers);
  if (!s.bias) r += ", bias=False";
  if (s.batch_first) r += ", batch_first=True";
  if (s.dropout != 0.0) r += fmt::format(", dropout={}", detail::py_float(s.dropout));
  if (s.bidirectional) r += ", bidirectional=True";
  return r;
}

// PyTorch's RNNCellBase.extra_repr (which prints the non-linearity without quotes).
std::string cell_repr(const RecurrentSpec& s) {
  std::string r = fmt::format("{}, {}", s.input_size, s.hidden_size);
  if (!s.bias) r += ", bias=False";
  if (s.mode == RecurrentMode::RNNReLU) r += ", nonlinearity=relu";
  return r;
}

// A cell's input and state as a batch (unbatched ones lifted), checked as ATen's cells check them.
struct CellInput {
  Tensor x;
  bool batched;
};

CellInput cell_input(const RecurrentSpec& spec, const Tensor& input) {
  voxgrad::detail::check_defined(input, spec.name, "input");
  if (!is_floating_point(input.dtype())) voxgrad::detail::throw_not_floating(input.dtype(), spec.name, "input");
  VOXGRAD_CHECK(input.dim() == 1 || input.dim() == 2, "{}: Expected input to be 1-D or 2-D but received {}-D tensor",
                spec.name, input.dim());
  const bool batched = input.dim() == 2;
  const Tensor x = batched ? input : input.unsqueeze(0);
  VOXGRAD_CHECK(x.size(1) == spec.input_size, "{}: input has inconsistent input_size: got {} expected {}", spec.name,
                x.size(1), spec.input_size);
  return {x, batched};
}

Tensor cell_state(const RecurrentSpec& spec, const Tensor& given, const CellInput& in, const char* which) {
  if (!given.defined()) return zeros({in.x.size(0), spec.hidden_size}, in.x.dtype());
  VOXGRAD_CHECK(given.dim() == (in.batched ? 2 : 1), "{}: expected a {}-D {} for {} input, but got shape {}", spec.name,
                in.batched ? 2 : 1, which, in.batched ? "batched 2-D" : "unbatched 1-D", shape_str(given.sizes()));
  VOXGRAD_CHECK(given.dtype() == in.x.dtype(), "{}: expected {} of the input's dtype {}, but got {}", spec.name, which,
                in.x.dtype(), given.dtype());
  const Tensor h = in.batched ? given : given.unsqueeze(0);
  VOXGRAD_CHECK(h.size(0) == in.x.size(0), "{}: Input batch size {} doesn't match {} batch size {}", spec.name,
                in.x.size(0), which, h.size(0));
  VOXGRAD_CHECK(h.size(1) == spec.hidden_size, "{}: {} has inconsistent hidden_size: got {}, expected {}", spec.name,
                which, h.size(1), spec.hidden_size);
  return h;
}

// The cells' shared parts: their parameters (weight_ih, weight_hh, bias_ih, bias_hh) and one step.
template <class Cell>
void register_cell(Cell& cell) {
  const std::vector<detail::CellWeights> w = detail::register_weights(cell, spec_of(cell.options()), true);
  cell.weight_ih = w[0].w_ih;
  cell.weight_hh = w[0].w_hh;
  cell.bias_ih = w[0].b_ih;
  cell.bias_hh = w[0].b_hh;
}

template <class Cell>
void reset_cell(Cell& cell) {
  detail::reset_weights({{cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, {}}},
                        cell.options().hidden_size());
}

// One step of `cell` from (h, c) (c only for LSTMCell): the new h, and c updated in place of the handle.
template <class Cell>
Tensor step_cell(const Cell& cell, const Tensor& input, const Tensor& hx, const Tensor& cx, Tensor* c_out) {
  const RecurrentSpec spec = spec_of(cell.options());
  const CellInput in = cell_input(spec, input);
  VOXGRAD_CHECK(in.x.dtype() == cell.weight_ih.dtype(),
                "{}: expected input of the parameters' dtype {}, but got {} (convert one with to())", spec.name,
                cell.weight_ih.dtype(), in.x.dtype());
  const Tensor h = cell_state(spec, hx, in, "hidden0");
  Tensor c = spec.mode == RecurrentMode::LSTM ? cell_state(spec, cx, in, "hidden1") : Tensor();
  const detail::CellWeights w{cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, {}};
  const Tensor h_next = detail::cell_step(spec.mode, functional::linear(in.x, cell.weight_ih, cell.bias_ih), h, c, w);
  if (c_out != nullptr) *c_out = in.batched ? c : c.squeeze(0);
  return in.batched ? h_next : h_next.squeeze(0);
}

}  // namespace

// --- RNN, LSTM, GRU ----------------------------------------------------------------------------------------------

RNNImpl::RNNImpl(const RNNOptions& options) : options_(options) {
  spec_of(options_);
  reset();
}
void RNNImpl::reset() { weights_ = detail::register_weights(*this, spec_of(options_), false); }
void RNNImpl::reset_parameters() { detail::reset_weights(weights_, options_.hidden_size()); }
std::tuple<Tensor, Tensor> RNNImpl::forward(const Tensor& input, const Tensor& hx) {
  auto r = detail::run_recurrent(spec_of(options_), weights_, input, hx, Tensor(), is_training());
  return {r.output, r.h_n};
}
std::string RNNImpl::extra_repr() const { return recurrent_repr(spec_of(options_)); }

LSTMImpl::LSTMImpl(const LSTMOptions& options) : options_(options) {
  spec_of(options_);
  reset();
}
void LSTMImpl::reset() { weights_ = detail::register_weights(*this, spec_of(options_), false); }
void LSTMImpl::reset_parameters() { detail::reset_weights(weights_, options_.hidden_size()); }
std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(const Tensor& input,
                                                                 const std::optional<std::tuple<Tensor, Tensor>>& hx) {
  const Tensor h0 = hx ? std::get<0>(*hx) : Tensor();
  const Tensor c0 = hx ? std::get<1>(*hx) : Tensor();
  check_lstm_state(h0, c0, "LSTM");
  auto r = detail::run_recurrent(spec_of(options_), weights_, input, h0, c0, is_training());
  return {r.output, {r.h_n, r.c_n}};
}
std::string LSTMImpl::extra_repr() const { return recurrent_repr(spec_of(options_)); }

GRUImpl::GRUImpl(const GRUOptions& options) : options_(options) {
  spec_of(options_);
  reset();
}
void GRUImpl::reset() { weights_ = detail::register_weights(*this, spec_of(options_), false); }
void GRUImpl::reset_parameters() { detail::reset_weights(weights_, options_.hidden_size()); }
std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, const Tensor& hx) {
  auto r = detail::run_recurrent(spec_of(options_), weights_, input, hx, Tensor(), is_training());
  return {r.output, r.h_n};
}
std::string GRUImpl::extra_repr() const { return recurrent_repr(spec_of(options_)); }

// --- cells -------------------------------------------------------------------------------------------------------

RNNCellImpl::RNNCellImpl(const RNNCellOptions& options) : options_(options) { reset(); }
void RNNCellImpl::reset() { register_cell(*this); }
void RNNCellImpl::reset_parameters() { reset_cell(*this); }
Tensor RNNCellImpl::forward(const Tensor& input, const Tensor& hx) { return step_cell(*this, input, hx, {}, nullptr); }
std::string RNNCellImpl::extra_repr() const { return cell_repr(spec_of(options_)); }

LSTMCellImpl::LSTMCellImpl(const LSTMCellOptions& options) : options_(options) { reset(); }
void LSTMCellImpl::reset() { register_cell(*this); }
void LSTMCellImpl::reset_parameters() { reset_cell(*this); }
std::tuple<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& input,
                                                 const std::optional<std::tuple<Tensor, Tensor>>& hx) {
  const Tensor h0 = hx ? std::get<0>(*hx) : Tensor();
  const Tensor c0 = hx ? std::get<1>(*hx) : Tensor();
  check_lstm_state(h0, c0, "LSTMCell");
  Tensor c;
  const Tensor h = step_cell(*this, input, h0, c0, &c);
  return {h, c};
}
std::string LSTMCellImpl::extra_repr() const { return cell_repr(spec_of(options_)); }

GRUCellImpl::GRUCellImpl(const GRUCellOptions& options) : options_(options) { reset(); }
void GRUCellImpl::reset() { register_cell(*this); }
void GRUCellImpl::reset_parameters() { reset_cell(*this); }
Tensor GRUCellImpl::forward(const Tensor& input, const Tensor& hx) { return step_cell(*this, input, hx, {}, nullptr); }
std::string GRUCellImpl::extra_repr() const { return cell_repr(spec_of(options_)); }

}  // namespace voxgrad::nn
