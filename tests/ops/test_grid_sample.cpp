// grid_sample and affine_grid: PyTorch 1.13's values and gradients from the committed fixtures
// (tests/fixtures/grid_sample/generate.py: 5-D and 4-D, every mode x padding x align_corners, grids
// reaching outside [-1, 1], float32 and float64), a naive reference over random shapes, float64
// gradcheck w.r.t. input and grid, non-contiguous arguments, empty tensors and the error messages.
// affine_grid's own tests are in test_affine_grid.cpp, the thread counts' in test_grid_sample_threads.cpp.

#include <voxgrad/ops/affine_grid.h>
#include <voxgrad/ops/grid_sample.h>
#include <voxgrad/voxgrad.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "grid_sample_util.h"
#include "json_fixture.h"
#include "test_util.h"
#include "view_util.h"

namespace {

using namespace voxgrad;
using autograd::gradcheck;
using nlohmann::json;
using voxgrad::testing::bit_identical;
using voxgrad::testing::expect_bitwise_equal;
using voxgrad::testing::expect_close;
using voxgrad::testing::json_tensor;
using voxgrad::testing::values;
namespace vt = voxgrad::testing;
using namespace voxgrad::testing::grid;

// ------------------------------------------------------------------------------------------------
// A naive reference in double, written from the definition (not from ATen's loops): reflection as a
// triangle wave of period 2·span, bilinear weights 1 − |x − i|.
// ------------------------------------------------------------------------------------------------

double ref_location(double c, std::int64_t size, const Config& cfg) {
  const auto n = static_cast<double>(size);
  double x = cfg.align ? (c + 1) / 2 * (n - 1) : ((c + 1) * n - 1) / 2;
  if (cfg.padding == Pad::Reflection) {
    const double lo = cfg.align ? 0.0 : -0.5, hi = cfg.align ? n - 1 : n - 0.5, span = hi - lo;
    if (span <= 0) return 0.0;
    double t = std::fmod(std::fabs(x - lo), 2 * span);
    if (t > span) t = 2 * span - t;
    x = lo + t;
  }
  if (cfg.padding != Pad::Zeros) x = std::clamp(x, 0.0, n - 1);
  return x;
}

// Calls f(flat input index within the plane, weight) for every voxel the location `g` (K coordinates) reads.
template <typename F>
void ref_taps(const double* g, const std::vector<std::int64_t>& spatial, const Config& cfg, F&& f) {
  const std::size_t K = spatial.size();
  std::array<double, 3> x{};
  for (std::size_t k = 0; k < K; ++k) x[k] = ref_location(g[k], spatial[K - 1 - k], cfg);
  const int corners = cfg.mode == Mode::Nearest ? 1 : 1 << K;
  for (int corner = 0; corner < corners; ++corner) {
    std::int64_t offset = 0, stride = 1;
    double w = 1;
    bool inside = true;
    for (std::size_t k = 0; k < K; ++k) {
      const std::int64_t size = spatial[K - 1 - k];
      const std::int64_t i = cfg.mode == Mode::Nearest
                                 ? static_cast<std::int64_t>(std::nearbyint(x[k]))
                                 : static_cast<std::int64_t>(std::floor(x[k])) + ((corner >> k) & 1);
      if (cfg.mode == Mode::Bilinear) w *= 1 - std::fabs(x[k] - static_cast<double>(i));
      inside = inside && i >= 0 && i < size;
      offset += i * stride;
      stride *= size;
    }
    if (inside) f(offset, w);
  }
}

struct RefResult {
  std::vector<double> y, dx;
};

// Output and input gradient (the scatter of dy) of grid_sample for contiguous x, grid, dy.
RefResult reference(const Tensor& x, const Tensor& grid, const Tensor& dy, const Config& cfg) {
  const std::vector<double> xv = values(x), gv = values(grid), dyv = values(dy);
  const std::int64_t N = x.size(0), C = x.size(1), K = x.dim() - 2;
  const std::vector<std::int64_t> spatial(x.sizes().begin() + 2, x.sizes().end());
  std::int64_t volume = 1, points = 1;
  for (std::int64_t s : spatial) volume *= s;
  for (std::int64_t d = 1; d <= K; ++d) points *= grid.size(d);
  RefResult r{std::vector<double>(static_cast<std::size_t>(N * C * points), 0.0), std::vector<double>(xv.size(), 0.0)};
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t p = 0; p < points; ++p)
      ref_taps(gv.data() + (n * points + p) * K, spatial, cfg, [&](std::int64_t off, double w) {
        for (std::int64_t c = 0; c < C; ++c) {
          const auto o = static_cast<std::size_t>((n * C + c) * points + p);
          const auto i = static_cast<std::size_t>((n * C + c) * volume + off);
          r.y[o] += w * xv[i];
          r.dx[i] += w * dyv[o];
        }
      });
  return r;
}

