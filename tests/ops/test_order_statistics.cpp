// kthvalue, median, nanmedian, quantile and nanquantile (ops/order_statistics.h):
// - against PyTorch 1.13 (tests/fixtures/order_statistics/order_statistics.json, written by its generate.py):
//   values, indices and gradients bit for bit, float64 and float32, every interpolation, NaN slices;
// - against a naive reference (a full stable sort per slice) on random shapes with ties, NaNs and views;
// - the index taken among ties (the smallest), float64 gradchecks, and exact errors.
// Views of every argument, with gradients: tests/ops/test_views.cpp.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
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
  static const json j = load_fixture("order_statistics/order_statistics.json");
  return j;
}

// The voxgrad call for a case: values, and indices where fn returns them.
std::pair<Tensor, Tensor> call(const json& c, const Tensor& x, const Tensor& q) {
  const std::string fn = c["fn"];
  const json& o = c["options"];
  const bool keepdim = o.value("keepdim", false);
  const std::optional<std::int64_t> dim =
      o.contains("dim") ? std::optional<std::int64_t>(o["dim"].get<std::int64_t>()) : std::nullopt;
  if (fn == "kthvalue") {
    const auto [v, i] = kthvalue(x, o["k"].get<std::int64_t>(), dim.value_or(-1), keepdim);
    return {v, i};
  }
  if (fn == "median" || fn == "nanmedian") {
    if (!dim) return {fn == "median" ? x.median() : x.nanmedian(), Tensor()};
    const auto [v, i] = fn == "median" ? median(x, *dim, keepdim) : x.nanmedian(*dim, keepdim);
    return {v, i};
  }
  const std::string mode = o.value("interpolation", "linear");
  const bool nan = fn == "nanquantile";
  if (q.defined()) return {nan ? nanquantile(x, q, dim, keepdim, mode) : x.quantile(q, dim, keepdim, mode), Tensor()};
  const double qn = o["q"].get<double>();
  return {nan ? x.nanquantile(qn, dim, keepdim, mode) : quantile(x, qn, dim, keepdim, mode), Tensor()};
}

class OrderStatisticsFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(OrderStatisticsFixture, ValuesIndicesAndGradientsAreTorchs) {
  const json* found = find_case(fixture(), GetParam());
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const Tensor x = json_tensor(c["inputs"]["input"]).requires_grad_(true);
  const Tensor q = c["inputs"].contains("q") ? json_tensor(c["inputs"]["q"]).requires_grad_(true) : Tensor();
  const auto [values, indices] = call(c, x, q);
  EXPECT_TRUE(same_bits_any_nan(values, json_tensor(c["outputs"]["values"])));
  if (c["outputs"].contains("indices")) {
    ASSERT_TRUE(indices.defined());
    EXPECT_TRUE(bit_identical(indices, json_tensor(c["outputs"]["indices"])));
  }
  values.backward(json_tensor(c["grad_output"]));
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(same_bits_any_nan(x.grad(), json_tensor(c["grads"]["input"])));
  if (q.defined()) {
    SCOPED_TRACE("gradient of q");
    const json& want = c["grads"]["q"];
    if (want.is_null()) {
      EXPECT_TRUE(!q.grad().defined() || bit_identical(q.grad(), zeros_like(q)));
    } else {
      // A sum over the slices, in autograd's order (sum_to_size of the broadcast), not torch's.
      ASSERT_TRUE(q.grad().defined());
      expect_close_nan(q.grad(), json_tensor(want), 0.0, q.dtype() == kFloat32 ? 1e-6 : 1e-14);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, OrderStatisticsFixture, ::testing::ValuesIn(fixture_case_names(fixture)),
                         name_from_param);

TEST(OrderStatisticsFixtureFile, HoldsEveryOpInBothDtypes) {
  std::map<std::string, int> float32_cases, float64_cases;
  for (const json& c : fixture()["cases"]) {
    const bool f32 = c["outputs"]["values"]["dtype"] == "float32";
    ++(f32 ? float32_cases : float64_cases)[c["fn"].get<std::string>()];
  }
  for (const char* fn : {"kthvalue", "median", "nanmedian", "quantile", "nanquantile"}) {
    EXPECT_GE(float64_cases[fn], 2) << fn;
    EXPECT_GE(float32_cases[fn], 2) << fn;
  }
  EXPECT_EQ(fixture()["torch_version"].get<std::string>().substr(0, 4), "1.13");
}

// ---- a naive reference: each slice fully sorted (NaN last, ties by index) -------------------------------

struct Ref {
  std::vector<double> values;
  std::vector<std::int64_t> indices;
};

// Slices of a contiguous copy of x along d (moved last), each selected by pick(sorted slice, NaN count).
template <typename Pick>
Ref reference(const Tensor& x, std::int64_t d, Pick pick) {
  const Tensor m = x.detach().movedim({d}, {-1}).contiguous().to(kFloat64);
  const std::int64_t n = m.size(-1), slices = n == 0 ? 0 : m.numel() / n;
  const std::vector<double> v = values(m);
  Ref r;
  for (std::int64_t s = 0; s < slices; ++s) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    const double* row = v.data() + s * n;
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      if (std::isnan(row[a])) return false;
      return std::isnan(row[b]) || row[a] < row[b];
    });
    const auto nans = static_cast<std::int64_t>(std::count_if(row, row + n, [](double e) { return std::isnan(e); }));
    const std::int64_t at = order[static_cast<std::size_t>(pick(n, nans))];
    r.values.push_back(row[at]);
    r.indices.push_back(at);
  }
  return r;
}

