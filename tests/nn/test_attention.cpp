// nn::MultiheadAttention and F::multi_head_attention_forward: outputs, attention weights and every
// gradient against PyTorch 1.13 (tests/fixtures/attention/attention.json, the "mha" cases of generate.py
// there), a naive per-head reference on viewed inputs, float64 gradcheck and gradgradcheck, masks,
// static keys, dropout, batch_first, the module's parameters and initialisation, and error messages.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
using nlohmann::json;
namespace vt = voxgrad::testing;
namespace F = voxgrad::nn::functional;

const json& fixture() {
  static const json j = vt::load_fixture("attention/attention.json");
  return j;
}

Tensor mask_of(const json& m) { return m.is_null() ? Tensor() : vt::json_tensor(m.at("tensor")); }

nn::MultiheadAttention module_of(const json& o, DType dtype) {
  nn::MultiheadAttentionOptions options(o.at("embed_dim").get<std::int64_t>(), o.at("num_heads").get<std::int64_t>());
  options.bias(o.at("bias").get<bool>())
      .add_bias_kv(o.at("add_bias_kv").get<bool>())
      .add_zero_attn(o.at("add_zero_attn").get<bool>())
      .batch_first(o.at("batch_first").get<bool>());
  if (!o.at("kdim").is_null()) options.kdim(o.at("kdim").get<std::int64_t>());
  if (!o.at("vdim").is_null()) options.vdim(o.at("vdim").get<std::int64_t>());
  nn::MultiheadAttention m(options);
  m->to(dtype);
  return m;
}

TEST(MultiheadAttentionFixtures, MatchPyTorch) {
  int n = 0;
  for (const json& c : fixture().at("cases")) {
    if (c.at("kind") != "mha") continue;
    ++n;
    SCOPED_TRACE(c.at("name").get<std::string>());
    const json& o = c.at("options");
    const DType dtype = c.at("dtype") == "float32" ? kFloat32 : kFloat64;
    nn::MultiheadAttention m = module_of(o, dtype);
    vt::set_fixture_parameters(*m, c);  // PyTorch's names and order, the fixture's values
    const std::string call = o.at("call");
    const Tensor query = vt::json_tensor(c.at("inputs").at("query")).requires_grad_(true);
    const Tensor key = call == "self" ? query : vt::json_tensor(c.at("inputs").at("key")).requires_grad_(true);
    const Tensor value = call == "separate" ? vt::json_tensor(c.at("inputs").at("value")).requires_grad_(true) : key;
    auto [out, weights] =
        m(query, key, value, mask_of(c.at("inputs").at("key_padding_mask")), o.at("need_weights").get<bool>(),
          mask_of(c.at("inputs").at("attn_mask")), o.at("average_attn_weights").get<bool>());
    vt::expect_matches_fixture(out, vt::json_tensor(c.at("outputs").at("out")));
    Tensor loss = (out * vt::json_tensor(c.at("upstream").at("out"))).sum();
    if (c.at("outputs").at("weights").is_null()) {
      EXPECT_FALSE(weights.defined());
    } else {
      vt::expect_matches_fixture(weights, vt::json_tensor(c.at("outputs").at("weights")));
      loss = loss + (weights * vt::json_tensor(c.at("upstream").at("weights"))).sum();
    }
    autograd::backward({loss});
    vt::expect_matches_fixture(query.grad(), vt::json_tensor(c.at("grads").at("query")));
    vt::expect_matches_fixture(key.grad(), vt::json_tensor(c.at("grads").at("key")));
    vt::expect_matches_fixture(value.grad(), vt::json_tensor(c.at("grads").at("value")));
    vt::expect_fixture_parameter_grads(*m, c);
  }
  EXPECT_GE(n, 24);
}

// The attention a naive loop computes, in double: query (L, N, E), key and value (S, N, E), the packed
// projection, an optional float (L, S) mask and int64 (N, S) key padding mask, bias_k/bias_v, a zero
// position. Returns the output (L, N, E) and the weights averaged over the heads (N, L, S′).
struct Reference {
  Tensor out, weights;
};

