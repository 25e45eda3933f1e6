// cdist (ops/distance.h):
// - against PyTorch 1.13 (tests/fixtures/distance/cdist.json, written by its generate.py): the direct path's
//   distances bit for bit but p = 2's (within an ulp), its gradients and the matrix-product path within a few
//   ulps (ATen's kernels round them in another order: a fused multiply-add here and there, its BLAS's sums);
// - a naive reference, float64 gradchecks and gradgradchecks of both paths and every norm, and exact errors.
//   Views of both arguments are in test_views.cpp's table.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
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
  static const json j = load_fixture("distance/cdist.json");
  return j;
}

double option_p(const json& o) { return o.contains("p") ? json_number(o["p"]) : 2.0; }

std::optional<std::string> option_mode(const json& o) {
  return o.contains("compute_mode") ? std::optional<std::string>(o["compute_mode"].get<std::string>()) : std::nullopt;
}

class CdistFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(CdistFixture, DistancesAndGradientsAreTorchs) {
  const json* found = find_case(fixture(), GetParam());
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const Tensor x1 = json_tensor(c["inputs"]["x1"]).requires_grad_(true);
  const Tensor x2 = json_tensor(c["inputs"]["x2"]).requires_grad_(true);
  const double p = option_p(c["options"]);
  const std::optional<std::string> mode = option_mode(c["options"]);
  const Tensor out = cdist(x1, x2, p, mode);
  const Tensor want = json_tensor(c["outputs"]["out"]);
  const bool f32 = want.dtype() == kFloat32;
  const std::int64_t P = x1.size(-2), R = x2.size(-2);
  const bool by_matmul = p == 2.0 && x1.size(-1) > 0 && P > 0 && R > 0 &&
                         (mode == "use_mm_for_euclid_dist" || (!mode && (P > 25 || R > 25)));
  if (by_matmul) {
    expect_close_nan(out, want, f32 ? 1e-5 : 1e-13, f32 ? 1e-5 : 1e-13);
  } else if (p == 2.0) {
    // ATen's p = 2 loop rounds its sum of squares in an order not reproduced here (neither one rounding per
    // operation nor a fused multiply-add throughout): a few % of the distances differ in their last bit.
    expect_close_nan(out, want, 0.0, f32 ? 3e-7 : 5e-16);
  } else {
    EXPECT_TRUE(same_bits_any_nan(out, want));
  }
  // The direct path's gradient kernel sums over the other rows in order, as ATen's: the same bits for p = 0,
  // 1 and inf and unbroadcast inputs (p = 2's divides by its distance, an ulp off). Its other gradients (pow,
  // broadcast batch sums),
  // the matrix-product path's (a BLAS) and the differentiable form under create_graph (its sums in another
  // order) within a few ulps.
  const bool exact = !by_matmul && x1.dim() == 2 && x2.dim() == 2 && (p == 0.0 || p == 1.0 || std::isinf(p));
  for (const bool create_graph : {false, true}) {
    SCOPED_TRACE(create_graph ? "create_graph" : "kernel");
    const std::vector<Tensor> g =
        autograd::grad({out}, {x1, x2}, {json_tensor(c["upstream"]["out"])}, true, create_graph, /*allow_unused=*/true);
    for (const auto& [k, name] : {std::pair{0, "x1"}, std::pair{1, "x2"}}) {
      SCOPED_TRACE(name);
      const Tensor got =
          g[static_cast<std::size_t>(k)].defined() ? g[static_cast<std::size_t>(k)] : zeros_like(k == 0 ? x1 : x2);
      const Tensor want_grad = json_tensor(c["grads"][name]);
      if (exact && !create_graph) {
        EXPECT_TRUE(same_bits_any_nan(got, want_grad));
      } else {
        expect_close_nan(got, want_grad, f32 ? 1e-5 : 1e-12, f32 ? 1e-5 : 1e-12);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, CdistFixture, ::testing::ValuesIn(fixture_case_names(fixture)), name_from_param);

TEST(CdistFixtureFile, HoldsEveryNormAndBothPaths) {
  std::map<double, int> norms;
  int matmul = 0;
  for (const json& c : fixture()["cases"]) {
    ++norms[option_p(c["options"])];
    matmul += c["name"].get<std::string>().rfind("matmul", 0) == 0 ? 1 : 0;  // matmul_*: that path
  }
  for (const double p : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, std::numeric_limits<double>::infinity()}) {
    EXPECT_GE(norms[p], 3) << p;
  }
  EXPECT_GE(matmul, 4);
  EXPECT_EQ(fixture()["torch_version"].get<std::string>().substr(0, 4), "1.13");
}

TEST(Cdist, MatchesANaiveLoopForEveryNorm) {
  const Tensor x1 = rand({2, 5, 4}, kFloat64) * 4.0 - 2.0, x2 = rand({3, 4}, kFloat64) * 4.0 - 2.0;
  for (const double p : {0.0, 0.5, 1.0, 2.0, 3.5, std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(p);
    const std::vector<double> a = values(x1), b = values(x2), got = values(cdist(x1, x2, p));
    for (std::int64_t batch = 0; batch < 2; ++batch) {
      for (std::int64_t i = 0; i < 5; ++i) {
        for (std::int64_t j = 0; j < 3; ++j) {
          double acc = 0.0;
          for (std::int64_t k = 0; k < 4; ++k) {
            const double d =
                std::abs(a[static_cast<std::size_t>((batch * 5 + i) * 4 + k)] - b[static_cast<std::size_t>(j * 4 + k)]);
            acc = p == 0.0 ? acc + (d != 0.0) : std::isinf(p) ? std::max(acc, d) : acc + std::pow(d, p);
          }
          const double want = p == 0.0 || std::isinf(p) ? acc : std::pow(acc, 1.0 / p);
          EXPECT_NEAR(got[static_cast<std::size_t>((batch * 5 + i) * 3 + j)], want, 1e-12 * std::max(1.0, want));
        }
      }
    }
  }
  // Both p = 2 paths agree.
  const Tensor big1 = rand({30, 6}, kFloat64), big2 = rand({4, 6}, kFloat64);
  expect_close(cdist(big1, big2), cdist(big1, big2, 2.0, "donot_use_mm_for_euclid_dist"), 1e-12);
}

TEST(Cdist, GradcheckAndGradgradcheckOnBothPaths) {
  const Tensor a = uniform_leaf({2, 3, 4}, -1.0, 1.0, 31), b = uniform_leaf({5, 4}, -1.0, 1.0, 32);
  for (const double p : {0.5, 1.0, 1.5, 2.0, 3.0, std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(p);
    const auto fn = [p](const std::vector<Tensor>& v) { return cdist(v[0], v[1], p); };
    expect_gradcheck(fn, {a, b});
    expect_gradgradcheck(fn, {a, b});
  }
  const auto mm = [](const std::vector<Tensor>& v) { return cdist(v[0], v[1], 2.0, "use_mm_for_euclid_dist"); };
  expect_gradcheck(mm, {a, b});
  expect_gradgradcheck(mm, {a, b});
  // A zero distance has a zero gradient, not NaN, on both paths (as PyTorch's).
  for (const char* mode : {"donot_use_mm_for_euclid_dist", "use_mm_for_euclid_dist"}) {
    SCOPED_TRACE(mode);
    const Tensor x = leaf({1.0, 2.0}, {1, 2});
    cdist(x, f64({1.0, 2.0}, {1, 2}), 2.0, mode).sum().backward();
    expect_values(x.grad(), {1, 2}, {0.0, 0.0});
  }
}

TEST(Cdist, EmptyInputsGiveEmptyOrZeroDistances) {
  EXPECT_EQ(cdist(zeros({0, 3}, kFloat64), zeros({4, 3}, kFloat64)).sizes(), (Shape{0, 4}));
  const Tensor e1 = zeros({0, 3}, kFloat64).requires_grad_(true), e2 = ones({4, 3}, kFloat64).requires_grad_(true);
  cdist(e1, e2).sum().backward();
  EXPECT_EQ(e1.grad().sizes(), (Shape{0, 3}));
  expect_values(e2.grad(), {4, 3}, std::vector<double>(12, 0.0));
  expect_values(cdist(zeros({2, 0}, kFloat64), zeros({3, 0}, kFloat64)), {2, 3}, std::vector<double>(6, 0.0));
  EXPECT_EQ(cdist(zeros({2, 0, 2, 3}, kFloat64), zeros({1, 4, 3}, kFloat64)).sizes(), (Shape{2, 0, 2, 4}));
}

TEST(Cdist, ErrorsNameTheOpAndTheValues) {
  const Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_ERROR_EQ(cdist(zeros({3}, kFloat64), x),
                  "cdist: expected x1 and x2 of at least 2 dims, but got shapes [3] and [2, 3]");
  EXPECT_ERROR_EQ(cdist(x, zeros({4, 2}, kFloat64)),
                  "cdist: x1 and x2 must have the same number of columns, but got shapes [2, 3] and [4, 2]");
  EXPECT_ERROR_EQ(cdist(x, zeros({4, 3}, kFloat32)),
                  "cdist: expected x1 and x2 of one dtype, but got float64 and float32");
  EXPECT_ERROR_EQ(cdist(x, x, -1.0), "cdist: p must be non-negative, but got -1");
  EXPECT_ERROR_CONTAINS(cdist(x, x, std::nan("")), "cdist: p must be non-negative, but got nan");
  EXPECT_ERROR_EQ(cdist(x, x, 2.0, "bad"),
                  "cdist: compute_mode must be use_mm_for_euclid_dist_if_necessary, use_mm_for_euclid_dist or "
                  "donot_use_mm_for_euclid_dist, but got 'bad'");
  EXPECT_ERROR_EQ(cdist(zeros({2, 2, 3}, kFloat64), zeros({3, 2, 3}, kFloat64)),
                  "cdist: the batch dims of x1 (shape [2, 2, 3]) and x2 (shape [3, 2, 3]) do not broadcast");
  // A float32 p of 1e-50 is 0, as in ATen (which converts p to the dtype): the zero norm counts.
  expect_values(cdist(tensor({0.0, 1.0}, kFloat32).reshape({1, 2}), zeros({1, 2}, kFloat32), 1e-50), {1, 1}, {1.0});
  EXPECT_ERROR_CONTAINS(cdist(zeros({2, 3}, kInt64), zeros({2, 3}, kInt64)), "cdist");
}

}  // namespace
