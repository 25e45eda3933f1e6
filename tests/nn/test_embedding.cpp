// nn::Embedding and F::embedding: values, weight gradients and max_norm's in-place renormalisation
// against PyTorch 1.13 (tests/fixtures/attention/attention.json, the "embedding" cases of generate.py
// there), a naive reference on viewed tables and indices, float64 gradcheck and gradgradcheck, the module's
// parameter, initialisation, repr, from_pretrained and clone, and error messages.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
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

F::EmbeddingFuncOptions options_of(const json& o) {
  F::EmbeddingFuncOptions options;
  if (!o.at("padding_idx").is_null()) options.padding_idx(o.at("padding_idx").get<std::int64_t>());
  if (!o.at("max_norm").is_null()) options.max_norm(vt::json_number(o.at("max_norm")));
  options.norm_type(vt::json_number(o.at("norm_type")));
  options.scale_grad_by_freq(o.at("scale_grad_by_freq").get<bool>());
  return options;
}

// The rows a naive loop reads, and the gradient it accumulates in index order (double sums).
struct Naive {
  Tensor out, grad;
};

Naive naive_embedding(const Tensor& idx, const Tensor& weight, const Tensor& upstream, std::int64_t padding_idx,
                      bool scale) {
  const std::int64_t rows = weight.size(0), dim = weight.size(1);
  const std::vector<double> w = vt::values(weight);
  const std::vector<double> up = vt::values(upstream);
  std::vector<std::int64_t> ix;
  for (const double v : vt::values(idx)) ix.push_back(static_cast<std::int64_t>(v));
  std::map<std::int64_t, int> count;
  for (const std::int64_t k : ix) ++count[k];
  std::vector<double> out, grad(static_cast<std::size_t>(rows * dim), 0.0);
  for (std::size_t i = 0; i < ix.size(); ++i) {
    for (std::int64_t j = 0; j < dim; ++j) {
      out.push_back(w[static_cast<std::size_t>(ix[i] * dim + j)]);
      if (ix[i] == padding_idx) continue;
      grad[static_cast<std::size_t>(ix[i] * dim + j)] +=
          up[i * static_cast<std::size_t>(dim) + static_cast<std::size_t>(j)] / (scale ? count[ix[i]] : 1);
    }
  }
  Shape shape = idx.sizes();
  shape.push_back(dim);
  return {tensor(out, kFloat64).reshape(shape), tensor(grad, kFloat64).reshape({rows, dim})};
}

TEST(EmbeddingFixtures, MatchPyTorch) {
  int n = 0;
  for (const json& c : fixture().at("cases")) {
    if (c.at("kind") != "embedding") continue;
    ++n;
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Tensor weight0 = vt::json_tensor(c.at("inputs").at("weight"));
    const Tensor idx = vt::json_tensor(c.at("inputs").at("indices"));
    Tensor w = weight0.clone().requires_grad_(true);
    const F::EmbeddingFuncOptions options = options_of(c.at("options"));
    const Tensor out = F::embedding(idx, w, options);
    const Tensor up = vt::json_tensor(c.at("upstream").at("out"));
    autograd::backward({(out * up).sum()});
    // Rows are copied and their gradients summed in index order, as ATen: the same bits. max_norm's
    // norms come from another reduction order, so renormalised rows are compared within the tolerance.
    if (options.max_norm()) {
      vt::expect_matches_fixture(w, vt::json_tensor(c.at("outputs").at("weight_after")));
      vt::expect_matches_fixture(out, vt::json_tensor(c.at("outputs").at("out")));
    } else {
      vt::expect_bitwise_equal(w, weight0, "weight untouched");
      vt::expect_bitwise_equal(out, vt::json_tensor(c.at("outputs").at("out")), "out");
    }
    vt::expect_bitwise_equal(w.grad(), vt::json_tensor(c.at("grads").at("weight")), "weight gradient");
  }
  EXPECT_GE(n, 17);
}

