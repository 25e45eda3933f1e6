// TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and
// Transformer: outputs and every gradient against PyTorch 1.13 (tests/fixtures/transformer/transformer.json,
// written by generate.py there), the layers on viewed inputs, a float64 gradcheck, parameter names,
// clones, batch_first, custom activations and encoders, generate_square_subsequent_mask and errors.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using nlohmann::json;
namespace vt = voxgrad::testing;

const json& fixture() {
  static const json j = vt::load_fixture("transformer/transformer.json");
  return j;
}

Tensor mask_of(const json& inputs, const std::string& name) {
  const json& m = inputs.at(name);
  return m.is_null() ? Tensor() : vt::json_tensor(m.at("tensor"));
}

template <class Options>
Options layer_options(const json& o) {
  return Options(o.at("d_model").get<std::int64_t>(), o.at("nhead").get<std::int64_t>())
      .dim_feedforward(o.at("dim_feedforward").get<std::int64_t>())
      .dropout(0.0)
      .activation(o.at("activation") == "gelu" ? nn::kGELU : nn::kReLU)
      .layer_norm_eps(vt::json_number(o.at("layer_norm_eps")))
      .batch_first(o.at("batch_first").get<bool>())
      .norm_first(o.at("norm_first").get<bool>());
}

nn::AnyModule final_norm(const json& o) {
  if (!o.at("with_norm").get<bool>()) return {};
  return nn::AnyModule(nn::LayerNorm(
      nn::LayerNormOptions({o.at("d_model").get<std::int64_t>()}).eps(vt::json_number(o.at("layer_norm_eps")))));
}

// The module a case describes, and a call of it on the case's inputs (leaves named as in the fixture).
struct Built {
  std::shared_ptr<nn::Module> module;
  std::function<Tensor(const std::map<std::string, Tensor>&, const json&)> call;
};

Built build(const json& c) {
  const json& o = c.at("options");
  const std::string kind = c.at("kind");
  if (kind == "encoder_layer") {
    auto m = std::make_shared<nn::TransformerEncoderLayerImpl>(layer_options<nn::TransformerEncoderLayerOptions>(o));
    return {m, [m](const auto& in, const json& j) {
              return m->forward(in.at("src"), mask_of(j, "src_mask"), mask_of(j, "src_key_padding_mask"));
            }};
  }
  if (kind == "decoder_layer") {
    auto m = std::make_shared<nn::TransformerDecoderLayerImpl>(layer_options<nn::TransformerDecoderLayerOptions>(o));
    return {m, [m](const auto& in, const json& j) {
              return m->forward(in.at("tgt"), in.at("memory"), mask_of(j, "tgt_mask"), mask_of(j, "memory_mask"),
                                mask_of(j, "tgt_key_padding_mask"), mask_of(j, "memory_key_padding_mask"));
            }};
  }
  if (kind == "encoder") {
    auto m = std::make_shared<nn::TransformerEncoderImpl>(
        nn::TransformerEncoderOptions(layer_options<nn::TransformerEncoderLayerOptions>(o),
                                      o.at("num_layers").get<std::int64_t>())
            .norm(final_norm(o)));
    return {m, [m](const auto& in, const json& j) {
              return m->forward(in.at("src"), mask_of(j, "mask"), mask_of(j, "src_key_padding_mask"));
            }};
  }
  if (kind == "decoder") {
    auto m = std::make_shared<nn::TransformerDecoderImpl>(
        nn::TransformerDecoderOptions(layer_options<nn::TransformerDecoderLayerOptions>(o),
                                      o.at("num_layers").get<std::int64_t>())
            .norm(final_norm(o)));
    return {m, [m](const auto& in, const json& j) {
              return m->forward(in.at("tgt"), in.at("memory"), mask_of(j, "tgt_mask"), mask_of(j, "memory_mask"),
                                mask_of(j, "tgt_key_padding_mask"), mask_of(j, "memory_key_padding_mask"));
            }};
  }
  auto m = std::make_shared<nn::TransformerImpl>(nn::TransformerOptions(o.at("d_model").get<std::int64_t>(),
                                                                        o.at("nhead").get<std::int64_t>(),
                                                                        o.at("num_encoder_layers").get<std::int64_t>(),
                                                                        o.at("num_decoder_layers").get<std::int64_t>())
                                                     .dim_feedforward(o.at("dim_feedforward").get<std::int64_t>())
                                                     .dropout(0.0)
                                                     .activation(o.at("activation") == "gelu" ? nn::kGELU : nn::kReLU)
                                                     .layer_norm_eps(vt::json_number(o.at("layer_norm_eps")))
                                                     .batch_first(o.at("batch_first").get<bool>())
                                                     .norm_first(o.at("norm_first").get<bool>()));
  return {m, [m](const auto& in, const json& j) {
            return m->forward(in.at("src"), in.at("tgt"), mask_of(j, "src_mask"), mask_of(j, "tgt_mask"),
                              mask_of(j, "memory_mask"), mask_of(j, "src_key_padding_mask"),
                              mask_of(j, "tgt_key_padding_mask"), mask_of(j, "memory_key_padding_mask"));
          }};
}