void expect_matches(const std::tuple<Tensor, Tensor>& got, const Ref& want) {
  const std::vector<double> v = values(std::get<0>(got).contiguous().to(kFloat64));
  const std::vector<double> i = values(std::get<1>(got).contiguous().to(kFloat64));
  ASSERT_EQ(v.size(), want.values.size());
  for (std::size_t k = 0; k < v.size(); ++k) {
    EXPECT_TRUE(v[k] == want.values[k] || (std::isnan(v[k]) && std::isnan(want.values[k]))) << "slice " << k;
    EXPECT_EQ(static_cast<std::int64_t>(i[k]), want.indices[k]) << "slice " << k;
  }
}

// Random values from a few levels (many ties), some NaN, in shapes up to 4-D, contiguous and as views.
TEST(OrderStatistics, MatchTheNaiveReferenceWithTiesNaNsAndViews) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const auto rank = static_cast<std::int64_t>(rng() % 4 + 1);
    Shape shape;
    for (std::int64_t r = 0; r < rank; ++r) shape.push_back(static_cast<std::int64_t>(rng() % 6 + 1));
    Tensor base = randint(0, 4, shape, kFloat64).to(trial % 2 == 0 ? kFloat64 : kFloat32);
    base = where(rand(shape).lt(0.1), std::nan(""), base);
    // A view: every other element along the first dim of a tensor twice as long, or a permute.
    const Tensor x = trial % 3 == 0               ? cat({base, base}, 0).slice(0, 0, std::nullopt, 2)
                     : trial % 3 == 1 && rank > 1 ? base.transpose(0, rank - 1).contiguous().transpose(0, rank - 1)
                                                  : base;
    const auto d = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(rank));
    const std::int64_t n = x.size(d);
    SCOPED_TRACE("shape " + shape_str(shape) + ", dim " + std::to_string(d));
    const auto k = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n) + 1);
    expect_matches(kthvalue(x, k, d), reference(x, d, [k](std::int64_t, std::int64_t) { return k - 1; }));
    expect_matches(median(x, d), reference(x, d, [](std::int64_t len, std::int64_t nans) {
                     return nans > 0 ? len - nans : (len - 1) / 2;
                   }));
    expect_matches(nanmedian(x, d), reference(x, d, [](std::int64_t len, std::int64_t nans) {
                     return len == nans ? 0 : (len - nans - 1) / 2;
                   }));
    // keepdim keeps the same values with the dim as size 1.
    const auto [kv, ki] = median(x, d, true);
    Shape kept = x.sizes();
    kept[static_cast<std::size_t>(d)] = 1;
    EXPECT_EQ(kv.sizes(), kept);
    EXPECT_TRUE(same_bits_any_nan(kv.squeeze(d), std::get<0>(median(x, d))));
  }
}

