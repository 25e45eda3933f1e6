#include "voxgrad/ops/special.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <type_traits>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/error.h"
#include "voxgrad/ops/detail/elementwise_kernels.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/unary_op.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/trigonometric.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using detail::binary_kernel;
using detail::differentiable_unary;

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// erfinv: a rational approximation of the inverse (central range |y| ≤ 0.7, else in √(−log((1 − |y|)/2))),
// then two Newton steps on erf(x) = y, in T; the coefficients of ATen's calc_erfinv (Pavlis's).
template <typename T>
T erfinv_value(T y) {
  const T a[4] = {T(0.886226899), T(-1.645349621), T(0.914624893), T(-0.140543331)};
  const T b[4] = {T(-2.118377725), T(1.442710462), T(-0.329097515), T(0.012229801)};
  const T c[4] = {T(-1.970840454), T(-1.624906493), T(3.429567803), T(1.641345311)};
  const T d[2] = {T(3.543889200), T(1.637067800)};
  const T y_abs = std::abs(y);
  if (y_abs > T(1)) return std::numeric_limits<T>::quiet_NaN();
  if (y_abs == T(1)) return std::copysign(std::numeric_limits<T>::infinity(), y);
  T x;
  if (y_abs <= T(0.7)) {
    const T z = y * y;
    const T num = ((a[3] * z + a[2]) * z + a[1]) * z + a[0];
    const T dem = (((b[3] * z + b[2]) * z + b[1]) * z + b[0]) * z + T(1);
    x = y * num / dem;
  } else {
    const T z = std::sqrt(-std::log((T(1) - y_abs) / T(2)));
    const T num = ((c[3] * z + c[2]) * z + c[1]) * z + c[0];
    const T dem = (d[1] * z + d[0]) * z + T(1);
    x = std::copysign(num, y) / dem;
  }
  const T two_over_sqrt_pi = T(2) / static_cast<T>(std::sqrt(kPi));
  x = x - (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  x = x - (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  return x;
}

// log|Γ(x)| by the reentrant lgamma_r (std::lgamma writes the global signgam, a data race between threads).
double lgamma_value(double x) {
  int sign = 0;
  return ::lgamma_r(x, &sign);
}
float lgamma_value(float x) {
  int sign = 0;
  return ::lgammaf_r(x, &sign);
}

// ψ(x), ATen's calc_digamma: ∓inf at ±0, NaN at the negative integers; below 0 the reflection
// ψ(1 − x) − π / tan(π·frac(x)) (the fraction keeps tan accurate); else the recurrence ψ(x) = ψ(x + 1) − 1/x
// up to 10 and the asymptotic series log x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ) (Horner in 1/x²).
template <typename T>
T digamma_value(T x) {
  if (x == T(0)) return std::copysign(std::numeric_limits<T>::infinity(), -x);
  if (x < T(0)) {
    if (x == std::trunc(x)) return std::numeric_limits<T>::quiet_NaN();
    double whole = 0;
    const double r = std::modf(static_cast<double>(x), &whole);
    return digamma_value<T>(T(1) - x) - static_cast<T>(kPi / std::tan(kPi * r));
  }
  T result = 0;
  while (x < T(10)) {
    result -= T(1) / x;
    x += T(1);
  }
  if (x == T(10)) return result + T(2.25175258906672110764);
  const T A[7] = {T(8.33333333333333333333E-2),  T(-2.10927960927960927961E-2), T(7.57575757575757575758E-3),
                  T(-4.16666666666666666667E-3), T(3.96825396825396825397E-3),  T(-8.33333333333333333333E-3),
                  T(8.33333333333333333333E-2)};
  T y = 0;
  if (x < T(1.0e17)) {
    const T z = T(1) / (x * x);
    T poly = 0;
    for (const T coefficient : A) poly = poly * z + coefficient;
    y = z * poly;
  }
  return result + std::log(x) - (T(0.5) / x) - y;
}

double hurwitz_zeta(double s, double q);

// ψ′(x), ATen's calc_trigamma: below 1/2 the reflection ψ′(x) = π²/sin²(πx) − ψ′(1 − x); then, for float, six
// steps of ψ′(x) = ψ′(x + 1) + 1/x² and the asymptotic series (1 + 1/(2x) + 1/(6x²) − 1/(30x⁴) + 1/(42x⁶)) / x,
// whose truncation (up to about 5e-10 relative) is below float's rounding; for double, ζ(2, x),
// accurate to the last bits, where PyTorch 1.13 keeps the series (off by up to about 5e-10 relative).
template <typename T>
T trigamma_value(T x) {
  T sign = 1;
  T result = 0;
  if (x < T(0.5)) {
    sign = -1;
    const T sin_pi_x = std::sin(static_cast<T>(kPi) * x);
    result -= (static_cast<T>(kPi) * static_cast<T>(kPi)) / (sin_pi_x * sin_pi_x);
    x = T(1) - x;
  }
  if constexpr (std::is_same_v<T, double>) {
    result += hurwitz_zeta(2.0, x);
  } else {
    for (int i = 0; i < 6; ++i) {
      result += T(1) / (x * x);
      x += T(1);
    }
    const T ixx = T(1) / (x * x);
    result += (T(1) + T(1) / (T(2) * x) + ixx * (T(1) / T(6) - ixx * (T(1) / T(30) - ixx * (T(1) / T(42))))) / x;
  }
  return sign * result;
}

// The Hurwitz zeta ζ(s, q) = Σₖ (k + q)^(−s) in double, as Cephes' zeta (and ATen's): direct terms until
// both nine are summed and q + k > 9, then the Euler–Maclaurin tail with Bernoulli-number coefficients.
double hurwitz_zeta(double s, double q) {
  constexpr double kMachEp = 1.11022302462515654042E-16;
  static constexpr double kA[12] = {12.0,
                                    -720.0,
                                    30240.0,
                                    -1209600.0,
                                    47900160.0,
                                    -1.8924375803183791606e9,
                                    7.47242496e10,
                                    -2.950130727918164224e12,
                                    1.1646782814350067249e14,
                                    -4.5979787224074726105e15,
                                    1.8152105401943546773e17,
                                    -7.1661652561756670113e18};
  if (s == 1.0) return kInf;
  if (s < 1.0) return kNaN;
  if (q == kInf) return 0.0;
  if (q <= 0.0) {
    if (q == std::floor(q)) return kInf;
    if (s != std::floor(s)) return kNaN;
  }
  // Below −1e6 the direct sum would take about |q| terms before the tail applies (ATen's loop runs them).
  if (q < -1e6) return kNaN;
  double sum = std::pow(q, -s);
  double a = q;
  double b = 0.0;
  int i = 0;
  while (i < 9 || a <= 9.0) {
    i += 1;
    a += 1.0;
    b = std::pow(a, -s);
    sum += b;
    if (-kMachEp * sum < b && b < kMachEp * sum) return sum;
  }
  const double w = a;
  sum += b * w / (s - 1.0);
  sum -= 0.5 * b;
  a = 1.0;
  double k = 0.0;
  for (const double coefficient : kA) {
    a *= s + k;
    b /= w;
    double t = a * b / coefficient;
    sum += t;
    t = std::abs(t / sum);
    if (t < kMachEp) return sum;
    k += 1.0;
    a *= s + k;
    b /= w;
    k += 1.0;
  }
  return sum;
}

// ψ⁽ⁿ⁾(x) for n ≥ 2: (−1)^(n+1) n! ζ(n + 1, x), as ATen's calc_polygamma: ζ rounded to T, then the product in
// double. n! overflows past n = 170, so the result is NaN or ±inf there, as PyTorch's.
template <typename T>
T polygamma_value(std::int64_t n, T x) {
  const double factorial = std::exp(lgamma_value(static_cast<double>(n) + 1.0));
  const T zeta = static_cast<T>(hurwitz_zeta(static_cast<double>(n) + 1.0, static_cast<double>(x)));
  return static_cast<T>((n % 2 ? 1.0 : -1.0) * factorial * static_cast<double>(zeta));
}

}  // namespace

Tensor erfc(const Tensor& a) {
  return differentiable_unary(
      a, "erfc", "ErfcBackward", false, [](auto p) { return std::erfc(p); },
      [](const Tensor& g, const Tensor& x) { return (-(x * x)).exp() * (-2.0 / std::sqrt(kPi)) * g; });
}

Tensor erfinv(const Tensor& a) {
  return differentiable_unary(
      a, "erfinv", "ErfinvBackward", false, [](auto p) { return erfinv_value(p); },
      [](const Tensor& g, const Tensor& x) { return erfinv(x).square().exp() * (0.5 * std::sqrt(kPi)) * g; });
}

Tensor lgamma(const Tensor& a) {
  return differentiable_unary(
      a, "lgamma", "LgammaBackward", false, [](auto p) { return lgamma_value(p); },
      [](const Tensor& g, const Tensor& x) { return g * digamma(x); });
}

Tensor digamma(const Tensor& a) { return polygamma(0, a); }

Tensor polygamma(std::int64_t n, const Tensor& a) {
  VOXGRAD_CHECK(n >= 0 && n < (std::int64_t{1} << 31), "polygamma: n must be in [0, 2^31), but got {}", n);
  const char* name = n == 0 ? "digamma" : "polygamma";
  const char* node = n == 0 ? "DigammaBackward" : "PolygammaBackward";
  return differentiable_unary(
      a, name, node, false,
      [n](auto p) {
        if (n == 0) return digamma_value(p);
        if (n == 1) return trigamma_value(p);
        return polygamma_value(n, p);
      },
      [n](const Tensor& g, const Tensor& x) { return g * polygamma(n + 1, x); });
}

Tensor logit(const Tensor& a, std::optional<double> eps) {
  detail::check_defined(a, "logit");
  // PyTorch: without eps (or with a negative one) the input is used as it is; with it, clamped to
  // [eps, 1 − eps], both bounds in the dtype.
  if (eps && *eps < 0.0) eps.reset();
  const double lo = eps.value_or(-1.0);
  Tensor out = detail::unary_kernel(a, "logit", [lo, clamped = eps.has_value()](auto p) {
    using T = decltype(p);
    const T low = static_cast<T>(lo), high = T(1) - static_cast<T>(lo);
    const T x = clamped ? (p < low ? low : (p > high ? high : p)) : p;
    return x == T(1) ? std::numeric_limits<T>::infinity() : std::log(x / (T(1) - x));
  });
  // The clamp's bounds as the forward rounds them (in the dtype), for the backward's comparisons.
  const double low = a.dtype() == kFloat32 ? static_cast<double>(static_cast<float>(lo)) : lo;
  const double high = a.dtype() == kFloat32 ? static_cast<double>(1.0f - static_cast<float>(lo)) : 1.0 - lo;
  record("LogitBackward", a, out, {save_for_backward(a)}, [eps, low, high](const BackwardCtx& c) {
    const Tensor& x = c.saved[0];
    const Tensor slope = c.grad() / (x * rsub(x, 1.0));
    // PyTorch's logit_backward: without eps NaN outside [0, 1]; with it, the slope only inside
    // [eps, 1 − eps] and 0 elsewhere (NaN included).
    if (!eps) return std::vector<Tensor>{where(x.lt(0.0) + x.gt(1.0), kNaN, slope)};
    return std::vector<Tensor>{where(x.ge(low) * x.le(high), slope, 0.0)};
  });
  return out;
}

Tensor sinc(const Tensor& a) {
  return differentiable_unary(
      a, "sinc", "SincBackward", false,
      [](auto p) {
        using T = decltype(p);
        if (p == T(0)) return T(1);
        const T product = static_cast<T>(kPi) * p;
        return std::sin(product) / product;
      },
      [](const Tensor& g, const Tensor& x) {
        // ATen's sinc_backward: g·(πx·cos πx − sin πx) / (x²π), 0 where x²π is 0 (x = 0 or underflow).
        const Tensor px = x * kPi;
        const Tensor squared = x * x * kPi;
        return where(squared.eq(0.0), 0.0, g * (px * cos(px) - sin(px)) / squared);
      });
}

}  // namespace voxgrad
