#include "voxgrad/nn/modules/rnn.h"

#include <cmath>

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

template <class Options>
RecurrentSpec recurrent_spec(const Options& o, const char* name, RecurrentMode mode, std::int64_t proj_size) {
  RecurrentSpec spec;
  spec.name = name;
  spec.mode = mode;
  spec.input_size = o.input_size();
  spec.hidden_size = o.hidden_size();
  spec.num_layers = o.num_layers();
  spec.bias = o.bias();
  spec.batch_first = o.batch_first();
  spec.dropout = o.dropout();
  spec.bidirectional = o.bidirectional();
  spec.proj_size = proj_size;
  detail::check_spec(spec);
  return spec;
}

RecurrentMode rnn_mode(ActivationKind nonlinearity, const char* name) {
  VOXGRAD_CHECK(nonlinearity == kTanh || nonlinearity == kReLU, "{}: Unknown nonlinearity '{}' (kTanh or kReLU)", name,
                activation_kind_name(nonlinearity));
  return nonlinearity == kTanh ? RecurrentMode::RNNTanh : RecurrentMode::RNNReLU;
}

// The spec of each module, checked (so the constructors validate by building it).
RecurrentSpec spec_of(const RNNOptions& o) { return recurrent_spec(o, "RNN", rnn_mode(o.nonlinearity(), "RNN"), 0); }
RecurrentSpec spec_of(const LSTMOptions& o) { return recurrent_spec(o, "LSTM", RecurrentMode::LSTM, o.proj_size()); }
RecurrentSpec spec_of(const GRUOptions& o) { return recurrent_spec(o, "GRU", RecurrentMode::GRU, 0); }

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

// A cell as a one-layer, one-direction module: its spec and weights.
RecurrentSpec cell_spec(const char* name, RecurrentMode mode, std::int64_t input_size, std::int64_t hidden_size,
                        bool bias) {
  RecurrentSpec spec;
  spec.name = name;
  spec.mode = mode;
  spec.input_size = input_size;
  spec.hidden_size = hidden_size;
  spec.bias = bias;
  detail::check_spec(spec);
  return spec;
}

