// RNN, LSTM, GRU and their cells: outputs, final states and every gradient against PyTorch 1.13
// (tests/fixtures/rnn/rnn.json, written by generate.py there), viewed inputs against contiguous copies, float64
// gradchecks, parameter names and initialisation, dropout between layers, clones, printing and errors.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using nlohmann::json;
namespace vt = voxgrad::testing;

const json& fixture() {
  static const json j = vt::load_fixture("rnn/rnn.json");
  return j;
}

template <class Options>
Options recurrent_options(const json& o) {
  Options options(o.at("input_size").get<std::int64_t>(), o.at("hidden_size").get<std::int64_t>());
  options.num_layers(o.at("num_layers").get<std::int64_t>())
      .bias(o.at("bias").get<bool>())
      .batch_first(o.at("batch_first").get<bool>())
      .bidirectional(o.at("bidirectional").get<bool>());
  return options;
}

nn::ActivationKind nonlinearity_of(const json& o) { return o.at("nonlinearity") == "relu" ? nn::kReLU : nn::kTanh; }

// The module a case describes and a call that returns its outputs by the fixture's names.
using Outputs = std::map<std::string, Tensor>;
struct Built {
  std::shared_ptr<nn::Module> module;
  std::function<Outputs(const Tensor&, const Tensor&, const Tensor&)> call;
};

Built build(const json& c) {
  const json& o = c.at("options");
  const std::string kind = c.at("kind");
  if (kind == "rnn") {
    auto m = std::make_shared<nn::RNNImpl>(recurrent_options<nn::RNNOptions>(o).nonlinearity(nonlinearity_of(o)));
    return {m, [m](const Tensor& x, const Tensor& h, const Tensor&) {
              auto [out, h_n] = m->forward(x, h);
              return Outputs{{"output", out}, {"h_n", h_n}};
            }};
  }
  if (kind == "lstm") {
    auto options = recurrent_options<nn::LSTMOptions>(o);
    if (o.contains("proj_size")) options.proj_size(o.at("proj_size").get<std::int64_t>());
    auto m = std::make_shared<nn::LSTMImpl>(options);
    return {m, [m](const Tensor& x, const Tensor& h, const Tensor& cell) {
              auto [out, state] = h.defined() ? m->forward(x, std::make_tuple(h, cell)) : m->forward(x);
              return Outputs{{"output", out}, {"h_n", std::get<0>(state)}, {"c_n", std::get<1>(state)}};
            }};
  }
  if (kind == "gru") {
    auto m = std::make_shared<nn::GRUImpl>(recurrent_options<nn::GRUOptions>(o));
    return {m, [m](const Tensor& x, const Tensor& h, const Tensor&) {
              auto [out, h_n] = m->forward(x, h);
              return Outputs{{"output", out}, {"h_n", h_n}};
            }};
  }
  const std::int64_t in = o.at("input_size").get<std::int64_t>(), hidden = o.at("hidden_size").get<std::int64_t>();
  const bool bias = o.at("bias").get<bool>();
  if (kind == "rnn_cell") {
    auto m =
        std::make_shared<nn::RNNCellImpl>(nn::RNNCellOptions(in, hidden).bias(bias).nonlinearity(nonlinearity_of(o)));
    return {m, [m](const Tensor& x, const Tensor& h, const Tensor&) { return Outputs{{"h", m->forward(x, h)}}; }};
  }
  if (kind == "lstm_cell") {
    auto m = std::make_shared<nn::LSTMCellImpl>(nn::LSTMCellOptions(in, hidden).bias(bias));
    return {m, [m](const Tensor& x, const Tensor& h, const Tensor& cell) {
              auto [h1, c1] = h.defined() ? m->forward(x, std::make_tuple(h, cell)) : m->forward(x);
              return Outputs{{"h", h1}, {"c", c1}};
            }};
  }
  auto m = std::make_shared<nn::GRUCellImpl>(nn::GRUCellOptions(in, hidden).bias(bias));
  return {m, [m](const Tensor& x, const Tensor& h, const Tensor&) { return Outputs{{"h", m->forward(x, h)}}; }};
}