TEST(TransformerFixtures, MatchPyTorch) {
  int n = 0;
  for (const json& c : fixture().at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    ++n;
    if (c.at("kind") == "square_mask") {
      const Tensor mask = nn::TransformerImpl::generate_square_subsequent_mask(c.at("options").at("size"));
      vt::expect_bitwise_equal(mask, vt::json_tensor(c.at("outputs").at("out")), "square mask");
      continue;
    }
    const DType dtype = c.at("dtype") == "float32" ? kFloat32 : kFloat64;
    Built b = build(c);
    b.module->to(dtype);
    vt::set_fixture_parameters(*b.module, c);  // PyTorch's names and order, the fixture's values
    std::map<std::string, Tensor> leaves;
    for (const std::string name : {"src", "tgt", "memory"}) {
      if (c.at("inputs").contains(name)) {
        leaves[name] = vt::json_tensor(c.at("inputs").at(name)).requires_grad_(true);
      }
    }
    const Tensor out = b.call(leaves, c.at("inputs"));
    vt::expect_matches_fixture(out, vt::json_tensor(c.at("outputs").at("out")));
    autograd::backward({(out * vt::json_tensor(c.at("upstream").at("out"))).sum()});
    for (const auto& [name, leaf] : leaves) {
      SCOPED_TRACE(name);
      vt::expect_matches_fixture(leaf.grad(), vt::json_tensor(c.at("grads").at(name)));
    }
    vt::expect_fixture_parameter_grads(*b.module, c);
  }
  EXPECT_GE(n, 15);
}

// Transposed, strided, offset and expanded inputs give what their contiguous copies give.
TEST(TransformerLayers, ViewsMatchContiguousCopies) {
  manual_seed(21);
  nn::TransformerEncoderLayer enc(nn::TransformerEncoderLayerOptions(6, 3).dim_feedforward(10).dropout(0.0));
  nn::TransformerDecoderLayer dec(
      nn::TransformerDecoderLayerOptions(6, 3).dim_feedforward(10).dropout(0.0).norm_first(true).activation(nn::kGELU));
  enc->to(kFloat64);
  dec->to(kFloat64);
  const std::vector<std::pair<std::string, Tensor>> views = {
      {"transposed", randn({2, 4, 6}, kFloat64).transpose(0, 1)},
      {"strided", randn({4, 2, 12}, kFloat64).narrow(2, 0, 11).narrow(2, 1, 6)},
      {"offset", randn({6, 2, 6}, kFloat64).narrow(0, 2, 4)},
      {"expanded", randn({4, 1, 6}, kFloat64).expand({4, 2, 6})},
      {"permuted", randn({6, 2, 4}, kFloat64).permute({2, 1, 0})},
  };
  const Tensor memory = randn({3, 2, 6}, kFloat64);
  const Tensor causal = nn::TransformerImpl::generate_square_subsequent_mask(4, kFloat64);
  for (const auto& [name, x] : views) {
    SCOPED_TRACE(name);
    const Tensor copy = x.contiguous();
    vt::expect_close(enc(x), enc(copy), 1e-14, 1e-14);
    vt::expect_close(dec->forward(x, memory.transpose(0, 1).contiguous().transpose(0, 1), causal),
                     dec->forward(copy, memory, causal), 1e-14, 1e-14);
    vt::expect_close(dec->forward(copy, x.narrow(0, 0, 3), causal), dec->forward(copy, copy.narrow(0, 0, 3), causal),
                     1e-14, 1e-14);
  }
}

