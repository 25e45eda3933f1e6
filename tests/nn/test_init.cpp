// nn::init: gains, fans, uniform_, normal_, the Glorot and He initialisers, trunc_normal_, eye_, dirac_,
// orthogonal_ and sparse_ (in place, seeded, outside the graph), and the eye and randperm factories.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace init = voxgrad::nn::init;
using voxgrad::testing::values;

TEST(Init, CalculateGainMatchesPyTorch) {
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Linear), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Conv3D), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Sigmoid), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::ReLU), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::SELU), 0.75);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU), std::sqrt(2.0 / (1.0 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU, 0.0), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
}

TEST(Init, FanInAndFanOutUseTheReceptiveField) {
  using Fans = std::pair<std::int64_t, std::int64_t>;
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(zeros({6, 4})), Fans(4, 6));
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(zeros({6, 4, 3, 5, 2})), Fans(4 * 30, 6 * 30));
  EXPECT_ERROR_CONTAINS(init::calculate_fan_in_and_fan_out(zeros({5})),
                        "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
}

TEST(Init, UniformFillsInPlaceWithinTheBounds) {
  manual_seed(3);
  Tensor t = zeros({1000}, kFloat64);
  Tensor r = init::uniform_(t, -2.0, 3.0);
  EXPECT_TRUE(r.is_same(t));
  double lo = 1e9, hi = -1e9, sum = 0;
  for (double v : values(t)) lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
  EXPECT_GE(lo, -2.0);
  EXPECT_LT(hi, 3.0);
  EXPECT_LT(lo, -1.9);
  EXPECT_GT(hi, 2.9);
  EXPECT_NEAR(sum / 1000.0, 0.5, 0.2);
  // Seeded: the same seed gives the same values.
  manual_seed(3);
  EXPECT_EQ(values(init::uniform_(zeros({1000}, kFloat64), -2.0, 3.0)), values(t));
  EXPECT_ERROR_CONTAINS(init::uniform_(zeros({2}, kInt64)), "uniform_: expected a float32 or float64 tensor");
}

TEST(Init, WorksOnALeafThatRequiresGradWithGradModeOn) {
  Tensor w = zeros({4, 3}).requires_grad_();
  ASSERT_TRUE(GradMode::is_enabled());
  init::kaiming_uniform_(w);
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(w.requires_grad());
  EXPECT_EQ(w.grad_fn(), nullptr);
  EXPECT_TRUE(GradMode::is_enabled());
}

TEST(Init, KaimingUniformBoundIsGainTimesSqrtThreeOverFan) {
  manual_seed(5);
  Tensor w = empty({64, 8, 3, 3});  // fan_in 72, fan_out 576
  auto max_abs = [](const Tensor& t) {
    double m = 0;
    for (double v : values(t)) m = std::max(m, std::abs(v));
    return m;
  };
  init::kaiming_uniform_(w);  // a = 0, leaky_relu: gain √2
  double bound = std::sqrt(2.0) * std::sqrt(3.0 / 72.0);
  EXPECT_LE(max_abs(w), bound * (1 + 1e-6));  // float32 rounding
  EXPECT_GT(max_abs(w), 0.99 * bound);
  init::kaiming_uniform_(w, 0.0, init::kFanOut, init::Nonlinearity::ReLU);
  bound = std::sqrt(2.0) * std::sqrt(3.0 / 576.0);
  EXPECT_LE(max_abs(w), bound * (1 + 1e-6));  // float32 rounding
  EXPECT_GT(max_abs(w), 0.99 * bound);
  init::kaiming_uniform_(w, std::sqrt(5.0));  // the conv default: 1/√fan_in
  bound = 1.0 / std::sqrt(72.0);
  EXPECT_LE(max_abs(w), bound * (1 + 1e-6));
  EXPECT_GT(max_abs(w), 0.99 * bound);
  // Nothing to do for an empty tensor (PyTorch warns and returns).
  EXPECT_NO_THROW(init::kaiming_uniform_(empty({0, 3})));
}

}  // namespace

