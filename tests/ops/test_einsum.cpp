// ops/einsum.h against a plain loop over every assignment of the equation's letters (broadcasting sizes of 1),
// on many equations, on views of every operand, with gradients (gradcheck and gradgradcheck in float64), and
// the errors; and PyTorch 1.13's values and gradients (tests/fixtures/einsum/einsum.json, written by
// tests/fixtures/einsum/generate.py).
// diagonal (ops/shape_ops.h), the view einsum takes for a repeated letter, is tested here too.

#include <voxgrad/voxgrad.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fixture.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;

// The result of an equation with letters only, an explicit output and no ellipsis, by brute force: every
// assignment of values to the letters (each letter's size the largest any operand gives it, an operand's size
// 1 broadcasting), the operands' product added to the output element the output's letters name.
Tensor reference(const std::string& equation, const std::vector<Tensor>& operands) {
  const std::size_t arrow = equation.find("->");
  std::vector<std::string> terms(1);
  for (char c : equation.substr(0, arrow)) {
    if (c == ',') {
      terms.emplace_back();
    } else if (c != ' ') {
      terms.back() += c;
    }
  }
  std::string out;
  for (char c : equation.substr(arrow + 2)) {
    if (c != ' ') out += c;
  }
  std::map<char, std::int64_t> size;
  std::vector<std::vector<double>> values;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    for (std::size_t d = 0; d < terms[i].size(); ++d) {
      std::int64_t& s = size[terms[i][d]];
      if (operands[i].sizes()[d] != 1 || s == 0) s = operands[i].sizes()[d];
    }
    values.push_back(vt::values(operands[i]));
  }
  std::string letters;
  for (const auto& [c, s] : size) letters += c;
  Shape out_sizes;
  for (char c : out) out_sizes.push_back(size[c]);
  std::int64_t out_numel = 1, total = 1;
  for (std::int64_t s : out_sizes) out_numel *= s;
  for (char c : letters) total *= size[c];
  std::vector<double> result(static_cast<std::size_t>(out_numel), 0.0);
  std::map<char, std::int64_t> at;
  for (std::int64_t flat = 0; flat < total; ++flat) {
    std::int64_t rest = flat;
    for (auto it = letters.rbegin(); it != letters.rend(); ++it) {
      at[*it] = rest % size[*it];
      rest /= size[*it];
    }
    double product = 1.0;
    for (std::size_t i = 0; i < operands.size(); ++i) {
      std::int64_t index = 0;
      for (std::size_t d = 0; d < terms[i].size(); ++d) {
        const std::int64_t n = operands[i].sizes()[d];
        index = index * n + (n == 1 ? 0 : at[terms[i][d]]);
      }
      product *= values[i][static_cast<std::size_t>(index)];
    }
    std::int64_t o = 0;
    for (std::size_t d = 0; d < out.size(); ++d) o = o * out_sizes[d] + at[out[d]];
    result[static_cast<std::size_t>(o)] += product;
  }
  return tensor(result, kFloat64).reshape(out_sizes);
}

Tensor random(const Shape& sizes, std::uint64_t seed) { return vt::uniform_leaf(sizes, -1.0, 1.0, seed).detach(); }