// A float64 grid (N, out..., K) whose unnormalised locations are integer + [0.25, 0.75], from 2 voxels
// before the input to 2 after it: away from every kink (cells, clamps, reflections) for gradcheck.
Tensor safe_grid(std::int64_t N, const std::vector<std::int64_t>& out, const std::vector<std::int64_t>& spatial,
                 bool align, std::uint64_t seed) {
  const std::size_t K = spatial.size();
  Shape shape{N};
  shape.insert(shape.end(), out.begin(), out.end());
  shape.push_back(static_cast<std::int64_t>(K));
  manual_seed(seed);
  const std::vector<double> a = values(rand(shape, kFloat64)), b = values(rand(shape, kFloat64));
  std::vector<double> g(a.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto size = static_cast<double>(spatial[K - 1 - i % K]);
    const double u = std::floor(a[i] * (size + 4)) - 2 + 0.25 + 0.5 * b[i];
    g[i] = align ? 2 * u / (size - 1) - 1 : (2 * u + 1) / size - 1;
  }
  return vt::f64(g, shape);
}

// ------------------------------------------------------------------------------------------------
// PyTorch fixtures
// ------------------------------------------------------------------------------------------------

const json& fixture_file() {
  static const json j = vt::load_fixture("grid_sample/grid_sample.json");
  return j;
}
const json& grid_sample_fixture() {
  static const json j = json{{"cases", fixture_file()["grid_sample"]}};
  return j;
}
const json& affine_grid_fixture() {
  static const json j = json{{"cases", fixture_file()["affine_grid"]}};
  return j;
}
const json& find_case(const json& fixture, const std::string& name) {
  for (const json& c : fixture["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no fixture case " + name);
}

Mode mode_of(const std::string& s) { return s == "nearest" ? Mode::Nearest : Mode::Bilinear; }
Pad padding_of(const std::string& s) {
  return s == "border" ? Pad::Border : s == "reflection" ? Pad::Reflection : Pad::Zeros;
}

// float64 to 1e-13 absolute plus `ulps` relative; float32 to `ulps` of max(1, |ref|). The expressions are
// ATen's, but the compiler may contract them into FMAs differently, and a reduction (affine_grid's theta
// gradient sums one product per grid point) may add in another order: there `ulps` is the count of terms.
void expect_matches(const Tensor& got, const Tensor& ref, const std::string& what, double ulps = 4) {
  ASSERT_EQ(got.dtype(), ref.dtype()) << what;
  ASSERT_EQ(got.sizes(), ref.sizes()) << what;
  const bool f64 = ref.dtype() == kFloat64;
  const double eps = f64 ? std::numeric_limits<double>::epsilon() : std::numeric_limits<float>::epsilon();
  const std::vector<double> a = values(got), b = values(ref);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double tol = f64 ? 1e-13 + ulps * eps * std::abs(b[i]) : ulps * eps * std::max(1.0, std::abs(b[i]));
    EXPECT_NEAR(a[i], b[i], tol) << what << " at flat index " << i;
  }
}

class GridSampleFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(GridSampleFixture, MatchesPyTorch) {
  const json& c = find_case(grid_sample_fixture(), GetParam());
  const Tensor x = json_tensor(c["input"]).requires_grad_(), g = json_tensor(c["grid"]).requires_grad_();
  const Config cfg{mode_of(c["mode"]), padding_of(c["padding"]), c["align_corners"].get<bool>()};
  const Tensor y = sample(x, g, cfg);
  expect_matches(y, json_tensor(c["output"]), "output");
  y.backward(json_tensor(c["grad_output"]));
  expect_matches(x.grad(), json_tensor(c["grad_input"]), "grad_input");
  expect_matches(g.grad(), json_tensor(c["grad_grid"]), "grad_grid");
}

INSTANTIATE_TEST_SUITE_P(PyTorch, GridSampleFixture, ::testing::ValuesIn(vt::fixture_case_names(grid_sample_fixture)),
                         vt::name_from_param);

class AffineGridFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(AffineGridFixture, MatchesPyTorch) {
  const json& c = find_case(affine_grid_fixture(), GetParam());
  const Tensor theta = json_tensor(c["theta"]).requires_grad_();
  const Shape size = c["size"].get<Shape>();
  const Tensor grid = affine_grid(theta, size, c["align_corners"].get<bool>());
  expect_matches(grid, json_tensor(c["output"]), "grid");
  grid.backward(json_tensor(c["grad_output"]));
  const double points = static_cast<double>(grid.numel() / grid.size(0) / grid.size(-1));
  expect_matches(theta.grad(), json_tensor(c["grad_theta"]), "grad_theta", std::max(4.0, points));
}

INSTANTIATE_TEST_SUITE_P(PyTorch, AffineGridFixture, ::testing::ValuesIn(vt::fixture_case_names(affine_grid_fixture)),
                         vt::name_from_param);

TEST(GridSampleFixtures, CoverEveryModePaddingAlignAndDtype) {
  ASSERT_GE(grid_sample_fixture()["cases"].size(), 25U);
  std::set<std::string> seen;
  for (const json& c : grid_sample_fixture()["cases"]) {
    seen.insert(std::to_string(c["input"]["shape"].size()) + c["mode"].get<std::string>() +
                c["padding"].get<std::string>() + (c["align_corners"].get<bool>() ? "1" : "0"));
    seen.insert(c["input"]["dtype"].get<std::string>());
  }
  EXPECT_EQ(seen.size(), 2U * 2 * 3 * 2 + 2);
}

// ------------------------------------------------------------------------------------------------
// Semantics
// ------------------------------------------------------------------------------------------------