TEST(RNNFixtures, MatchPyTorch) {
  int n = 0;
  for (const json& c : fixture().at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    ++n;
    const DType dtype = c.at("dtype") == "float32" ? kFloat32 : kFloat64;
    Built b = build(c);
    b.module->to(dtype);
    vt::set_fixture_parameters(*b.module, c);  // PyTorch's names and order, the fixture's values
    const json& in = c.at("inputs");
    const auto leaf = [&](const char* name) {
      return in.at(name).is_null() ? Tensor() : vt::json_tensor(in.at(name)).requires_grad_(true);
    };
    const Tensor x = leaf("input"), h0 = leaf("h0"), c0 = leaf("c0");
    const Outputs outs = b.call(x, h0, c0);
    Tensor loss;
    for (const auto& [name, value] : outs) {
      SCOPED_TRACE(name);
      vt::expect_matches_fixture(value, vt::json_tensor(c.at("outputs").at(name)));
      const Tensor term = (value * vt::json_tensor(c.at("upstream").at(name))).sum();
      loss = loss.defined() ? loss + term : term;
    }
    autograd::backward({loss});
    vt::expect_matches_fixture(x.grad(), vt::json_tensor(c.at("grads").at("input")));
    if (h0.defined()) vt::expect_matches_fixture(h0.grad(), vt::json_tensor(c.at("grads").at("h0")));
    if (c0.defined()) vt::expect_matches_fixture(c0.grad(), vt::json_tensor(c.at("grads").at("c0")));
    vt::expect_fixture_parameter_grads(*b.module, c);
  }
  EXPECT_GE(n, 30);
}

// Transposed, strided, offset and expanded inputs and states give what their contiguous copies give.
TEST(RNN, ViewsMatchContiguousCopies) {
  manual_seed(41);
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2).bidirectional(true).proj_size(2));
  nn::GRU gru(nn::GRUOptions(3, 4).batch_first(true));
  lstm->to(kFloat64);
  gru->to(kFloat64);
  const std::vector<std::pair<std::string, Tensor>> inputs = {
      {"transposed", randn({2, 5, 3}, kFloat64).transpose(0, 1)},
      {"strided", randn({5, 2, 7}, kFloat64).narrow(2, 1, 6).narrow(2, 0, 3)},
      {"offset", randn({8, 2, 3}, kFloat64).narrow(0, 3, 5)},
      {"expanded", randn({5, 1, 3}, kFloat64).expand({5, 2, 3})},
  };
  const Tensor h0 = randn({2, 4, 2}, kFloat64).transpose(0, 1).narrow(0, 0, 4);  // a view of the right shape
  const Tensor c0 = randn({4, 2, 4}, kFloat64);
  for (const auto& [name, x] : inputs) {
    SCOPED_TRACE(name);
    const auto [a, sa] = lstm->forward(x, std::make_tuple(h0, c0));
    const auto [b, sb] = lstm->forward(x.contiguous(), std::make_tuple(h0.contiguous(), c0));
    vt::expect_close(a, b, 1e-15, 1e-15);
    vt::expect_close(std::get<0>(sa), std::get<0>(sb), 1e-15, 1e-15);
    vt::expect_close(std::get<1>(sa), std::get<1>(sb), 1e-15, 1e-15);
    const auto [g1, gh1] = gru->forward(x.transpose(0, 1));
    const auto [g2, gh2] = gru->forward(x.transpose(0, 1).contiguous());
    vt::expect_close(g1, g2, 1e-15, 1e-15);
    vt::expect_close(gh1, gh2, 1e-15, 1e-15);
  }
}

TEST(RNN, GradcheckAndGradgradcheck) {
  manual_seed(42);
  nn::LSTM lstm(nn::LSTMOptions(2, 3).num_layers(2).bidirectional(true).proj_size(2));
  nn::GRU gru(nn::GRUOptions(2, 3).num_layers(2));
  nn::RNN rnn(nn::RNNOptions(2, 3).nonlinearity(nn::kReLU).bidirectional(true));
  for (nn::Module* m : {static_cast<nn::Module*>(lstm.get()), static_cast<nn::Module*>(gru.get()),
                        static_cast<nn::Module*>(rnn.get())}) {
    m->to(kFloat64);
  }
  const Tensor x = vt::uniform_leaf({3, 2, 2}, -1, 1, 1);
  const Tensor h = vt::uniform_leaf({4, 2, 2}, -1, 1, 2), c = vt::uniform_leaf({4, 2, 3}, -1, 1, 3);
  std::vector<Tensor> inputs = {x, h, c};
  for (const Tensor& p : lstm->parameters()) inputs.push_back(p);
  vt::expect_gradcheck(
      [&](const std::vector<Tensor>& in) {
        auto [out, state] = lstm->forward(in[0], std::make_tuple(in[1], in[2]));
        return cat({out.flatten(), std::get<0>(state).flatten(), std::get<1>(state).flatten()});
      },
      inputs);
  vt::expect_gradgradcheck([&](const std::vector<Tensor>& in) { return std::get<0>(gru->forward(in[0])); }, {x});
  vt::expect_gradcheck([&](const std::vector<Tensor>& in) { return std::get<0>(rnn->forward(in[0])); }, {x});
  nn::GRUCell cell(2, 3);
  cell->to(kFloat64);
  vt::expect_gradgradcheck([&](const std::vector<Tensor>& in) { return cell->forward(in[0], in[1]); },
                           {vt::uniform_leaf({2, 2}, -1, 1, 4), vt::uniform_leaf({2, 3}, -1, 1, 5)});
}