Reference naive_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& w_in,
                          const Tensor& b_in, const Tensor& wo, const Tensor& bo, std::int64_t heads,
                          const Tensor& attn_mask, const Tensor& kpm, const Tensor& bias_k, const Tensor& bias_v,
                          bool zero_attn) {
  const std::int64_t L = q_in.size(0), N = q_in.size(1), E = q_in.size(2), S = k_in.size(0);
  const std::int64_t hd = E / heads;
  const std::int64_t S2 = S + (bias_k.defined() ? 1 : 0) + (zero_attn ? 1 : 0);
  const auto at = [](const std::vector<double>& v, std::int64_t i) { return v[static_cast<std::size_t>(i)]; };
  const std::vector<double> q = vt::values(q_in), k = vt::values(k_in), v = vt::values(v_in), w = vt::values(w_in),
                            b = vt::values(b_in), pwo = vt::values(wo), pbo = vt::values(bo);
  const std::vector<double> am = attn_mask.defined() ? vt::values(attn_mask) : std::vector<double>();
  const std::vector<double> kp = kpm.defined() ? vt::values(kpm) : std::vector<double>();
  const std::vector<double> bk = bias_k.defined() ? vt::values(bias_k) : std::vector<double>();
  const std::vector<double> bv = bias_v.defined() ? vt::values(bias_v) : std::vector<double>();
  std::vector<double> out(static_cast<std::size_t>(L * N * E)), avg(static_cast<std::size_t>(N * L * S2), 0.0);
  for (std::int64_t n = 0; n < N; ++n) {
    // Projections: Q (L, E), K and V (S2, E) with the extra positions.
    std::vector<double> Q(static_cast<std::size_t>(L * E)), K(static_cast<std::size_t>(S2 * E), 0.0),
        V(static_cast<std::size_t>(S2 * E), 0.0);
    const auto proj = [&](const std::vector<double>& x, std::int64_t row, std::int64_t part, std::int64_t e) {
      double s = at(b, part * E + e);
      for (std::int64_t j = 0; j < E; ++j) s += at(w, (part * E + e) * E + j) * at(x, (row * N + n) * E + j);
      return s;
    };
    for (std::int64_t e = 0; e < E; ++e) {
      for (std::int64_t l = 0; l < L; ++l) Q[static_cast<std::size_t>(l * E + e)] = proj(q, l, 0, e);
      for (std::int64_t s = 0; s < S; ++s) {
        K[static_cast<std::size_t>(s * E + e)] = proj(k, s, 1, e);
        V[static_cast<std::size_t>(s * E + e)] = proj(v, s, 2, e);
      }
      if (bias_k.defined()) {
        K[static_cast<std::size_t>(S * E + e)] = at(bk, e);
        V[static_cast<std::size_t>(S * E + e)] = at(bv, e);
      }
    }
    std::vector<double> O(static_cast<std::size_t>(L * E), 0.0);
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t l = 0; l < L; ++l) {
        std::vector<double> score(static_cast<std::size_t>(S2));
        double mx = -std::numeric_limits<double>::infinity();
        for (std::int64_t s = 0; s < S2; ++s) {
          double d = 0;
          for (std::int64_t j = 0; j < hd; ++j) {
            d += Q[static_cast<std::size_t>(l * E + h * hd + j)] / std::sqrt(static_cast<double>(hd)) *
                 K[static_cast<std::size_t>(s * E + h * hd + j)];
          }
          if (s < S && attn_mask.defined()) d += at(am, l * S + s);
          if (s < S && kpm.defined() && at(kp, n * S + s) != 0) d = -std::numeric_limits<double>::infinity();
          score[static_cast<std::size_t>(s)] = d;
          mx = std::max(mx, d);
        }
        double z = 0;
        for (double& x : score) z += (x = std::exp(x - mx));
        for (std::int64_t s = 0; s < S2; ++s) {
          const double p = score[static_cast<std::size_t>(s)] / z;
          avg[static_cast<std::size_t>((n * L + l) * S2 + s)] += p / static_cast<double>(heads);
          for (std::int64_t j = 0; j < hd; ++j) {
            O[static_cast<std::size_t>(l * E + h * hd + j)] += p * V[static_cast<std::size_t>(s * E + h * hd + j)];
          }
        }
      }
    }
    for (std::int64_t l = 0; l < L; ++l) {
      for (std::int64_t e = 0; e < E; ++e) {
        double s = at(pbo, e);
        for (std::int64_t j = 0; j < E; ++j) s += at(pwo, e * E + j) * O[static_cast<std::size_t>(l * E + j)];
        out[static_cast<std::size_t>((l * N + n) * E + e)] = s;
      }
    }
  }
  return {tensor(out, kFloat64).reshape({L, N, E}), tensor(avg, kFloat64).reshape({N, L, S2})};
}

