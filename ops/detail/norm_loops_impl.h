// Internal: the normalisation loops of norm_loops.h for one instruction set. Included only by
// norm_loops_<isa>.cpp, each compiled for its instruction set (and with -ffp-contract=off) after
// defining VOXGRAD_ISA: everything here has a name of its own per instruction set, so the linker
// cannot let one object's AVX-512 copy of a template serve another's callers
// (ops.isa_objects_share_no_symbols checks the objects). No threads here: norm_kernels.cpp makes the
// tasks.

#ifndef VOXGRAD_ISA
#error "define VOXGRAD_ISA before including norm_loops_impl.h"
#endif

#include <algorithm>
#include <cmath>
#include <limits>

#include "voxgrad/ops/detail/lane_sums.h"
#include "voxgrad/ops/detail/norm_loops.h"
#include "voxgrad/ops/detail/relu_rule.h"

namespace voxgrad::detail::VOXGRAD_ISA {
namespace {

// Calls fn(plane) for the planes (n, c) of stat group g in a fixed order.
template <typename Fn>
void for_group_planes(const NormLayout& l, std::int64_t g, Fn&& fn) {
  if (l.per_channel()) {
    for (std::int64_t n = 0; n < l.N; ++n) fn(n * l.C + g);
    return;
  }
  const std::int64_t per = l.C / l.groups, n = g / l.groups, c0 = (g % l.groups) * per;
  for (std::int64_t c = c0; c < c0 + per; ++c) fn(n * l.C + c);
}

// Rows of a plane are taken in chunks where a second pass over them follows while they are in L1: of
// kStatsChunk elements for the statistics (their squared deviations), of kChunk for y's ReLU and the
// backward's passes (the fused ReLU's mask, and the requests below with or without it). Short chunks
// keep the streams a pass reads (x and dY) in flight together: on the U-Net's 64³ layers (32 MiB
// tensors) GroupNorm+ReLU's backward took 0.65–0.70 and its normalisation 0.68 of their time with
// chunks of 128 elements rather than 2 048 (bench/README); the statistics, whose chunks each end in a
// merge, stay at 2 048. Multiples of 32, so the lanes of sums carried from chunk to chunk run on as
// over the whole row (the same bits as one call over it).
constexpr std::int64_t kChunk = 128;
constexpr std::int64_t kStatsChunk = 2048;
static_assert(kChunk % 32 == 0 && kStatsChunk % 32 == 0, "chunks must keep the lanes of Sum16 and Sum32 aligned");

// Calls fn(i, n) for the chunks [i, i + n) of `chunk` elements of a row of S elements, in order.
template <typename Fn>
void for_chunks(std::int64_t S, std::int64_t chunk, Fn&& fn) {
  for (std::int64_t i = 0; i < S; i += chunk) fn(i, std::min(chunk, S - i));
}

// The statistics and the backward's passes stream rows of a plane (x, dY, dx written) and ask for
// each chunk's lines kStreamAhead elements ahead (4 KiB of floats, 8 KiB of doubles) before they
// reach them: the hardware prefetchers stop at page boundaries. With the requests, the backward on a
// 64³ 16-channel tensor takes about 0.8 of the time it took without them when its tensors are in the
// last-level cache and 0.9 when they come from memory, with or without the fused ReLU; 32³ and 16³
// unchanged (bench/README). The forward's normalisation runs without: asking for y's lines ahead
// made it slower from memory, and x's changed nothing.
constexpr std::int64_t kStreamAhead = 1024;

// Asks for the lines of p[i + kStreamAhead, i + kStreamAhead + n) that lie before p + avail (the
// row's end); with `write`, for writing.
template <typename T>
void request_ahead(const T* p, std::int64_t i, std::int64_t n, std::int64_t avail, bool write = false) {
  constexpr std::int64_t line = 64 / sizeof(T);
  for (std::int64_t k = i + kStreamAhead; k < i + kStreamAhead + n && k < avail; k += line) {
    if (write) {
      __builtin_prefetch(p + k, 1);
    } else {
      __builtin_prefetch(p + k);
    }
  }
}

// a += Σ p[i] over i < n, each element as a double (as add_values), asking for the lines ahead as it
// goes: one stream read once, whose sums keep up with memory only with its lines asked for early (the
// chunk's second pass then runs from L1).
template <typename T>
void add_values_streaming(Sum32& a, const T* p, std::int64_t n, std::int64_t avail) {
  Sum32 s = a;
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    request_ahead(p, i, 32, avail);
    for (int l = 0; l < 32; ++l) s.acc[l] += static_cast<double>(p[i + l]);
  }
  for (int l = 0; i < n; ++i, ++l) s.acc[l] += static_cast<double>(p[i]);
  a = s;
}

// Mean, invstd and biased variance of stat group g in one pass over memory. Each chunk c of a plane's
// row (kStatsChunk elements) is read twice while it is in L1: its sum, then its squared
// deviations from its own mean, q_c = Σ (x − m_c)². The chunks are merged in order by the
// parallel-variance update of Chan, Golub and LeVeque: with δ = m_c − m over the n elements so far,
// m += δ·n_c/(n + n_c) and M2 += q_c + δ²·n·n_c/(n + n_c); var = M2/L. As exact as two passes over the
// whole group, and no cancellation (every deviation is taken from a nearby mean, in float64).
//
// This and the row functions below are not inlined: every caller runs one compiled loop, so the
// bits agree by construction (with contraction off, an inlined copy would round alike too).
template <typename T>
[[gnu::noinline]] void group_stats(const T* x, const NormLayout& l, std::int64_t g, double eps, T* mean, T* invstd,
                                   T* var) {
  double n = 0.0, m = 0.0, m2 = 0.0;
  for_group_planes(l, g, [&](std::int64_t p) {
    const T* row = x + p * l.S;
    for_chunks(l.S, kStatsChunk, [&](std::int64_t i, std::int64_t len) {
      const T* chunk = row + i;
      Sum32 s;
      add_values_streaming(s, chunk, len, l.S - i);
      const auto nc = static_cast<double>(len);
      const double mc = s.total() / nc;
      Sum32 q;
      add_row(q, len, [chunk, mc](std::int64_t k) {
        const double d = static_cast<double>(chunk[k]) - mc;
        return d * d;
      });
      const double total = n + nc, delta = mc - m;
      m += delta * (nc / total);
      m2 += q.total() + delta * delta * (n * nc / total);
      n = total;
    });
  });
  if (n == 0.0) m = std::numeric_limits<double>::quiet_NaN();  // an empty group, as 0/0 in PyTorch
  const double v = m2 / n;
  mean[g] = static_cast<T>(m);
  var[g] = static_cast<T>(v);
  invstd[g] = static_cast<T>(1.0 / std::sqrt(v + eps));
}

// y[i] = (x[i] − m)·scale + shift for i < n: the forward, the recomputation and the fused ReLU's
// backward all run this one loop.
template <typename T>
[[gnu::noinline]] void affine_row(const T* x, T m, T scale, T shift, T* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * scale + shift;
}

// ReLU in place (relu_rule.h, as voxgrad::relu).
template <typename T>
void relu_row(T* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = relu_value(y[i]);
}

// The affine map of plane p: its stat group's mean, scale = invstd·w and shift = b.
template <typename T>
struct PlaneAffine {
  T m, scale, shift;
  PlaneAffine(const NormLayout& l, std::int64_t p, const T* mean, const T* invstd, const T* w, const T* b) {
    const std::int64_t c = p % l.C, g = l.stat_index(p / l.C, c);
    m = mean[g];
    scale = invstd[g] * (w != nullptr ? w[c] : T(1));
    shift = b != nullptr ? b[c] : T(0);
  }
};

// y over plane p, then ReLU when `relu` (chunk by chunk: the same values as relu(y)).
template <typename T>
void normalize_plane(const T* x, const NormLayout& l, std::int64_t p, const T* mean, const T* invstd, const T* w,
                     const T* b, T* y, bool relu) {
  const PlaneAffine<T> a(l, p, mean, invstd, w, b);
  const T* xr = x + p * l.S;
  T* yr = y + p * l.S;
  if (!relu) return affine_row(xr, a.m, a.scale, a.shift, yr, l.S);
  for_chunks(l.S, kChunk, [&](std::int64_t i, std::int64_t n) {
    affine_row(xr + i, a.m, a.scale, a.shift, yr + i, n);
    relu_row(yr + i, n);
  });
}

// The gradient that reaches y over elements [i, i + n) of a plane's rows dyr and xr (S elements):
// dy itself or, through the fused ReLU (`relu`), relu_grad (relu_rule.h, as relu_backward) at y
// recomputed by affine_row, into buf. Asks for dy's and x's lines ahead first.
template <typename T>
const T* chunk_grad(const T* dyr, const T* xr, std::int64_t S, const PlaneAffine<T>& a, bool relu, std::int64_t i,
                    std::int64_t n, T* buf) {
  request_ahead(dyr, i, n, S);
  request_ahead(xr, i, n, S);
  if (!relu) return dyr + i;
  affine_row(xr + i, a.m, a.scale, a.shift, buf, n);
  for (std::int64_t k = 0; k < n; ++k) buf[k] = relu_grad(buf[k], dyr[i + k]);
  return buf;
}

// s1 += Σ dy and s2 += Σ dy·(x − m) over a row of n.
template <typename T>
[[gnu::noinline]] void sums_row(Sum16& s1, Sum16& s2, const T* dyr, const T* xr, double m, std::int64_t n) {
  add_rows(
      s1, s2, n, [dyr](std::int64_t i) { return static_cast<double>(dyr[i]); },
      [dyr, xr, m](std::int64_t i) { return static_cast<double>(dyr[i]) * (static_cast<double>(xr[i]) - m); });
}

// The optional ReLU after the normalisation: its bias (b, null without affine) and whether it is there.
template <typename T>
struct FusedRelu {
  const T* b = nullptr;
  bool on = false;
};

// Σ dy and Σ dy·x̂ over plane p, into sum_dy[p] and sum_dy_xhat[p]; through the ReLU when relu.on.
template <typename T>
void plane_sums(const T* dy, const T* x, const NormLayout& l, std::int64_t p, const T* mean, const T* invstd,
                const T* w, FusedRelu<T> relu, double* sum_dy, double* sum_dy_xhat) {
  const std::int64_t g = l.stat_index(p / l.C, p % l.C);
  const double m = static_cast<double>(mean[g]), r = static_cast<double>(invstd[g]);
  const T* dyr = dy + p * l.S;
  const T* xr = x + p * l.S;
  const PlaneAffine<T> a(l, p, mean, invstd, w, relu.b);
  alignas(64) T buf[kChunk];
  Sum16 s1, s2;
  for_chunks(l.S, kChunk, [&](std::int64_t i, std::int64_t n) {
    sums_row(s1, s2, chunk_grad(dyr, xr, l.S, a, relu.on, i, n, buf), xr + i, m, n);
  });
  sum_dy[p] = s1.total();
  sum_dy_xhat[p] = s2.total() * r;
}

// Σĝ/L and Σ(ĝ·x̂)/L of stat group g from its planes' sums.
template <typename T>
void group_means(const NormLayout& l, std::int64_t g, const T* w, const double* sum_dy, const double* sum_dy_xhat,
                 double* mean_g, double* mean_gx) {
  double a = 0.0, b = 0.0;
  for_group_planes(l, g, [&](std::int64_t p) {
    const double wc = w != nullptr ? static_cast<double>(w[p % l.C]) : 1.0;
    a += wc * sum_dy[p];
    b += wc * sum_dy_xhat[p];
  });
  const auto count = static_cast<double>(l.group_size());
  mean_g[g] = a / count;
  mean_gx[g] = b / count;
}

// dx = k1·dy − k2 − k3·(x − m) over a row of n.
template <typename T>
[[gnu::noinline]] void dx_row(const T* dyr, const T* xr, T k1, T k2, T k3, T m, T* dxr, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dxr[i] = k1 * dyr[i] - k2 - k3 * (xr[i] - m);
}

// dx over plane p: k1·dy − k2 − k3·(x − m); dy through the ReLU when relu.on.
template <typename T>
void plane_dx(const T* dy, const T* x, const NormLayout& l, std::int64_t p, const T* mean, const T* invstd, const T* w,
              FusedRelu<T> relu, const double* mean_g, const double* mean_gx, T* dx) {
  const std::int64_t c = p % l.C, g = l.stat_index(p / l.C, c);
  const double r = static_cast<double>(invstd[g]);
  const double wc = w != nullptr ? static_cast<double>(w[c]) : 1.0;
  const T k1 = static_cast<T>(r * wc);
  const T k2 = static_cast<T>(r * mean_g[g]);
  const T k3 = static_cast<T>(r * r * mean_gx[g]);
  const T m = mean[g];
  const T* dyr = dy + p * l.S;
  const T* xr = x + p * l.S;
  T* dxr = dx + p * l.S;
  const PlaneAffine<T> a(l, p, mean, invstd, w, relu.b);
  alignas(64) T buf[kChunk];
  for_chunks(l.S, kChunk, [&](std::int64_t i, std::int64_t n) {
    request_ahead(dxr, i, n, l.S, /*write=*/true);
    dx_row(chunk_grad(dyr, xr, l.S, a, relu.on, i, n, buf), xr + i, k1, k2, k3, m, dxr + i, n);
  });
}

// The table's entries: the loops above over ranges of stat groups or planes.

template <typename T>
void stats_groups(const T* x, const NormLayout& l, std::int64_t g0, std::int64_t g1, double eps, T* mean, T* invstd,
                  T* var, const T* w, const T* b, T* y, bool relu) {
  for (std::int64_t g = g0; g < g1; ++g) {
    group_stats(x, l, g, eps, mean, invstd, var);
    if (y != nullptr) {
      for_group_planes(l, g, [&](std::int64_t p) { normalize_plane(x, l, p, mean, invstd, w, b, y, relu); });
    }
  }
}

template <typename T>
void normalize_planes(const T* x, const NormLayout& l, std::int64_t p0, std::int64_t p1, const T* mean, const T* invstd,
                      const T* w, const T* b, T* y, bool relu) {
  for (std::int64_t p = p0; p < p1; ++p) normalize_plane(x, l, p, mean, invstd, w, b, y, relu);
}

template <typename T>
void sums_planes(const T* dy, const T* x, const NormLayout& l, std::int64_t p0, std::int64_t p1, const T* mean,
                 const T* invstd, const T* w, const T* relu_b, bool relu, double* sum_dy, double* sum_dy_xhat) {
  for (std::int64_t p = p0; p < p1; ++p) {
    plane_sums(dy, x, l, p, mean, invstd, w, FusedRelu<T>{relu_b, relu}, sum_dy, sum_dy_xhat);
  }
}

template <typename T>
void means_groups(const NormLayout& l, std::int64_t g0, std::int64_t g1, const T* w, const double* sum_dy,
                  const double* sum_dy_xhat, double* mean_g, double* mean_gx) {
  for (std::int64_t g = g0; g < g1; ++g) group_means(l, g, w, sum_dy, sum_dy_xhat, mean_g, mean_gx);
}

template <typename T>
void dx_planes(const T* dy, const T* x, const NormLayout& l, std::int64_t p0, std::int64_t p1, const T* mean,
               const T* invstd, const T* w, const T* relu_b, bool relu, const double* mean_g, const double* mean_gx,
               T* dx) {
  for (std::int64_t p = p0; p < p1; ++p) {
    plane_dx(dy, x, l, p, mean, invstd, w, FusedRelu<T>{relu_b, relu}, mean_g, mean_gx, dx);
  }
}

template <typename T>
void backward_groups(const T* dy, const T* x, const NormLayout& l, std::int64_t g0, std::int64_t g1, const T* mean,
                     const T* invstd, const T* w, const T* relu_b, bool relu, double* sum_dy, double* sum_dy_xhat,
                     double* mean_g, double* mean_gx, T* dx) {
  const FusedRelu<T> fr{relu_b, relu};
  for (std::int64_t g = g0; g < g1; ++g) {
    for_group_planes(l, g, [&](std::int64_t p) { plane_sums(dy, x, l, p, mean, invstd, w, fr, sum_dy, sum_dy_xhat); });
    group_means(l, g, w, sum_dy, sum_dy_xhat, mean_g, mean_gx);
    for_group_planes(l, g, [&](std::int64_t p) { plane_dx(dy, x, l, p, mean, invstd, w, fr, mean_g, mean_gx, dx); });
  }
}

template <typename T>
constexpr NormLoops<T> make_loops() {
  return {stats_groups<T>, normalize_planes<T>, sums_planes<T>, means_groups<T>, dx_planes<T>, backward_groups<T>};
}

}  // namespace

constexpr NormKernels kNorm{make_loops<float>(), make_loops<double>()};

}  // namespace voxgrad::detail::VOXGRAD_ISA