namespace {

using namespace voxgrad;
namespace init = voxgrad::nn::init;
using voxgrad::testing::values;

struct Stats {
  double mean = 0, std = 0, max_abs = 0;
};

Stats stats_of(const Tensor& t) {
  const std::vector<double> v = values(t);
  Stats s;
  for (double e : v) s.mean += e, s.max_abs = std::max(s.max_abs, std::abs(e));
  s.mean /= static_cast<double>(v.size());
  for (double e : v) s.std += (e - s.mean) * (e - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size() - 1));
  return s;
}

TEST(Init, NormalHasTheRequestedMeanAndStd) {
  manual_seed(11);
  Tensor t = empty({200, 100});
  Tensor r = init::normal_(t, 3.0, 0.5);
  EXPECT_TRUE(r.is_same(t));
  const Stats s = stats_of(t);
  // 20 000 samples: the mean's standard error is 0.0035, the std's about 0.0025.
  EXPECT_NEAR(s.mean, 3.0, 0.02);
  EXPECT_NEAR(s.std, 0.5, 0.015);
  manual_seed(11);
  EXPECT_EQ(values(init::normal_(empty({200, 100}), 3.0, 0.5)), values(t));
  EXPECT_EQ(init::normal_(empty({4}, kFloat64)).dtype(), kFloat64);
  EXPECT_ERROR_CONTAINS(init::normal_(empty({2}), 0.0, -1.0), "normal_: normal expects std >= 0.0, but found std -1");
  EXPECT_ERROR_CONTAINS(init::normal_(zeros({2}, kInt64)), "normal_: expected a float32 or float64 tensor");
}

TEST(Init, ConstantZerosAndOnesFillInPlace) {
  Tensor t = empty({2, 3}).requires_grad_();
  EXPECT_TRUE(init::constant_(t, 0.25).is_same(t));
  EXPECT_EQ(values(t), std::vector<double>(6, 0.25));
  EXPECT_TRUE(t.is_leaf());
  EXPECT_TRUE(t.requires_grad());
  init::zeros_(t);
  EXPECT_EQ(values(t), std::vector<double>(6, 0.0));
  init::ones_(t);
  EXPECT_EQ(values(t), std::vector<double>(6, 1.0));
  Tensor idx = zeros({3}, kInt64);
  init::constant_(idx, 7.0);
  EXPECT_EQ(values(idx), std::vector<double>(3, 7.0));
}

TEST(Init, XavierUniformBoundIsGainTimesSqrtSixOverFanSum) {
  manual_seed(12);
  Tensor w = empty({64, 32, 3});  // fan_in 96, fan_out 192
  init::xavier_uniform_(w);
  double bound = std::sqrt(6.0 / (96.0 + 192.0));
  Stats s = stats_of(w);
  EXPECT_LE(s.max_abs, bound * (1 + 1e-6));
  EXPECT_GT(s.max_abs, 0.99 * bound);
  EXPECT_NEAR(s.std, bound / std::sqrt(3.0), 0.03 * bound);
  init::xavier_uniform_(w, init::calculate_gain(init::Nonlinearity::Tanh));
  bound *= 5.0 / 3.0;
  s = stats_of(w);
  EXPECT_LE(s.max_abs, bound * (1 + 1e-6));
  EXPECT_GT(s.max_abs, 0.99 * bound);
  EXPECT_ERROR_CONTAINS(init::xavier_uniform_(empty({5})), "Fan in and fan out can not be computed");
}

TEST(Init, XavierNormalStdIsGainTimesSqrtTwoOverFanSum) {
  manual_seed(13);
  Tensor w = empty({300, 100});  // fan_in 100, fan_out 300
  init::xavier_normal_(w, 2.0);
  const Stats s = stats_of(w);
  const double expected = 2.0 * std::sqrt(2.0 / 400.0);
  EXPECT_NEAR(s.mean, 0.0, 0.01 * expected * 4);
  EXPECT_NEAR(s.std, expected, 0.02 * expected);
}