// Query, key and value passed as transposed, strided, offset and expanded views give the naive loop's
// values (the views' values are what the loop reads).
TEST(MultiheadAttention, NaiveReferenceOnViews) {
  manual_seed(11);
  const std::int64_t L = 3, N = 2, E = 6, S = 4, H = 3;
  const Tensor w = randn({3 * E, E}, kFloat64) * 0.5, b = randn({3 * E}, kFloat64) * 0.5;
  const Tensor wo = randn({E, E}, kFloat64) * 0.5, bo = randn({E}, kFloat64) * 0.5;
  const Tensor bias_k = randn({1, 1, E}, kFloat64), bias_v = randn({1, 1, E}, kFloat64);
  const Tensor mask = randn({L, S}, kFloat64);
  const Tensor kpm = tensor(std::vector<double>{0, 1, 0, 0, 1, 0, 0, 1}, kInt64).reshape({N, S});
  const std::vector<std::pair<std::string, std::vector<Tensor>>> inputs = {
      {"contiguous", {randn({L, N, E}, kFloat64), randn({S, N, E}, kFloat64), randn({S, N, E}, kFloat64)}},
      {"batch-first transposed",
       {randn({N, L, E}, kFloat64).transpose(0, 1), randn({N, S, E}, kFloat64).transpose(0, 1),
        randn({N, S, E}, kFloat64).transpose(0, 1)}},
      {"strided and offset",
       {randn({L, N, 2 * E}, kFloat64).narrow(2, 1, E * 2 - 1).narrow(2, 0, E),
        randn({S + 2, N, E}, kFloat64).narrow(0, 2, S), randn({S, N, E, 2}, kFloat64).select(3, 1)}},
      {"expanded",
       {randn({L, 1, E}, kFloat64).expand({L, N, E}), randn({S, N, E}, kFloat64),
        randn({1, N, E}, kFloat64).expand({S, N, E})}},
  };
  for (const auto& [name, qkv] : inputs) {
    for (int variant = 0; variant < 4; ++variant) {
      SCOPED_TRACE(name + ", variant " + std::to_string(variant));
      const bool with_masks = variant & 1, with_extra = variant & 2;
      auto options = F::MultiheadAttentionForwardFuncOptions(E, H, w, b, with_extra ? bias_k : Tensor(),
                                                             with_extra ? bias_v : Tensor(), with_extra, 0.0, wo, bo);
      if (with_masks) options.attn_mask(mask).key_padding_mask(kpm);
      auto [out, weights] = F::multi_head_attention_forward(qkv[0], qkv[1], qkv[2], options);
      const Reference ref = naive_attention(qkv[0], qkv[1], qkv[2], w, b, wo, bo, H, with_masks ? mask : Tensor(),
                                            with_masks ? kpm : Tensor(), with_extra ? bias_k : Tensor(),
                                            with_extra ? bias_v : Tensor(), with_extra);
      vt::expect_close(out, ref.out, 1e-12, 1e-12);
      vt::expect_close(weights, ref.weights, 1e-12, 1e-12);
    }
  }
}