struct Case {
  std::string equation;       // as given to einsum
  std::string explicit_form;  // the same with letters for "..." and an explicit output, for the reference
  std::vector<Shape> shapes;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> list = {
      {"ij,jk->ik", "ij,jk->ik", {{3, 4}, {4, 5}}},
      {"ij,jk", "ij,jk->ik", {{3, 4}, {4, 5}}},
      {"bij,bjk->bik", "bij,bjk->bik", {{2, 3, 4}, {2, 4, 2}}},
      {"bij,bkj->bik", "bij,bkj->bik", {{2, 3, 4}, {2, 5, 4}}},
      {"i,j->ij", "i,j->ij", {{3}, {4}}},
      {"i,i->", "i,i->", {{5}, {5}}},
      {"i,i", "i,i->", {{5}, {5}}},
      {"ij->ji", "ij->ji", {{3, 4}}},
      {"ij", "ij->ij", {{3, 4}}},
      {"ji", "ji->ij", {{3, 4}}},
      {"ij->", "ij->", {{3, 4}}},
      {"ij->j", "ij->j", {{3, 4}}},
      {"ii->i", "ii->i", {{4, 4}}},
      {"ii", "ii->", {{4, 4}}},
      {"iii->i", "iii->i", {{3, 3, 3}}},
      {"iji->j", "iji->j", {{3, 2, 3}}},
      {"bii->bi", "bii->bi", {{2, 3, 3}}},
      {"ij,ij->ij", "ij,ij->ij", {{3, 4}, {3, 4}}},
      {"ij,ij,ij->", "ij,ij,ij->", {{2, 3}, {2, 3}, {2, 3}}},
      {"ij,jk,kl->il", "ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 2}}},
      {"ab,bc,cd,da->", "ab,bc,cd,da->", {{2, 3}, {3, 2}, {2, 4}, {4, 2}}},
      // j summed over operands 0 and 2 with operand 1 of size 1 there in between (the count of operands
      // still holding it), and k summed on its own.
      {"ij,jk,jl->", "ij,jk,jl->", {{2, 3}, {1, 4}, {3, 2}}},
      {"ij,jk,jl->il", "ij,jk,jl->il", {{2, 3}, {3, 4}, {3, 2}}},
      {"i,j,k->ijk", "i,j,k->ijk", {{2}, {3}, {2}}},
      {"bn,anm,bm->ba", "bn,anm,bm->ba", {{2, 3}, {4, 3, 2}, {2, 2}}},
      {"ijk,jil->kl", "ijk,jil->kl", {{3, 2, 4}, {2, 3, 5}}},
      {"ijkl,ljk->i", "ijkl,ljk->i", {{2, 3, 2, 4}, {4, 3, 2}}},
      // Uppercase before lowercase in the implicit output (torch's order): "Ba" gives [B, a].
      {"aB,Bc->", "aB,Bc->", {{2, 3}, {3, 2}}},
      {"Ba", "Ba->Ba", {{3, 2}}},
      {"aB", "aB->Ba", {{2, 3}}},
      {"xY,Yz", "xY,Yz->xz", {{2, 3}, {3, 4}}},
      // Sizes of 1 broadcast.
      {"ij,ij->ij", "ij,ij->ij", {{3, 1}, {1, 4}}},
      {"ij,jk->ik", "ij,jk->ik", {{3, 1}, {4, 2}}},
      {"bij,bjk->bik", "bij,bjk->bik", {{1, 3, 4}, {2, 4, 2}}},
      {"i,i->i", "i,i->i", {{1}, {4}}},
      // Ellipses: leading, trailing, in the middle, summed out, of different lengths.
      {"...ij,...jk->...ik", "zij,zjk->zik", {{2, 3, 4}, {2, 4, 5}}},
      {"...ij,...jk", "yzij,yzjk->yzik", {{2, 2, 3, 4}, {2, 2, 4, 3}}},
      {"...ij,jk->...ik", "yzij,jk->yzik", {{2, 1, 3, 4}, {4, 2}}},
      {"...ij,...jk->...ik", "yzij,zjk->yzik", {{3, 2, 2, 4}, {2, 4, 3}}},
      {"i...->...", "iyz->yz", {{3, 2, 4}}},
      {"i...->i", "iyz->i", {{3, 2, 4}}},
      {"...->", "yz->", {{3, 2}}},
      {"a...b,b...c->ac", "ayzb,byzc->ac", {{2, 3, 2, 4}, {4, 3, 2, 2}}},
      {"...,...->...", "yz,z->yz", {{2, 3}, {3}}},
      {"i...i->...", "iyi->y", {{3, 2, 3}}},
      {"...ii->...i", "yii->yi", {{2, 3, 3}}},
      {"...ii,...i->...", "yii,i->y", {{2, 3, 3}, {3}}},
      {"i...i,...j->j...", "iyzi,zj->jyz", {{3, 2, 4, 3}, {4, 2}}},
      // Scalars and empty dims.
      {",ij->ij", ",ij->ij", {{}, {2, 3}}},
      {",->", ",->", {{}, {}}},
      {"ij,jk->ik", "ij,jk->ik", {{3, 0}, {0, 2}}},
      {"ij,jk->ik", "ij,jk->ik", {{0, 3}, {3, 2}}},
      {"ij,jk,kl->il", "ij,jk,kl->il", {{2, 0}, {0, 3}, {3, 2}}},
      {"ij->", "ij->", {{0, 3}}},
      {"bij,bjk->bik", "bij,bjk->bik", {{0, 2, 3}, {0, 3, 2}}},
  };
  return list;
}

TEST(Einsum, MatchesTheLoopOverEveryLetter) {
  std::uint64_t seed = 900;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.equation);
    std::vector<Tensor> ops;
    for (const Shape& s : c.shapes) ops.push_back(random(s, seed++));
    const Tensor got = einsum(c.equation, ops);
    const Tensor want = reference(c.explicit_form, ops);
    EXPECT_EQ(got.dtype(), kFloat64);
    vt::expect_close(got, want, 1e-13, 1e-13);
    // float32 operands: float32 result, within float32's rounding.
    std::vector<Tensor> ops32;
    for (const Tensor& t : ops) ops32.push_back(t.to(kFloat32));
    const Tensor got32 = einsum(c.equation, ops32);
    EXPECT_EQ(got32.dtype(), kFloat32);
    vt::expect_close(got32.to(kFloat64), want, 1e-5, 1e-5);
  }
}