TEST(Init, KaimingNormalStdFollowsFanModeAndGain) {
  manual_seed(14);
  Tensor w = empty({40, 20, 5, 5});  // fan_in 500, fan_out 1000
  init::kaiming_normal_(w);          // leaky_relu with a = 0: gain √2
  EXPECT_NEAR(stats_of(w).std, std::sqrt(2.0 / 500.0), 0.02 * std::sqrt(2.0 / 500.0));
  init::kaiming_normal_(w, 0.0, init::kFanOut, init::Nonlinearity::ReLU);
  EXPECT_NEAR(stats_of(w).std, std::sqrt(2.0 / 1000.0), 0.02 * std::sqrt(2.0 / 1000.0));
  init::kaiming_normal_(w, 0.2, init::kFanIn, init::Nonlinearity::LeakyReLU);
  const double expected = std::sqrt(2.0 / (1.0 + 0.04)) / std::sqrt(500.0);
  EXPECT_NEAR(stats_of(w).std, expected, 0.02 * expected);
  init::kaiming_normal_(w, 0.0, init::kFanIn, init::Nonlinearity::Tanh);
  EXPECT_NEAR(stats_of(w).std, (5.0 / 3.0) / std::sqrt(500.0), 0.02 * (5.0 / 3.0) / std::sqrt(500.0));
  EXPECT_NEAR(stats_of(w).mean, 0.0, 0.005);
  // Seeded, and nothing to do for an empty tensor.
  manual_seed(15);
  const std::vector<double> a = values(init::kaiming_normal_(empty({8, 8})));
  manual_seed(15);
  EXPECT_EQ(values(init::kaiming_normal_(empty({8, 8}))), a);
  EXPECT_NO_THROW(init::kaiming_normal_(empty({0, 4})));
  EXPECT_NO_THROW(init::xavier_normal_(empty({0, 4})));
}

TEST(Init, NewInitialisersRunOutsideTheGraph) {
  Tensor w = zeros({6, 4}).requires_grad_();
  ASSERT_TRUE(GradMode::is_enabled());
  init::xavier_uniform_(w);
  init::xavier_normal_(w);
  init::kaiming_normal_(w);
  init::normal_(w);
  init::trunc_normal_(w);
  init::eye_(w);
  init::orthogonal_(w);
  init::sparse_(w, 0.5);
  Tensor conv = zeros({2, 2, 3}).requires_grad_();
  init::dirac_(conv);
  EXPECT_TRUE(conv.is_leaf());
  EXPECT_EQ(conv.grad_fn(), nullptr);
  EXPECT_TRUE(w.is_leaf());
  EXPECT_EQ(w.grad_fn(), nullptr);
  EXPECT_TRUE(w.requires_grad());
}