TEST(MultiheadAttention, GradcheckAndGradgradcheck) {
  const std::int64_t E = 4, H = 2;
  const Tensor q = vt::uniform_leaf({3, 2, E}, -1, 1, 1), k = vt::uniform_leaf({2, 2, E}, -1, 1, 2),
               v = vt::uniform_leaf({2, 2, E}, -1, 1, 3), w = vt::uniform_leaf({3 * E, E}, -0.5, 0.5, 4),
               b = vt::uniform_leaf({3 * E}, -0.5, 0.5, 5), wo = vt::uniform_leaf({E, E}, -0.5, 0.5, 6),
               bo = vt::uniform_leaf({E}, -0.5, 0.5, 7), bk = vt::uniform_leaf({1, 1, E}, -1, 1, 8),
               bv = vt::uniform_leaf({1, 1, E}, -1, 1, 9);
  const Tensor mask = vt::f64({0, -1, 0.5, 0, 0, -2}, {3, 2});
  const Tensor kpm = tensor(std::vector<double>{0, 1, 0, 0, 0, 1}, kInt64).reshape({2, 3});
  // Every input and parameter, with bias_k/bias_v, a zero position and both masks; the weights enter too.
  const auto fn = [&](const std::vector<Tensor>& in) {
    auto options = F::MultiheadAttentionForwardFuncOptions(E, H, in[3], in[4], in[7], in[8], true, 0.0, in[5], in[6])
                       .attn_mask(mask.narrow(1, 0, 2))
                       .key_padding_mask(kpm.narrow(1, 0, 2));
    auto [out, weights] = F::multi_head_attention_forward(in[0], in[1], in[2], options);
    return cat({out.flatten(), weights.flatten()});
  };
  vt::expect_gradcheck(fn, {q, k, v, w, b, wo, bo, bk, bv});
  vt::expect_gradgradcheck(fn, {q, k, v, w, b, wo, bo, bk, bv});
  // Self-attention (one product for q, k and v), per-head weights, no biases.
  const auto self = [&](const std::vector<Tensor>& in) {
    auto options =
        F::MultiheadAttentionForwardFuncOptions(E, H, in[1], Tensor(), Tensor(), Tensor(), false, 0.0, in[2], Tensor())
            .average_attn_weights(false);
    auto [out, weights] = F::multi_head_attention_forward(in[0], in[0], in[0], options);
    return cat({out.flatten(), weights.flatten()});
  };
  vt::expect_gradcheck(self, {q, w, wo});
  vt::expect_gradgradcheck(self, {q, w, wo});
}