// Strided, transposed, offset and expanded tables and indices give what a naive loop over their values
// gives; the gradient lands in the viewed table's own layout.
TEST(Embedding, NaiveReferenceOnViews) {
  manual_seed(7);
  const Tensor base = randn({9, 14}, kFloat64);
  const std::vector<std::pair<std::string, Tensor>> tables = {
      {"contiguous", base.narrow(1, 0, 5).contiguous()},
      {"column-major", base.t().contiguous().t().narrow(1, 0, 5)},
      {"offset", randn({12, 5}, kFloat64).narrow(0, 3, 9)},
      {"column view", base.narrow(1, 3, 5)},
      {"strided", base.narrow(1, 0, 10).reshape({9, 5, 2}).select(2, 1)},
      {"permuted", randn({5, 9}, kFloat64).t()},
  };
  const Tensor ibase = randint(0, 9, {4, 6});
  const std::vector<std::pair<std::string, Tensor>> indices = {
      {"2-D", ibase},
      {"transposed", ibase.t()},
      {"offset row", ibase.select(0, 2)},
      {"expanded", ibase.select(1, 1).unsqueeze(1).expand({4, 3})},
      {"0-d", ibase.select(0, 0).select(0, 0)},
      {"empty", ibase.narrow(0, 0, 0)},
  };
  for (const auto& [tname, table] : tables) {
    for (const auto& [iname, idx] : indices) {
      for (const bool scale : {false, true}) {
        for (const std::int64_t pad : {-1, 3}) {
          SCOPED_TRACE(tname + " table, " + iname + " indices, scale " + std::to_string(scale) + ", padding " +
                       std::to_string(pad));
          Tensor w = table.detach().requires_grad_(true);
          F::EmbeddingFuncOptions options = F::EmbeddingFuncOptions().scale_grad_by_freq(scale);
          if (pad >= 0) options.padding_idx(pad);
          const Tensor out = F::embedding(idx, w, options);
          const Tensor up = randn(out.sizes(), kFloat64);
          autograd::backward({(out * up).sum()});
          const Naive ref = naive_embedding(idx, table, up, pad, scale);
          vt::expect_close(out, ref.out, 0.0);
          vt::expect_close(w.grad(), ref.grad, 1e-15);
        }
      }
    }
  }
}

TEST(Embedding, GradcheckAndGradgradcheck) {
  const Tensor idx = tensor(std::vector<double>{0, 2, 2, 4, 1, 2}, kInt64).reshape({2, 3});
  const Tensor w = vt::uniform_leaf({5, 3}, -1.0, 1.0, 3);  // rows 0–4, embedding_dim 3
  for (const bool scale : {false, true}) {
    for (const std::int64_t pad : {-1, 2}) {
      SCOPED_TRACE("scale " + std::to_string(scale) + ", padding " + std::to_string(pad));
      F::EmbeddingFuncOptions options = F::EmbeddingFuncOptions().scale_grad_by_freq(scale);
      if (pad >= 0) options.padding_idx(pad);
      const auto fn = [idx, options](const std::vector<Tensor>& in) { return F::embedding(idx, in[0], options); };
      // padding_idx and scale_grad_by_freq change the gradient by definition (as in PyTorch), so only the
      // plain lookup's is the numerical one; the gradient's own derivative is checked in every mode.
      if (pad < 0 && !scale) vt::expect_gradcheck(fn, {w});
      vt::expect_gradgradcheck(fn, {w});
      // Under create_graph the gradient is built from differentiable ops: the same values.
      const Tensor out = F::embedding(idx, w, options);
      const Tensor up = vt::f64({1, -2, 3, 0.5, 4, -1, 2, 2, 7, -3, 1, 9, 0.25, 6, -5, 8, 1, 2}, {2, 3, 3});
      const Tensor plain = autograd::grad({out}, {w}, {up}, /*retain_graph=*/true)[0];
      const Tensor graph = autograd::grad({out}, {w}, {up}, /*retain_graph=*/true, /*create_graph=*/true)[0];
      vt::expect_close(graph, plain, 1e-15);
    }
  }
}

TEST(Embedding, ResultIsNotAViewAndInPlaceOpsKeepTheGraph) {
  const Tensor idx = tensor(std::vector<double>{1, 0, 1}, kInt64);
  Tensor w = vt::leaf({1, 2, 3, 4}, {2, 2});
  Tensor out = F::embedding(idx, w);
  out.mul_(3.0);
  autograd::backward({out.sum()});
  vt::expect_values(w.grad(), {2, 2}, {3, 3, 6, 6});
}