TEST(Init, TruncNormalStaysInItsIntervalWithTheTruncatedMoments) {
  manual_seed(21);
  Tensor t = empty({300, 100}, kFloat64);
  init::trunc_normal_(t);
  const Stats s = stats_of(t);
  // N(0, 1) truncated to [−2, 2]: mean 0, variance 1 − 2·2φ(2)/(2Φ(2) − 1) = 0.7737 (std 0.8796); 30 000 samples.
  EXPECT_LE(s.max_abs, 2.0);
  EXPECT_NEAR(s.mean, 0.0, 0.02);
  EXPECT_NEAR(s.std, 0.8796, 0.01);
  // A one-sided interval far from the mean still fills [a, b], in float32 too.
  Tensor f = empty({2000});
  init::trunc_normal_(f, 1.0, 0.5, 1.5, 4.0);
  for (const double v : values(f)) {
    EXPECT_GE(v, 1.5);
    EXPECT_LE(v, 4.0);
  }
  // N(1, 0.5²) on [1.5, 4]: mean 1 + 0.5·φ(1)/(1 − Φ(1)) = 1.7626 (standard error about 0.005).
  EXPECT_NEAR(stats_of(f).mean, 1.7626, 0.025);
  // a = b fills a.
  init::trunc_normal_(f, 0.0, 1.0, 0.5, 0.5);
  EXPECT_EQ(stats_of(f).max_abs, 0.5);
  // The ViT idiom std 0.02 with bounds ±2 (100 σ): every value within a few σ.
  Tensor vit = empty({1000, 100});
  init::trunc_normal_(vit, 0.0, 0.02);
  EXPECT_LT(stats_of(vit).max_abs, 0.2);
  EXPECT_ERROR_EQ(init::trunc_normal_(f, 0.0, 0.0), "trunc_normal_: std must be positive, but got 0");
  EXPECT_ERROR_EQ(init::trunc_normal_(f, 0.0, 1.0, 2.0, 1.0), "trunc_normal_: expects a <= b, but got a=2 and b=1");
  EXPECT_ERROR_EQ(init::trunc_normal_(f, INFINITY, 1.0),
                  "trunc_normal_: mean and std must be finite, but got inf and 1");
  EXPECT_ERROR_EQ(init::trunc_normal_(f, 0.0, INFINITY),
                  "trunc_normal_: mean and std must be finite, but got 0 and inf");
}

// N(0, 1) truncated to [alpha, beta] in a tail, from the complementary CDF Q(x) = erfc(x/√2)/2, which keeps
// its relative precision out there (Φ itself rounds to 1 beyond about 8.3).
struct TailLaw {
  double alpha, beta;
  static double q(double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); }
  static double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); }
  double mass() const { return q(alpha) - q(beta); }
  double cdf(double x) const { return (q(alpha) - q(x)) / mass(); }
  double mean() const { return (phi(alpha) - (std::isinf(beta) ? 0.0 : phi(beta))) / mass(); }
  double variance() const {
    const double hb = std::isinf(beta) ? 0.0 : beta * phi(beta);
    return 1.0 + (alpha * phi(alpha) - hb) / mass() - mean() * mean();
  }
};

// The largest distance between the empirical CDF of `z` (standardised) and the law's (Kolmogorov–Smirnov).
double ks_distance(std::vector<double> z, const TailLaw& law) {
  std::sort(z.begin(), z.end());
  const double n = static_cast<double>(z.size());
  double d = 0.0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double f = law.cdf(z[i]);
    d = std::max({d, std::abs(f - static_cast<double>(i) / n), std::abs(static_cast<double>(i + 1) / n - f)});
  }
  return d;
}

