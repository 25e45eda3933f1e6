// The scans, differences and selections a PyTorch port needs: cummax, cummin, logcumsumexp, diff
// (ops/cumulative.h), linalg_cross, cross, trace, diag, diag_embed (ops/linalg.h), masked_select,
// masked_scatter (ops/indexing.h), take_along_dim (ops/gather_scatter.h) and unique_consecutive
// (ops/histogram.h):
// - against PyTorch 1.13 (tests/fixtures/scan_select/scan_select.json, written by its generate.py): values,
//   indices and gradients bit for bit;
// - naive references on random shapes, float64 gradchecks and gradgradchecks, and exact errors. Views of
//   every argument are in test_views.cpp's table.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fixture.h"
#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;
using nlohmann::json;

const json& fixture() {
  static const json j = load_fixture("scan_select/scan_select.json");
  return j;
}

std::optional<std::int64_t> opt_dim(const json& o, const char* key = "dim") {
  if (!o.contains(key) || o[key].is_null()) return std::nullopt;
  return o[key].get<std::int64_t>();
}

// The voxgrad call for a case: its outputs by the fixture's names.
std::map<std::string, Tensor> call(const std::string& fn, const json& o, std::map<std::string, Tensor>& in) {
  const auto get = [&](const char* name) { return in.count(name) != 0 ? in[name] : Tensor(); };
  const Tensor x = get("input");
  if (fn == "masked_select") return {{"out", masked_select(x, get("mask"))}};
  if (fn == "masked_scatter") return {{"out", masked_scatter(x, get("mask"), get("source"))}};
  if (fn == "take_along_dim") return {{"out", take_along_dim(x, get("indices"), opt_dim(o))}};
  if (fn == "diff") {
    return {{"out",
             diff(x, o.value("n", std::int64_t{1}), o.value("dim", std::int64_t{-1}), get("prepend"), get("append"))}};
  }
  if (fn == "linalg_cross") return {{"out", linalg_cross(x, get("other"), o.value("dim", std::int64_t{-1}))}};
  if (fn == "cross") return {{"out", cross(x, get("other"), opt_dim(o))}};
  if (fn == "trace") return {{"out", trace(x)}};
  if (fn == "diag") return {{"out", diag(x, o.value("diagonal", std::int64_t{0}))}};
  if (fn == "diag_embed") {
    return {{"out", diag_embed(x, o.value("offset", std::int64_t{0}), o.value("dim1", std::int64_t{-2}),
                               o.value("dim2", std::int64_t{-1}))}};
  }
  if (fn == "cummax" || fn == "cummin") {
    const auto [v, i] =
        fn == "cummax" ? cummax(x, o["dim"].get<std::int64_t>()) : cummin(x, o["dim"].get<std::int64_t>());
    return {{"values", v}, {"indices", i}};
  }
  if (fn == "logcumsumexp") return {{"out", logcumsumexp(x, o["dim"].get<std::int64_t>())}};
  if (fn == "unique_consecutive") {
    const auto [v, i, n] = unique_consecutive(x, true, true, opt_dim(o));
    return {{"values", v}, {"inverse", i}, {"counts", n}};
  }
  ADD_FAILURE() << "unknown fn " << fn;
  return {};
}

// Whether input `name` broadcasts against another input (not source, which is read flattened): it has fewer
// dims, or size 1 where the other has more.
bool summed_over_broadcast(const json& inputs, const std::string& name) {
  const Shape mine = inputs[name]["shape"].get<Shape>();
  for (const auto& [other, t] : inputs.items()) {
    if (other == name || other == "source") continue;
    const Shape theirs = t["shape"].get<Shape>();
    if (theirs.size() > mine.size()) return true;
    for (std::size_t k = 0; k < theirs.size(); ++k) {
      if (mine[mine.size() - 1 - k] == 1 && theirs[theirs.size() - 1 - k] > 1) return true;
    }
  }
  return false;
}

class ScanSelectFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ScanSelectFixture, ValuesIndicesAndGradientsAreTorchs) {
  const json* found = find_case(fixture(), GetParam());
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const bool grads = c.contains("grads") && !c["grads"].is_null();
  std::map<std::string, Tensor> in;
  const bool not_differentiable = c["fn"] == "unique_consecutive";
  for (const auto& [name, t] : c["inputs"].items()) {
    Tensor v = json_tensor(t);
    // unique_consecutive is not differentiable: its float inputs require grad, its outputs must not.
    if ((grads && c["grads"].contains(name)) || (not_differentiable && v.dtype() != kInt64)) v.requires_grad_(true);
    in[name] = v;
  }
  const std::map<std::string, Tensor> out = call(c["fn"], c["options"], in);
  for (const auto& [name, want] : c["outputs"].items()) {
    SCOPED_TRACE(name);
    ASSERT_EQ(out.count(name), 1U);
    const Tensor w = json_tensor(want);
    if (w.dtype() == kInt64) {
      EXPECT_TRUE(bit_identical(out.at(name), w));
    } else {
      EXPECT_TRUE(same_bits_any_nan(out.at(name), w));
    }
  }
  if (!grads) {
    for (const auto& [name, t] : out) EXPECT_FALSE(t.requires_grad()) << name;
    return;
  }
  std::vector<Tensor> outputs, upstream;
  for (const auto& [name, g] : c["upstream"].items()) {
    outputs.push_back(out.at(name));
    upstream.push_back(json_tensor(g));
  }
  std::vector<std::string> names;
  std::vector<Tensor> leaves;
  for (const auto& [name, g] : c["grads"].items()) {
    names.push_back(name);
    leaves.push_back(in[name]);
  }
  const std::vector<Tensor> got = autograd::grad(outputs, leaves, upstream);
  const std::string fn = c["fn"];
  for (std::size_t k = 0; k < names.size(); ++k) {
    SCOPED_TRACE("gradient of " + names[k]);
    ASSERT_TRUE(got[k].defined());
    const Tensor want = json_tensor(c["grads"][names[k]]);
    const double tol = want.dtype() == kFloat32 ? 1e-6 : 1e-14;
    if (fn == "trace" && got[k].size(0) > got[k].size(1) + 1) {
      // PyTorch 1.13's trace_backward writes g at every (cols + 1)-th element, off the diagonal of a
      // matrix with more rows than columns + 1; the gradient is g on the diagonal and 0 elsewhere.
      const std::vector<double> gv = values(got[k]);
      const double g = values(upstream[0])[0];
      for (std::int64_t i = 0; i < got[k].size(0); ++i) {
        for (std::int64_t j = 0; j < got[k].size(1); ++j) {
          EXPECT_EQ(gv[static_cast<std::size_t>(i * got[k].size(1) + j)], i == j ? g : 0.0) << i << ", " << j;
        }
      }
      EXPECT_FALSE(bit_identical(got[k], want));
    } else if (fn == "logcumsumexp") {
      // Its backward's exp and log are glibc's here and SLEEF's vectorised ones in PyTorch: an ulp or so apart.
      expect_close_nan(got[k], want, tol * 100, tol * 100);
    } else if (summed_over_broadcast(c["inputs"], names[k])) {
      // Summed over the broadcast dims in voxgrad's order (sum_to_size), not ATen's.
      expect_close_nan(got[k], want, tol, tol);
    } else {
      EXPECT_TRUE(same_bits_any_nan(got[k], want));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, ScanSelectFixture, ::testing::ValuesIn(fixture_case_names(fixture)), name_from_param);

TEST(ScanSelectFixtureFile, HoldsEveryOp) {
  std::map<std::string, int> count;
  for (const json& c : fixture()["cases"]) ++count[c["fn"].get<std::string>()];
  for (const char* fn : {"masked_select", "masked_scatter", "take_along_dim", "diff", "linalg_cross", "cross", "trace",
                         "diag", "diag_embed", "cummax", "cummin", "logcumsumexp", "unique_consecutive"}) {
    EXPECT_GE(count[fn], 2) << fn;
  }
  EXPECT_EQ(fixture()["torch_version"].get<std::string>().substr(0, 4), "1.13");
}

// ---- naive references on random shapes ----------------------------------------------------------------

Tensor random_tensor(const Shape& shape, std::mt19937_64& rng, bool ties) {
  std::int64_t n = 1;
  for (const std::int64_t s : shape) n *= s;
  std::vector<double> v(static_cast<std::size_t>(n));
  std::uniform_real_distribution<double> u(-4.0, 4.0);
  for (double& e : v) e = ties ? std::round(u(rng)) : u(rng);
  return f64(v, shape);
}

Shape random_shape(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> dims(1, 4), size(1, 5);
  Shape s(static_cast<std::size_t>(dims(rng)));
  for (std::int64_t& e : s) e = size(rng);
  return s;
}

// Slice j of x along d, as a vector, and where its element i is in the contiguous layout.
std::int64_t flat_index(const Shape& shape, std::int64_t d, std::int64_t slice, std::int64_t i) {
  std::int64_t inner = 1;
  for (std::size_t k = static_cast<std::size_t>(d) + 1; k < shape.size(); ++k) inner *= shape[k];
  const std::int64_t outer = slice / inner, in = slice % inner;
  return (outer * shape[static_cast<std::size_t>(d)] + i) * inner + in;
}

TEST(ScanSelect, ScansMatchANaiveLoopOnRandomShapes) {
  std::mt19937_64 rng(20261208);
  for (int trial = 0; trial < 40; ++trial) {
    const Shape shape = random_shape(rng);
    const Tensor x = random_tensor(shape, rng, true);
    const std::int64_t d = std::uniform_int_distribution<std::int64_t>(0, x.dim() - 1)(rng);
    const std::vector<double> v = values(x);
    const std::int64_t n = shape[static_cast<std::size_t>(d)], slices = x.numel() / n;
    std::vector<double> mx(v.size()), mn(v.size()), lse(v.size());
    std::vector<double> imx(v.size()), imn(v.size());
    for (std::int64_t s = 0; s < slices; ++s) {
      double best_max = -kInf, best_min = kInf, acc = -kInf;
      std::int64_t at_max = 0, at_min = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const auto f = static_cast<std::size_t>(flat_index(shape, d, s, i));
        if (v[f] >= best_max) best_max = v[f], at_max = i;
        if (v[f] <= best_min) best_min = v[f], at_min = i;
        const double hi = std::max(acc, v[f]), lo = std::min(acc, v[f]);
        acc = hi + std::log1p(std::exp(lo - hi));
        mx[f] = best_max, imx[f] = static_cast<double>(at_max);
        mn[f] = best_min, imn[f] = static_cast<double>(at_min);
        lse[f] = acc;
      }
    }
    const auto [vmax, imax] = cummax(x, d);
    const auto [vmin, imin] = cummin(x, d - x.dim());
    expect_values(vmax, shape, mx, 0.0);
    expect_values(imax, shape, imx, 0.0);
    expect_values(vmin, shape, mn, 0.0);
    expect_values(imin, shape, imn, 0.0);
    expect_values(logcumsumexp(x, d), shape, lse, 1e-14);
    // diff of order 2 along d: x[i+2] − 2 x[i+1] + x[i] as two subtractions.
    Shape dshape = shape;
    dshape[static_cast<std::size_t>(d)] = std::max<std::int64_t>(n - 2, 0);
    std::vector<double> dd;
    const Tensor dx = diff(x, 2, d);
    ASSERT_EQ(dx.sizes(), dshape);
    const std::vector<double> dc = values(dx.contiguous());
    for (std::int64_t s = 0; s < slices && n > 2; ++s) {
      for (std::int64_t i = 0; i + 2 < n; ++i) {
        const double a = v[static_cast<std::size_t>(flat_index(shape, d, s, i))];
        const double b = v[static_cast<std::size_t>(flat_index(shape, d, s, i + 1))];
        const double e = v[static_cast<std::size_t>(flat_index(shape, d, s, i + 2))];
        EXPECT_EQ(dc[static_cast<std::size_t>(flat_index(dshape, d, s, i))], (e - b) - (b - a));
      }
    }
  }
}

TEST(ScanSelect, CrossMatchesTheDeterminantFormulaWithFma) {
  std::mt19937_64 rng(7);
  for (const Shape& shape : {Shape{3}, Shape{4, 3}, Shape{3, 5}, Shape{2, 3, 4}}) {
    const Tensor a = random_tensor(shape, rng, false), b = random_tensor(shape, rng, false);
    const std::int64_t d = shape.size() == 2 && shape[1] == 5 ? 0 : (shape.size() == 3 ? 1 : -1);
    const Tensor got = linalg_cross(a, b, d).contiguous();
    const std::int64_t dd = d < 0 ? a.dim() + d : d;
    const std::int64_t slices = a.numel() / 3;
    const std::vector<double> va = values(a), vb = values(b), vg = values(got);
    for (std::int64_t s = 0; s < slices; ++s) {
      for (int k = 0; k < 3; ++k) {
        const auto at = [&](const std::vector<double>& v, int c) {
          return v[static_cast<std::size_t>(flat_index(shape, dd, s, c))];
        };
        const int p = (k + 1) % 3, q = (k + 2) % 3;
        EXPECT_EQ(vg[static_cast<std::size_t>(flat_index(shape, dd, s, k))],
                  std::fma(at(va, p), at(vb, q), -(at(va, q) * at(vb, p))));
      }
    }
  }
  // float32: (1 + 2^-12)² − 1 = 2^-11 + 2^-24 exactly with fma (torch's contracted kernel); the product
  // rounded first would lose the 2^-24.
  const float e = 1.0F + std::ldexp(1.0F, -12);
  const Tensor a = tensor({0.0, e, 1.0}, kFloat32), b = tensor({0.0, 1.0, e}, kFloat32);
  EXPECT_EQ(values(linalg_cross(a, b))[0], std::ldexp(1.0, -11) + std::ldexp(1.0, -24));
}

TEST(ScanSelect, HandPickedValues) {
  const Tensor v = f64({1, kNaN, 3, kNaN, 5});
  const auto [m, i] = cummax(v, 0);
  EXPECT_TRUE(std::isnan(values(m)[4]));
  expect_values(i, {5}, {0, 1, 1, 3, 3});  // each later NaN takes the place, as ATen's kernel
  expect_values(std::get<1>(cummin(f64({2, 1, 1, 3, 1}), 0)), {5}, {0, 1, 2, 2, 4});
  expect_bitwise_equal(logcumsumexp(f64({-kInf, -kInf, 0.0, kInf, 1.0}), 0), f64({-kInf, -kInf, 0.0, kInf, kInf}),
                       "logcumsumexp with infinities");
  expect_values(std::get<0>(cummax(tensor({3, 1, 4, 1, 5}, kInt64), 0)), {5}, {3, 3, 4, 4, 5});
  expect_values(trace(tensor({1, 2, 3, 4, 5, 6}, kInt64).reshape({2, 3})), {}, {6});
  expect_values(diag(f64({1, 2}), 1), {3, 3}, {0, 1, 0, 0, 0, 2, 0, 0, 0});
  EXPECT_EQ(diag(f64({1, 2, 3, 4, 5, 6}, {2, 3}), 5).numel(), 0);  // PyTorch 1.13 raises here
  expect_values(diff(f64({1, 4, 9, 16})), {3}, {3, 5, 7});
  expect_values(diff(f64({1, 4, 9, 16}), 7), {0}, {});
  const Tensor x = f64({1, 2, 3});
  const Tensor copy = diff(x, 0);
  expect_values(copy, {3}, {1, 2, 3});
  EXPECT_NE(copy.data_ptr<double>(), x.data_ptr<double>());
  expect_values(masked_select(f64({1, 2, 3, 4, 5, 6}, {2, 3}), f64({1, 0, 1})), {4}, {1, 3, 4, 6});
  expect_values(masked_scatter(zeros({3}, kFloat64), f64({1, 0, 1, 0, 1, 1}, {2, 3}), f64({7, 8, 9, 10, 11})), {2, 3},
                {7, 0, 8, 0, 9, 10});
  expect_values(take_along_dim(f64({1, 2, 3, 4, 5, 6}, {2, 3}), tensor({5, 0}, kInt64)), {2}, {6, 1});
  const auto [u, inv, cnt] = unique_consecutive(f64({1, 1, 2, kNaN, kNaN, 2, 1}), true, true);
  expect_bitwise_equal(u, f64({1, 2, kNaN, kNaN, 2, 1}), "unique_consecutive with NaN");
  expect_values(inv, {7}, {0, 0, 1, 2, 3, 4, 5});
  expect_values(cnt, {6}, {2, 1, 1, 1, 1, 1});
  const auto [ur, ir, cr] = unique_consecutive(f64({1, 2, 1, 2, 3, 4, 1, 2}, {4, 2}), true, true, 0);
  expect_values(ur, {3, 2}, {1, 2, 3, 4, 1, 2});
  expect_values(ir, {4}, {0, 0, 1, 2});
  expect_values(cr, {3}, {2, 1, 1});
  const auto [ue, ie, ce] = unique_consecutive(zeros({0}, kFloat64), true, true);
  EXPECT_EQ(ue.numel(), 0);
  EXPECT_EQ(ce.numel(), 0);
  // Not asked for: empty int64 tensors.
  const auto [u2, i2, c2] = unique_consecutive(f64({1, 1}));
  EXPECT_EQ(i2.numel(), 0);
  EXPECT_EQ(c2.numel(), 0);
}

TEST(ScanSelect, GradcheckAndGradgradcheck) {
  const Tensor x = uniform_leaf({3, 4, 2}, -1.0, 1.0, 11);
  const Tensor y = uniform_leaf({3, 1, 2}, -1.0, 1.0, 12);
  const Tensor v3 = uniform_leaf({1, 2, 3}, -1.0, 1.0, 13);
  const Tensor w3 = uniform_leaf({4, 1, 3}, -1.0, 1.0, 14);
  const Tensor src = uniform_leaf({30}, -1.0, 1.0, 15);
  const Tensor mask = f64({1, 0, 1, 1, 0, 0, 1, 0}, {4, 2});
  const Tensor idx = tensor({0, 3, 3, 1, 2, 0}, kInt64).reshape({1, 3, 2});
  using V = std::vector<Tensor>;
  const std::vector<std::pair<const char*, std::function<Tensor(const V&)>>> fns = {
      {"cummax", [](const V& a) { return std::get<0>(cummax(a[0], 1)); }},
      {"cummin", [](const V& a) { return std::get<0>(cummin(a[0], 0)); }},
      {"logcumsumexp", [](const V& a) { return logcumsumexp(a[0], 1); }},
      {"diff", [&](const V& a) { return diff(a[0], 2, 1, y, x.narrow(1, 0, 1)); }},
      {"masked_select", [&](const V& a) { return masked_select(a[0], mask); }},
      {"masked_scatter", [&](const V& a) { return masked_scatter(a[0], mask, src); }},
      {"take_along_dim", [&](const V& a) { return take_along_dim(a[0], idx, 1); }},
      {"trace",
       [](const V& a) {
         return trace(a[0].reshape({4, 6}));
       }},
      {"diag",
       [](const V& a) {
         return diag(a[0].reshape({4, 6}), -1) + 0.0;
       }},
      {"diag_embed", [](const V& a) { return diag_embed(a[0], -1, 0, 2); }},
  };
  for (const auto& [name, fn] : fns) {
    SCOPED_TRACE(name);
    expect_gradcheck(fn, {x});
    expect_gradgradcheck(fn, {x});
  }
  expect_gradcheck([](const V& a) { return linalg_cross(a[0], a[1]); }, {v3, w3});
  expect_gradgradcheck([](const V& a) { return cross(a[0], a[1], -1); }, {v3, w3});
  expect_gradcheck([](const V& a) { return diff(a[0], 1, 1, a[1], a[2]); }, {x, y, y});
  expect_gradcheck([&](const V& a) { return masked_scatter(a[0], mask, a[1]); },
                   {uniform_leaf({4, 1}, -1.0, 1.0, 16), src});
  expect_gradcheck([](const V& a) { return diag(a[0].flatten(), 2); }, {v3});
}

TEST(ScanSelect, ErrorsNameTheOpAndTheValues) {
  const Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_ERROR_CONTAINS(masked_select(x, f64({1, 0})), "masked_select");
  EXPECT_ERROR_CONTAINS(masked_select(x, f64({1, 0, 2})), "must hold only 0 and 1");
  EXPECT_ERROR_EQ(
      masked_scatter(x, f64({1, 1, 1}), f64({1, 2, 3, 4, 5})),
      "masked_scatter: source has 5 elements, fewer than the 6 ones of the mask (broadcast to shape [2, 3])");
  EXPECT_ERROR_EQ(masked_scatter(x, f64({1, 1, 1}), zeros({6}, kFloat32)),
                  "masked_scatter: expected self and source of one dtype, but got float64 and float32");
  EXPECT_ERROR_EQ(take_along_dim(x, tensor({0}, kInt64).reshape({1, 1, 1}), 1),
                  "take_along_dim: input and indices should have the same number of dims, but got shapes [2, 3] and "
                  "[1, 1, 1]");
  EXPECT_ERROR_EQ(take_along_dim(x, f64({0}, {1, 1}), 1), "take_along_dim: expected int64 indices, but got float64");
  EXPECT_ERROR_CONTAINS(take_along_dim(x, tensor({7}, kInt64).reshape({1, 1}), 1), "take_along_dim: index 7");
  EXPECT_ERROR_CONTAINS(take_along_dim(x, tensor({6}, kInt64)), "take_along_dim: index 6");
  EXPECT_ERROR_EQ(take_along_dim(x, f64({0})), "take_along_dim: expected int64 indices, but got float64");
  EXPECT_ERROR_EQ(take_along_dim(f64({1}).reshape({}), tensor({0}, kInt64).reshape({}), 0),
                  "take_along_dim: dim 0 given for 0-d input and indices");
  EXPECT_ERROR_EQ(linalg_cross(f64({1}).reshape({}), f64({1}).reshape({})),
                  "linalg.cross: expected inputs with a dim of size 3, but got 0-d tensors");
  EXPECT_ERROR_EQ(unique_consecutive(f64({1}).reshape({}), false, false, 0),
                  "unique_consecutive: dim 0 given for a 0-d input");
  EXPECT_ERROR_EQ(unique_consecutive(zeros({3, 0}, kFloat64), false, false, 0),
                  "unique_consecutive: dim 1 of the input (shape [3, 0]) has size 0 and is not the selected dim 0, so "
                  "slices along dim 0 cannot be compared (PyTorch raises too)");
  EXPECT_ERROR_CONTAINS(masked_scatter(Tensor(), x, x), "masked_scatter");
  EXPECT_ERROR_CONTAINS(take_along_dim(x, tensor({0}, kInt64).reshape({1, 1}), 3), "take_along_dim");
  EXPECT_ERROR_EQ(diff(f64({1}).reshape({})),
                  "diff: expects input to be at least one-dimensional, but got a 0-d tensor");
  EXPECT_ERROR_EQ(diff(x, -1), "diff: order must be non-negative, but got n = -1");
  EXPECT_ERROR_EQ(diff(x, 1, -1, f64({1})),
                  "diff: expects prepend to have the same number of dimensions as input (2), but got shape [1]");
  EXPECT_ERROR_EQ(diff(x, 1, -1, Tensor(), zeros({1, 1}, kFloat64)),
                  "diff: expects the shape of append to match that of input except along dim 1; input.size(0) = 2, "
                  "but append.size(0) = 1");
  EXPECT_ERROR_EQ(linalg_cross(zeros({4, 2}, kFloat64), zeros({4, 2}, kFloat64)),
                  "linalg.cross: inputs dimension 1 must have length 3, but got 2 and 2");
  EXPECT_ERROR_EQ(linalg_cross(zeros({2, 3}, kFloat64), zeros({5, 2, 3}, kFloat64)),
                  "linalg.cross: inputs must have the same number of dimensions, but got shapes [2, 3] and [5, 2, 3]");
  EXPECT_ERROR_CONTAINS(linalg_cross(zeros({4, 3}, kFloat64), zeros({5, 3}, kFloat64)), "linalg.cross");
  EXPECT_ERROR_EQ(linalg_cross(zeros({3}, kFloat64), zeros({3}, kFloat32)),
                  "linalg.cross: expected input and other of one dtype, but got float64 and float32");
  EXPECT_ERROR_EQ(cross(zeros({2, 4}, kFloat64), zeros({2, 4}, kFloat64)),
                  "cross: no dimension of size 3 in input (shape [2, 4])");
  EXPECT_ERROR_EQ(trace(zeros({3}, kFloat64)), "trace: expected a matrix, but got a tensor of shape [3]");
  EXPECT_ERROR_EQ(diag(zeros({2, 2, 2}, kFloat64)),
                  "diag: expected a 1-D or 2-D tensor (a vector or a matrix), but got shape [2, 2, 2]");
  EXPECT_ERROR_EQ(diag_embed(x, 0, 0, -3),
                  "diag_embed: diagonal dimensions cannot be identical, but dim1 = 0 and dim2 = -3 are both 0");
  EXPECT_ERROR_CONTAINS(diag_embed(x, 0, 5), "diag_embed");
  EXPECT_ERROR_CONTAINS(cummax(x, 2), "cummax");
  EXPECT_ERROR_EQ(diff(tensor({1, 5, 2}, kInt64)), "diff: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_CONTAINS(logcumsumexp(zeros({3}, kInt64), 0), "logcumsumexp");
  EXPECT_ERROR_CONTAINS(unique_consecutive(x, false, false, 2), "unique_consecutive");
}

TEST(ScanSelect, AnInPlaceOpOnAResultKeepsItsNodeInTheGraph) {
  // Each result is a tensor of its own with the op's node (linalg_cross along the last dim once returned a
  // view of its rows' buffer, and an in-place op on it then cut the inputs off the graph): doubling the
  // result in place doubles the gradient.
  using V = std::vector<Tensor>;
  const std::vector<std::pair<const char*, std::function<Tensor(const V&)>>> fns = {
      {"linalg_cross", [](const V& a) { return linalg_cross(a[0], a[1]); }},
      {"cross", [](const V& a) { return cross(a[0], a[1], 1); }},
      {"cummax", [](const V& a) { return std::get<0>(cummax(a[0], 1)); }},
      {"diff", [](const V& a) { return diff(a[0], 1, 0, a[1]); }},
      {"trace", [](const V& a) { return trace(a[0]); }},
      {"diag", [](const V& a) { return diag(a[0], 1); }},
      {"diag_embed", [](const V& a) { return diag_embed(a[0]); }},
      {"masked_select",
       [](const V& a) {
         return masked_select(a[0], f64({1, 0, 1}));
       }},
      {"masked_scatter",
       [](const V& a) {
         return masked_scatter(a[0], f64({1, 0, 1}), a[1]);
       }},
      {"take_along_dim",
       [](const V& a) {
         return take_along_dim(a[0], tensor({2, 0}, kInt64).reshape({1, 2}), 1);
       }},
  };
  for (const auto& [name, fn] : fns) {
    SCOPED_TRACE(name);
    const Tensor a = uniform_leaf({4, 3}, -1.0, 1.0, 21), b = uniform_leaf({4, 3}, -1.0, 1.0, 22);
    fn({a, b}).sum().backward();
    const Tensor ga = a.grad().clone(), gb = b.grad().defined() ? b.grad().clone() : Tensor();
    a.set_grad(Tensor());
    b.set_grad(Tensor());
    Tensor r = fn({a, b});
    r.mul_(2.0);
    r.sum().backward();
    ASSERT_TRUE(a.grad().defined());
    expect_close(a.grad(), ga * 2.0, 0.0);
    if (gb.defined()) expect_close(b.grad(), gb * 2.0, 0.0);
  }
  // logcumsumexp's backward reads its output: modified in place, it is refused, as in PyTorch.
  const Tensor a = uniform_leaf({4, 3}, -1.0, 1.0, 23);
  Tensor r = logcumsumexp(a, 0);
  r.mul_(2.0);
  EXPECT_ERROR_CONTAINS(r.sum().backward(), "saved by LogcumsumexpBackward is at version 1");
}

// An int64 tensor holding `v` exactly (tensor() takes doubles).
Tensor i64(const std::vector<std::int64_t>& v) {
  return from_blob(v.data(), {static_cast<std::int64_t>(v.size())});  // a copy
}

std::vector<std::int64_t> ints(const Tensor& t) {
  const Tensor c = t.contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

TEST(ScanSelect, Int64WrapsAroundAndStartsAtTheLowestValue) {
  using L = std::numeric_limits<std::int64_t>;
  const std::int64_t big = std::int64_t{1} << 62;
  EXPECT_EQ(ints(std::get<0>(cummax(i64({L::min(), L::min(), 3}), 0))),
            (std::vector<std::int64_t>{L::min(), L::min(), 3}));
  EXPECT_EQ(ints(std::get<0>(cummin(i64({L::max(), L::max(), 1}), 0))),
            (std::vector<std::int64_t>{L::max(), L::max(), 1}));
  // As ATen's (checked with PyTorch 1.13): 2^62 + 2^62 wraps to INT64_MIN, 2^62 · 4 to 0.
  EXPECT_EQ(trace(i64({big, 0, 0, big}).reshape({2, 2})).item<std::int64_t>(), L::min());
  EXPECT_EQ(ints(linalg_cross(i64({0, big, 0}), i64({0, 0, 4})))[0], 0);
}

TEST(ScanSelect, TensorMethodsGiveTheFunctionsResults) {
  const Tensor x = uniform_leaf({3, 3}, -1.0, 1.0, 41), y = uniform_leaf({3, 3}, -1.0, 1.0, 42);
  const Tensor mask = f64({1, 0, 1});
  const Tensor idx = tensor({2, 0}, kInt64).reshape({1, 2});
  EXPECT_TRUE(bit_identical(std::get<1>(x.cummax(0)), std::get<1>(cummax(x, 0))));
  EXPECT_TRUE(bit_identical(std::get<0>(x.cummin(1)), std::get<0>(cummin(x, 1))));
  EXPECT_TRUE(bit_identical(x.logcumsumexp(1), logcumsumexp(x, 1)));
  EXPECT_TRUE(bit_identical(x.diff(2, 0, y), diff(x, 2, 0, y)));
  EXPECT_TRUE(bit_identical(x.cross(y), cross(x, y)));
  EXPECT_TRUE(bit_identical(x.trace(), trace(x)));
  EXPECT_TRUE(bit_identical(x.diag(-1), diag(x, -1)));
  EXPECT_TRUE(bit_identical(x.diag_embed(1, 0, 2), diag_embed(x, 1, 0, 2)));
  EXPECT_TRUE(bit_identical(x.masked_select(mask), masked_select(x, mask)));
  EXPECT_TRUE(bit_identical(x.masked_scatter(mask, y), masked_scatter(x, mask, y)));
  EXPECT_TRUE(bit_identical(x.take_along_dim(idx, 1), take_along_dim(x, idx, 1)));
  EXPECT_TRUE(bit_identical(std::get<2>(x.round().unique_consecutive(false, true, 0)),
                            std::get<2>(unique_consecutive(x.round(), false, true, 0))));
}

}  // namespace