TEST(Einsum, ReadsViewsOfEveryOperand) {
  // Transposed, strided, expanded and offset views, each as an operand, against the loop and the same values
  // copied (the matrix products may read a view in another order, so not bit for bit).
  const Tensor base = random({6, 8}, 11);
  const Tensor t = base.transpose(0, 1).slice(0, 1, 7);          // [6, 6], transposed and offset
  const Tensor s = base.slice(0, 0, 6, 2).slice(1, 1, 8, 2);     // [3, 4], strided
  const Tensor e = random({4}, 12).unsqueeze(0).expand({3, 4});  // [3, 4], stride 0
  const Tensor p = random({2, 3, 4}, 13).permute({2, 0, 1});     // [4, 2, 3]
  const std::vector<std::pair<std::string, std::vector<Tensor>>> uses = {
      {"ij,jk->ik", {t, base.slice(0, 0, 6).slice(1, 2, 8)}},
      {"ii->i", {t}},
      {"ii", {t}},
      {"ij,ij->i", {s, e}},
      {"ij,kj->ik", {e, s}},
      {"kab,kc->abc", {p, s.transpose(0, 1)}},
      {"...j,j->...", {p.slice(2, 1, 3), base.select(0, 2).slice(0, 0, 2)}},
  };
  for (const auto& [equation, ops] : uses) {
    SCOPED_TRACE(equation);
    std::vector<Tensor> copies;
    for (const Tensor& v : ops) copies.push_back(v.contiguous());
    const Tensor got = einsum(equation, ops);
    vt::expect_close(got, einsum(equation, copies), 1e-14, 1e-14);
    if (equation.find("...") == std::string::npos && equation.find("->") != std::string::npos) {
      vt::expect_close(got, reference(equation, copies), 1e-13, 1e-13);
    }
  }
}

TEST(Einsum, ResultsAndOperandsShareStorageOnlyAsTorchDoes) {
  // One operand and nothing to sum: a view of it, as torch's permute and diagonal are.
  Tensor x = random({3, 3}, 21);
  Tensor d = einsum("ii->i", {x});
  d.fill_(5.0);
  vt::expect_values(x.diagonal(), {3}, {5.0, 5.0, 5.0}, 0.0);
  einsum("ij->ji", {x}).select(0, 0).fill_(7.0);
  EXPECT_EQ(x.index({2, 0}).item<double>(), 7.0);
  // Mixed dtypes promote to float64.
  EXPECT_EQ(einsum("i,i->", {random({3}, 22).to(kFloat32), random({3}, 23)}).dtype(), kFloat64);
}

TEST(Einsum, GradientsFlowToEveryOperand) {
  const Tensor a = vt::uniform_leaf({3, 4}, -1.0, 1.0, 31), b = vt::uniform_leaf({4, 2}, -1.0, 1.0, 32);
  const Tensor sq = vt::uniform_leaf({3, 3}, -1.0, 1.0, 33), c = vt::uniform_leaf({2, 3, 4}, -1.0, 1.0, 34);
  const Tensor v = vt::uniform_leaf({4}, -1.0, 1.0, 35), one = vt::uniform_leaf({1, 4}, -1.0, 1.0, 36);
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return einsum("ij,jk->ik", in); }, {a, b});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return einsum("ii->i", in); }, {sq});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return einsum("ii", in); }, {sq});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return einsum("bij,j,bkj->bik", in); },
                       {c, v, vt::uniform_leaf({2, 5, 4}, -1.0, 1.0, 37)});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return einsum("...j,ij->...i", in); }, {c, one});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return einsum("ij,jk,ki->", in); },
                       {a, b, vt::uniform_leaf({2, 3}, -1.0, 1.0, 38)});
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return einsum("i,ij->j", {in[0], in[1].t()}); }, {v, a});
  // On views: the gradient reaches the base through the transpose and the slice.
  vt::expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        return einsum("ij,kj->ik", {in[0].t(), in[1].t().slice(0, 0, 4, 2)});
      },
      {a, a});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return einsum("bij,bjk->bik", in); },
                           {c, vt::uniform_leaf({2, 4, 3}, -1.0, 1.0, 39)});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return einsum("iji->j", in); },
                           {vt::uniform_leaf({3, 2, 3}, -1.0, 1.0, 40)});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return einsum("i,i,i->", in); },
                           {v, vt::uniform_leaf({4}, -1.0, 1.0, 43), vt::uniform_leaf({4}, -1.0, 1.0, 44)});
}

