#include "voxgrad/nn/detail/recurrent.h"

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/nn/functional/activation.h"
#include "voxgrad/nn/init.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/join_split.h"

namespace voxgrad::nn::detail {

std::int64_t RecurrentSpec::gate_size() const {
  switch (mode) {
    case RecurrentMode::LSTM: return 4 * hidden_size;
    case RecurrentMode::GRU: return 3 * hidden_size;
    default: return hidden_size;
  }
}

void check_spec(const RecurrentSpec& spec) {
  VOXGRAD_CHECK(spec.input_size > 0 && spec.hidden_size > 0,
                "{}: input_size and hidden_size must be positive (got input_size={}, hidden_size={})", spec.name,
                spec.input_size, spec.hidden_size);
  VOXGRAD_CHECK(spec.num_layers > 0, "{}: num_layers must be positive, but got {}", spec.name, spec.num_layers);
  VOXGRAD_CHECK(spec.dropout >= 0.0 && spec.dropout <= 1.0,
                "{}: dropout should be a number in range [0, 1] representing the probability of an element being "
                "zeroed, but got {}",
                spec.name, spec.dropout);
  VOXGRAD_CHECK(spec.proj_size >= 0,
                "{}: proj_size should be a positive integer or zero to disable projections, but "
                "got {}",
                spec.name, spec.proj_size);
  VOXGRAD_CHECK(spec.proj_size < spec.hidden_size,
                "{}: proj_size has to be smaller than hidden_size (got proj_size={}, "
                "hidden_size={})",
                spec.name, spec.proj_size, spec.hidden_size);
}

std::vector<CellWeights> register_weights(Module& owner, const RecurrentSpec& spec, bool cell) {
  std::vector<CellWeights> weights;
  const std::int64_t gates = spec.gate_size();
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    for (std::int64_t direction = 0; direction < spec.directions(); ++direction) {
      const std::int64_t in = layer == 0 ? spec.input_size : spec.output_size() * spec.directions();
      const std::string suffix =
          cell ? "" : "_l" + std::to_string(layer) + (direction == 1 ? std::string("_reverse") : std::string());
      CellWeights w;
      w.w_ih = owner.register_parameter("weight_ih" + suffix, empty({gates, in}));
      w.w_hh = owner.register_parameter("weight_hh" + suffix, empty({gates, spec.output_size()}));
      if (spec.bias) {
        w.b_ih = owner.register_parameter("bias_ih" + suffix, empty({gates}));
        w.b_hh = owner.register_parameter("bias_hh" + suffix, empty({gates}));
      }
      if (spec.proj_size > 0)
        w.w_hr = owner.register_parameter("weight_hr" + suffix, empty({spec.proj_size, spec.hidden_size}));
      weights.push_back(w);
    }
  }
  reset_weights(weights, spec.hidden_size);
  return weights;
}

void reset_weights(const std::vector<CellWeights>& weights, std::int64_t hidden_size) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (const CellWeights& w : weights) {
    for (const Tensor* t : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh, &w.w_hr}) {
      if (t->defined()) init::uniform_(*t, -bound, bound);
    }
  }
}

Tensor cell_step(RecurrentMode mode, const Tensor& input_gates, const Tensor& h, Tensor& c, const CellWeights& w) {
  // PyTorch's cells (aten/src/ATen/native/RNN.cpp): the hidden-state gates first, the input's added to them.
  const Tensor hidden_gates = functional::linear(h, w.w_hh, w.b_hh);
  switch (mode) {
    case RecurrentMode::RNNTanh: return voxgrad::tanh(hidden_gates + input_gates);
    case RecurrentMode::RNNReLU: return voxgrad::relu(hidden_gates + input_gates);
    case RecurrentMode::LSTM: {
      // Gates i, f, g, o; c' = f·c + i·g, h' = o·tanh(c'), projected by W_hr when there is one.
      const std::vector<Tensor> g = voxgrad::chunk(hidden_gates + input_gates, 4, -1);
      const Tensor in_gate = voxgrad::sigmoid(g[0]);
      const Tensor forget_gate = voxgrad::sigmoid(g[1]);
      const Tensor cell_gate = voxgrad::tanh(g[2]);
      const Tensor out_gate = voxgrad::sigmoid(g[3]);
      c = forget_gate * c + in_gate * cell_gate;
      const Tensor hy = out_gate * voxgrad::tanh(c);
      return w.w_hr.defined() ? functional::linear(hy, w.w_hr) : hy;
    }
    case RecurrentMode::GRU: {
      // Gates r, z and the candidate n = tanh(x_n + r·(W_hn h + b_hn)); h' = (h − n)·z + n.
      const std::vector<Tensor> gi = voxgrad::chunk(input_gates, 3, -1);
      const std::vector<Tensor> gh = voxgrad::chunk(hidden_gates, 3, -1);
      const Tensor reset_gate = voxgrad::sigmoid(gh[0] + gi[0]);
      const Tensor update_gate = voxgrad::sigmoid(gh[1] + gi[1]);
      const Tensor new_gate = voxgrad::tanh(gi[2] + gh[2] * reset_gate);
      return (h - new_gate) * update_gate + new_gate;
    }
  }
  throw Error("cell_step: unknown mode");
}