TEST(Embedding, MaxNormRenormalisesOnlyTheRowsRead) {
  Tensor w = vt::f64({3, 4, 0.3, 0.4, 6, 8}, {3, 2}).requires_grad_(true);
  const Tensor out =
      F::embedding(tensor(std::vector<double>{0, 0, 1}, kInt64), w, F::EmbeddingFuncOptions().max_norm(1.0));
  const double s = 1.0 / (5.0 + 1e-7);
  vt::expect_values(w.detach(), {3, 2}, {3 * s, 4 * s, 0.3, 0.4, 6, 8});
  vt::expect_values(out, {3, 2}, {3 * s, 4 * s, 3 * s, 4 * s, 0.3, 0.4});
  EXPECT_TRUE(w.is_leaf());
  EXPECT_EQ(w.grad_fn(), nullptr);
}

TEST(EmbeddingModule, ParameterInitialisationReprAndClone) {
  manual_seed(1);
  nn::Embedding emb(nn::EmbeddingOptions(10, 3).padding_idx(-2));
  EXPECT_EQ(emb->options().padding_idx().value(), 8);
  const auto params = emb->named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params.begin()->first, "weight");
  EXPECT_EQ(emb->weight.sizes(), Shape({10, 3}));
  vt::expect_values(emb->weight.select(0, 8), {3}, {0, 0, 0});
  EXPECT_GT(vt::values(emb->weight.abs().sum())[0], 0.0);
  std::ostringstream os;
  os << *emb;
  EXPECT_EQ(os.str(), "Embedding(10, 3, padding_idx=8)");
  std::ostringstream os2;
  os2 << *nn::Embedding(nn::EmbeddingOptions(4, 2).max_norm(1.5).norm_type(1.0).scale_grad_by_freq(true));
  EXPECT_EQ(os2.str(), "Embedding(4, 2, max_norm=1.5, norm_type=1.0, scale_grad_by_freq=True)");
  // forward = F::embedding with the module's options; the padding row gets no gradient.
  const Tensor idx = tensor(std::vector<double>{8, 1, 8}, kInt64);
  const Tensor out = emb(idx);
  EXPECT_EQ(out.sizes(), Shape({3, 3}));
  autograd::backward({out.sum()});
  vt::expect_values(emb->weight.grad().sum(1), {10}, {0, 3, 0, 0, 0, 0, 0, 0, 0, 0});
  // A clone owns its table.
  auto copy = std::dynamic_pointer_cast<nn::EmbeddingImpl>(emb->clone());
  ASSERT_NE(copy, nullptr);
  vt::expect_bitwise_equal(copy->weight, emb->weight, "clone's weight");
  {
    NoGradGuard g;
    copy->weight.fill_(2.0);
  }
  EXPECT_NE(vt::values(emb->weight)[0], 2.0);
}

TEST(Embedding, EmptyTables) {
  // embedding_dim 0: rows of nothing; num_embeddings 0: only empty index tensors are valid.
  Tensor narrow_table = zeros({3, 0}, kFloat64).requires_grad_(true);
  const Tensor out = F::embedding(tensor(std::vector<double>{2, 0}, kInt64), narrow_table);
  EXPECT_EQ(out.sizes(), Shape({2, 0}));
  autograd::backward({out.sum()});
  EXPECT_EQ(narrow_table.grad().sizes(), Shape({3, 0}));
  Tensor no_rows = zeros({0, 4}, kFloat64).requires_grad_(true);
  EXPECT_EQ(F::embedding(zeros({0}, kInt64), no_rows).sizes(), Shape({0, 4}));
  EXPECT_ERROR_EQ(F::embedding(zeros({1}, kInt64), no_rows),
                  "embedding: index 0 is out of bounds for dimension 0 with size 0");
  nn::Embedding module(0, 5);
  EXPECT_EQ(module->weight.sizes(), Shape({0, 5}));
}