TEST(Einsum, DiagonalIsTorchs) {
  const Tensor x = arange(0, 24, 1, kFloat64).reshape({2, 3, 4});
  // torch.diagonal(x) (dims 0, 1): [4, 2] with [i][j] = x[j][j][i].
  vt::expect_values(diagonal(x), {4, 2}, {0, 16, 1, 17, 2, 18, 3, 19}, 0.0);
  vt::expect_values(x.diagonal(1, 1, 2), {2, 3}, {1, 6, 11, 13, 18, 23}, 0.0);
  vt::expect_values(x.diagonal(-1, -1, -2), {2, 3}, {1, 6, 11, 13, 18, 23}, 0.0);
  vt::expect_values(x.diagonal(0, 2, 0), {3, 2}, {0, 13, 4, 17, 8, 21}, 0.0);
  EXPECT_EQ(x.diagonal(4, 1, 2).sizes(), (Shape{2, 0}));
  EXPECT_EQ(x.diagonal(-3, 1, 2).sizes(), (Shape{2, 0}));
  EXPECT_EQ(x.diagonal(-100, 1, 2).sizes(), (Shape{2, 0}));
  EXPECT_EQ(zeros({0, 3}).diagonal().sizes(), (Shape{0}));
  // A view: writes reach the input; on a transposed, offset input too.
  Tensor y = zeros({3, 3}, kFloat64);
  y.diagonal(1).fill_(2.0);
  vt::expect_values(y, {3, 3}, {0, 2, 0, 0, 0, 2, 0, 0, 0}, 0.0);
  const Tensor v = x.transpose(0, 2).slice(0, 1, 4);  // [3, 3, 2]
  EXPECT_TRUE(vt::bit_identical(v.diagonal(), v.contiguous().diagonal()));
  EXPECT_TRUE(vt::bit_identical(v.diagonal(-1, 0, 1), v.contiguous().diagonal(-1, 0, 1)));
  // Gradients: into the diagonal, zeros elsewhere; and back again.
  vt::expect_gradcheck([](const std::vector<Tensor>& in) { return in[0].diagonal(1, 0, 2) * 3.0; },
                       {vt::uniform_leaf({3, 2, 4}, -1.0, 1.0, 41)});
  vt::expect_gradgradcheck([](const std::vector<Tensor>& in) { return in[0].diagonal(-1).pow(2.0); },
                           {vt::uniform_leaf({4, 3}, -1.0, 1.0, 42)});
}

const nlohmann::json& fixture() {
  static const nlohmann::json f = vt::load_fixture("einsum/einsum.json");
  return f;
}

// Within 1e-12 (float64) or 1e-5 (float32) of PyTorch's, relative and absolute: the products sum in another
// order than torch's matrix products.
void expect_near_torch(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.sizes(), want.sizes());
  const double tol = want.dtype() == kFloat32 ? 1e-5 : 1e-12;
  const std::vector<double> g = vt::values(got), w = vt::values(want);
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], w[i], tol + tol * std::abs(w[i])) << "at " << i;
}

class EinsumFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(EinsumFixture, ValuesAndGradientsMatchPyTorch) {
  const nlohmann::json* found = nullptr;
  for (const nlohmann::json& c : fixture().at("cases")) {
    if (c.at("name") == GetParam()) found = &c;
  }
  ASSERT_NE(found, nullptr);
  const nlohmann::json& c = *found;
  const std::string equation = c.at("equation").get<std::string>();
  SCOPED_TRACE(equation);
  std::vector<Tensor> inputs;
  for (const nlohmann::json& t : c.at("inputs")) inputs.push_back(vt::json_tensor(t).requires_grad_());
  const Tensor y = einsum(equation, inputs);
  expect_near_torch(y, vt::json_tensor(c.at("output")));
  const std::vector<Tensor> g =
      autograd::grad({y}, inputs, {vt::json_tensor(c.at("grad_output"))}, std::nullopt, false, true);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE("gradient of operand " + std::to_string(i));
    ASSERT_TRUE(g[i].defined());
    expect_near_torch(g[i], vt::json_tensor(c.at("grads")[i]));
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, EinsumFixture, ::testing::ValuesIn(vt::fixture_case_names(fixture)),
                         vt::name_from_param);