TEST(MultiheadAttention, MasksAsPyTorchCombinesThem) {
  manual_seed(5);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(4, 2));
  m->to(kFloat64);
  const Tensor x = randn({3, 2, 4}, kFloat64);
  const Tensor bool_mask = tensor(std::vector<double>{0, 1, 0, 0, 0, 1, 1, 0, 0}, kInt64).reshape({3, 3});
  const Tensor float_mask = masked_fill(zeros({3, 3}, kFloat64), bool_mask, -vt::kInf);
  const Tensor kpm = tensor(std::vector<double>{0, 0, 1, 1, 0, 0}, kInt64).reshape({2, 3});
  // An int64 0/1 mask is PyTorch's bool mask: the same as its float −inf form.
  const auto [a, wa] = m->forward(x, x, x, {}, true, bool_mask);
  const auto [b, wb] = m->forward(x, x, x, {}, true, float_mask);
  vt::expect_bitwise_equal(a, b, "int64 mask = float −inf mask");
  // Masked positions get weight 0; the weights of each query sum to 1.
  const Tensor w = std::get<1>(m->forward(x, x, x, kpm, true, bool_mask));
  const std::vector<double> wv = vt::values(w);
  const std::vector<double> kv = vt::values(kpm), mv = vt::values(bool_mask);
  for (std::int64_t n = 0; n < 2; ++n) {
    for (std::int64_t l = 0; l < 3; ++l) {
      double sum = 0;
      for (std::int64_t s = 0; s < 3; ++s) {
        const double p = wv[static_cast<std::size_t>((n * 3 + l) * 3 + s)];
        sum += p;
        if (kv[static_cast<std::size_t>(n * 3 + s)] != 0 || mv[static_cast<std::size_t>(l * 3 + s)] != 0) {
          EXPECT_EQ(p, 0.0);
        }
      }
      EXPECT_NEAR(sum, 1.0, 1e-15);
    }
  }
  // A float key padding mask is added to the scores.
  const Tensor fkpm = vt::f64({0, -0.5, 1, 0, 0, -vt::kInf}, {2, 3});
  const auto [c, wc] = m->forward(x, x, x, fkpm, true, float_mask);
  const Tensor added = float_mask.unsqueeze(0) + fkpm.view({2, 1, 1, 3}).expand({2, 2, 1, 3}).reshape({4, 1, 3});
  const auto [d, wd] = m->forward(x, x, x, {}, true, added);
  vt::expect_close(c, d, 0.0);
}

TEST(MultiheadAttention, StaticKeysAndValues) {
  manual_seed(6);
  const std::int64_t E = 4, H = 2;
  const Tensor q = randn({3, 2, E}, kFloat64);
  const Tensor w = randn({3 * E, E}, kFloat64), b = randn({3 * E}, kFloat64), wo = randn({E, E}, kFloat64);
  const Tensor sk = randn({2 * H, 5, E / H}, kFloat64), sv = randn({2 * H, 5, E / H}, kFloat64);
  // static_k/static_v replace the projected keys and values; key and value only give S and N.
  const Tensor dummy = zeros({5, 2, E}, kFloat64);
  auto opts = F::MultiheadAttentionForwardFuncOptions(E, H, w, b, {}, {}, false, 0.0, wo, {}).static_k(sk).static_v(sv);
  const auto [out, weights] = F::multi_head_attention_forward(q, dummy, dummy, opts);
  // By hand: softmax((q·W_qᵀ + b_q) / √hd · static_kᵀ) · static_v per head.
  const Tensor qp = F::linear(q, w.narrow(0, 0, E), b.narrow(0, 0, E)).reshape({3, 2 * H, E / H}).transpose(0, 1);
  const Tensor p = softmax(bmm(qp / std::sqrt(2.0), sk.transpose(1, 2)), -1);
  const Tensor o = F::linear(bmm(p, sv).transpose(0, 1).reshape({3, 2, E}), wo);
  vt::expect_close(out, o, 1e-13, 1e-13);
  vt::expect_close(weights, p.view({2, H, 3, 5}).mean({1}), 1e-15, 1e-13);
}

// Empty target, batch or source: outputs of the right (empty) shapes, as PyTorch's; with no source
// positions the softmax rows are empty and the output is the output projection's bias.
TEST(MultiheadAttention, EmptySequencesAndBatches) {
  manual_seed(8);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(4, 2));
  m->to(kFloat64);
  {
    NoGradGuard g;
    m->out_proj->bias.copy_(vt::f64({1, 2, 3, 4}));
  }
  const auto [a, wa] = m->forward(randn({0, 2, 4}, kFloat64), randn({3, 2, 4}, kFloat64), randn({3, 2, 4}, kFloat64));
  EXPECT_EQ(a.sizes(), Shape({0, 2, 4}));
  EXPECT_EQ(wa.sizes(), Shape({2, 0, 3}));
  const auto [b, wb] = m->forward(randn({3, 0, 4}, kFloat64), randn({5, 0, 4}, kFloat64), randn({5, 0, 4}, kFloat64));
  EXPECT_EQ(b.sizes(), Shape({3, 0, 4}));
  EXPECT_EQ(wb.sizes(), Shape({0, 3, 5}));
  const Tensor q = randn({3, 2, 4}, kFloat64).requires_grad_(true);
  const auto [c, wc] = m->forward(q, randn({0, 2, 4}, kFloat64), randn({0, 2, 4}, kFloat64));
  EXPECT_EQ(wc.sizes(), Shape({2, 3, 0}));
  vt::expect_close(c, vt::f64({1, 2, 3, 4}, {1, 1, 4}).expand({3, 2, 4}), 0.0);
  autograd::backward({c.sum()});
  vt::expect_close(q.grad(), zeros({3, 2, 4}, kFloat64), 0.0);
}

