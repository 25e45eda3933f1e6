#include "voxgrad/ops/distance.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/join_split.h"
#include "voxgrad/ops/linalg.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using autograd::save_output_for_backward;

namespace {

// The p-norms with a form of their own in ATen's kernels (faster than pow, and exact for 0, 1 and inf).
enum class Norm { zero, one, two, inf, general };

Norm norm_of(double p) {
  if (p == 0.0) return Norm::zero;
  if (p == 1.0) return Norm::one;
  if (p == 2.0) return Norm::two;
  if (std::isinf(p)) return Norm::inf;
  return Norm::general;
}

// The batched row pairs of contiguous a [B, P, M] and b [B, R, M]: pair o = (batch, i, j) of B·P·R.
struct Pairs {
  std::int64_t B, P, R, M;
  std::int64_t count() const { return B * P * R; }
  std::int64_t row_a(std::int64_t o) const { return o / (P * R) * P + o / R % P; }
  std::int64_t row_b(std::int64_t o) const { return o / (P * R) * R + o % R; }
};

// −1, 0 or 1, and NaN for NaN (as voxgrad::sign and ATen's).
template <typename T>
T sign_of(T x) {
  return std::isnan(x) ? x : static_cast<T>((T(0) < x) - (x < T(0)));
}

// out[o] = finish(Σ_k term(|a_k − b_k|)) of every pair, the terms accumulated in order in T, as ATen's
// direct cdist kernel: nonzero counts (p = 0), |d| (1), d² then sqrt (2), the max (inf), or |d|^p then
// the (1/p)-th power in double (ATen's pow(agg, 1.0 / p)).
template <typename T, Norm K>
void pair_distances(const T* a, const T* b, T* out, const Pairs& s, double p) {
  const T tp = static_cast<T>(p);
  detail::parallel_for(0, s.count(), std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(s.M, 1)),
                       [&](std::int64_t o0, std::int64_t o1) {
                         for (std::int64_t o = o0; o < o1; ++o) {
                           const T* x = a + s.row_a(o) * s.M;
                           const T* y = b + s.row_b(o) * s.M;
                           T agg = 0;
                           for (std::int64_t k = 0; k < s.M; ++k) {
                             const T d = std::abs(x[k] - y[k]);
                             if constexpr (K == Norm::zero) agg += std::min(std::ceil(d), T(1));  // NaN stays NaN
                             if constexpr (K == Norm::one) agg += d;
                             if constexpr (K == Norm::two) agg += d * d;
                             if constexpr (K == Norm::inf) agg = std::max(agg, d);
                             if constexpr (K == Norm::general) agg += std::pow(d, tp);
                           }
                           if constexpr (K == Norm::two) agg = std::sqrt(agg);
                           if constexpr (K == Norm::general) {
                             agg = static_cast<T>(std::pow(static_cast<double>(agg), 1.0 / static_cast<double>(tp)));
                           }
                           out[o] = agg;
                         }
                       });
}

// d dist / d a_k · g for one pair, with d = a_k − b_k, as ATen's backward kernels: 0 where the distance
// is 0 (and for p < 1 where d = 0), sign(d) for p = 1, d / dist for 2, sign(d) where |d| is the max for inf.
template <typename T, Norm K>
T pair_gradient(T d, T dist, T g, T tp) {
  if constexpr (K == Norm::zero) return T(0);
  if constexpr (K == Norm::one) return g * sign_of(d);
  if constexpr (K == Norm::two) return dist == T(0) ? T(0) : g * d / dist;
  if constexpr (K == Norm::inf) {
    return g * sign_of(d) * (T(1) - std::min(T(1), std::ceil(std::abs(std::abs(d) - dist))));
  }
  if constexpr (K == Norm::general) {
    if (dist == T(0) || (d == T(0) && tp < T(1))) return T(0);
    return tp < T(2) ? sign_of(d) * std::pow(std::abs(d), tp - T(1)) * g / std::pow(dist, tp - T(1))
                     : d * std::pow(std::abs(d), tp - T(2)) * g / std::pow(dist, tp - T(1));
  }
}

// ga[batch, i, k] = Σ_j g[batch, i, j] · pair_gradient(a_ik − b_jk, dist_ij), over j in order.
template <typename T, Norm K>
void pair_distance_grad(const T* g, const T* a, const T* b, const T* dist, T* ga, const Pairs& s, double p) {
  const T tp = static_cast<T>(p);
  detail::parallel_for(0, s.B * s.P, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(s.R * s.M, 1)),
                       [&](std::int64_t r0, std::int64_t r1) {
                         for (std::int64_t row = r0; row < r1; ++row) {  // row = batch · P + i
                           const std::int64_t batch = row / s.P;
                           const T* x = a + row * s.M;
                           T* out = ga + row * s.M;
                           std::fill(out, out + s.M, T(0));
                           for (std::int64_t j = 0; j < s.R; ++j) {
                             const T* y = b + (batch * s.R + j) * s.M;
                             const T gij = g[row * s.R + j], dij = dist[row * s.R + j];
                             for (std::int64_t k = 0; k < s.M; ++k) {
                               out[k] += pair_gradient<T, K>(x[k] - y[k], dij, gij, tp);
                             }
                           }
                         }
                       });
}

