#include "voxgrad/nn/init.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/random.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/indexing.h"
#include "voxgrad/ops/special.h"

namespace voxgrad::nn::init {

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv1D:
    case Nonlinearity::Conv2D:
    case Nonlinearity::Conv3D:
    case Nonlinearity::ConvTranspose1D:
    case Nonlinearity::ConvTranspose2D:
    case Nonlinearity::ConvTranspose3D:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: {
      const double slope = param.value_or(0.01);
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    case Nonlinearity::SELU: return 3.0 / 4.0;
  }
  throw Error("calculate_gain: unknown nonlinearity");
}

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  voxgrad::detail::check_tensor_defined(tensor, "calculate_fan_in_and_fan_out");
  VOXGRAD_CHECK(tensor.dim() >= 2,
                "calculate_fan_in_and_fan_out: Fan in and fan out can not be computed for tensor with fewer "
                "than 2 dimensions (got a tensor of size {})",
                shape_str(tensor.sizes()));
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < tensor.dim(); ++d) receptive *= tensor.size(d);
  return {tensor.size(1) * receptive, tensor.size(0) * receptive};
}

Tensor uniform_(Tensor tensor, double low, double high) {
  voxgrad::detail::check_tensor_defined(tensor, "uniform_");
  voxgrad::detail::check_floating_dtype(tensor.dtype(), "uniform_");
  VOXGRAD_CHECK(low <= high, "uniform_: expects low <= high, but got low={} and high={}", low, high);
  NoGradGuard no_grad;
  // low + (high − low)·u with u ~ U[0, 1) drawn in the tensor's own dtype.
  Tensor u = rand(tensor.sizes(), tensor.dtype());
  u.mul_(high - low).add_(low);
  tensor.copy_(u);
  return tensor;
}

Tensor normal_(Tensor tensor, double mean, double std) {
  voxgrad::detail::check_tensor_defined(tensor, "normal_");
  voxgrad::detail::check_floating_dtype(tensor.dtype(), "normal_");
  VOXGRAD_CHECK(std >= 0.0, "normal_: normal expects std >= 0.0, but found std {}", std);
  NoGradGuard no_grad;
  // mean + std·z with z ~ N(0, 1) drawn in the tensor's own dtype.
  Tensor z = randn(tensor.sizes(), tensor.dtype());
  z.mul_(std).add_(mean);
  tensor.copy_(z);
  return tensor;
}