TEST(RNNModules, InitialisationDropoutCloneAndRepr) {
  manual_seed(43);
  nn::LSTM lstm(nn::LSTMOptions(3, 16).num_layers(3).dropout(0.5));
  const double bound = 1.0 / std::sqrt(16.0);
  double max_abs = 0.0;
  for (const Tensor& p : lstm->parameters()) max_abs = std::max(max_abs, vt::values(p.abs().max())[0]);
  EXPECT_LE(max_abs, bound);
  EXPECT_GT(max_abs, 0.9 * bound);
  // Dropout between layers in training mode only: two training calls differ, eval calls agree.
  const Tensor x = randn({4, 2, 3});
  EXPECT_FALSE(vt::bit_identical(std::get<0>(lstm->forward(x)), std::get<0>(lstm->forward(x))));
  lstm->eval();
  vt::expect_bitwise_equal(std::get<0>(lstm->forward(x)), std::get<0>(lstm->forward(x)), "eval");
  // No dropout after the last layer: one layer with dropout is deterministic in training mode too.
  nn::GRU single(nn::GRUOptions(3, 4).dropout(0.5));
  vt::expect_bitwise_equal(std::get<0>(single->forward(x)), std::get<0>(single->forward(x)), "one layer");
  // reset_parameters re-draws every parameter within the bound, for each module and cell.
  for (const std::shared_ptr<nn::Module>& m :
       std::vector<std::shared_ptr<nn::Module>>{nn::RNN(3, 9).ptr(), nn::GRU(3, 9).ptr(), nn::RNNCell(3, 9).ptr(),
                                                nn::LSTMCell(3, 9).ptr(), nn::GRUCell(3, 9).ptr()}) {
    SCOPED_TRACE(m->name());
    {
      NoGradGuard g;
      for (Tensor& p : m->parameters()) p.fill_(5.0);
    }
    if (auto r = std::dynamic_pointer_cast<nn::RNNImpl>(m)) r->reset_parameters();
    if (auto r = std::dynamic_pointer_cast<nn::GRUImpl>(m)) r->reset_parameters();
    if (auto r = std::dynamic_pointer_cast<nn::RNNCellImpl>(m)) r->reset_parameters();
    if (auto r = std::dynamic_pointer_cast<nn::LSTMCellImpl>(m)) r->reset_parameters();
    if (auto r = std::dynamic_pointer_cast<nn::GRUCellImpl>(m)) r->reset_parameters();
    for (const Tensor& p : m->parameters()) EXPECT_LE(vt::values(p.abs().max())[0], 1.0 / 3.0);
  }
  // A clone computes what the original computes and owns its parameters.
  auto copy = std::dynamic_pointer_cast<nn::LSTMImpl>(lstm->clone());
  ASSERT_NE(copy, nullptr);
  vt::expect_bitwise_equal(std::get<0>(copy->forward(x)), std::get<0>(lstm->forward(x)), "clone");
  EXPECT_FALSE(copy->parameters()[0].is_same(lstm->parameters()[0]));
  {
    NoGradGuard g;
    copy->parameters()[0].fill_(0.0);
  }
  EXPECT_FALSE(vt::bit_identical(std::get<0>(copy->forward(x)), std::get<0>(lstm->forward(x))));
  // PyTorch's printing.
  const auto repr = [](const nn::Module& m) {
    std::ostringstream os;
    os << m;
    return os.str();
  };
  EXPECT_EQ(repr(*lstm), "LSTM(3, 16, num_layers=3, dropout=0.5)");
  EXPECT_EQ(repr(*nn::GRU(nn::GRUOptions(2, 4).batch_first(true).bidirectional(true))),
            "GRU(2, 4, batch_first=True, bidirectional=True)");
  EXPECT_EQ(repr(*nn::LSTM(nn::LSTMOptions(2, 4).proj_size(3).bias(false))), "LSTM(2, 4, proj_size=3, bias=False)");
  EXPECT_EQ(repr(*nn::RNNCell(nn::RNNCellOptions(2, 4).nonlinearity(nn::kReLU))), "RNNCell(2, 4, nonlinearity=relu)");
  EXPECT_EQ(repr(*nn::RNN(nn::RNNOptions(2, 4).nonlinearity(nn::kReLU))),
            "RNN(2, 4)");  // PyTorch prints no nonlinearity
  EXPECT_EQ(repr(*nn::GRUCell(nn::GRUCellOptions(2, 4).bias(false))), "GRUCell(2, 4, bias=False)");
  // A cell step equals one step of the one-layer module with the same weights.
  nn::GRU gru(2, 3);
  nn::GRUCell cell(2, 3);
  {
    NoGradGuard g;
    const auto from = gru->parameters();
    const auto to = cell->parameters();
    for (std::size_t i = 0; i < to.size(); ++i) {
      Tensor t = to[i];
      t.copy_(from[i]);
    }
  }
  const Tensor step = randn({1, 4, 2});
  vt::expect_bitwise_equal(std::get<1>(gru->forward(step)).squeeze(0), cell->forward(step.squeeze(0)), "cell step");
}