TEST(MultiheadAttentionModule, ParametersInitialisationBatchFirstAndDropout) {
  manual_seed(2);
  nn::MultiheadAttention same(nn::MultiheadAttentionOptions(8, 2).add_bias_kv(true));
  std::vector<std::string> names;
  for (const auto& [name, p] : same->named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj.weight",
                                             "out_proj.bias"}));
  EXPECT_EQ(same->head_dim, 4);
  vt::expect_close(same->in_proj_bias, zeros({24}), 0.0);
  vt::expect_close(same->out_proj->bias, zeros({8}), 0.0);
  const double bound = std::sqrt(6.0 / (8 + 24));  // xavier_uniform_ of (24, 8)
  EXPECT_LE(vt::values(same->in_proj_weight.abs().max())[0], bound);
  EXPECT_GT(vt::values(same->in_proj_weight.abs().max())[0], 0.8 * bound);
  nn::MultiheadAttention cross(nn::MultiheadAttentionOptions(8, 4).kdim(3).vdim(5).bias(false));
  names.clear();
  for (const auto& [name, p] : cross->named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj.weight"}));
  EXPECT_EQ(cross->k_proj_weight.sizes(), Shape({8, 3}));
  EXPECT_EQ(cross->v_proj_weight.sizes(), Shape({8, 5}));
  EXPECT_FALSE(cross->in_proj_weight.defined());

  // batch_first: (N, seq, E) in and out, the same values as the sequence-first layout.
  nn::MultiheadAttention seq(nn::MultiheadAttentionOptions(8, 2));
  nn::MultiheadAttention bf(nn::MultiheadAttentionOptions(8, 2).batch_first(true));
  {
    NoGradGuard g;
    const auto from = seq->named_parameters();
    const auto to = bf->named_parameters();
    ASSERT_EQ(from.size(), to.size());
    for (std::size_t i = 0; i < to.size(); ++i) {
      Tensor t = to[i].second;
      t.copy_(from[i].second);
    }
  }
  const Tensor x = randn({2, 5, 8});
  const auto [y_bf, w_bf] = bf(x, x, x);
  const Tensor xt = x.transpose(0, 1);
  const auto [y_seq, w_seq] = seq(xt, xt, xt);
  EXPECT_EQ(y_bf.sizes(), Shape({2, 5, 8}));
  vt::expect_bitwise_equal(y_bf, y_seq.transpose(0, 1), "batch_first output");
  vt::expect_bitwise_equal(w_bf, w_seq, "batch_first weights");

  // Dropout on the weights in training mode only; the returned weights are the dropped ones.
  nn::MultiheadAttention drop(nn::MultiheadAttentionOptions(8, 2).dropout(0.5));
  const auto [y_train, w_train] = drop->forward(xt, xt, xt, {}, true, {}, false);
  drop->eval();
  const auto [y_eval, w_eval] = drop->forward(xt, xt, xt, {}, true, {}, false);
  const std::vector<double> wt = vt::values(w_train), we = vt::values(w_eval);
  EXPECT_EQ(std::count(we.begin(), we.end(), 0.0), 0);
  for (const double s : vt::values(w_eval.sum(-1))) EXPECT_NEAR(s, 1.0, 1e-6);
  // Each training weight is dropped (0) or the eval weight scaled by 1 / (1 − p) = 2.
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < wt.size(); ++i) {
    if (wt[i] == 0.0) {
      ++dropped;
    } else {
      EXPECT_NEAR(wt[i], 2.0 * we[i], 1e-6) << "at " << i;
    }
  }
  EXPECT_GT(dropped, wt.size() / 5);
  EXPECT_LT(dropped, 4 * wt.size() / 5);
  // A clone owns its parameters.
  auto copy = std::dynamic_pointer_cast<nn::MultiheadAttentionImpl>(same->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_FALSE(copy->in_proj_weight.is_same(same->in_proj_weight));
  EXPECT_FALSE(copy->out_proj->weight.is_same(same->out_proj->weight));
  vt::expect_bitwise_equal(copy->bias_k, same->bias_k, "clone's bias_k");
}