// Calls f.template operator()<K>() for p's norm.
template <typename F>
void dispatch_norm(double p, F&& f) {
  switch (norm_of(p)) {
    case Norm::zero: return f.template operator()<Norm::zero>();
    case Norm::one: return f.template operator()<Norm::one>();
    case Norm::two: return f.template operator()<Norm::two>();
    case Norm::inf: return f.template operator()<Norm::inf>();
    case Norm::general: return f.template operator()<Norm::general>();
  }
}

// The gradient w.r.t. a of the direct path's distances (a [B, P, M], b [B, R, M], g and dist [B, P, R]):
// the kernel above, or under create_graph the same terms, in the kernel's order of operations, made of
// differentiable ops (a [B, P, R, M] difference tensor, where the kernel needs no memory of its own), so
// that it differentiates again.
Tensor direct_gradient(const Tensor& g, const Tensor& a, const Tensor& b, const Tensor& dist, double p) {
  if (norm_of(p) == Norm::zero) return zeros_like(a);
  if (GradMode::is_enabled()) {
    const Tensor d = a.unsqueeze(2) - b.unsqueeze(1);
    const Tensor dd = dist.unsqueeze(-1), gd = g.unsqueeze(-1);
    const Tensor zero_dist = dd.eq(0.0), safe_dist = where(zero_dist, 1.0, dd);
    Tensor term;
    switch (norm_of(p)) {
      case Norm::zero: break;
      case Norm::one: term = gd * d.sign(); break;
      case Norm::two: term = where(zero_dist, 0.0, gd * d / safe_dist); break;
      case Norm::inf: term = gd * d.sign() * d.abs().eq(dd); break;
      case Norm::general: {
        // Where d = 0 the term is 0 (ATen's for p < 1; for p > 1 pow(0, p − 1) is 0 too, and leaving
        // those out keeps the second derivative of pow(|d|, p − 1) at 0 from being 0 · inf).
        const Tensor skip = logical_or(zero_dist, d.eq(0.0));
        const Tensor safe_abs = where(skip, 1.0, d.abs());
        term = where(skip, 0.0,
                     p < 2.0 ? d.sign() * pow(safe_abs, p - 1.0) * gd / pow(safe_dist, p - 1.0)
                             : d * pow(safe_abs, p - 2.0) * gd / pow(safe_dist, p - 1.0));
        break;
      }
    }
    return term.sum({2});
  }
  const Pairs s{a.size(0), a.size(1), b.size(1), a.size(2)};
  Tensor out = empty(a.sizes(), a.dtype());
  const Tensor gc = g.contiguous(), distc = dist.contiguous();
  detail::dispatch_floating(a.dtype(), "cdist", [&]<typename T>() {
    dispatch_norm(p, [&]<Norm K>() {
      pair_distance_grad<T, K>(gc.data_ptr<T>(), a.data_ptr<T>(), b.data_ptr<T>(), distc.data_ptr<T>(),
                               out.data_ptr<T>(), s, p);
    });
  });
  return out;
}

// ATen's _euclidean_dist: [−2a, ‖a‖², 1] · [b, 1, ‖b‖²]ᵀ, clamped at 0, square-rooted, with its own
// backward (_euclidean_dist_backward, made of differentiable ops): with r = g / dist (0 where dist = 0),
// da = a Σ_j r_ij − r b and db = b Σ_i r_ij − rᵀ a.
Tensor euclidean_by_matmul(const Tensor& a, const Tensor& b) {
  Tensor out;
  {
    NoGradGuard guard;
    const Tensor an = a.pow(2.0).sum({-1}, true), bn = b.pow(2.0).sum({-1}, true);
    const Tensor lhs = cat({a * -2.0, an, ones_like(an)}, -1), rhs = cat({b, ones_like(bn), bn}, -1);
    out = clamp(matmul(lhs, rhs.transpose(-2, -1)), 0.0).sqrt();
  }
  record("EuclideanDistBackward", a, b, out,
         {save_for_backward(a), save_for_backward(b), save_output_for_backward(out)}, [](const BackwardCtx& c) {
           const Tensor &x = c.saved[0], &y = c.saved[1], &dist = c.saved[2];
           const Tensor zero = dist.eq(0.0);
           const Tensor r = where(zero, 0.0, c.grad() / where(zero, 1.0, dist));
           return std::vector<Tensor>{
               c.needs_input_grad(0) ? x * r.sum({-1}, true) - matmul(r, y) : Tensor(),
               c.needs_input_grad(1) ? y * r.sum({-2}).unsqueeze(-1) - matmul(r.transpose(-2, -1), x) : Tensor()};
         });
  return out;
}

}  // namespace