TEST(EmbeddingModule, FromPretrained) {
  const Tensor table = vt::f64({1, 2, 3, 4, 5, 6}, {3, 2});
  nn::Embedding frozen = nn::Embedding::from_pretrained(table);
  EXPECT_FALSE(frozen->weight.requires_grad());
  EXPECT_EQ(frozen->weight.data_ptr<double>(), table.data_ptr<double>());  // shares the storage, as PyTorch
  vt::expect_values(frozen(tensor(std::vector<double>{2, 0}, kInt64)), {2, 2}, {5, 6, 1, 2});
  nn::Embedding trained =
      nn::Embedding::from_pretrained(table, nn::EmbeddingFromPretrainedOptions().freeze(false).padding_idx(1));
  EXPECT_TRUE(trained->weight.requires_grad());
  EXPECT_EQ(trained->options().padding_idx().value(), 1);
  vt::expect_values(trained->weight.select(0, 1), {2}, {3, 4});  // a given table is not re-initialised
  // A clone trains a table of its own: the user's table is left alone.
  auto copy = std::dynamic_pointer_cast<nn::EmbeddingImpl>(trained->clone());
  ASSERT_NE(copy, nullptr);
  {
    NoGradGuard g;
    copy->weight.fill_(-1.0);
  }
  vt::expect_values(table, {3, 2}, {1, 2, 3, 4, 5, 6});
  vt::expect_values(trained->weight, {3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_ERROR_EQ(
      nn::Embedding::from_pretrained(vt::f64({1, 2})),
      "Embedding::from_pretrained: embeddings must be 2-D (num_embeddings × embedding_dim), but got shape [2]");
}

TEST(Embedding, Errors) {
  const Tensor w = vt::f64({1, 2, 3, 4, 5, 6}, {3, 2});
  const Tensor idx = tensor(std::vector<double>{0, 2}, kInt64);
  EXPECT_ERROR_EQ(F::embedding(tensor(std::vector<double>{0, 1}), w),
                  "embedding: expected int64 indices as input, but got float32");
  EXPECT_ERROR_EQ(F::embedding(tensor(std::vector<double>{0, 3}, kInt64), w),
                  "embedding: index 3 is out of bounds for dimension 0 with size 3");
  EXPECT_ERROR_EQ(F::embedding(tensor(std::vector<double>{-1}, kInt64), w),
                  "embedding: index -1 is out of bounds for dimension 0 with size 3");
  EXPECT_ERROR_EQ(F::embedding(idx, w.flatten()),
                  "embedding: weight must be 2-D (num_embeddings × embedding_dim), but got shape [6]");
  EXPECT_ERROR_EQ(
      F::embedding(idx, w, F::EmbeddingFuncOptions().padding_idx(3)),
      "embedding: padding_idx must be within num_embeddings, i.e. in [-3, 3), but got 3 (weight has 3 rows)");
  EXPECT_ERROR_EQ(F::embedding(idx, w, F::EmbeddingFuncOptions().max_norm(-1.0)),
                  "embedding: max_norm must be non-negative, but got -1");
  EXPECT_ERROR_CONTAINS(F::embedding(idx, w, F::EmbeddingFuncOptions().sparse(true)), "embedding: sparse gradients");
  EXPECT_ERROR_EQ(F::embedding(Tensor(), w), "embedding: argument 'input' is an undefined tensor");
  EXPECT_ERROR_EQ(F::embedding(idx, tensor(std::vector<double>{0, 1}, kInt64).reshape({1, 2})),
                  "embedding: expected a float32 or float64 weight, but got int64");
  EXPECT_ERROR_EQ(nn::Embedding(nn::EmbeddingOptions(3, 2).padding_idx(-4)),
                  "Embedding: padding_idx must be within num_embeddings, i.e. in [-3, 3), but got -4");
  EXPECT_ERROR_EQ(nn::Embedding(nn::EmbeddingOptions(3, 2)._weight(vt::f64({1, 2}, {1, 2}))),
                  "Embedding: the shape of _weight ([1, 2]) does not match num_embeddings and embedding_dim (3, 2)");
  EXPECT_ERROR_CONTAINS(nn::Embedding(nn::EmbeddingOptions(-1, 2)), "Embedding: num_embeddings and embedding_dim");
}

}  // namespace