namespace {

// An initial state: given (checked against `expected`, unbatched ones lifted to a batch of one) or zeros.
Tensor initial_state(const RecurrentSpec& spec, const Tensor& given, bool batched, const Shape& expected, DType dtype,
                     const char* which, const char* hidden_name) {
  if (!given.defined()) return zeros(expected, dtype);
  const std::int64_t rank = batched ? 3 : 2;
  VOXGRAD_CHECK(given.dim() == rank, "{}: For {} input, {} should also be {}-D but got {}-D tensor", spec.name,
                batched ? "batched 3-D" : "unbatched 2-D", which, rank, given.dim());
  const Tensor state = batched ? given : given.unsqueeze(1);
  const std::string want = batched ? fmt::format("({}, {}, {})", expected[0], expected[1], expected[2])
                                   : fmt::format("({}, {})", expected[0], expected[2]);
  VOXGRAD_CHECK(state.sizes() == expected, "{}: Expected {} size {}, got {}", spec.name, hidden_name, want,
                shape_str(given.sizes()));
  VOXGRAD_CHECK(given.dtype() == dtype, "{}: expected {} of the input's dtype {}, but got {}", spec.name, which, dtype,
                given.dtype());
  return state;
}

}  // namespace

RecurrentResult run_recurrent(const RecurrentSpec& spec, const std::vector<CellWeights>& weights, const Tensor& input,
                              const Tensor& h0, const Tensor& c0, bool training) {
  voxgrad::detail::check_defined(input, spec.name, "input");
  if (!is_floating_point(input.dtype())) voxgrad::detail::throw_not_floating(input.dtype(), spec.name, "input");
  VOXGRAD_CHECK(input.dim() == 2 || input.dim() == 3, "{}: Expected input to be 2-D or 3-D but received {}-D tensor",
                spec.name, input.dim());
  VOXGRAD_CHECK(input.dtype() == weights.front().w_ih.dtype(),
                "{}: expected input of the parameters' dtype {}, but got {} (convert one with to())", spec.name,
                weights.front().w_ih.dtype(), input.dtype());
  const bool batched = input.dim() == 3;
  const Tensor x = !batched ? input.unsqueeze(1) : spec.batch_first ? input.transpose(0, 1) : input;
  VOXGRAD_CHECK(x.size(-1) == spec.input_size, "{}: input.size(-1) must be equal to input_size. Expected {}, got {}",
                spec.name, spec.input_size, x.size(-1));
  const std::int64_t steps = x.size(0), batch = x.size(1), directions = spec.directions();
  VOXGRAD_CHECK(steps > 0, "{}: expected a sequence length larger than 0, but got input of shape {}", spec.name,
                shape_str(input.sizes()));
  const bool lstm = spec.mode == RecurrentMode::LSTM;
  const Tensor h_init = initial_state(spec, h0, batched, {spec.num_layers * directions, batch, spec.output_size()},
                                      input.dtype(), lstm ? "hx[0]" : "hx", lstm ? "hidden[0]" : "hidden");
  const Tensor c_init = lstm ? initial_state(spec, c0, batched, {spec.num_layers * directions, batch, spec.hidden_size},
                                             input.dtype(), "hx[1]", "hidden[1]")
                             : Tensor();
  std::vector<Tensor> h_n, c_n;
  Tensor layer_input = x;
  for (std::int64_t layer = 0; layer < spec.num_layers; ++layer) {
    std::vector<Tensor> outputs;
    for (std::int64_t direction = 0; direction < directions; ++direction) {
      const std::int64_t k = layer * directions + direction;
      const CellWeights& w = weights[static_cast<std::size_t>(k)];
      // The input's gates for every step at once; then the recurrence, backwards for the reverse direction.
      const Tensor input_gates = functional::linear(layer_input, w.w_ih, w.b_ih);
      Tensor h = h_init.select(0, k);
      Tensor c = lstm ? c_init.select(0, k) : Tensor();
      std::vector<Tensor> hs(static_cast<std::size_t>(steps));
      for (std::int64_t i = 0; i < steps; ++i) {
        const std::int64_t t = direction == 0 ? i : steps - 1 - i;
        h = cell_step(spec.mode, input_gates.select(0, t), h, c, w);
        hs[static_cast<std::size_t>(t)] = h;
      }
      outputs.push_back(voxgrad::stack(hs, 0));
      h_n.push_back(h);
      if (lstm) c_n.push_back(c);
    }
    layer_input = directions == 1 ? outputs[0] : voxgrad::cat(outputs, -1);
    if (spec.dropout > 0.0 && training && layer + 1 < spec.num_layers) {
      layer_input = functional::dropout(layer_input, functional::DropoutFuncOptions().p(spec.dropout));
    }
  }
  RecurrentResult result{layer_input, voxgrad::stack(h_n, 0), lstm ? voxgrad::stack(c_n, 0) : Tensor()};
  if (!batched) {
    result.output = result.output.squeeze(1);
    result.h_n = result.h_n.squeeze(1);
    if (lstm) result.c_n = result.c_n.squeeze(1);
  } else if (spec.batch_first) {
    result.output = result.output.transpose(0, 1);
  }
  return result;
}

}  // namespace voxgrad::nn::detail