TEST(OrderStatistics, TiesTakeTheSmallestIndex) {
  const Tensor x = tensor({2.0, 1.0, 2.0, 1.0, 2.0}, kFloat64);
  EXPECT_EQ(std::get<1>(kthvalue(x, 1)).item<std::int64_t>(), 1);
  EXPECT_EQ(std::get<1>(kthvalue(x, 2)).item<std::int64_t>(), 3);
  EXPECT_EQ(std::get<1>(kthvalue(x, 3)).item<std::int64_t>(), 0);
  EXPECT_EQ(std::get<1>(median(x, 0)).item<std::int64_t>(), 0);  // ranks 1 1 2 2 2: the lower median is x[0]
  const Tensor y = tensor({1.0, std::nan(""), 0.0, std::nan("")}, kFloat64);
  EXPECT_EQ(std::get<1>(median(y, 0)).item<std::int64_t>(), 1);  // the first NaN, as PyTorch
  EXPECT_EQ(std::get<1>(nanmedian(y, 0)).item<std::int64_t>(), 2);
}

// Written out by hand (the naive reference above shares the rank rules).
TEST(OrderStatistics, HandPickedValues) {
  const double nan = std::nan("");
  const Tensor x = tensor({4.0, nan, 1.0, 3.0, nan, 2.0}, kFloat64);
  EXPECT_TRUE(std::isnan(median(x).item<double>()));
  EXPECT_EQ(nanmedian(x).item<double>(), 2.0);  // 1 2 3 4: the lower median
  EXPECT_EQ(std::get<0>(kthvalue(x, 4)).item<double>(), 4.0);
  EXPECT_EQ(std::get<1>(kthvalue(x, 5)).item<std::int64_t>(), 1);  // the first NaN
  EXPECT_EQ(std::get<1>(kthvalue(x, 6)).item<std::int64_t>(), 4);
  EXPECT_DOUBLE_EQ(quantile(tensor({1.0, 2.0, 3.0, 4.0, 10.0}, kFloat64), 0.4).item<double>(), 2.6);
  EXPECT_EQ(nanquantile(x, 1.0).item<double>(), 4.0);
  EXPECT_TRUE(std::isnan(quantile(x, 0.0).item<double>()));
}

// PyTorch's evenly_distribute_backward: grad / count at the selected elements, +0 elsewhere, so an infinite or NaN
// upstream gradient reaches those elements only.
TEST(OrderStatistics, SelectingAllShareTheGradientAndLeaveZerosElsewhere) {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  const Tensor x = tensor({1.0, 5.0, 5.0, 2.0, 5.0}, kFloat64);
  for (double g : {nan, inf}) {
    for (int op = 0; op < 4; ++op) {
      SCOPED_TRACE(op);
      Tensor leaf = (op < 2 ? x : tensor({1.0, 5.0, 2.0, 2.0, 4.0}, kFloat64)).clone();
      leaf.requires_grad_(true);
      const Tensor r = op == 0 ? max(leaf) : op == 1 ? leaf.min() : op == 2 ? median(leaf) : nanmedian(leaf);
      r.backward(full({}, g, kFloat64));
      const std::vector<double> got = values(leaf.grad());
      const std::vector<double> v = values(leaf.detach());
      for (std::size_t i = 0; i < got.size(); ++i) {
        if (v[i] == r.item<double>()) {
          EXPECT_TRUE(std::isnan(got[i]) || std::isinf(got[i])) << i;
        } else {
          EXPECT_EQ(got[i], 0.0) << i;
          EXPECT_FALSE(std::signbit(got[i])) << i;
        }
      }
    }
  }
}