TEST(TransformerLayers, Gradcheck) {
  manual_seed(22);
  nn::TransformerEncoderLayer enc(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(6).dropout(0.0));
  nn::TransformerDecoderLayer dec(
      nn::TransformerDecoderLayerOptions(4, 2).dim_feedforward(5).dropout(0.0).norm_first(true).activation(nn::kGELU));
  enc->to(kFloat64);
  dec->to(kFloat64);
  const Tensor src = vt::uniform_leaf({3, 2, 4}, -1, 1, 1), memory = vt::uniform_leaf({2, 2, 4}, -1, 1, 2);
  const Tensor mask = vt::f64({0, -1, 0, 0.5, 0, 0, 0, -2, 0}, {3, 3});
  std::vector<Tensor> inputs = {src, memory};
  for (const Tensor& p : enc->parameters()) inputs.push_back(p);
  for (const Tensor& p : dec->parameters()) inputs.push_back(p);
  vt::expect_gradcheck(
      [&](const std::vector<Tensor>& in) { return dec->forward(enc->forward(in[0], mask), in[1], mask); }, inputs);
  vt::expect_gradgradcheck([&](const std::vector<Tensor>& in) { return enc->forward(in[0], mask); }, {src});
}

TEST(TransformerModules, NamesClonesBatchFirstAndActivation) {
  manual_seed(23);
  nn::TransformerEncoder encoder(
      nn::TransformerEncoderOptions(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(8).dropout(0.0), 2)
          .norm(nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions({4})))));
  EXPECT_EQ(encoder->layers->size(), 2u);
  const auto params = encoder->named_parameters();
  EXPECT_EQ(params.front().first, "layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(params.back().first, "norm.bias");
  EXPECT_EQ(params.size(), 2 * 12 + 2u);
  // The layers are clones of one layer: equal values, separate tensors.
  const Tensor w0 = encoder->layers->at<nn::TransformerEncoderLayer>(0)->linear1->weight;
  const Tensor w1 = encoder->layers->at<nn::TransformerEncoderLayer>(1)->linear1->weight;
  vt::expect_bitwise_equal(w0, w1, "layer clones");
  EXPECT_FALSE(w0.is_same(w1));
  {
    NoGradGuard g;
    encoder->norm.ptr()->parameters()[0].fill_(1.5);  // the clone must copy this, not re-initialise it
  }
  auto copy = std::dynamic_pointer_cast<nn::TransformerEncoderImpl>(encoder->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_FALSE(copy->layers->at<nn::TransformerEncoderLayer>(0)->linear1->weight.is_same(w0));
  EXPECT_FALSE(copy->norm.ptr()->parameters()[0].is_same(encoder->norm.ptr()->parameters()[0]));
  // A clone computes what the original computes (its members point at its own children).
  const Tensor x = randn({3, 2, 4});
  vt::expect_bitwise_equal(copy->forward(x), encoder->forward(x), "clone");

  // batch_first: the same values with batch and sequence swapped.
  nn::TransformerEncoderLayer seq(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(8).dropout(0.0));
  nn::TransformerEncoderLayer bf(
      nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(8).dropout(0.0).batch_first(true));
  {
    NoGradGuard g;
    const auto from = seq->parameters();
    const auto to = bf->parameters();
    for (std::size_t i = 0; i < to.size(); ++i) {
      Tensor t = to[i];
      t.copy_(from[i]);
    }
  }
  vt::expect_bitwise_equal(bf(x.transpose(0, 1)), seq(x).transpose(0, 1), "batch_first");
  // A function as the activation: the same as kGELU when it is gelu.
  nn::TransformerEncoderLayer by_fn(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(8).dropout(0.0).activation(
      std::function<Tensor(const Tensor&)>([](const Tensor& t) { return nn::functional::gelu(t); })));
  nn::TransformerEncoderLayer by_name(
      nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(8).dropout(0.0).activation(nn::kGELU));
  {
    NoGradGuard g;
    const auto from = by_name->parameters();
    const auto to = by_fn->parameters();
    for (std::size_t i = 0; i < to.size(); ++i) {
      Tensor t = to[i];
      t.copy_(from[i]);
    }
  }
  vt::expect_bitwise_equal(by_fn(x), by_name(x), "activation function");
  // Dropout acts in training mode only.
  nn::TransformerEncoderLayer drop(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(8).dropout(0.5));
  drop->eval();
  vt::expect_bitwise_equal(drop(x), drop(x), "eval is deterministic");
  drop->train();
  EXPECT_FALSE(vt::bit_identical(drop(x), drop(x)));
}

// A user's encoder with the signature Transformer calls: 2·src. Its forward hides Module's single-tensor one
// on purpose (docs/porting-from-pytorch.md), so clang's -Woverloaded-virtual is silenced for it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
struct DoublingEncoderImpl : nn::Cloneable<DoublingEncoderImpl> {
  void reset() override {}
  Tensor forward(const Tensor& src, const Tensor&, const Tensor&) { return src * 2.0; }
};
#pragma GCC diagnostic pop
VOXGRAD_MODULE(DoublingEncoder);

TEST(TransformerModules, TransformerInitialisationCustomEncoderAndMask) {
  manual_seed(24);
  nn::Transformer model(nn::TransformerOptions(8, 2, 1, 1).dim_feedforward(16).dropout(0.0));
  const auto params = model->named_parameters();
  EXPECT_EQ(params.front().first, "encoder.layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(params.back().first, "decoder.norm.bias");
  // xavier_uniform_ on every matrix: linear1.weight (16, 8) within √(6 / 24).
  const Tensor w =
      model->encoder.ptr<nn::TransformerEncoderImpl>()->layers->at<nn::TransformerEncoderLayer>(0)->linear1->weight;
  EXPECT_LE(vt::values(w.abs().max())[0], std::sqrt(6.0 / 24.0));
  EXPECT_GT(vt::values(w.abs().max())[0], 0.4);  // above Linear's own bound 1/√8 ≈ 0.354
  const Tensor src = randn({5, 2, 8}), tgt = randn({3, 2, 8});
  const Tensor mask = nn::TransformerImpl::generate_square_subsequent_mask(3);
  const Tensor y = model(src, tgt, Tensor(), mask);
  EXPECT_EQ(y.sizes(), Shape({3, 2, 8}));
  // The causal mask: a change to the last target position leaves the first positions' outputs alone.
  Tensor tgt2 = tgt.clone();
  {
    NoGradGuard g;
    tgt2.select(0, 2).fill_(5.0);
  }
  vt::expect_bitwise_equal(model(src, tgt2, Tensor(), mask).narrow(0, 0, 2), y.narrow(0, 0, 2), "causal");
  // A custom encoder of the user's own type is cloned and called with (src, mask, key padding mask).
  nn::Transformer with_custom(nn::TransformerOptions(8, 2, 1, 1)
                                  .dim_feedforward(16)
                                  .dropout(0.0)
                                  .custom_encoder(nn::AnyModule(DoublingEncoder())));
  for (const auto& [name, p] : with_custom->named_parameters()) EXPECT_EQ(name.rfind("encoder.", 0), std::string::npos);
  const Tensor expected = with_custom->decoder.forward(tgt, src * 2.0, mask, Tensor(), Tensor(), Tensor());
  vt::expect_bitwise_equal(with_custom(src, tgt, Tensor(), mask), expected, "custom encoder");

  // Forward hooks run on the encoder, the layers and their attention, as PyTorch's calls do.
  int calls = 0;
  model->encoder.ptr()->register_forward_hook([&](nn::Module&, const nn::AnyValues&, const nn::AnyValue&) { ++calls; });
  auto layer = model->decoder.ptr<nn::TransformerDecoderImpl>()->layers->at<nn::TransformerDecoderLayer>(0);
  layer->self_attn->register_forward_hook([&](nn::Module&, const nn::AnyValues&, const nn::AnyValue&) { ++calls; });
  model(src, tgt);
  EXPECT_EQ(calls, 2);
  // AnyModule reaches the decoder's forward with all six tensors.
  nn::AnyModule any_decoder(model->decoder.ptr<nn::TransformerDecoderImpl>());
  EXPECT_EQ(any_decoder.forward(tgt, src, mask, Tensor(), Tensor(), Tensor()).sizes(), Shape({3, 2, 8}));
  // A clone computes what the original computes; to(float64) converts every parameter of the clone only.
  auto copy = std::dynamic_pointer_cast<nn::TransformerImpl>(model->clone());
  ASSERT_NE(copy, nullptr);
  vt::expect_bitwise_equal(copy->forward(src, tgt, Tensor(), mask), y, "clone");
  copy->to(kFloat64);
  EXPECT_EQ(copy->forward(src.to(kFloat64), tgt.to(kFloat64)).dtype(), kFloat64);
  EXPECT_EQ(model->named_parameters().front().second.dtype(), kFloat32);
  // generate_square_subsequent_mask: 0 on and below the diagonal, −inf above; float32 unless asked.
  const Tensor m = nn::TransformerImpl::generate_square_subsequent_mask(3, kFloat64);
  EXPECT_EQ(m.dtype(), kFloat64);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(vt::values(m), (std::vector<double>{0, -inf, -inf, 0, 0, -inf, 0, 0, 0}));
  EXPECT_EQ(nn::TransformerImpl::generate_square_subsequent_mask(0).numel(), 0);
}

TEST(TransformerModules, Errors) {
  EXPECT_ERROR_EQ(nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(6, 4)),
                  "TransformerEncoderLayer: d_model must be divisible by nhead (got d_model=6, nhead=4)");
  EXPECT_ERROR_EQ(nn::TransformerDecoderLayer(nn::TransformerDecoderLayerOptions(4, 2).dropout(1.5)),
                  "TransformerDecoderLayer: dropout must be a probability in [0, 1], but got 1.5");
  EXPECT_ERROR_EQ(nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(0)),
                  "TransformerEncoderLayer: dim_feedforward must be positive, but got 0");
  EXPECT_ERROR_EQ(nn::TransformerEncoderLayer(
                      nn::TransformerEncoderLayerOptions(4, 2).activation(std::function<Tensor(const Tensor&)>())),
                  "TransformerEncoderLayer: the activation is an empty std::function");
  EXPECT_ERROR_EQ(nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(4, 2).activation(nn::kTanh)),
                  "TransformerEncoderLayer: activation should be kReLU or kGELU (or a function), not kTanh");
  EXPECT_ERROR_EQ(nn::TransformerEncoder(nn::TransformerEncoderLayer(nullptr), 2),
                  "TransformerEncoder: the layer to copy is an empty holder");
  EXPECT_ERROR_EQ(nn::TransformerDecoder(nn::TransformerDecoderOptions(nn::TransformerDecoderLayerOptions(4, 2), -1)),
                  "TransformerDecoder: num_layers must be non-negative, but got -1");
  nn::Transformer model(nn::TransformerOptions(4, 2, 1, 1).dim_feedforward(8));
  EXPECT_ERROR_EQ(model(randn({3, 2, 4}), randn({3, 1, 4})),
                  "Transformer: the batch number of src and tgt must be equal (src [3, 2, 4], tgt [3, 1, 4], "
                  "batch_first=false)");
  EXPECT_ERROR_EQ(model(randn({3, 2, 4}), randn({3, 2, 5})),
                  "Transformer: the feature number of src and tgt must be equal to d_model 4 (src [3, 2, 4], tgt "
                  "[3, 2, 5])");
  EXPECT_ERROR_EQ(nn::TransformerImpl::generate_square_subsequent_mask(-1),
                  "Transformer::generate_square_subsequent_mask: sz must be non-negative, but got -1");
  EXPECT_ERROR_EQ(nn::Transformer(nn::TransformerOptions(4, 2, -1, 1)),
                  "Transformer: num_encoder_layers and num_decoder_layers must be non-negative (got -1 and 1)");
  nn::TransformerEncoderLayer layer(4, 2);
  EXPECT_ERROR_EQ(layer(randn({3, 2, 4}), zeros({3, 3}, kFloat64)),
                  "multi_head_attention_forward: expected attn_mask to be an int64 0/1 mask or a float mask of the "
                  "query's dtype float32, but got float64");
  EXPECT_ERROR_EQ(layer(randn({3, 2, 5})),
                  "TransformerEncoderLayer: expected src of shape (seq, batch, 4), (batch, seq, 4) or (seq, 4), but "
                  "got [3, 2, 5]");
  nn::TransformerDecoderLayer dec(4, 2);
  EXPECT_ERROR_EQ(dec(randn({3, 2, 4}), randn({5, 3, 4})),
                  "TransformerDecoderLayer: expected memory with tgt's rank and batch size, but got tgt [3, 2, 4] and "
                  "memory [5, 3, 4] (batch_first=false)");
  EXPECT_ERROR_EQ(dec(randn({3, 2, 4}), Tensor()), "TransformerDecoderLayer: memory is an undefined tensor");
}

}  // namespace