Tensor cdist(const Tensor& x1, const Tensor& x2, double p, std::optional<std::string_view> compute_mode) {
  const char* op = "cdist";
  detail::check_defined(x1, op, "x1");
  detail::check_defined(x2, op, "x2");
  VOXGRAD_CHECK(x1.dim() >= 2 && x2.dim() >= 2, "{}: expected x1 and x2 of at least 2 dims, but got shapes {} and {}",
                op, shape_str(x1.sizes()), shape_str(x2.sizes()));
  VOXGRAD_CHECK(x1.size(-1) == x2.size(-1),
                "{}: x1 and x2 must have the same number of columns, but got shapes {} and {}", op,
                shape_str(x1.sizes()), shape_str(x2.sizes()));
  VOXGRAD_CHECK(x1.dtype() == x2.dtype(), "{}: expected x1 and x2 of one dtype, but got {} and {}", op, x1.dtype(),
                x2.dtype());
  detail::check_floating(x1, op);
  VOXGRAD_CHECK(p >= 0.0, "{}: p must be non-negative, but got {}", op, p);
  const std::string mode(compute_mode.value_or("use_mm_for_euclid_dist_if_necessary"));
  VOXGRAD_CHECK(mode == "use_mm_for_euclid_dist_if_necessary" || mode == "use_mm_for_euclid_dist" ||
                    mode == "donot_use_mm_for_euclid_dist",
                "{}: compute_mode must be use_mm_for_euclid_dist_if_necessary, use_mm_for_euclid_dist or "
                "donot_use_mm_for_euclid_dist, but got '{}'",
                op, mode);
  const std::int64_t P = x1.size(-2), R = x2.size(-2), M = x1.size(-1);
  const Shape b1(x1.sizes().begin(), x1.sizes().end() - 2), b2(x2.sizes().begin(), x2.sizes().end() - 2);
  bool fits = true;
  for (std::size_t k = 1; k <= std::min(b1.size(), b2.size()); ++k) {
    const std::int64_t u = b1[b1.size() - k], v = b2[b2.size() - k];
    fits = fits && (u == v || u == 1 || v == 1);
  }
  VOXGRAD_CHECK(fits, "{}: the batch dims of x1 (shape {}) and x2 (shape {}) do not broadcast", op,
                shape_str(x1.sizes()), shape_str(x2.sizes()));
  const Shape batch = broadcast_shapes(b1, b2, op);
  const std::int64_t B = checked_numel(batch, op);
  const auto batched = [&](const Tensor& x, std::int64_t rows) {
    Shape s = batch;
    s.push_back(rows);
    s.push_back(M);
    return x.expand(s).reshape({B, rows, M}).contiguous();
  };
  const Tensor a = batched(x1, P), b = batched(x2, R);
  Shape out_sizes = batch;
  out_sizes.push_back(P);
  out_sizes.push_back(R);
  // p as ATen's kernels see it: in the inputs' dtype (a float32 p of 1e-50 is the zero norm).
  if (x1.dtype() == kFloat32) p = static_cast<double>(static_cast<float>(p));
  const bool by_matmul =
      p == 2.0 && B > 0 && M > 0 && P > 0 && R > 0 &&
      (mode == "use_mm_for_euclid_dist" || (mode == "use_mm_for_euclid_dist_if_necessary" && (P > 25 || R > 25)));
  if (by_matmul) return euclidean_by_matmul(a, b).reshape(out_sizes);
  const Pairs s{a.size(0), P, R, M};
  Tensor out = empty({s.B, P, R}, a.dtype());
  detail::dispatch_floating(a.dtype(), op, [&]<typename T>() {
    dispatch_norm(p,
                  [&]<Norm K>() { pair_distances<T, K>(a.data_ptr<T>(), b.data_ptr<T>(), out.data_ptr<T>(), s, p); });
  });
  record("CdistBackward", a, b, out, {save_for_backward(a), save_for_backward(b), save_output_for_backward(out)},
         [p](const BackwardCtx& c) {
           const Tensor &ca = c.saved[0], &cb = c.saved[1], &dist = c.saved[2], &g = c.grad();
           return std::vector<Tensor>{
               c.needs_input_grad(0) ? direct_gradient(g, ca, cb, dist, p) : Tensor(),
               c.needs_input_grad(1) ? direct_gradient(g.transpose(1, 2), cb, ca, dist.transpose(1, 2), p) : Tensor()};
         });
  return out.reshape(out_sizes);
}

}  // namespace voxgrad