Tensor constant_(Tensor tensor, double value) {
  voxgrad::detail::check_tensor_defined(tensor, "constant_");
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor zeros_(Tensor tensor) {
  voxgrad::detail::check_tensor_defined(tensor, "zeros_");
  return constant_(std::move(tensor), 0.0);
}

Tensor ones_(Tensor tensor) {
  voxgrad::detail::check_tensor_defined(tensor, "ones_");
  return constant_(std::move(tensor), 1.0);
}

namespace {

// gain·√(2 / (fan_in + fan_out)), the Glorot standard deviation.
double xavier_std(const Tensor& tensor, double gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
}

// gain / √fan for kaiming_*; gain from the non-linearity and `a`.
double kaiming_std(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const std::int64_t fan = mode == FanMode::FanIn ? fan_in : fan_out;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

}  // namespace

Tensor xavier_uniform_(Tensor tensor, double gain) {
  voxgrad::detail::check_tensor_defined(tensor, "xavier_uniform_");
  const double bound = std::sqrt(3.0) * xavier_std(tensor, gain);  // U(−a, a) has std a/√3
  if (tensor.numel() == 0) return tensor;
  return uniform_(std::move(tensor), -bound, bound);
}

Tensor xavier_normal_(Tensor tensor, double gain) {
  voxgrad::detail::check_tensor_defined(tensor, "xavier_normal_");
  const double std = xavier_std(tensor, gain);
  if (tensor.numel() == 0) return tensor;
  return normal_(std::move(tensor), 0.0, std);
}

Tensor kaiming_normal_(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  voxgrad::detail::check_tensor_defined(tensor, "kaiming_normal_");
  if (tensor.numel() == 0) return tensor;  // PyTorch warns and does nothing
  const double std = kaiming_std(tensor, a, mode, nonlinearity);
  return normal_(std::move(tensor), 0.0, std);
}

Tensor kaiming_uniform_(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  voxgrad::detail::check_tensor_defined(tensor, "kaiming_uniform_");
  if (tensor.numel() == 0) return tensor;  // PyTorch warns and does nothing
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const std::int64_t fan = mode == FanMode::FanIn ? fan_in : fan_out;
  const double gain = calculate_gain(nonlinearity, a);
  const double bound = std::sqrt(3.0) * gain / std::sqrt(static_cast<double>(fan));
  return uniform_(std::move(tensor), -bound, bound);
}

namespace {

// Beyond this many standard deviations on one side of the mean, N(0, 1) truncated to [α, β] is sampled by
// rejection: inversion through erf there has 2Φ(α) − 1 within about 11 steps of 2⁻⁵³ of 1 at α = 8, so its
// samples come in steps of about 0.01, and beyond about 8.3 the interval's probability rounds to 0.
constexpr double kTailStart = 4.0;

// Below this difference of Φ between the ends, inversion would map u's float64 steps to fewer than about
// 10⁷ distinct values in [a, b]: rejection sampling serves such narrow intervals instead.
constexpr double kMinInvertedMass = 0x1p-30;

// One excess t = z − alpha of N(0, 1) truncated to [alpha, alpha + w], alpha ≥ 0, w > 0 (may be +∞), by
// Robert's (1995) rejection samplers, in the excess so that nothing overflows or cancels for huge alpha:
// - the exponential proposal t ~ Exp(λ), λ = alpha + delta with delta = 2 / (alpha + √(alpha² + 4)) (that is
//   λ = (alpha + √(alpha² + 4)) / 2), accepted with probability exp(−(z − λ)²/2) = exp(−(t − delta)²/2)
//   where t ≤ w;
// - the uniform proposal t ~ U(0, w), accepted with probability exp((alpha² − z²)/2) = exp(−t·(alpha + t/2)),
//   the density's ratio to its value at alpha.
double tail_excess(Generator& gen, double alpha, double w, double lambda, double delta, bool exponential) {
  for (;;) {
    if (exponential) {
      const double t = -std::log1p(-gen.next_double()) / lambda;  // 1 − u in (0, 1]: no log(0)
      const double d = t - delta;
      if (t <= w && gen.next_double() < std::exp(-0.5 * d * d)) return t;
    } else {
      const double t = std::min(w, w * gen.next_double());
      if (gen.next_double() < std::exp(-t * (alpha + 0.5 * t))) return t;
    }
  }
}

// Fills `out` with excesses over alpha of N(0, 1) truncated to [alpha, alpha + w] (alpha ≥ 0 finite; the
// caller mirrors the lower tail). Each proposal's acceptance rate: the exponential one's is at least 0.76
// before the cut at w, which multiplies it by 1 − exp(−λ·w); the uniform one's is about
// (1 − exp(−alpha·w)) / (alpha·w). The higher of the two estimates picks the proposal, so neither runs at a
// rate below about 0.4.
void tail_excesses(std::vector<double>& out, double alpha, double w) {
  const double delta = 2.0 / (alpha + std::hypot(alpha, 2.0)), lambda = alpha + delta;
  const double aw = alpha * w;
  const double by_exponential = 0.76 * -std::expm1(-lambda * w);
  const double by_uniform = aw > 0.0 ? -std::expm1(-aw) / aw : 1.0;
  Generator& gen = default_generator();
  for (double& v : out) v = tail_excess(gen, alpha, w, lambda, delta, by_exponential > by_uniform);
}

// The bounds to clamp float64 samples to before they are cast to `dtype`: [a, b] itself, or for float32 its
// float32 bounds rounded inward (when some float32 lies in [a, b]), so that the cast cannot round a value
// past a or b (rounding is monotone, and those bounds are float32 values).
std::pair<double, double> clamp_bounds(DType dtype, double a, double b) {
  if (dtype != kFloat32) return {a, b};
  float lo = static_cast<float>(a), hi = static_cast<float>(b);
  if (static_cast<double>(lo) < a) lo = std::nextafter(lo, INFINITY);
  if (static_cast<double>(hi) > b) hi = std::nextafter(hi, -INFINITY);
  if (lo > hi) return {a, b};
  return {lo, hi};
}

}  // namespace

Tensor trunc_normal_(Tensor tensor, double mean, double std, double a, double b) {
  voxgrad::detail::check_tensor_defined(tensor, "trunc_normal_");
  voxgrad::detail::check_floating_dtype(tensor.dtype(), "trunc_normal_");
  VOXGRAD_CHECK(std > 0.0, "trunc_normal_: std must be positive, but got {}", std);
  VOXGRAD_CHECK(std::isfinite(mean) && std::isfinite(std),
                "trunc_normal_: mean and std must be finite, but got {} and {}", mean, std);
  VOXGRAD_CHECK(a <= b, "trunc_normal_: expects a <= b, but got a={} and b={}", a, b);
  NoGradGuard no_grad;
  if (a == b) return constant_(std::move(tensor), a);
  const double alpha = (a - mean) / std, beta = (b - mean) / std;
  // A finite bound more standard deviations from the mean than a double holds (a tiny std, or huge values):
  // the law is then all at that bound, its limit.
  if (alpha == INFINITY) return constant_(std::move(tensor), a);
  if (beta == -INFINITY) return constant_(std::move(tensor), b);
  // Inverse-CDF sampling, in float64 whatever the tensor's dtype (so that float32's 2⁻²⁴ steps of u neither
  // quantise the tails nor reach ±1, where erfinv is infinite): Φ(x) = (1 + erf(x/√2)) / 2, so
  // x = √2·erfinv(2Φ(x) − 1) for 2Φ(x) − 1 uniform between its values at a and b.
  const auto cdf = [](double x) { return (1.0 + std::erf(x / std::numbers::sqrt2)) / 2.0; };
  const double lo = cdf(alpha), hi = cdf(beta);
  const auto [clamp_lo, clamp_hi] = clamp_bounds(tensor.dtype(), a, b);
  if (alpha < kTailStart && beta > -kTailStart && hi - lo >= kMinInvertedMass) {
    const Tensor u = rand(tensor.sizes(), kFloat64) * (2.0 * hi - 2.0 * lo) + (2.0 * lo - 1.0);
    tensor.copy_(voxgrad::clamp(voxgrad::erfinv(u) * (std * std::numbers::sqrt2) + mean, clamp_lo, clamp_hi));
    return tensor;
  }
  // Far in a tail (where PyTorch returns coarse steps, then a bound everywhere), or an interval too narrow for
  // inversion: rejection sampling on the side of the mean the interval lies on, as excesses over its near
  // bound (mirrored for the lower tail). An interval around the mean is narrow here (Φ changes by less than
  // kMinInvertedMass across it, so it is under 3·10⁻⁹ wide), and its uniform proposal is accepted with
  // probability exp(−z²/2), about 1.
  std::vector<double> v(static_cast<std::size_t>(tensor.numel()));
  double base = a, sign = 1.0;
  if (alpha >= 0.0) {
    tail_excesses(v, alpha, beta - alpha);
  } else if (beta <= 0.0) {
    tail_excesses(v, -beta, beta - alpha);
    base = b, sign = -1.0;
  } else {
    Generator& gen = default_generator();
    for (double& t : v) {
      double z = 0.0;
      do {
        t = std::min(beta - alpha, (beta - alpha) * gen.next_double());
        z = alpha + t;
      } while (gen.next_double() >= std::exp(-0.5 * z * z));
    }
  }
  // The value: the near bound plus the excess in the tensor's units (exact near huge bounds, where
  // mean + std·z would lose the excess to rounding).
  tensor.copy_(voxgrad::clamp(from_blob(v.data(), tensor.sizes()) * (sign * std) + base, clamp_lo, clamp_hi));
  return tensor;
}

Tensor eye_(Tensor tensor) {
  voxgrad::detail::check_tensor_defined(tensor, "eye_");
  VOXGRAD_CHECK(tensor.dim() == 2, "eye_: only tensors with 2 dimensions are supported, but got shape {}",
                shape_str(tensor.sizes()));
  NoGradGuard no_grad;
  tensor.fill_(0.0);
  for (std::int64_t i = 0; i < std::min(tensor.size(0), tensor.size(1)); ++i)
    tensor.select(0, i).select(0, i).fill_(1.0);
  return tensor;
}

Tensor dirac_(Tensor tensor, std::int64_t groups) {
  voxgrad::detail::check_tensor_defined(tensor, "dirac_");
  VOXGRAD_CHECK(tensor.dim() >= 3 && tensor.dim() <= 5,
                "dirac_: only tensors with 3, 4, or 5 dimensions are supported, but got shape {}",
                shape_str(tensor.sizes()));
  VOXGRAD_CHECK(groups > 0, "dirac_: groups must be positive, but got {}", groups);
  VOXGRAD_CHECK(tensor.size(0) % groups == 0, "dirac_: dim 0 ({}) must be divisible by groups ({})", tensor.size(0),
                groups);
  NoGradGuard no_grad;
  tensor.fill_(0.0);
  const std::int64_t per_group = tensor.size(0) / groups;
  const std::int64_t channels = std::min(per_group, tensor.size(1));
  for (std::int64_t g = 0; g < groups; ++g) {
    for (std::int64_t d = 0; d < channels; ++d) {
      Tensor tap = tensor.select(0, g * per_group + d).select(0, d);
      while (tap.dim() > 0) tap = tap.select(0, tap.size(0) / 2);
      tap.fill_(1.0);
    }
  }
  return tensor;
}

namespace {

// The m×n (m ≥ n) Q of the QR decomposition of `a` (column-major, m×n), by Householder reflections, with
// each column multiplied by the sign of R's diagonal entry (so R's diagonal is non-negative and Q unique).
std::vector<double> orthonormal_columns(std::vector<double> a, std::int64_t m, std::int64_t n) {
  std::vector<std::vector<double>> reflectors;
  std::vector<double> diagonal(static_cast<std::size_t>(n));
  const auto at = [&](std::int64_t i, std::int64_t j) -> double& { return a[static_cast<std::size_t>(j * m + i)]; };
  for (std::int64_t k = 0; k < n; ++k) {
    // v = x − α·e₁ with α = −sign(x₀)·‖x‖ over rows k…m−1 of column k; H = I − 2vvᵀ/(vᵀv).
    double norm = 0.0;
    for (std::int64_t i = k; i < m; ++i) norm += at(i, k) * at(i, k);
    norm = std::sqrt(norm);
    const double alpha = at(k, k) > 0.0 ? -norm : norm;
    std::vector<double> v(static_cast<std::size_t>(m - k));
    for (std::int64_t i = k; i < m; ++i) v[static_cast<std::size_t>(i - k)] = at(i, k);
    v[0] -= alpha;
    double vv = 0.0;
    for (const double x : v) vv += x * x;
    diagonal[static_cast<std::size_t>(k)] = alpha;
    if (vv > 0.0) {
      for (std::int64_t j = k; j < n; ++j) {
        double dot = 0.0;
        for (std::int64_t i = k; i < m; ++i) dot += v[static_cast<std::size_t>(i - k)] * at(i, j);
        const double f = 2.0 * dot / vv;
        for (std::int64_t i = k; i < m; ++i) at(i, j) -= f * v[static_cast<std::size_t>(i - k)];
      }
    }
    reflectors.push_back(std::move(v));
  }
  // Q = H₀·H₁·…·Hₙ₋₁ applied to the first n columns of the identity, the last reflection first.
  std::vector<double> q(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t j = 0; j < n; ++j) q[static_cast<std::size_t>(j * m + j)] = 1.0;
  for (std::int64_t k = n - 1; k >= 0; --k) {
    const std::vector<double>& v = reflectors[static_cast<std::size_t>(k)];
    double vv = 0.0;
    for (const double x : v) vv += x * x;
    if (vv == 0.0) continue;
    for (std::int64_t j = 0; j < n; ++j) {
      double dot = 0.0;
      for (std::int64_t i = k; i < m; ++i)
        dot += v[static_cast<std::size_t>(i - k)] * q[static_cast<std::size_t>(j * m + i)];
      const double f = 2.0 * dot / vv;
      for (std::int64_t i = k; i < m; ++i)
        q[static_cast<std::size_t>(j * m + i)] -= f * v[static_cast<std::size_t>(i - k)];
    }
  }
  for (std::int64_t j = 0; j < n; ++j) {
    const double d = diagonal[static_cast<std::size_t>(j)];
    const double sign = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);  // torch.sign, 0 for a zero pivot
    for (std::int64_t i = 0; i < m; ++i) q[static_cast<std::size_t>(j * m + i)] *= sign;
  }
  return q;
}

}  // namespace

Tensor orthogonal_(Tensor tensor, double gain) {
  voxgrad::detail::check_tensor_defined(tensor, "orthogonal_");
  voxgrad::detail::check_floating_dtype(tensor.dtype(), "orthogonal_");
  VOXGRAD_CHECK(tensor.dim() >= 2,
                "orthogonal_: only tensors with 2 or more dimensions are supported, but got shape {}",
                shape_str(tensor.sizes()));
  if (tensor.numel() == 0) return tensor;
  NoGradGuard no_grad;
  const std::int64_t rows = tensor.size(0);
  const std::int64_t cols = tensor.numel() / rows;
  // The tall orientation (rows ≥ cols, else the transpose), column-major: element (i, j) at j·m + i.
  const bool wide = rows < cols;
  const std::int64_t m = wide ? cols : rows, n = wide ? rows : cols;
  const Tensor drawn = randn({n, m}, kFloat64).contiguous();  // row j of `drawn` is column j of the tall matrix
  const double* pd = drawn.data_ptr<double>();
  std::vector<double> q = orthonormal_columns(std::vector<double>(pd, pd + m * n), m, n);
  // Back to (rows, cols): the tall Q itself (column j at q[j·m…]) or its transpose.
  Tensor flat = from_blob(q.data(), {n, m}, kFloat64);  // row j = column j of Q
  flat = wide ? flat : flat.t();
  tensor.copy_((flat.contiguous() * gain).reshape(tensor.sizes()).to(tensor.dtype()));
  return tensor;
}

Tensor sparse_(Tensor tensor, double sparsity, double std) {
  voxgrad::detail::check_tensor_defined(tensor, "sparse_");
  voxgrad::detail::check_floating_dtype(tensor.dtype(), "sparse_");
  VOXGRAD_CHECK(tensor.dim() == 2, "sparse_: only tensors with 2 dimensions are supported, but got shape {}",
                shape_str(tensor.sizes()));
  VOXGRAD_CHECK(sparsity >= 0.0 && sparsity <= 1.0, "sparse_: sparsity must be in [0, 1], but got {}", sparsity);
  const std::int64_t rows = tensor.size(0), cols = tensor.size(1);
  const auto zeros_per_column = static_cast<std::int64_t>(std::ceil(sparsity * static_cast<double>(rows)));
  normal_(tensor, 0.0, std);
  NoGradGuard no_grad;
  // In each column, the rows of the first ceil(sparsity · rows) entries of a random permutation are zeroed.
  Tensor zero_at = zeros({rows, cols}, tensor.dtype());
  voxgrad::detail::dispatch_floating(tensor.dtype(), "sparse_", [&]<typename T>() {
    T* mask = zero_at.data_ptr<T>();
    for (std::int64_t c = 0; c < cols; ++c) {
      const Tensor perm = randperm(rows);
      const std::int64_t* p = perm.data_ptr<std::int64_t>();
      for (std::int64_t i = 0; i < zeros_per_column; ++i) mask[p[i] * cols + c] = T(1);
    }
  });
  tensor.masked_fill_(zero_at, 0.0);
  return tensor;
}

}  // namespace voxgrad::nn::init