TEST(EinsumFixture, TheFileIsFromTorch113) {
  EXPECT_EQ(fixture().at("torch_version").get<std::string>().substr(0, 4), "1.13");
  EXPECT_GE(fixture().at("cases").size(), 20U);
}

TEST(Einsum, ErrorsNameTheEquationTheOperandAndTheSizes) {
  const Tensor m = zeros({2, 3}), v = zeros({3});
  EXPECT_ERROR_EQ(einsum("ij", {}), "einsum: equation \"ij\": at least one operand is needed");
  EXPECT_ERROR_EQ(einsum("ij,jk", {m}), "einsum: equation \"ij,jk\" has 2 operands, but 1 was given");
  EXPECT_ERROR_EQ(einsum("ij", {m, m}), "einsum: equation \"ij\" has 1 operand, but 2 were given");
  EXPECT_ERROR_EQ(einsum("i1", {m}),
                  "einsum: equation \"i1\": invalid subscript '1' at index 1; subscripts must be in [a-zA-Z]");
  EXPECT_ERROR_EQ(einsum("ij->i_", {m}),
                  "einsum: equation \"ij->i_\": invalid subscript '_' at index 5; subscripts must be in [a-zA-Z]");
  EXPECT_ERROR_EQ(einsum("i.j", {m}),
                  "einsum: equation \"i.j\": found '.' for operand 0 that is not part of an ellipsis (...)");
  EXPECT_ERROR_EQ(einsum("...i...", {m}),
                  "einsum: equation \"...i...\": found '.' for operand 0, which already has an ellipsis");
  EXPECT_ERROR_EQ(einsum("...->......", {m}),
                  "einsum: equation \"...->......\": found '.' for the output, which already has an ellipsis");
  EXPECT_ERROR_EQ(einsum("ij->..", {m}),
                  "einsum: equation \"ij->..\": found '.' for the output that is not part of an ellipsis (...)");
  EXPECT_ERROR_EQ(einsum("ijk", {m}),
                  "einsum: equation \"ijk\": operand 0 has 3 subscripts but 2 dims (shape [2, 3]), and no ellipsis");
  EXPECT_ERROR_EQ(einsum("...ijk", {m}),
                  "einsum: equation \"...ijk\": operand 0 has 3 subscripts but 2 dims (shape [2, 3])");
  EXPECT_ERROR_EQ(einsum("ij->k", {m}),
                  "einsum: equation \"ij->k\": output subscript k does not appear in any operand");
  EXPECT_ERROR_EQ(einsum("ij->ii", {m}),
                  "einsum: equation \"ij->ii\": output subscript i appears more than once in the output");
  EXPECT_ERROR_EQ(einsum("ij,i->j", {m, v}),
                  "einsum: equation \"ij,i->j\": subscript i has size 3 in operand 1 (shape [3]), which does not "
                  "broadcast with size 2 before");
  EXPECT_ERROR_EQ(einsum("...i,...i", {zeros({2, 3}), zeros({4, 3})}),
                  "einsum: equation \"...i,...i\": dim 0 (under the ellipsis) has size 4 in operand 1 (shape [4, 3]), "
                  "which does not broadcast with size 2 before");
  // The dim counted in the operand as given, before its repeated letter became a diagonal.
  EXPECT_ERROR_EQ(einsum("...,ii...", {zeros({4}), zeros({3, 3, 5})}),
                  "einsum: equation \"...,ii...\": dim 2 (under the ellipsis) has size 5 in operand 1 (shape [3, 3, "
                  "5]), which does not broadcast with size 4 before");
  EXPECT_ERROR_EQ(einsum("ii", {m}),
                  "einsum: equation \"ii\": subscript i is repeated in operand 0 (shape [2, 3]) over dims of sizes 2 "
                  "and 3");
  EXPECT_ERROR_EQ(einsum("i,i", {v, Tensor()}), "einsum: equation \"i,i\": operand 1 is an undefined tensor");
  EXPECT_ERROR_EQ(einsum("i", {arange(0, 3, 1, kInt64)}),
                  "einsum: equation \"i\": operand 0 is int64; einsum takes float32 and float64 operands");
  EXPECT_ERROR_EQ(diagonal(v), "diagonal: the input needs at least 2 dims, but has shape [3]");
  EXPECT_ERROR_EQ(diagonal(m, 0, 1, -1), "diagonal: dim1 (1) and dim2 (-1) name the same dim 1 of shape [2, 3]");
  EXPECT_ERROR_EQ(diagonal(m, 0, 0, 2),
                  "diagonal: dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_ERROR_EQ(diagonal(Tensor()), "diagonal: argument 'self' is an undefined tensor");
}

}  // namespace