TEST(OrderStatistics, EmptyInputs) {
  EXPECT_TRUE(std::isnan(median(zeros({0}, kFloat64)).item<double>()));
  EXPECT_TRUE(std::isnan(nanmedian(zeros({2, 0})).item<double>()));
  const auto [v, i] = median(zeros({0, 3}), 1);  // other dims may be empty
  EXPECT_EQ(v.sizes(), (Shape{0}));
  EXPECT_EQ(i.sizes(), (Shape{0}));
}

TEST(OrderStatistics, Gradcheck) {
  // Distinct values (7·i mod 24 is a permutation of 0 … 23): no ties, where the selections are not differentiable.
  const Tensor x = (remainder(arange(24, kFloat64) * 7.0, 24.0) * 0.37 - 4.0).reshape({2, 3, 4}).requires_grad_(true);
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(kthvalue(v[0], 2, 1)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(median(v[0], -1, true)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return std::get<0>(nanmedian(v[0], 0)); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return median(v[0]); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& v) { return nanmedian(v[0]); }, {x});
  const Tensor q = tensor({0.15, 0.4, 0.85}, kFloat64).requires_grad_(true);  // ranks away from rounding edges
  for (const char* mode : {"linear", "lower", "higher", "midpoint", "nearest"}) {
    SCOPED_TRACE(mode);
    expect_gradcheck([mode](const std::vector<Tensor>& v) { return quantile(v[0], v[1], 2, false, mode); }, {x, q});
    expect_gradcheck([mode](const std::vector<Tensor>& v) { return nanquantile(v[0], 0.3, std::nullopt, true, mode); },
                     {x});
  }
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return quantile(v[0], v[1], 1); }, {x, q});
  expect_gradgradcheck([](const std::vector<Tensor>& v) { return std::get<0>(median(v[0], 2)); }, {x});
}

TEST(OrderStatistics, Errors) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_EQ(
      kthvalue(x, 4, 1),
      "kthvalue: selected number k out of range for dimension 1 (k = 4, but dim 1 of the input (shape [2, 3]) "
      "has size 3)");
  EXPECT_ERROR_EQ(kthvalue(x, 0),
                  "kthvalue: selected number k out of range for dimension 1 (k = 0, but dim 1 of the input (shape [2, "
                  "3]) has size 3)");
  EXPECT_ERROR_EQ(median(zeros({2, 0}), 1),
                  "median: expected reduction dim 1 to have non-zero size (input shape [2, 0])");
  EXPECT_ERROR_CONTAINS(median(x, 2), "median");
  EXPECT_ERROR_CONTAINS(median(zeros({3}, kInt64)), "median");
  EXPECT_ERROR_EQ(quantile(x, 1.5), "quantile: q must be in the range [0, 1], but got 1.5");
  EXPECT_ERROR_EQ(nanquantile(x, -0.5), "nanquantile: q must be in the range [0, 1], but got -0.5");
  EXPECT_ERROR_EQ(quantile(x, tensor({0.5f, 1.25f})),
                  "quantile: q values must be in the range [0, 1] (q of shape [2] holds others)");
  EXPECT_ERROR_EQ(quantile(x, tensor({std::nanf("")})),
                  "quantile: q values must be in the range [0, 1] (q of shape [1] holds others)");
  EXPECT_ERROR_EQ(nanquantile(zeros({(std::int64_t{1} << 24) + 1}), 0.5),
                  "nanquantile: expected at most 2^24 elements to take quantiles of, but got 16777217 (input shape "
                  "[16777217])");
  EXPECT_ERROR_EQ(quantile(x, zeros({1, 1})), "quantile: q must be a number, a 0-d or a 1-D tensor (shape [1, 1])");
  EXPECT_ERROR_EQ(quantile(x, zeros({1}, kFloat64)),
                  "quantile: expected q of the input's dtype float32, but got float64");
  EXPECT_ERROR_EQ(quantile(x, 0.5, std::nullopt, false, "cubic"),
                  "quantile: interpolation must be one of linear, lower, higher, midpoint or nearest, but got 'cubic'");
  EXPECT_ERROR_EQ(quantile(zeros({0}), 0.5), "quantile: the input must have elements (shape [0])");
  EXPECT_ERROR_CONTAINS(quantile(x, 0.5, 2), "quantile");
}

}  // namespace