TEST(RNNModules, Errors) {
  EXPECT_ERROR_CONTAINS(nn::LSTM(nn::LSTMOptions(3, 4).dropout(1.5)),
                        "LSTM: dropout should be a number in range [0, 1]");
  EXPECT_ERROR_EQ(nn::LSTM(nn::LSTMOptions(3, 4).proj_size(4)),
                  "LSTM: proj_size has to be smaller than hidden_size (got proj_size=4, hidden_size=4)");
  EXPECT_ERROR_EQ(nn::RNN(nn::RNNOptions(3, 4).nonlinearity(nn::kGELU)),
                  "RNN: Unknown nonlinearity 'kGELU' (kTanh or kReLU)");
  EXPECT_ERROR_EQ(nn::GRU(nn::GRUOptions(3, 4).proj_size(2)),
                  "GRU: proj_size argument is only supported for LSTM, not RNN or GRU (got proj_size=2)");
  EXPECT_ERROR_EQ(nn::LSTMCell(nn::LSTMCellOptions(3, 4).nonlinearity(nn::kReLU)),
                  "LSTMCell: nonlinearity is an option of RNN and RNNCell only (got kReLU)");
  EXPECT_ERROR_EQ(nn::GRU(nn::GRUOptions(3, 0)),
                  "GRU: input_size and hidden_size must be positive (got input_size=3, hidden_size=0)");
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2));
  EXPECT_ERROR_EQ(lstm->forward(randn({5})), "LSTM: Expected input to be 2-D or 3-D but received 1-D tensor");
  EXPECT_ERROR_EQ(lstm->forward(randn({5, 2, 4})),
                  "LSTM: input.size(-1) must be equal to input_size. Expected 3, got 4");
  EXPECT_ERROR_EQ(lstm->forward(randn({5, 2, 3}), std::make_tuple(zeros({1, 2, 4}), zeros({2, 2, 4}))),
                  "LSTM: Expected hidden[0] size (2, 2, 4), got [1, 2, 4]");
  EXPECT_ERROR_EQ(lstm->forward(randn({5, 2, 3}), std::make_tuple(zeros({2, 2, 4}), zeros({2, 2, 3}))),
                  "LSTM: Expected hidden[1] size (2, 2, 4), got [2, 2, 3]");
  EXPECT_ERROR_EQ(lstm->forward(randn({5, 3}), std::make_tuple(zeros({2, 1, 4}), zeros({2, 1, 4}))),
                  "LSTM: For unbatched 2-D input, hx[0] should also be 2-D but got 3-D tensor");
  EXPECT_ERROR_EQ(lstm->forward(randn({0, 2, 3})),
                  "LSTM: expected a sequence length larger than 0, but got input of shape [0, 2, 3]");
  nn::GRU gru(3, 4);
  EXPECT_ERROR_EQ(gru->forward(randn({5, 2, 3}), zeros({1, 2, 4}, kFloat64)),
                  "GRU: expected hx of the input's dtype float32, but got float64");
  EXPECT_ERROR_EQ(gru->forward(randn({5, 2, 3}, kFloat64)),
                  "GRU: expected input of the parameters' dtype float32, but got float64 (convert one with to())");
  nn::LSTMCell lstm_cell(3, 4);
  EXPECT_ERROR_EQ(lstm_cell->forward(randn({2, 3}), std::make_tuple(Tensor(), zeros({2, 4}))),
                  "LSTMCell: hx must hold both h_0 and c_0 (got an undefined h_0 and c_0)");
  nn::GRUCell cell(3, 4);
  EXPECT_ERROR_EQ(cell->forward(randn({2, 3}, kFloat64)),
                  "GRUCell: expected input of the parameters' dtype float32, but got float64 (convert one with to())");
  EXPECT_ERROR_EQ(cell->forward(randn({2, 2, 3})), "GRUCell: Expected input to be 1-D or 2-D but received 3-D tensor");
  EXPECT_ERROR_EQ(cell->forward(randn({2, 5})), "GRUCell: input has inconsistent input_size: got 5 expected 3");
  EXPECT_ERROR_EQ(cell->forward(randn({2, 3}), zeros({3, 4})),
                  "GRUCell: Input batch size 2 doesn't match hidden0 batch size 3");
  EXPECT_ERROR_EQ(cell->forward(randn({2, 3}), zeros({2, 5})),
                  "GRUCell: hidden0 has inconsistent hidden_size: got 5, expected 4");
}

}  // namespace