TEST(GridSample, IdentityGridFromAffineGridReproducesTheInput) {
  manual_seed(3);
  const Tensor x = randn({2, 3, 4, 5, 6}, kFloat64);
  const Tensor eye = tensor({1.0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, kFloat64).reshape({1, 3, 4}).expand({2, 3, 4});
  for (bool align : {false, true}) {
    const Tensor g = affine_grid(eye, {2, 3, 4, 5, 6}, align);
    for (Pad p : kPaddings) {
      expect_close(grid_sample(x, g, Mode::Bilinear, p, align), x, 1e-14);
      expect_close(grid_sample(x, g, Mode::Nearest, p, align), x, 0.0);
    }
  }
  const Tensor x2 = randn({1, 2, 3, 7}, kFloat64);
  const Tensor eye2 = tensor({1.0, 0, 0, 0, 1, 0}, kFloat64).reshape({1, 2, 3});
  expect_close(grid_sample(x2, affine_grid(eye2, {1, 2, 3, 7}, false)), x2, 1e-14);
}

TEST(GridSample, GridIsXYZInWidthHeightDepthOrder) {
  // Input value = 100 d + 10 h + w; the point (x, y, z) = (1, -1, 1) with align_corners is (w, h, d) = (3, 0, 1).
  const Tensor d = arange(0, 2, 1, kFloat64).reshape({1, 1, 2, 1, 1}) * 100.0;
  const Tensor h = arange(0, 3, 1, kFloat64).reshape({1, 1, 1, 3, 1}) * 10.0;
  const Tensor w = arange(0, 4, 1, kFloat64).reshape({1, 1, 1, 1, 4});
  const Tensor x = d + h + w;
  const Tensor g = vt::f64({1, -1, 1, -1, 1, -1, 0, 0, 0}, {1, 1, 1, 3, 3});
  vt::expect_values(grid_sample(x, g, Mode::Bilinear, Pad::Zeros, true), {1, 1, 1, 1, 3}, {103, 20, 61.5});
}

TEST(GridSample, NearestRoundsHalfToEven) {
  // align_corners on W = 5: x = -0.5 → 1.0 ... locations 0.5, 1.5, 2.5 round to 0, 2, 2.
  const Tensor x = vt::f64({10, 11, 12, 13, 14}, {1, 1, 1, 5});
  const Tensor g = vt::f64({-0.75, 0, -0.25, 0, 0.25, 0}, {1, 1, 3, 2});
  vt::expect_values(grid_sample(x, g, Mode::Nearest, Pad::Zeros, true), {1, 1, 1, 3}, {10, 12, 12});
}

TEST(GridSample, ZerosPaddingFadesOutAndBorderClamps) {
  // W = 2 without align_corners: x = 1.5 is location 2.5 (half a voxel past the edge voxel's centre + 1).
  const Tensor x = vt::f64({1, 3}, {1, 1, 1, 2});
  const Tensor g = vt::f64({1.25, 0, 2.0, 0}, {1, 1, 2, 2});  // locations 1.75 and 2.5
  vt::expect_values(grid_sample(x, g, Mode::Bilinear, Pad::Zeros, false), {1, 1, 1, 2}, {3 * 0.25, 0});
  vt::expect_values(grid_sample(x, g, Mode::Bilinear, Pad::Border, false), {1, 1, 1, 2}, {3, 3});
  // Reflection at the edge 1.5: 1.75 → 1.25 (clamped to 1), 2.5 → 0.5.
  vt::expect_values(grid_sample(x, g, Mode::Bilinear, Pad::Reflection, false), {1, 1, 1, 2}, {3, 2});
}

TEST(GridSample, NonFiniteLocationsReadZeroAndPassNoGradient) {
  const double inf = vt::kInf;
  for (const Config& cfg : all_configs()) {
    SCOPED_TRACE(cfg.str());
    const Tensor x = vt::leaf({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
    // x NaN, x +inf, y −inf, and a huge but finite x (clamped under Border, far outside under Zeros).
    const Tensor g = vt::leaf({vt::kNaN, 0, inf, 0, 0, -inf, 1e300, 0}, {1, 1, 4, 2});
    const Tensor y = sample(x, g, cfg);
    const std::vector<double> v = values(y);
    // NaN reads 0 everywhere; ±inf too unless Border clamps them; 1e300 is only finite under Reflection.
    const std::size_t zeros = cfg.padding == Pad::Zeros ? 4 : cfg.padding == Pad::Reflection ? 3 : 1;
    for (std::size_t i = 0; i < v.size(); ++i) {
      EXPECT_TRUE(std::isfinite(v[i])) << i;
      if (i < zeros) {
        EXPECT_EQ(v[i], 0.0) << i;
      }
    }
    y.sum().backward();
    for (double e : values(x.grad())) EXPECT_TRUE(std::isfinite(e));
    // The grid's gradient too: a point that reads nothing passes 0 (not 0·NaN).
    if (g.grad().defined()) {
      for (double e : values(g.grad())) EXPECT_TRUE(std::isfinite(e));
    }
  }
  // 5-D: the reflection of a non-finite or huge location (its flip count as a float, no integer cast).
  for (const Config& cfg : all_configs()) {
    SCOPED_TRACE(cfg.str() + " 5-D");
    const Tensor x = vt::leaf({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 2, 2, 2});
    const Tensor g = vt::leaf({vt::kNaN, 0, 0, inf, 0, 0, 0, -inf, 0, 1e300, 0, 0, 1e10, 0.5, 0}, {1, 1, 1, 5, 3});
    const Tensor y = grid_sample(x, g, cfg.mode, cfg.padding, cfg.align);
    for (double e : values(y)) EXPECT_TRUE(std::isfinite(e));
    y.sum().backward();
    for (double e : values(x.grad())) EXPECT_TRUE(std::isfinite(e));
    if (g.grad().defined()) {
      for (double e : values(g.grad())) EXPECT_TRUE(std::isfinite(e));
    }
  }
}

TEST(GridSample, MatchesNaiveReferenceOverRandomShapes) {
  std::uint64_t seed = 100;
  for (int K : {3, 2}) {
    for (const Config& cfg : all_configs()) {
      for (int rep = 0; rep < 3; ++rep) {
        manual_seed(++seed);
        const std::vector<double> r = values(rand({8}, kFloat64));
        auto pick = [&](int i, std::int64_t lo, std::int64_t hi) {
          return lo + static_cast<std::int64_t>(r[static_cast<std::size_t>(i)] * static_cast<double>(hi - lo + 1));
        };
        Shape xs{pick(0, 1, 2), pick(1, 1, 3)}, gs{xs[0]};
        for (int k = 0; k < K; ++k) xs.push_back(pick(2 + k, 1, 5));
        for (int k = 0; k < K; ++k) gs.push_back(pick(5 + k, 1, 4));
        gs.push_back(K);
        SCOPED_TRACE(cfg.str() + " x " + shape_str(xs) + " grid " + shape_str(gs));
        const Tensor x = randn(xs, kFloat64).requires_grad_();
        const Tensor g = (rand(gs, kFloat64) * 5.0 - 2.5).detach();
        const Tensor y = sample(x, g, cfg);
        const Tensor dy = randn(y.sizes(), kFloat64);
        const RefResult ref = reference(x, g, dy, cfg);
        expect_close(y, vt::f64(ref.y, y.sizes()), 1e-12);
        y.backward(dy);
        expect_close(x.grad(), vt::f64(ref.dx, x.sizes()), 1e-12);
        // float32 agrees with float64 to float32's precision.
        expect_close(sample(x.detach().to(kFloat32), g.to(kFloat32), cfg).to(kFloat64), y, 2e-5, 2e-5);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Gradients
// ------------------------------------------------------------------------------------------------

TEST(GridSample, GradcheckInputAndGridForEveryPaddingAndAlign) {
  std::uint64_t seed = 7;
  for (int K : {3, 2}) {
    for (Pad p : kPaddings) {
      for (bool align : {false, true}) {
        const Config cfg{Mode::Bilinear, p, align};
        SCOPED_TRACE(std::to_string(K) + "-D " + cfg.str());
        const std::vector<std::int64_t> spatial =
            K == 3 ? std::vector<std::int64_t>{3, 2, 4} : std::vector<std::int64_t>{3, 4};
        Shape xs{2, 2};
        xs.insert(xs.end(), spatial.begin(), spatial.end());
        const Tensor x = vt::uniform_leaf(xs, -1, 1, ++seed);
        const Tensor g = safe_grid(2, K == 3 ? std::vector<std::int64_t>{2, 2, 3} : std::vector<std::int64_t>{3, 3},
                                   spatial, align, ++seed)
                             .requires_grad_();
        EXPECT_TRUE(gradcheck([cfg](const std::vector<Tensor>& in) { return sample(in[0], in[1], cfg); }, {x, g}));
      }
    }
  }
}

TEST(GridSample, NearestGradientsAreTheScatterAndAZeroGrid) {
  const Tensor x = vt::leaf({1, 2, 3, 4}, {1, 1, 1, 4});
  const Tensor g = vt::leaf({-1, 0, -0.9, 0, 0.8, 0}, {1, 1, 3, 2});  // W locations 0, 0.15 and 2.7 (align)
  const Tensor y = grid_sample(x, g, Mode::Nearest, Pad::Zeros, true);
  y.backward(vt::f64({1, 2, 5}, {1, 1, 1, 3}));
  vt::expect_values(x.grad(), {1, 1, 1, 4}, {3, 0, 0, 5});
  vt::expect_values(g.grad(), {1, 1, 3, 2}, {0, 0, 0, 0, 0, 0});
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return grid_sample(in[0], in[1], Mode::Nearest); },
                        {vt::uniform_leaf({1, 2, 3, 3, 3}, -1, 1, 5), safe_grid(1, {2, 2, 2}, {3, 3, 3}, false, 6)}));
}

TEST(GridSample, OnlyTheGradientsAskedForAreComputed) {
  const Tensor x = vt::uniform_leaf({1, 2, 3, 4, 5}, -1, 1, 1);
  const Tensor g = safe_grid(1, {2, 2, 2}, {3, 4, 5}, false, 2);
  grid_sample(x, g).sum().backward();  // the grid needs no gradient
  EXPECT_TRUE(x.grad().defined());
  const Tensor g2 = g.clone().requires_grad_();
  grid_sample(x.detach(), g2).sum().backward();
  EXPECT_TRUE(g2.grad().defined());
  const Tensor gx = autograd::grad({grid_sample(x, g2)}, {g2}, {ones({1, 2, 2, 2, 2}, kFloat64)})[0];
  expect_close(gx, g2.grad(), 0.0);
}

TEST(GridSample, DifferentiatingTheBackwardAgainThrows) {
  const Tensor x = vt::uniform_leaf({1, 1, 3, 3, 3}, -1, 1, 1);
  const Tensor g = safe_grid(1, {2, 2, 2}, {3, 3, 3}, false, 2).requires_grad_();
  const Tensor y = grid_sample(x, g);
  const auto grads = autograd::grad({y.pow(2.0).sum()}, {x, g}, {}, std::nullopt, true);
  EXPECT_ERROR_EQ(grads[1].sum().backward(),
                  "grid_sample: the derivative of grid_sample's backward is not implemented (as in PyTorch)");
}

TEST(GridSample, NonContiguousArgumentsGiveTheSameResults) {
  manual_seed(11);
  const Tensor x0 = randn({2, 3, 4, 5, 6}, kFloat64);
  const Tensor g0 = safe_grid(2, {3, 2, 4}, {4, 5, 6}, false, 12);
  const Tensor dy = randn({2, 3, 3, 2, 4}, kFloat64);
  const Config cfg{Mode::Bilinear, Pad::Reflection, false};
  auto run = [&](const Tensor& xl, const Tensor& gl, const Tensor& xv, const Tensor& gv) {
    const Tensor y = sample(xv, gv, cfg);
    y.backward(dy);
    return std::array<Tensor, 3>{y, xl.grad(), gl.grad()};
  };
  const Tensor xc = x0.clone().requires_grad_(), gc = g0.clone().requires_grad_();
  const auto want = run(xc, gc, xc, gc);

  // Permuted: the same values stored channels-last, grid stored coordinate-major.
  const Tensor xp = x0.permute({0, 2, 3, 4, 1}).contiguous().requires_grad_();
  const Tensor gp = g0.permute({4, 0, 1, 2, 3}).contiguous().requires_grad_();
  auto got = run(xp, gp, xp.permute({0, 4, 1, 2, 3}), gp.permute({1, 2, 3, 4, 0}));
  EXPECT_FALSE(xp.permute({0, 4, 1, 2, 3}).is_contiguous());
  expect_bitwise_equal(got[0], want[0], "permuted output");
  expect_bitwise_equal(got[1].permute({0, 4, 1, 2, 3}), want[1], "permuted input grad");
  expect_bitwise_equal(got[2].permute({1, 2, 3, 4, 0}), want[2], "permuted grid grad");

  // Strided and offset: every other element of a larger base, starting one element in.
  const Tensor xb = zeros({2, 3, 4, 5, 13}, kFloat64);
  xb.slice(4, 1, 13, 2).copy_(x0);
  const Tensor gb = zeros({2, 3, 2, 4, 7}, kFloat64);
  gb.slice(4, 1, 7, 2).copy_(g0);
  const Tensor xs = xb.clone().requires_grad_(), gs = gb.clone().requires_grad_();
  got = run(xs, gs, xs.slice(4, 1, 13, 2), gs.slice(4, 1, 7, 2));
  expect_bitwise_equal(got[0], want[0], "strided output");
  expect_bitwise_equal(got[1].slice(4, 1, 13, 2), want[1], "strided input grad");
  expect_bitwise_equal(got[2].slice(4, 1, 7, 2), want[2], "strided grid grad");
  EXPECT_EQ(values(got[1].slice(4, 0, 13, 2).abs().sum())[0], 0.0);

  // Expanded along the batch: both samples read the same input and grid; the bases receive the sums.
  const Tensor x1 = x0.narrow(0, 0, 1).clone().requires_grad_(), g1 = g0.narrow(0, 1, 1).clone().requires_grad_();
  const Tensor xe = x1.detach().expand({2, 3, 4, 5, 6}).contiguous().requires_grad_();
  const Tensor ge = g1.detach().expand({2, 3, 2, 4, 3}).contiguous().requires_grad_();
  const auto want_e = run(xe, ge, xe, ge);
  got = run(x1, g1, x1.expand({2, 3, 4, 5, 6}), g1.expand({2, 3, 2, 4, 3}));
  expect_bitwise_equal(got[0], want_e[0], "expanded output");
  expect_close(got[1], vt::f64(vt::sum_over(values(want_e[1]), want_e[1].sizes(), 0), x1.sizes()), 1e-13);
  expect_close(got[2], vt::f64(vt::sum_over(values(want_e[2]), want_e[2].sizes(), 0), g1.sizes()), 1e-13);
}

TEST(GridSample, EmptyBatchChannelsOrGridGiveEmptyResults) {
  for (const Config& cfg : all_configs()) {
    const Tensor x0 = zeros({0, 2, 3, 4, 5}, kFloat64).requires_grad_();
    const Tensor g0 = zeros({0, 2, 2, 2, 3}, kFloat64).requires_grad_();
    Tensor y = sample(x0, g0, cfg);
    EXPECT_EQ(y.sizes(), (Shape{0, 2, 2, 2, 2}));
    y.sum().backward();
    EXPECT_EQ(x0.grad().sizes(), x0.sizes());
    EXPECT_EQ(g0.grad().sizes(), g0.sizes());

    const Tensor x1 = zeros({2, 0, 3, 4}, kFloat64).requires_grad_();
    const Tensor g1 = vt::uniform_leaf({2, 3, 3, 2}, -1, 1, 3);
    y = sample(x1, g1, cfg);
    EXPECT_EQ(y.sizes(), (Shape{2, 0, 3, 3}));
    y.sum().backward();
    vt::expect_values(g1.grad(), g1.sizes(), std::vector<double>(36, 0.0));

    const Tensor x2 = vt::uniform_leaf({1, 2, 3, 4, 5}, -1, 1, 4);
    const Tensor g2 = zeros({1, 0, 2, 3, 3}, kFloat64).requires_grad_();
    y = sample(x2, g2, cfg);
    EXPECT_EQ(y.sizes(), (Shape{1, 2, 0, 2, 3}));
    y.sum().backward();
    vt::expect_values(x2.grad(), x2.sizes(), std::vector<double>(120, 0.0));
  }
}

TEST(GridSample, FunctionalOptionsForwardToTheOp) {
  manual_seed(5);
  const Tensor x = randn({1, 2, 3, 4, 5}), g = rand({1, 2, 3, 4, 3}) * 3.0 - 1.5;
  namespace F = nn::functional;
  EXPECT_TRUE(bit_identical(F::grid_sample(x, g), grid_sample(x, g)));
  EXPECT_TRUE(bit_identical(
      F::grid_sample(x, g,
                     F::GridSampleFuncOptions().mode(Mode::Nearest).padding_mode(Pad::Border).align_corners(true)),
      grid_sample(x, g, Mode::Nearest, Pad::Border, true)));
  const Tensor theta = randn({1, 3, 4});
  EXPECT_TRUE(bit_identical(F::affine_grid(theta, {1, 2, 3, 4, 5}, F::AffineGridFuncOptions().align_corners(true)),
                            affine_grid(theta, {1, 2, 3, 4, 5}, true)));
  // libtorch 1.13's own signature: F::affine_grid(theta, size, align_corners).
  EXPECT_TRUE(bit_identical(F::affine_grid(theta, {1, 2, 3, 4, 5}, true), affine_grid(theta, {1, 2, 3, 4, 5}, true)));
  EXPECT_TRUE(bit_identical(F::affine_grid(theta, {1, 2, 3, 4, 5}), affine_grid(theta, {1, 2, 3, 4, 5}, false)));
  EXPECT_EQ(std::string(grid_sample_mode_name(Mode::Bicubic)), "bicubic");
  EXPECT_EQ(std::string(grid_sample_padding_name(Pad::Reflection)), "reflection");
}

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

TEST(GridSampleErrors, EveryCheckNamesTheOpAndTheValues) {
  const Tensor x5 = zeros({2, 1, 3, 4, 5}), g5 = zeros({2, 2, 2, 2, 3});
  EXPECT_ERROR_EQ(grid_sample(Tensor(), g5), "grid_sample: argument 'input' is an undefined tensor");
  EXPECT_ERROR_EQ(grid_sample(x5, Tensor()), "grid_sample: argument 'grid' is an undefined tensor");
  EXPECT_ERROR_EQ(grid_sample(zeros({2, 1, 3}), zeros({2, 3, 1})),
                  "grid_sample: expected 4D or 5D input and grid with same number of dimensions, but got input "
                  "with sizes [2, 1, 3] and grid with sizes [2, 3, 1]");
  EXPECT_ERROR_EQ(grid_sample(x5, zeros({2, 2, 2, 3})),
                  "grid_sample: expected 4D or 5D input and grid with same number of dimensions, but got input "
                  "with sizes [2, 1, 3, 4, 5] and grid with sizes [2, 2, 2, 3]");
  EXPECT_ERROR_EQ(grid_sample(x5, g5, Mode::Bicubic),
                  "grid_sample: bicubic interpolation only supports 4D input (got input with sizes [2, 1, 3, 4, 5])");
  EXPECT_ERROR_EQ(grid_sample(zeros({2, 1, 4, 5}), zeros({2, 2, 2, 2}), Mode::Bicubic),
                  "grid_sample: mode 'bicubic' is not implemented in voxgrad; use 'bilinear' or 'nearest'");
  EXPECT_ERROR_EQ(grid_sample(zeros({2, 1, 3, 4, 5}, kInt64), zeros({2, 2, 2, 2, 3}, kInt64)),
                  "grid_sample: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(grid_sample(x5, zeros({2, 2, 2, 2, 3}, kFloat64)),
                  "grid_sample: expected input and grid to have the same dtype, but got input float32 and grid "
                  "float64");
  EXPECT_ERROR_EQ(grid_sample(x5, zeros({3, 2, 2, 2, 3})),
                  "grid_sample: expected grid and input to have same batch size, but got input with sizes [2, 1, 3, "
                  "4, 5] and grid with sizes [3, 2, 2, 2, 3]");
  EXPECT_ERROR_EQ(grid_sample(x5, zeros({2, 2, 2, 2, 2})),
                  "grid_sample: expected grid to have size 3 in last dimension, but got grid with sizes [2, 2, 2, 2, "
                  "2]");
  EXPECT_ERROR_EQ(grid_sample(zeros({2, 1, 4, 5}), zeros({2, 2, 2, 3})),
                  "grid_sample: expected grid to have size 2 in last dimension, but got grid with sizes [2, 2, 2, 3]");
  EXPECT_ERROR_EQ(grid_sample(zeros({2, 1, 3, 0, 5}), g5),
                  "grid_sample: expected input to have non-empty spatial dimensions, but input has sizes [2, 1, 3, 0, "
                  "5] with dimension 3 being empty");
}

}  // namespace
