// nn/functional/distance.h (cosine_similarity, pairwise_distance), F::normalize (nn/functional/normalization.h)
// and the CosineSimilarity / PairwiseDistance modules: values and gradients against PyTorch 1.13
// (tests/fixtures/nn_basic, the "distance" cases of generate.py there), float64 gradcheck and gradgradcheck,
// reprs and errors. Views of every argument: tests/ops/test_views.cpp.

#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
namespace F = voxgrad::nn::functional;
namespace vt = voxgrad::testing;
using json = nlohmann::json;
using Pair = std::function<Tensor(const Tensor&, const Tensor&)>;

const json& fixture() {
  static const json doc = vt::load_fixture("nn_basic/layers.json");
  return doc;
}

Tensor tensor_of(const json& j) {
  return tensor(j.at("data").get<std::vector<double>>(), kFloat64).reshape(j.at("shape").get<Shape>());
}

// The voxgrad call of every fixture case (generate.py's Python calls; b is unused by normalize).
const std::map<std::string, Pair>& calls() {
  static const std::map<std::string, Pair> table = {
      {"F.cosine_similarity(a, b)", [](const Tensor& a, const Tensor& b) { return F::cosine_similarity(a, b); }},
      {"F.cosine_similarity(a, b, dim=-1)",
       [](const Tensor& a, const Tensor& b) {
         return F::cosine_similarity(a, b, F::CosineSimilarityFuncOptions().dim(-1));
       }},
      {"F.cosine_similarity(a, b, eps=0.5)",
       [](const Tensor& a, const Tensor& b) {
         return F::cosine_similarity(a, b, F::CosineSimilarityFuncOptions().eps(0.5));
       }},
      {"F.pairwise_distance(a, b)", [](const Tensor& a, const Tensor& b) { return F::pairwise_distance(a, b); }},
      {"F.pairwise_distance(a, b, p=1.0, keepdim=True)",
       [](const Tensor& a, const Tensor& b) {
         return F::pairwise_distance(a, b, F::PairwiseDistanceFuncOptions().p(1.0).keepdim(true));
       }},
      {"F.pairwise_distance(a, b, p=3.0)",
       [](const Tensor& a, const Tensor& b) {
         return F::pairwise_distance(a, b, F::PairwiseDistanceFuncOptions().p(3.0));
       }},
      {"F.normalize(a)", [](const Tensor& a, const Tensor&) { return F::normalize(a); }},
      {"F.normalize(a, p=1.0, dim=0)",
       [](const Tensor& a, const Tensor&) { return F::normalize(a, F::NormalizeFuncOptions().p(1.0).dim(0)); }},
      {"F.normalize(a, dim=-1)",
       [](const Tensor& a, const Tensor&) { return F::normalize(a, F::NormalizeFuncOptions().dim(-1)); }},
  };
  return table;
}

TEST(Distance, ValuesAndGradientsMatchPyTorch) {
  const json& cases = fixture().at("distance");
  ASSERT_GE(cases.size(), 10U);
  for (const auto& [name, c] : cases.items()) {
    SCOPED_TRACE(name);
    const auto call = calls().find(c.at("call").get<std::string>());
    ASSERT_NE(call, calls().end()) << c.at("call");
    std::vector<Tensor> in;
    for (const json& t : c.at("inputs")) in.push_back(tensor_of(t).requires_grad_());
    const Tensor y = call->second(in[0], in.size() > 1 ? in[1] : Tensor());
    vt::expect_close(y, tensor_of(c.at("output")), 1e-15, 1e-13);
    y.backward(tensor_of(c.at("grad_output")));
    for (std::size_t i = 0; i < in.size(); ++i) {
      SCOPED_TRACE("gradient of input " + std::to_string(i));
      vt::expect_close(in[i].grad(), tensor_of(c.at("grads")[i]), 1e-14, 1e-12);
    }
  }
}

TEST(Distance, ModulesGradientsAndErrors) {
  const Tensor a = vt::uniform_leaf({3, 4}, -1.0, 1.0, 91), b = vt::uniform_leaf({3, 4}, -1.0, 1.0, 92);
  EXPECT_TRUE(vt::bit_identical(nn::CosineSimilarity(nn::CosineSimilarityOptions().dim(0))(a, b),
                                F::cosine_similarity(a, b, F::CosineSimilarityFuncOptions().dim(0))));
  EXPECT_TRUE(vt::bit_identical(nn::PairwiseDistanceImpl(nn::PairwiseDistanceOptions().p(1.5)).forward(a, b),
                                F::pairwise_distance(a, b, F::PairwiseDistanceFuncOptions().p(1.5))));
  std::ostringstream s1, s2;
  s1 << nn::CosineSimilarityImpl();
  s2 << nn::PairwiseDistanceImpl();
  EXPECT_EQ(s1.str(), fixture().at("reprs").at("cosine_similarity").get<std::string>());
  EXPECT_EQ(s2.str(), fixture().at("reprs").at("pairwise_distance").get<std::string>());
  // The closed forms, and the range: |cosine| ≤ 1 even for parallel vectors.
  vt::expect_close(F::cosine_similarity(a, a), ones({3}, kFloat64), 1e-15);
  vt::expect_close(F::normalize(a).pow(2.0).sum({1}), ones({3}, kFloat64), 1e-15);
  vt::expect_close(F::pairwise_distance(a, b, F::PairwiseDistanceFuncOptions().eps(0.0)), (a - b).norm(2.0, {1}));
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return F::cosine_similarity(in[0], in[1]); }, {a, b});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return F::pairwise_distance(in[0], in[1]); }, {a, b});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return F::normalize(in[0].t()); }, {a});
  // Errors name the op.
  EXPECT_ERROR_CONTAINS(F::cosine_similarity(a, zeros({5}, kFloat64)), "cosine_similarity");
  EXPECT_ERROR_EQ(F::cosine_similarity(a, b, F::CosineSimilarityFuncOptions().dim(2)),
                  "cosine_similarity: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_EQ(F::cosine_similarity(a, Tensor()), "cosine_similarity: argument 'other' is an undefined tensor");
  // 0-d inputs: |x1 − x2 + eps|, 0-d, keepdim or not (as torch's norm over dim −1 of a scalar).
  for (bool keepdim : {false, true}) {
    const Tensor d = F::pairwise_distance(scalar_tensor(1.0, kFloat64), scalar_tensor(2.0, kFloat64),
                                          F::PairwiseDistanceFuncOptions().keepdim(keepdim));
    EXPECT_EQ(d.dim(), 0);
    EXPECT_EQ(d.item<double>(), std::abs(1.0 - 2.0 + 1e-6));
  }
  EXPECT_ERROR_EQ(F::pairwise_distance(Tensor(), a), "pairwise_distance: argument 'x1' is an undefined tensor");
  EXPECT_ERROR_EQ(F::normalize(Tensor()), "normalize: argument 'input' is an undefined tensor");
  EXPECT_ERROR_CONTAINS(F::normalize(zeros({3}), F::NormalizeFuncOptions()), "norm");
}

}  // namespace