TEST(MultiheadAttention, Errors) {
  const Tensor x = randn({3, 2, 4}, kFloat64);
  const Tensor w = randn({12, 4}, kFloat64), wo = randn({4, 4}, kFloat64);
  const auto opts = [&] { return F::MultiheadAttentionForwardFuncOptions(4, 2, w, {}, {}, {}, false, 0.0, wo, {}); };
  const auto call = [&](const Tensor& q, const Tensor& k, const Tensor& v,
                        const F::MultiheadAttentionForwardFuncOptions& o) {
    return F::multi_head_attention_forward(q, k, v, o);
  };
  const std::string op = "multi_head_attention_forward: ";
  EXPECT_ERROR_EQ(call(x.flatten(), x, x, opts()),
                  op + "query should be an unbatched 2-D or batched 3-D tensor, but got a 1-D query of shape [24]");
  EXPECT_ERROR_EQ(
      call(x, x.select(1, 0), x, opts()),
      op + "for a batched (3-D) query, expected key and value to be 3-D, but got shapes [3, 4] and [3, 2, 4]");
  EXPECT_ERROR_EQ(call(x, x, x, F::MultiheadAttentionForwardFuncOptions(5, 2, w, {}, {}, {}, false, 0.0, wo, {})),
                  op + "was expecting embedding dimension of 5, but got 4");
  EXPECT_ERROR_EQ(call(x, x, x, F::MultiheadAttentionForwardFuncOptions(4, 3, w, {}, {}, {}, false, 0.0, wo, {})),
                  op + "embed_dim 4 not divisible by num_heads 3");
  EXPECT_ERROR_EQ(call(x, x, x.narrow(0, 0, 2), opts()),
                  op + "key shape [3, 2, 4] does not match value shape [2, 2, 4]");
  EXPECT_ERROR_EQ(call(x, x, x, opts().attn_mask(zeros({3, 4}, kFloat64))),
                  op + "the shape of the 2-D attn_mask is [3, 4], but should be (3, 3)");
  EXPECT_ERROR_EQ(call(x, x, x, opts().attn_mask(zeros({2, 3, 3}, kFloat64))),
                  op + "the shape of the 3-D attn_mask is [2, 3, 3], but should be (4, 3, 3)");
  EXPECT_ERROR_EQ(call(x, x, x, opts().attn_mask(zeros({3, 3}, kFloat32))),
                  op + "expected attn_mask to be an int64 0/1 mask or a float mask of the query's dtype float64, but "
                       "got float32");
  EXPECT_ERROR_EQ(call(x, x, x, opts().key_padding_mask(full({2, 3}, 2.0, kInt64))),
                  op + "an int64 key_padding_mask must hold only 0 and 1 (PyTorch's bool mask), but element 0 of its "
                       "shape [2, 3] is 2");
  EXPECT_ERROR_EQ(call(x, x, x, opts().key_padding_mask(zeros({3, 3}, kInt64))),
                  op + "expecting key_padding_mask shape of (2, 3), but got [3, 3]");
  EXPECT_ERROR_EQ(call(x, x, x, opts().key_padding_mask(zeros({2}, kInt64))),
                  op + "for a batched (3-D) query, expected key_padding_mask to be 2-D, but got shape [2]");
  EXPECT_ERROR_EQ(call(x.select(1, 0), x.select(1, 0), x.select(1, 0), opts().attn_mask(zeros({4, 3, 3}, kFloat64))),
                  op + "expected a 3-D attn_mask (unbatched query) of shape [2, 3, 3], but got [4, 3, 3]");
  EXPECT_ERROR_EQ(call(x, x, x, opts().in_proj_weight(randn({12, 5}, kFloat64))),
                  op + "expected in_proj_weight (or use_separate_proj_weight) of shape [12, 4], but got [12, 5]");
  EXPECT_ERROR_EQ(call(x, x, x, opts().bias_k(zeros({1, 1, 4}, kFloat64))),
                  op + "bias_k and bias_v must be given together, but got bias_k and no bias_v");
  EXPECT_ERROR_EQ(call(x, x, x, opts().dropout_p(1.5)), op + "dropout_p must be a probability in [0, 1], but got 1.5");
  EXPECT_ERROR_EQ(call(x, x.to(kFloat32), x, opts()),
                  op + "expected query, key and value of one dtype, but got float64, float32 and float64");
  EXPECT_ERROR_EQ(call(x.to(kInt64), x.to(kInt64), x.to(kInt64), opts()),
                  op + "expected a float32 or float64 query, but got int64");
  EXPECT_ERROR_EQ(call(x, randn({5, 2, 6}, kFloat64), randn({5, 2, 6}, kFloat64), opts()),
                  op + "expected key and value of embed_dim 4 features (other sizes need use_separate_proj_weight), "
                       "but got key [5, 2, 6] and value [5, 2, 6]");
  EXPECT_ERROR_EQ(call(x, x, x, opts().out_proj_weight(randn({4, 3}, kFloat64))),
                  op + "expected out_proj_weight of shape [4, 4], but got [4, 3]");
  EXPECT_ERROR_EQ(call(x, x, x, opts().out_proj_bias(randn({3}, kFloat64))),
                  op + "expected out_proj_bias of shape [4], but got [3]");
  EXPECT_ERROR_EQ(call(x, x, x, opts().in_proj_weight(w.to(kFloat32))),
                  op + "expected in_proj_weight of the query's dtype float64, but got float32");
  EXPECT_ERROR_EQ(call(x, x, x, opts().static_k(zeros({4, 3, 3}, kFloat64))),
                  op + "expected static_k of shape (4, S, 2), but got [4, 3, 3]");
  EXPECT_ERROR_EQ(nn::MultiheadAttention(nn::MultiheadAttentionOptions(6, 4)),
                  "MultiheadAttention: embed_dim must be divisible by num_heads (got embed_dim=6, num_heads=4)");
  EXPECT_ERROR_EQ(nn::MultiheadAttention(nn::MultiheadAttentionOptions(4, 2).dropout(-0.1)),
                  "MultiheadAttention: dropout must be a probability in [0, 1], but got -0.1");
  nn::MultiheadAttention m(4, 2);
  nn::Module& base = *m;  // Module's single-tensor forward, which this layer hides
  EXPECT_ERROR_CONTAINS(base.forward(randn({3, 2, 4})), "MultiheadAttention");
  // AnyModule reaches the layer's own forward with every argument (masks included).
  nn::AnyModule any(m);
  const Tensor q = randn({3, 2, 4});
  const auto [out, weights] = any.forward<std::tuple<Tensor, Tensor>>(q, q, q, Tensor(), true, Tensor(), false);
  EXPECT_EQ(weights.sizes(), Shape({2, 2, 3, 3}));
}

}  // namespace