// Far in a tail (where inversion through erf comes in coarse steps, or rounds to one bound everywhere),
// trunc_normal_ samples by rejection: every value inside [a, b], the truncated law's mean and standard
// deviation, and its whole CDF (Kolmogorov–Smirnov at 1%: 1.63/√n).
TEST(Init, TruncNormalFarInATailFollowsTheTruncatedLaw) {
  manual_seed(5);
  constexpr std::int64_t n = 200000;
  const double ks_bound = 1.63 / std::sqrt(static_cast<double>(n));
  struct Case {
    double mean, std, a, b;
  };
  // Upper tails: exponential proposals (wide), uniform ones (narrow: alpha·(b − a) up to about 1); lower tails
  // (mirrored), on both proposals; the edge of the rejection region (4σ); an unbounded one at 30σ.
  for (const Case c :
       {Case{0.0, 1.0, 9.0, 10.0}, Case{2.0, 0.5, 6.5, 6.52}, Case{0.0, 1.0, 5.0, 5.2}, Case{0.0, 1.0, -14.0, -6.0},
        Case{0.0, 1.0, -8.1, -8.0}, Case{1.0, 2.0, 9.0, 12.0}, Case{-3.0, 0.1, 0.0, INFINITY}}) {
    SCOPED_TRACE(::testing::Message() << "N(" << c.mean << ", " << c.std << "²) on [" << c.a << ", " << c.b << "]");
    Tensor t = empty({n}, kFloat64);
    init::trunc_normal_(t, c.mean, c.std, c.a, c.b);
    const std::vector<double> v = values(t);
    std::vector<double> z(v.size());
    const bool lower = c.b <= c.mean;
    const TailLaw law{lower ? (c.mean - c.b) / c.std : (c.a - c.mean) / c.std,
                      lower ? (c.mean - c.a) / c.std : (c.b - c.mean) / c.std};
    double sum = 0.0, sq = 0.0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      ASSERT_GE(v[i], c.a);
      ASSERT_LE(v[i], c.b);
      z[i] = lower ? (c.mean - v[i]) / c.std : (v[i] - c.mean) / c.std;
      sum += z[i];
      sq += z[i] * z[i];
    }
    const double mean = sum / n, var = sq / n - mean * mean, sd = std::sqrt(law.variance());
    EXPECT_NEAR(mean, law.mean(), 5.0 * sd / std::sqrt(static_cast<double>(n)));
    EXPECT_NEAR(std::sqrt(var), sd, 0.01 * sd);
    EXPECT_LT(ks_distance(z, law), ks_bound);
  }
  // float32, 40σ out: every value inside, not one bound everywhere; a bound that float32 cannot hold (40.1)
  // is met by its float32 neighbour inside [a, b].
  Tensor f = empty({1000});
  init::trunc_normal_(f, 0.0, 1.0, 40.1, 41.0);
  const std::vector<double> fv = values(f);
  const auto [fmin, fmax] = std::minmax_element(fv.begin(), fv.end());
  EXPECT_GE(*fmin, 40.1);
  EXPECT_LE(*fmax, 41.0);
  EXPECT_GT(*fmax - *fmin, 0.05);
  // Within a few float32 steps of 40.1 (3.8·10⁻⁶ apart there), where the cast alone would round about 2% of
  // the values below a.
  Tensor g = empty({1000});
  init::trunc_normal_(g, 0.0, 1.0, 40.1, 40.1001);
  for (const double x : values(g)) {
    ASSERT_GE(x, 40.1);
    ASSERT_LE(x, 40.1001);
  }
  // Intervals too narrow to invert (Φ changes by less than 2⁻³⁰ across them): beside the mean, one ulp and
  // 10⁻¹⁵ wide, and around it; inside them, and spread over them.
  for (const auto& [lo, hi] :
       {std::pair{3.0, std::nextafter(3.0, 4.0)}, std::pair{1e-3, 1e-3 + 1e-15}, std::pair{-1e-300, 1e-300}}) {
    SCOPED_TRACE(::testing::Message() << "[" << lo << ", " << hi << "]");
    Tensor narrow = empty({100}, kFloat64);
    init::trunc_normal_(narrow, 0.0, 1.0, lo, hi);
    std::vector<double> nv = values(narrow);
    std::sort(nv.begin(), nv.end());
    EXPECT_GE(nv.front(), lo);
    EXPECT_LE(nv.back(), hi);
    EXPECT_LT(nv.front(), nv.back());
    // [10⁻³, 10⁻³ + 10⁻¹⁵] holds about 4 500 doubles but only a few steps of Φ: inversion would give at most 5.
    if (lo == 1e-3) {
      EXPECT_GT(std::unique(nv.begin(), nv.end()) - nv.begin(), 90);
    }
  }
  // Bounds more standard deviations away than a double holds (a denormal std, huge values): the law's limit,
  // every value at the near bound, and no endless rejection loop.
  for (const Case c :
       {Case{0.0, 1e-320, 1.0, 2.0}, Case{0.0, 1e-320, -2.0, -1.0}, Case{-1e308, 1.0, 1e308, 1.5e308},
        Case{0.0, 1.0, 1.7e308, INFINITY}, Case{0.0, 1.0, 1e308, 1.7e308}, Case{0.0, 1.0, -INFINITY, -1.7e308}}) {
    SCOPED_TRACE(::testing::Message() << "N(" << c.mean << ", " << c.std << "²) on [" << c.a << ", " << c.b << "]");
    Tensor t = empty({50}, kFloat64);
    init::trunc_normal_(t, c.mean, c.std, c.a, c.b);
    const double near = c.a - c.mean >= 0.0 ? c.a : c.b;
    for (const double x : values(t)) EXPECT_EQ(x, near);
  }
}