void bind_cell(const std::vector<detail::CellWeights>& w, Tensor& w_ih, Tensor& w_hh, Tensor& b_ih, Tensor& b_hh) {
  w_ih = w[0].w_ih;
  w_hh = w[0].w_hh;
  b_ih = w[0].b_ih;
  b_hh = w[0].b_hh;
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

std::string cell_repr(const RecurrentSpec& s, const char* nonlinearity) {
  std::string r = fmt::format("{}, {}", s.input_size, s.hidden_size);
  if (!s.bias) r += ", bias=False";
  if (nonlinearity != nullptr) r += fmt::format(", nonlinearity='{}'", nonlinearity);
  return r;
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
std::string RNNImpl::extra_repr() const {
  return recurrent_repr(spec_of(options_)) + (options_.nonlinearity() == kReLU ? ", nonlinearity='relu'" : "");
}

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
  VOXGRAD_CHECK(h0.defined() == c0.defined(), "LSTM: hx must hold both h_0 and c_0 (got {} and {})",
                h0.defined() ? "h_0" : "an undefined h_0", c0.defined() ? "c_0" : "an undefined c_0");
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

RNNCellImpl::RNNCellImpl(const RNNCellOptions& options) : options_(options) {
  rnn_mode(options_.nonlinearity(), "RNNCell");
  reset();
}
void RNNCellImpl::reset() {
  const RecurrentSpec spec = cell_spec("RNNCell", rnn_mode(options_.nonlinearity(), "RNNCell"), options_.input_size(),
                                       options_.hidden_size(), options_.bias());
  bind_cell(detail::register_weights(*this, spec, true), weight_ih, weight_hh, bias_ih, bias_hh);
}
void RNNCellImpl::reset_parameters() {
  detail::reset_weights({{weight_ih, weight_hh, bias_ih, bias_hh, {}}}, options_.hidden_size());
}
Tensor RNNCellImpl::forward(const Tensor& input, const Tensor& hx) {
  const RecurrentSpec spec = cell_spec("RNNCell", rnn_mode(options_.nonlinearity(), "RNNCell"), options_.input_size(),
                                       options_.hidden_size(), options_.bias());
  const CellInput in = cell_input(spec, input);
  const Tensor h = cell_state(spec, hx, in, "hidden0");
  Tensor unused;
  const detail::CellWeights w{weight_ih, weight_hh, bias_ih, bias_hh, {}};
  const Tensor out = detail::cell_step(spec.mode, functional::linear(in.x, weight_ih, bias_ih), h, unused, w);
  return in.batched ? out : out.squeeze(0);
}
std::string RNNCellImpl::extra_repr() const {
  const RecurrentSpec spec = cell_spec("RNNCell", rnn_mode(options_.nonlinearity(), "RNNCell"), options_.input_size(),
                                       options_.hidden_size(), options_.bias());
  return cell_repr(spec, options_.nonlinearity() == kReLU ? "relu" : nullptr);
}

LSTMCellImpl::LSTMCellImpl(const LSTMCellOptions& options) : options_(options) { reset(); }
void LSTMCellImpl::reset() {
  const RecurrentSpec spec =
      cell_spec("LSTMCell", RecurrentMode::LSTM, options_.input_size(), options_.hidden_size(), options_.bias());
  bind_cell(detail::register_weights(*this, spec, true), weight_ih, weight_hh, bias_ih, bias_hh);
}
void LSTMCellImpl::reset_parameters() {
  detail::reset_weights({{weight_ih, weight_hh, bias_ih, bias_hh, {}}}, options_.hidden_size());
}
std::tuple<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& input,
                                                 const std::optional<std::tuple<Tensor, Tensor>>& hx) {
  const RecurrentSpec spec =
      cell_spec("LSTMCell", RecurrentMode::LSTM, options_.input_size(), options_.hidden_size(), options_.bias());
  const CellInput in = cell_input(spec, input);
  const Tensor h = cell_state(spec, hx ? std::get<0>(*hx) : Tensor(), in, "hidden0");
  Tensor c = cell_state(spec, hx ? std::get<1>(*hx) : Tensor(), in, "hidden1");
  const detail::CellWeights w{weight_ih, weight_hh, bias_ih, bias_hh, {}};
  const Tensor h_next = detail::cell_step(spec.mode, functional::linear(in.x, weight_ih, bias_ih), h, c, w);
  if (in.batched) return {h_next, c};
  return {h_next.squeeze(0), c.squeeze(0)};
}
std::string LSTMCellImpl::extra_repr() const {
  return cell_repr(
      cell_spec("LSTMCell", RecurrentMode::LSTM, options_.input_size(), options_.hidden_size(), options_.bias()),
      nullptr);
}

GRUCellImpl::GRUCellImpl(const GRUCellOptions& options) : options_(options) { reset(); }
void GRUCellImpl::reset() {
  const RecurrentSpec spec =
      cell_spec("GRUCell", RecurrentMode::GRU, options_.input_size(), options_.hidden_size(), options_.bias());
  bind_cell(detail::register_weights(*this, spec, true), weight_ih, weight_hh, bias_ih, bias_hh);
}
void GRUCellImpl::reset_parameters() {
  detail::reset_weights({{weight_ih, weight_hh, bias_ih, bias_hh, {}}}, options_.hidden_size());
}
Tensor GRUCellImpl::forward(const Tensor& input, const Tensor& hx) {
  const RecurrentSpec spec =
      cell_spec("GRUCell", RecurrentMode::GRU, options_.input_size(), options_.hidden_size(), options_.bias());
  const CellInput in = cell_input(spec, input);
  const Tensor h = cell_state(spec, hx, in, "hidden0");
  Tensor unused;
  const detail::CellWeights w{weight_ih, weight_hh, bias_ih, bias_hh, {}};
  const Tensor out = detail::cell_step(spec.mode, functional::linear(in.x, weight_ih, bias_ih), h, unused, w);
  return in.batched ? out : out.squeeze(0);
}
std::string GRUCellImpl::extra_repr() const {
  return cell_repr(
      cell_spec("GRUCell", RecurrentMode::GRU, options_.input_size(), options_.hidden_size(), options_.bias()),
      nullptr);
}

}  // namespace voxgrad::nn
