// sort, argsort, topk, cumsum, cumprod, logsumexp, amax, amin, prod, lerp, any, all, repeat, tile, tril, triu,
// outer, dot and the element-wise math of
// ops/elementwise_math.h (log1p, expm1, log2, log10, exp2, square, sin, cos, reciprocal, rsqrt, roundings, maximum,
// minimum, clamp with tensor bounds, logical ops) against PyTorch 1.13:
// tests/fixtures/sortops/sortops.json, written by tests/fixtures/sortops/generate.py. Each case names
// an op applied to the stored inputs; the output, the indices (sort, topk) and the gradient of every
// differentiable input for the stored upstream gradient must match PyTorch's, NaN for NaN.

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fixture.h"
#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using nlohmann::json;
namespace vt = voxgrad::testing;

using V = const std::vector<Tensor>&;
using Pair = std::tuple<Tensor, Tensor>;
using Op = std::function<Pair(V)>;

Op single(std::function<Tensor(V)> f) {
  return [f](V a) { return Pair{f(a), Tensor()}; };
}

// The voxgrad op of every fixture case, by name (the Python lambdas in generate.py).
const std::map<std::string, Op>& ops() {
  static const std::map<std::string, Op> table = {
      {"sort_last_dim", [](V a) { return sort(a[0], -1, false, true); }},
      {"sort_dim0_descending", [](V a) { return sort(a[0], 0, true, true); }},
      {"sort_nan_and_ties", [](V a) { return a[0].sort(-1, false, true); }},
      {"sort_nan_and_ties_descending", [](V a) { return a[0].sort(1, true, true); }},
      {"sort_float32_middle_dim", [](V a) { return sort(a[0], 1, false, true); }},
      {"sort_0d", [](V a) { return sort(a[0], -1, false, true); }},
      {"topk_largest", [](V a) { return topk(a[0], 2); }},
      {"topk_smallest_dim0", [](V a) { return a[0].topk(3, 0, false); }},
      {"topk_k0", [](V a) { return topk(a[0], 0); }},
      {"topk_with_nan", [](V a) { return topk(a[0], 2); }},
      {"topk_smallest_with_nan", [](V a) { return topk(a[0], 3, -1, false); }},
      {"cumsum_dim1", single([](V a) { return cumsum(a[0], 1); })},
      {"cumsum_float32_dim0", single([](V a) { return a[0].cumsum(0); })},
      {"cumsum_negative_dim_3d", single([](V a) { return cumsum(a[0], -2); })},
      {"cumprod_no_zeros", single([](V a) { return cumprod(a[0], 1); })},
      {"cumprod_zeros", single([](V a) { return a[0].cumprod(1); })},
      {"cumprod_zeros_dim0", single([](V a) { return cumprod(a[0], 0); })},
      {"logsumexp_two_dims", single([](V a) {
         return logsumexp(a[0], {0, 2});
       })},
      {"logsumexp_large_and_infinite", single([](V a) { return a[0].logsumexp(1, true); })},
      {"logsumexp_float32", single([](V a) { return logsumexp(a[0], -1); })},
      {"amax_ties", single([](V a) { return amax(a[0], 1); })},
      {"amin_all_keepdim", single([](V a) { return a[0].amin({}, true); })},
      {"amax_dims_with_nan", single([](V a) { return a[0].amax(-1); })},
      {"amin_two_dims", single([](V a) {
         return amin(a[0], {0, 2});
       })},
      {"prod_all_no_zeros", single([](V a) { return prod(a[0]); })},
      {"prod_all_one_zero", single([](V a) { return a[0].prod(); })},
      {"prod_all_two_zeros", single([](V a) { return prod(a[0]); })},
      {"prod_dim_no_zeros", single([](V a) { return prod(a[0], 0); })},
      {"prod_dim_zeros_keepdim", single([](V a) { return a[0].prod(1, true); })},
      {"lerp_scalar_small_weight", single([](V a) { return lerp(a[0], a[1], 0.3); })},
      {"lerp_scalar_large_weight", single([](V a) { return a[0].lerp(a[1], 0.75); })},
      {"lerp_tensor_weight", single([](V a) { return lerp(a[0], a[1], a[2]); })},
      {"lerp_tensor_weight_float32", single([](V a) { return a[0].lerp(a[1], a[2]); })},
      {"log1p", single([](V a) { return log1p(a[0]); })},
      {"log1p_tiny_float32", single([](V a) { return a[0].log1p(); })},
      {"expm1", single([](V a) { return expm1(a[0]); })},
      {"expm1_tiny_float32", single([](V a) { return a[0].expm1(); })},
      {"sin", single([](V a) { return sin(a[0]); })},
      {"cos_float32", single([](V a) { return a[0].cos(); })},
      {"reciprocal", single([](V a) { return reciprocal(a[0]); })},
      {"rsqrt", single([](V a) { return a[0].rsqrt(); })},
      {"round_halves", single([](V a) { return round(a[0]); })},
      {"floor_ceil_trunc", single([](V a) { return floor(a[0]) + 2.0 * ceil(a[0]) + 4.0 * a[0].trunc(); })},
      {"maximum_ties_nan", single([](V a) { return maximum(a[0], a[1]); })},
      {"maximum_broadcast", single([](V a) { return a[0].maximum(a[1]); })},
      {"minimum_ties_nan", single([](V a) { return minimum(a[0], a[1]); })},
      {"minimum_broadcast_float32", single([](V a) { return a[1].minimum(a[0]); })},
      {"log2", single([](V a) { return log2(a[0]); })},
      {"log10_float32", single([](V a) { return a[0].log10(); })},
      {"exp2", single([](V a) { return exp2(a[0]); })},
      {"square_float32", single([](V a) { return a[0].square(); })},
      {"round_decimals", single([](V a) { return round(a[0], 2); })},
      {"round_decimals_negative_float32", single([](V a) { return a[0].round(-1); })},
      {"round_decimals_many_float32", single([](V a) { return round(a[0], 3); })},
      {"clamp_tensor_bounds", single([](V a) { return clamp(a[0], a[1], a[2]); })},
      {"clamp_tensor_crossed_and_nan", single([](V a) { return a[0].clamp(a[1], a[2]); })},
      {"clamp_tensor_min_float32", single([](V a) { return clamp(a[0], a[1]); })},
      {"clamp_tensor_max", single([](V a) { return clamp(a[0], std::nullopt, a[1]); })},
      {"logical_ops", single([](V a) {
         return logical_and(a[0], a[1]) + 2.0 * a[0].logical_or(a[1]) + 4.0 * logical_xor(a[0], a[1]) +
                8.0 * logical_not(a[0]);
       })},
      {"any_all", single([](V a) {
         return stack({any(a[0], 1), all(a[0], 1)}) + any(a[0]) + 2.0 * a[0].all();
       })},
      {"any_all_keepdim_float32", single([](V a) { return a[0].any(0, true) + 2.0 * all(a[0], -1, true); })},
      {"repeat_leading_dims", single([](V a) {
         return a[0].repeat({2, 1, 3});
       })},
      {"repeat_zero", single([](V a) {
         return repeat(a[0], {0, 2});
       })},
      {"tile_short_reps_float32", single([](V a) {
         return tile(a[0], {2, 1});
       })},
      {"tile_long_reps", single([](V a) {
         return a[0].tile({2, 1, 2});
       })},
      {"tril_batched_below", single([](V a) { return tril(a[0], -1); })},
      {"tril_nan_above", single([](V a) { return a[0].tril(); })},
      {"triu_float32_wide", single([](V a) { return a[0].triu(2); })},
      {"triu_tall_negative", single([](V a) { return triu(a[0], -2); })},
      {"outer", single([](V a) { return outer(a[0], a[1]); })},
      {"dot_float32", single([](V a) { return a[0].dot(a[1]); })},
      {"argsort_ties_descending", single([](V a) { return argsort(a[0], 1, true, true); })},
      {"argsort_dim0_nan", single([](V a) { return a[0].argsort(0); })},
  };
  return table;
}