TEST(Init, EyeAndDirac) {
  Tensor e = full({3, 4}, 7.0);
  init::eye_(e);
  EXPECT_EQ(values(e), (std::vector<double>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(values(eye(2, 3, kFloat64)), (std::vector<double>{1, 0, 0, 0, 1, 0}));
  EXPECT_ERROR_EQ(init::eye_(empty({2, 2, 2})),
                  "eye_: only tensors with 2 dimensions are supported, but got shape [2, 2, 2]");
  // A dirac weight makes a padded stride-1 convolution the identity on its first min(out, in) channels.
  manual_seed(22);
  const Tensor x = randn({1, 3, 4, 5, 6}, kFloat64);
  Tensor w = empty({3, 3, 3, 3, 3}, kFloat64);
  init::dirac_(w);
  voxgrad::testing::expect_close(nn::functional::conv3d(x, w, nn::functional::Conv3dFuncOptions().padding(1)), x, 0.0);
  // Two groups of 2 output channels over 3 input channels of a 1-D kernel of 5: centre tap 2.
  Tensor g = empty({4, 3, 5});
  init::dirac_(g, 2);
  std::vector<double> want(60, 0.0);
  for (const auto& [o, i] : {std::pair{0, 0}, {1, 1}, {2, 0}, {3, 1}})
    want[static_cast<std::size_t>((o * 3 + i) * 5 + 2)] = 1.0;
  EXPECT_EQ(values(g), want);
  EXPECT_ERROR_EQ(init::dirac_(empty({4, 3})),
                  "dirac_: only tensors with 3, 4, or 5 dimensions are supported, but got shape [4, 3]");
  EXPECT_ERROR_EQ(init::dirac_(empty({4, 3, 3}), 3), "dirac_: dim 0 (4) must be divisible by groups (3)");
  EXPECT_ERROR_EQ(init::dirac_(empty({4, 3, 3}), 0), "dirac_: groups must be positive, but got 0");
}

TEST(Init, OrthogonalGivesOrthonormalRowsOrColumns) {
  manual_seed(23);
  for (const Shape& shape : {Shape{6, 4}, Shape{4, 6}, Shape{5, 5}, Shape{8, 2, 3, 1}, Shape{3, 2, 2, 2, 2}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor w = empty(shape, kFloat64);
    init::orthogonal_(w, 2.0);
    const Tensor m = w.reshape({shape[0], -1}) / 2.0;
    const std::int64_t r = m.size(0), c = m.size(1);
    const Tensor gram = r >= c ? matmul(m.t(), m) : matmul(m, m.t());
    voxgrad::testing::expect_close(gram, eye(std::min(r, c), kFloat64), 1e-14);
  }
  // PyTorch's sign rule: Q is the QR factor of the matrix drawn whose R has a positive diagonal, so that Q is
  // uniformly distributed. The draw is repeated here: randn((cols, rows)) for a tall matrix (its transpose).
  for (const Shape& shape : {Shape{6, 4}, Shape{3, 5}}) {
    SCOPED_TRACE(shape_str(shape));
    const bool wide = shape[0] < shape[1];
    const std::int64_t m = std::max(shape[0], shape[1]), n = std::min(shape[0], shape[1]);
    manual_seed(99);
    Tensor w = empty(shape, kFloat64);
    init::orthogonal_(w);
    manual_seed(99);
    const Tensor tall_a = randn({n, m}, kFloat64).t();  // m × n
    const Tensor tall_q = wide ? w.t() : w;             // m × n
    const Tensor r = matmul(tall_q.t(), tall_a);        // n × n: upper triangular, positive diagonal
    for (std::int64_t i = 0; i < n; ++i) {
      EXPECT_GT(r.select(0, i).select(0, i).item<double>(), 0.0);
      for (std::int64_t j = 0; j < i; ++j) EXPECT_NEAR(r.select(0, i).select(0, j).item<double>(), 0.0, 1e-13);
    }
  }
  // A transposed target (a view) is filled through the view.
  Tensor base = zeros({4, 6}, kFloat64);
  Tensor view = base.t();
  init::orthogonal_(view);
  voxgrad::testing::expect_close(matmul(base, base.t()), eye(4, kFloat64), 1e-14);
  // float32 too, and the draws differ from call to call.
  Tensor a = empty({4, 4});
  init::orthogonal_(a);
  voxgrad::testing::expect_close(matmul(a.t(), a), eye(4), 2e-6);
  Tensor b = empty({4, 4});
  init::orthogonal_(b);
  EXPECT_NE(values(a), values(b));
  EXPECT_NO_THROW(init::orthogonal_(empty({0, 3})));
  EXPECT_ERROR_EQ(init::orthogonal_(empty({3})),
                  "orthogonal_: only tensors with 2 or more dimensions are supported, but got shape [3]");
}

TEST(Init, SparseZerosAFixedNumberPerColumn) {
  manual_seed(24);
  Tensor w = empty({10, 7}, kFloat64);
  init::sparse_(w, 0.25, 0.5);
  const std::vector<double> v = values(w);
  for (std::int64_t c = 0; c < 7; ++c) {
    int zeros_in_column = 0;
    for (std::int64_t r = 0; r < 10; ++r) zeros_in_column += v[static_cast<std::size_t>(r * 7 + c)] == 0.0 ? 1 : 0;
    EXPECT_EQ(zeros_in_column, 3);  // ceil(0.25 · 10)
  }
  EXPECT_ERROR_EQ(init::sparse_(w, 1.5), "sparse_: sparsity must be in [0, 1], but got 1.5");
  EXPECT_ERROR_EQ(init::sparse_(empty({2, 2, 2}), 0.1),
                  "sparse_: only tensors with 2 dimensions are supported, but got shape [2, 2, 2]");
}

TEST(Init, RandpermIsAPermutation) {
  manual_seed(25);
  for (const std::int64_t n : {0, 1, 2, 17, 1000}) {
    const Tensor p = randperm(n);
    EXPECT_EQ(p.dtype(), kInt64);
    std::vector<double> v = values(p);
    std::sort(v.begin(), v.end());
    for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(v[static_cast<std::size_t>(i)], static_cast<double>(i));
  }
  // Every value comes first about equally often (3 values, 6000 draws: 2000 ± ~37 each).
  std::vector<int> first(3, 0);
  for (int k = 0; k < 6000; ++k) ++first[static_cast<std::size_t>(randperm(3).data_ptr<std::int64_t>()[0])];
  for (const int f : first) EXPECT_NEAR(f, 2000, 200);
  EXPECT_EQ(randperm(4, kFloat64).dtype(), kFloat64);
  EXPECT_ERROR_EQ(randperm(-1), "randperm: n must be non-negative, but got -1");
  EXPECT_ERROR_EQ(randperm(int64_t{1} << 25, kFloat32),
                  "randperm: n must be at most 16777217 for float32 (larger values are not exact), but got 33554432");
  EXPECT_ERROR_EQ(eye(-1), "eye: n and m must be non-negative, but got n=-1 and m=-1");
}

}  // namespace