const json& fixture() {
  static const json f = vt::load_fixture("sortops/sortops.json");
  return f;
}

// Same shape and dtype; NaN where PyTorch has NaN, the same infinities, else within 1e-12 (float64) or
// 1e-6 (float32, relative and absolute).
void expect_matches(const Tensor& got, const Tensor& want, bool exact = false) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.sizes(), want.sizes());
  const double tol = exact ? 0.0 : want.dtype() == kFloat32 ? 1e-6 : 1e-12;
  const std::vector<double> g = vt::values(got), w = vt::values(want);
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << "at flat index " << i << ": " << g[i] << " instead of NaN";
    } else if (std::isinf(w[i])) {
      EXPECT_EQ(g[i], w[i]) << "at flat index " << i;
    } else {
      EXPECT_NEAR(g[i], w[i], tol + tol * std::abs(w[i])) << "at flat index " << i;
      if (exact) {
        EXPECT_EQ(std::signbit(g[i]), std::signbit(w[i])) << "the sign of zero at flat index " << i;
      }
    }
  }
}

class SortScanFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(SortScanFixture, OutputIndicesAndGradientsMatchPyTorch) {
  const json* found = nullptr;
  for (const json& c : fixture().at("cases")) {
    if (c.at("name") == GetParam()) found = &c;
  }
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const auto op = ops().find(GetParam());
  ASSERT_NE(op, ops().end()) << "no voxgrad op for this case";
  std::vector<Tensor> inputs, wrt;
  for (std::size_t i = 0; i < c.at("inputs").size(); ++i) {
    Tensor t = vt::json_tensor(c.at("inputs")[i]);
    if (c.at("differentiable")[i].get<bool>()) {
      t.requires_grad_();
      wrt.push_back(t);
    }
    inputs.push_back(t);
  }
  const auto [y, indices] = op->second(inputs);
  // lerp is one rounding step per branch (a fused multiply-add, as ATen's kernel), and the roundings,
  // maximum, minimum, reciprocal, square, clamp and the masks are exact or correctly rounded: their bits must
  // match.
  bool exact = false;
  for (const char* prefix : {"lerp", "round", "floor", "maximum", "minimum", "reciprocal", "square", "clamp", "logical",
                             "any", "repeat", "tile", "tril", "triu", "outer", "argsort"}) {
    exact = exact || GetParam().rfind(prefix, 0) == 0;
  }
  expect_matches(y, vt::json_tensor(c.at("output")), exact);
  if (!c.at("indices").is_null()) {
    const Tensor want = vt::json_tensor(c.at("indices"));
    ASSERT_EQ(indices.dtype(), kInt64);
    ASSERT_EQ(indices.sizes(), want.sizes());
    EXPECT_EQ(vt::values(indices), vt::values(want));
    EXPECT_FALSE(indices.requires_grad());
  }
  if (wrt.empty()) {  // the masks: no gradient, even from inputs that require one
    std::vector<Tensor> leaves;
    for (const Tensor& t : inputs) leaves.push_back(t.detach().requires_grad_());
    EXPECT_FALSE(std::get<0>(op->second(leaves)).requires_grad());
    return;
  }
  const std::vector<Tensor> g =
      autograd::grad({y}, wrt, {vt::json_tensor(c.at("grad_output"))}, std::nullopt, false, true);
  std::size_t k = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!c.at("differentiable")[i].get<bool>()) continue;
    SCOPED_TRACE("gradient of input " + std::to_string(i));
    const Tensor& got = g[k++];
    ASSERT_TRUE(got.defined());
    expect_matches(got, vt::json_tensor(c.at("grads")[i]));
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, SortScanFixture, ::testing::ValuesIn(vt::fixture_case_names(fixture)),
                         vt::name_from_param);

TEST(SortScanFixture, EveryOpHasACaseAndTheFileIsFromTorch113) {
  EXPECT_EQ(fixture().at("torch_version").get<std::string>().substr(0, 4), "1.13");
  EXPECT_EQ(fixture().at("cases").size(), ops().size());
}

}  // namespace
